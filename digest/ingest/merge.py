"""Merge new papers into digest pages (:class:`Day` records), without disk: pure functions.

Merging (not regenerating) is what keeps people's edits: papers a page already has are left
exactly as they are (notes, moves between themes, title, metadata lines), only new papers are
added, and a dump already recorded in a page's sources (same SHA-256) adds nothing. The one
thing a new source adds to a paper a page has is what the page does not say yet: a text dump's
paper seen again in an API response gains its authors, upvotes and links (:meth:`Meta.filled_from`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from digest.ingest.classify import classify
from digest.model import NO_META, OTHER, OTHER_NAME, Day, Entry, Paper, Section, Source, Theme


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
            if entry.meta is not NO_META:
                day = fill_meta(day, entry)
            continue
        known.add(entry.id)
        day = add_paper(day, classify_entry(entry, themes), themes)
        added += 1
    before = next((s.ids for s in day.sources if s.file == source.file), ())
    ids = tuple(dict.fromkeys((*before, *(e.id for e in entries))))
    others = tuple(s for s in day.sources if s.file != source.file)
    return replace(day, sources=(*others, replace(source, ids=ids))), added


def fill_meta(day: Day, entry: Entry) -> Day:
    """Add what ``entry`` says to the paper of its id on ``day``, where the page says nothing."""
    sections = list(day.sections)
    for i, section in enumerate(sections):
        for j, paper in enumerate(section.papers):
            if paper.id == entry.id:
                meta = paper.meta.filled_from(entry.meta)
                if meta is paper.meta:
                    return day
                papers = (*section.papers[:j], replace(paper, meta=meta), *section.papers[j + 1 :])
                sections[i] = replace(section, papers=papers)
                return replace(day, sections=tuple(sections))
    return day


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
        meta=entry.meta,
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
        "arxiv_id": entry.arxiv_id,
        **{name: _plain(getattr(entry.meta, name)) for name in RECORD_META},
    }


RECORD_META = (
    "authors",
    "author_count",
    "upvotes",
    "github",
    "github_stars",
    "project_page",
    "summary",
    "keywords",
    "comments",
    "submitted_by",
)
"""The :class:`Meta` fields ``digest parse --json`` prints, in its order; null when unknown."""


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def add_paper(day: Day, paper: Paper, themes: Sequence[Theme]) -> Day:
    """Append ``paper`` to its primary theme's section, creating the section where it belongs."""
    return place(day, paper.primary, paper, themes)


def place(day: Day, slug: str, paper: Paper, themes: Sequence[Theme]) -> Day:
    """Append ``paper`` to section ``slug``, creating the section where the themes order puts it."""
    sections = list(day.sections)
    for i, section in enumerate(sections):
        if section.slug == slug:
            sections[i] = replace(section, papers=(*section.papers, paper))
            return replace(day, sections=tuple(sections))
    rank = section_order(themes)
    new = Section(slug, section_title(slug, themes), (paper,))
    position = next(
        (i for i, s in enumerate(sections) if rank(s.slug) > rank(new.slug)), len(sections)
    )
    sections.insert(position, new)
    return replace(day, sections=tuple(sections))


def section_order(themes: Sequence[Theme]) -> Callable[[str], int]:
    """Rank sections as the themes file orders them; unknown slugs after, Other last."""
    order = {theme.slug: i for i, theme in enumerate(themes)}

    def rank(slug: str) -> int:
        if slug == OTHER:
            return len(order) + 1
        return order.get(slug, len(order))

    return rank


def section_title(slug: str, themes: Sequence[Theme]) -> str:
    """Return the heading of a theme's section: its configured name."""
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


def _marks_move(day: Day, first: dict[str, dt.date]) -> bool:
    """Tell whether any paper of ``day`` gets another first-seen mark (a plain loop: it runs
    for every paper of the archive at each ingest)."""
    date = day.date
    for section in day.sections:
        for paper in section.papers:
            seen = first[paper.id]
            if paper.first_seen != (seen if seen < date else None):
                return True
    return False


def _with_first_seen(day: Day, first: dict[str, dt.date]) -> Day:
    """Return ``day`` itself when no mark changes, so unchanged pages are not rewritten."""

    def seen(paper: Paper) -> dt.date | None:
        return first[paper.id] if first[paper.id] < day.date else None

    def mark(paper: Paper) -> Paper:
        mark = seen(paper)
        return paper if paper.first_seen == mark else replace(paper, first_seen=mark)

    if not _marks_move(day, first):
        return day  # most days: looked at, not rebuilt (1,000 days at each ingest)
    sections = tuple(replace(s, papers=tuple(map(mark, s.papers))) for s in day.sections)
    if all(
        new is old
        for s, t in zip(sections, day.sections, strict=True)
        for new, old in zip(s.papers, t.papers, strict=True)
    ):
        return day
    return replace(day, sections=sections)
