"""Related papers: for each paper, the nearest in time among those sharing a theme."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from digest.pages.library import Library, Record

RELATED_COUNT = 5


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
