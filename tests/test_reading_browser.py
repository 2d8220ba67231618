"""Reading a day in real headless Chromium: compact cards, folding, keys, seen/new, stars, export.

The sample site (a 250-paper day of text dumps) and the rich project (authors, upvotes, arXiv
ids) are built once each; every page is opened from ``file://``, as a reader who opens
``site/index.html`` would. Seen/new marks are checked across two visits of one persistent
browser profile, the second one two hours after the first (Playwright's clock).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DATA

pytestmark = pytest.mark.browser
BIG_DAY = "days/2024-10-21.html"
WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def rich_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the rich test project (authors, upvotes, arXiv ids) once; return its site."""
    from digest.build.run import build
    from digest.project import Project

    root = tmp_path_factory.mktemp("rich") / "rich"
    shutil.copytree(DATA / "rich", root)
    build(Project.find(root))
    return root / "site"


class Problems:
    """Console errors and warnings, page errors and failed requests of one page."""

    def __init__(self, page: Any):
        self.seen: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.seen.append(str(e)))
        page.on("requestfailed", lambda r: self.seen.append(f"failed: {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.seen.append(message.text)


def open_page(context: Any, site: Path, path: str) -> tuple[Any, Problems]:
    page = context.new_page()
    problems = Problems(page)
    page.goto((site / path).as_uri())
    return page, problems


def current(page: Any) -> str:
    """The id of the card holding the keyboard focus."""
    return str(page.evaluate("document.activeElement.closest('article').id"))


def fits(page: Any, width: int) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= width)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own localStorage) at desktop width."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript_cards_fold_and_open(
    browser: Any, sample_site: Path, width: int
) -> None:
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": 800})
    page, problems = open_page(ctx, sample_site, BIG_DAY)
    if width == 390:  # a phone: one screen was one abstract; now a day is ~25 screens
        assert page.evaluate("document.documentElement.scrollHeight") < 30_000
    first = page.locator("article.card").first
    assert first.locator(".lead-line").is_visible()
    abstract = first.locator(".abstract")
    assert not abstract.is_visible()
    first.locator(".more > summary").click()
    assert abstract.is_visible()
    other = page.locator("details.group").last
    assert other.locator("summary h2").inner_text().startswith("Other")
    assert not other.locator("article.card").first.is_visible()  # a large day's Other starts folded
    other.locator("> summary").click()
    assert other.locator("article.card").first.is_visible()
    assert not page.locator(".toolbar").first.is_visible()  # tools that need scripts stay away
    assert fits(page, width) and problems.seen == []
    ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_with_javascript_pages_load_cleanly_and_fit(
    browser: Any, sample_site: Path, rich_site: Path, width: int, scheme: str
) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    pages = [
        (sample_site, BIG_DAY),
        (sample_site, "index.html"),
        (rich_site, "starred.html"),
        (rich_site, "days/2024-01-17.html"),
        (rich_site, "papers/2401.09001.html"),
    ]
    for site, path in pages:
        page, problems = open_page(ctx, site, path)
        assert problems.seen == [], path
        assert fits(page, width), path
        page.close()
    ctx.close()


def test_cards_expand_and_keys_move_open_and_search(context: Any, sample_site: Path) -> None:
    page, problems = open_page(context, sample_site, BIG_DAY)
    cards = page.locator("article.card")
    page.keyboard.press("j")
    assert current(page) == cards.nth(0).get_attribute("id")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    second = cards.nth(1)
    assert current(page) == second.get_attribute("id")
    page.keyboard.press("o")
    assert second.locator(".abstract").is_visible()
    page.keyboard.press("o")
    assert not second.locator(".abstract").is_visible()
    page.locator('[data-tool="expand"]').click()
    assert cards.nth(5).locator(".abstract").is_visible()
    page.locator('[data-tool="expand"]').click()
    assert not cards.nth(5).locator(".abstract").is_visible()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    assert problems.seen == []


def test_a_link_into_a_folded_section_opens_it(context: Any, sample_site: Path) -> None:
    page, _ = open_page(context, sample_site, BIG_DAY)
    last = page.locator("details.group").last.locator("article.card").last
    target = last.get_attribute("id")
    page.goto((sample_site / BIG_DAY).as_uri() + "#" + str(target))
    assert last.is_visible()


def test_seen_and_new_marks_across_two_visits(
    browser: Any, sample_site: Path, tmp_path: Path
) -> None:
    """Cards on screen in a first visit are seen in the next one; the rest are new."""
    profile = tmp_path / "profile"
    options = {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS, "headless": True,
               "viewport": {"width": 1280, "height": 900}}  # fmt: skip
    first = browser.browser_type.launch_persistent_context(str(profile), **options)
    page, problems = open_page(first, sample_site, BIG_DAY)
    assert page.locator(".card.is-seen, .card.is-new").count() == 0  # nothing to compare yet
    assert page.locator('[data-tool="new"]').is_disabled()
    page.wait_for_function(
        "Object.keys(JSON.parse(localStorage.getItem('digest:seen') || '{}')).length > 0"
    )
    seen_first = set(page.evaluate("Object.keys(JSON.parse(localStorage['digest:seen']))"))
    assert 1 <= len(seen_first) < 20  # the cards on the first screen, not the whole day
    assert problems.seen == []
    first.close()

    second = browser.browser_type.launch_persistent_context(str(profile), **options)
    second.clock.install(time=dt.datetime.now() + dt.timedelta(hours=2))
    page, problems = open_page(second, sample_site, BIG_DAY)
    marked_seen = set(page.eval_on_selector_all(".card.is-seen", "cs => cs.map(c => c.dataset.id)"))
    assert marked_seen == seen_first
    new = page.locator(".card.is-new")
    visible = page.locator("details.group[open] article.card").count()
    assert new.count() == page.locator("article.card").count() - len(seen_first)
    button = page.locator('[data-tool="new"]')
    assert button.is_enabled()
    assert button.locator(".tool-count").inner_text() == str(new.count())
    button.click()  # one click: only what is new since the last visit
    assert page.locator(".card.is-seen").first.is_hidden()
    shown = page.locator("details.group[open] article.card:visible").count()
    assert shown == visible - len(seen_first)
    assert problems.seen == []
    second.close()


def test_star_then_export_bibtex_and_json(context: Any, rich_site: Path, tmp_path: Path) -> None:
    import bibtexparser

    page, problems = open_page(context, rich_site, "days/2024-01-17.html")
    stars = page.locator("article.card .star")
    assert stars.first.get_attribute("aria-pressed") == "false"
    stars.first.click()
    assert stars.first.get_attribute("aria-pressed") == "true"
    page.keyboard.press("j")  # from the card whose star has the focus, to the next one
    page.keyboard.press("s")  # which the key stars
    assert page.locator('[data-count="starred"]').first.inner_text() == "2"
    paper, _ = open_page(context, rich_site, "papers/b8816328e490.html")  # known by title only
    paper.locator(".paper-page .star").click()

    starred, starred_problems = open_page(context, rich_site, "starred.html")
    assert starred.locator("#starred-list li").count() == 3
    with starred.expect_download() as got:
        starred.locator('[data-export="bibtex"]').click()
    bib = Path(got.value.path()).read_text(encoding="utf-8")
    entries = {e["ID"]: e for e in bibtexparser.loads(bib).entries}
    assert len(entries) == 3
    sparse = entries["arxiv-2401.09002"]
    assert sparse["title"] == "{SparseCode: 2-Bit Vision Transformers with Sparse Codebooks}"
    assert sparse["author"].split(" and ") == [
        'Eve "<script>alert(1)</script>" Smith',
        "Ana María Núñez",
        "{Li, Wei}",
    ]
    assert sparse["eprint"] == "2401.09002" and sparse["url"] == "https://arxiv.org/abs/2401.09002"
    assert sparse["year"] == "2024"
    by_title = next(e for k, e in entries.items() if k.startswith("digest-"))
    assert by_title["url"].startswith("file://") and by_title["url"].endswith("b8816328e490.html")
    with starred.expect_download() as got:
        starred.locator('[data-export="json"]').click()
    papers = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert {p["arxiv_id"] for p in papers} == {"2401.09002", "2401.09003", None}
    assert all(set(p) == {"id", "arxiv_id", "title", "authors", "url", "date"} for p in papers)
    starred.locator("#starred-list li button").first.click()  # unstar
    assert starred.locator("#starred-list li").count() == 2
    assert problems.seen == [] and starred_problems.seen == []


VOTED_DAY = """---
date: 2024-05-01
title: Papers of 1 May 2024
---

# Papers of 1 May 2024

## Other {#other}

### A Paper Listed First {#p-aaaaaaaaaaaa}

- upvotes: 3

First.

### A Paper Nobody Voted For {#p-bbbbbbbbbbbb}

Second.

### A Paper Listed Third {#p-cccccccccccc}

- upvotes: 10

Third.
"""


def voted_day(context: Any, project: Path) -> tuple[Any, Problems]:
    """Build a project of one day (VOTED_DAY) and open that day's page."""
    from digest.build.run import build
    from digest.project import Project

    (project / "content" / "digests").mkdir()
    (project / "content" / "digests" / "2024-05-01.md").write_text(VOTED_DAY, encoding="utf-8")
    build(Project.find(project))
    return open_page(context, project / "site", "days/2024-05-01.html")


def test_order_by_upvotes_or_as_listed(context: Any, project: Path) -> None:
    page, problems = voted_day(context, project)
    order = "els => els.map(e => e.id.slice(2, 3))"
    assert page.eval_on_selector_all("article.card", order) == ["c", "a", "b"]  # most upvoted
    page.locator('[data-tool="sort"]').select_option("source")
    assert page.eval_on_selector_all("article.card", order) == ["a", "b", "c"]  # as listed
    page.locator('[data-tool="sort"]').select_option("upvotes")
    assert page.eval_on_selector_all("article.card", order) == ["c", "a", "b"]
    assert problems.seen == []


LAYOUT_SHIFT = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) { if (!entry.hadRecentInput) total += entry.value; }
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => done(total), 500);
})"""


@pytest.mark.parametrize("width", WIDTHS)
def test_marks_stars_and_tools_move_nothing(browser: Any, sample_site: Path, width: int) -> None:
    """Reading state drawn on a page that is already painted shifts no layout."""
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    first_card = "d3d8264bf75f"
    state = {
        "digest:visit": {"n": 1, "last": 0},  # an earlier visit, long ago
        "digest:seen": {first_card: 1},
        "digest:stars": {first_card: {"id": first_card, "title": "T", "authors": [],
                                       "path": "", "date": "", "arxiv": ""}},
    }  # fmt: skip
    ctx.add_init_script(
        "".join(f"localStorage[{k!r}] = {json.dumps(json.dumps(v))};" for k, v in state.items())
    )
    page, problems = open_page(ctx, sample_site, BIG_DAY)
    assert page.locator(f"#p-{first_card}.is-seen").count() == 1
    assert page.locator(".card.is-new").count() == 249
    assert page.locator(f"#p-{first_card} .star").get_attribute("aria-pressed") == "true"
    assert page.evaluate(LAYOUT_SHIFT) == 0
    assert problems.seen == []
    ctx.close()


def test_stored_stars_are_only_text(browser: Any, rich_site: Path) -> None:
    """What storage holds may come from elsewhere: shown as text, linked only to the site."""
    ctx = browser.new_context()
    hostile = {"x": {"title": "<img src=x onerror=alert(1)>", "path": "javascript:alert(1)",
                     "authors": "not a list", "arxiv": 7}, "y": "not a paper"}  # fmt: skip
    ctx.add_init_script(f"localStorage['digest:stars'] = {json.dumps(json.dumps(hostile))};")
    page, problems = open_page(ctx, rich_site, "starred.html")
    items = page.locator("#starred-list li")
    assert items.count() == 2
    assert page.locator("#starred-list img").count() == 0
    assert "<img src=x onerror=alert(1)>" in items.first.inner_text() + items.last.inner_text()
    hrefs = page.eval_on_selector_all("#starred-list a", "links => links.map(a => a.href)")
    assert hrefs == [(rich_site.as_uri() + "/")] * 2
    assert problems.seen == []
    ctx.close()


def test_bad_stored_data_leaves_the_starred_page_working(browser: Any, rich_site: Path) -> None:
    ctx = browser.new_context()
    ctx.add_init_script(
        "localStorage['digest:stars'] = JSON.stringify({x: {title: 'T', path: 'http://['}});"
        "localStorage['digest:seen'] = '[]';"
    )
    page, problems = open_page(ctx, rich_site, "starred.html")
    assert page.locator("#starred-list li").count() == 1
    assert page.eval_on_selector("#starred-list a", "a => a.href") == rich_site.as_uri() + "/"
    assert page.locator('[data-export="bibtex"]').is_enabled()
    assert problems.seen == []
    ctx.close()


def test_a_paper_listed_twice_has_one_star(context: Any, project: Path) -> None:
    """The home page lists a paper under each of its themes: both stars say the same."""
    from digest.build.run import build
    from digest.project import Project

    (project / "content" / "raw" / "2024-04-24-x.txt").write_text(
        "Apr 24, 2024\n\nQuantized Neural Fields\n\n"
        "We propose post-training quantization of implicit neural representations, "
        "quantizing the weights of a neural field (INR) to 4-bit with a learned codebook.\n\n",
        encoding="utf-8",
    )
    build(Project.find(project))
    page, problems = open_page(context, project / "site", "index.html")
    stars = page.locator("article.card .star")
    assert stars.count() == 2, "the test needs a paper in two themes"
    stars.first.click()
    assert [s.get_attribute("aria-pressed") for s in stars.all()] == ["true", "true"]
    stars.last.click()
    assert [s.get_attribute("aria-pressed") for s in stars.all()] == ["false", "false"]
    assert page.evaluate("localStorage['digest:stars']") == "{}"
    assert "Quantized Neural Fields" in (stars.first.get_attribute("aria-label") or "")
    assert problems.seen == []


def test_bibtex_keeps_every_field_whatever_the_title(
    context: Any, project: Path, tmp_path: Path
) -> None:
    import bibtexparser

    from digest.build.run import build
    from digest.project import Project

    title = "Unbalanced } Brace and {Open 100% & $x_1$ Costs"
    (project / "content" / "raw" / "2024-04-24-x.txt").write_text(
        f"Apr 24, 2024\n\n{title}\n\nAn abstract about costs.\n\n", encoding="utf-8"
    )
    build(Project.find(project))
    page, problems = open_page(context, project / "site", "days/2024-04-24.html")
    page.locator("article.card .star").first.click()
    starred, _ = open_page(context, project / "site", "starred.html")
    with starred.expect_download() as got:
        starred.locator('[data-export="bibtex"]').click()
    (entry,) = bibtexparser.loads(Path(got.value.path()).read_text(encoding="utf-8")).entries
    assert {"title", "year", "url"} <= set(entry), entry
    assert "textbraceright" in entry["title"] and "textbraceleft" in entry["title"]
    assert problems.seen == []


def test_the_order_chosen_comes_back_with_the_page(context: Any, project: Path) -> None:
    """Back or reload restores the select: the cards follow it (and j/k work after it)."""
    page, problems = voted_day(context, project)
    order = "els => els.map(e => e.id.slice(2, 3))"
    page.locator('[data-tool="sort"]').select_option("source")
    assert page.evaluate("document.activeElement.tagName") != "SELECT"
    page.keyboard.press("j")
    assert current(page) == "p-aaaaaaaaaaaa"
    page.reload()  # cards as built (most upvoted); then the browser restores the select
    assert page.eval_on_selector_all("article.card", order) == ["c", "a", "b"]
    page.evaluate("document.querySelector('[data-tool=sort]').value = 'source'")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    assert page.eval_on_selector_all("article.card", order) == ["a", "b", "c"]
    assert problems.seen == []


def test_s_stars_the_paper_on_its_own_page(context: Any, rich_site: Path) -> None:
    page, problems = open_page(context, rich_site, "papers/b8816328e490.html")
    page.keyboard.press("s")
    assert page.locator(".paper-page .star").get_attribute("aria-pressed") == "true"
    assert problems.seen == []
