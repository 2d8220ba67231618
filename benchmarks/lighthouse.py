"""Lighthouse scores (mobile defaults) of the sample site's five page types, and its heaviest day.

Builds the sample project (``content/raw``, settings and themes) into a temporary folder, serves
it over a local HTTP server with gzip (as any real host would), and runs npm's ``lighthouse``
with Debian's Chromium on: the home page, the day with the most papers, the largest theme page,
a paper page and the search page with a query. Prints, per page type, the four category scores
(median of ``--runs``) and the metrics behind performance; then the largest day's HTML size,
raw and gzip, and its height at 390 px (Playwright, when installed).

    .venv/bin/python benchmarks/lighthouse.py --runs 3
    .venv/bin/python benchmarks/lighthouse.py --runs 3 --code /tmp/digest-before   # before
    .venv/bin/python benchmarks/lighthouse.py --dark      # prefers-color-scheme: dark
    .venv/bin/python benchmarks/lighthouse.py --no-gzip   # a host that sends files as they are

Lighthouse is installed with npm into benchmarks/out/node on first use (not committed). Runs
are slow (~20 s a page here) and the machine's load moves the performance figure by a few
points: run it a few times, never in CI.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from loopback import loopback  # noqa: E402

NODE = HERE / "out" / "node"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "first-contentful-paint": ("FCP s", 1000),
    "largest-contentful-paint": ("LCP s", 1000),
    "total-blocking-time": ("TBT ms", 1),
    "cumulative-layout-shift": ("CLS", 1),
    "speed-index": ("SI s", 1000),
}
SEARCH_QUERY = "quantization"
COMPRESSED = (".html", ".css", ".js", ".svg", ".xml", ".json", ".txt")


def build_sample(code: Path | None, root: Path) -> Path:
    """Build the shipped sample project with ``code``'s digest (default: this checkout)."""
    project = root / "proj"
    (project / "content").mkdir(parents=True)
    shutil.copytree(REPO / "content" / "raw", project / "content" / "raw")
    for name in ("digest.yaml", "themes.yaml"):
        shutil.copy(REPO / "content" / name, project / "content" / name)
    env = dict(os.environ, PYTHONPATH=str(code or REPO))
    subprocess.run(
        [sys.executable, "-m", "digest", "build"], cwd=project, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    return project / "site"


def page_types(site: Path) -> dict[str, str]:
    """Pick the five page types: home, the heaviest day, the largest theme page, a paper, search."""
    day = max(sorted((site / "days").glob("*.html")), key=lambda p: p.stat().st_size)
    themes = [p for p in (site / "themes").glob("*.html") if p.stem != "other"]
    theme = max(sorted(themes), key=lambda p: p.stat().st_size)
    first_paper = re.search(r'href="\.\./(papers/[^"#]+\.html)"', day.read_text("utf-8"))
    assert first_paper, f"no paper link in {day}"
    return {
        "home": "index.html",
        "largest day": f"days/{day.name}",
        "theme": f"themes/{theme.name}",
        "paper": first_paper.group(1),
        "search with a query": f"search.html?q={SEARCH_QUERY}",
    }


class GzipHandler(SimpleHTTPRequestHandler):
    """Serve files of the site, gzipped when the client accepts it (as real hosts do)."""

    gzip = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def send_head(self) -> Any:
        path = Path(self.translate_path(self.path))
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.gzip and accepts and path.is_file() and path.suffix in COMPRESSED):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        import io

        return io.BytesIO(body)


@contextmanager
def serving(site: Path, compress: bool = True) -> Iterator[str]:
    handler = type("Handler", (GzipHandler,), {"gzip": compress})
    with loopback(partial(handler, directory=str(site))) as url:
        yield url


def lighthouse_bin() -> Path:
    """Return npm's lighthouse, installing it into benchmarks/out/node on first use."""
    binary = NODE / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        NODE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE), "lighthouse"], check=True)
    return binary


def lighthouse(url: str, out: Path, dark: bool = False) -> dict[str, Any]:
    """Run Lighthouse once on ``url`` (mobile defaults, simulated throttling); return its JSON."""
    env = dict(os.environ, CHROME_PATH=CHROME)
    flags = CHROME_FLAGS + (" --force-dark-mode" if dark else "")
    subprocess.run(
        [str(lighthouse_bin()), url, "--quiet", "--output=json", f"--output-path={out}",
         f"--chrome-flags={flags}", "--only-categories=" + ",".join(CATEGORIES)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return report


def scores(report: dict[str, Any]) -> dict[str, float]:
    """Category scores (0-100) and the performance metrics of one report."""
    row = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
    for audit, (label, scale) in METRICS.items():
        row[label] = report["audits"][audit]["numericValue"] / scale
    row["failed"] = lost_points(report)  # type: ignore[assignment]
    return row


def lost_points(report: dict[str, Any]) -> list[str]:
    """The audits that cost a category points (weighted, scored below 1)."""
    audits = report["audits"]
    return sorted(
        f"{ref['id']} ({audits[ref['id']]['score']})"
        for category in report["categories"].values()
        for ref in category["auditRefs"]
        if ref["weight"] > 0
        and (audits[ref["id"]].get("score") or 0) < 1
        and audits[ref["id"]]["scoreDisplayMode"] in ("binary", "numeric")
    )


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in rows[0]:
        if key == "failed":
            merged[key] = sorted({a.split(" ")[0] for r in rows for a in r[key]})  # audit ids
        else:
            merged[key] = statistics.median(r[key] for r in rows)
    return merged


def day_weight(site: Path, day: str) -> dict[str, float]:
    """The heaviest day's HTML, raw and gzip (KB), and its height at 390 px (when measurable)."""
    data = (site / day).read_bytes()
    row = {"raw KB": len(data) / 1000, "gzip KB": len(gzip.compress(data, 6)) / 1000}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return row
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROME, args=["--no-sandbox", "--disable-gpu"]
        )
        for js in (True, False):
            page = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=js)
            page.goto((site / day).as_uri())
            key = "height px at 390" + ("" if js else ", no JS")
            row[key] = page.evaluate("document.documentElement.scrollHeight")
            page.close()
        browser.close()
    return row


def table(results: dict[str, dict[str, Any]]) -> str:
    labels = [*CATEGORIES, *(label for label, _ in METRICS.values())]
    lines = ["| page | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for name, row in results.items():
        cells = [f"{row[k]:.0f}" if k in CATEGORIES else _metric(k, row[k]) for k in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metric(label: str, value: float) -> str:
    return (
        f"{value:.0f}"
        if label.endswith("ms")
        else f"{value:.3f}"
        if label == "CLS"
        else (f"{value:.1f}")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs a page (median)")
    parser.add_argument("--code", type=Path, help="another checkout of digest to build with")
    parser.add_argument("--pages", nargs="*", help="only these page types")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--dark", action="store_true", help="emulate a dark colour scheme")
    parser.add_argument("--no-gzip", action="store_true", help="serve files uncompressed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="digest-lh-") as tmp:
        site = build_sample(args.code, Path(tmp))
        pages = page_types(site)
        chosen = {k: v for k, v in pages.items() if not args.pages or k in args.pages}
        results: dict[str, dict[str, Any]] = {}
        with serving(site, not args.no_gzip) as base:
            for name, path in chosen.items():
                runs = [
                    scores(lighthouse(base + path, Path(tmp) / f"lh-{i}.json", args.dark))
                    for i in range(args.runs)
                ]
                results[name] = median_row(runs)
                print(f"{name} ({path}): {json.dumps(results[name])}", flush=True)
        weight = day_weight(site, pages["largest day"])
    print(f"\n{table(results)}\n")
    print(f"{pages['largest day']}: " + ", ".join(f"{k} {v:,.0f}" for k, v in weight.items()))
    for name, row in results.items():
        if row["failed"]:
            print(f"{name}: points lost on: {', '.join(row['failed'])}")
    if args.json:
        args.json.write_text(json.dumps({"pages": results, "largest day": weight}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
