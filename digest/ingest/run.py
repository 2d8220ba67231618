"""Ingest raw dumps: parse, classify, and merge the papers into the dated Markdown digests.

Everything is parsed and checked before the first byte is written; a page that could not be
read back without losing an edit is refused, naming the file. The pages written are returned,
parsed, so a build that ingests goes on with them instead of reading them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.fsutil import sha1_hex, sha256_file, write_if_changed
from digest.ingest.identity import known_papers, resolve_ids
from digest.ingest.merge import by_date, mark_first_seen, merge_dump
from digest.ingest.parse import parse_file
from digest.model import Day, Entry, Source, Theme
from digest.pages.cache import DayCache, StoredDay, load_stored_days
from digest.pages.format import day_title, digest_path, render_day, unchanged_by_reading


@dataclass(frozen=True)
class DayReport:
    """What ingest did to one day's page."""

    path: Path
    added: int
    written: bool
    page: StoredDay | None = None
    """The page as written (parsed, with its content hash), when it was written."""


def ingest(
    digests_dir: Path,
    files: Sequence[Path],
    themes: Sequence[Theme],
    *,
    year: int | None,
    date: dt.date | None = None,
    cache_dir: Path | None = None,
    stored: dict[dt.date, StoredDay] | None = None,
    later: list[Callable[[], None]] | None = None,
) -> tuple[DayReport, ...]:
    """Merge the papers of ``files`` into the digests in ``digests_dir``; report on each day.

    ``stored`` is the pages already read (a build has them); ``later`` queues cache writes.
    """
    parsed = [(path, parse_file(path, date=date, year=year)) for path in files]
    if stored is None:
        stored = load_stored_days(digests_dir, cache_dir)
    days = {d: s.day for d, s in stored.items()}
    dumps = _distinct_ids(parsed, days)
    added: dict[dt.date, int] = {}
    for path, entries in dumps:
        source = Source(path.name, sha256_file(path))
        for day_date, group in by_date(entries).items():
            day = days.get(day_date) or Day(day_date, day_title(day_date))
            days[day_date], count = merge_dump(day, source, group, themes)
            added[day_date] = added.get(day_date, 0) + count
    days = mark_first_seen(days)
    slugs = [theme.slug for theme in themes]
    pending = {
        d: render_day(day, slugs).encode("utf-8")
        for d, day in sorted(days.items())
        if d not in stored or day is not stored[d].day
    }
    for d in pending:
        if d in stored:
            _refuse_unsafe_rewrite(stored[d])
    cache = DayCache(cache_dir, later)
    reports = []
    for d in sorted(set(added) | set(pending)):
        path = digest_path(digests_dir, d)
        page = None
        if d in pending and write_if_changed(path, pending[d]):
            page = cache.remember(StoredDay(path, days[d], sha1_hex(pending[d])))
        reports.append(DayReport(path, added.get(d, 0), page is not None, page))
    return tuple(reports)


def _distinct_ids(
    parsed: list[tuple[Path, list[Entry]]], days: dict[dt.date, Day]
) -> list[tuple[Path, list[Entry]]]:
    """Give papers whose titles differ only in punctuation ids of their own (see identity)."""
    known = known_papers(
        (paper.id, paper.title, paper.abstract)
        for d in sorted(days)
        for _, paper in days[d].placed_papers()
    )
    entries = iter(resolve_ids((e for _, group in parsed for e in group), known))
    return [(path, [next(entries) for _ in group]) for path, group in parsed]


def _refuse_unsafe_rewrite(stored: StoredDay) -> None:
    line = unchanged_by_reading(stored.read_text(), stored.path)
    if line is not None:
        raise DigestError(
            "has hand edits digest cannot carry over (text outside a paper's notes, or a "
            "changed heading); move the edit under a paper. Nothing was written",
            stored.path,
            line,
        )
