"""View models as pure functions of a small in-memory library (no disk, no templates)."""

from __future__ import annotations

import datetime as dt

from digest.config import Config
from digest.model import Day, Paper, Theme
from digest.pages.library import Library, LoadedDay, Placed, Record
from digest.site.charts import weekly_trend
from digest.site.keys import Keys
from digest.site.plan import theme_plan
from digest.site.records import Segment
from digest.site.related import related_papers
from digest.site.views import Views, split_math
from digest.urls import theme_path

D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 9)
THEMES = (Theme("q", "Quantization", "Low bits.", ()), Theme("inr", "INR", "Fields.", ()))


def record(paper_id: str, themes: tuple[str, ...], *dates: dt.date) -> Record:
    return Record(paper_id, f"Title {paper_id}", "Abstract.", themes, {}, dates)


def library(records: list[Record]) -> Library:
    days = []
    for date in sorted({d for r in records for d in r.dates}):
        placed = tuple(
            Placed(r.themes[0] if r.themes else "other", Paper(r.id, r.title, r.abstract), r.themes)
            for r in records
            if date in r.dates
        )
        days.append(LoadedDay(Day(date, f"Papers of {date}"), placed, token=f"t{date}"))
    return Library(tuple(days), {r.id: r for r in records}, THEMES)


def test_math_runs_are_set_apart_but_stay_text() -> None:
    assert split_math("Cost $O(n^2)$ and $x<y$ here") == (
        Segment("Cost "),
        Segment("$O(n^2)$", math=True),
        Segment(" and "),
        Segment("$x<y$", math=True),
        Segment(" here"),
    )
    assert split_math("a lone $ sign") == (Segment("a lone $ sign"),)


def test_weekly_trend_counts_papers_per_week_including_empty_weeks() -> None:
    trend = weekly_trend([D1, D2, D3, D3], width=100, height=10)
    assert (trend.total, trend.peak) == (4, 2)
    assert trend.first_week == "2024-01-01" and trend.last_week == "2024-01-08"
    assert [b.label for b in trend.bars] == [
        "week of 1 Jan 2024: 2 papers",
        "week of 8 Jan 2024: 2 papers",
    ]
    assert weekly_trend([], 100, 10).bars == ()


def test_related_papers_are_time_neighbours_in_a_shared_theme() -> None:
    lib = library(
        [
            record("a", ("q",), D1),
            record("b", ("q",), D2),
            record("c", ("q", "inr"), D3),
            record("d", ("inr",), D3),
            record("e", (), D3),
        ]
    )
    related = related_papers(lib, count=2)
    assert related["a"] == ("b", "c")
    assert related["c"] == ("b", "a")  # its first theme's neighbours fill the list first
    assert related["e"] == ()


def test_day_groups_file_each_paper_once_and_list_it_again_under_other_themes() -> None:
    lib = library([record("a", ("q", "inr"), D1), record("b", (), D1)])
    groups = Views(lib, Config()).day_groups(lib.days[0])
    assert [(g.theme.slug, len(g.cards), len(g.also), g.theme.count) for g in groups] == [
        ("q", 1, 0, 1),
        ("inr", 0, 1, 1),
        ("other", 1, 0, 1),
    ]


def test_theme_archive_pages_are_stable_runs_from_the_oldest() -> None:
    records = [record(f"p{i:02d}", ("q",), D1 + dt.timedelta(days=i)) for i in range(5)]
    views = Views(library(records), Config(page_size=2))
    specs = list(theme_plan(views, Keys(views.library), "q"))
    assert [s.path for s in specs] == [
        theme_path("q"),
        theme_path("q", 1),
        theme_path("q", 2),
        theme_path("q", 3),
    ]
    pages = [s.make() for s in specs]
    assert [[c.id for c in p.cards] for p in pages] == [  # type: ignore[attr-defined]
        ["p04", "p03"],
        ["p01", "p00"],
        ["p03", "p02"],
        ["p04"],
    ]
    main, first, _, last = pages
    assert main.older_path == theme_path("q", 3)  # type: ignore[attr-defined]
    assert first.older_path is None and last.newer_path == theme_path("q")  # type: ignore[attr-defined]
    # A new paper only changes the main page and the newest archive page's key.
    grown = Views(
        library([*records, record("p05", ("q",), D1 + dt.timedelta(days=5))]), Config(page_size=2)
    )
    before = {s.path: s.key for s in specs}
    after = {s.path: s.key for s in theme_plan(grown, Keys(grown.library), "q")}
    assert [p for p in after if before.get(p) != after[p] or after[p] is None] == [
        theme_path("q"),
        theme_path("q", 3),
    ]
