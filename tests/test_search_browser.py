"""The search page in real headless Chromium: file://, a sub-path, hostile text."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from digest.build.run import build
from digest.project import Project

RESULT = "#search-results li.search-result"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records console errors and uncaught exceptions."""
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.on("dialog", lambda d: (tab.errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield tab
    context.close()


def search_url(site: Path, query: str | None = None) -> str:
    url = (site / "search.html").as_uri()
    return url if query is None else f"{url}?q={quote(query)}"


def status(page: Any) -> str:
    """Wait until the page has searched, then return the status line."""
    page.wait_for_function(
        "() => { const s = document.getElementById('search-status').textContent;"
        " return !s.includes('JavaScript') && !s.includes('loading older'); }"
    )
    text: str = page.inner_text("#search-status")
    return text


def titles(page: Any) -> list[str]:
    found: list[str] = page.locator(f"{RESULT} .paper-title").all_inner_texts()
    return found


def matched(text: str) -> int:
    match = re.match(r"(\d+) papers? match", text)
    assert match, text
    return int(match.group(1))


def test_typing_shows_matching_papers_with_highlights(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site))
    page.fill("#search-page-q", "quantization")
    page.wait_for_function("location.search === '?q=quantization'")
    assert matched(status(page)) == page.locator(RESULT).count() == 40
    assert "Q-VLM: Post-training Quantization for Large Vision-Language Models" in titles(page)
    first = page.locator(RESULT).first
    assert first.locator("a.result-link").get_attribute("href").startswith("papers/")
    assert first.locator("time").inner_text()
    assert first.locator(".badge").count() >= 1
    assert page.locator(f"{RESULT} mark").first.inner_text().lower().startswith("quantiz")
    assert page.errors == []


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("title:nerv", lambda t: all("nerv" in x.lower() for x in t)),
        ("quant*", lambda t: len(t) == 50),  # more than a page: "Show more" appears
        ("+quantization -diffusion", lambda t: 0 < len(t) < 40),
    ],
)
def test_lunr_query_syntax(page: Any, sample_site: Path, query: str, check: Any) -> None:
    page.goto(search_url(sample_site, query))
    assert matched(status(page)) > 0
    assert check(titles(page)), titles(page)
    assert page.errors == []


def test_show_more(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site, "quant*"))
    total = matched(status(page))
    assert total > 50 and page.locator(RESULT).count() == 50
    page.click("#search-more")
    assert page.locator(RESULT).count() == total
    assert page.locator("#search-more").is_hidden()


@pytest.mark.parametrize("query", ["title:", "+", "foo:bar", "~"])
def test_malformed_query_shows_a_message_and_no_error(
    page: Any, sample_site: Path, query: str
) -> None:
    page.goto(search_url(sample_site))
    page.fill("#search-page-q", query)
    page.wait_for_function(
        "document.getElementById('search-status').textContent.includes('could not be read')"
    )
    assert page.locator(RESULT).count() == 0
    page.wait_for_timeout(200)
    assert page.errors == []


def test_no_results_suggest_a_looser_query_and_themes(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site, "quantizaton"))
    assert status(page).startswith("0 papers match")
    suggest = page.locator("#search-suggest")
    assert "quant*" in suggest.inner_text()
    assert suggest.locator("a[href='themes/quantization.html']").count() == 1
    suggest.get_by_role("link", name="quantiz*").click()
    assert matched(status(page)) >= 40
    assert "q=quantiz*" in page.url
    assert page.input_value("#search-page-q") == "quantiz*"


def test_theme_filters(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site, "quantization"))
    everything = matched(status(page))
    page.get_by_label(re.compile(r"Decoupling")).check()
    page.wait_for_function("location.search.includes('theme=decoupling')")
    filtered = page.locator(RESULT)
    assert 0 < filtered.count() < everything
    for i in range(filtered.count()):
        assert "Decoupling" in filtered.nth(i).locator(".badges").inner_text()
    page.reload()
    assert page.get_by_label(re.compile(r"Decoupling")).is_checked()
    assert page.locator(RESULT).count() == filtered.count()


def test_query_lives_in_the_url_and_back_restores_it(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site, "quantization"))
    quantization = titles(page) if status(page) else []
    page.fill("#search-page-q", "implicit neural")
    page.wait_for_function("location.search === '?q=implicit+neural'")
    assert status(page) and titles(page) != quantization
    page.go_back()
    page.wait_for_function("location.search === '?q=quantization'")
    assert page.input_value("#search-page-q") == "quantization"
    assert page.input_value("#site-search") == "quantization"
    status(page)
    assert titles(page) == quantization
    assert page.errors == []


def test_enter_opens_the_first_result(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site))
    page.fill("#search-page-q", "title:nerv")
    status(page)
    first = page.locator(f"{RESULT} a.result-link").first.get_attribute("href")
    page.press("#search-page-q", "Enter")
    page.wait_for_url(f"**/{first}")
    assert page.errors == []


def test_slash_focuses_and_header_box_searches_from_any_page(page: Any, sample_site: Path) -> None:
    page.goto((sample_site / "index.html").as_uri())
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("quantization")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search.html?q=quantization")
    assert matched(status(page)) == 40
    page.locator(RESULT).first.locator("a.result-link").focus()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-page-q"


def test_hostile_titles_stay_text(page: Any, project: Path) -> None:
    hostile = "<img src=x onerror=window.pwned=1> Hostile Quokka Paper"
    sneaky = '"><script>window.pwned=2</script> Second Quokka Study'
    (project / "content" / "raw" / "2024-04-24-hostile.txt").write_text(
        f"Apr 24, 2024\n\n{hostile}\n\nWe study quokkas under adversarial markup in titles.\n\n"
        f"{sneaky}\n\nAnother abstract about quokkas, to check escaping in results.\n\n",
        encoding="utf-8",
    )
    build(Project.find(project))
    page.goto(search_url(project / "site", "quokka"))
    assert matched(status(page)) == 2
    assert sorted(titles(page)) == sorted([sneaky, hostile])
    assert page.locator("#search-results img, #search-results script").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.errors == []


@pytest.fixture
def sub_path_server(sample_site: Path, tmp_path: Path) -> Iterator[str]:
    """Serve the sample site at http://127.0.0.1:PORT/sub/path/ from a real HTTP server."""
    shutil.copytree(sample_site, tmp_path / "sub" / "path")
    (tmp_path / "favicon.ico").write_bytes(b"")  # Chromium asks the server root for one
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sub/path/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_works_under_a_sub_path(page: Any, sub_path_server: str) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{sub_path_server}search.html?q=quantization")
    assert matched(status(page)) == 40
    link = page.locator(f"{RESULT} a.result-link").first
    link.click()
    page.wait_for_url(re.compile(r"/sub/path/papers/[0-9a-f]{12}\.html$"))
    assert page.locator("h1").inner_text()
    assert failed == [] and page.errors == []


def test_author_queries_find_papers_by_their_authors(page: Any, tmp_path: Path) -> None:
    root = tmp_path / "rich"
    shutil.copytree(Path(__file__).parent / "data" / "rich", root)
    build(Project.find(root))
    page.goto(search_url(root / "site", "author:chengyue"))
    assert matched(status(page)) == 1
    assert titles(page) == [
        "Janus-Tiny: Decoupling Visual Encoding for Unified Multimodal Understanding and Generation"
    ]
    page.goto(search_url(root / "site", "author:núñez"))
    assert matched(status(page)) == 1
    assert page.errors == []
