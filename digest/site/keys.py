"""Incremental-build keys: the one place that decides what a rebuild may skip.

A key names everything a generated file is made from; equal keys mean equal bytes, so the build
keeps the file the last build wrote instead of rendering it. A key must cover:

- every paper the file shows, by the digest pages the paper's record is made from (a record is
  built from the pages it appears on and nothing else, so what they say of their papers,
  notes aside, stands for it: notes are shown on their day's page alone);
- every day it shows or links to by content (a day page shows its neighbours' dates);
- its place: page numbers, "is this the last page", a sitemap's file name;
- through the salt, what every page depends on: digest's version, the settings, the themes,
  the site-wide header data and every template file.

Files that change with every new day anyway (home, feeds, archive, the sitemap index) have no
key and are always rendered. ``tests/test_keys.py`` edits a library one field at a time and
fails if a page's bytes change while its key does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from digest import __version__
from digest.config import Config
from digest.fsutil import sha1_hex, value_bytes
from digest.model import Theme
from digest.pages.library import Library, LoadedDay, Record


class Keys:
    """Keys of one library's pages, salted with what every page depends on."""

    def __init__(self, library: Library, salt: str = ""):
        self.library = library
        self.salt = salt
        self._records = library.records
        self._tokens: dict[str, str] = {}
        self._day_tokens = {day.date: day_token(day) for day in library.days}
        self._records_tokens = {day.date: records_token(day) for day in library.days}

    def record_token(self, paper_id: str) -> str:
        """Fingerprint a paper by the pages it is on: its record is made from them alone,
        and from what they say of their papers, not from their notes.

        Not hashed on its own (50,000 of them are made on every build): the keys that include
        it are.
        """
        token = self._tokens.get(paper_id)
        if token is None:
            dates = self._records[paper_id].dates
            parts = [paper_id, *[self._records_tokens[d] for d in dates]]
            token = self._tokens[paper_id] = "/".join(parts)
        return token

    def records_state(self) -> str:
        """Key at once every page but those showing notes (day pages, the home page: see
        :func:`digest.site.plan.notes_plan`). With the same salt, each of them is made of
        what the digest pages say of their papers (:func:`records_token`), the search index
        too, so while no day's records token moves (a note, a day's introduction) they are
        all the last build's."""
        return self._key("records", *(f"{d}:{t}" for d, t in self._records_tokens.items()))

    def page_tokens(self) -> dict[str, str]:
        """Each day's whole page, by date: what a day page shows beyond its records state."""
        return {date.isoformat(): token for date, token in self._day_tokens.items()}

    def day_page(self, day: LoadedDay, neighbours: Sequence[LoadedDay | None]) -> str:
        """A day page shows its papers (with their other dates), its notes and introductions
        (its whole page), and its neighbours' papers counted by theme."""
        days = [self._records_tokens[d.date] if d else "-" for d in neighbours]
        own = self._day_tokens[day.date]
        return self._key(own, *days, *(self.record_token(p.paper.id) for p in day.placed))

    def theme_archive_page(self, number: int, is_last: bool, records: Iterable[Record]) -> str:
        """An archive page shows a fixed run of papers and links newer and older pages."""
        return self._key(str(number), str(is_last), *(self.record_token(r.id) for r in records))

    def paper_page(self, record: Record, related: Iterable[str]) -> str:
        """A paper page shows the paper, the days it is on, and its related papers."""
        return self._key(*(self.record_token(i) for i in (record.id, *related)))

    def redirect_page(self, previous_id: str, record: Record) -> str:
        """A redirect shows where the paper is now, and its title."""
        return self._key("redirect", previous_id, self.record_token(record.id))

    def papers_sitemap(self, path: str, records: Iterable[Record]) -> str:
        """A sitemap lists URLs and dates only: a note on a paper does not change it."""
        return self._key(path, *[r.id + r.last_seen.isoformat() for r in records])

    def _key(self, *parts: str) -> str:
        return sha1_hex("|".join((self.salt, *parts)).encode("utf-8"))


def day_token(day: LoadedDay) -> str:
    """Fingerprint a digest page: its bytes' hash, or its parsed content when built in memory."""
    return day.token or sha1_hex(value_bytes(day.day))


def records_token(day: LoadedDay) -> str:
    """Fingerprint what a digest page says of its papers, notes aside (its records token, or
    its parsed content when built in memory, where that is all there is to go by)."""
    return day.records_token or day_token(day)


def render_salt(dirs: Sequence[Path], config: Config, themes: Sequence[Theme], site: Any) -> str:
    """Fingerprint what every page depends on: digest, templates, settings, themes, header."""
    parts = [__version__.encode(), value_bytes((config, tuple(themes), site))]
    for folder in dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                parts += [str(path.relative_to(folder)).encode(), path.read_bytes()]
    return sha1_hex(b"\0".join(parts))


def salted(salt: str, key: str) -> str:
    """Combine a file's own key (a search shard's, say) with the build's salt."""
    return sha1_hex(f"{salt}|{key}".encode())


def input_stamp(files: str, config: Config) -> str:
    """Fingerprint the inputs (``files``: :func:`digest.build.stamp.files_token` of every input
    folder) and the settings: equal stamps mean nothing to build."""
    return sha1_hex(f"{__version__}|{config!r}|{files}".encode())


def search_doc_token(
    paper_id: str, theme_text: str, dates: Sequence[dt.date], pages: Mapping[dt.date, str]
) -> str:
    """Name a search document by its paper's pages and theme names, without hashing its text.

    Empty when a page has no content hash (a library built in memory): the text is hashed then.
    Most papers appear on one day, so that case costs one string.
    """
    if len(dates) == 1:
        page = pages.get(dates[0], "")
        return f"{paper_id}|{theme_text}|{page}" if page else ""
    tokens = [pages.get(d, "") for d in dates]
    return "|".join([paper_id, theme_text, *tokens]) if all(tokens) else ""


def search_block_key(version: str, name: str, fields: Sequence[str], parts: Sequence[str]) -> str:
    """Key a block of the search index (half a month of papers) by what it is made of, and
    ``version``: the index format and the analyser (a new lunr.py may stem differently).

    Every other index file's key derives from block keys (see :mod:`digest.site.search`).
    """
    data = json.dumps(
        [version, name, list(fields), list(parts)], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha1(data.encode("utf-8")).hexdigest()


def search_index_key(settings: Sequence[object], block_keys: Sequence[str]) -> str:
    """Key the whole search index but the details files: its settings and every block's key.

    The pieces and the manifest are made of the block analyses (each a pure function of its
    block, named by its key), the layout, the fields and the themes offered: equal keys, equal
    files, so a build that changed no searchable text keeps them all without assembling.
    """
    data = json.dumps([list(settings), list(block_keys)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(data.encode("utf-8")).hexdigest()
