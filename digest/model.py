"""The plain data passed between pipeline stages.

ingest reads dumps into :class:`Entry` records and matches them against :class:`Theme` rules
(:class:`Match`); digest pages hold :class:`Day` records of :class:`Paper` entries, which every
output reads. Frozen so a stage cannot quietly change what another stage relies on. This module
imports nothing of digest's: every package may use it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

OTHER = "other"
"""Slug of the pseudo-theme for papers that match no theme; never a real theme slug."""
OTHER_NAME = "Other"
"""How that pseudo-theme is titled in digest pages, on the site, in search and in email."""


@dataclass(frozen=True)
class Entry:
    """One paper as read from a raw page dump, before classification."""

    id: str
    title: str
    abstract: str
    date: dt.date
    source: str
    """The dump's file name, and below the entry's title line in it, for error messages."""
    line: int
    truncated: bool = False
    """The page was cut off inside this entry: its abstract is incomplete or missing."""


@dataclass(frozen=True)
class Rule:
    """One match rule of a theme: a compiled pattern and how much a hit counts."""

    label: str
    pattern: str
    weight: float
    fields: tuple[str, ...] = ("title", "abstract")


@dataclass(frozen=True)
class Theme:
    """A theme from the project's YAML configuration."""

    slug: str
    name: str
    description: str
    """Shown on the theme's page and in the site's theme list."""
    rules: tuple[Rule, ...]
    exclude: tuple[Rule, ...] = ()
    """Rules whose hit vetoes the theme, whatever the score."""
    title_weight: float = 2.0
    abstract_weight: float = 1.0
    threshold: float = 2.0


@dataclass(frozen=True)
class Match:
    """Why a paper is in a theme: the rules that fired, where, and the total score."""

    theme: str
    score: float
    hits: tuple[str, ...]

    def explain(self) -> str:
        """Return a one-line, human-readable reason, stored in the digest and shown on the site."""
        return "; ".join(self.hits)


@dataclass(frozen=True)
class Paper:
    """A paper as it stands in one day's digest (themes may have been edited by hand)."""

    id: str
    title: str
    abstract: str
    themes: tuple[str, ...] = ()
    """The ``themes:`` line: the strongest first (the section it sits in may override it)."""
    why: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    """Per theme slug, the rule hits that put the paper there (its ``why`` lines)."""
    first_seen: dt.date | None = None
    """Set when an earlier day already had the paper."""
    notes: str = ""
    truncated: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    """Metadata lines added by hand that digest does not know; kept as they are."""

    @property
    def primary(self) -> str:
        """Return the theme whose section holds this paper in a digest page."""
        return self.themes[0] if self.themes else OTHER


@dataclass(frozen=True)
class Section:
    """One theme's section of a digest page, in the order the page lists it."""

    slug: str
    name: str
    papers: tuple[Paper, ...] = ()
    intro: str = ""


@dataclass(frozen=True)
class Source:
    """A raw dump a digest page was made from, with its SHA-256, so re-ingesting is a no-op."""

    file: str
    sha256: str
    ids: tuple[str, ...] = ()
    """Every paper ingested from this file into the page, so one deleted by hand stays so
    when a changed version of the file is ingested (empty in pages from before it was kept)."""

    def same_file(self, other: Source) -> bool:
        """Tell whether two sources are the same bytes of the same file (ids aside)."""
        return (self.file, self.sha256) == (other.file, other.sha256)


@dataclass(frozen=True)
class Day:
    """One dated digest page: its sections of papers and where they came from."""

    date: dt.date
    title: str
    sections: tuple[Section, ...] = ()
    sources: tuple[Source, ...] = ()
    intro: str = ""
    extra: dict[str, object] = field(default_factory=dict, hash=False)
    """Front-matter keys added by hand; kept as they are."""

    def placed_papers(self) -> list[tuple[str, Paper]]:
        """Return (section slug, paper) pairs in page order."""
        return [(section.slug, paper) for section in self.sections for paper in section.papers]


def effective_themes(section: str, listed: tuple[str, ...]) -> tuple[str, ...]:
    """Return a paper's themes given the section it sits in and its ``themes:`` line.

    The section wins: a paper moved by hand under another theme's heading now has that theme
    first, in place of the theme it was filed under; moved under "Other", it has none.
    """
    if section == OTHER:
        return ()
    if section in listed:
        return (section, *(t for t in listed if t != section))
    return (section, *listed[1:])


def count_themes(papers_themes: Iterable[tuple[str, ...]]) -> Counter[str]:
    """Count papers per theme: once in each of their themes, or once in OTHER if they have none.

    The one counter behind a page's ``counts``, a day's theme links and the site's totals, so
    they never disagree about a paper listed under several themes.
    """
    counts: Counter[str] = Counter()
    for themes in papers_themes:
        counts.update(themes or (OTHER,))
    return counts
