"""Client-side search: lunr index shards and their document stores, written with the site.

One shard per half month (by when a paper was first seen: days 1-15 and 16-31), newest first, so
the search page shows results after loading one small shard (about 750 papers at 50 a day) and
fetches older ones only while someone searches.
Each shard is a script (``assets/search/shard-YYYY-MM-H.js``) that hands its index and documents to
``digestSearch.shard(JSON.parse("..."))``: loading scripts, never fetch, keeps ``file://`` working.
``assets/search/manifest.js`` lists the shards and the themes.

The index is lunr.js 2.3.9's serialised format, written by :mod:`digest.site.lunr`, over title,
abstract, themes and authors (the ``author`` field: ``author:name`` searches names only). A
shard is a pure function of its documents, so it is cached by their hash; the build's worker pool
(:mod:`digest.build.pool`) builds the missing ones, here and in the benchmark alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson

from digest import urls
from digest.fsutil import write_atomic
from digest.model import OTHER
from digest.pages.library import Library, Record
from digest.site import keys
from digest.site.lunr import lunr_index
from digest.text import shorten

log = logging.getLogger(__name__)

FORMAT = 3
"""Bump when the shard format changes, so cached shards of an older format are not reused."""
SNIPPET_CHARS = 160


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
    authors: tuple[str, ...] = ()
    """What the document is made of: the paper's digest pages by content, and theme names."""

    def stored(self) -> dict[str, Any]:
        """Return the compact record the results list shows (no full abstract)."""
        return {
            "d": self.date,
            "h": list(self.themes),
            "p": urls.paper_path(self.id),
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
        return urls.shard_path(self.name)

    def key(self) -> str:
        """Hash what the shard is made of: same documents, same bytes (see digest.site.keys)."""
        if not self._key:
            parts = [d.token or dumps(doc_fields(d)) for d in self.docs]
            object.__setattr__(self, "_key", keys.shard_key(FORMAT, self.name, parts))
        return self._key


def dumps(data: Any) -> str:
    """Serialise deterministically and compactly; non-ASCII escaped so any script parses it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Return the start of an abstract, cut at a word boundary."""
    return shorten(" ".join(text.split()), limit)


def search_docs(library: Library) -> list[SearchDoc]:
    """Return every paper as a search document, newest first (by first appearance)."""
    names = library.theme_names
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
    token = keys.search_doc_token(record, theme_text, [pages.get(d, "") for d in record.dates])
    return SearchDoc(
        record.id,
        record.title,
        record.abstract,
        record.first_seen.isoformat(),
        record.themes,
        theme_text,
        token,
        record.meta.authors or (),
    )


def shard_name(date: str) -> str:
    """Return the shard of an ISO date: ``2025-06-1`` for 1-15 June, ``2025-06-2`` after."""
    return f"{date[:7]}-{1 if int(date[8:10]) <= 15 else 2}"


def shards(docs: Sequence[SearchDoc]) -> list[Shard]:
    """Group documents (newest first) into one shard per half month, newest first."""
    grouped = groupby(docs, key=lambda d: shard_name(d.date))
    return [Shard(name, tuple(group)) for name, group in grouped]


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
    files.append(SearchFile(urls.SEARCH_MANIFEST, "", lambda: manifest))
    return files


def _cached_bytes(shard: Shard, cache_dir: Path | None) -> bytes:
    path = _cache_path(cache_dir, shard)
    try:
        return path.read_bytes() if path is not None else build_shard(shard, cache_dir)
    except FileNotFoundError:  # removed since the plan was made
        return build_shard(shard, cache_dir)


def manifest_script(library: Library, parts: Sequence[Shard]) -> bytes:
    """Return the script that lists the shards (newest first) and the themes for filters."""
    slugs = [*library.theme_slugs(), OTHER]
    themes = [{"name": library.theme_name(s), "slug": s} for s in slugs]
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


def shard_script(shard: Shard) -> bytes:
    """Return a shard's script: its lunr index and document store, handed to the page."""
    index = lunr_index([doc_fields(d) for d in shard.docs])
    store = {d.id: d.stored() for d in shard.docs}
    data = {"docs": store, "index": index, "name": shard.name}
    # orjson writes what dumps() would with ensure_ascii=False, three times faster on shards of
    # megabytes; json.dumps then makes it a JS string literal, ASCII again. A JSON string handed
    # to JSON.parse loads much faster than the same object as JS source.
    inner = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return f"digestSearch.shard(JSON.parse({json.dumps(inner)}));\n".encode()


def doc_fields(doc: SearchDoc) -> dict[str, str]:
    return {
        "abstract": doc.abstract,
        "author": ", ".join(doc.authors),
        "date": doc.date,
        "id": doc.id,
        "theme_slugs": " ".join(doc.themes),
        "themes": doc.theme_text,
        "title": doc.title,
    }
