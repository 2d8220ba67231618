"""Planning by difference gives every page the key the full plan gives it, after any edit.

A rebuild reuses the last build's key of each page whose inputs did not move
(:mod:`digest.site.replan`). If it reused one whose inputs did move, the page would be kept
stale; these tests plan each edit both ways and compare every page's key. The build itself
checks the same in every rebuild of the test suite (``DIGEST_CHECK_PLAN``, set in conftest),
and the last test here shows a rebuild takes the plan by difference at all.
"""

from __future__ import annotations

import datetime as dt
import marshal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from digest import urls
from digest.config import DEFAULT_TEMPLATES, Config
from digest.model import OTHER, Day, Meta, Section
from digest.pages.library import Library
from digest.site.keys import Keys, render_salt
from digest.site.plan import plan
from digest.site.render import Renderer
from digest.site.replan import PlanMemo, Reuse, memo_path
from digest.site.views import Views
from tests.conftest import CliResult
from tests.test_keys import EDITS, days, library, paper

Q = ("quantization",)


def planned(lib: Library, reuse: Reuse | None = None) -> tuple[dict[str, str | None], Keys]:
    config = Config(page_size=1)  # one paper an archive page: every page's place is tested
    views = Views(lib, config)
    renderer = Renderer([DEFAULT_TEMPLATES], views.site())
    keys = Keys(lib, render_salt([DEFAULT_TEMPLATES], config, lib.themes, renderer.site))
    return {s.path: s.key for s in plan(views, keys, reuse)}, keys


def memo_of(lib: Library, keys: Keys) -> PlanMemo:
    views = Views(lib, Config(page_size=1))
    return PlanMemo.of(lib, keys.salt, "state", views.related, [*views.slugs, OTHER])


def by_difference(before: Library, after: Library) -> tuple[dict[str, str | None], Reuse | None]:
    """Plan ``after`` by difference from a build of ``before``, every page of which is still
    on disk; as the build does, plan it all if the salt moved."""
    old_plan, old = planned(before)
    old_keys = {path: key for path, key in old_plan.items() if key}
    salt = planned(after)[1].salt
    memo = memo_of(before, old)
    reuse = Reuse.since(memo, salt, "state", after, old_keys, old.page_tokens(), set(old_keys))
    specs, _ = planned(after, reuse)
    return specs | {path: old_keys[path] for path in (reuse.kept if reuse else ())}, reuse


def quartet(count: int = 4) -> dict[dt.date, Day]:
    """Quantization papers on days of their own: four are each other's related papers."""
    found = {}
    for n in range(count):
        date = dt.date(2024, 5, 1 + n)
        found[date] = Day(
            date, f"Day {n}", (Section("quantization", "Q", (paper(f"{n}" * 12, Q),)),)
        )
    return found


def seen_twice(count: int = 6) -> dict[dt.date, Day]:
    """``quartet(count)``, with the first day's paper also on the last day."""
    pages = quartet(count)
    last = max(pages)
    first_paper = pages[min(pages)].sections[0].papers[0]
    day = pages[last]
    section = replace(day.sections[0], papers=(*day.sections[0].papers, first_paper))
    return {**pages, last: replace(day, sections=(section,))}


def retitled_on_last_day(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    last = max(pages)
    day = pages[last]
    papers = list(day.sections[0].papers)
    papers[-1] = replace(papers[-1], title="A new title")
    return {**pages, last: replace(day, sections=(replace(day.sections[0], papers=tuple(papers)),))}


def authored(pages: dict[dt.date, Day], date: dt.date, name: str) -> dict[dt.date, Day]:
    day = pages[date]
    section = day.sections[0]
    first = replace(section.papers[0], meta=Meta(authors=(name,)))
    return {
        **pages,
        date: replace(day, sections=(replace(section, papers=(first, *section.papers[1:])),)),
    }


def shared_author_day(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    """A new day whose paper shares an author with an old one (not a neighbour in time)."""
    date = dt.date(2024, 6, 1)
    new = Day(date, "Later", (Section("other", "Other", (paper("9" * 12),)),))
    return authored({**pages, date: new}, date, "Ada Lovelace")


SCENARIOS = {
    **{name: (days(), edit(days())) for name, edit in EDITS.items()},
    "a middle day deleted (its neighbours lose a related paper)": (
        quartet(),
        {d: day for d, day in quartet().items() if d != dt.date(2024, 5, 2)},
    ),
    "the first day deleted, of four": (
        quartet(),
        {d: day for d, day in quartet().items() if d != dt.date(2024, 5, 1)},
    ),
    "a new day sharing an author with the first": (
        authored(quartet(), dt.date(2024, 5, 1), "Ada Lovelace"),
        shared_author_day(authored(quartet(), dt.date(2024, 5, 1), "Ada Lovelace")),
    ),
    "a paper seen twice, far apart, retitled on its later day": (
        seen_twice(),
        retitled_on_last_day(seen_twice()),
    ),
    "a paper seen twice, far apart, taken off its later day": (seen_twice(), quartet(6)),
    "nothing changed": (quartet(), quartet()),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_plan_by_difference_gives_the_full_plans_keys(name: str) -> None:
    before, after = SCENARIOS[name]
    full, _ = planned(library(after))
    found, _ = by_difference(library(before), library(after))
    assert found == full


def test_an_unchanged_library_plans_only_pages_without_keys() -> None:
    lib = library(quartet())
    found, reuse = by_difference(lib, library(quartet()))
    assert reuse is not None
    keyed = {path for path, key in planned(lib)[0].items() if key}
    assert set(reuse.kept) == keyed and keyed


def test_a_new_day_keeps_the_old_papers_pages() -> None:
    """A new day keeps the pages of papers it is not related to, unplanned."""
    date = dt.date(2024, 7, 1)
    new = Day(date, "Later", (Section("quantization", "Q", (paper("a" * 12, Q),)),))
    _, reuse = by_difference(library(quartet(8)), library({**quartet(8), date: new}))
    assert reuse is not None
    kept = set(reuse.kept)
    assert {urls.paper_path(f"{n}" * 12) for n in range(3)} <= kept  # related: 0-5, the oldest
    assert urls.paper_path("7" * 12) not in kept  # the new paper is among its related ones
    assert urls.day_path(dt.date(2024, 5, 1)) in kept
    assert urls.day_path(dt.date(2024, 5, 8)) not in kept  # its neighbour is new
    assert urls.theme_path("quantization", 1) in kept


def test_a_rebuild_plans_by_difference(
    tiny: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second build of a project finds the first's memo and keeps pages through it."""
    kept: list[str] = []
    real = Reuse.keep

    def keep(self: Reuse, path: str) -> bool:
        if real(self, path):
            kept.append(path)
            return True
        return False

    monkeypatch.setattr(Reuse, "keep", keep)
    assert cli("build", cwd=tiny).code == 0
    assert memo_path(tiny / ".digest-cache", tiny / "site").is_file()
    assert not kept
    page = sorted((tiny / "content" / "digests").glob("*.md"))[-1]
    page.write_text(page.read_text().replace("\n### ", "\n### Retitled: ", 1))
    assert cli("build", cwd=tiny).code == 0
    assert kept and all(path.startswith(("days/", "themes/", "papers/")) for path in kept)


def test_a_damaged_memo_is_not_read(tiny: Path, cli: Callable[..., CliResult]) -> None:
    """A memo cut short, of another shape or not one at all: the build plans every page."""
    assert cli("build", cwd=tiny).code == 0
    path = memo_path(tiny / ".digest-cache", tiny / "site")
    whole = path.read_bytes()
    memo = PlanMemo.load(path)
    assert memo is not None
    lopsided = marshal.dumps((1, memo.salt, memo.state, memo.dates, memo.records[1:], (), {}, {}))
    page = sorted((tiny / "content" / "digests").glob("*.md"))[-1]
    for number, damaged in enumerate([whole[: len(whole) // 2], b"not a memo", lopsided]):
        path.write_bytes(damaged)
        assert PlanMemo.load(path) is None
        page.write_text(page.read_text().replace("\n### ", f"\n### Edit {number}: ", 1))
        assert cli("build", cwd=tiny).code == 0
        assert PlanMemo.load(path) is not None  # the build left a new one


def test_a_memo_that_cannot_be_written_is_warned_of(
    tiny: Path, cli: Callable[..., CliResult]
) -> None:
    """The memo is a speed-up: a cache folder it cannot be written to does not fail a build."""
    path = memo_path(tiny / ".digest-cache", tiny / "site")
    path.parent.parent.mkdir(parents=True)
    path.parent.write_text("a file where the memos' folder would be")
    result = cli("build", cwd=tiny)
    assert result.code == 0
    assert "could not write the cache" in result.err
    assert (tiny / "site" / "index.html").is_file()
