"""Measure digest's search side by side with pagefind's, on the same built site, in one run.

For each size it makes a corpus (benchmarks/corpus.py), builds the site with ``digest build``
(a new folder each time), times and weighs the index alone (the build's own search path, its
pool included, with no pages), then indexes the same site's paper pages with pagefind. Both
are served by a loopback HTTP server that gzips what it sends and counts the bytes; headless
Chromium opens each engine's search page with a query, in a fresh context (no cache):

- digest: ``search.html?q=...``, the site's own page; "first results" is when its first ten
  results are on the page, "complete" when the whole ranked list is known and the first page
  (50 results) is shown with snippets and theme counts;
- pagefind 1.5: a page that calls its JS API the same way: ``pagefind.search(q)`` (the
  complete ranked list), then the first ten results' data ("first"), then fifty ("complete").

Times are from navigation (``performance.now()``); bytes are gzip bodies sent, page included.
Each figure is the best of ``--repeat`` runs, engines interleaved. Memory is the peak summed
PSS of the process tree (the build's forked workers share pages with their parent). Then a new
day is added: the files of the index it rewrites (count, bytes) and the index work it costs.

    .venv/bin/python benchmarks/search_bench.py 5000 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from corpus import day_papers, dump_text, sample_papers, write_corpus  # noqa: E402
from loopback import loopback  # noqa: E402
from treemem import pss_kb, tree  # noqa: E402

DIGEST = [sys.executable, "-m", "digest"]
PAGEFIND_VERSION = "1.5.2"
WORDS = {"mid": "hallucination", "common": "learning"}
"""The rare word is the unique tag of the oldest paper's title, found per corpus."""
PAGEFIND_PAGE = """<!doctype html>
<meta charset="utf-8"><title>pagefind bench</title>
<ol id="results"></ol>
<script type="module">
const q = new URLSearchParams(location.search).get("q");
const list = document.getElementById("results");
async function show(results, n) {
  const data = await Promise.all(results.slice(0, n).map(r => r.data()));
  list.textContent = "";
  for (const d of data) {
    const li = document.createElement("li");
    li.textContent = d.meta.title + " " + d.excerpt;
    list.appendChild(li);
  }
}
const pagefind = await import("./pagefind/pagefind.js");
const search = await pagefind.search(q);
await show(search.results, 10);
window.firstAt = performance.now();
await show(search.results, 50);
window.count = search.results.length;
window.completeAt = performance.now();
</script>
"""


# --- processes: wall time and peak memory of a process tree ---------------------------------


def measure(command: list[str], cwd: Path) -> dict[str, float]:
    """Run a command; return its wall seconds and the peak PSS (MB) of its process tree."""
    os.sync()
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _tree_pss(child.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    output = child.stdout.read().decode(errors="replace") if child.stdout else ""
    if child.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    found: dict[str, float] = {"s": round(seconds, 2), "peak_mb": round(peak, 1)}
    for line in output.splitlines():  # what index_only reports of itself
        if line.startswith("{"):
            found |= json.loads(line)
    return found


def _tree_pss(root: int) -> float:
    """Return the summed PSS of a process and its descendants, in MB (see treemem.py)."""
    return sum(pss_kb(pid) for pid in tree(root)) / 1024


def index_only(root: str, out: str, mode: str) -> None:
    """Build only the search index for ``out``, by the build's own path (its planning, its pool
    of workers, its assembly while they work), with no pages to render. Mode "write" moves the
    files into ``out``; "stage" stages what the site lacks and drops it."""
    from digest.build.full import write_site
    from digest.build.writer import SiteWriter
    from digest.config import template_dirs
    from digest.pages.cache import load_stored_days
    from digest.pages.library import library_from
    from digest.project import Project

    project = Project.find(Path(root))
    library = library_from(load_stored_days(project.digests_dir, project.cache_dir), project.themes)
    writer = SiteWriter(Path(out), clean=False)
    dirs = template_dirs(project.templates_dir)
    started = time.perf_counter()  # the library is the build's: loaded before the index work
    write_site(library, project.config, dirs, writer, project.cache_dir / "search", pages=False)
    done = time.perf_counter()
    if mode == "write":
        writer.commit("")
    writer.discard()
    print(json.dumps({"work_s": round(done - started, 2)}))


# --- a loopback server that gzips and counts ------------------------------------------------


class Counter:
    """Bytes sent since the last reset (gzip bodies), and the paths asked for."""

    def __init__(self) -> None:
        self.bytes = 0
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.bytes = 0
            self.paths = []

    def add(self, path: str, size: int) -> None:
        with self.lock:
            self.bytes += size
            self.paths.append(path)


TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
}


@contextmanager
def serve(root: Path, counter: Counter) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1, gzip level 6 (compressed once per file), counting bytes."""
    root = root.resolve()
    packed: dict[Path, bytes] = {}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = (root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
            if not path.is_file() or not path.is_relative_to(root):
                self.send_error(404)
                return
            with lock:
                body = packed.get(path)
            if body is None:
                body = gzip.compress(path.read_bytes(), 6, mtime=0)  # pagefind's are gzip too
                with lock:
                    packed[path] = body
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            counter.add(self.path, len(body))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback(Handler) as url:
        yield url


# --- the browser side ---------------------------------------------------------------------


def timed_query(browser: Any, url: str, engine: str, counter: Counter) -> dict[str, Any]:
    """Open one engine's search page with a query in a fresh context; return ms and bytes."""
    context = browser.new_context()
    page = context.new_page()
    counter.reset()
    page.goto(url)
    if engine == "digest":
        page.wait_for_function("window.digestSearch && window.digestSearch.completeResultsAt")
        first, complete = page.evaluate(
            "[digestSearch.firstResultsAt, digestSearch.completeResultsAt]"
        )
        status = page.inner_text("#search-status")
        found = int(status.split()[0].replace(",", "")) if status[0].isdigit() else 0
    else:
        page.wait_for_function("window.completeAt !== undefined", timeout=60_000)
        first, complete, found = page.evaluate("[window.firstAt, window.completeAt, window.count]")
    page.wait_for_timeout(100)  # anything the page fetches just after is counted too
    row = {
        "first_ms": round(first),
        "complete_ms": round(complete),
        "kb": round(counter.bytes / 1024, 1),
        "requests": len(counter.paths),
        "results": found,
    }
    context.close()
    return row


def first_results(browser: Any, site: Path, query: str = "quantization") -> dict[str, Any]:
    """Open the site's search page from file:// with a query; return ms to first and complete
    results and the gzip KB of every file it loaded (for bench.py's table)."""
    page = browser.new_page()
    names: list[str] = []  # file:// pages record no resource timing: count the requests
    page.on("request", lambda request: names.append(request.url))
    page.goto(f"{(site / 'search.html').as_uri()}?q={quote(query)}")
    page.wait_for_function("window.digestSearch && window.digestSearch.completeResultsAt")
    first, complete = page.evaluate("[digestSearch.firstResultsAt, digestSearch.completeResultsAt]")
    page.close()
    paths = {Path(unquote(urlsplit(n).path)) for n in names}
    packed = sum(len(gzip.compress(p.read_bytes(), 6)) for p in paths if p.is_file())
    return {
        "first_results_ms": round(first, 1),
        "complete_results_ms": round(complete, 1),
        "fetched_gzip_kb": round(packed / 1024, 1),
    }


def rare_word(project: Path) -> tuple[str, str]:
    """Return the oldest paper's unique title tag as each engine indexes it: lunr.py keeps
    "(v0.3)" whole (its trimmer stops at the inner dot); pagefind indexes "v0.3"."""
    first = sorted((project / "content" / "raw").glob("*.txt"))[0]
    tag = next(line for line in first.read_text().splitlines() if line.endswith(")"))
    word = tag.rsplit(" ", 1)[1]
    return word, word.strip("()")


def queries(project: Path) -> dict[str, dict[str, str]]:
    digest_rare, pagefind_rare = rare_word(project)
    found = {"rare": {"digest": digest_rare, "pagefind": pagefind_rare}}
    found.update({kind: {"digest": w, "pagefind": w} for kind, w in WORDS.items()})
    return found


def browse(site: Path, project: Path, repeat: int) -> dict[str, Any]:
    """Time every query on both engines; best of ``repeat`` runs, engines interleaved."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    (site / "pagefind-search.html").write_text(PAGEFIND_PAGE, encoding="utf-8")
    counter = Counter()
    best: dict[str, Any] = {}
    asked = queries(project)
    with serve(site, counter) as root, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        for attempt in range(repeat + 1):  # the first run warms the server's gzip and the disk
            for kind, words in asked.items():
                for engine in ("digest", "pagefind"):
                    page = "search.html" if engine == "digest" else "pagefind-search.html"
                    url = f"{root}{page}?q={quote(words[engine])}"
                    row = timed_query(browser, url, engine, counter)
                    if attempt == 0:
                        continue
                    key = f"{engine}_{kind}"
                    old = best.get(key)
                    if old is None or row["complete_ms"] < old["complete_ms"]:
                        best[key] = row | {"query": words[engine]}
        browser.close()
    return best


# --- sizes and a new day -------------------------------------------------------------------


def folder_size(folder: Path) -> dict[str, float]:
    """Return the files, raw MB and gzip MB of a folder (each file gzipped alone, level 6)."""
    files = raw = packed = 0
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            files += 1
            raw += len(data)
            packed += len(data) if path.suffix == ".pf_fragment" else len(gzip.compress(data, 6))
    return {"files": files, "raw_mb": round(raw / 1e6, 2), "gzip_mb": round(packed / 1e6, 2)}


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def add_day(project: Path) -> None:
    """Write and ingest the next day's dump (50 papers): what a daily update is."""
    raw = sorted((project / "content" / "raw").glob("*.txt"))
    date = dt.date.fromisoformat(raw[-1].name[:10]) + dt.timedelta(days=1)
    dump = project / "content" / "raw" / f"{date.isoformat()}-corpus.txt"
    papers = day_papers(sample_papers(), 300_000 + date.toordinal(), 50)  # new every day
    dump.write_text(dump_text(date, papers), encoding="utf-8")
    subprocess.run([*DIGEST, "ingest", str(dump)], cwd=project, check=True, capture_output=True)


def new_day(project: Path, site: Path) -> dict[str, Any]:
    """Add a day, time the index work for it (the build's path), then the whole build; return
    what the build rewrote in the index and what that cost."""
    add_day(project)
    search = site / "assets" / "search"
    before = hashes(search)
    cache = project / ".digest-cache"
    spare = project / f".digest-cache-{time.time_ns()}"
    shutil.copytree(cache, spare)  # the index alone first, then the build from the same cache
    command = [sys.executable, __file__, "--index-only", str(project), str(site), "stage"]
    work = measure(command, project)
    cache.rename(project / f".digest-cache-used-{time.time_ns()}")
    spare.rename(cache)
    build = measure([*DIGEST, "build", "--out", site.name], project)
    after = hashes(search)
    changed = [p for p in after if before.get(p) != after[p]]
    raw = sum((search / p).stat().st_size for p in changed)
    packed = sum(len(gzip.compress((search / p).read_bytes(), 6)) for p in changed)
    return {
        "index_work_s": work["work_s"],
        "index_process_s": work["s"],
        "build_s": build["s"],
        "files_rewritten": len(changed),
        "removed": len(set(before) - set(after)),
        "rewritten_kb": round(raw / 1024),
        "rewritten_gzip_kb": round(packed / 1024),
        "by_kind": {k: sum(p.split("/")[0] == k for p in changed) for k in "cdgptv"},
    }


def measure_size(size: int, out: Path, repeat: int) -> dict[str, Any]:
    """Every figure for one corpus size."""
    stamp = time.time_ns()
    project = out / f"search-{size}-{stamp}"
    write_corpus(project, size)
    subprocess.run([*DIGEST, "ingest"], cwd=project, check=True, capture_output=True)
    row: dict[str, Any] = {"papers": size}
    row["digest_build"] = measure([*DIGEST, "build", "--out", "site"], project)
    site = project / "site"
    cache = project / ".digest-cache" / "search"
    cache.rename(project / f"search-cache-{stamp}")  # the index alone, from nothing
    command = [sys.executable, __file__, "--index-only", str(project), str(project / "index")]
    row["digest_index"] = measure([*command, "write"], project)
    pagefind = [str(out / "pagefind-venv" / "bin" / "python"), "-m", "pagefind"]
    row["pagefind_index"] = measure(
        [*pagefind, "--site", str(site), "--glob", "papers/*.html"], project
    )
    row["digest_size"] = folder_size(site / "assets" / "search")
    row["pagefind_size"] = folder_size(site / "pagefind")
    for engine in ("digest", "pagefind"):
        size_row = row[f"{engine}_size"]
        size_row["gzip_kb_per_paper"] = round(size_row["gzip_mb"] * 1e6 / 1024 / size, 3)
    row["queries"] = browse(site, project, repeat)
    row["new_day"] = new_day(project, site)
    return row


def pagefind_venv(out: Path) -> None:
    venv = out / "pagefind-venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        wanted = f"pagefind[bin]=={PAGEFIND_VERSION}"
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", wanted], check=True)


def table(rows: list[dict[str, Any]]) -> str:
    """Return the query figures as a Markdown table."""
    lines = [
        "| papers | query | results | digest first | digest complete | pagefind first |"
        " pagefind complete |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for kind in ("rare", "mid", "common"):
            d = row["queries"][f"digest_{kind}"]
            p = row["queries"][f"pagefind_{kind}"]
            lines.append(
                f"| {row['papers']:,} | {kind} `{d['query']}` | {d['results']:,} / {p['results']:,}"
                f" | {d['first_ms']} ms | {d['complete_ms']} ms, {d['kb']:,} KB"
                f" | {p['first_ms']} ms | {p['complete_ms']} ms, {p['kb']:,} KB |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--results", type=Path, default=HERE / "search_results.json")
    parser.add_argument("--index-only", nargs=3, metavar=("PROJECT", "OUT", "MODE"))
    args = parser.parse_args(argv)
    if args.index_only:
        index_only(*args.index_only)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    pagefind_venv(args.out)
    rows = []
    for size in args.sizes:
        rows.append(measure_size(size, args.out, args.repeat))
        print(json.dumps(rows[-1]), flush=True)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    result = {"machine": machine, "date": dt.date.today().isoformat(), "rows": rows}
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
