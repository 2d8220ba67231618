"""The digest pages on disk, read into :class:`Day` records, with a cache for large archives.

Every command starts by reading all digest pages; at tens of thousands of papers parsing them is
most of a no-op rebuild. A page whose size and modification time are unchanged since the last
read is taken from a pickle in the project's cache folder instead (any doubt: read the page).
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

from digest import __version__
from digest.digests import parse_day
from digest.errors import DigestError
from digest.fsutil import write_atomic
from digest.model import Day

log = logging.getLogger(__name__)
CACHE_NAME = "days.pickle"


@dataclass(frozen=True)
class StoredDay:
    """A digest page as found on disk."""

    path: Path
    day: Day

    def read_text(self) -> str:
        """Return the page's text (read when needed: to check hand edits before a rewrite)."""
        try:
            return self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DigestError("is not UTF-8 text", self.path) from None


Stamp = tuple[int, int]
Cache = dict[str, tuple[Stamp, Day]]


def load_stored_days(digests_dir: Path, cache_dir: Path | None = None) -> dict[dt.date, StoredDay]:
    """Read every digest page in ``digests_dir``, keyed by date."""
    cache = _read_cache(cache_dir)
    fresh: Cache = {}
    stored: dict[dt.date, StoredDay] = {}
    for path in sorted(digests_dir.glob("*.md")) if digests_dir.is_dir() else []:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        hit = cache.get(path.name)
        day = hit[1] if hit and hit[0] == stamp else _parse(path)
        fresh[path.name] = (stamp, day)
        if day.date in stored:
            raise DigestError(
                f"has the same date as {stored[day.date].path.name}; one page per date", path
            )
        stored[day.date] = StoredDay(path, day)
    if cache_dir is not None and fresh != cache:
        _write_cache(cache_dir, fresh)
    return stored


def _parse(path: Path) -> Day:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DigestError("is not UTF-8 text", path) from None
    return parse_day(text, path)


def _read_cache(cache_dir: Path | None) -> Cache:
    if cache_dir is None:
        return {}
    try:
        with (cache_dir / CACHE_NAME).open("rb") as handle:
            version, cache = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return {}
    return cache if version == __version__ and isinstance(cache, dict) else {}


def _write_cache(cache_dir: Path, cache: Cache) -> None:
    try:
        write_atomic(cache_dir / CACHE_NAME, pickle.dumps((__version__, cache), protocol=5))
    except OSError as exc:
        log.warning("could not write the cache %s: %s", cache_dir, exc)
