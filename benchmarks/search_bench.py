"""Measure the search index: size per paper, build time, and page load to first results.

For each size it makes a corpus (benchmarks/corpus.py), ingests it, builds the search files
with the build's own code (``digest.build.run.search_index``: the same planning, worker pool and
cache as ``digest build``) cold (no cache), again from a warm cache with one day's papers
changed, and writes a minimal
site (search.html, assets, index) that headless Chromium opens from file:// with a query.
"Downloaded before first results" is the gzip size of every file the page had fetched when the
first result appeared. Prints a Markdown table and writes the raw figures as JSON.

    python benchmarks/search_bench.py 500 5000 50000 [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus  # noqa: E402

from digest.build.run import search_index  # noqa: E402
from digest.ingest.run import ingest  # noqa: E402
from digest.pages.library import Library, load_library  # noqa: E402
from digest.project import Project  # noqa: E402
from digest.site.render import Renderer  # noqa: E402
from digest.site.templates import template_dirs  # noqa: E402
from digest.site.views import Views  # noqa: E402

QUERY = "quantization"
PAGE_FILES = (
    "search.html",
    "assets/style.css",
    "assets/site.js",
    "assets/vendor/lunr.js",
    "assets/search.js",
    "assets/search/manifest.js",
)


def prepare(size: int, out: Path) -> tuple[Project, Library]:
    """Make (or reuse) a corpus of ``size`` papers, ingested; return its project and library."""
    root = out / f"corpus-{size}"
    if not (root / "content" / "digests").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        write_corpus(root, size)
        project = Project.find(root)
        year = project.config.year()
        ingest(project.digests_dir, project.raw_dumps(), project.themes, year=year)
    project = Project.find(root)
    return project, load_library(project.digests_dir, project.themes)


def write_site(project: Project, library: Library, files: list[tuple[str, bytes]]) -> Path:
    """Write search.html, the static assets and the search files: enough for the search page."""
    site = project.root / "search-site"
    shutil.rmtree(site, ignore_errors=True)
    views = Views(library, project.config)
    renderer = Renderer(template_dirs(project.templates_dir), views.site())
    search_page = next(p for p in views.plain_pages() if p.path == "search.html")
    outputs = [("search.html", renderer.render(search_page))]
    outputs += [(path, source.read_bytes()) for path, source in renderer.static_files()]
    for path, data in outputs + files:
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return site


def one_day_changed(library: Library) -> Library:
    """Return the library with the newest day's first paper retitled (an edited digest page).

    The day's content hash changes too, as it would on disk: shards are keyed by it.
    """
    newest = library.days[-1].placed[0].paper.id
    records = dict(library.records)
    records[newest] = dataclasses.replace(records[newest], title=records[newest].title + " (ed.)")
    days = (*library.days[:-1], dataclasses.replace(library.days[-1], token="edited"))
    return dataclasses.replace(library, records=records, days=days)


def first_results(browser: Any, site: Path) -> dict[str, float]:
    """Open the search page with a query; return ms to first results and gzip KB fetched by then."""
    page = browser.new_page()
    page.goto(f"{(site / 'search.html').as_uri()}?q={QUERY}")
    page.wait_for_function("window.digestSearch && window.digestSearch.firstResultsAt !== null")
    at = page.evaluate("window.digestSearch.firstResultsAt")
    shards = page.evaluate("window.digestSearch.firstResultsShards")
    page.close()
    manifest = (site / "assets/search/manifest.js").read_text()
    listed = json.loads(manifest[manifest.index("(") + 1 : -3])["shards"]
    fetched = [site / name for name in PAGE_FILES]
    fetched += [site / "assets/search" / s["file"] for s in listed[:shards]]
    gz = sum(len(gzip.compress(p.read_bytes(), 6)) for p in fetched)
    return {
        "first_results_ms": round(at, 1),
        "fetched_gzip_kb": round(gz / 1024, 1),
        "shards_before_results": shards,
    }


def index(project: Project, library: Library, out: Path, cache: Path) -> list[tuple[str, bytes]]:
    """Build the search index as `digest build` does (its planning, pool and cache)."""
    dirs = template_dirs(project.templates_dir)
    return sorted(search_index(library, project.config, dirs, out, cache).items())


def measure(size: int, out: Path, browser: Any) -> dict[str, Any]:
    project, library = prepare(size, out)
    cache = project.root / ".search-cache"
    shutil.rmtree(cache, ignore_errors=True)
    run = time.time_ns()  # each build into a new folder: see bench.py's Trash
    started = time.perf_counter()
    files = index(project, library, project.root / f"index-{run}-cold", cache)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    index(project, one_day_changed(library), project.root / f"index-{run}-warm", cache)
    warm = time.perf_counter() - started
    shards = [data for path, data in files if "/shard-" in path]
    raw = sum(len(d) for d in shards)
    gz = sum(len(gzip.compress(d, 6)) for d in shards)
    largest = max(len(gzip.compress(d, 6)) for d in shards)
    result = {
        "papers": len(library.records),
        "shards": len(shards),
        "bytes_per_paper_raw": round(raw / len(library.records)),
        "bytes_per_paper_gzip": round(gz / len(library.records)),
        "index_gzip_mb": round(gz / 1e6, 2),
        "largest_shard_gzip_kb": round(largest / 1024),
        "build_cold_s": round(cold, 2),
        "rebuild_one_day_changed_s": round(warm, 2),
    }
    site = write_site(project, library, files)
    result |= first_results(browser, site)
    return result


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| papers | shards | bytes/paper raw | gzip | index gzip | newest-shard-first download |"
        " index build (cold) | rebuild, 1 day changed | load to first results |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['papers']:,} | {r['shards']} | {r['bytes_per_paper_raw']:,} B"
        f" | {r['bytes_per_paper_gzip']} B | {r['index_gzip_mb']} MB"
        f" | {r['fetched_gzip_kb']:,} KB | {r['build_cold_s']} s"
        f" | {r['rebuild_one_day_changed_s']} s | {r['first_results_ms']:.0f} ms |"
        for r in rows
    ]
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 5000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        for size in args.sizes:
            rows.append(measure(size, args.out, browser))
            print(json.dumps(rows[-1]), file=sys.stderr)
        browser.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_bench.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
