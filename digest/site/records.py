"""Page records: the view model of each page type, exactly what its template gets.

Templates get these records and nothing else, so presentation stays in ``templates/`` and every
decision about data (grouping, order, counts, links) is made, and tested, in Python. Every link
is a site path made by :mod:`digest.urls`; templates only make it relative (``url()``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from digest.site.charts import Trend
from digest.urls import SiteLinks


@dataclass(frozen=True)
class ThemeLink:
    """A theme as a link: where it goes and how many papers it has there.

    ``section`` is the link to its section of a day page, where the count is a day's.
    """

    slug: str
    name: str
    path: str
    count: int = 0
    section: str = ""


@dataclass(frozen=True)
class Badge:
    """A theme a paper is in, and why."""

    slug: str
    name: str
    path: str
    why: str


@dataclass(frozen=True)
class Segment:
    """A run of abstract text; ``math`` runs (``$...$``) are set apart but stay plain text."""

    text: str
    math: bool = False


@dataclass(frozen=True)
class DayLink:
    """A date and its day page."""

    date: dt.date
    path: str


@dataclass(frozen=True)
class CodeLink:
    """A paper's code repository: where it is, how it is labelled, its stars if known."""

    url: str
    label: str
    stars: int | None = None


@dataclass(frozen=True)
class Authors:
    """A paper's authors: all of them (paper page), the first few (cards), or just a count."""

    names: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()
    """The first few names; ``et_al`` when there are more."""
    et_al: bool = False
    count: int | None = None
    """How many, when only the number is known (from a text dump)."""


NO_AUTHORS = Authors()


@dataclass(frozen=True)
class Card:
    """A paper as listed on a day, theme or archive page."""

    id: str
    anchor: str
    """The card's element id on a day page (``p-<id>``)."""
    title: str
    abstract: tuple[Segment, ...]
    snippet: str
    """The abstract's start, cut at a word, for lists where whole abstracts are too much."""
    lead: str
    """The card's one line: Hugging Face's AI summary when there is one, else the abstract's
    first sentence (``lead_is_tldr`` says which), so a reader can triage without the abstract."""
    badges: tuple[Badge, ...]
    date: dt.date
    """The day this card is shown for (its first day on theme and paper pages)."""
    first_seen: DayLink
    other_dates: tuple[DayLink, ...]
    """Every day it appeared on but ``date``."""
    path: str
    arxiv_url: str
    hf_url: str
    truncated: bool
    notes_html: str = ""
    """The day page's note on the paper, rendered from Markdown (safe HTML)."""
    rich: bool = False
    """A source said more than title and abstract (the fields below): one test for templates."""
    authors: Authors = NO_AUTHORS
    upvotes: int | None = None
    comments: int | None = None
    tldr: str = ""
    """Hugging Face's AI summary, one line; empty when there is none."""
    keywords: tuple[str, ...] = ()
    submitted_by: str = ""
    arxiv_id: str = ""
    pdf_url: str = ""
    """The arXiv PDF, when the arXiv id is known (``arxiv_url`` is then its abstract page)."""
    code: CodeLink | None = None
    project_url: str = ""
    previous_anchors: tuple[str, ...] = ()
    """Element ids the card had before its id changed, so old links to it still land."""
    lead_is_tldr: bool = False
    position: int = 0
    """Where the day's page lists the paper (0 first): "as listed" order when sorted otherwise."""

    @property
    def seen_before(self) -> bool:
        return self.first_seen.date < self.date


@dataclass(frozen=True)
class Site:
    """What every page shows: title, navigation, settings, the fixed links."""

    title: str
    description: str
    base_url: str
    themes: tuple[ThemeLink, ...]
    other: ThemeLink
    links: SiteLinks = field(default_factory=SiteLinks)


@dataclass(frozen=True)
class Page:
    """What every page type has: its place in the site and its meta tags."""

    path: str
    template: str
    title: str
    description: str


@dataclass(frozen=True)
class DaySummary:
    """A day in a list of days."""

    date: dt.date
    path: str
    total: int
    counts: tuple[ThemeLink, ...]


@dataclass(frozen=True)
class HomePage(Page):
    latest: DaySummary | None
    groups: tuple[tuple[ThemeLink, tuple[Card, ...]], ...]
    """The latest day's top papers per theme (most upvoted, else first listed); the link's
    count is the theme's whole count that day."""
    recent: tuple[DaySummary, ...]
    themes: tuple[ThemeLink, ...]
    trends: tuple[tuple[ThemeLink, Trend], ...]


@dataclass(frozen=True)
class DayGroup:
    """One theme's group on a day page: papers filed under it, and papers also in it."""

    theme: ThemeLink
    section_id: str
    intro_html: str
    cards: tuple[Card, ...]
    also: tuple[Card, ...]
    folded: bool = False
    """Starts closed: "Other" on a large day, where it would bury the themes below it."""


@dataclass(frozen=True)
class DayPage(Page):
    date: dt.date
    intro_html: str
    groups: tuple[DayGroup, ...]
    total: int
    previous: DaySummary | None
    next: DaySummary | None
    order: str = ""
    """How the cards are ordered ("upvotes" or "source"), when some paper has upvotes and the
    reader may reorder them; empty when there is nothing to sort by."""


@dataclass(frozen=True)
class ThemePage(Page):
    """A theme's main page (its newest papers) or one page of its archive.

    Archive pages hold fixed runs of papers counted from the oldest, so a new day changes the
    main page and the newest archive page only, not every page of a large theme.
    """

    theme: ThemeLink
    theme_description: str
    cards: tuple[Card, ...]
    is_main: bool
    total: int
    """Papers in the theme (main page) or on this archive page."""
    trend: Trend | None
    feed_path: str | None
    newer_path: str | None
    """The neighbouring pages of the theme's archive, None at either end."""
    older_path: str | None
    first_date: dt.date | None
    last_date: dt.date | None
    order: str = ""
    """As on :class:`DayPage`: "source" (newest first) when some paper has upvotes."""


@dataclass(frozen=True)
class Related:
    """A paper related to another, and why, in words ("2 shared authors; also in INR")."""

    card: Card
    reason: str


@dataclass(frozen=True)
class PaperPage(Page):
    card: Card
    dates: tuple[DaySummary, ...]
    related: tuple[Related, ...]


@dataclass(frozen=True)
class ArchivePeriod:
    """A year or a month with its days and counts."""

    key: str
    """``2024`` or ``2024-04``: also the element id of its heading."""
    label: str
    path: str
    total: int
    days: tuple[DaySummary, ...]
    """Newest first."""
    months: tuple[ArchivePeriod, ...] = ()


@dataclass(frozen=True)
class ArchivePage(Page):
    period: ArchivePeriod | None
    years: tuple[ArchivePeriod, ...]


@dataclass(frozen=True)
class FeedEntry:
    """One paper in an Atom feed."""

    id: str
    title: str
    summary: str
    """The whole abstract, as text (the template escapes it)."""
    path: str
    updated: dt.date
    """The day the paper first appeared."""
    categories: tuple[str, ...]
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedPage(Page):
    feed_id: str
    site_path: str
    updated: dt.date
    entries: tuple[FeedEntry, ...]


@dataclass(frozen=True)
class SitemapPage(Page):
    """One sitemap file, or (with ``is_index``) the index of them; ``prefix`` makes URLs."""

    prefix: str
    urls: tuple[tuple[str, dt.date | None], ...]
    is_index: bool = False


@dataclass(frozen=True)
class RedirectPage(Page):
    """Where a paper's permalink was before its id changed: sends readers to ``target``."""

    target: str


@dataclass(frozen=True)
class PlainPage(Page):
    """A page with nothing but the shared parts (search, 404, robots.txt)."""

    extra: dict[str, str] = field(default_factory=dict, hash=False)
