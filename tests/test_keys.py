"""Incremental keys cover what pages show: edit a library one thing at a time, render both.

For every kind of edit, every page that exists before and after keeps its key only if it
renders to the same bytes. A page that read data its key does not cover would keep its key and
change its bytes: the build would then keep a stale page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import pytest

from digest.config import DEFAULT_TEMPLATES, DEFAULTS_DIR, Config
from digest.ingest.themes import load_themes
from digest.model import Day, Meta, Paper, Section
from digest.pages.cache import StoredDay
from digest.pages.library import Library, LoadedDay, library_from
from digest.site.keys import Keys, render_salt
from digest.site.plan import notes_paths, notes_plan, plan
from digest.site.render import Renderer
from digest.site.views import Views

THEMES = load_themes(DEFAULTS_DIR / "themes.yaml")
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 3, 2), dt.date(2024, 3, 20)
Edit = Callable[[dict[dt.date, Day]], dict[dt.date, Day]]


def paper(paper_id: str, themes: tuple[str, ...] = ()) -> Paper:
    return Paper(paper_id, f"Paper {paper_id}", f"Abstract of {paper_id}.", themes)


def days() -> dict[dt.date, Day]:
    """Three days; paper ...a2 is on the first two, so editing one day touches the other."""
    q, d = ("quantization",), ("decoupling",)
    first = Day(
        D1,
        "Day one",
        (
            Section(
                "quantization", "Quantization", (paper("0" * 11 + "1", q), paper("0" * 11 + "2", q))
            ),
        ),
    )
    second = Day(
        D2,
        "Day two",
        (
            Section("quantization", "Quantization", (paper("0" * 11 + "2", q),)),
            Section("other", "Other", (paper("0" * 11 + "3"),)),
        ),
    )
    third = Day(
        D3, "Day three", (Section("decoupling", "Decoupling", (paper("0" * 11 + "4", d),)),)
    )
    return {D1: first, D2: second, D3: third}  # fmt: skip


def edit_paper(date: dt.date, index: int, **changes: object) -> Edit:
    def edit(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
        day = pages[date]
        placed = [(i, j) for i, s in enumerate(day.sections) for j in range(len(s.papers))]
        i, j = placed[index]
        section = day.sections[i]
        papers = list(section.papers)
        papers[j] = replace(papers[j], **changes)  # type: ignore[arg-type]
        sections = list(day.sections)
        sections[i] = replace(section, papers=tuple(papers))
        return {**pages, date: replace(day, sections=tuple(sections))}

    return edit


def add_day(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    new = Day(dt.date(2024, 4, 2), "Day four", (Section("other", "Other", (paper("5" * 12),)),))
    return {**pages, new.date: new}


def drop_first_day(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    return {d: day for d, day in pages.items() if d != D1}


def day_intro(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    return {**pages, D2: replace(pages[D2], intro="A word on this day.")}


def move_to_other(pages: dict[dt.date, Day]) -> dict[dt.date, Day]:
    day = pages[D1]
    moved, kept = day.sections[0].papers[0], day.sections[0].papers[1:]
    sections = (replace(day.sections[0], papers=kept), Section("other", "Other", (moved,)))
    return {**pages, D1: replace(day, sections=sections)}


EDITS: dict[str, Edit] = {
    "retitle a paper seen twice (its latest day's title shows)": edit_paper(
        D2, 0, title="A new title"
    ),
    "upvotes": edit_paper(D3, 0, meta=Meta(upvotes=7)),
    "authors and code": edit_paper(
        D1, 1, meta=Meta(authors=("Ada Lovelace",), github="https://github.com/a/b")
    ),
    "AI summary of a paper seen twice": edit_paper(D1, 1, meta=Meta(summary="In short.")),
    "a previous id": edit_paper(D3, 0, previous_ids=("abcdefabcdef",)),
    "note on a paper": edit_paper(D1, 0, notes="My *note*."),
    "abstract": edit_paper(D3, 0, abstract="Another abstract."),
    "second theme": edit_paper(D1, 1, themes=("quantization", "inr")),
    "why line": edit_paper(D1, 0, why={"quantization": "title “Q”"}),
    "new day": add_day,
    "first day deleted": drop_first_day,
    "day intro": day_intro,
    "moved to Other": move_to_other,
}


def library(pages: dict[dt.date, Day]) -> Library:
    return library_from({d: StoredDay(None, day, "") for d, day in pages.items()}, THEMES)  # type: ignore[arg-type]


def rendered(lib: Library, keys_class: type[Keys]) -> dict[str, tuple[str | None, bytes]]:
    """Render every page of a library: path -> (key, bytes)."""
    config = Config(page_size=1)
    views = Views(lib, config)
    renderer = Renderer([DEFAULT_TEMPLATES], views.site())
    salt = render_salt([DEFAULT_TEMPLATES], config, lib.themes, renderer.site)
    return {s.path: (s.key, renderer.render(s.make())) for s in plan(views, keys_class(lib, salt))}


def stale_pages(edit: Edit, keys_class: type[Keys] = Keys) -> list[str]:
    """Return the pages whose key stays the same while their bytes change under ``edit``."""
    before = rendered(library(days()), keys_class)
    after = rendered(library(edit(days())), keys_class)
    return [
        path
        for path, (key, data) in before.items()
        if path in after and key is not None and after[path][0] == key and after[path][1] != data
    ]


@pytest.mark.parametrize("name", EDITS)
def test_a_page_whose_bytes_change_changes_its_key(name: str) -> None:
    assert stale_pages(EDITS[name]) == []


def test_every_edit_changes_some_keyed_page() -> None:
    """The edits are real: each one changes the bytes of at least one page that has a key."""
    before = rendered(library(days()), Keys)
    for name, edit in EDITS.items():
        after = rendered(library(edit(days())), Keys)
        changed = [p for p, (k, data) in after.items() if k and before.get(p, (k, b""))[1] != data]
        assert changed, name


class KeysBlindToNeighbours(Keys):
    """A key that forgets the day's neighbours, as a careless change might."""

    def day_page(self, day: LoadedDay, neighbours: object) -> str:
        return super().day_page(day, (None, day, None))


def test_the_check_catches_a_key_that_misses_what_the_page_shows() -> None:
    assert stale_pages(add_day, KeysBlindToNeighbours) == ["days/2024-03-20.html"]


def test_a_note_changes_the_key_of_its_day_page_alone() -> None:
    """A note shows on its day's page only: a paper's page, its related papers' pages and
    the theme lists showing it keep their keys (130 pages rendered for a note at 50,000)."""
    before = rendered(library(days()), Keys)
    after = rendered(library(EDITS["note on a paper"](days())), Keys)
    moved = [p for p, (key, _) in after.items() if key is not None and before[p][0] != key]
    assert moved == ["days/2024-03-01.html"]


NOTES_ONLY = {
    "note on a paper": EDITS["note on a paper"],
    "note on the latest day (the home page shows it)": edit_paper(D3, 0, notes="New *note*."),
    "day intro": day_intro,
}


@pytest.mark.parametrize("name", NOTES_ONLY)
def test_with_the_same_records_state_only_pages_showing_notes_change(name: str) -> None:
    """What lets a build plan the notes' pages alone: under an edit that keeps the records
    state, no other page's bytes change (and the state does move under every other edit)."""
    config = Config(page_size=1)
    before, after = library(days()), library(NOTES_ONLY[name](days()))
    salt = render_salt([DEFAULT_TEMPLATES], config, before.themes, Views(before, config).site())
    assert Keys(before, salt).records_state() == Keys(after, salt).records_state()
    notes_pages = {s.path for s in notes_plan(Views(after, config), Keys(after, salt))}
    assert notes_pages == notes_paths(after)
    old, new = rendered(before, Keys), rendered(after, Keys)
    changed = {p for p in new if new[p][1] != old[p][1]}
    assert changed and changed <= notes_pages


@pytest.mark.parametrize("name", [n for n in EDITS if n not in ("note on a paper", "day intro")])
def test_every_other_edit_moves_the_records_state(name: str) -> None:
    assert (
        Keys(library(days())).records_state() != Keys(library(EDITS[name](days()))).records_state()
    )


def test_the_salt_is_made_of_values_not_of_which_objects_hold_them() -> None:
    """Themes read back from the project's cache are copies of the parsed ones (no string
    shared with another): pickled with a memo, their salt differed, and the build after
    the one that parsed them rendered every page again."""
    import pickle

    themes = load_themes(DEFAULTS_DIR / "themes.yaml")
    copied = pickle.loads(pickle.dumps(themes))
    assert pickle.dumps(copied) != pickle.dumps(themes)  # what made the old salt move
    config = Config()
    site = Views(library_from({}, themes), config).site()
    dirs = [DEFAULT_TEMPLATES]
    assert render_salt(dirs, config, themes, site) == render_salt(dirs, config, copied, site)
