"""The term table: what the search index needs of every term in the blocks that no longer
change while only new days arrive (each term's volume and first occurrence, each paper's
field lengths), kept between builds so that a new day reads only the recent blocks.
:mod:`digest.site.index` keeps it in the cache and :mod:`digest.site.assembly` reads it.
"""

from __future__ import annotations

import marshal
from typing import Any

from digest.site.lunr import Analysis, extend_sizes
from digest.site.search import FIELDS, sha


def chain(prefix: str, digest: str) -> str:
    """Chain a block's analysis digest onto those of the blocks before it."""
    return sha(prefix + digest)


class TermTable:
    """What the index needs of every term in the settled blocks: volume, first occurrence.

    Settled blocks are those before the earliest possible checkpoint; the table over them is
    kept in the cache (keyed by their analyses' digests), so a new day reads only the few
    recent blocks. A changed old block makes it start over from every analysis.
    """

    def __init__(self) -> None:
        self.blocks = 0
        self.chain = ""
        self.volume: dict[str, int] = {}
        self.first: dict[str, tuple[int, int, int]] = {}
        """term -> (block, number in block, rank) of its first occurrence."""
        self.sizes: list[list[int]] = [[] for _ in FIELDS]
        """Each field's length in each paper of the settled blocks (for the position pieces)."""

    def absorb(self, b: int, analysis: Analysis) -> None:
        """Add block ``b`` (the next one) to the table."""
        volume, first = self.volume, self.first
        for name, run in analysis["runs"].items():
            known = volume.get(name)
            if known is None:
                volume[name] = run[2]
                first[name] = (b, run[0], run[1])
            else:
                volume[name] = known + run[2]
        extend_sizes(self.sizes, analysis)
        self.blocks = b + 1
        self.chain = chain(self.chain, analysis["digest"])

    def patch(self, b: int, start: int, analysis: Analysis, edit: list[Any]) -> bool:
        """Take in settled block ``b``'s analysis after ``edit`` (the last of its log: the
        terms it changed, with how their runs began before), where the table holds the
        analysis before it; ``start`` is the block's first paper. Return False where the
        table cannot tell the outcome (a term's first paper moved to a later block): it is
        then made again from every analysis (0.4 s at 50,000 papers)."""
        runs, volume, first = analysis["runs"], self.volume, self.first
        for name, head in zip(edit[1], edit[2], strict=True):
            run = runs.get(name)
            total = volume.get(name, 0) - (head[2] if head else 0) + (run[2] if run else 0)
            if total <= 0:
                if total < 0:
                    return False
                volume.pop(name, None)
                first.pop(name, None)
                continue
            volume[name] = total
            known = first.get(name)
            if known is not None and known[0] < b:
                continue
            if run is not None:
                first[name] = (b, run[0], run[1])
            elif known is None or known[0] == b:
                return False
        for mine, theirs in zip(self.sizes, analysis["sizes"], strict=True):
            mine[start : start + len(theirs)] = theirs
        return True

    def dump(self) -> bytes:
        return marshal.dumps((self.blocks, self.chain, self.volume, self.first, self.sizes))

    @classmethod
    def undump(cls, data: bytes) -> TermTable:
        table = cls()
        loaded = marshal.loads(data)
        table.blocks, table.chain, table.volume, table.first, table.sizes = loaded
        return table
