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
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path

OTHER = "other"
"""Slug of the pseudo-theme for papers that match no theme; never a real theme slug."""
OTHER_NAME = "Other"
"""How that pseudo-theme is titled in digest pages, on the site, in search and in email."""


@dataclass(frozen=True)
class Meta:
    """What a source says about a paper besides its title and abstract; None where it is silent.

    Hugging Face's API gives most of these; a text dump only upvotes, an author count and who
    submitted it. Kept apart from :class:`Paper` so a paper without any costs one shared object.
    """

    authors: tuple[str, ...] | None = None
    """Author names, in order."""
    author_count: int | None = None
    """How many authors, when only the number is known (a text dump's "· 5 authors")."""
    upvotes: int | None = None
    comments: int | None = None
    github: str | None = None
    """The code repository's URL, as the source gives it (links are checked by digest.urls)."""
    github_stars: int | None = None
    project_page: str | None = None
    summary: str | None = None
    """Hugging Face's AI summary of the paper (a one-line TL;DR), not the abstract."""
    keywords: tuple[str, ...] | None = None
    submitted_by: str | None = None

    def filled_from(self, other: Meta) -> Meta:
        """Return this, with every field it lacks taken from ``other`` (itself if none is)."""
        gaps = {
            name: value
            for name, value in other.__dict__.items()
            if value is not None and getattr(self, name) is None
        }
        return replace(self, **gaps) if gaps else self

    def __reduce__(self) -> str | tuple[type[Meta], tuple[object, ...]]:
        """Unpickle an empty Meta as :data:`NO_META` itself: pages read from the cache keep
        the cheap ``meta is NO_META`` test true for papers without metadata."""
        values = tuple(self.__dict__.values())
        if all(value is None for value in values):
            return "NO_META"
        return (Meta, values)

    def updated_by(self, other: Meta) -> Meta:
        """Return this with every field ``other`` knows replaced by ``other``'s value."""
        if other is NO_META or other == self:
            return self
        return replace(self, **{k: v for k, v in other.__dict__.items() if v is not None})


NO_META = Meta()
"""The one empty :class:`Meta`, shared by every paper a source said nothing more about."""


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
    meta: Meta = NO_META
    arxiv_id: str | None = None
    """The arXiv id (``2404.12345``, no version) when the source gives one; then it is ``id``."""


@dataclass(frozen=True)
class Rule:
    """One match rule of a theme: a pattern, how much a hit counts, and the label shown for it."""

    label: str
    pattern: str
    weight: float
    fields: tuple[str, ...] = ("title", "abstract")


PLACES = ("title", "claim", "first", "last", "body", "contrast")
"""Where a hit can stand, most telling first: the title; an abstract sentence that states the
contribution; the abstract's first or last sentence; anywhere else; after a negation or contrast."""


@dataclass(frozen=True)
class Places:
    """How much a hit counts by where it stands: the rule's weight x the weight of its place.

    The defaults are the old title/abstract field weights, so a themes file that names no place
    weights scores as it always did.
    """

    title: float = 2.0
    claim: float = 1.0
    first: float = 1.0
    last: float = 1.0
    body: float = 1.0
    contrast: float = 1.0

    def weight(self, place: str) -> float:
        """Return the weight of ``place`` (one of :data:`PLACES`)."""
        return float(getattr(self, place))


@dataclass(frozen=True)
class Cues:
    """Words that say what a sentence does: state the contribution, or negate and contrast."""

    claim: tuple[Rule, ...] = ()
    contrast: tuple[Rule, ...] = ()


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
    threshold: float = 2.0
    places: Places = Places()
    cues: Cues = Cues()


@dataclass(frozen=True)
class Match:
    """Why a paper is in a theme: the rules that fired, where, and the total score.

    ``hits`` are short, stable one-line strings (place, quoted words in context, rule and
    points); their points add up to ``score``.
    """

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
    hand: bool = False
    """``(by hand)`` ends the ``themes:`` line: keep these themes whatever the rules say."""
    extra: tuple[tuple[str, str], ...] = ()
    """Metadata lines added by hand that digest does not know; kept as they are."""
    meta: Meta = NO_META
    previous_ids: tuple[str, ...] = ()
    """Ids the paper had before (a title hash, before its arXiv id was known): old links work."""

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


def is_arxiv_id(paper_id: str) -> bool:
    """Tell a paper's arXiv id (``2404.12345``) from a title hash: only arXiv ids have a dot."""
    return "." in paper_id


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
    return Counter(chain.from_iterable(themes or (OTHER,) for themes in papers_themes))


@dataclass(frozen=True)
class Moves:
    """What re-theming changed: papers re-filed, and how many gained or lost each theme."""

    papers: int = 0
    gained: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    pages: tuple[Path, ...] = ()
    """The digest pages rewritten."""
    recorded: bool = False
    """The rules' fingerprint was written (the digests folder changed, if only by that)."""

    def __add__(self, other: Moves) -> Moves:
        return Moves(
            self.papers + other.papers,
            self.gained + other.gained,
            self.lost + other.lost,
            self.pages + other.pages,
            self.recorded or other.recorded,
        )

    def summary(self) -> str:
        """Say what moved, like ``re-themed 14 papers: +11 kan, -3 decoupling``."""
        changes = [f"+{n} {s}" for s, n in sorted(self.gained.items())]
        changes += [f"-{n} {s}" for s, n in sorted(self.lost.items())]
        noun = "paper" if self.papers == 1 else "papers"
        return f"re-themed {self.papers} {noun}: {', '.join(changes)}"
