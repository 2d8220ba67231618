"""The daily job, one version of digest against another: a new day and a note, many rounds.

``bench.py`` times each figure as the best of a few runs, in one pass after the full builds.
A new day's time varies from one day to the next (a day that starts a half-month block of the
search index, the chunks whose checkpoint falls that day) and with this machine's drifting
speed, so comparing two versions from two runs of it says little. This script runs two
versions (the working tree and a git revision) on two copies of one built project,
interleaved, for several days in a row, and prints each figure's lowest, median and highest:

    .venv/bin/python benchmarks/daily.py benchmarks/out/corpus-50000/digest --against 8bd1cf8

Each copy first takes one new day untimed (so each starts as a daily job finds its project:
the last build's caches made by a build into the same folder), then has its index's chunks
assembled again by its own version (their cached runs are in its format). "new day" is what
``digest build --fetch`` does once the day is saved (the build ingests it); "ingest + build"
runs ``digest ingest`` first; "note" adds a note under a paper of a middle day; "title edit"
adds a word to a title a third of the way in (its search index block is an old one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import add_note, edit_title, write_next_day  # noqa: E402

MODES = ("new day", "ingest + build", "note", "title edit")


def digest(code: Path, project: Path, *args: str) -> None:
    environment = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=project, env=environment,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"digest {' '.join(args)} failed in {project}:\n{done.stderr[-2000:]}")


def timed(mode: str, code: Path, project: Path, number: int) -> float:
    """Make the mode's change, flush the disk, then time the commands that follow it."""
    dump = None
    if mode == "note":
        add_note(project, f"Daily note {number}.")
    elif mode == "title edit":
        edit_title(project, f"Edit{number}")
    else:
        dump = write_next_day(project, 200_000 + number, "daily")
    os.sync()
    started = time.perf_counter()
    if mode == "ingest + build":
        digest(code, project, "ingest", str(dump))
    digest(code, project, "build")
    return time.perf_counter() - started


def checkout(revision: str, out: Path) -> Path:
    """Return a worktree of ``revision`` (made once)."""
    folder = out / f"code-{revision}"
    if not folder.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), revision],
            check=True, capture_output=True,
        )  # fmt: skip
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a built digest project (bench.py makes them)")
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "daily")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sides = {args.against: checkout(args.against, args.out), "now": REPO}
    copies = {}
    for name in sides:
        copy = args.out / f"project-{name}"
        if copy.exists():
            shutil.move(copy, args.out / f"old-{time.time_ns()}")
        subprocess.run(["cp", "-a", str(args.project), str(copy)], check=True)
        copies[name] = copy
    for name, code in sides.items():  # untimed: a memo and caches of this folder's build
        digest(code, copies[name], "ingest", str(write_next_day(copies[name], 200_000, "daily")))
        digest(code, copies[name], "build")
        # The index's chunks assembled again by this version, so that its cached runs are in
        # its own format (another version's read as missing, and every day reads them all).
        (copies[name] / ".digest-cache" / "search" / "chunks.marshal").unlink(missing_ok=True)
        edit_title(copies[name], "Untimed")
        digest(code, copies[name], "build")
    times: dict[tuple[str, str], list[float]] = {}
    number = 1
    for _ in range(args.rounds):
        for mode in MODES:
            for name, code in sides.items():  # interleaved: drift hits both alike
                seconds = timed(mode, code, copies[name], number)
                times.setdefault((mode, name), []).append(seconds)
                print(f"{mode:15} {name:10} {seconds:6.2f} s", flush=True)
            number += 1
    print(f"\n| {args.project.name} | " + " | ".join(sides) + " |")
    print("|---|" + "---|" * len(sides))
    for mode in MODES:
        cells = [_summary(times[(mode, name)]) for name in sides]
        print(f"| {mode} | " + " | ".join(cells) + " |")


def _summary(samples: list[float]) -> str:
    low, mid, high = min(samples), statistics.median(samples), max(samples)
    return f"{low:.2f} / **{mid:.2f}** / {high:.2f} s"


if __name__ == "__main__":
    main()
