"""Client-side search: one lunr index over every paper, written as small pieces.

The browser answers a query with unmodified lunr.js 2.3.9, over an index it assembles from the
pieces the query needs; results and scores are those of one lunr index built by lunr.py over
every paper (``tests/test_search_equality.py`` compares them). The pieces:

- ``c/*.js``, chunks: the postings of a range of terms, at most ``chunk_postings``, ranges cut at
  terms chosen by their hash (content-defined: a new term or more postings change only the
  range they fall in). A term with more postings gets pieces of its own, cut at block
  boundaries where its postings pass each multiple of the chunk size. A posting is a paper
  number, the term frequency and, for the title, token positions; with the field's length in
  that paper (a position piece's) it is what lunr's BM25 entry is made of. No stored number
  depends on the paper count.
- ``t/*.js``, tails: a chunk holds postings of papers first seen before its checkpoint, a day
  that moves every ``fold_days`` days at a phase given by the chunk's hash; later postings are
  in the tails, which a new day rewrites. A day folds about one chunk in ``fold_days``.
- ``g/*.js``, directories: which chunk files hold a range of terms (the manifest lists groups of
  chunks, so it stays small); ``v/*.js``, vocabularies: the terms of a group, read by fuzzy and
  leading-wildcard queries only.
- ``p/*.js``, position pieces: each field's length in each of a range of papers (lunr's BM25
  needs it for every posting; stored once a paper, not in each posting) and their theme
  memberships (for the filter counts). A query loads those of its postings' papers.
- ``d/DAY-GROUP.js``: details (title, abstract for snippet windows, themes, authors) of
  ``details_docs`` papers first seen on one day, group ``GROUP`` holding the papers of rank
  ``GROUP * details_docs`` on: gzip packs a few abstracts much better than one (see
  :attr:`Layout.details_docs`), and a day or a paper changes only its own day's files.
- ``manifest.js``: fields and boosts, paper count and average field lengths (lunr's global
  statistics), the days papers were first seen on (which name the details files), block
  versions, and the tables of groups, tails and position pieces.

Papers are numbered oldest first (by first appearance, then id), the order lunr's index adds
them in; a new day only appends. Every file but the details is named by its content hash.
Pieces are scripts (``digestSearch.piece(...)``), never fetched, so ``file://`` works.

For the build: :func:`plan_search` returns a :class:`SearchPlan`, whose units
(analyse a half-month block of papers, write details files: pure functions of those papers,
keyed by them) run in the build's pool; then :func:`index_files` returns every other file with
its key (what it is made of), assembled from the analyses in the main process, on demand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

from digest.fsutil import write_atomic
from digest.model import OTHER
from digest.pages.library import Library, Record
from digest.site.keys import search_block_key, search_doc_token, search_index_key
from digest.site.lunr import (
    ANALYSER,
    LUNR_VERSION,
    Analysis,
    analyze_block,
    join_analyses,
    js_sorted,
)
from digest.urls import SEARCH_DIR

log = logging.getLogger(__name__)

FORMAT = 6
"""Bump when a piece's format changes, so cached analyses of an older format are not reused."""


@dataclass(frozen=True)
class IndexField:
    """One lunr field: its name in queries (``title:word``), boost, and the text it indexes."""

    name: str
    boost: int
    attr: str
    """The :class:`SearchDoc` attribute holding its text."""
    positional: bool = False
    """Keep token positions (the search page ranks a phrase in the title first)."""


FIELDS: tuple[IndexField, ...] = (
    IndexField("title", 10, "title", positional=True),
    IndexField("abstract", 1, "abstract"),
    IndexField("themes", 1, "theme_text"),
    IndexField("author", 1, "authors"),
)
"""Indexed fields, in lunr's order; a title hit outweighs many abstract hits."""
POSITIONAL = [f.positional for f in FIELDS]


@dataclass(frozen=True)
class Layout:
    """How the index is cut into pieces (tests shrink these to get many pieces from few papers)."""

    chunk_postings: int = 12_000
    """Largest base chunk, in postings; a term with more gets pieces of its own."""
    fold_days: int = 32
    """A chunk takes in its tail postings every this many days."""
    tail_postings: int = 4_000
    """Postings per tail piece."""
    group_every: int = 48
    """About this many chunks per directory (and vocabulary) group."""
    position_docs: int = 16_384
    """Papers per position piece."""
    details_docs: int = 20
    """Papers per details file (of one day). gzip bytes a paper, measured on the sample's 416
    real abstracts (and on 10,000 papers of the benchmark corpus) for 1, 5, 10, 25 papers a
    file: 805 (821), 647 (657), 598 (603), 546 (539): each file pays for its own gzip tables;
    on 12,500 papers of the 50,000-paper corpus, 10, 15, 20, 25, 50: 602, 582, 563, 539, 506.
    But a result shown costs its whole file, and the results of a query are spread over days.
    At 10 (6 KB a file) the whole index was 0.80 KB gzip a paper, over the 0.7 the search
    issue asks for, and the details alone 0.59 of it; with the field lengths out of the
    postings and 20 a file (about 11 KB: at most 110 KB for the first ten results, 550 KB
    for a page of fifty, within the 1.5 MB a complete common word may load) it is under."""


LAYOUT = Layout()


class SearchDoc(NamedTuple):
    """One paper as search sees it: what is indexed and what a result shows.

    A named tuple over the paper's record, not a frozen dataclass with copies of its texts:
    every build makes one for each of 50,000 papers, and the search part of a rebuild runs
    in a forked process, where taking a reference to a paper's title or abstract copies the
    memory page it sits on. Made this way, and read only for the papers analysed or shown
    (a new day's), all 50,000 take 0.10 s in the forked child, where they took 0.21.
    """

    record: Record
    date: str
    """The paper's first day (ISO)."""
    theme_text: str
    token: str = ""
    """What the document is made of: the paper's digest pages by content, and theme names."""

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def title(self) -> str:
        return self.record.title

    @property
    def abstract(self) -> str:
        return self.record.abstract

    @property
    def themes(self) -> tuple[str, ...]:
        return self.record.themes

    @property
    def authors(self) -> str:
        return " ".join(self.record.meta.authors or ())

    def text(self, index_field: IndexField) -> str:
        value: str = getattr(self, index_field.attr)
        return value

    def fingerprint(self) -> str:
        """Name what the paper's search data is made of, cheaply when its pages have hashes."""
        if self.token:
            return self.token
        return dumps([self.id, self.date, self.themes, [self.text(f) for f in FIELDS]])


def dumps(data: Any) -> str:
    """Serialise deterministically and compactly; non-ASCII escaped so any script parses it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# --- documents and blocks --------------------------------------------------------------------


def search_docs(library: Library) -> list[SearchDoc]:
    """Return every paper as a search document, oldest first: the order lunr numbers them in.

    A paper is made from its digest pages alone; their papers tokens (a hash of what each page
    says of its papers, notes left out) name it without hashing its text again (without them,
    in a library built in memory, its text is hashed). This runs
    for all 50,000 papers on every build, so it keeps to dictionary lookups.
    """
    names = library.theme_names
    records = library.newest_first[::-1]  # oldest first, by (first day, id)
    pages = {day.date: day.papers_token for day in library.days}  # notes are not searched
    dates = {day.date: day.date.isoformat() for day in library.days}
    texts: dict[tuple[str, ...], str] = {}  # a few combinations of themes for 50,000 papers
    docs = []
    for record in records:
        theme_text = texts.get(record.themes)
        if theme_text is None:
            slugs = record.themes or (OTHER,)
            theme_text = texts[record.themes] = " ".join(f"{s} {names.get(s, s)}" for s in slugs)
        token = search_doc_token(record.id, theme_text, record.dates, pages)
        first = record.dates[0]
        docs.append(SearchDoc(record, dates.get(first) or first.isoformat(), theme_text, token))
    return docs


def block_name(date: str) -> str:
    """Return the block of an ISO date: ``2025-06-1`` for 1-15 June, ``2025-06-2`` after."""
    return f"{date[:7]}-{1 if int(date[8:10]) <= 15 else 2}"


@dataclass(frozen=True)
class Block:
    """The papers first seen in one half of a month: the unit of analysis and of caching."""

    name: str
    start: int
    """Number of the block's first paper."""
    docs: tuple[SearchDoc, ...]
    key: str

    @property
    def cache_name(self) -> str:
        return f"{self.name}-{self.key[:20]}.marshal"


def analysis_key(name: str, docs: Sequence[SearchDoc]) -> str:
    """Key the analysis of a run of papers (a block, a day) by what they are made of."""
    parts = [d.token or d.fingerprint() for d in docs]
    return search_block_key(f"{FORMAT}|{ANALYSER}", name, [f.name for f in FIELDS], parts)


def blocks(docs: Sequence[SearchDoc]) -> list[Block]:
    """Group documents (oldest first) into half-month blocks, keyed by what they hold."""
    found: list[Block] = []
    start = 0
    by_day = groupby(docs, key=attrgetter("date"))  # a block's name, once a day, not a paper
    for name, days in groupby(by_day, key=lambda day: block_name(day[0])):
        members = tuple(chain.from_iterable(group for _, group in days))
        found.append(Block(name, start, members, analysis_key(name, members)))
        start += len(members)
    return found


# --- analyses of blocks, cached ------------------------------------------------------------


def analyze(docs: Sequence[SearchDoc]) -> Analysis:
    """Analyse a block's papers (see :func:`digest.site.lunr.analyze_block`)."""
    return analyze_block([[d.text(f) for f in FIELDS] for d in docs], POSITIONAL)


def load_analysis(block: Block, cache_dir: Path | None, by_day: bool = False) -> Analysis:
    """Return a block's analysis from the cache, or make it (and cache it); ``by_day``, made
    of its days' analyses (see :func:`analyze_by_day`)."""
    path = None if cache_dir is None else cache_dir / block.cache_name
    if path is not None:
        cached = _cached(path)
        if cached is not None:
            return cached
    if by_day and cache_dir is not None:
        analysis = analyze_by_day(block, cache_dir / DAYS)
    else:
        analysis = analyze(block.docs)
        if path is not None:
            analysis["edits"] = edits_since(path.parent, block.name, analysis)
    if path is not None:
        _store(path, block.name, marshal.dumps(analysis))
    return analysis


def _cached(path: Path) -> Analysis | None:
    try:
        cached: Analysis = marshal.loads(path.read_bytes())
        return cached
    except (OSError, ValueError, EOFError):
        return None


Edits = list[list[Any]]
"""A block's edit log, oldest first: for each earlier analysis, ``[its digest, the terms
whose runs the next one changed, how each of those runs began in it]`` (first paper, rank,
volume; None where the term was not in the block)."""
EDITS_KEPT = 8
"""Edits a block's log keeps apart; older ones are merged into one step (a chunk that only
the newer of two merged edits changed is then keyed anew, and rebuilt once)."""
EDIT_TERMS = 5_000
"""Changed terms above which an edit is not logged (a chunk is then keyed anew)."""


def edits_since(folder: Path, name: str, analysis: Analysis) -> Edits:
    """Return a block's new analysis's edit log: each earlier analysis's digest with the
    terms whose postings differ in the analysis after it, oldest first.

    Each chunk of the index is keyed by the analyses of every block before its checkpoint,
    so a title edited on an old day rebuilt every chunk (2.3 s at 50,000 papers) to change
    the few holding the title's words. With the log, a chunk none of whose terms changed
    keeps its key (see :meth:`digest.site.assembly.Assembly.chunks`). Only an edit that
    keeps the block's number of papers is logged: one that changes it moves the number of
    every later paper, and so every chunk. The newest block, which each new day changes, is
    not read for it (see :func:`load_analysis`).
    """
    old = None
    for entry in sorted(folder.glob(f"{name}-*.marshal")):  # one, as _store leaves it
        old = _cached(entry)
    if old is None or old.get("digest") == analysis["digest"]:
        return [] if old is None else list(old.get("edits", []))
    if old.get("docs") != analysis["docs"] or not isinstance(old.get("runs"), dict):
        return []
    before, after = old["runs"], analysis["runs"]
    changed = [t for t in before.keys() | after.keys() if before.get(t) != after.get(t)]
    if len(changed) > EDIT_TERMS:
        return []
    terms = js_sorted(changed)
    heads = [None if (run := before.get(t)) is None else list(run[:3]) for t in terms]
    log = [*old.get("edits", []), [old["digest"], terms, heads]]
    while len(log) > EDITS_KEPT:  # the oldest two as one step: its chunks keep their keys
        merged = js_sorted(set(log[0][1]) | set(log[1][1]))
        if len(merged) > EDIT_TERMS:
            return []
        log[:2] = [[log[0][0], merged, []]]
    return log


DAYS = "days"
"""The cache folder of the newest block's days' analyses."""


def analyze_by_day(block: Block, folder: Path) -> Analysis:
    """Analyse the newest block (which every new day changes) a day at a time, each day's
    analysis cached, and join them: a new day analyses its own 50 papers, not the 400-750
    of its half month (0.1 s of a new day at 50,000 papers). The joint analysis is the one
    the whole block would have (:func:`digest.site.lunr.join_analyses`); the days of older
    blocks are dropped from the cache."""
    parts = []
    dates = set()
    for date, group in groupby(block.docs, key=attrgetter("date")):
        docs = tuple(group)
        dates.add(date)
        path = folder / f"{date}-{analysis_key(date, docs)[:20]}.marshal"
        analysis = _cached(path)
        if analysis is None:
            analysis = analyze(docs)
            _store(path, date, marshal.dumps(analysis))
        parts.append(analysis)
    for old in folder.glob("*.marshal"):
        if old.name[:10] not in dates:
            old.unlink(missing_ok=True)
    return join_analyses(parts)


def _store(path: Path, name: str, data: bytes) -> None:
    """Write a cache entry atomically and drop older entries of the same block.

    Older entries include the temporary file of a worker stopped mid-write (the pool ends the
    other worker when a task fails), so none is left behind for long.
    """
    for old in [*path.parent.glob(f"{name}-*.marshal"), *path.parent.glob(f".{name}-*.tmp")]:
        old.unlink(missing_ok=True)
    write_atomic(path, data, durable=False)


# --- the plan the build runs ----------------------------------------------------------------


@dataclass(frozen=True)
class SearchFile:
    """A search file to write: its key (what it is made of) and how to get its bytes."""

    path: str
    key: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class SearchUnit:
    """Work for the build's pool: analyse a block (cached), and write some details files.

    A pure function of its block's papers; ``run`` returns the files to stage.
    """

    block: Block
    analyse: bool
    details: tuple[int, ...]
    """Numbers (within the block, see :func:`details_groups`) of the details files to write."""
    cache_dir: Path | None
    by_day: bool = False
    """Whether the block is the newest: analysed a day at a time (see :func:`analyze_by_day`)."""

    @property
    def key(self) -> str:
        """What the unit is made of: its block's papers (details files have keys of their own)."""
        return self.block.key

    def run(self) -> list[tuple[str, bytes]]:
        """Analyse the block if the cache lacks it; return the details files to stage."""
        if self.analyse:
            load_analysis(self.block, self.cache_dir, self.by_day)
        docs = self.block.docs
        groups = details_groups(docs)
        return [details_file(groups[g][0], docs[groups[g][1] : groups[g][2]]) for g in self.details]

    @property
    def weight(self) -> int:
        """Roughly how much work this is, in papers analysed (details files are cheap)."""
        return (len(self.block.docs) if self.analyse else 0) + len(self.details) * 5 // 4


@dataclass(frozen=True)
class SearchPlan:
    """The papers in lunr's order, their blocks, and every details file with its key."""

    docs: tuple[SearchDoc, ...]
    blocks: tuple[Block, ...]
    themes: tuple[tuple[str, str], ...]
    """(slug, name) of every theme the filters offer, "Other" last."""
    cache_dir: Path | None

    def index_key(self) -> str:
        """Name what the pieces and the manifest are made of (see ``search_index_key``)."""
        fields = [[f.name, f.boost, f.positional] for f in FIELDS]
        settings = [FORMAT, LUNR_VERSION, repr(LAYOUT), fields, [list(t) for t in self.themes]]
        return search_index_key(settings, [block.key for block in self.blocks])

    def details(self) -> Iterator[tuple[str, str, int, int]]:
        """Yield (path, key, block, group within block) of every details file.

        The key is the block's, the group size and the group's place in the block: a changed
        block writes its details again (bytes that did not change are not staged, so an edited
        paper rewrites its own file only), and 5,000 keys cost no hashing.
        """
        size = LAYOUT.details_docs
        for b, block in enumerate(self.blocks):
            for g, (name, _, _) in enumerate(details_groups(block.docs)):
                yield f"{SEARCH_DIR}/{name}.js", f"{block.key[:24]}.{size}.{g}", b, g

    def units(self, dirty_details: Iterable[tuple[int, int]]) -> list[SearchUnit]:
        """Return the pool's work: blocks not analysed yet, and the details files to write."""
        wanted: dict[int, list[int]] = {}
        for b, i in dirty_details:
            wanted.setdefault(b, []).append(i)
        units = []
        for b, block in enumerate(self.blocks):
            analyse = not self._cached(block)
            if analyse or b in wanted:
                details = tuple(wanted.get(b, ()))
                newest = b == len(self.blocks) - 1
                units.append(SearchUnit(block, analyse, details, self.cache_dir, newest))
        return units

    def _cached(self, block: Block) -> bool:
        return self.cache_dir is not None and (self.cache_dir / block.cache_name).is_file()


def plan_search(library: Library, cache_dir: Path | None) -> SearchPlan:
    """Number the papers, cut them into blocks and find the themes: what the index is made of."""
    docs = search_docs(library)
    used = {slug for doc in docs for slug in doc.themes or (OTHER,)}  # as the site's theme list
    slugs = [s for s in (*library.theme_slugs(), OTHER) if s in used]
    themes = tuple((s, library.theme_name(s)) for s in slugs)
    return SearchPlan(tuple(docs), tuple(blocks(docs)), themes, cache_dir)


def details_groups(docs: Sequence[SearchDoc]) -> list[tuple[str, int, int]]:
    """Return (name, first, end) of each details file of papers in order: a day's papers, by
    rank that day, in runs of ``details_docs`` (the last run of a day may be shorter). The
    browser finds a paper's file from its day's first paper number alone (the manifest's days)."""
    size = LAYOUT.details_docs
    found: list[tuple[str, int, int]] = []
    start = 0
    for date, day in groupby(docs, key=lambda d: d.date):
        end = start + len(list(day))
        for g, lo in enumerate(range(start, end, size)):
            found.append((f"d/{date}-{g}", lo, min(lo + size, end)))
        start = end
    return found


def details_file(name: str, docs: Sequence[SearchDoc]) -> tuple[str, bytes]:
    """Return a details script: for each paper, what a result shows and its snippet is cut
    from. Themes are the position pieces' too, but cost 2-3 gzip bytes a paper here, where
    taking them from there would make each shown result wait for one more piece."""
    data = [[doc.id, doc.title, doc.abstract, list(doc.themes), doc.authors] for doc in docs]
    return f"{SEARCH_DIR}/{name}.js", _script("doc", name, data)


def _script(kind: str, name: str, data: Any) -> bytes:
    """Return a piece's script; JSON with non-ASCII escaped is JavaScript any page can load."""
    return f"digestSearch.{kind}({json.dumps(name)},{dumps(data)});\n".encode()
