"""Client-side search: lunr index shards and their document stores, written with the site.

One shard per half month (by when a paper was first seen: days 1-15 and 16-31), newest first, so
the search page shows results after loading one small shard (about 750 papers at 50 a day) and
fetches older ones only while someone searches.
Each shard is a script (``assets/search/shard-YYYY-MM-H.js``) that hands its index and documents to
``digestSearch.shard(JSON.parse("..."))``: loading scripts, never fetch, keeps ``file://`` working.
``assets/search/manifest.js`` lists the shards and the themes.

The index is lunr.js 2.3.9's serialised format. :func:`lunr_index` writes it directly (the same
tokenizer, trimmer, stop words, Porter stemmer and BM25 vectors as lunr.py 0.8, several times
faster); ``tests/test_search.py`` checks it is identical to lunr.py's on the sample. A shard is a
pure function of its documents, so it is cached by their hash and misses build in parallel.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson
from lunr import __TARGET_JS_VERSION__
from lunr.stemmer import porter_stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token

from digest.fsutil import write_atomic
from digest.load import Library, Record
from digest.model import OTHER, OTHER_NAME
from digest.views import paper_path

log = logging.getLogger(__name__)

SEARCH_DIR = "assets/search"
FORMAT = 2
"""Bump when the shard format changes, so cached shards of an older format are not reused."""
FIELDS: tuple[tuple[str, int], ...] = (("title", 10), ("abstract", 1), ("themes", 1))
"""Indexed fields and their boosts: a title hit outweighs many abstract hits."""
SNIPPET_CHARS = 160
PARALLEL_FROM = 3000
"""Build missing shards in worker processes only when at least this many papers need it."""
K1 = 1.2
B = 0.75
SEPARATOR = re.compile(r"[ \t\n\r\f\v\xa0\-]+")
TRIM = re.compile(r"^\W*?([^\W]+)\W*?$")


@dataclass(frozen=True)
class SearchDoc:
    """One paper as search sees it: what is indexed and what a result shows."""

    id: str
    title: str
    abstract: str
    date: str
    themes: tuple[str, ...]
    theme_text: str
    token: str = dataclasses.field(default="", compare=False)
    """What the document is made of: the paper's digest pages by content, and theme names."""

    def stored(self) -> dict[str, Any]:
        """Return the compact record the results list shows (no full abstract)."""
        return {
            "d": self.date,
            "h": list(self.themes),
            "p": paper_path(self.id),
            "s": snippet(self.abstract),
            "t": self.title,
        }


@dataclass(frozen=True)
class Shard:
    """The papers first seen in one half of a month."""

    name: str
    docs: tuple[SearchDoc, ...]
    _key: str = dataclasses.field(default="", compare=False, repr=False)

    @property
    def path(self) -> str:
        return f"{SEARCH_DIR}/shard-{self.name}.js"

    def key(self) -> str:
        """Hash what the shard is made of: same documents, same bytes."""
        if self._key:
            return self._key
        parts = [d.token or dumps(_doc_fields(d)) for d in self.docs]
        key = hashlib.sha256(dumps([FORMAT, self.name, parts]).encode("utf-8")).hexdigest()
        object.__setattr__(self, "_key", key)
        return key


def dumps(data: Any) -> str:
    """Serialise deterministically and compactly; non-ASCII escaped so any script parses it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Return the start of an abstract, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def search_docs(library: Library) -> list[SearchDoc]:
    """Return every paper as a search document, newest first (by first appearance)."""
    names = {t.slug: t.name for t in library.themes} | {OTHER: OTHER_NAME}
    records = sorted(library.records.values(), key=lambda r: (r.first_seen, r.id), reverse=True)
    pages = {day.date: day.token for day in library.days}
    texts: dict[tuple[str, ...], str] = {}  # a few combinations of themes for 50,000 papers
    return [_search_doc(r, names, pages, texts) for r in records]


def _search_doc(
    record: Record,
    names: dict[str, str],
    pages: dict[dt.date, str],
    texts: dict[tuple[str, ...], str],
) -> SearchDoc:
    theme_text = texts.get(record.themes)
    if theme_text is None:
        slugs = record.themes or (OTHER,)
        theme_text = texts[record.themes] = " ".join(f"{s} {names.get(s, s)}" for s in slugs)
    tokens = [pages.get(d, "") for d in record.dates]
    # A paper is made from its digest pages alone; their content hashes name it without
    # hashing its text again. Without them (a library built in memory), the text is hashed.
    token = "|".join([record.id, theme_text, *tokens]) if all(tokens) else ""
    return SearchDoc(
        record.id,
        record.title,
        record.abstract,
        record.first_seen.isoformat(),
        record.themes,
        theme_text,
        token,
    )


def shard_name(date: str) -> str:
    """Return the shard of an ISO date: ``2025-06-1`` for 1-15 June, ``2025-06-2`` after."""
    return f"{date[:7]}-{1 if int(date[8:10]) <= 15 else 2}"


def shards(docs: Sequence[SearchDoc]) -> list[Shard]:
    """Group documents (newest first) into one shard per half month, newest first."""
    grouped = groupby(docs, key=lambda d: shard_name(d.date))
    return [Shard(name, tuple(group)) for name, group in grouped]


def search_files(
    library: Library, cache_dir: Path | None = None, workers: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield (site path, bytes) of every search file, by path: the manifest and the shards."""
    plan = plan_search(library, cache_dir)
    built = zip(plan.missing, _build_all(plan.missing, cache_dir, workers), strict=True)
    files = [(shard.path, data) for shard, data in built]
    files += [(f.path, f.read()) for f in cached_search_files(library, plan, cache_dir)]
    return iter(sorted(files))


@dataclass(frozen=True)
class SearchPlan:
    """The shards of an index, and which of them are not in the cache yet."""

    parts: list[Shard]
    missing: list[Shard]


@dataclass(frozen=True)
class SearchFile:
    """A search file to write: its key (what it is made of) and how to get its bytes.

    Shards come from the cache only when the site does not already hold the same shard, so
    an unchanged archive costs no reading or hashing of its tens of megabytes.
    """

    path: str
    key: str
    read: Callable[[], bytes]


def plan_search(library: Library, cache_dir: Path | None) -> SearchPlan:
    """Split the index into shards and find which are not cached (the build makes those)."""
    parts = shards(search_docs(library))
    missing = [s for s in parts if not (path := _cache_path(cache_dir, s)) or not path.is_file()]
    return SearchPlan(parts, missing)


def build_shard(shard: Shard, cache_dir: Path | None) -> bytes:
    """Build a shard's script and keep it in the cache (in the worker that built it)."""
    data = shard_script(shard)
    path = _cache_path(cache_dir, shard)
    if path is not None:
        _store(path, shard.name, data)
    return data


def cached_search_files(
    library: Library, plan: SearchPlan, cache_dir: Path | None
) -> list[SearchFile]:
    """Return the search files besides the shards just built: cached shards, the manifest."""
    missing = {shard.name for shard in plan.missing}
    files = [
        SearchFile(shard.path, shard.key(), partial(_cached_bytes, shard, cache_dir))
        for shard in plan.parts
        if shard.name not in missing
    ]
    manifest = manifest_script(library, plan.parts)
    files.append(SearchFile(f"{SEARCH_DIR}/manifest.js", "", lambda: manifest))
    return files


def _cached_bytes(shard: Shard, cache_dir: Path | None) -> bytes:
    path = _cache_path(cache_dir, shard)
    try:
        return path.read_bytes() if path is not None else build_shard(shard, cache_dir)
    except FileNotFoundError:  # removed since the plan was made
        return build_shard(shard, cache_dir)


def manifest_script(library: Library, parts: Sequence[Shard]) -> bytes:
    """Return the script that lists the shards (newest first) and the themes for filters."""
    slugs = library.theme_slugs()
    names = {t.slug: t.name for t in library.themes}
    themes = [{"name": names.get(s, s), "slug": s} for s in slugs]
    themes.append({"name": OTHER_NAME, "slug": OTHER})
    listed = [
        {
            "file": f"shard-{s.name}.js",
            "name": s.name,
            "papers": len(s.docs),
            "v": s.key()[:10],
        }
        for s in parts
    ]
    data = {"papers": sum(len(s.docs) for s in parts), "shards": listed, "themes": themes}
    return f"digestSearch.manifest({dumps(data)});\n".encode()


def _cache_path(cache_dir: Path | None, shard: Shard) -> Path | None:
    return None if cache_dir is None else cache_dir / f"{shard.name}-{shard.key()[:20]}.js"


def _store(path: Path, name: str, data: bytes) -> None:
    """Write a cache entry atomically and drop older entries of the same shard.

    Older entries include the temporary file of a worker stopped mid-write (the pool ends the
    other worker when a task fails), so none is left behind for long.
    """
    for old in [*path.parent.glob(f"{name}-*.js"), *path.parent.glob(f".{name}-*.tmp")]:
        old.unlink(missing_ok=True)
    write_atomic(path, data, durable=False)


def _build_all(
    missing: Sequence[Shard], cache_dir: Path | None, workers: int | None
) -> list[bytes]:
    """Build shards, in worker processes when there is enough work to pay for them."""
    papers = sum(len(s.docs) for s in missing)
    workers = workers or min(len(missing), os.cpu_count() or 1)
    build = partial(build_shard, cache_dir=cache_dir)
    if workers < 2 or len(missing) < 2 or papers < PARALLEL_FROM:
        return [build(s) for s in missing]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(build, missing))


def shard_script(shard: Shard) -> bytes:
    """Return a shard's script: its lunr index and document store, handed to the page."""
    index = lunr_index([_doc_fields(d) for d in shard.docs])
    store = {d.id: d.stored() for d in shard.docs}
    data = {"docs": store, "index": index, "name": shard.name}
    # orjson writes what dumps() would with ensure_ascii=False, three times faster on shards of
    # megabytes; json.dumps then makes it a JS string literal, ASCII again. A JSON string handed
    # to JSON.parse loads much faster than the same object as JS source.
    inner = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return f"digestSearch.shard(JSON.parse({json.dumps(inner)}));\n".encode()


def _doc_fields(doc: SearchDoc) -> dict[str, str]:
    return {
        "abstract": doc.abstract,
        "date": doc.date,
        "id": doc.id,
        "theme_slugs": " ".join(doc.themes),
        "themes": doc.theme_text,
        "title": doc.title,
    }


# --- the index, in lunr.js's serialised format ---------------------------------------------


@lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """Run lunr's index pipeline (trimmer, stop word filter, stemmer) on one token."""
    match = TRIM.match(word)
    trimmed = match.group(1) if match else word
    if not trimmed or stop_word_filter(Token(trimmed)) is None:
        return ""
    return str(porter_stemmer.stem(trimmed))


def terms(text: str) -> list[str]:
    """Return the index terms of a field, exactly as lunr.py's tokenizer and pipeline would."""
    return list(filter(None, map(_term, SEPARATOR.split(text.lower()))))


@dataclass
class _FieldCounts:
    """One field of one document: its term frequencies (first-occurrence order) and length."""

    doc_ref: str
    counts: Counter[str]
    length: int


def lunr_index(docs: Iterable[dict[str, str]], ref: str = "id") -> dict[str, Any]:
    """Build a lunr index of ``docs`` over FIELDS and return its serialised form.

    lunr numbers terms in the order it first meets them (document by document, field by
    field); the numbers order each field vector, so they are kept here in the same way.
    """
    fields = [name for name, _ in FIELDS]
    position: dict[str, int] = {}
    postings: dict[str, defaultdict[str, dict[str, Any]]] = {f: defaultdict(dict) for f in fields}
    counted: dict[str, list[_FieldCounts]] = {f: [] for f in fields}
    seen: dict[str, Any] = {}  # a posting's per-document metadata: always empty, so shared
    for doc in docs:
        doc_ref = str(doc[ref])
        for field in fields:
            found = terms(doc[field] or "")
            counts = Counter(found)  # keeps first-occurrence order
            field_postings = postings[field]
            for term in counts:
                position.setdefault(term, len(position))
                field_postings[term][doc_ref] = seen
            counted[field].append(_FieldCounts(doc_ref, counts, len(found)))
    inverted = [
        [term, {"_index": position[term]} | {f: postings[f].get(term, {}) for f in fields}]
        for term in sorted(position)
    ]
    return {
        "fieldVectors": _field_vectors(counted, postings, position),
        "fields": fields,
        "invertedIndex": inverted,
        "pipeline": ["stemmer"],
        "version": __TARGET_JS_VERSION__,
    }


def _field_vectors(
    counted: dict[str, list[_FieldCounts]],
    postings: dict[str, defaultdict[str, dict[str, Any]]],
    position: dict[str, int],
) -> list[list[Any]]:
    """Return lunr's BM25 field vectors, with lunr's arithmetic order and rounding."""
    documents = len(next(iter(counted.values()), []))
    idf = {term: _idf(term, postings, documents) for term in position}
    where = position.__getitem__
    by_field: list[list[list[Any]]] = []
    for field, boost in FIELDS:
        rows = counted[field]
        average = sum(row.length for row in rows) / len(rows) if rows else 0.0
        vectors: list[list[Any]] = []
        for row in rows:
            counts = row.counts
            # The same operations in the same order as lunr, so every float rounds the same
            # way; the length norm is only computed once per field instead of once per term.
            norm = K1 * (1 - B + B * (row.length / average)) if counts else 0.0
            order = sorted(counts, key=where)
            flat: list[Any] = [None] * (2 * len(order))
            flat[0::2] = map(where, order)
            flat[1::2] = [
                round(idf[t] * ((K1 + 1) * counts[t]) / (norm + counts[t]) * boost, 3)
                for t in order
            ]
            vectors.append([f"{field}/{row.doc_ref}", flat])
        by_field.append(vectors)
    # lunr lists vectors document by document, each document's fields in FIELDS order.
    return [vector for group in zip(*by_field, strict=True) for vector in group]


def _idf(term: str, postings: dict[str, defaultdict[str, dict[str, Any]]], documents: int) -> float:
    """Return lunr's inverse document frequency (a paper counts once per field it is in)."""
    with_term = sum(len(field_postings.get(term, ())) for field_postings in postings.values())
    x = (documents - with_term + 0.5) / (with_term + 0.5)
    return math.log(1 + abs(x))
