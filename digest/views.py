"""View models: one small record per page type, built from the :class:`Library` by one function.

Templates get exactly these records and nothing else, so presentation stays in ``templates/``
and every decision about data (grouping, order, counts, links) is made, and tested, here.
Paths are site-relative (``days/2024-04-24.html``); templates turn them into relative links.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import pickle
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import groupby
from urllib.parse import quote_plus

from digest.fsutil import sha1_hex
from digest.load import Library, LoadedDay, Record
from digest.model import OTHER, OTHER_NAME
from digest.notes import render_notes
from digest.project import Config

OTHER_DESCRIPTION = "Papers that match none of the themes."
MATH = re.compile(r"(\$[^$\n]{1,300}\$)")
RELATED_COUNT = 5
SNIPPET_CHARS = 240
RECENT_DAYS = 10
SITEMAP_URLS = 50_000
"""The most URLs one sitemap file may list (sitemaps.org)."""


# --- shared pieces -------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeLink:
    """A theme as a link: where it goes and how many papers it has there."""

    slug: str
    name: str
    path: str
    count: int = 0


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
class Card:
    """A paper as listed on a day, theme or archive page."""

    id: str
    title: str
    abstract: tuple[Segment, ...]
    badges: tuple[Badge, ...]
    date: dt.date
    first_seen: dt.date
    other_dates: tuple[dt.date, ...]
    path: str
    arxiv_url: str
    hf_url: str
    truncated: bool
    notes_html: str = ""

    @property
    def snippet(self) -> str:
        """Return the start of the abstract, for lists where whole abstracts are too much."""
        return _shorten("".join(part.text for part in self.abstract), SNIPPET_CHARS)

    @property
    def seen_before(self) -> bool:
        return self.first_seen < self.date


@dataclass(frozen=True)
class Bar:
    """One bar of a trend chart, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Trend:
    """Papers per week for one theme, ready to draw as bars."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    peak: int
    total: int
    first_week: str
    last_week: str


@dataclass(frozen=True)
class Site:
    """What every page shows: title, navigation, settings."""

    title: str
    description: str
    base_url: str
    themes: tuple[ThemeLink, ...]


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


# --- page view models ----------------------------------------------------------------------


@dataclass(frozen=True)
class HomePage(Page):
    latest: DaySummary | None
    groups: tuple[tuple[ThemeLink, tuple[Card, ...]], ...]
    recent: tuple[DaySummary, ...]
    themes: tuple[ThemeLink, ...]
    trends: tuple[tuple[ThemeLink, Trend], ...]


@dataclass(frozen=True)
class DayGroup:
    """One theme's group on a day page: papers filed under it, and papers also in it."""

    theme: ThemeLink
    intro_html: str
    cards: tuple[Card, ...]
    also: tuple[Card, ...]


@dataclass(frozen=True)
class DayPage(Page):
    date: dt.date
    intro_html: str
    groups: tuple[DayGroup, ...]
    total: int
    previous: DaySummary | None
    next: DaySummary | None


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
    trend: Trend | None
    feed_path: str | None
    newer_path: str | None
    older_path: str | None
    first_date: dt.date | None
    last_date: dt.date | None


@dataclass(frozen=True)
class PaperPage(Page):
    card: Card
    dates: tuple[DaySummary, ...]
    related: tuple[Card, ...]


@dataclass(frozen=True)
class ArchivePeriod:
    """A year or a month with its days and counts."""

    key: str
    label: str
    path: str
    total: int
    days: tuple[DaySummary, ...]
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
    path: str
    updated: dt.date
    categories: tuple[str, ...]


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
class PlainPage(Page):
    """A page with nothing but the shared parts (search, 404, robots.txt)."""

    extra: dict[str, str] = field(default_factory=dict, hash=False)


# --- paths ---------------------------------------------------------------------------------


def day_path(date: dt.date) -> str:
    return f"days/{date.isoformat()}.html"


def theme_path(slug: str, page: int = 0) -> str:
    """Return a theme's main page (0) or page ``page`` of its archive (1 = oldest papers)."""
    return f"themes/{slug}.html" if page == 0 else f"themes/{slug}/page-{page}.html"


def paper_path(paper_id: str) -> str:
    return f"papers/{paper_id}.html"


def year_path(year: int) -> str:
    return f"archive/{year}.html"


def month_path(year: int, month: int) -> str:
    return f"archive/{year}-{month:02d}.html"


# --- building ------------------------------------------------------------------------------


class Views:
    """Builds the view models of one site; caches what several pages share (cards, links)."""

    def __init__(self, library: Library, config: Config):
        self.library = library
        self.config = config
        self.slugs = library.theme_slugs()
        self._names = {t.slug: t.name for t in library.themes} | {OTHER: OTHER_NAME}
        self._records = library.records
        self._cards: dict[tuple[str, dt.date | None, str], Card] = {}
        self._summaries: dict[dt.date, DaySummary] = {}
        self._tokens: dict[str, str] = {}

    # shared pieces

    def name(self, slug: str) -> str:
        return self._names.get(slug, slug)

    def theme_link(self, slug: str, count: int = 0) -> ThemeLink:
        return ThemeLink(slug, self.name(slug), theme_path(slug), count)

    def site(self) -> Site:
        """Return what every page shows; no counts, so a new day does not change every page."""
        counts = self._theme_totals()
        links = tuple(self.theme_link(s) for s in [*self.slugs, OTHER] if counts[s])
        return Site(self.config.title, self.config.description, self.config.base_url, links)

    def _theme_totals(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for record in self._records.values():
            counts.update(record.themes or (OTHER,))
        return counts

    def card(self, record: Record, date: dt.date | None = None, notes: str = "") -> Card:
        """Return the card of a paper as it appears on ``date`` (default: its first day)."""
        date = date or record.first_seen  # one card for "its first day", however it is asked
        key = (record.id, date, notes)
        if key not in self._cards:
            self._cards[key] = self._make_card(record, date, notes)
        return self._cards[key]

    def _make_card(self, record: Record, date: dt.date | None, notes: str) -> Card:
        shown = date or record.first_seen
        why = record.why
        badges = tuple(
            Badge(s, self.name(s), theme_path(s), why.get(s, "filed here by hand"))
            for s in record.themes
        )
        query = quote_plus(record.title)
        return Card(
            id=record.id,
            title=record.title,
            abstract=split_math(record.abstract),
            badges=badges,
            date=shown,
            first_seen=record.first_seen,
            other_dates=tuple(d for d in record.dates if d != shown),
            path=paper_path(record.id),
            arxiv_url=f"https://arxiv.org/search/?searchtype=title&query={query}",
            hf_url=f"https://huggingface.co/papers?q={query}",
            truncated=record.truncated,
            notes_html=render_notes(notes) if notes else "",
        )

    def day_summary(self, day: LoadedDay) -> DaySummary:
        if day.date not in self._summaries:
            self._summaries[day.date] = self._make_day_summary(day)
        return self._summaries[day.date]

    def _make_day_summary(self, day: LoadedDay) -> DaySummary:
        counts: Counter[str] = Counter()
        for placed in day.placed:
            counts.update(placed.themes or (OTHER,))
        links = tuple(self.theme_link(s, counts[s]) for s in [*self.slugs, OTHER] if counts[s])
        return DaySummary(day.date, day_path(day.date), len(day.placed), links)

    # pages

    def plan(self) -> Iterator[PageSpec]:
        """Yield every page as a spec: its path, a key of what it shows, and how to build it.

        Keys let a rebuild skip pages whose data did not change without building their views:
        a key names the digest pages and papers (by content) the page is made from. Pages
        that change with every new day anyway (home, feeds, archive, sitemap) have no key.
        """
        yield PageSpec("index.html", None, self.home)
        days = self.library.days
        for i, day in enumerate(days):
            before = days[i - 1] if i else None
            after = days[i + 1] if i + 1 < len(days) else None
            yield PageSpec(
                day_path(day.date),
                self._key(
                    *(self._day_tokens[d.date] if d else "-" for d in (before, day, after)),
                    *(self._record_token(p.paper.id) for p in day.placed),
                ),
                partial(self.day, day, before, after),
            )
        for slug in [*self.slugs, OTHER]:
            yield from self.theme_plan(slug)
        for record in sorted(self._records.values(), key=lambda r: r.id):
            related = self._related[record.id]
            key = self._key(*(self._record_token(i) for i in (record.id, *related)))
            yield PageSpec(paper_path(record.id), key, partial(self.paper_page, record))
        for archive in self.archive_pages():
            yield PageSpec(archive.path, None, partial(_same, archive))
        for feed in (None, *self.slugs):
            path = "feed.xml" if feed is None else f"themes/{feed}.xml"
            yield PageSpec(path, None, partial(self.feed, feed))
        for plain in (
            PlainPage("search.html", "search.html", "Search", "Search every paper."),
            PlainPage("404.html", "404.html", "Page not found", "This page does not exist."),
            PlainPage("robots.txt", "robots.txt", "robots.txt", ""),
        ):
            yield PageSpec(plain.path, None, partial(_same, plain))
        yield from self.sitemap_plan()

    @cached_property
    def _related(self) -> dict[str, tuple[str, ...]]:
        return related_papers(self.library)

    @cached_property
    def _days(self) -> dict[dt.date, LoadedDay]:
        return {d.date: d for d in self.library.days}

    def _record_token(self, paper_id: str) -> str:
        """Fingerprint a paper by the pages it is on: its record is made from them alone.

        Not hashed on its own (50,000 of them are made on every build): the page keys that
        include it are.
        """
        token = self._tokens.get(paper_id)
        if token is None:
            tokens = self._day_tokens
            dates = self._records[paper_id].dates
            token = self._tokens[paper_id] = "/".join([paper_id, *[tokens[d] for d in dates]])
        return token

    @cached_property
    def _day_tokens(self) -> dict[dt.date, str]:
        return {day.date: self._day_token(day) for day in self.library.days}

    @staticmethod
    def _day_token(day: LoadedDay) -> str:
        return day.token or sha1_hex(pickle.dumps(day.day, protocol=5))

    @staticmethod
    def _key(*parts: str) -> str:
        return sha1_hex("|".join(parts).encode("ascii"))

    def home(self) -> HomePage:
        days = self.library.days
        latest = days[-1] if days else None
        groups: tuple[tuple[ThemeLink, tuple[Card, ...]], ...] = ()
        if latest:
            groups = tuple(
                (g.theme, g.cards + g.also)
                for g in self.day_groups(latest)
                if g.theme.slug != OTHER
            )
        totals = self._theme_totals()
        themes = tuple(self.theme_link(s, totals[s]) for s in [*self.slugs, OTHER])
        return HomePage(
            path="index.html",
            template="home.html",
            title=self.config.title,
            description=self.config.description,
            latest=self.day_summary(latest) if latest else None,
            groups=groups,
            recent=tuple(self.day_summary(d) for d in reversed(days[-RECENT_DAYS:])),
            themes=themes,
            trends=tuple((self.theme_link(s, totals[s]), self.trend(s)) for s in self.slugs),
        )

    def day_groups(self, day: LoadedDay) -> tuple[DayGroup, ...]:
        """Group a day's papers by theme: filed once, listed again under its other themes."""
        filed: dict[str, list[Card]] = {}
        also: dict[str, list[Card]] = {}
        intros = {s.slug: s.intro for s in day.day.sections}
        for placed in day.placed:
            record = self._records[placed.paper.id]
            card = self.card(record, day.date, placed.paper.notes)
            primary = placed.themes[0] if placed.themes else OTHER
            filed.setdefault(primary, []).append(card)
            for slug in placed.themes[1:]:
                also.setdefault(slug, []).append(card)
        order = [s for s in [*self.slugs, OTHER] if s in filed or s in also]
        return tuple(
            DayGroup(
                self.theme_link(s, len(filed.get(s, ())) + len(also.get(s, ()))),
                render_notes(intros[s]) if intros.get(s) else "",
                tuple(filed.get(s, ())),
                tuple(also.get(s, ())),
            )
            for s in order
        )

    def day(
        self, day: LoadedDay, previous: LoadedDay | None, following: LoadedDay | None
    ) -> DayPage:
        summary = self.day_summary(day)
        counts = ", ".join(f"{c.count} {c.name}" for c in summary.counts)
        return DayPage(
            path=day_path(day.date),
            template="day.html",
            title=day.day.title,
            description=f"{summary.total} papers: {counts}.",
            date=day.date,
            intro_html=render_notes(day.day.intro) if day.day.intro else "",
            groups=self.day_groups(day),
            total=summary.total,
            previous=self.day_summary(previous) if previous else None,
            next=self.day_summary(following) if following else None,
        )

    def theme_plan(self, slug: str) -> Iterator[PageSpec]:
        """Plan a theme's main page, then its archive pages (oldest first)."""
        newest_first = self.library.papers_in(slug)
        oldest_first = newest_first[::-1]
        size = self.config.page_size
        count = math.ceil(len(oldest_first) / size)
        main = partial(self._theme_page, slug, newest_first[:size], 0, count, len(newest_first))
        yield PageSpec(theme_path(slug), None, main)
        for number in range(1, count + 1):
            chunk = oldest_first[(number - 1) * size : number * size][::-1]
            key = self._key(
                str(number), str(number == count), *(self._record_token(r.id) for r in chunk)
            )
            make = partial(self._theme_page, slug, chunk, number, count, len(chunk))
            yield PageSpec(theme_path(slug, number), key, make)

    def _theme_page(
        self, slug: str, records: Sequence[Record], number: int, count: int, total: int
    ) -> ThemePage:
        """Build page ``number`` of a theme's archive (1 = oldest), or its main page (0)."""
        theme = self.library.theme(slug)
        description = theme.description if theme else OTHER_DESCRIPTION if slug == OTHER else ""
        name = self.name(slug)
        dates = [r.first_seen for r in records]
        is_main = number == 0
        if is_main:
            newer, older = None, count if total > self.config.page_size else None
        else:
            newer, older = (number + 1 if number < count else 0), (number - 1 or None)
        return ThemePage(
            path=theme_path(slug, number),
            template="theme.html",
            title=name if is_main else f"{name}: papers of {_date_range(dates)}",
            description=description or f"Papers in {name}.",
            theme=self.theme_link(slug, total),
            theme_description=description,
            cards=tuple(self.card(r) for r in records),
            is_main=is_main,
            total=total,
            trend=self.trend(slug) if is_main and slug != OTHER else None,
            feed_path=f"themes/{slug}.xml" if slug != OTHER else None,
            newer_path=None if newer is None else theme_path(slug, newer),
            older_path=None if older is None else theme_path(slug, older),
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
        )

    def paper_page(self, record: Record) -> PaperPage:
        card = self.card(record)
        return PaperPage(
            path=card.path,
            template="paper.html",
            title=record.title,
            description=_shorten(record.abstract, 200),
            card=card,
            dates=tuple(self.day_summary(self._days[d]) for d in record.dates),
            related=tuple(self.card(self._records[i]) for i in self._related[record.id]),
        )

    def archive_pages(self) -> Iterator[ArchivePage]:
        years = self.archive_years()
        yield ArchivePage(
            "archive.html", "archive.html", "Archive", "Every day, by month.", None, years
        )
        for year in years:
            yield ArchivePage(
                year.path, "archive.html", f"{year.label}", f"Papers of {year.label}.", year, years
            )
            for month in year.months:
                yield ArchivePage(
                    month.path,
                    "archive.html",
                    month.label,
                    f"Papers of {month.label}.",
                    month,
                    years,
                )

    def archive_years(self) -> tuple[ArchivePeriod, ...]:
        summaries = [self.day_summary(d) for d in reversed(self.library.days)]
        years = []
        for year, in_year in groupby(summaries, key=lambda s: s.date.year):
            year_days = tuple(in_year)
            months = tuple(
                ArchivePeriod(
                    f"{year}-{month:02d}",
                    f"{dt.date(year, month, 1):%B %Y}",
                    month_path(year, month),
                    sum(s.total for s in days),
                    days,
                )
                for month, days in (
                    (m, tuple(g)) for m, g in groupby(year_days, key=lambda s: s.date.month)
                )
            )
            years.append(
                ArchivePeriod(
                    str(year),
                    str(year),
                    year_path(year),
                    sum(s.total for s in year_days),
                    year_days,
                    months,
                )
            )
        return tuple(years)

    def feed(self, slug: str | None) -> FeedPage:
        records = list(self._records.values()) if slug is None else self.library.papers_in(slug)
        newest = sorted(records, key=lambda r: (r.first_seen, r.id), reverse=True)[:50]
        entries = tuple(
            FeedEntry(
                r.id,
                r.title,
                r.abstract,
                paper_path(r.id),
                r.first_seen,
                tuple(self.name(s) for s in r.themes),
            )
            for r in newest
        )
        updated = max((r.last_seen for r in records), default=None) or build_date()
        title = self.config.title + (f": {self.name(slug)}" if slug else "")
        return FeedPage(
            path="feed.xml" if slug is None else f"themes/{slug}.xml",
            template="feed.xml",
            title=title,
            description=self.config.description,
            feed_id=f"digest:{slug or 'all'}",
            site_path="index.html" if slug is None else theme_path(slug),
            updated=updated,
            entries=entries,
        )

    def sitemap_plan(self) -> Iterator[PageSpec]:
        """Plan a sitemap index, a sitemap of pages and one per month of the papers.

        Papers are grouped by the month they were first seen, so a new day rewrites the current
        month's file only; a file lists at most SITEMAP_URLS (the protocol's limit), a busy
        month goes on in ``-2``, ``-3``... A file's key is its URLs and dates, nothing else: a
        note on a paper changes its page, not the sitemap.
        """
        months: dict[str, list[Record]] = {}
        for record in self._records.values():
            months.setdefault(f"{record.first_seen:%Y-%m}", []).append(record)
        files: list[tuple[str, list[Record]]] = []
        for month in sorted(months):
            records = sorted(months[month], key=lambda r: r.id)
            for part, start in enumerate(range(0, len(records), SITEMAP_URLS), start=1):
                path = f"sitemaps/papers-{month}{f'-{part}' if part > 1 else ''}.xml"
                files.append((path, records[start : start + SITEMAP_URLS]))
        listed: list[tuple[str, dt.date | None]] = [("sitemaps/pages.xml", None)]
        listed += [(path, None) for path, _ in files]
        yield PageSpec("sitemap.xml", None, partial(self._sitemap, "sitemap.xml", listed, True))
        yield PageSpec("sitemaps/pages.xml", None, self._pages_sitemap)
        for path, records in files:
            key = self._key(path, *[r.id + r.last_seen.isoformat() for r in records])
            yield PageSpec(path, key, partial(self._papers_sitemap, path, records))

    def _papers_sitemap(self, path: str, records: Sequence[Record]) -> SitemapPage:
        return self._sitemap(path, [(paper_path(r.id), r.last_seen) for r in records])

    def _pages_sitemap(self) -> SitemapPage:
        days = self.library.days
        urls: list[tuple[str, dt.date | None]] = [("index.html", days[-1].date if days else None)]
        urls += [(day_path(d.date), d.date) for d in days]
        urls += [(theme_path(s), None) for s in [*self.slugs, OTHER]]
        urls += [("archive.html", None)]
        return self._sitemap("sitemaps/pages.xml", urls)

    def _sitemap(
        self, path: str, urls: Sequence[tuple[str, dt.date | None]], is_index: bool = False
    ) -> SitemapPage:
        base = self.config.base_url
        prefix = base.rstrip("/") + "/" if base else "../" * path.count("/")
        return SitemapPage(path, "sitemap.xml", "Sitemap", "", prefix, tuple(urls), is_index)

    def trend(self, slug: str, width: int = 320, height: int = 60) -> Trend:
        return weekly_trend(
            [d for r in self.library.papers_in(slug) for d in r.dates[:1]], width, height
        )


# --- pure helpers --------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    """A page to write: where, a key of its data (None: always render), and its view model."""

    path: str
    key: str | None
    make: Callable[[], Page]


def _same(page: Page) -> Page:
    return page


def build_date() -> dt.date:
    """Return the date to stamp when content gives none: SOURCE_DATE_EPOCH, else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.date()


def split_math(text: str) -> tuple[Segment, ...]:
    """Split an abstract into text and ``$...$`` math runs (shown as text, set apart)."""
    return tuple(Segment(part, bool(MATH.fullmatch(part))) for part in MATH.split(text) if part)


def _date_range(dates: Sequence[dt.date]) -> str:
    if not dates:
        return "no dates"
    first, last = min(dates), max(dates)
    return f"{first:%-d %b %Y}" if first == last else f"{first:%-d %b %Y} to {last:%-d %b %Y}"


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def week_start(date: dt.date) -> dt.date:
    return date - dt.timedelta(days=date.weekday())


def weekly_trend(dates: Sequence[dt.date], width: int, height: int) -> Trend:
    """Count papers per ISO week between the first and last week, and lay them out as bars."""
    if not dates:
        return Trend((), width, height, 0, 0, "", "")
    counts = Counter(week_start(d) for d in dates)
    first, last = min(counts), max(counts)
    weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    peak = max(counts.values())
    slot = width / len(weeks)
    bars = tuple(
        Bar(
            x=round(i * slot, 2),
            y=round(height - counts[w] / peak * height, 2),
            width=round(max(slot * 0.8, 0.5), 2),
            height=round(counts[w] / peak * height, 2),
            label=f"week of {w.isoformat()}: {counts[w]}",
        )
        for i, w in enumerate(weeks)
        if counts[w]
    )
    return Trend(bars, width, height, peak, len(dates), first.isoformat(), last.isoformat())


def related_papers(library: Library, count: int = RELATED_COUNT) -> dict[str, tuple[str, ...]]:
    """Pick, for each paper, the papers nearest in time among those sharing its main theme.

    Nearest-in-time neighbours in one sorted list per theme keep this linear in the number of
    papers, which matters at tens of thousands of them.
    """
    related: dict[str, list[str]] = {r: [] for r in library.records}
    by_theme: dict[str, list[Record]] = {}
    for record in library.records.values():
        for slug in record.themes:
            by_theme.setdefault(slug, []).append(record)
    for members in by_theme.values():
        members.sort(key=lambda r: (r.first_seen, r.id))
        for i, record in enumerate(members):
            mine = related[record.id]
            for other in _neighbours(members, i):
                if len(mine) >= count:
                    break
                if other.id not in mine:
                    mine.append(other.id)
    return {k: tuple(v) for k, v in related.items()}


def _neighbours(members: Sequence[Record], i: int) -> Iterable[Record]:
    for step in range(1, len(members)):
        for j in (i - step, i + step):
            if 0 <= j < len(members):
                yield members[j]
        if i - step < 0 and i + step >= len(members):
            return
