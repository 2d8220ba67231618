"""Related papers: those sharing authors first, then the nearest in time sharing a theme."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from digest.pages.library import Library

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
    by_theme: dict[str, list[str]] = {}
    for record in reversed(library.newest_first):  # oldest first, by (first day, id)
        for slug in record.themes:
            by_theme.setdefault(slug, []).append(record.id)
    for members in by_theme.values():
        for i, paper_id in enumerate(members):
            mine = related[paper_id]
            if len(mine) >= count:
                continue
            for j in _around(i, len(members)):
                other = members[j]
                if other not in mine:
                    mine.append(other)
                    if len(mine) >= count:
                        break
    return {k: tuple(v) for k, v in related.items()}


def _around(i: int, size: int) -> Iterator[int]:
    """Yield the places nearest ``i`` in a list of ``size``: i-1, i+1, i-2, i+2, ..."""
    for step in range(1, size):
        before, after = i - step, i + step
        if before < 0 and after >= size:
            return
        if before >= 0:
            yield before
        if after < size:
            yield after


def by_authors(library: Library, count: int) -> dict[str, list[str]]:
    """Pick, for each paper, the papers sharing most of its authors (ties: by id), at most count.

    Names on more than COMMON_AUTHOR papers are skipped, which keeps this near linear; so are
    papers without authors (those of text dumps), which cost nothing here.
    """
    papers_of: dict[str, list[str]] = {}
    authored: list[tuple[str, set[str]]] = []
    for record in library.records.values():
        if record.meta.authors:
            names = set(record.meta.authors)
            authored.append((record.id, names))
            for name in names:
                papers_of.setdefault(name, []).append(record.id)
    related: dict[str, list[str]] = {paper_id: [] for paper_id in library.records}
    for paper_id, names in authored:
        shared: Counter[str] = Counter()
        for name in names:
            ids = papers_of[name]
            if 1 < len(ids) <= COMMON_AUTHOR:  # alone on a name: nobody to share it with
                shared.update(ids)
        shared.pop(paper_id, None)
        if shared:
            best = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:count]
            related[paper_id] = [i for i, _ in best]
    return related
