"""Ingest raw dumps: parse, classify, and merge the papers into the dated Markdown digests.

Merging (not regenerating) is what keeps people's edits: a page already on disk is read back,
papers it already has are left exactly as they are (notes, moves between themes), only new
papers are added, and a dump already recorded in a page's sources (same SHA-256) adds nothing.
Everything is parsed and checked before the first byte is written; a page that could not be
read back without losing an edit is refused, naming the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from digest.digests import (
    day_title,
    digest_path,
    render_day,
    unchanged_by_reading,
)
from digest.errors import DigestError
from digest.fsutil import sha256_file, write_if_changed
from digest.model import OTHER, OTHER_NAME, Day, Entry, Paper, Section, Source, Theme
from digest.parse import parse_file
from digest.project import Project
from digest.store import StoredDay, load_stored_days
from digest.themes import classify


@dataclass(frozen=True)
class DayReport:
    """What ingest did to one day's page."""

    path: Path
    added: int
    written: bool


def ingest(
    project: Project,
    files: Sequence[Path],
    *,
    date: dt.date | None = None,
    year: int | None = None,
) -> list[DayReport]:
    """Merge the papers of ``files`` into the project's digests; return one report per day."""
    themes = project.themes
    year = year or project.config.year()
    dumps = [(path, parse_file(path, date=date, year=year)) for path in files]
    stored = load_stored_days(project.digests_dir, project.cache_dir)
    days = {d: s.day for d, s in stored.items()}
    added: dict[dt.date, int] = {}
    for path, entries in dumps:
        source = Source(path.name, sha256_file(path))
        for day_date, group in _by_date(entries).items():
            day = days.get(day_date) or Day(day_date, day_title(day_date))
            days[day_date], count = merge_dump(day, source, group, themes)
            added[day_date] = added.get(day_date, 0) + count
    days = mark_first_seen(days)
    slugs = [theme.slug for theme in themes]
    pending = {
        d: render_day(day, slugs)
        for d, day in sorted(days.items())
        if d not in stored or day is not stored[d].day
    }
    for d in pending:
        if d in stored:
            _refuse_unsafe_rewrite(stored[d])
    reports = []
    for d in sorted(set(added) | set(pending)):
        path = digest_path(project.digests_dir, d)
        written = d in pending and write_if_changed(path, pending[d].encode("utf-8"))
        reports.append(DayReport(path, added.get(d, 0), written))
    return reports


def _refuse_unsafe_rewrite(stored: StoredDay) -> None:
    line = unchanged_by_reading(stored.read_text(), stored.path)
    if line is not None:
        raise DigestError(
            "has hand edits digest cannot carry over (text outside a paper's notes, or a "
            "changed heading); move the edit under a paper. Nothing was written",
            stored.path,
            line,
        )


def _by_date(entries: Iterable[Entry]) -> dict[dt.date, list[Entry]]:
    groups: dict[dt.date, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.date, []).append(entry)
    return groups


def merge_dump(
    day: Day, source: Source, entries: Sequence[Entry], themes: Sequence[Theme]
) -> tuple[Day, int]:
    """Add the entries of one dump to a day; a dump already recorded adds nothing."""
    if source in day.sources:
        return day, 0
    known = {paper.id for _, paper in day.placed_papers()}
    added = 0
    for entry in entries:
        if entry.id in known:
            continue
        known.add(entry.id)
        day = add_paper(day, classify_entry(entry, themes), themes)
        added += 1
    others = tuple(s for s in day.sources if s.file != source.file)
    return replace(day, sources=(*others, source)), added


def classify_entry(entry: Entry, themes: Sequence[Theme]) -> Paper:
    """Turn a parsed entry into a paper with its themes and the reasons for each."""
    matches = classify(themes, entry.title, entry.abstract)
    return Paper(
        id=entry.id,
        title=entry.title,
        abstract=entry.abstract,
        themes=tuple(m.theme for m in matches),
        why={m.theme: m.explain() for m in matches},
        truncated=entry.truncated,
    )


def add_paper(day: Day, paper: Paper, themes: Sequence[Theme]) -> Day:
    """Append ``paper`` to its primary theme's section, creating the section where it belongs."""
    sections = list(day.sections)
    for i, section in enumerate(sections):
        if section.slug == paper.primary:
            sections[i] = replace(section, papers=(*section.papers, paper))
            return replace(day, sections=tuple(sections))
    rank = _section_rank(themes)
    new = Section(paper.primary, _section_name(paper.primary, themes), (paper,))
    position = next(
        (i for i, s in enumerate(sections) if rank(s.slug) > rank(new.slug)), len(sections)
    )
    sections.insert(position, new)
    return replace(day, sections=tuple(sections))


def _section_rank(themes: Sequence[Theme]) -> Callable[[str], int]:
    order = {theme.slug: i for i, theme in enumerate(themes)}

    def rank(slug: str) -> int:
        if slug == OTHER:
            return len(order) + 1
        return order.get(slug, len(order))

    return rank


def _section_name(slug: str, themes: Sequence[Theme]) -> str:
    if slug == OTHER:
        return OTHER_NAME
    return next((theme.name for theme in themes if theme.slug == slug), slug)


def mark_first_seen(days: dict[dt.date, Day]) -> dict[dt.date, Day]:
    """Mark each paper that appeared on an earlier day with the first date it was seen."""
    first: dict[str, dt.date] = {}
    for day_date in sorted(days):
        for _, paper in days[day_date].placed_papers():
            first.setdefault(paper.id, day_date)
    return {d: _with_first_seen(day, first) for d, day in days.items()}


def _with_first_seen(day: Day, first: dict[str, dt.date]) -> Day:
    """Return ``day`` itself when no mark changes, so unchanged pages are not rewritten."""

    def mark(paper: Paper) -> Paper:
        seen = first[paper.id] if first[paper.id] < day.date else None
        return paper if paper.first_seen == seen else replace(paper, first_seen=seen)

    sections = tuple(replace(s, papers=tuple(map(mark, s.papers))) for s in day.sections)
    if all(
        new is old
        for s, t in zip(sections, day.sections, strict=True)
        for new, old in zip(s.papers, t.papers, strict=True)
    ):
        return day
    return replace(day, sections=sections)
