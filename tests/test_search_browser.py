"""The search page and the header box in real headless Chromium: file://, http, hostile text."""

from __future__ import annotations

import functools
import http.server
import json
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

pytestmark = pytest.mark.browser
RESULT = "#search-results li.search-result"
DONE = "() => window.digestSearch && window.digestSearch.completeResultsAt !== null"


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
        " return !s.includes('JavaScript') && !s.includes('Searching') && !s.includes('loading'); }"
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


def query(page: Any, text: str, **options: int) -> list[dict[str, Any]]:
    """Return digestSearch.query's complete results (details for all unless told)."""
    found: list[dict[str, Any]] = page.evaluate(
        "([q, o]) => digestSearch.query(q, o)", [text, options or {}]
    )
    return found


def site_with(project: Path, papers: list[tuple[str, str]]) -> Path:
    """Build a site from one day's dump of (title, abstract) papers; return its folder."""
    body = "".join(f"{title}\n\n{abstract}\n\n" for title, abstract in papers)
    (project / "content" / "raw" / "2024-04-24-test.txt").write_text(
        f"Apr 24, 2024\n\n{body}", encoding="utf-8"
    )
    build(Project.find(project))
    return project / "site"


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
    ("text", "check"),
    [
        ("title:nerv", lambda t: all("nerv" in x.lower() for x in t)),
        ("quant*", lambda t: len(t) == 50),  # more than a page: "Show more" appears
        ("+quantization -diffusion", lambda t: 0 < len(t) < 40),
    ],
)
def test_lunr_query_syntax(page: Any, sample_site: Path, text: str, check: Any) -> None:
    page.goto(search_url(sample_site, text))
    assert matched(status(page)) > 0
    assert check(titles(page)), titles(page)
    assert page.errors == []


def test_show_more(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site, "quant*"))
    total = matched(status(page))
    assert total > 50 and page.locator(RESULT).count() == 50
    page.click("#search-more")
    page.wait_for_function(f"document.querySelectorAll('{RESULT}').length === {total}")
    assert page.locator("#search-more").is_hidden()


@pytest.mark.parametrize("text", ["title:", "+", "foo:bar", "~"])
def test_malformed_query_shows_a_message_and_no_error(
    page: Any, sample_site: Path, text: str
) -> None:
    page.goto(search_url(sample_site))
    page.fill("#search-page-q", text)
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
    status(page)
    filtered = page.locator(RESULT)
    assert 0 < filtered.count() < everything
    for i in range(filtered.count()):
        assert "Decoupling" in filtered.nth(i).locator(".badges").inner_text()
    page.reload()
    status(page)
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


def test_slash_focuses_and_enter_in_the_header_box_opens_search(
    page: Any, sample_site: Path
) -> None:
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


def test_header_box_shows_live_results_on_every_page(page: Any, sample_site: Path) -> None:
    page.goto((sample_site / "papers").as_uri() + "/" + next_paper(sample_site))
    assert page.locator("script[src$='search.js']").count() == 0  # loaded only when used
    page.fill("#site-search", "quantization")
    dropdown = page.locator("#site-search-results")
    dropdown.locator("li a").first.wait_for()
    links = dropdown.locator("li a")
    assert links.count() == 9  # eight papers, then "All 40 results"
    assert links.last.inner_text().startswith("All 40 results")
    assert links.last.get_attribute("href") == "../search.html?q=quantization"
    assert dropdown.locator("mark").first.inner_text().lower().startswith("quantiz")
    href = links.first.get_attribute("href")
    assert re.fullmatch(r"\.\./papers/[0-9a-f]{12}\.html", href), href
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('href')") == href
    page.keyboard.press("Enter")
    # The page is a paper page already: wait for the chosen one (closing the context while
    # the browser is still navigating can hang Chromium).
    page.wait_for_url("**/" + href.removeprefix("../"))
    assert page.errors == []


def next_paper(site: Path) -> str:
    return sorted(p.name for p in (site / "papers").glob("*.html"))[0]


def test_every_word_ranks_first_then_any_word(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site))
    found = query(page, "vector quantization")
    assert found == query(page, "Vector  Quantization")  # case and spacing do not matter
    texts = [" ".join([r["title"], r["abstract"], *r["themes"]]).lower() for r in found]
    both = ["vector" in text and "quantiz" in text for text in texts]
    assert True in both and False in both
    assert both == sorted(both, reverse=True), both  # every AND result before every OR result
    groups = [r["group"] for r in found]
    assert groups == sorted(groups, key=["phrase", "all", "some"].index)
    exact = page.evaluate("digestSearch.lunr('vector quantization').then(r => r.length)")
    assert len(found) == exact  # the same papers as lunr's OR query, ranked differently
    assert set(found[0]) >= {"ref", "title", "url", "score"}


def test_a_phrase_in_the_title_ranks_highest(page: Any, project: Path) -> None:
    site = site_with(
        project,
        [
            ("Codebooks for Quantization of Vector Fields", "We study fields. " * 3),
            ("Vector Quantization Made Simple", "A simple method for discrete codes."),
            (
                "Learning Discrete Codes",
                "Vector quantization, vector quantization and more vector quantization.",
            ),
            ("Quantization for Phones", "Low-bit weights for phones."),
        ],
    )
    page.goto(search_url(site))
    found = [r["title"] for r in query(page, "vector quantization")]
    assert found[0] == "Vector Quantization Made Simple"
    assert found[-1] == "Quantization for Phones"  # only one of the words
    lunr_first = page.evaluate("digestSearch.lunr('vector quantization', {details: 1})")
    assert lunr_first[0]["title"] != found[0]  # lunr alone ranks the phrase elsewhere


def test_snippets_show_the_words_around_the_match(page: Any, project: Path) -> None:
    filler = "We describe the setting and the data at length. " * 12
    site = site_with(
        project,
        [
            ("A Long Paper", f"{filler}Then we apply a zeppelin tokenizer to inputs. {filler}"),
            ("A Short Paper", "Nothing to see here about tokens."),
        ],
    )
    page.goto(search_url(site, "zeppelin"))
    assert matched(status(page)) == 1
    snippet = page.locator(f"{RESULT} .snippet").inner_text()
    assert snippet.startswith("\u2026") and snippet.endswith("\u2026")
    assert "apply a zeppelin tokenizer" in snippet and len(snippet) < 260
    assert page.locator(f"{RESULT} .snippet mark").all_inner_texts() == ["zeppelin"]


def test_hostile_titles_stay_text(page: Any, project: Path) -> None:
    hostile = "<img src=x onerror=window.pwned=1> Hostile Quokka Paper"
    sneaky = '"><script>window.pwned=2</script> Second Quokka Study'
    site = site_with(
        project,
        [
            (hostile, "We study quokkas under adversarial markup in titles."),
            (sneaky, "Another abstract about quokkas, to check escaping in results."),
        ],
    )
    page.goto(search_url(site, "quokka"))
    assert matched(status(page)) == 2
    assert sorted(titles(page)) == sorted([sneaky, hostile])
    assert page.locator("#search-results img, #search-results script").count() == 0
    page.goto((site / "index.html").as_uri())
    page.fill("#site-search", "quokka")
    page.locator("#site-search-results li a").first.wait_for()
    assert page.locator("#site-search-results img, #site-search-results script").count() == 0
    assert hostile in page.inner_text("#site-search-results")
    assert page.evaluate("window.pwned") is None
    assert page.errors == []


def test_rounds_every_entry_as_python_does(page: Any, sample_site: Path) -> None:
    values = [0.0625, 0.1875, 2.0625, 1.0005, 2.675, 0.0005, 123.4565, 7.0, 0.3125, 9.9995]
    page.goto(search_url(sample_site))
    page.wait_for_function("() => window.digestSearch && typeof digestSearch.round3 === 'function'")
    got = page.evaluate("vs => vs.map(v => digestSearch.round3(v))", values)
    assert got == [round(v, 3) for v in values]


@pytest.fixture
def sub_path_server(sample_site: Path, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve the sample site at http://127.0.0.1:PORT/sub/path/; also return the log of paths."""
    shutil.copytree(sample_site, tmp_path / "sub" / "path")
    (tmp_path / "favicon.ico").write_bytes(b"")  # Chromium asks the server root for one
    requested: list[str] = []
    handler = functools.partial(_LoggingHandler, requested, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sub/path/", requested
    server.shutdown()
    server.server_close()


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, requested: list[str], *args: Any, **kwargs: Any):
        self.requested = requested
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        self.requested.append(self.path)


def test_works_under_a_sub_path(page: Any, sub_path_server: tuple[str, list[str]]) -> None:
    url, _ = sub_path_server
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{url}search.html?q=quantization")
    assert matched(status(page)) == 40
    link = page.locator(f"{RESULT} a.result-link").first
    link.click()
    page.wait_for_url(re.compile(r"/sub/path/papers/[0-9a-f]{12}\.html$"))
    assert page.locator("h1").inner_text()
    assert failed == [] and page.errors == []


def test_a_query_loads_only_the_pieces_its_terms_are_in(
    page: Any, sub_path_server: tuple[str, list[str]], sample_site: Path
) -> None:
    url, requested = sub_path_server
    page.goto(f"{url}search.html?q=title:nerv")
    status(page)
    pieces = [p.split("/search/", 1)[1] for p in requested if "/assets/search/" in p]
    kinds = sorted({p.split("/")[0] for p in pieces if "/" in p})
    assert kinds == ["c", "d", "g", "p", "t"]
    assert sum(p.startswith("c/") for p in pieces) == 1  # one chunk holds "nerv"
    files = details_files(sample_site)
    wanted = {f"{files[paper][0]}.js" for paper in shown_papers(page)}
    assert 0 < len(wanted) <= page.locator(RESULT).count()  # results may share a file
    assert sorted(p.split("?")[0] for p in pieces if p.startswith("d/")) == sorted(wanted)
    requested.clear()
    page.evaluate("digestSearch.lunr('nerf~1')")  # fuzzy: reads the vocabularies
    assert any("/search/v/" in p for p in requested)


def details_files(site: Path) -> dict[str, tuple[str, list[Any]]]:
    """Return each paper's details file (its name) and its record there, read from the site."""
    found = {}
    for path in (site / "assets" / "search" / "d").glob("*.js"):
        text = path.read_text(encoding="ascii")
        name, rest = text[text.index("(") + 1 : -3].split(",", 1)
        for record in json.loads(rest):
            found[record[0]] = (json.loads(name), record)
    return found


def shown_papers(page: Any) -> list[str]:
    """Return the papers of the results on the page, in order, by the ids their links name."""
    links = page.locator(f"{RESULT} a.result-link").evaluate_all("a => a.map(x => x.href)")
    return [re.search(r"papers/(\w+)\.html$", link)[1] for link in links]  # type: ignore[index]


def test_results_show_their_own_papers(page: Any, sample_site: Path) -> None:
    """Papers of a day share details files: each result shows its own title and abstract."""
    files = details_files(sample_site)
    assert len({name for name, _ in files.values()}) < len(files) / 5
    page.goto(search_url(sample_site, "quant*"))
    assert matched(status(page)) > 50
    papers = shown_papers(page)
    assert len(papers) == 50 and len({files[p][0] for p in papers}) < 50
    shown = page.locator(RESULT)
    for i, paper in enumerate(papers):
        _, (_, title, abstract, _, _) = files[paper]
        assert shown.nth(i).locator(".paper-title").inner_text() == title
        snippet = shown.nth(i).locator(".snippet").inner_text().strip("\u2026")
        assert snippet and snippet in " ".join(abstract.split())
    assert page.errors == []


def test_lunr_results_are_complete_and_ranked(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site))
    found = page.evaluate("digestSearch.lunr('quantization')")
    assert len(found) == 40
    assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
    first = found[0]
    assert re.fullmatch(r"papers/[0-9a-f]{12}\.html", first["url"])
    assert first["ref"] in first["url"] and "quantiz" in first["title"].lower()
    some = page.evaluate("digestSearch.lunr('quantization', {details: 2})")
    assert [r["ref"] for r in some[:2]] == [r["ref"] for r in found[:2]]
    assert "ref" not in some[2] and len(some) == 40
    json.dumps(found)  # plain data


@pytest.mark.parametrize("width", [390, 1280])
def test_results_arriving_do_not_move_the_page(page: Any, sample_site: Path, width: int) -> None:
    """Layout shift as Lighthouse counts it (CLS): the filters, status and list keep their place."""
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(search_url(sample_site, "quantization"))
    assert matched(status(page)) == 40
    page.wait_for_function(DONE)
    shift = page.evaluate(
        """() => new Promise(resolve => {
             let sum = 0;  // no shift at all: the observer is never called
             new PerformanceObserver(list => list.getEntries().forEach(e => {
               if (!e.hadRecentInput) { sum += e.value; }
             })).observe({type: 'layout-shift', buffered: true});
             setTimeout(() => resolve(sum), 300);
           })"""
    )
    assert shift < 0.02, shift
    assert page.locator("#search-filters").is_visible()


def test_words_that_are_object_names_search_like_any_other(page: Any, project: Path) -> None:
    """Maps keyed by words had prototypes: "constructor" crashed, "__proto__" broke others."""
    site = site_with(
        project,
        [
            ("A Constructor for Graphs", "We build a constructor and call toString on nodes."),
            ("The __proto__ Pollution Study", "Objects, prototypes and their length."),
            ("Plain Quantization", "Weights in four bits."),
        ],
    )
    page.goto(search_url(site))
    for word, expected in [
        ("constructor", ["A Constructor for Graphs"]),
        ("tostring", ["A Constructor for Graphs"]),
        ("__proto__", ["The __proto__ Pollution Study"]),
        ("hasOwnProperty", []),
        ("valueOf", []),
        ("length", ["The __proto__ Pollution Study"]),
    ]:
        assert [r["title"] for r in query(page, word)] == expected, word
    assert len(query(page, "*")) == 3
    page.goto(search_url(site, "constructor"))
    assert matched(status(page)) == 1
    assert page.errors == []


def test_punctuation_around_a_plain_word_is_ignored(page: Any, sample_site: Path) -> None:
    page.goto(search_url(sample_site))
    plain = query(page, "quantization")
    assert len(plain) == 40
    for text in ["quantization,", "(quantization)", '"quantization"']:
        assert query(page, text) == plain, text
    assert page.evaluate("digestSearch.lunr('quantization,').then(r => r.length)") == 0  # exact


def test_a_piece_that_failed_to_load_is_tried_again(page: Any, project: Path) -> None:
    site = site_with(project, [("Zeppelin Tokenizers", "A tokenizer for zeppelin logs.")])
    pieces = sorted((site / "assets" / "search" / "t").glob("*.js"))
    hidden = [p.rename(p.with_suffix(".gone")) for p in pieces]
    page.goto(search_url(site))
    failed = page.evaluate("digestSearch.query('zeppelin').then(() => 'ok', e => String(e))")
    assert "could not be loaded" in failed
    for path in hidden:
        path.rename(path.with_suffix(".js"))
    assert [r["title"] for r in query(page, "zeppelin")] == ["Zeppelin Tokenizers"]


def test_a_missing_manifest_ends_with_a_message(page: Any, project: Path) -> None:
    site = site_with(project, [("Zeppelin Tokenizers", "A tokenizer for zeppelin logs.")])
    (site / "assets" / "search" / "manifest.js").unlink()
    page.goto(search_url(site, "zeppelin"))
    page.wait_for_function(
        "document.getElementById('search-status').textContent.includes('could not be loaded')"
    )
    assert not page.locator("#search-filters").is_visible()
    page.goto((site / "index.html").as_uri())
    page.fill("#site-search", "zeppelin")
    page.wait_for_timeout(300)  # no hang, no uncaught error: the box simply shows nothing
    assert all("ERR_FILE_NOT_FOUND" in e for e in page.errors)  # the missing file, no exception


def test_a_lone_wildcard_asks_for_a_word_instead_of_loading_everything(
    page: Any, sub_path_server: tuple[str, list[str]]
) -> None:
    url, requested = sub_path_server
    page.goto(f"{url}search.html?q=*")
    assert "add a letter" in status(page)
    assert page.locator(RESULT).count() == 0
    assert not any("/search/c/" in p or "/search/t/" in p for p in requested)
    every = page.evaluate("digestSearch.lunr('*').then(r => r.length)")
    assert every > 400 and page.evaluate("digestSearch.query('*').then(r => r.length)") == every


def test_what_is_typed_before_the_index_arrives_is_searched(
    page: Any, sub_path_server: tuple[str, list[str]]
) -> None:
    """readUrl() used to replace it with the address's (empty) query."""
    url, _ = sub_path_server
    held: list[Any] = []
    page.route("**/search/manifest.js", lambda route: held.append(route))
    page.goto(f"{url}search.html", wait_until="commit")  # deferred scripts wait for the manifest
    page.wait_for_selector("#search-page-q")
    page.fill("#search-page-q", "title:nerv")
    while not held:  # the held request reaches its handler while Playwright waits
        page.wait_for_timeout(50)
    held[0].continue_()
    assert matched(status(page)) > 0
    assert page.input_value("#search-page-q") == "title:nerv"
    assert "q=title%3Anerv" in page.url
