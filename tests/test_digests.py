"""The Markdown digest format reads back exactly what was written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.model import Day, Paper, Section, Source, effective_themes
from digest.pages.format import join_list, parse_day, render_day, split_list, unchanged_by_reading

P = Path("day.md")
SLUGS = ("decoupling", "quantization")

one_line = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=80,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
note = st.lists(one_line, max_size=3).map("\n\n".join)


@st.composite
def papers(draw: st.DrawFn) -> Paper:
    title = draw(one_line)
    abstract = draw(one_line)
    themes = draw(st.sampled_from([(), ("decoupling",), ("decoupling", "quantization")]))
    return Paper(
        id=draw(st.text("0123456789abcdef", min_size=12, max_size=12)),
        title=title,
        abstract=abstract,
        themes=themes,
        why={t: "title “x”" for t in themes},
        first_seen=draw(st.none() | st.just(dt.date(2024, 1, 2))),
        notes=draw(note).strip(),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(papers(), min_size=1, max_size=5))
def test_any_day_reads_back_as_written(items: list[Paper]) -> None:
    sections = (
        Section("decoupling", "Decoupling", tuple(p for p in items if p.primary == "decoupling")),
        Section("other", "Other", tuple(p for p in items if p.primary == "other")),
    )
    day = Day(dt.date(2024, 4, 24), 'Papers: of "a" day', sections, (Source("a.txt", "00"),))
    text = render_day(day, SLUGS)
    assert parse_day(text, P) == day
    assert unchanged_by_reading(text, P) is None


def test_hostile_looking_abstracts_stay_in_place() -> None:
    tricky = Paper(
        id="0123456789ab",
        title="### Not a heading {#p-ffffffffffff}",
        abstract="### A heading-like abstract {#p-aaaaaaaaaaaa}",
        themes=("decoupling",),
    )
    second = Paper(id="ba9876543210", title="T", abstract="- themes: fake", notes="- also: fine")
    day = Day(
        dt.date(2024, 1, 1),
        "T",
        (Section("decoupling", "Decoupling", (tricky,)), Section("other", "Other", (second,))),
    )
    assert parse_day(render_day(day, SLUGS), P) == day


def test_section_decides_a_moved_papers_themes() -> None:
    assert effective_themes("decoupling", ("quantization", "inr")) == ("decoupling", "inr")
    assert effective_themes("inr", ("quantization", "inr")) == ("inr", "quantization")
    assert effective_themes("other", ("quantization",)) == ()
    assert effective_themes("quantization", ()) == ("quantization",)


NAME = st.text(st.sampled_from("abcXYZ ñ.-,;"), min_size=1, max_size=12)


@given(st.lists(NAME, min_size=1, max_size=6))
def test_a_list_of_names_reads_back_as_written(raw: list[str]) -> None:
    """Authors ["A; B", "C"] were written "A; B, C" and read back as ("A", "B, C"), and one
    author "Li, Wei" came back as two."""
    names = [n for n in (n.strip(" ,;") for n in raw) if n]
    if not names:
        return
    assert split_list(join_list(names)) == tuple(n.replace(";", ",") for n in names)
