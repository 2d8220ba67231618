"""The digest pages on disk, read into :class:`Day` records, with a cache for large archives.

Every command starts by reading all digest pages; at tens of thousands of papers parsing them is
most of a no-op rebuild. A page whose size and modification time are unchanged since the last
read is taken from a pickle in the project's cache folder instead (any doubt: read the page).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from digest import __version__
from digest.errors import DigestError
from digest.fsutil import sha1_hex, value_bytes, write_atomic
from digest.model import Day, Meta, Paper, Section, Source
from digest.pages.format import decode_page, parse_day

log = logging.getLogger(__name__)


ENTRY_FORMAT = 3
"""Bump when what an entry holds besides the model changes (2: the papers token, 3: the
records token)."""


def cache_format() -> str:
    """Name the shape of what the cache pickles: digest's version and every model field.

    A pickled Day from before a field was added would load without it; a new name for any
    change of the model (not only of the version number) keeps such entries from being read.
    """
    shapes = [__version__, f"entry:{ENTRY_FORMAT}"]
    for model in (Day, Section, Paper, Source, Meta):
        shapes.append(model.__name__ + ":" + ",".join(f.name for f in dataclasses.fields(model)))
    return sha1_hex("|".join(shapes).encode("utf-8"))[:12]


CACHE_FORMAT = cache_format()


@dataclass(frozen=True)
class StoredDay:
    """A digest page as found on disk."""

    path: Path
    day: Day
    token: str
    """SHA-1 of the page's bytes: what the page says, for deciding what to rebuild."""
    papers_token: str = ""
    """What the page says of its papers' text, themes and authors, but not its notes or why
    lines (worked out when empty): search is made of that alone, so a note added to an old
    day does not make the build analyse its papers again."""

    records_token: str = ""
    """What the page says of its papers but their notes (worked out when empty): every
    page but this day's own is made of that alone, so a note added to a paper re-renders
    its day page, not the pages of every paper that day and of every list showing them."""

    def __post_init__(self) -> None:
        if not self.papers_token:
            object.__setattr__(self, "papers_token", papers_token(self.day))
        if not self.records_token:
            object.__setattr__(self, "records_token", records_token(self.day))

    def read_text(self) -> str:
        """Return the page's text (read when needed: to check hand edits before a rewrite)."""
        return decode_page(self.path.read_bytes(), self.path)


Stamp = tuple[int, int]
Entry = tuple[Stamp, str, Day, str, str]
"""A cache entry: the page's stamp, token, parsed day, papers token and records token."""


def load_stored_days(
    digests_dir: Path, cache_dir: Path | None = None, later: list[Callable[[], None]] | None = None
) -> dict[dt.date, StoredDay]:
    """Read every digest page in ``digests_dir``, keyed by date.

    With ``later``, new cache entries are queued there instead of written now: a build writes
    them while its workers render, off the critical path.
    """
    stored: dict[dt.date, StoredDay] = {}
    cache = DayCache(cache_dir, later)
    for path in sorted(digests_dir.glob("*.md")) if digests_dir.is_dir() else []:
        page = cache.read(path)
        if page.day.date in stored:
            raise DigestError(
                f"has the same date as {stored[page.day.date].path.name}; one page per date", path
            )
        stored[page.day.date] = page
    cache.forget_others({page.path.name for page in stored.values()})
    return stored


class DayCache:
    """One pickle per digest page, reused while the page's size and mtime are unchanged."""

    def __init__(self, cache_dir: Path | None, later: list[Callable[[], None]] | None = None):
        self.folder = None if cache_dir is None else cache_dir / f"days-{CACHE_FORMAT}"
        self.later = later

    def read(self, path: Path) -> StoredDay:
        """Return a page from the cache if its stamp is unchanged, else parse (and cache) it."""
        stamp = _stamp(path)
        cached = self._load(path.name)
        if cached is not None and cached[0] == stamp:
            return StoredDay(path, cached[2], cached[1], cached[3], cached[4])
        token, day = parse_page(path)
        page = StoredDay(path, day, token)
        self._store(path.name, (stamp, token, day, page.papers_token, page.records_token))
        return page

    def remember(self, page: StoredDay) -> StoredDay:
        """Cache a page just written (its day and token known), so nobody parses it again."""
        entry = (_stamp(page.path), page.token, page.day, page.papers_token, page.records_token)
        self._store(page.path.name, entry)
        return page

    def _load(self, name: str) -> Entry | None:
        if self.folder is None:
            return None
        try:
            entry = pickle.loads((self.folder / f"{name}.pickle").read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
            return None
        return entry if isinstance(entry, tuple) and len(entry) == 5 else None

    def _store(self, name: str, entry: Entry) -> None:
        if self.folder is None:
            return
        if self.later is not None:
            self.later.append(partial(self._write, self.folder / f"{name}.pickle", entry))
        else:
            self._write(self.folder / f"{name}.pickle", entry)

    @staticmethod
    def _write(path: Path, entry: Entry) -> None:
        try:
            write_atomic(path, pickle.dumps(entry, protocol=5), durable=False)
        except OSError as exc:
            log.warning("could not write the cache %s: %s", path.parent, exc)

    def forget_others(self, names: set[str]) -> None:
        """Drop cache entries of pages that no longer exist."""
        if self.folder is None or not self.folder.is_dir():
            return
        for entry in self.folder.glob("*.pickle"):
            if entry.name.removesuffix(".pickle") not in names:
                entry.unlink(missing_ok=True)


def _stamp(path: Path) -> Stamp:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns)


def papers_token(day: Day) -> str:
    """Hash the date and each paper's section, id, title, abstract (and whether it is cut
    off: a record takes a whole abstract over a truncated one), themes line and authors."""
    parts: list[object] = [day.date.isoformat()]
    for section, p in day.placed_papers():
        authors = list(p.meta.authors or ())
        parts.append([section, p.id, p.title, p.abstract, p.truncated, list(p.themes), authors])
    return sha1_hex(json.dumps(parts, ensure_ascii=False).encode("utf-8"))


def records_token(day: Day) -> str:
    """Hash everything the page says of its papers but their notes: date, title, sections
    and each paper's every other field (pickled: the fields are nested dataclasses, and
    pickling is twice as fast as the JSON of the papers token). A page just written and
    the same page read back must give one token, or the build after each ingest would take
    the new day's papers for changed."""
    papers = [(s, replace(p, notes="") if p.notes else p) for s, p in day.placed_papers()]
    sections = [(section.slug, section.name) for section in day.sections]
    return sha1_hex(value_bytes((day.date, day.title, sections, papers)))


def parse_page(path: Path) -> tuple[str, Day]:
    """Read and parse one page: its content hash and its day."""
    data = path.read_bytes()
    return sha1_hex(data), parse_day(decode_page(data, path), path)
