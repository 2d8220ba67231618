"""What the search index keeps of the settled blocks (those that no longer change while only
new days arrive) between builds, so that a new day reads only the recent blocks: the term
table (each term's volume and first occurrence, each paper's field lengths) and each chunk's
runs in those blocks, with the layout of chunk ranges they were cut by.
:mod:`digest.site.index` keeps them in the cache and :mod:`digest.site.assembly` reads them.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from digest.fsutil import write_atomic
from digest.site.lunr import Analysis, Run, extend_sizes
from digest.site.search import FIELDS, FORMAT, dumps, sha

Runs = list[tuple[int, Run]]
"""A term's runs, (block, run) in block order."""


def chain(prefix: str, digest: str) -> str:
    """Chain a block's analysis digest onto those of the blocks before it."""
    return sha(prefix + digest)


class TermTable:
    """What the index needs of every term in the settled blocks: volume, first occurrence.

    Settled blocks are those before the earliest possible checkpoint; the table over them is
    kept in the cache (keyed by their analyses' digests), so a new day reads only the few
    recent blocks. An edited old block is patched in (:meth:`patch`); any other change to one
    makes it start over from every analysis.
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


def runs_path(cache_dir: Path, start: str, end: str) -> Path:
    """Return where the settled runs of the chunk of terms ``start``-``end`` are cached."""
    return cache_dir / "runs" / runs_name(start, end)


def runs_name(start: str, end: str) -> str:
    """Return the file name of :func:`runs_path`: every build names every chunk's file, and
    joining 1,800 paths only to take their names back doubled that (14 ms against 7)."""
    return f"{sha(dumps([FORMAT, start, end]))[:24]}.marshal"


LAYOUT_FILE = "layout.marshal"
"""The cache file of the last build's chunk ranges: [start, end] of each, in term order."""


def read_layout(cache_dir: Path) -> list[tuple[str, str]]:
    """Return the last build's chunk ranges (none if it left no readable file)."""
    try:
        ranges = marshal.loads((cache_dir / LAYOUT_FILE).read_bytes())
        return [(str(start), str(end)) for start, end in ranges]
    except (OSError, ValueError, EOFError, TypeError):
        return []


def write_layout(cache_dir: Path, ranges: Sequence[tuple[str, str]]) -> None:
    """Leave this build's chunk ranges for the next (see
    :meth:`digest.site.assembly.Assembly.chunk_runs`)."""
    if read_layout(cache_dir) != list(ranges):
        data = marshal.dumps([list(r) for r in ranges])
        write_atomic(cache_dir / LAYOUT_FILE, data, durable=False)


def read_runs(
    path: Path | None, digests: Sequence[str], chains: Sequence[str]
) -> tuple[list[str], dict[str, Runs]] | None:
    """Return a chunk's cached settled runs: (the digest of each block's analysis they were
    taken from, term -> runs).

    An entry written before digests were kept per block, (blocks, their chain, runs), is
    taken when its chain is that of today's blocks (``chains``, of ``digests``): otherwise
    each chunk that folded in the month after an upgrade read every settled analysis again
    (0.4 s at 50,000 papers).
    """
    if path is None:
        return None
    try:
        data = marshal.loads(path.read_bytes())
        if len(data) == 3:  # the older entry
            blocks, chain, runs = data
            if not 0 <= blocks < len(chains) or chains[blocks] != chain:
                return None
            return list(digests[:blocks]), dict(runs)
        made_of, runs = data
        return list(made_of), dict(runs)
    except (OSError, ValueError, EOFError, TypeError):
        return None
