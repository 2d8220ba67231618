"""Merge new papers into digest pages (:class:`Day` records), without disk: pure functions.

Merging (not regenerating) is what keeps people's edits: papers a page already has are left
exactly as they are (notes, moves between themes), only new papers are added, and a dump
already recorded in a page's sources (same SHA-256) adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from digest.ingest.classify import classify
from digest.model import OTHER, OTHER_NAME, Day, Entry, Paper, Section, Source, Theme


def by_date(entries: Iterable[Entry]) -> dict[dt.date, list[Entry]]:
    groups: dict[dt.date, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.date, []).append(entry)
    return groups


def merge_dump(
    day: Day, source: Source, entries: Sequence[Entry], themes: Sequence[Theme]
) -> tuple[Day, int]:
    """Add the entries of one dump to a day; a dump already recorded adds nothing.

    Papers the page ever got from a dump stay out once deleted: each source lists them.
    """
    if any(source.same_file(s) for s in day.sources):
        return day, 0
    ingested = {i for s in day.sources for i in s.ids}
    known = {paper.id for _, paper in day.placed_papers()} | ingested
    added = 0
    for entry in entries:
        if entry.id in known:
            continue
        known.add(entry.id)
        day = add_paper(day, classify_entry(entry, themes), themes)
        added += 1
    before = next((s.ids for s in day.sources if s.file == source.file), ())
    ids = tuple(dict.fromkeys((*before, *(e.id for e in entries))))
    others = tuple(s for s in day.sources if s.file != source.file)
    return replace(day, sources=(*others, replace(source, ids=ids))), added


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


def entry_record(entry: Entry, themes: Sequence[Theme]) -> dict[str, object]:
    """Return what ``digest parse --json`` prints for one entry: its fields, themes and why."""
    paper = classify_entry(entry, themes)
    return {
        "id": entry.id,
        "title": entry.title,
        "abstract": entry.abstract,
        "date": entry.date.isoformat(),
        "themes": list(paper.themes),
        "why": paper.why,
        "source": entry.source,
        "line": entry.line,
        "truncated": entry.truncated,
    }


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
