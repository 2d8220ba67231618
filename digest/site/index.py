"""The search index's files: chunks, tails, directories, vocabularies, positions, manifest.

:func:`index_files` returns each file with its key (what it is made of, derived from the keys of
the blocks it holds) and a way to make its bytes on demand, so the build writes only the files
the last build's differ from; it runs in the build's main process while the workers render.
"""

from __future__ import annotations

import json
import marshal
import os
from bisect import bisect_left
from collections.abc import Sequence
from functools import partial, reduce
from pathlib import Path
from typing import Any

from digest.fsutil import write_atomic
from digest.site import search
from digest.site.assembly import (
    Assembly,
    Chunk,
    Days,
    Entry,
    days_of,
    hash_int,
)
from digest.site.lunr import LUNR_VERSION, Analysis, gap_vlqs, vlqs
from digest.site.search import (
    FIELDS,
    FORMAT,
    Edits,
    SearchFile,
    SearchPlan,
    dumps,
    load_analysis,
    sha,
)
from digest.site.terms import TermTable, chain, runs_name, write_layout
from digest.urls import SEARCH_DIR, SEARCH_MANIFEST


def _prune_runs(cache_dir: Path | None, chunks: Sequence[Chunk]) -> None:
    """Remove cached runs of chunks the layout no longer has (a chunk that split)."""
    if cache_dir is None or not (cache_dir / "runs").is_dir():
        return
    kept = {runs_name(chunk.start, chunk.end) for chunk in chunks}
    with os.scandir(cache_dir / "runs") as entries:
        stale = [entry.path for entry in entries if entry.name not in kept]
    for path in stale:
        Path(path).unlink(missing_ok=True)


def _settled(plan: SearchPlan) -> int:
    """Return how many blocks come before any chunk's checkpoint can fall (and never change
    while only new days arrive): the table over them is kept between builds."""
    days = days_of(plan.docs)
    if not days.ordinals:
        return 0
    earliest = days.ordinals[-1] + 1 - search.LAYOUT.fold_days
    i = bisect_left(days.ordinals, earliest)
    first = days.starts[i] if i < len(days.starts) else len(plan.docs)
    return bisect_left([b.start for b in plan.blocks], first + 1) - 1


def _recent(plan: SearchPlan, settled: int) -> range:
    return range(settled, len(plan.blocks))


def _term_table(
    plan: SearchPlan, settled: int, loaded: dict[int, Analysis]
) -> tuple[TermTable, list[str], list[Edits]]:
    """Return the term table over the settled blocks, and the digest and the edit log of
    the analysis of each of them (see :func:`digest.site.search.edits_since`). The analyses
    it reads go into ``loaded``: after an edit, the chunks to rebuild read them again.

    The cached table is reused if the analyses it covers are unchanged: a block whose key
    changed (a note added to one of its pages) is read to compare its digest; one whose last
    edit changed the analysis the table holds (a title edited) is patched. Blocks settled
    since are read and added. Otherwise it is made again from every analysis.
    """
    path = None if plan.cache_dir is None else plan.cache_dir / "terms.marshal"
    keys = [b.key for b in plan.blocks]
    table = TermTable()
    known: list[str] = []
    edits: list[Edits] = []
    cached = _cached_table(path)
    if cached is not None and cached[0].blocks <= settled and _same(plan, *cached, loaded):
        table, known, edits = cached[0], cached[2], cached[3]
    for b in range(table.blocks, settled):
        analysis = loaded.get(b) or load_analysis(plan.blocks[b], plan.cache_dir)
        loaded[b] = analysis
        table.absorb(b, analysis)
        known.append(analysis["digest"])
        edits.append(analysis.get("edits", []))
    if path is not None and (cached is None or cached[1] != keys[:settled]):
        data = marshal.dumps((keys[:settled], known, table.dump(), edits))
        write_atomic(path, data, durable=False)
    return table, known, edits


def _cached_table(path: Path | None) -> tuple[TermTable, list[str], list[str], list[Edits]] | None:
    """Return (table, block keys, digests, edit logs) from the cache, if there is a readable
    one."""
    if path is None:
        return None
    try:
        keys, digests, data, edits = marshal.loads(path.read_bytes())
        return TermTable.undump(data), list(keys), list(digests), list(edits)
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _same(
    plan: SearchPlan,
    table: TermTable,
    keys: list[str],
    digests: list[str],
    edits: list[Edits],
    loaded: dict[int, Analysis],
) -> bool:
    """Tell whether the blocks a cached table covers still have the analyses it was made of,
    or edits of them that the table takes in (:meth:`TermTable.patch`); ``digests`` and
    ``edits`` are brought up to date with the blocks read, which go into ``loaded``."""
    if len(keys) != table.blocks or len(digests) != table.blocks or len(edits) != table.blocks:
        return False
    patched = False
    for b in range(table.blocks):
        block = plan.blocks[b] if b < len(plan.blocks) else None
        if block is None:
            return False
        if block.key != keys[b]:
            analysis = loaded[b] = load_analysis(block, plan.cache_dir)
            log = analysis.get("edits", [])
            if analysis["digest"] != digests[b]:
                last = log[-1] if log else []
                if len(last) < 3 or last[0] != digests[b] or len(last[1]) != len(last[2]):
                    return False  # not an edit of the analysis the table holds
                if not table.patch(b, block.start, analysis, last):
                    return False
                digests[b] = analysis["digest"]
                patched = True
            edits[b] = log
    if patched:
        table.chain = reduce(chain, digests, "")
    return True


def index_files(plan: SearchPlan) -> list[SearchFile]:
    """Return the index pieces and the manifest, assembled from the block analyses.

    A base chunk's key is what it is made of (its range, checkpoint and the analyses up to
    it): a chunk the cache knows under the same key is not rebuilt, and if the site holds it
    already not even read. Tails, directories and the manifest are small and made each time;
    the manifest is keyed by the whole index (``SearchPlan.index_key``): equal, all kept.
    """
    settled = _settled(plan)
    loaded: dict[int, Analysis] = {}
    table, digests, edits = _term_table(plan, settled, loaded)
    recent = {b: load_analysis(plan.blocks[b], plan.cache_dir) for b in _recent(plan, settled)}
    digests += [recent[b]["digest"] for b in sorted(recent)]
    edits += [recent[b].get("edits", []) for b in sorted(recent)]
    assembly = Assembly(plan, table, recent, digests, edits, loaded)
    memo = _ChunkMemo(plan.cache_dir)
    files: list[SearchFile] = []
    small: dict[str, bytes] = {}
    chunks: list[tuple[str, list[str], list[str]]] = []
    tails: list[tuple[Entry, int]] = []
    layout = assembly.chunk_list = assembly.chunks()
    if sum(memo.get(c.key, peek=True) is None for c in layout) * 8 > len(layout):
        assembly.merge_settled()  # a cold build, or a new layout: one pass over every block
    for chunk in layout:
        known = memo.get(chunk.key)
        if known is None:
            built, terms = _base_files(assembly, chunk)
            names = memo.put(chunk.key, list(built), terms)
            files += [SearchFile(_path(n), chunk.key, partial(built.__getitem__, n)) for n in names]
        else:
            names, terms = known
            lazy = _LazyChunk(assembly, chunk)
            files += [SearchFile(_path(n), chunk.key, partial(lazy.read, n)) for n in names]
        chunks.append((chunk.start, names, terms))
        tails += assembly.tail(chunk)
    manifest = {
        "avg": [n / len(plan.docs) if plan.docs else 0.0 for n in assembly.lengths],
        "fields": [[f.name, f.boost, int(f.positional)] for f in FIELDS],
        "format": FORMAT,
        "groups": _groups(small, chunks),
        "lunr": LUNR_VERSION,
        "n": len(plan.docs),
        "days": _day_table(plan, assembly.days),
        "detailsDocs": search.LAYOUT.details_docs,
        "positionDocs": search.LAYOUT.position_docs,
        "positions": _positions(plan, assembly.sizes, small),
        "tails": _tails(small, tails),
        "themes": [{"name": name, "slug": slug} for slug, name in plan.themes],
        "versions": _versions(plan),
    }
    small[SEARCH_MANIFEST] = f"digestSearch.manifest({dumps(manifest)});\n".encode()
    memo.save()
    assembly.splits.save()
    _prune_runs(plan.cache_dir, assembly.chunk_list)
    if plan.cache_dir is not None:
        write_layout(plan.cache_dir, [(c.start, c.end) for c in assembly.chunk_list])
    keys = {SEARCH_MANIFEST: plan.index_key()}  # the manifest names the whole index
    return files + [
        SearchFile(p, keys.get(p, ""), partial(small.__getitem__, p)) for p in sorted(small)
    ]


def _path(name: str) -> str:
    return f"{SEARCH_DIR}/{name}.js"


def _base_files(assembly: Assembly, chunk: Chunk) -> tuple[dict[str, bytes], list[str]]:
    """Return a chunk's base piece files by name, and the terms they hold."""
    parts, terms = assembly.base(chunk)
    built: dict[str, bytes] = {}
    for part in parts:
        _add(built, "c", {"terms": part})
    return {name: built[_path(name)] for name in _names(built)}, terms


def _names(files: dict[str, bytes]) -> list[str]:
    return [path[len(SEARCH_DIR) + 1 : -3] for path in files]


class _LazyChunk:
    """A chunk the cache knows: built again only if the site lacks one of its pieces."""

    def __init__(self, assembly: Assembly, chunk: Chunk):
        self.assembly = assembly
        self.chunk = chunk
        self.built: dict[str, bytes] | None = None

    def read(self, name: str) -> bytes:
        if self.built is None:
            self.built = _base_files(self.assembly, self.chunk)[0]
        return self.built[name]


class _ChunkMemo:
    """Chunk key -> (piece names, base terms), kept in the cache between builds."""

    def __init__(self, cache_dir: Path | None):
        self.path = None if cache_dir is None else cache_dir / "chunks.marshal"
        self.known: dict[str, tuple[list[str], list[str]]] = {}
        self.used: dict[str, tuple[list[str], list[str]]] = {}
        if self.path is not None:
            try:
                self.known = marshal.loads(self.path.read_bytes())
            except (OSError, ValueError, EOFError):
                self.known = {}

    def get(self, key: str, peek: bool = False) -> tuple[list[str], list[str]] | None:
        found = self.known.get(key)
        if found is not None and not peek:
            self.used[key] = found
        return found

    def put(self, key: str, names: list[str], terms: list[str]) -> list[str]:
        self.used[key] = (names, terms)
        return names

    def save(self) -> None:
        if self.path is not None and self.used != self.known:
            write_atomic(self.path, marshal.dumps(self.used), durable=False)


def _add(files: dict[str, bytes], kind: str, data: Any) -> str:
    """Add a piece named by its content hash; return its name (``c/3fa9...``)."""
    body = dumps(data)
    name = f"{kind}/{sha(body)[:12]}"
    files[_path(name)] = f"digestSearch.piece({json.dumps(name)},{body});\n".encode()
    return name


def _groups(files: dict[str, bytes], chunks: list[tuple[str, list[str], list[str]]]) -> list[Any]:
    """Group chunks into directories and vocabularies, a group starting at chunks picked by
    the hash of their first term: a chunk's group does not depend on far-away chunks."""
    groups: list[list[tuple[str, list[str], list[str]]]] = []
    for chunk in chunks:
        if not groups or hash_int(chunk[0], "group") % search.LAYOUT.group_every == 0:
            groups.append([])
        groups[-1].append(chunk)
    table = []
    for group in groups:
        directory = {"chunks": [[start, pieces] for start, pieces, _ in group]}
        vocabulary = {"terms": [t for _, _, base in group for t in base]}
        table.append([group[0][0], _add(files, "g", directory), _add(files, "v", vocabulary)])
    return table


def _tails(files: dict[str, bytes], tails: list[tuple[Entry, int]]) -> list[Any]:
    """Cut the tail entries (in term order) into pieces of about ``tail_postings`` postings."""
    table: list[Any] = []
    part: list[Entry] = []
    volume = 0
    for entry, postings in tails:
        if part and volume + postings > search.LAYOUT.tail_postings:
            table.append([part[0][0], _add(files, "t", {"terms": part})])
            part, volume = [], 0
        part.append(entry)
        volume += postings
    if part:
        table.append([part[0][0], _add(files, "t", {"terms": part})])
    if table:
        table[0][0] = ""
    return table


def _positions(plan: SearchPlan, sizes: list[list[int]], files: dict[str, bytes]) -> list[str]:
    """Write the position pieces: for each range of papers, each field's length in each of
    them and their theme memberships."""
    names = []
    step = search.LAYOUT.position_docs
    for lo in range(0, len(plan.docs), step):
        lengths = [vlqs(field[lo : lo + step]) for field in sizes]
        members: dict[str, list[int]] = {}
        for i, doc in enumerate(plan.docs[lo : lo + step]):
            for slug in doc.themes:
                members.setdefault(slug, []).append(i)
        themes = {slug: gap_vlqs(members[slug]) for slug in sorted(members)}
        names.append(_add(files, "p", {"lengths": lengths, "themes": themes}))
    return names


def _day_table(plan: SearchPlan, days: Days) -> dict[str, Any]:
    """Return the days papers were first seen on, which name their details files (a paper's
    rank that day, over ``detailsDocs``, is its file's number): the first date, then for each
    day the days since the one before and its number of papers."""
    if not days.ordinals:
        return {"days": "", "first": ""}
    ends = [*days.starts[1:], len(plan.docs)]
    counts = [b - a for a, b in zip(days.starts, ends, strict=True)]
    gaps = [0, *(b - a for a, b in zip(days.ordinals, days.ordinals[1:], strict=False))]
    pairs = [value for pair in zip(gaps, counts, strict=True) for value in pair]
    return {"days": vlqs(pairs), "first": plan.docs[0].date}


def _versions(plan: SearchPlan) -> list[list[Any]]:
    """Return [first paper, version] of every block: details files are fetched with their
    block's version, so that browsers fetch them again when the block changes."""
    return [[block.start, block.key[:4]] for block in plan.blocks]
