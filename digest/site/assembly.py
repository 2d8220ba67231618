"""Assembling the search index's pieces from the analyses of its blocks (see digest.site.search).

Term chunks and their ranges (cut at terms chosen by their hash, so a change moves only the
range it falls in), checkpoints and tails (recent postings, folded into their chunk now and
then), and the cache of a chunk's runs between builds. Pure arithmetic over the analyses of
:mod:`digest.site.lunr`; :mod:`digest.site.index` writes the files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import marshal
import zlib
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any

from digest.fsutil import write_atomic
from digest.site import search
from digest.site.lunr import (
    RUN_SEGMENTS,
    Analysis,
    EditRanges,
    Run,
    digest_as_of,
    edit_ranges,
    extend_sizes,
    join_segments,
    js_sorted,
    split_run,
    utf16_key,
    vlq,
)
from digest.site.search import (
    FIELDS,
    FORMAT,
    POSITIONAL,
    Edits,
    SearchDoc,
    SearchPlan,
    dumps,
    load_analysis,
    sha,
)
from digest.site.terms import (
    Runs,
    TermTable,
    chain,
    read_layout,
    read_runs,
    runs_path,
)

log = logging.getLogger(__name__)

# --- assembling the pieces from the block analyses ------------------------------------------

Entry = list[Any]
"""A term in a piece: [term, rank in its first paper, postings of each field]."""


@dataclass(frozen=True)
class Chunk:
    """A range of terms whose postings before its checkpoint make one base chunk (or more)."""

    start: str
    """Its first term ("" for the first chunk); its phase and its group come from its hash."""
    end: str
    """The next chunk's first term ("" for the last chunk)."""
    members: tuple[str, ...]
    cut: int
    """Papers from this number on are in the tails."""
    key: str
    """What its base pieces are made of: its range, checkpoint and the blocks up to it."""


class Assembly:
    """Every term's volume and first occurrence, its runs where needed, and the layout.

    Runs of recent blocks (where checkpoints fall) are always at hand; runs of settled blocks
    are read only to rebuild a chunk (on a cold build, every chunk).
    """

    def __init__(
        self,
        plan: SearchPlan,
        table: TermTable,
        recent: dict[int, Analysis],
        digests: Sequence[str],
        edits: Sequence[Edits] = (),
        settled: dict[int, Analysis] | None = None,
    ):
        """``settled``: analyses of settled blocks already read (they are not read again)."""
        self.plan = plan
        self.starts = [b.start for b in plan.blocks]
        self.settled = table.blocks
        self.volume = dict(table.volume)
        self.first = dict(table.first)
        self.sizes = [list(field) for field in table.sizes]
        """Each field's length in each paper, in paper order (settled blocks, then recent)."""
        self.recent: dict[str, Runs] = {}
        for b in sorted(recent):
            self._add_recent(b, recent[b])
        self.days = days_of(plan.docs)
        self._chains = list(accumulate(digests, chain, initial=""))
        """Digests of the analyses of blocks 0..b-1: what a chunk cut in block b is made of."""
        self._digests = list(digests)
        self._edits: dict[int, EditRanges] = {
            b: edit_ranges(log) for b, log in enumerate(edits) if log
        }
        """Blocks with an edit log: (digest before, changed terms as UTF-16 keys) per edit."""
        self._edited_chains: dict[tuple[int, tuple[str, ...]], str] = {}
        self._analyses: dict[int, Analysis] = {**(settled or {}), **recent}
        self._merged: dict[str, Runs] | None = None
        self._last_layout: list[tuple[str, str, bytes, bytes | None]] | None = None
        """The last build's chunk ranges, read when a chunk's range is new."""
        self.chunk_list: list[Chunk] = []
        self.splits = SplitMemo(plan.cache_dir)

    def _add_recent(self, b: int, analysis: Analysis) -> None:
        volume, first, recent = self.volume, self.first, self.recent
        for name, run in analysis["runs"].items():
            known = volume.get(name)
            if known is None:
                volume[name] = run[2]
                first[name] = (b, run[0], run[1])
                recent[name] = [(b, run)]
            else:
                volume[name] = known + run[2]
                recent.setdefault(name, []).append((b, run))
        extend_sizes(self.sizes, analysis)

    @property
    def lengths(self) -> list[int]:
        """Each field's total length over every paper (lunr's average field length times n)."""
        return [sum(field) for field in self.sizes]

    def chunks(self) -> list[Chunk]:
        """Return the chunks, in term order."""
        keys = js_sorted(self.volume)
        limit = search.LAYOUT.chunk_postings
        found = []
        for lo, hi in chunk_ranges(keys, [self.volume[t] for t in keys], limit):
            start = keys[lo] if lo else ""
            cut = checkpoint(start, self.days, len(self.plan.docs))
            big = hi - lo == 1 and self.volume[keys[lo]] > limit
            end = keys[hi] if hi < len(keys) else ""
            made_of = [
                FORMAT, repr(search.LAYOUT), start, end, cut, big, self._made_of(cut, start, end)
            ]  # fmt: skip
            found.append(Chunk(start, end, tuple(keys[lo:hi]), cut, sha(dumps(made_of))))
        return found

    def _made_of(self, cut: int, start: str, end: str) -> str:
        """Name the papers before ``cut`` by their analyses: the blocks before the one it falls
        in, and in that one (a recent block) the papers before it.

        A block edited since an earlier analysis by changes none of which falls in the
        chunk's terms ``start``-``end`` is named by that earlier analysis: the chunk's
        postings are the same as they were then (see :func:`digest.site.search.edits_since`).
        """
        block = bisect_left(self.starts, cut + 1) - 1
        if block < 0:
            return ""
        inside = self._analyses[block]["papers"][: cut - self.starts[block]] if cut else []
        return sha(self._chain_for(block, start, end) + "".join(inside))

    def _chain_for(self, block: int, start: str, end: str) -> str:
        """Chain the digests of blocks 0..block-1, each edited block's as of its earliest
        analysis since which no change touched the terms ``start``-``end``."""
        edited = [b for b in self._edits if b < block]
        if not edited:
            return self._chains[block]
        low, high = utf16_key(start), utf16_key(end) if end else None
        named = tuple(digest_as_of(self._edits[b], self._digests[b], low, high) for b in edited)
        found = self._edited_chains.get((block, named))
        if found is None:
            digests = dict(zip(edited, named, strict=True))
            found = self._chains[edited[0]]
            for b in range(edited[0], block):
                found = chain(found, digests.get(b, self._digests[b]))
            self._edited_chains[(block, named)] = found
        return found

    def base(self, chunk: Chunk) -> tuple[list[list[Entry]], list[str]]:
        """Return a chunk's base pieces (lists of entries) and the terms they hold.

        A chunk of one term over the chunk size is cut into pieces at the block boundaries
        where the term's postings pass each multiple of the chunk size (fixed once passed).
        """
        entries: list[Entry] = []
        terms: list[str] = []
        runs = self.chunk_runs(chunk)
        for name in chunk.members:
            before = self._split(name, runs[name], chunk.cut)[0]
            if not before:
                continue
            rank = self.first[name][2]
            terms.append(name)
            if self.volume[name] > search.LAYOUT.chunk_postings:  # alone in its chunk
                groups = by_volume(before)
                return [[self._entry(name, rank, group)] for group in groups], terms
            entries.append(self._entry(name, rank, before))
        return ([entries] if entries else []), terms

    def tail(self, chunk: Chunk) -> list[tuple[Entry, int]]:
        """Return a chunk's tail entries, with their volumes (from recent blocks only)."""
        found = []
        for name in chunk.members:
            runs = self.recent.get(name)
            if runs is None:
                continue
            after = self._split(name, runs, chunk.cut)[1]
            if after:
                entry = self._entry(name, self.first[name][2], after)
                found.append((entry, sum(r[2] for _, r in after)))
        return found

    def chunk_runs(self, chunk: Chunk) -> dict[str, Runs]:
        """Return every run of a chunk's terms: settled runs from the chunk's cache entry,
        with the blocks whose analysis changed since it was made (an edit) and the blocks
        settled since read again; else from every settled analysis."""
        path = self.runs_path(chunk)
        found: dict[str, Runs] = {}
        again: Sequence[int] = range(self.settled)
        changed: set[int] = set()
        own = None
        if self._merged is not None:
            found = {n: self._merged[n] for n in chunk.members if n in self._merged}
            again = ()
        else:
            own = read_runs(path, self._digests, self._chains)
            cached = own or self._from_last_layout(chunk)
            if cached is not None and len(cached[0]) <= self.settled:
                made_of, found = cached
                changed = {b for b, digest in enumerate(made_of) if digest != self._digests[b]}
                if changed:
                    found = {n: [r for r in rs if r[0] not in changed] for n, rs in found.items()}
                again = [*sorted(changed), *range(len(made_of), self.settled)]
        for b in again:
            runs = self._analysis(b)["runs"]
            for name in chunk.members:
                run = runs.get(name)
                if run is not None:
                    found.setdefault(name, []).append((b, run))
        if changed:  # read out of block order
            for runs in found.values():
                runs.sort(key=itemgetter(0))
        if path is not None and (again or own is None):
            write_atomic(path, marshal.dumps((self._digests[: self.settled], found)), durable=False)
        return {name: found.get(name, []) + self.recent.get(name, []) for name in chunk.members}

    def merge_settled(self) -> None:
        """Gather every settled run by term at once: cheaper when most chunks are rebuilt."""
        merged: dict[str, Runs] = {}
        for b in range(self.settled):
            for name, run in self._analysis(b)["runs"].items():
                known = merged.get(name)
                if known is None:
                    merged[name] = [(b, run)]
                else:
                    known.append((b, run))
        self._merged = merged

    def runs_path(self, chunk: Chunk) -> Path | None:
        if self.plan.cache_dir is None:
            return None
        return runs_path(self.plan.cache_dir, chunk.start, chunk.end)

    def _from_last_layout(self, chunk: Chunk) -> tuple[list[str], dict[str, Runs]] | None:
        """Gather the settled runs of a chunk whose range is new (a range split, or moved)
        from the cached runs of the last build's ranges it overlaps: those ranges covered
        every term, so each term with settled runs was in one of them. Without this, such a
        chunk read every settled analysis: about one new day in six at 50,000 papers, 0.45 s.
        None unless all of them are cached, from the same analyses."""
        cache_dir = self.plan.cache_dir
        if cache_dir is None:
            return None
        if self._last_layout is None:  # read once, ends as UTF-16 keys (None: no end)
            self._last_layout = [
                (start, end, utf16_key(start), utf16_key(end) if end else None)
                for start, end in read_layout(cache_dir)
            ]
        low, high = utf16_key(chunk.start), utf16_key(chunk.end) if chunk.end else None
        members = set(chunk.members)
        sources = []
        for start, end, their_low, their_high in self._last_layout:
            if (high is not None and their_low >= high) or (
                their_high is not None and their_high <= low
            ):
                continue  # no overlap
            cached = read_runs(runs_path(cache_dir, start, end), self._digests, self._chains)
            if cached is None:
                return None
            sources.append(cached)
        if not sources:
            return None
        common = min(len(made_of) for made_of, _ in sources)  # blocks settled since: read
        made_of = sources[0][0][:common]
        found: dict[str, Runs] = {}
        for theirs, runs in sources:
            if theirs[:common] != made_of:
                return None
            for name in members.intersection(runs):
                kept = [run for run in runs[name] if run[0] < common]
                if kept:
                    found[name] = kept
        return made_of, found

    def _analysis(self, b: int) -> Analysis:
        analysis = self._analyses.get(b)
        if analysis is None:
            analysis = self._analyses[b] = load_analysis(self.plan.blocks[b], self.plan.cache_dir)
        return analysis

    def _split(self, name: str, runs: Runs, cut: int) -> tuple[Runs, Runs]:
        """Split a term's runs into postings of papers before ``cut`` and from ``cut`` on."""
        b, run = runs[-1]
        starts = self.starts
        if starts[b] + run[3] < cut:  # most terms: nothing since the checkpoint
            return runs, []
        before: Runs = []
        after: Runs = []
        for b, run in runs:
            local = cut - starts[b]
            if run[3] < local:
                before.append((b, run))
            elif run[0] >= local:
                after.append((b, run))
            else:  # the block the checkpoint falls in: decode, split, encode (or recall)
                early, late = self.splits.split(self.plan.blocks[b].key, name, run, local)
                before.append((b, early))
                after.append((b, late))
        return before, after

    def _entry(self, name: str, rank: int, runs: Runs) -> Entry:
        """Return a term's entry: its postings in these runs, numbered across the index.

        The rank is the term's place in its first paper; the browser orders terms by (their
        first paper, rank), the order lunr numbers them in.
        """
        starts = self.starts
        if len(runs) == 1:  # most terms: one block
            b, run = runs[0]
            fields = [
                "" if s is None else vlq(2 * (starts[b] + s[1]) + s[3]) + s[4]
                for s in run[RUN_SEGMENTS:]
            ]
        else:
            fields = [
                join_segments([(starts[b], run[RUN_SEGMENTS + f]) for b, run in runs])
                for f in range(len(FIELDS))
            ]
        return [name, rank, *fields]


class SplitMemo:
    """Runs split at a checkpoint, kept between builds (``splits.marshal``, ~300 KB).

    Every build splits, for each chunk, the runs of the block its checkpoint falls in: at
    50,000 papers 2,000 runs, decoded and encoded again, 0.1 s of a new day, though a
    checkpoint moves once a month and an old block never changes. A split is a function of
    the block's analysis (named by its key), the term and the place of the cut, so those
    name it here. Only the splits a build used are kept for the next.
    """

    def __init__(self, cache_dir: Path | None):
        self.path = None if cache_dir is None else cache_dir / "splits.marshal"
        self.known: dict[tuple[str, int, str], tuple[Run, Run]] = {}
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
                known = marshal.loads(self.path.read_bytes())
                self.known = known if isinstance(known, dict) else {}
        self.used: dict[tuple[str, int, str], tuple[Run, Run]] = {}
        self.made = 0

    def split(self, block_key: str, name: str, run: Run, local: int) -> tuple[Run, Run]:
        """Split a block's run of a term before the block's paper ``local``."""
        key = (block_key, local, name)
        found = self.used.get(key) or self.known.get(key)  # a chunk's base and tail split alike
        if found is None:
            found = split_run(run, local, POSITIONAL)
            self.made += 1
        self.used[key] = found
        return found

    def save(self) -> None:
        """Keep this build's splits for the next, if any was new or any went unused."""
        if self.path is not None and (self.made or len(self.used) != len(self.known)):
            try:
                write_atomic(self.path, marshal.dumps(self.used), durable=False)
            except OSError as exc:  # a speed-up only: warned of, not a failed build
                log.warning("could not write the cache %s: %s", self.path.parent, exc)


def level(text: str) -> int:
    """Return a term's level from its hash: 0 for 3 terms in 4, 1 for 3 in 16, and so on.

    CRC-32 is no cryptographic hash, but spreads terms evenly and costs a tenth of SHA-1:
    every term's level is computed on every build.
    """
    value = zlib.crc32(text.encode("utf-8")) | 1 << 32
    return ((value & -value).bit_length() - 1) // 2


def hash_int(text: str, salt: str) -> int:
    return zlib.crc32(f"{salt}\0{text}".encode())


def chunk_ranges(keys: Sequence[str], volumes: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Cut sorted terms into ranges of at most ``limit`` postings, at terms of high level.

    A range over the limit is cut at every term of the highest level it holds, and each part
    again one level lower, so where the cuts fall depends on the terms near them only: more
    postings or new terms elsewhere leave a range alone. A single term over the limit stays a
    range of its own (its postings are cut by papers instead).
    """
    levels = [level(t) for t in keys]
    prefix = list(accumulate(volumes, initial=0))
    found: list[tuple[int, int]] = []
    stack = [(0, len(keys), max(levels, default=0))]
    while stack:
        lo, hi, at = stack.pop()
        if hi - lo <= 1 or prefix[hi] - prefix[lo] <= limit:
            if hi > lo:
                found.append((lo, hi))
            continue
        cuts = [i for i in range(lo + 1, hi) if levels[i] >= at]
        if not cuts:
            stack.append((lo, hi, at - 1))
            continue
        bounds = [lo, *cuts, hi]
        parts = list(zip(bounds, bounds[1:], strict=False))
        stack += [(a, b, at - 1) for a, b in reversed(parts)]
    return found


@dataclass(frozen=True)
class Days:
    """Papers by first day: ``starts[i]`` is the number of the first paper of ``ordinals[i]``."""

    ordinals: list[int]
    starts: list[int]


def days_of(docs: Sequence[SearchDoc]) -> Days:
    ordinals: list[int] = []
    starts: list[int] = []
    for i, doc in enumerate(docs):
        if not i or doc.date != docs[i - 1].date:
            ordinals.append(dt.date.fromisoformat(doc.date).toordinal())
            starts.append(i)
    return Days(ordinals, starts)


def checkpoint(start: str, days: Days, total: int) -> int:
    """Return the first paper a chunk leaves to the tails: the papers of its checkpoint day on.

    The checkpoint is the last day (up to the day after the newest paper) whose number plus
    the chunk's phase is a multiple of ``fold_days``. It moves for about one chunk in
    ``fold_days`` a day, so a day folds few chunks, and tails hold at most ``fold_days`` days.
    """
    if not days.ordinals:
        return total
    after = days.ordinals[-1] + 1
    day = after - (after + hash_int(start, "phase")) % search.LAYOUT.fold_days
    i = bisect_left(days.ordinals, day)
    return days.starts[i] if i < len(days.starts) else total


def by_volume(runs: Runs) -> list[Runs]:
    """Group a big term's runs, starting a group where the postings pass a chunk's size."""
    groups: list[Runs] = []
    total = 0
    limit = search.LAYOUT.chunk_postings
    for b, run in runs:
        if not groups or total // limit != (total + run[2]) // limit:
            groups.append([])
        groups[-1].append((b, run))
        total += run[2]
    return groups
