"""The parser on the four real samples and on the ways real copies differ from them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.errors import DigestError
from digest.ingest.parse import paper_id, parse_file, parse_text
from tests.conftest import SAMPLE_FILES

D = dt.date(2024, 4, 24)
P = Path("page.txt")


def independent_pairs(path: Path) -> list[tuple[str, str]]:
    """Read a sample the simplest possible way, to check the parser against."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    if lines[2].startswith("Subscribe") and lines[2] != "Subscribe":  # no-blank-line layout
        body = [lines[2].removeprefix("Subscribe"), *lines[3:]]
    else:
        date_index = next(
            i for i, line in enumerate(lines) if line in ("Apr 24", "Mar 17", "Sep 2")
        )
        body = lines[date_index + 1 :]
    return list(zip(body[0::2], body[1::2], strict=True))


@pytest.mark.parametrize(
    ("key", "count", "date"),
    [
        ("000", 250, None),
        ("001", 67, "2024-04-24"),
        ("002", 66, "2024-03-17"),
        ("003", 75, "2024-09-02"),
    ],
)
def test_samples_parse_exactly(key: str, count: int, date: str | None) -> None:
    path = SAMPLE_FILES[key]
    entries = parse_file(path, year=2024)
    assert len(entries) == count
    assert [(e.title, e.abstract) for e in entries] == independent_pairs(path)
    if date:
        assert {e.date.isoformat() for e in entries} == {date}


def test_sample_first_and_last_entries() -> None:
    first = parse_file(SAMPLE_FILES["000"])[0]
    assert first.title == (
        "Janus: Decoupling Visual Encoding for Unified Multimodal Understanding and Generation"
    )
    assert first.abstract.startswith("In this paper, we introduce Janus,")
    last = parse_file(SAMPLE_FILES["003"], year=2024)[-1]
    assert last.title == "UniXcoder: Unified Cross-Modal Pre-training for Code Representation"
    assert last.abstract.endswith("AST can both enhance UniXcoder.")
    second = parse_file(SAMPLE_FILES["001"], year=2024)
    assert second[0].title.startswith("BridgeTower: Building Bridges")
    assert second[-1].title == "The Topology and Geometry of Neural Representations"


def test_undated_sample_takes_date_from_file_name() -> None:
    assert parse_file(SAMPLE_FILES["000"])[0].date == dt.date(2024, 10, 21)


LAYOUT_B = """new

Get trending papers in your email inbox!

Subscribe

byAK and the research community

Apr 24

First Paper: A Study

We study things. We find results.

Second Paper

Another abstract, with $x^2$ math and <tags>.
"""
EXPECTED = [
    ("First Paper: A Study", "We study things. We find results."),
    ("Second Paper", "Another abstract, with $x^2$ math and <tags>."),
]


def pairs(text: str, **kwargs: object) -> list[tuple[str, str]]:
    return [(e.title, e.abstract) for e in parse_text(text, P, year=2024, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(LAYOUT_B.replace("\n", "\r\n"), id="crlf"),
        pytest.param("\ufeff" + LAYOUT_B, id="bom"),
        pytest.param(LAYOUT_B.replace("\n", "   \n"), id="trailing-spaces"),
        pytest.param(LAYOUT_B.replace("\n\n", "\n"), id="no-blank-lines"),
        pytest.param(LAYOUT_B.replace("\n\n", "\n\n\n\n"), id="many-blank-lines"),
        pytest.param(LAYOUT_B.replace("\n\n", "\n \t\n"), id="whitespace-lines"),
        pytest.param(LAYOUT_B.replace("\n", "\r"), id="old-mac-cr"),
        pytest.param(
            LAYOUT_B.replace("First Paper", "Upvote\n42\nFirst Paper").replace(
                "Second Paper\n", "Submitted by\nakhaliq\n· 5 authors\nSecond Paper\n"
            ),
            id="votes-and-submitters",
        ),
        pytest.param(
            LAYOUT_B.replace("\nSecond Paper", "\nSubmitted by akhaliq\n1.2k\n\nSecond Paper"),
            id="submitted-by-one-line",
        ),
        pytest.param(
            LAYOUT_B.replace("Apr 24\n", "Daily Papers\nApr 24\n"), id="daily-papers-header"
        ),
    ],
)
def test_variations_read_the_same(variant: str) -> None:
    assert pairs(variant) == EXPECTED


def test_layout_without_blank_lines_strips_subscribe_prefix() -> None:
    text = (
        "Get trending papers in your email inbox once a day!\n"
        "Get trending papers in your email inbox!\n"
        "SubscribeFirst Paper: A Study\nWe study things. We find results.\n"
        "Second Paper\nAnother abstract, with $x^2$ math and <tags>.\n"
    )
    assert pairs(text, date=D) == EXPECTED


def test_last_abstract_cut_short_is_kept_and_flagged() -> None:
    entries = parse_text(LAYOUT_B.replace("math and <tags>.", "math and"), P, year=2024)
    assert entries[-1].abstract == "Another abstract, with $x^2$ math and"
    assert entries[-1].truncated and not entries[0].truncated


def test_title_without_abstract_at_the_end_is_kept() -> None:
    entries = parse_text(LAYOUT_B + "\nThird Paper Cut Off\n", P, year=2024)
    assert [e.title for e in entries][-1] == "Third Paper Cut Off"
    assert entries[-1].abstract == "" and entries[-1].truncated


def test_dates_year_and_override() -> None:
    assert parse_text(LAYOUT_B, P, year=2023)[0].date == dt.date(2023, 4, 24)
    assert parse_text(LAYOUT_B, P, date=dt.date(2025, 1, 2), year=2023)[0].date == dt.date(
        2025, 1, 2
    )
    with_year = LAYOUT_B.replace("Apr 24", "April 24, 2022")
    assert parse_text(with_year, P, year=2023)[0].date == dt.date(2022, 4, 24)


def test_page_without_date_is_an_error_that_says_how_to_fix_it() -> None:
    with pytest.raises(DigestError) as error:
        parse_text(LAYOUT_B.replace("Apr 24\n", ""), P, year=2024)
    assert "page.txt" in str(error.value)
    assert "--date" in str(error.value)


def test_impossible_page_date_is_an_error() -> None:
    with pytest.raises(DigestError, match="not a real date"):
        parse_text(LAYOUT_B.replace("Apr 24", "Feb 30"), P, year=2023)


def test_abstract_where_a_title_belongs_names_the_line() -> None:
    long_line = "word " * 100
    with pytest.raises(DigestError) as error:
        parse_text(f"Apr 24\n{long_line}\nTitle\n", P, year=2024)
    assert str(error.value).startswith("page.txt:2: expected a paper title")


def test_ids_are_stable_and_ignore_cosmetic_differences() -> None:
    assert paper_id("Janus: Decoupling Visual Encoding") == paper_id(
        "janus  decoupling visual encoding"
    )
    assert paper_id("A") != paper_id("B")
    assert len(paper_id("A")) == 12
    again = parse_file(SAMPLE_FILES["000"])
    assert [e.id for e in again] == [e.id for e in parse_file(SAMPLE_FILES["000"])]


def test_same_paper_on_two_pages_has_one_id() -> None:
    ids = {
        key: {e.title: e.id for e in parse_file(path, year=2024)}
        for key, path in SAMPLE_FILES.items()
    }
    shared = set(ids["000"]) & set(ids["002"])
    assert shared, "the samples share papers"
    assert all(ids["000"][title] == ids["002"][title] for title in shared)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text())
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        entries = parse_text(text, P, date=D)
    except DigestError as error:
        assert "page.txt" in str(error)
    else:
        assert entries and all(e.title.strip() == e.title and e.title for e in entries)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Title line", "An abstract line.", "", "Upvote", "12", "Apr 24", "Subscribe"]
        ),
        max_size=30,
    )
)
def test_any_arrangement_of_page_lines_parses_or_fails_cleanly(lines: list[str]) -> None:
    try:
        parse_text("\n".join(lines), P, year=2024)
    except DigestError as error:
        assert str(error).startswith("page.txt")
