"""Repeated trials of what issue #12 found broken: concurrent writers, and SIGKILLs mid-commit.

Each trial runs real ``digest`` processes (``python -m digest``; set ``--code DIR`` to try
another checkout of digest, such as the commit before the fixes) and checks the outcome:

- ``build+ingest``: ``digest build`` (ingesting 20 new dumps) and ``digest ingest EXTRA`` of
  50 papers for one of those days, started together: are all papers on the page afterwards?
- ``build+build``: two ``digest build`` of a new project at once: no traceback, a whole site?
- ``kill``: a build of 5,000 papers that rewrites every page, SIGKILLed at a random moment
  of its last quarter: after the next command, is the site one whole build (old or new)?

    python benchmarks/harden_trials.py build+ingest build+build kill --trials 20
    python benchmarks/harden_trials.py kill --trials 20 --code /tmp/digest-before

tests/test_concurrency.py runs each scenario a few times; this script runs many.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

EXTRA_DAY = corpus.LAST_DAY


@dataclass(frozen=True)
class Outcome:
    """One trial: did it keep every promise, and if not, what went wrong."""

    ok: bool
    detail: str = ""


def command(code: Path | None) -> tuple[list[str], dict[str, str]]:
    """Return how to run digest (from ``code`` if given) and its environment."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return [sys.executable, "-m", "digest"], env


def make_project(root: Path, papers: int = 1000) -> Path:
    """A project whose raw folder holds ``papers`` papers in new dumps; returns EXTRA's path."""
    corpus.write_corpus(root, papers)
    extra = root / "extra.txt"
    titles = [(f"An Extra Paper Number {i} on Tiny Models", "We add a paper.") for i in range(50)]
    extra.write_text(corpus.dump_text(EXTRA_DAY, titles), encoding="utf-8")
    return extra


def ids_in(dump: Path) -> set[str]:
    from digest.ingest.parse import parse_file

    return {entry.id for entry in parse_file(dump, year=2025)}


def traceback_in(*texts: str) -> bool:
    return any("Traceback" in text for text in texts)


def build_and_ingest(root: Path, code: Path | None, delay: float) -> Outcome:
    """Start a build (which ingests every raw dump) and an ingest of EXTRA together."""
    extra = make_project(root)
    run, env = command(code)
    building = subprocess.Popen([*run, "build"], cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(delay)
    ingesting = subprocess.run([*run, "ingest", str(extra)], cwd=root, env=env,
                               capture_output=True, text=True)  # fmt: skip
    out, err = building.communicate()
    if building.returncode or ingesting.returncode or traceback_in(err, ingesting.stderr):
        return Outcome(False, f"exit {building.returncode}/{ingesting.returncode}: {err[-300:]}")
    page = (root / "content" / "digests" / f"{EXTRA_DAY.isoformat()}.md").read_text()
    on_page = set(re.findall(r"\{#p-([0-9a-f]{12})\}", page))
    raw = root / "content" / "raw" / f"{EXTRA_DAY.isoformat()}-corpus.txt"
    lost = len(ids_in(extra) - on_page) + len(ids_in(raw) - on_page)
    return Outcome(lost == 0, f"{lost} papers missing from the page" if lost else "")


def two_builds(root: Path, code: Path | None, delay: float) -> Outcome:
    """Start two builds of a new project together."""
    make_project(root, papers=500)
    run, env = command(code)
    first = subprocess.Popen([*run, "build"], cwd=root, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(delay)
    second = subprocess.run([*run, "build"], cwd=root, env=env, capture_output=True, text=True)
    _, err = first.communicate()
    if first.returncode or second.returncode or traceback_in(err, second.stderr):
        return Outcome(False, f"exit {first.returncode}/{second.returncode}: "
                              f"{(err or second.stderr).strip()[-200:]}")  # fmt: skip
    return _whole_site(root / "site")


def _whole_site(site: Path) -> Outcome:
    import json

    manifest = json.loads((site / ".digest-manifest.json").read_text())
    missing = [p for p in manifest["files"] if not (site / p).is_file()]
    days = len(list((site / "days").glob("*.html")))
    ok = not missing and days == 10
    return Outcome(ok, "" if ok else f"{len(missing)} files missing, {days} day pages")


def tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".digest-")
    }


def set_title(root: Path, title: str) -> None:
    config = root / "content" / "digest.yaml"
    text = re.sub(r"(?m)^title: .*$", f"title: {title}", config.read_text())
    config.write_text(text)


@dataclass(frozen=True)
class KillSetup:
    """A built project (old site), the site a full rebuild makes (new), and its time."""

    pristine: Path
    old: dict[str, str]
    new: dict[str, str]
    seconds: float


def kill_setup(work: Path, code: Path | None) -> KillSetup:
    run, env = command(code)
    pristine = work / "pristine"
    make_project(pristine, papers=5000)
    subprocess.run([*run, "build"], cwd=pristine, env=env, check=True, capture_output=True)
    old = tree(pristine / "site")
    reference = work / "reference"
    shutil.copytree(pristine, reference, symlinks=True)
    set_title(reference, "A renamed digest")
    started = time.perf_counter()
    subprocess.run([*run, "build"], cwd=reference, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return KillSetup(pristine, old, tree(reference / "site"), seconds)


def killed_build(root: Path, code: Path | None, setup: KillSetup, rng: random.Random) -> Outcome:
    """SIGKILL a full rebuild at a random moment, then run the next build's recovery."""
    shutil.copytree(setup.pristine, root, symlinks=True)
    set_title(root, "A renamed digest")
    run, env = command(code)
    building = subprocess.Popen([*run, "build"], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(rng.uniform(0.75, 1.05) * setup.seconds)
    building.send_signal(signal.SIGKILL)
    building.wait()
    site = root / "site"
    after_kill = tree(site)
    state = "old" if after_kill == setup.old else "new" if after_kill == setup.new else "mixed"
    recovered = _recover(site, code)
    if recovered not in (setup.old, setup.new):
        mixed = sum(setup.new.get(p) != h for p, h in recovered.items())
        return Outcome(False, f"{state} after the kill; {mixed} old files after recovery")
    return Outcome(True, state)


def _recover(site: Path, code: Path | None) -> dict[str, str]:
    """Run what the next build does first (finish a journalled commit), if digest has it."""
    script = (
        "import sys\nfrom pathlib import Path\n"
        "try:\n    from digest.build.writer import recover\nexcept ImportError:\n    sys.exit(0)\n"
        "recover(Path(sys.argv[1]))\n"
    )
    _, env = command(code)
    subprocess.run([sys.executable, "-c", script, str(site)], env=env, check=True)
    return tree(site)


SCENARIOS: dict[str, Callable[..., Outcome]] = {
    "build+ingest": build_and_ingest,
    "build+build": two_builds,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+", choices=[*SCENARIOS, "kill"])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--code", type=Path, help="a checkout of digest to run instead")
    args = parser.parse_args(argv)
    rng = random.Random(12)
    started = dt.datetime.now()
    for name in args.scenarios:
        failures = 0
        with tempfile.TemporaryDirectory(prefix=f"trials-{name}-") as tmp:
            work = Path(tmp)
            setup = kill_setup(work, args.code) if name == "kill" else None
            for trial in range(args.trials):
                root = work / f"trial-{trial}"
                if setup is not None:
                    outcome = killed_build(root, args.code, setup, rng)
                else:
                    outcome = SCENARIOS[name](root, args.code, rng.uniform(0.0, 0.4))
                failures += not outcome.ok
                print(f"{name} #{trial + 1}: {'ok' if outcome.ok else 'FAILED'} {outcome.detail}")
                shutil.rmtree(root, ignore_errors=True)
        print(f"== {name}: {failures} of {args.trials} trials failed")
    print(f"({(dt.datetime.now() - started).total_seconds():.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
