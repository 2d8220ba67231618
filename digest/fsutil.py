"""File writing that never leaves a half-written file behind, and the process's working habits."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def sha1_hex(data: bytes) -> str:
    """Return the hex SHA-1 of bytes: a fingerprint for caches and rebuild keys, not security."""
    return hashlib.sha1(data).hexdigest()


def folder_key(folder: Path) -> str:
    """Name a cache entry kept for one output folder (its stamp, its plan memo)."""
    return sha1_hex(str(folder).encode("utf-8", "surrogateescape"))[:16]


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FileHashes:
    """SHA-256 of files, remembered by size and modification time in one small cache file.

    Deciding which raw dumps are new hashed every dump on every build: 1,000 dumps took a
    tenth of a second of a no-op-sized rebuild. A file whose stamp is unchanged keeps its hash
    (any doubt, as with the page cache: hash it).
    """

    def __init__(self, cache: Path | None):
        self.cache = cache
        self.known: dict[str, list[Any]] = {}
        self.changed = False
        if cache is not None:
            try:
                loaded = json.loads(cache.read_bytes())
                self.known = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self.known = {}

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self.known.get(path.name)
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp:
            return str(entry[2])
        digest = sha256_file(path)
        self.known[path.name] = [*stamp, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Keep what was hashed for the next command (a cache: losing it costs only time)."""
        if self.cache is not None and self.changed:
            data = json.dumps(self.known, sort_keys=True, separators=(",", ":")).encode()
            write_atomic(self.cache, data, durable=False)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a mix.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed over
    the target (rename is atomic within one file system). Caches pass ``durable=False``: they
    may be lost in a crash (never half-written), and skipping fsync makes writing many fast.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_leftovers(folder: Path) -> int:
    """Remove the temporary files of writes that were killed midway (``write_atomic``'s).

    Only safe while no other process writes the folder: the caller holds the project lock.
    """
    removed = 0
    for leftover in folder.glob(".*.tmp") if folder.is_dir() else ():
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless the file already holds it; return True if written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


def write_new(path: str, data: bytes) -> None:
    """Write a file into a folder nobody reads yet (a build's staging folder), with no extras.

    A build stages thousands of pages; plain os calls on str paths cost about a third less
    than ``Path.write_bytes``. Atomicity comes from the folder: it is moved into place whole.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # less the umask, as open()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def value_bytes(value: object) -> bytes:
    """Pickle ``value`` by what it holds, not by which objects hold it: without a memo, an
    equal value gives the same bytes whether its equal strings are one object or several
    (a string read back from a cache is a copy, where one parsed from YAML may be shared),
    so the bytes can key what is made of the value. Not for values with cycles."""
    data = io.BytesIO()
    pickler = pickle.Pickler(data, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return data.getvalue()


@contextmanager
def rare_collections(threshold: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector rarely for a while, and as before afterwards.

    digest's commands hold millions of objects (50,000 papers' records, cards, keys) and make
    few reference cycles; at Python's default threshold the collector walked that heap again
    and again: a quarter to a third of a rebuild's time at 50,000 papers. Reference counting
    still frees everything else at once, so memory does not grow.
    """
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


_LEFT_FOR_EXIT: list[object] | None = None
"""What :func:`leave_for_exit` was given, once :func:`end_without_freeing` was called."""


def end_without_freeing() -> None:
    """Say that this process ends with ``os._exit`` when its command is done (the console
    entry point does): objects left for it are then never freed one by one."""
    global _LEFT_FOR_EXIT
    _LEFT_FOR_EXIT = []


def leave_for_exit(*objects: object) -> None:
    """Keep ``objects`` alive until the process ends, if it ends without freeing them.

    A build's data is millions of small objects (50,000 papers' records, cards, keys);
    letting them go when the build returned took 0.11-0.17 s of a 1.7 s new day, for memory
    the exit gives back at once (compilers skip the same work: clang's ``-disable-free``).
    Anywhere else (the preview server, the tests, a library caller) this keeps nothing.
    """
    if _LEFT_FOR_EXIT is not None:
        _LEFT_FOR_EXIT.extend(objects)
