"""Ingest raw dumps: parse, classify, and merge the papers into the dated Markdown digests.

Everything is parsed and checked before the first byte is written; a page that could not be
read back without losing an edit is refused, naming the file. Papers are matched by identity
first (:mod:`digest.ingest.identity`): a paper whose arXiv id becomes known takes it on every
page it is on. The pages written are returned,
parsed, so a build that ingests goes on with them instead of reading them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from digest.errors import DigestError
from digest.fsutil import sha1_hex, sha256_file, write_atomic, write_if_changed
from digest.ingest.identity import (
    KnownPapers,
    identities,
    resolve_entry,
    resolve_ids,
    upgrade_day,
)
from digest.ingest.merge import by_date, mark_first_seen, merge_dump
from digest.ingest.parse import parse_file
from digest.ingest.retheme import retheme_day
from digest.model import Day, Entry, Moves, Source, Theme
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
    if not any(entries for _, entries in parsed):  # only days without papers: nothing to do
        return ()
    days = {d: s.day for d, s in stored.items()}
    known = identities((e for _, entries in parsed for e in entries), days.values())
    days = {d: upgrade_day(day, known) for d, day in days.items()}
    resolved = [(path, [resolve_entry(e, known) for e in entries]) for path, entries in parsed]
    dumps = _distinct_ids(resolved, days)
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
    if not stored and any(report.written for report in reports):
        _record(digests_dir / RULES_STATE, rules_fingerprint(themes))  # all made by these rules
    return tuple(reports)


def _distinct_ids(
    parsed: list[tuple[Path, list[Entry]]], days: dict[dt.date, Day]
) -> list[tuple[Path, list[Entry]]]:
    """Give papers whose titles differ only in punctuation ids of their own (see identity)."""
    known = KnownPapers(days[d] for d in sorted(days))
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


RULES_STATE = ".themes-applied"
"""In the digests folder: the fingerprint of the rules every page was last themed with."""


def rules_fingerprint(themes: Sequence[Theme]) -> str:
    """Fingerprint what decides a paper's themes: the rules, not the names or descriptions."""
    rules = [replace(theme, name="", description="") for theme in themes]
    return sha1_hex(repr(rules).encode("utf-8"))


def retheme(
    digests_dir: Path,
    stored: dict[dt.date, StoredDay],
    themes: Sequence[Theme],
    *,
    fresh: bool = False,
    cache_dir: Path | None = None,
    later: list[Callable[[], None]] | None = None,
) -> tuple[dict[dt.date, StoredDay], Moves]:
    """Re-theme every page if the rules changed since they were last applied; write the moved.

    Returns every page as it now stands, and what moved (with the pages written).

    ``fresh`` says every page was just made with these rules (a first ingest), so there is
    nothing to re-theme. Pages are checked like ingest's before anything is written.
    """
    state = digests_dir / RULES_STATE
    fingerprint = rules_fingerprint(themes)
    if _applied(state) == fingerprint or not stored:
        return stored, Moves()
    if fresh:  # made with these rules just now
        return stored, Moves(recorded=_record(state, fingerprint))
    slugs = [theme.slug for theme in themes]
    changed: dict[dt.date, tuple[Day, bytes]] = {}
    moves = Moves()
    for date, page in stored.items():
        day, moved = retheme_day(page.day, themes)
        moves += moved
        if day is not page.day:
            changed[date] = (day, render_day(day, slugs).encode("utf-8"))
    for date in changed:
        _refuse_unsafe_rewrite(stored[date])
    cache = DayCache(cache_dir, later)
    pages = dict(stored)
    for date, (day, data) in changed.items():
        path = stored[date].path
        write_atomic(path, data)
        pages[date] = cache.remember(StoredDay(path, day, sha1_hex(data)))
    recorded = _record(state, fingerprint)
    return pages, replace(moves, pages=tuple(stored[d].path for d in changed), recorded=recorded)


def _applied(state: Path) -> str | None:
    try:
        return state.read_text(encoding="utf-8").split()[-1]
    except (OSError, IndexError):
        return None


def _record(state: Path, fingerprint: str) -> bool:
    """Write the rules' fingerprint; return True if the file changed."""
    note = "# digest: the rules (content/themes.yaml) these pages were last themed with\n"
    return write_if_changed(state, (note + fingerprint + "\n").encode("utf-8"))
