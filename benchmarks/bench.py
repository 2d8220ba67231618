"""Benchmark digest at 500 to 50,000 papers, side by side with Hugo, Pelican and MkDocs.

For each size it makes a corpus (benchmarks/corpus.py: ~50 papers a day), then measures, in one
run so the machine's drifting speed hits every tool alike (tools are interleaved, best of N;
a day's rebuilds: the median of at least three days):

- digest: ingest of the raw dumps, full build from empty, no-op rebuild, rebuild after one day's
  digest page changed, ingest + rebuild after a new day arrived, peak memory, site size, search
  index size (raw and gzip), and time from search-page load to first results in headless Chromium;
- Hugo (Debian's ``hugo``), one page per paper with our own lean layouts, day and theme
  taxonomy pages paginated by 50, RSS and a sitemap (benchmarks/hugo_site.py);
- Pelican, one article per day (and, up to 5,000 papers, one article per paper);
- MkDocs, one page per day with its default search plugin.

Memory is the peak proportional set size of each tool's whole process tree (forked workers
included, shared pages counted once; benchmarks/treemem.py), taken in a separate, untimed build
from empty. From two sizes, ``--estimate N`` extrapolates time, memory, files and disk.

Every "from empty" build writes to a new folder and old folders are only deleted at the end (see
Trash: deleting thousands of files slows creating files for a while on this disk). At the end,
for sizes with Pelican per paper, the same comparison is also made the naive way, each tool
right after deleting its last output ("after delete" figures).

    .venv/bin/python benchmarks/bench.py 500 5000 50000 --repeat 2
    .venv/bin/python benchmarks/bench.py 500 --repeat 1 --quick    # the CI smoke run

Pelican and MkDocs are installed into benchmarks/out/tools-venv on first use. Raw figures go to
benchmarks/results.json; a Markdown table is printed (paste it into the README).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from corpus import add_note, write_corpus, write_next_day  # noqa: E402
from hugo_site import write_hugo_site  # noqa: E402
from treemem import peak_tree_mb  # noqa: E402

DIGEST = [sys.executable, "-m", "digest"]
HUGO = ["hugo", "--quiet", "-d"]
TOOLS = ("pelican==4.12.0", "mkdocs==1.6.1", "markdown")
PELICAN_PER_PAPER_UP_TO = 5000


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in MB of the largest process it waited for).

    Dirty pages are flushed first (outside the timing): an earlier step's files being written
    back while a tool creates its own slowed whichever tool came next.
    """
    wrapper = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    os.sync()  # nobody pays for writing back what an earlier step wrote
    started = time.perf_counter()
    done = subprocess.run(
        [*wrapper, *command], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    peak = float(done.stderr.strip().splitlines()[-1]) / 1024 if wrapper else 0.0
    return seconds, peak


def tools_venv(out: Path) -> Path:
    """Return a virtualenv with Pelican and MkDocs, made on first use."""
    venv = out / "tools-venv"
    if not (venv / "bin" / "mkdocs").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", *TOOLS],
            check=True,
            capture_output=True,
        )
    return venv


def folder_bytes(folder: Path, pattern: str = "*") -> tuple[int, int]:
    """Return (raw bytes, gzip bytes) of the files under ``folder`` matching ``pattern``."""
    raw = packed = 0
    for path in folder.rglob(pattern):
        if path.is_file():
            data = path.read_bytes()
            raw += len(data)
            packed += len(gzip.compress(data, 6))
    return raw, packed


# --- the corpus in the other tools' formats ------------------------------------------------


def papers_by_day(project: Path) -> list[tuple[dt.date, list[tuple[str, str]]]]:
    """Read the corpus dumps back (with digest's parser) as (date, [(title, abstract)])."""
    from digest.ingest.parse import parse_file

    days = []
    for dump in sorted((project / "content" / "raw").glob("*.txt")):
        entries = parse_file(dump, year=2024)
        days.append((entries[0].date, [(e.title, e.abstract) for e in entries]))
    return days


def write_pelican(
    root: Path, days: list[tuple[dt.date, list[tuple[str, str]]]], per_paper: bool
) -> None:
    content = root / "content"
    content.mkdir(parents=True)
    (root / "pelicanconf.py").write_text(
        'SITENAME = "bench"\nSITEURL = ""\nTIMEZONE = "UTC"\nDEFAULT_LANG = "en"\n'
        "FEED_ALL_ATOM = None\nCATEGORY_FEED_ATOM = None\nAUTHOR_FEED_ATOM = None\n"
        "DEFAULT_PAGINATION = 50\n"
    )
    for date, papers in days:
        if per_paper:
            for i, (title, abstract) in enumerate(papers):
                meta = f"Title: {title}\nDate: {date} 00:{i // 60:02d}:{i % 60:02d}\n\n"
                (content / f"{date}-{i}.md").write_text(meta + abstract + "\n")
        else:
            body = "".join(f"## {title}\n\n{abstract}\n\n" for title, abstract in papers)
            (content / f"{date}.md").write_text(f"Title: Papers of {date}\nDate: {date}\n\n{body}")


def write_mkdocs(root: Path, days: list[tuple[dt.date, list[tuple[str, str]]]]) -> None:
    docs = root / "docs"
    docs.mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: bench\nplugins:\n  - search\n")
    (docs / "index.md").write_text("# bench\n")
    for date, papers in days:
        body = "".join(f"## {title}\n\n{abstract}\n\n" for title, abstract in papers)
        (docs / f"{date}.md").write_text(f"# Papers of {date}\n\n{body}")


# --- measuring -----------------------------------------------------------------------------


def best(samples: list[float]) -> float:
    return round(min(samples), 3)


def median(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


class Trash:
    """Folders to delete once every timing is done.

    On this disk (ext4 without a journal) creating a file skips, one by one, every inode freed in
    the last minute or more; right after deleting thousands of files, creating thousands more
    costs seconds of kernel time (perf: find_inode_bit -> recently_deleted). Deleting a tool's
    last output just before timing it measured that, not the tool, by a different amount for
    each tool and each run. So old folders are renamed away (instant) and deleted at the end.
    """

    def __init__(self, out: Path):
        self.folder = out / "trash"

    def move(self, path: Path) -> None:
        if path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            path.rename(self.folder / f"{time.time_ns()}-{path.name}")

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def measure_size(
    size: int, out: Path, repeat: int, browser: Any, quick: bool, trash: Trash
) -> dict[str, Any]:
    """Measure every figure for one corpus size."""
    base = out / f"corpus-{size}"
    trash.move(base)
    project = base / "digest"
    dumps = write_corpus(project, size)
    row: dict[str, Any] = {"papers": size, "days": len(dumps)}
    row["ingest_s"], row["ingest_peak_mb"] = run([*DIGEST, "ingest"], project)
    days = papers_by_day(project)
    tools = [] if quick else _tool_builds(base, days, size, out)
    digest_full: list[float] = []
    peaks: list[float] = []
    tool_times: dict[str, list[float]] = {name: [] for name, _ in tools}
    for attempt in range(repeat):  # interleaved, so drift in machine speed hits every tool alike
        trash.move(project / ".digest-cache")  # from empty: no caches, a new output folder
        # the last build writes `site`, so the rebuilds below find the caches of their own
        # folder, as a daily job does (an earlier folder's caches were moved away)
        site = "site" if attempt == repeat - 1 else f"site-{attempt}"
        seconds, peak = run([*DIGEST, "build", "--out", site], project)
        digest_full.append(seconds)
        peaks.append(peak)
        for name, build in tools:
            tool_times[name].append(build(f"-{attempt}"))
    row["full_build_s"] = best(digest_full)
    row["peak_mb"] = round(max(peaks), 1)
    row["noop_s"] = best([run([*DIGEST, "build"], project)[0] for _ in range(repeat)])
    rounds = max(repeat, 3)  # a day's time moves with the day (blocks, checkpoints): a median
    row["changed_day_s"] = median([_change_one_day(project, i) for i in range(rounds)])
    row["new_day_s"] = median([_add_one_day(project, i) for i in range(rounds)])
    row["new_day_one_s"] = median([_add_one_day(project, rounds + i, True) for i in range(rounds)])
    site = project / "site"
    row["site_mb"] = round(folder_bytes(site)[0] / 1e6, 1)
    raw, packed = folder_bytes(site / "assets" / "search")
    row["index_mb"], row["index_gzip_mb"] = round(raw / 1e6, 2), round(packed / 1e6, 2)
    row["index_gzip_kb_per_paper"] = round(packed / 1024 / size, 3)
    if browser is not None:
        from search_bench import first_results

        row.update({f"search_{k}": v for k, v in first_results(browser, site).items()})
    for name, times in tool_times.items():
        row[f"{name}_s"] = best(times)
        row[f"{name}_ratio"] = round(best(times) / row["full_build_s"], 2)
    row["site_files"] = sum(1 for p in site.rglob("*") if p.is_file())
    row.update(_tree_memory(project, base, quick, trash))
    return row


def _tree_memory(project: Path, base: Path, quick: bool, trash: Trash) -> dict[str, float]:
    """Peak memory of each tool's whole process tree, in an untimed build from empty."""
    trash.move(project / ".digest-cache")
    figures = {"digest_tree_mb": _peak([*DIGEST, "build", "--out", "site-memory"], project)}
    if not quick and shutil.which("hugo"):
        figures["hugo_tree_mb"] = _peak([*HUGO, "public-memory"], base / "hugo")
        figures["hugo_memory_ratio"] = round(figures["hugo_tree_mb"] / figures["digest_tree_mb"], 2)
    return figures


def _peak(command: list[str], cwd: Path) -> float:
    os.sync()
    mb, code = peak_tree_mb(command, cwd)
    if code:
        raise RuntimeError(f"{' '.join(command)} failed while measuring memory")
    return mb


def measure_after_delete(row: dict[str, Any], out: Path, repeat: int) -> None:
    """Time digest and Pelican (per paper), each right after deleting its last output.

    The same comparison under the disk effect Trash avoids: run once every other figure is
    taken, as the deletions slow whatever creates files next.
    """
    base = out / f"corpus-{row['papers']}"
    project = base / "digest"
    pelican = _fresh_build(base / "pelican_per_paper", "output", _pelican(out))
    digest: list[float] = []
    others: list[float] = []
    for _ in range(repeat):
        shutil.rmtree(project / "site", ignore_errors=True)
        shutil.rmtree(project / ".digest-cache", ignore_errors=True)
        digest.append(run([*DIGEST, "build"], project)[0])
        shutil.rmtree(base / "pelican_per_paper" / "output-0", ignore_errors=True)
        others.append(pelican("-0"))
    row["after_delete_full_build_s"] = best(digest)
    row["pelican_per_paper_after_delete_s"] = best(others)
    row["pelican_per_paper_after_delete_ratio"] = round(best(others) / best(digest), 2)


def _pelican(out: Path) -> list[str]:
    venv = tools_venv(out)
    return [str(venv / "bin" / "pelican"), "content", "-s", "pelicanconf.py", "-o"]


def _tool_builds(
    base: Path, days: list[tuple[dt.date, list[tuple[str, str]]]], size: int, out: Path
) -> list[tuple[str, Callable[[str], float]]]:
    venv = tools_venv(out)
    builds: list[tuple[str, Callable[[str], float]]] = []
    modes = [("pelican_per_day", False)]
    if size <= PELICAN_PER_PAPER_UP_TO:
        modes.append(("pelican_per_paper", True))
    for name, per_paper in modes:
        root = base / name
        write_pelican(root, days, per_paper)
        builds.append((name, _fresh_build(root, "output", _pelican(out))))
    mkdocs = base / "mkdocs"
    write_mkdocs(mkdocs, days)
    command = [str(venv / "bin" / "mkdocs"), "build", "-q", "-d"]
    builds.append(("mkdocs", _fresh_build(mkdocs, "site", command)))
    if shutil.which("hugo"):
        write_hugo_site(base / "digest", base / "hugo")
        builds.append(("hugo", _fresh_build(base / "hugo", "public", HUGO)))
    return builds


def _fresh_build(root: Path, output: str, command: list[str]) -> Callable[[str], float]:
    """Return a timer of ``command`` building into ``output`` + a suffix (a new folder)."""

    def build(suffix: str) -> float:
        return run([*command, f"{output}{suffix}"], root)[0]

    return build


def _change_one_day(project: Path, attempt: int) -> float:
    """Add a note under the first paper of a middle day's page, then time the rebuild."""
    add_note(project, f"Benchmark note {attempt}.")
    return run([*DIGEST, "build"], project)[0]


def _add_one_day(project: Path, attempt: int, one_process: bool = False) -> float:
    """Write the next day's dump, then time ingest + build (what a daily update costs); or,
    ``one_process``, the build alone, which ingests it (what ``digest build --fetch`` does
    once the day is saved)."""
    dump = write_next_day(project, 100_000 + attempt)
    ingest = 0.0 if one_process else run([*DIGEST, "ingest", str(dump)], project)[0]
    return ingest + run([*DIGEST, "build"], project)[0]


# --- report --------------------------------------------------------------------------------

COLUMNS = [
    ("papers", "papers"),
    ("full_build_s", "full build s"),
    ("noop_s", "no-op s"),
    ("changed_day_s", "1 day changed s"),
    ("new_day_s", "new day (ingest+build) s"),
    ("new_day_one_s", "new day, one process (build ingests) s"),
    ("peak_mb", "peak MB"),
    ("site_mb", "site MB"),
    ("index_gzip_mb", "index gzip MB"),
    ("search_first_results_ms", "search: first results ms"),
    ("search_fetched_gzip_kb", "search: gzip KB for complete results"),
    ("digest_tree_mb", "digest MB, all processes"),
    ("hugo_ratio", "Hugo / digest"),
    ("hugo_tree_mb", "Hugo MB"),
    ("pelican_per_paper_ratio", "Pelican per paper / digest"),
    ("pelican_per_paper_after_delete_ratio", "same, right after deleting the last outputs"),
    ("pelican_per_day_ratio", "Pelican per day / digest"),
    ("mkdocs_ratio", "MkDocs / digest"),
]


def table(rows: list[dict[str, Any]]) -> str:
    """Return the results as a Markdown table."""
    present = [(key, label) for key, label in COLUMNS if any(key in row for row in rows)]
    lines = [
        "| " + " | ".join(label for _, label in present) + " |",
        "|" + "---|" * len(present),
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(key, "–")) for key, _ in present) + " |")
    return "\n".join(lines)


GROWTH = (
    ("full_build_s", "full build s"),
    ("new_day_s", "new day s"),
    ("new_day_one_s", "new day, one process s"),
    ("digest_tree_mb", "memory MB, all processes"),
    ("site_files", "files"),
    ("site_mb", "site MB"),
    ("hugo_s", "Hugo full build s"),
    ("hugo_tree_mb", "Hugo memory MB"),
)


def estimate(rows: list[dict[str, Any]], papers: int) -> str:
    """Extrapolate each figure to ``papers`` from the two largest sizes measured (power law)."""
    measured = sorted((r for r in rows if r.get("full_build_s")), key=lambda r: r["papers"])[-2:]
    if len(measured) < 2:
        return ""
    small, large = measured
    lines = [f"| figure | {small['papers']:,} | {large['papers']:,} | growth exponent |"
             f" {papers:,} (estimate) |", "|---|---|---|---|---|"]  # fmt: skip
    ratio = large["papers"] / small["papers"]
    for key, label in GROWTH:
        if key in small and key in large and small[key] > 0:
            exponent = math.log(large[key] / small[key]) / math.log(ratio)
            guess = large[key] * (papers / large["papers"]) ** exponent
            lines.append(
                f"| {label} | {small[key]} | {large[key]} | {exponent:.2f} | {guess:,.1f} |"
            )
    return "\n".join(lines)


def machine() -> str:
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {python}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 5000, 50000])
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs per figure")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--quick", action="store_true", help="digest only: no Pelican/MkDocs")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    parser.add_argument(
        "--estimate", type=int, default=500_000, help="extrapolate the figures to this size"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    trash = Trash(args.out)
    with _browser(not args.no_browser) as browser:
        for size in args.sizes:
            rows.append(measure_size(size, args.out, args.repeat, browser, args.quick, trash))
            print(json.dumps(rows[-1]), flush=True)
    for row in rows:
        if not args.quick and row["papers"] <= PELICAN_PER_PAPER_UP_TO:
            measure_after_delete(row, args.out, args.repeat)
            print(json.dumps(row), flush=True)
    trash.empty()
    result = {"machine": machine(), "date": dt.date.today().isoformat(), "rows": rows}
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nMachine: {machine()}\n\n{table(rows)}\n\n{estimate(rows, args.estimate)}")
    return 0


class _browser:
    """A headless Chromium for the search timing, or None."""

    def __init__(self, wanted: bool):
        self.wanted = wanted
        self.manager: Any = None

    def __enter__(self) -> Any:
        if not self.wanted or not Path("/usr/bin/chromium").exists():
            return None
        from playwright.sync_api import sync_playwright

        from tests.conftest import CHROMIUM_ARGS

        self.manager = sync_playwright()
        playwright = self.manager.__enter__()
        self.chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        return self.chromium

    def __exit__(self, *exc: object) -> None:
        if self.manager is not None:
            self.chromium.close()
            self.manager.__exit__(*exc)


if __name__ == "__main__":
    sys.exit(main())
