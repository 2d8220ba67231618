"""View models: one function per page type builds its record (:mod:`digest.site.records`).

:class:`Views` reads the :class:`Library` and the settings, and caches what several pages
share (cards, day summaries). Which pages exist, and their keys, is :mod:`digest.site.plan`'s
business; links come from :mod:`digest.urls`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from itertools import groupby

from digest import urls
from digest.config import Config
from digest.dates import now
from digest.model import NO_META, OTHER, count_themes, is_arxiv_id
from digest.pages.library import Library, LoadedDay, Record
from digest.site.charts import Trend, weekly_trend
from digest.site.notes import render_notes
from digest.site.records import (
    NO_AUTHORS,
    ArchivePage,
    ArchivePeriod,
    Authors,
    Badge,
    Card,
    CodeLink,
    DayGroup,
    DayLink,
    DayPage,
    DaySummary,
    FeedEntry,
    FeedPage,
    HomePage,
    PaperPage,
    PlainPage,
    RedirectPage,
    Related,
    Segment,
    Site,
    SitemapPage,
    ThemeLink,
    ThemePage,
)
from digest.site.related import related_papers
from digest.text import first_sentence, one_line, plural, shorten

OTHER_DESCRIPTION = "Papers that match none of the themes."
MATH = re.compile(r"(\$[^$\n]{1,300}\$)")
SNIPPET_CHARS = 240
DESCRIPTION_CHARS = 200
RECENT_DAYS = 10
FEED_ENTRIES = 50
AUTHORS_SHOWN = 3
"""Authors a card names before "et al." (the paper page names them all)."""
LEAD_CHARS = 220
"""The longest a card's one line (AI summary or first sentence) is shown."""
HOME_TOP = 3
"""Papers per theme the home page shows of the latest day."""
LARGE_DAY = 60
"""A day with more papers than this starts with "Other" folded."""


class Views:
    """Builds the view models of one site; caches what several pages share (cards, links)."""

    def __init__(self, library: Library, config: Config):
        self.library = library
        self.config = config
        self.slugs = library.theme_slugs()
        self._records = library.records
        self._cards: dict[tuple[str, dt.date | None, str], Card] = {}
        self._summaries: dict[dt.date, DaySummary] = {}

    # shared pieces

    def name(self, slug: str) -> str:
        return self.library.theme_name(slug)

    def theme_link(self, slug: str, count: int = 0, day: dt.date | None = None) -> ThemeLink:
        """Link a theme's page; with ``day``, also its section of that day's page."""
        section = urls.day_section(day, slug) if day else ""
        return ThemeLink(slug, self.name(slug), urls.theme_path(slug), count, section)

    def site(self) -> Site:
        """Return what every page shows; no counts, so a new day does not change every page."""
        counts = self.theme_totals
        links = tuple(self.theme_link(s) for s in [*self.slugs, OTHER] if counts[s])
        return Site(
            self.config.title,
            self.config.description,
            self.config.base_url,
            links,
            self.theme_link(OTHER),
        )

    @cached_property
    def theme_totals(self) -> dict[str, int]:
        """Papers per theme over the whole library (OTHER for papers with none)."""
        counts = count_themes(r.themes for r in self._records.values())
        return {s: counts[s] for s in [*self.slugs, OTHER]}

    @cached_property
    def related(self) -> dict[str, tuple[str, ...]]:
        return related_papers(self.library)

    @cached_property
    def days_by_date(self) -> dict[dt.date, LoadedDay]:
        return {d.date: d for d in self.library.days}

    def card(
        self, record: Record, date: dt.date | None = None, notes: str = "", position: int = 0
    ) -> Card:
        """Return the card of a paper as it appears on ``date`` (default: its first day).

        Theme pages ask for the card their paper had on its first day's page: one card for
        both, whatever its ``position`` (which only day pages show).
        """
        date = date or record.first_seen  # one card for "its first day", however it is asked
        key = (record.id, date, notes)
        card = self._cards.get(key)
        if card is None:
            card = self._cards[key] = self._make_card(record, date, notes, position)
        if position and card.position != position:  # made first for a theme page
            card = replace(card, position=position)
        return card

    def _make_card(self, record: Record, shown: dt.date, notes: str, position: int) -> Card:
        why = record.why
        badges = tuple(
            Badge(s, self.name(s), urls.theme_path(s), why.get(s, "filed here by hand"))
            for s in record.themes
        )
        card = Card(
            id=record.id,
            anchor=urls.paper_anchor(record.id),
            title=record.title,
            abstract=split_math(record.abstract),
            snippet=shorten(record.abstract, SNIPPET_CHARS),
            lead=first_sentence(record.abstract, LEAD_CHARS),
            badges=badges,
            date=shown,
            first_seen=day_link(record.first_seen),
            other_dates=tuple(day_link(d) for d in record.dates if d != shown),
            path=urls.paper_path(record.id),
            arxiv_url=urls.arxiv_search(record.title),
            hf_url=urls.hf_search(record.title),
            truncated=record.truncated,
            notes_html=render_notes(notes) if notes else "",
            position=position,
        )
        if record.meta is NO_META and not record.previous_ids and not is_arxiv_id(record.id):
            return card
        return with_facts(card, record)

    def day_summary(self, day: LoadedDay) -> DaySummary:
        if day.date not in self._summaries:
            self._summaries[day.date] = self._make_day_summary(day)
        return self._summaries[day.date]

    def _make_day_summary(self, day: LoadedDay) -> DaySummary:
        counts = count_themes(placed.themes for placed in day.placed)
        links = tuple(
            self.theme_link(s, counts[s], day.date) for s in [*self.slugs, OTHER] if counts[s]
        )
        return DaySummary(day.date, urls.day_path(day.date), len(day.placed), links)

    # pages

    def home(self) -> HomePage:
        days = self.library.days
        latest = days[-1] if days else None
        groups: tuple[tuple[ThemeLink, tuple[Card, ...]], ...] = ()
        if latest:
            top = by_upvotes if self.config.sort == "upvotes" else list  # `sort: source` too
            groups = tuple(
                (g.theme, tuple(top([*g.cards, *g.also])[:HOME_TOP]))
                for g in self.day_groups(latest)
                if g.theme.slug != OTHER
            )
        totals = self.theme_totals
        return HomePage(
            path=urls.HOME,
            template="home.html",
            title=self.config.title,
            description=self.config.description,
            latest=self.day_summary(latest) if latest else None,
            groups=groups,
            recent=tuple(self.day_summary(d) for d in reversed(days[-RECENT_DAYS:])),
            themes=tuple(self.theme_link(s, totals[s]) for s in [*self.slugs, OTHER]),
            trends=tuple((self.theme_link(s, totals[s]), self.trend(s)) for s in self.slugs),
        )

    def day_groups(self, day: LoadedDay) -> tuple[DayGroup, ...]:
        """Group a day's papers by theme: filed once, listed again under its other themes."""
        filed: dict[str, list[Card]] = {}
        also: dict[str, list[Card]] = {}
        intros = {s.slug: s.intro for s in day.day.sections}
        for position, placed in enumerate(day.placed):
            record = self._records[placed.paper.id]
            card = self.card(record, day.date, placed.paper.notes, position)
            primary = placed.themes[0] if placed.themes else OTHER
            filed.setdefault(primary, []).append(card)
            for slug in placed.themes[1:]:
                also.setdefault(slug, []).append(card)
        order = [s for s in [*self.slugs, OTHER] if s in filed or s in also]
        if self.config.sort == "upvotes":
            filed = {s: by_upvotes(cards) for s, cards in filed.items()}
            also = {s: by_upvotes(cards) for s, cards in also.items()}
        return tuple(
            DayGroup(
                self.theme_link(s, len(filed.get(s, ())) + len(also.get(s, ())), day.date),
                urls.section_id(s),
                render_notes(intros[s]) if intros.get(s) else "",
                tuple(filed.get(s, ())),
                tuple(also.get(s, ())),
                folded=s == OTHER and len(day.placed) > LARGE_DAY,
            )
            for s in order
        )

    def day(
        self, day: LoadedDay, previous: LoadedDay | None, following: LoadedDay | None
    ) -> DayPage:
        summary = self.day_summary(day)
        counts = ", ".join(f"{c.count} {c.name}" for c in summary.counts)
        groups = self.day_groups(day)
        return DayPage(
            path=urls.day_path(day.date),
            template="day.html",
            title=day.day.title,
            description=f"{summary.total} papers: {counts}.",
            date=day.date,
            intro_html=render_notes(day.day.intro) if day.day.intro else "",
            groups=groups,
            total=summary.total,
            previous=self.day_summary(previous) if previous else None,
            next=self.day_summary(following) if following else None,
            order=self.config.sort if has_upvotes(c for g in groups for c in g.cards) else "",
        )

    def theme_page(
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
        cards = tuple(self.card(r) for r in records)
        return ThemePage(
            path=urls.theme_path(slug, number),
            template="theme.html",
            title=name if is_main else f"{name}: papers of {_date_range(dates)}",
            description=description or f"Papers in {name}.",
            theme=self.theme_link(slug, total),
            theme_description=description,
            cards=cards,
            is_main=is_main,
            total=total,
            trend=self.trend(slug) if is_main and slug != OTHER else None,
            feed_path=urls.theme_feed_path(slug) if slug != OTHER else None,
            newer_path=None if newer is None else urls.theme_path(slug, newer),
            older_path=None if older is None else urls.theme_path(slug, older),
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
            order="source" if has_upvotes(cards) else "",
        )

    def paper_page(self, record: Record) -> PaperPage:
        card = self.card(record)
        return PaperPage(
            path=card.path,
            template="paper.html",
            title=record.title,
            description=shorten(record.abstract, DESCRIPTION_CHARS),
            card=card,
            dates=tuple(self.day_summary(self.days_by_date[d]) for d in record.dates),
            related=tuple(
                Related(self.card(other), self.related_reason(record, other))
                for other in (self._records[i] for i in self.related[record.id])
            ),
        )

    def related_reason(self, record: Record, other: Record) -> str:
        """Say why ``other`` is related: the authors and themes they share, and when it came."""
        theirs = set(other.meta.authors or ())
        shared = [a for a in record.meta.authors or () if a in theirs]
        parts = []
        if shared:
            names = ", ".join(shared[:AUTHORS_SHOWN]) + (" et al." * (len(shared) > AUTHORS_SHOWN))
            parts.append(f"{plural(len(shared), 'shared author')} ({names})")
        themes = [self.name(s) for s in record.themes if s in other.themes]
        if themes:
            parts.append("also in " + ", ".join(themes))
        days = (other.first_seen - record.first_seen).days
        later = "later" if days > 0 else "earlier"
        parts.append(f"first seen {plural(abs(days), 'day')} {later}" if days else "same day")
        return "; ".join(parts)

    def archive_pages(self) -> Iterator[ArchivePage]:
        years = self.archive_years()
        yield ArchivePage(
            urls.ARCHIVE, "archive.html", "Archive", "Every day, by month.", None, years
        )
        for year in years:
            yield ArchivePage(
                year.path, "archive.html", year.label, f"Papers of {year.label}.", year, years
            )
            for month in year.months:
                yield ArchivePage(
                    month.path, "archive.html", month.label, f"Papers of {month.label}.",
                    month, years,
                )  # fmt: skip

    def archive_years(self) -> tuple[ArchivePeriod, ...]:
        summaries = [self.day_summary(d) for d in reversed(self.library.days)]
        years = []
        for year, in_year in groupby(summaries, key=lambda s: s.date.year):
            year_days = tuple(in_year)
            months = tuple(
                _period(f"{year}-{month:02d}", f"{dt.date(year, month, 1):%B %Y}",
                        urls.month_path(year, month), days)
                for month, days in (
                    (m, tuple(g)) for m, g in groupby(year_days, key=lambda s: s.date.month)
                )
            )  # fmt: skip
            years.append(_period(str(year), str(year), urls.year_path(year), year_days, months))
        return tuple(years)

    def feed(self, slug: str | None) -> FeedPage:
        newest = self.library.newest_first if slug is None else self.library.papers_in(slug)
        entries = tuple(
            FeedEntry(
                r.id,
                r.title,
                r.abstract,
                urls.paper_path(r.id),
                r.first_seen,
                tuple(self.name(s) for s in r.themes),
                r.meta.authors or (),
            )
            for r in newest[:FEED_ENTRIES]
        )
        updated = max((r.last_seen for r in newest), default=None) or now().date()
        title = self.config.title + (f": {self.name(slug)}" if slug else "")
        return FeedPage(
            path=urls.FEED if slug is None else urls.theme_feed_path(slug),
            template="feed.xml",
            title=title,
            description=self.config.description,
            feed_id=f"digest:{slug or 'all'}",
            site_path=urls.HOME if slug is None else urls.theme_path(slug),
            updated=updated,
            entries=entries,
        )

    def papers_sitemap(self, path: str, records: Sequence[Record]) -> SitemapPage:
        return self.sitemap(path, [(urls.paper_path(r.id), r.last_seen) for r in records])

    def pages_sitemap(self) -> SitemapPage:
        days = self.library.days
        pages: list[tuple[str, dt.date | None]] = [(urls.HOME, days[-1].date if days else None)]
        pages += [(urls.day_path(d.date), d.date) for d in days]
        pages += [(urls.theme_path(s), None) for s in [*self.slugs, OTHER]]
        pages += [(urls.ARCHIVE, None)]
        return self.sitemap(urls.PAGES_SITEMAP, pages)

    def sitemap(
        self, path: str, listed: Sequence[tuple[str, dt.date | None]], is_index: bool = False
    ) -> SitemapPage:
        prefix = urls.link_prefix(self.config.base_url, path)
        return SitemapPage(path, "sitemap.xml", "Sitemap", "", prefix, tuple(listed), is_index)

    def redirect(self, previous_id: str, record: Record) -> RedirectPage:
        """The page at a paper's old permalink: a pointer to its permalink now."""
        return RedirectPage(
            urls.paper_path(previous_id),
            "redirect.html",
            record.title,
            "This paper's page has moved.",
            urls.paper_path(record.id),
        )

    def plain_pages(self) -> tuple[PlainPage, ...]:
        return (
            PlainPage(urls.SEARCH, "search.html", "Search", "Search every paper."),
            PlainPage(
                urls.STARRED, "starred.html", "Starred papers", "The papers you starred here."
            ),
            PlainPage(urls.NOT_FOUND, "404.html", "Page not found", "This page does not exist."),
            PlainPage(urls.ROBOTS, "robots.txt", "robots.txt", ""),
        )

    def trend(self, slug: str, width: int = 320, height: int = 100) -> Trend:
        chart = weekly_trend([r.first_seen for r in self.library.papers_in(slug)], width, height)
        # The chart's title element needs an id unique on the page: the theme name's words.
        return replace(chart, id="trend-" + self.name(slug).lower().replace(" ", "-"))


def with_facts(card: Card, record: Record) -> Card:
    """Add what the sources said (authors, upvotes, links) to a paper's card."""
    meta = record.meta
    arxiv = record.id if is_arxiv_id(record.id) else ""
    names = meta.authors or ()
    authors = (
        Authors(names, names[:AUTHORS_SHOWN], len(names) > AUTHORS_SHOWN, len(names) or None)
        if names
        else Authors(count=meta.author_count)
        if meta.author_count
        else NO_AUTHORS
    )
    code_url = urls.external(meta.github)
    summary = one_line(meta.summary or "")
    return replace(
        card,
        rich=True,
        lead=shorten(summary, LEAD_CHARS) if summary else card.lead,
        lead_is_tldr=bool(summary),
        authors=authors,
        upvotes=meta.upvotes,
        comments=meta.comments,
        tldr=meta.summary or "",
        keywords=meta.keywords or (),
        submitted_by=meta.submitted_by or "",
        arxiv_id=arxiv,
        arxiv_url=urls.arxiv_abstract(arxiv) if arxiv else card.arxiv_url,
        pdf_url=urls.arxiv_pdf(arxiv) if arxiv else "",
        hf_url=urls.hf_paper(arxiv) if arxiv else card.hf_url,
        code=CodeLink(code_url, urls.repository_name(code_url), meta.github_stars)
        if code_url
        else None,
        project_url=urls.external(meta.project_page),
        previous_anchors=tuple(urls.paper_anchor(i) for i in record.previous_ids),
    )


def has_upvotes(cards: Iterable[Card]) -> bool:
    """Tell whether some card has an upvote count (then "most upvoted" is an order)."""
    return any(c.upvotes is not None for c in cards)


def by_upvotes(cards: list[Card]) -> list[Card]:
    """Sort cards by upvotes, most first; cards without a count keep their order, last."""
    return sorted(cards, key=lambda c: (c.upvotes is None, -(c.upvotes or 0)))


def day_link(date: dt.date) -> DayLink:
    return DayLink(date, urls.day_path(date))


def split_math(text: str) -> tuple[Segment, ...]:
    """Split an abstract into text and ``$...$`` math runs (shown as text, set apart)."""
    return tuple(Segment(part, bool(MATH.fullmatch(part))) for part in MATH.split(text) if part)


def _period(
    key: str,
    label: str,
    path: str,
    days: tuple[DaySummary, ...],
    months: tuple[ArchivePeriod, ...] = (),
) -> ArchivePeriod:
    return ArchivePeriod(key, label, path, sum(s.total for s in days), days, months)


def _date_range(dates: Sequence[dt.date]) -> str:
    if not dates:
        return "no dates"
    first, last = min(dates), max(dates)
    return f"{first:%-d %b %Y}" if first == last else f"{first:%-d %b %Y} to {last:%-d %b %Y}"
