"""`digest serve` against a real server on a free port: pages, rebuilds, errors, safety, reload."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from digest.config import DEFAULT_TEMPLATES
from digest.serve.http import EVENTS_URL, STATUS_URL, Refused, Snippets, site_parts
from digest.serve.preview import Preview
from digest.serve.state import Problem
from tests.conftest import benchmark_module

DAY3 = "Jan 17\n\nA Third Day of Tiny Quantization\n\nWe quantize tiny models to 2 bits.\n"


@dataclass
class Terminal:
    """What the server printed: info lines (stdout) and errors (stderr)."""

    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def builds(self) -> int:
        return sum(line.startswith("built in") for line in self.out)


@dataclass
class Served:
    root: Path
    preview: Preview
    terminal: Terminal

    @property
    def port(self) -> int:
        return int(self.preview.server.server_address[1])

    def request(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        """Send ``path`` exactly as given (http.client does not normalise ``..``)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def get(self, path: str) -> bytes:
        status, _, body = self.request(path)
        assert status == 200, (path, status)
        return body

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.get(STATUS_URL)))


def wait_until(check: Callable[[], object], timeout: float = 5.0) -> float:
    """Poll ``check`` until it is truthy; return the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def served(tiny: Path, tmp_path: Path) -> Iterator[Served]:
    root = tiny
    terminal = Terminal()
    preview = Preview(root, port=0, say=terminal.out.append, warn=terminal.err.append)
    with preview:
        yield Served(root, preview, terminal)


def set_title(root: Path, title: str) -> None:
    config = root / "content" / "digest.yaml"
    text = re.sub(r"(?m)^title: .*$", f"title: {title}", config.read_text())
    config.write_text(text)


def title_of(body: bytes) -> str:
    match = re.search(rb"<title>(.*?)</title>", body)
    assert match, body[:200]
    return match.group(1).decode()


# --- pages ---------------------------------------------------------------------------------


def test_serves_the_built_site_with_types_and_headers(served: Served) -> None:
    status, headers, body = served.request("/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert title_of(body) == "Tiny digest"
    assert body.endswith(b"</html>\n")
    assert served.get("/index.html") == body
    assert title_of(served.get("/days/2024-01-16.html")).startswith("Papers of 16 January 2024")
    expected = {
        "/feed.xml": "application/atom+xml; charset=utf-8",
        "/themes/inr.xml": "application/atom+xml; charset=utf-8",
        "/robots.txt": "text/plain; charset=utf-8",
        "/assets/style.css": "text/css; charset=utf-8",
        "/assets/search/manifest.js": "text/javascript; charset=utf-8",
    }
    for path, kind in expected.items():
        status, headers, _ = served.request(path)
        assert (status, headers["Content-Type"]) == (200, kind), path
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_head_matches_get_without_a_body(served: Served) -> None:
    _, get_headers, body = served.request("/days/2024-01-15.html")
    status, headers, head_body = served.request("/days/2024-01-15.html", method="HEAD")
    assert status == 200 and head_body == b""
    assert headers["Content-Length"] == get_headers["Content-Length"] == str(len(body))


def test_directory_urls_and_missing_pages(served: Served) -> None:
    (served.preview.state.current.root / "docs").mkdir()  # type: ignore[union-attr]
    status, headers, _ = served.request("/docs?x=1")
    assert (status, headers["Location"]) == (301, "/docs/?x=1")
    status, headers, body = served.request("/no/such/page.html")
    assert status == 404
    assert b"Page not found" in body  # the site's own 404.html
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert served.request("/.digest-manifest.json")[0] == 404


def test_reload_snippet_is_only_in_served_pages(served: Served, tmp_path: Path) -> None:
    body = served.get("/")
    assert EVENTS_URL.encode() in body
    assert body.index(EVENTS_URL.encode()) < body.rindex(b"</body>")
    on_disk = (served.preview.state.current.root / "index.html").read_bytes()  # type: ignore[union-attr]
    assert EVENTS_URL.encode() not in on_disk
    assert not list(served.root.glob(".digest-serve/*/**/_livereload*"))
    for page in served.preview.state.current.root.rglob("*.html"):  # type: ignore[union-attr]
        assert b"__digest" not in page.read_bytes(), page
    assert (served.root / ".digest-serve" / ".gitignore").read_text().splitlines()[-1] == "*"


# --- rebuilds ------------------------------------------------------------------------------


def test_an_edit_shows_up_within_two_seconds(served: Served) -> None:
    build_before = served.status()["build"]
    set_title(served.root, "Edited digest")
    took = wait_until(lambda: title_of(served.get("/")) == "Edited digest", timeout=2.0)
    assert took < 2.0
    assert served.status()["build"] != build_before
    assert any(
        line.startswith("built in") and "content/digest.yaml" in line
        for line in served.terminal.out
    )


def test_a_digest_page_edit_and_a_new_raw_dump(served: Served) -> None:
    page = served.root / "content" / "digests" / "2024-01-15.md"
    page.write_text(page.read_text() + "\nA note written while serving.\n")
    wait_until(lambda: b"A note written while serving." in served.get("/days/2024-01-15.html"))
    (served.root / "content" / "raw" / "day3.txt").write_text(DAY3)
    wait_until(lambda: served.request("/days/2024-01-17.html")[0] == 200)
    assert b"A Third Day of Tiny Quantization" in served.get("/days/2024-01-17.html")
    assert (served.root / "content" / "digests" / "2024-01-17.md").is_file()
    assert any(
        line.startswith("ingested content/digests/2024-01-17.md") for line in served.terminal.out
    )


def test_a_new_theme_in_themes_yaml_regroups_the_pages_live(served: Served) -> None:
    """Themes follow their rules under `digest serve` too: save themes.yaml, papers move."""
    rules = served.root / "content" / "themes.yaml"
    graphs = (
        "  - slug: graphs\n    name: Graphs\n"
        "    match: [{phrase: graph neural network*, weight: 2}]\n"
    )
    rules.write_text(rules.read_text(encoding="utf-8") + graphs, encoding="utf-8")
    wait_until(lambda: served.request("/themes/graphs.html")[0] == 200)
    assert b"Caf" in served.get("/themes/graphs.html")
    assert any(line.startswith("re-themed 1 paper: +1 graphs") for line in served.terminal.out)
    page = (served.root / "content" / "digests" / "2024-01-15.md").read_text(encoding="utf-8")
    assert "## Graphs {#graphs}" in page
    builds = served.terminal.builds()
    time.sleep(0.6)  # the pages re-theming wrote are its own: they start no second build
    assert served.terminal.builds() == builds


def test_builds_run_in_a_process_of_their_own(served: Served) -> None:
    """The server has threads, so it cannot fork; its builds' process can, to use both cores."""
    pid = served.preview.rebuilder.process.last_pid
    assert pid is not None and pid != os.getpid()
    set_title(served.root, "Built elsewhere")
    wait_until(lambda: title_of(served.get("/")) == "Built elsewhere")
    assert served.preview.rebuilder.process.last_pid not in (None, pid, os.getpid())


def test_a_burst_of_saves_is_one_rebuild(served: Served) -> None:
    before = served.terminal.builds()
    for n in range(20):
        set_title(served.root, f"Burst {n}")
    wait_until(lambda: served.terminal.builds() > before)
    time.sleep(0.6)  # longer than the debounce window: a second rebuild would have started
    assert served.terminal.builds() == before + 1
    assert title_of(served.get("/")) == "Burst 19"


def test_editor_temp_files_and_output_do_not_rebuild(served: Served) -> None:
    before = served.terminal.builds()
    for noise in ("content/.digest.yaml.swp", "content/digest.yaml~", "content/raw/4913"):
        (served.root / noise).write_text("x")
    (served.root / "site").mkdir()
    (served.root / "site" / "index.html").write_text("x")
    set_title(served.root, "Sentinel")
    wait_until(lambda: served.terminal.builds() > before)
    assert served.terminal.out[-1].endswith("(content/digest.yaml)")
    time.sleep(0.4)
    assert served.terminal.builds() == before + 1


def test_a_broken_template_keeps_the_last_good_site_and_recovers(served: Served) -> None:
    good = served.get("/days/2024-01-15.html")
    templates = served.root / "templates"
    templates.mkdir()
    (templates / "day.html").write_text('{% extends "base.html" %}\n{% block main %}\n{% if %}\n')
    wait_until(lambda: served.status()["error"])
    error = served.status()["error"]
    assert error["path"].endswith("templates/day.html") and error["line"] == 3
    assert "template error" in error["message"]
    assert served.get("/days/2024-01-15.html") == good  # still the last good build
    assert any(e.startswith("digest: error: ") and "day.html:3" in e for e in served.terminal.err)

    (templates / "day.html").write_text(
        '{% extends "base.html" %}\n{% block main %}<h1>Fixed day</h1>{% endblock %}\n'
    )
    wait_until(lambda: served.status()["error"] is None)
    assert b"<h1>Fixed day</h1>" in served.get("/days/2024-01-15.html")


def test_no_good_build_yet_serves_the_error_escaped(tiny: Path, tmp_path: Path) -> None:
    root = tiny
    (root / "templates").mkdir()
    (root / "templates" / "base.html").write_text("{% if <script>alert(1)</script> %}")
    terminal = Terminal()
    with Preview(root, port=0, say=terminal.out.append, warn=terminal.err.append) as preview:
        served = Served(root, preview, terminal)
        status, _, body = served.request("/")
        assert status == 503
        assert b"templates/base.html" in body and b"<script>alert" not in body
        (root / "templates" / "base.html").unlink()
        wait_until(lambda: served.request("/")[0] == 200)


def test_error_page_template_escapes_untrusted_text() -> None:
    page = Snippets([DEFAULT_TEMPLATES]).error_page(
        {"message": "<img src=x onerror=alert(1)>", "path": "a<b", "line": 1}
    )
    assert b"&lt;img src=x onerror=alert(1)&gt;" in page and b"<img" not in page
    assert b"a&lt;b:1" in page


def test_many_requests_during_rebuilds_all_get_complete_pages(served: Served) -> None:
    paths = ["/", "/days/2024-01-15.html", "/days/2024-01-16.html", "/archive.html", "/feed.xml"]
    results: list[tuple[int, bytes]] = []
    done = threading.Event()

    def edit() -> None:
        for n in range(10):
            before = served.terminal.builds()
            set_title(served.root, f"Round {n}")
            wait_until(lambda before=before: served.terminal.builds() > before)
        done.set()

    editor = threading.Thread(target=edit)
    editor.start()

    def fetch(path: str) -> tuple[int, bytes]:
        status, _, body = served.request(path)
        return status, body

    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not done.is_set() or sent < 200:
            batch = [paths[(sent + i) % len(paths)] for i in range(20)]
            results.extend(pool.map(fetch, batch))
            sent += len(batch)
    editor.join()
    assert served.terminal.builds() >= 11
    assert len(results) >= 200
    titles_of_build: dict[str, set[str]] = {}
    for status, body in results:
        assert status == 200
        assert body.endswith(b"</html>\n") or body.endswith(b"</feed>\n")
        if body.endswith(b"</html>\n"):  # a page of build X has build X's title, never a mix
            build = re.search(rb'data-digest-serve-build="([^"]*)"', body)
            assert build is not None
            site_title = title_of(body).split(" · ")[-1]
            titles_of_build.setdefault(build.group(1).decode(), set()).add(site_title)
    assert len(titles_of_build) >= 3, titles_of_build  # requests really overlapped rebuilds
    assert all(len(titles) == 1 for titles in titles_of_build.values()), titles_of_build


# --- safety --------------------------------------------------------------------------------

REFUSED = [
    "/../../../etc/passwd",
    "/days/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/days/..%2f..%2f..%2fetc/passwd",
    "/./index.html",
    "//etc/passwd",
    "/%2fetc/passwd",
    "/..\\..\\etc\\passwd",
    "/%5c..%5c..%5cetc%5cpasswd",
    "/index.html%00.txt",
    "/C:/Windows/win.ini",
]


@pytest.mark.parametrize("target", REFUSED)
def test_site_parts_refuses(target: str) -> None:
    with pytest.raises(Refused):
        site_parts(target)


@pytest.mark.parametrize(
    ("target", "parts"),
    [
        ("/", ("",)),
        ("/days/", ("days", "")),
        ("/days/2024-01-15.html?x=..#y", ("days", "2024-01-15.html")),
        ("/a%20b.html", ("a b.html",)),
    ],
)
def test_site_parts_accepts(target: str, parts: tuple[str, ...]) -> None:
    assert site_parts(target) == parts


def raw_request(port: int, target: str) -> tuple[int, bytes]:
    """Send a request line byte for byte, so no client library can clean up the path."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: x\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def test_traversal_and_symlinks_out_are_refused(served: Served, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    current = served.preview.state.current.root  # type: ignore[union-attr]
    os.symlink(secret, current / "leak.txt")
    os.symlink(tmp_path, current / "leakdir")
    targets = [*REFUSED, "/leak.txt", "/leakdir/secret.txt", "http://evil.example/etc/passwd"]
    for target in targets:
        status, data = raw_request(served.port, target)
        assert status in (400, 403, 404), target
        assert b"TOP-SECRET" not in data and b"root:" not in data, target


# --- the command ---------------------------------------------------------------------------


def test_port_in_use_is_one_clear_line(tiny: Path, cli: Any, tmp_path: Path) -> None:
    root = tiny
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), cwd=root)
    assert result.code == 1
    assert result.err == (
        f"digest: error: port {port} on 127.0.0.1 is already in use; stop the other server "
        "or choose another port with --port\n"
    )
    assert not (root / ".digest-serve").exists()  # failed before building anything


def test_ctrl_c_stops_within_a_second(tiny: Path, tmp_path: Path) -> None:
    root = tiny
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not (lines and lines[-1].startswith("serving ")):
            line = process.stdout.readline()
            assert line, "server exited early"
            lines.append(line)
        url = lines[-1].split()[1]
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        assert raw_request(port, "/")[0] == 200
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=5)
        took = time.monotonic() - started
    finally:
        process.kill()
    _, err = process.communicate()
    assert took < 1.0
    assert code in (0, 130)
    assert "Traceback" not in err
    assert any(line.startswith("built in") for line in lines)


# --- the browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_an_open_tab_reloads_by_itself_after_an_edit(browser: Any, served: Served) -> None:
    page = browser.new_page()
    try:
        page.goto(served.preview.url)
        page.wait_for_function("document.title === 'Tiny digest'")
        page.evaluate("window.notReloaded = true")
        connected = served.preview.state
        wait_until(lambda: connected.status()["build"])
        set_title(served.root, "Reloaded digest")
        page.wait_for_function("document.title === 'Reloaded digest'", timeout=3000)
        assert page.evaluate("window.notReloaded") is None
    finally:
        page.close()


@pytest.mark.browser
def test_an_open_tab_shows_the_error_overlay_and_clears_it(browser: Any, served: Served) -> None:
    page = browser.new_page()
    try:
        page.goto(served.preview.url + "days/2024-01-15.html")
        evil = '<img src=x onerror="window.pwned=1"> in a title'
        served.preview.state.fail(Problem(evil, "content/digests/2024-01-15.md", 7))
        overlay = page.locator("#digest-serve-overlay")
        overlay.wait_for(timeout=3000)
        assert overlay.locator(".where").text_content() == "content/digests/2024-01-15.md:7"
        assert overlay.locator("pre").text_content() == evil
        assert page.evaluate("window.pwned") is None
        assert page.locator("#digest-serve-overlay img").count() == 0

        templates = served.root / "templates"
        templates.mkdir()
        (templates / "day.html").write_text('{% extends "base.html" %}{% block main %}{{ x(')
        page.wait_for_function(
            "document.querySelector('#digest-serve-overlay .where')?.textContent"
            ".endsWith('templates/day.html:1')",
            timeout=3000,
        )
        (templates / "day.html").unlink()
        overlay.wait_for(state="detached", timeout=3000)
    finally:
        page.close()


def test_changed_file_count_reads_the_build_manifest(tiny: Path, tmp_path: Path) -> None:
    """The rebuild summary counts site files that differ (not the manifest's own keys)."""
    from digest.build.run import build
    from digest.project import Project
    from digest.serve.rebuild import changed_files

    root = tiny
    project = Project.find(root)
    build(project, out=tmp_path / "a")
    build(project, out=tmp_path / "b")
    assert changed_files(tmp_path / "a", tmp_path / "b") == 0
    (root / "content/raw/day3.txt").write_text(DAY3)
    build(project, out=tmp_path / "b")
    assert changed_files(tmp_path / "a", tmp_path / "b") > 10  # new day, paper, theme pages
    assert changed_files(None, tmp_path / "b") > 30  # every file of a first build


def test_a_preview_build_of_a_large_site_forks_its_workers(tmp_path: Path) -> None:
    """The preview's builds run in a child; one large enough for the pool (and then a new
    day, whose search work runs beside the pages) failed there: a daemonic process may not
    start processes of its own."""
    from digest.serve.worker import BuildProcess

    corpus = benchmark_module("corpus")
    root = tmp_path / "large"
    corpus.write_corpus(root, 1_200, per_day=40)
    process = BuildProcess()
    report = process.build(root, root / "site")
    assert report.written > 1_200 and (root / "site" / "search.html").is_file()
    date = max(dt.date.fromisoformat(p.name[:10]) for p in (root / "content/raw").iterdir())
    date += dt.timedelta(days=1)
    dump = root / "content" / "raw" / f"{date.isoformat()}-corpus.txt"
    papers = corpus.day_papers(corpus.sample_papers(), 7, 40)
    dump.write_text(corpus.dump_text(date, papers), encoding="utf-8")
    again = process.build(root, root / "site")
    assert len(again.ingested) == 1 and again.written >= 40
    assert (root / "site" / "days" / f"{date.isoformat()}.html").is_file()
