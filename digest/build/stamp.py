"""The no-op build in milliseconds: a stamp of the inputs and of the site's folders.

A rebuild with nothing to do read the whole manifest (7 MB at 50,000 papers), listed every
folder of the site and loaded the settings: 0.3 s, after 0.3 s of importing the renderer.
After every build a small stamp in the cache records what that check concluded from: the
inputs' names, sizes and times, and the modification time of every folder the build wrote
to, which moves whenever a file in it is added, deleted or replaced (the manifest included).
When all of it matches, the output folder is what the last build left, so ``digest build``
answers from the stamp alone and imports nothing else of the build.

A folder whose time was set within the file system's clock step before the stamp was taken
can be changed again without its time moving (git's "racy" index entries): a stamp with
such a folder is not trusted. The full check runs instead and, when the site is whole,
takes a new stamp, which is then trustworthy.

This module imports only the standard library and :mod:`digest.fsutil`, for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from digest.fsutil import folder_key, write_atomic

log = logging.getLogger(__name__)

STAMP_FORMAT = 1
FINE_STEP_NS = 100_000_000
"""How close to the stamp a folder's time may be before it is racy, on file systems with
sub-second times (ext4, xfs, btrfs and tmpfs step by a clock tick, a few milliseconds)."""
COARSE_STEP_NS = 2_000_000_000
"""The same on file systems that keep whole seconds (FAT keeps two)."""


def files_token(folders: Iterable[Path]) -> str:
    """Fingerprint every file below ``folders`` by path, size and modification time.

    Linked folders inside them are not entered (a link to a parent would never end); name
    a linked folder itself in ``folders`` to have it read.
    """
    return _token(_files(folders))


def _token(found: list[tuple[str, int, int]]) -> str:
    lines = [f"{path}|{size}|{mtime}" for path, size, mtime in found]
    return hashlib.sha1("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def files_token_unless_touched(folders: Iterable[Path], since_ns: int, own: Collection[str]) -> str:
    """Fingerprint the inputs as :func:`files_token` does, or return "" (which no stamp or
    manifest matches) if a file but those in ``own`` (paths) was written at or after
    ``since_ns``, give or take the clock step: by someone else, while a build that wrote
    inputs of its own (new pages) ran and had to fingerprint them again."""
    found = _files(folders)
    if any(mtime >= since_ns - _step([mtime]) and path not in own for path, _, mtime in found):
        return ""
    return _token(found)


def _files(folders: Iterable[Path]) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for folder in folders:
        _walk(str(folder), found)
    return found


def _walk(folder: str, found: list[tuple[str, int, int]]) -> None:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError:  # missing, not a folder, unreadable: as rglob, nothing below it counts
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):  # as rglob: a linked folder is not entered
            _walk(entry.path, found)
        elif entry.is_file():
            try:
                stat = entry.stat()
            except FileNotFoundError:  # removed while listed: the next build sees it gone
                continue
            found.append((entry.path, stat.st_size, stat.st_mtime_ns))


def stamp_path(cache_dir: Path, out: Path) -> Path:
    """Where the stamp of a build into ``out`` lives: one per output folder."""
    return cache_dir / "stamps" / f"{folder_key(out)}.json"


def record(path: Path, out: Path, inputs: str, folders: Sequence[str], files: int) -> None:
    """Stamp the output folder as it is now (call right after a build left it whole).

    ``folders`` are the site folders the build wrote to, relative to ``out`` ("" for ``out``);
    ``files`` how many files it holds (for the summary line of the next no-op build).
    """
    taken = time.time_ns()
    times = _folder_times(out, folders)
    if times is None:
        return
    data = {"format": STAMP_FORMAT, "out": str(out), "inputs": inputs, "folders": times}
    data |= {"files": files, "racy": _racy(times.values(), taken)}
    try:
        write_atomic(path, json.dumps(data, sort_keys=True).encode("utf-8"), durable=False)
    except OSError as exc:  # the site is whole: only the next no-op build is slower
        log.warning("could not write the build stamp %s: %s", path, exc)


def current(path: Path, out: Path, inputs: str, staging: Path) -> int | None:
    """Return how many files the last build into ``out`` left there if the stamp says that
    build had exactly these inputs and every folder is as it left it (and no commit of
    another build is half done); else None: the full check must run."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != STAMP_FORMAT or data.get("racy"):
        return None
    if data.get("out") != str(out) or data.get("inputs") != inputs or staging.exists():
        return None
    recorded, files = data.get("folders"), data.get("files")
    if not isinstance(recorded, dict) or not recorded or not isinstance(files, int):
        return None
    return files if _folder_times(out, list(recorded)) == recorded else None


def forget(path: Path) -> None:
    """Remove a stamp that can no longer be trusted (a build is about to change the site).

    One that cannot be removed cannot mislead either: the build changes the folders' times.
    """
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove the build stamp %s: %s", path, exc)


def _folder_times(out: Path, folders: Iterable[str]) -> dict[str, int] | None:
    times: dict[str, int] = {}
    for folder in sorted(set(folders)):
        try:
            times[folder] = os.stat(f"{out}/{folder}" if folder else out).st_mtime_ns
        except OSError:
            return None
    return times


def _racy(times: Iterable[int], taken: int) -> bool:
    values = list(times)
    step = _step(values)
    return any(t >= taken - step for t in values)


def _step(times: Sequence[int]) -> int:
    """The clock step of the file system these times come from: whole seconds, or finer."""
    return COARSE_STEP_NS if all(t % 1_000_000_000 == 0 for t in times) else FINE_STEP_NS
