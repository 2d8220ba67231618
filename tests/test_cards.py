"""What the compact cards, folded days, orders, charts and related papers are made of.

Pure view-model tests over small in-memory libraries: no disk, no templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from digest.config import Config
from digest.model import Meta
from digest.site.charts import WEEKS_SHOWN, weekly_trend
from digest.site.related import related_papers
from digest.site.views import LARGE_DAY, LEAD_CHARS, Views
from digest.text import first_sentence
from tests.test_views import D1, D2, D3, library, record


@pytest.mark.parametrize(
    ("abstract", "lead"),
    [
        ("We quantize. Then we test.", "We quantize."),
        ("Models (e.g. ViTs) at 3.5 bits, cf. Fig. 2, work. Next.", None),
        ("Is it? Yes.", "Is it?"),
        ('We say "it works." Then more.', 'We say "it works."'),
        ("no full stop at all", None),
        ("Ends at $O(n)$. \\Delta follows.", "Ends at $O(n)$."),
    ],
)
def test_the_one_line_is_the_abstracts_first_sentence(abstract: str, lead: str | None) -> None:
    assert first_sentence(abstract, 200) == (lead or abstract.removesuffix(" Next."))


def test_a_long_first_sentence_is_cut_at_a_word() -> None:
    lead = first_sentence("word " * 100 + "end. Next.", LEAD_CHARS)
    assert len(lead) <= LEAD_CHARS and lead.endswith("word…")


def with_meta(paper_id: str, meta: Meta, *dates: dt.date, themes: tuple[str, ...] = ()) -> object:
    return replace(record(paper_id, themes, *dates), meta=meta)


def test_a_card_leads_with_the_ai_summary_when_there_is_one() -> None:
    plain = replace(record("a", ("q",), D1), abstract="First sentence. Second one.")
    summed = replace(plain, id="b", meta=Meta(summary="  In short:\nit works. "))
    views = Views(library([plain, summed]), Config())
    a, b = views.card(plain), views.card(summed)
    assert (a.lead, a.lead_is_tldr) == ("First sentence.", False)
    assert (b.lead, b.lead_is_tldr) == ("In short: it works.", True)


def test_other_starts_folded_on_a_large_day_only() -> None:
    many = [record(f"{i:012x}", (), D1) for i in range(LARGE_DAY + 1)]
    few = [record(f"{i:012x}", (), D2) for i in range(100, 103)]
    views = Views(library([*many, *few]), Config())
    (big,) = views.day_groups(views.library.days[0])
    (small,) = views.day_groups(views.library.days[1])
    assert big.folded and not small.folded


def test_a_day_is_sortable_when_some_paper_has_upvotes() -> None:
    voted = replace(record("v", ("q",), D1), meta=Meta(upvotes=4))
    lib = library([record("a", ("q",), D1), voted, record("b", ("q",), D2)])
    views = Views(lib, Config(sort="source"))
    day = views.day(lib.days[0], None, lib.days[1])
    assert day.order == "source"
    assert [c.position for c in day.groups[0].cards] == [0, 1]
    assert views.day(lib.days[1], lib.days[0], None).order == ""


def test_home_shows_the_top_papers_of_each_theme() -> None:
    papers = [replace(record(f"p{i}", ("q",), D1), meta=Meta(upvotes=i)) for i in range(6)]
    home = Views(library(papers), Config()).home()
    ((theme, cards),) = home.groups
    assert theme.count == 6 and [c.upvotes for c in cards] == [5, 4, 3]


def test_related_papers_share_authors_first_and_say_why() -> None:
    ada = Meta(authors=("Ada Lovelace", "Alan Turing"))
    lib = library(
        [
            replace(record("a", ("q",), D1), meta=ada),
            record("b", ("q",), D1),
            replace(record("c", ("inr",), D3), meta=Meta(authors=("Alan Turing",))),
        ]
    )
    assert related_papers(lib)["a"] == ("c", "b")
    views = Views(lib, Config())
    reasons = {r.card.id: r.reason for r in views.paper_page(lib.records["a"]).related}
    assert reasons == {
        "c": "1 shared author (Alan Turing); first seen 8 days later",
        "b": "also in Quantization; same day",
    }


def test_a_chart_has_axes_values_and_a_summary() -> None:
    trend = weekly_trend([D1, D2, D3, D3, D3], width=320, height=100)
    assert [t.label for t in trend.values] == ["0", "1", "3"]
    assert [t.label for t in trend.months] == ["Jan ’24"]
    assert [(b.value, b.show_value) for b in trend.bars] == [(2, True), (3, True)]
    assert all(0 < b.y < trend.baseline for b in trend.bars)
    assert trend.summary.startswith("5 papers in 2 weeks, from the week of 1 Jan 2024")
    assert "week of 8 Jan 2024: 3" in trend.summary


def test_a_chart_covers_the_last_year_of_weeks() -> None:
    dates = [dt.date(2020, 1, 6) + dt.timedelta(weeks=i) for i in range(200)]
    trend = weekly_trend(dates, width=320, height=100)
    assert len(trend.bars) == WEEKS_SHOWN and trend.total == WEEKS_SHOWN
    assert not any(b.show_value for b in trend.bars[:-1]) or trend.peak == 1
