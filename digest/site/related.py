"""Related papers: those sharing authors first, then the nearest in time sharing a theme."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from digest.pages.library import Library, Record

RELATED_COUNT = 5
BY_AUTHORS = 3
"""At most this many of a paper's related papers come from shared authors; themes fill the rest."""
COMMON_AUTHOR = 50
"""A name on more papers than this (a common name, or a large lab's head) relates none."""


def related_papers(library: Library, count: int = RELATED_COUNT) -> dict[str, tuple[str, ...]]:
    """Pick, for each paper, papers sharing its authors, then the nearest in time sharing a theme.

    Authors first: a reader who opened a paper most often wants the same group's other work.
    Nearest-in-time neighbours in one sorted list per theme keep this linear in the number of
    papers, which matters at tens of thousands of them.
    """
    related = by_authors(library, min(BY_AUTHORS, count))
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


def by_authors(library: Library, count: int) -> dict[str, list[str]]:
    """Pick, for each paper, the papers sharing most of its authors (ties: by id), at most count.

    Names on more than COMMON_AUTHOR papers are skipped, which keeps this near linear.
    """
    papers_of: dict[str, list[str]] = {}
    for record in library.records.values():
        for name in set(record.meta.authors or ()):
            papers_of.setdefault(name, []).append(record.id)
    related: dict[str, list[str]] = {}
    for record in library.records.values():
        shared: Counter[str] = Counter()
        for name in set(record.meta.authors or ()):
            ids = papers_of[name]
            if len(ids) <= COMMON_AUTHOR:
                shared.update(i for i in ids if i != record.id)
        best = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:count]
        related[record.id] = [i for i, _ in best]
    return related
