"""The library: every digest page joined into one :class:`Library`, the data outputs read.

Gather everything first, then render: the day pages, theme pages, permalinks, feeds, search
index and email all see the same papers with the same themes and dates. Outputs read the
library only, never each other.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path

from digest.model import NO_META, OTHER, OTHER_NAME, Day, Meta, Paper, Theme, effective_themes
from digest.pages.cache import StoredDay, load_stored_days
from digest.pages.format import themes_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One paper across the whole library: every date it appeared on, all its themes."""

    id: str
    title: str
    abstract: str
    """Title and abstract as the latest day's page has them (a v2's new title), unless its
    abstract was cut off there and an earlier one was not."""
    themes: tuple[str, ...]
    """Every theme any of its days gave it, in order of first use."""
    why: dict[str, str] = field(hash=False)
    dates: tuple[dt.date, ...]
    """Every day it appeared on, oldest first."""
    truncated: bool = False
    meta: Meta = NO_META
    """What its pages say about it; where they differ, the latest day's page wins."""
    previous_ids: tuple[str, ...] = ()
    """Ids its pages say it had before: their permalinks redirect to this paper's."""

    @property
    def first_seen(self) -> dt.date:
        return self.dates[0]

    @property
    def last_seen(self) -> dt.date:
        return self.dates[-1]


@dataclass(frozen=True)
class Placed:
    """A paper as one day's page files it: the section it sits in and its themes there."""

    section: str
    paper: Paper
    themes: tuple[str, ...]


@dataclass(frozen=True)
class LoadedDay:
    """A day's page with each paper's effective themes worked out."""

    day: Day
    placed: tuple[Placed, ...]
    token: str = ""
    """Fingerprint of the page's content (see :class:`digest.pages.cache.StoredDay`)."""
    papers_token: str = ""
    """Fingerprint of its papers' searchable text alone (no notes); empty in memory."""
    records_token: str = ""
    """Fingerprint of all it says of its papers but their notes; empty in memory."""

    @property
    def date(self) -> dt.date:
        return self.day.date


@dataclass(frozen=True)
class Library:
    """All days (oldest first), all papers by id, and the configured themes."""

    days: tuple[LoadedDay, ...]
    records: dict[str, Record] = field(hash=False)
    themes: tuple[Theme, ...]

    def theme(self, slug: str) -> Theme | None:
        return next((t for t in self.themes if t.slug == slug), None)

    def theme_name(self, slug: str) -> str:
        """Return a theme's name (configured, or "Other"); a hand-made slug is its own name."""
        return self.theme_names.get(slug, slug)

    @cached_property
    def theme_names(self) -> dict[str, str]:
        """Map every configured slug, and OTHER, to its name: the one slug-to-name map."""
        return {t.slug: t.name for t in self.themes} | {OTHER: OTHER_NAME}

    def theme_slugs(self) -> list[str]:
        """Return configured slugs, then slugs only hand edits use, in first-use order."""
        slugs = [t.slug for t in self.themes]
        used = chain.from_iterable(placed.themes for day in self.days for placed in day.placed)
        if set(used).issubset(slugs):  # no hand-made slug: no need to find their first use
            return slugs
        for day in self.days:
            for placed in day.placed:
                slugs += [s for s in placed.themes if s not in slugs]
        return slugs

    def papers_in(self, slug: str) -> list[Record]:
        """Return the papers of a theme (or OTHER), newest first by the day they first appeared."""
        return list(self._by_theme.get(slug, ()))

    @cached_property
    def newest_first(self) -> tuple[Record, ...]:
        """Every paper, newest first by the day it first appeared (ties: by id, descending)."""
        records = self.records.values()
        return tuple(sorted(records, key=lambda r: (r.first_seen, r.id), reverse=True))

    @cached_property
    def _by_theme(self) -> dict[str, tuple[Record, ...]]:
        """Each theme's papers and OTHER's (those with no theme), newest first: one pass over
        one sort, where the plan, the feeds and the charts sorted every theme's again."""
        found: dict[str, list[Record]] = {OTHER: []}
        for record in self.newest_first:
            if not record.themes:
                found[OTHER].append(record)
            for slug in record.themes:
                found.setdefault(slug, []).append(record)
        return {slug: tuple(records) for slug, records in found.items()}


def load_library(
    digests_dir: Path, themes: tuple[Theme, ...], cache_dir: Path | None = None
) -> Library:
    """Read every digest page and join each paper's appearances into one record."""
    return library_from(load_stored_days(digests_dir, cache_dir), themes)


def library_from(stored: dict[dt.date, StoredDay], themes: tuple[Theme, ...]) -> Library:
    """Join the appearances of each paper in already-read digest pages into one record."""
    days = tuple(_loaded(stored[d]) for d in sorted(stored))
    return Library(days, _records(days), themes)


def _loaded(page: StoredDay) -> LoadedDay:
    placed = tuple(
        Placed(section, paper, effective_themes(section, paper.themes))
        for section, paper in page.day.placed_papers()
    )
    return LoadedDay(page.day, placed, page.token, page.papers_token, page.records_token)


def _records(days: tuple[LoadedDay, ...]) -> dict[str, Record]:
    """Merge appearances: text from the latest, themes from all (in order of first use)."""
    records: dict[str, Record] = {}
    for day in days:
        for placed in day.placed:
            paper = placed.paper
            known = records.get(paper.id)
            if known is None:
                records[paper.id] = Record(
                    paper.id,
                    paper.title,
                    paper.abstract,
                    placed.themes,
                    dict(paper.why),
                    (day.date,),
                    paper.truncated,
                    paper.meta,
                    paper.previous_ids,
                )
            else:
                records[paper.id] = _again(known, placed, day.date)
    return records


def _again(known: Record, placed: Placed, date: dt.date) -> Record:
    """Return a record with one more appearance: the latest text wins, unless it was cut off."""
    paper = placed.paper
    themes = known.themes + tuple(t for t in placed.themes if t not in known.themes)
    why = {**paper.why, **known.why}
    dates = known.dates if known.dates[-1] == date else (*known.dates, date)
    abstract, truncated = paper.abstract, paper.truncated
    if truncated and not known.truncated:
        abstract, truncated = known.abstract, False
    previous = known.previous_ids
    if paper.previous_ids:
        previous += tuple(i for i in paper.previous_ids if i not in previous)
    return Record(
        known.id,
        paper.title,
        abstract,
        themes,
        why,
        dates,
        truncated,
        known.meta.updated_by(paper.meta),
        previous,
    )


def warn_unknown_themes(stored: dict[dt.date, StoredDay], themes: tuple[Theme, ...]) -> int:
    """Warn, with file and line, of each slug on a ``themes:`` line that no theme has.

    A typo there (``quantisation``) silently made a theme page of its own. A slug is known
    if the themes file has it or some page has a section for it (a theme made by hand).
    """
    known = {t.slug for t in themes} | {OTHER}
    known |= {s.slug for page in stored.values() for s in page.day.sections}
    found = 0
    for date in sorted(stored):
        page = stored[date]
        for _, paper in page.day.placed_papers():
            for slug in paper.themes:
                if slug not in known:
                    found += 1
                    line = themes_line(page.read_text(), paper.id)
                    log.warning(
                        "warning: %s:%s: unknown theme %r on a themes: line (not in the "
                        "themes file, no page has a section for it); it gets a page of its own",
                        page.path, line, slug,
                    )  # fmt: skip
    return found
