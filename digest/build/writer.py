"""The site writer: stage changed files, then move them into the output folder as one commit.

A manifest of what the last build wrote (path -> hash, page keys, the inputs' stamp) lets a
rebuild skip unchanged files and remove pages whose content is gone, without ever touching
files digest did not write, and without wiping the output folder (deleting a large folder
makes this disk slow for a long time).

Committing moves each staged file into place, removes the stale ones, then moves the new
manifest in. A process killed halfway through that would leave a mix of two builds, so the
commit is journalled: once every file is staged, the list of moves and removals is written
to a journal in the staging folder (the commit point), then carried out. The next build into
that folder finds the journal and finishes the commit before anything else (every step can
be done twice), so the folder always ends up as one whole build: the old one if the kill
came before the journal, the new one after. A first build renames the staging folder, with
its manifest, into place: one step. Nothing is copied, so rebuilds stay incremental.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from digest.errors import DigestError
from digest.fsutil import sha1_hex, write_atomic, write_new
from digest.urls import check_site_path

MANIFEST = ".digest-manifest.json"
MANIFEST_VERSION = 2
JOURNAL = ".digest-commit.json"
"""In the staging folder: the moves and removals of a commit under way."""
Staged = tuple[str, str, str | None, bool]
"""(site path, content hash, page key, whether it was written to the staging folder)."""


def read_manifest(out: Path) -> dict[str, Any]:
    """Return what the last build into ``out`` recorded (files, page keys, inputs), or {}."""
    try:
        data = orjson.loads((out / MANIFEST).read_bytes())  # 7 MB at 50,000 papers: 3x faster
    except (OSError, ValueError):  # orjson.JSONDecodeError is a ValueError
        return {}
    ok = isinstance(data, dict) and data.get("version") == MANIFEST_VERSION
    return data if ok else {}


class SiteWriter:
    """Stages changed files, then moves them into the output folder in one go."""

    def __init__(self, out: Path, *, clean: bool):
        if out.exists() and not out.is_dir():
            raise DigestError("the output folder is a file; give --out a folder", out)
        self.out = out
        self.clean = clean
        self.staging = staging_folder(out)
        recover(out)
        shutil.rmtree(self.staging, ignore_errors=True)
        manifest = read_manifest(out)
        self.written_before: set[str] = set(manifest.get("files", {}))
        """Every file the last build wrote: the only files a build may remove."""
        if clean:  # forget hashes and keys, so that every file is rendered and written again
            manifest = {}
        self.inputs: str = manifest.get("inputs", "")
        self.old_state: str = manifest.get("state", "")
        self.state = ""
        """What the pages of this build are made of, but day pages (see ``keep_all_but``)."""
        self.old_days: dict[str, str] = manifest.get("days", {})
        self.days: dict[str, str] = {}
        """Each day page's own token, by date: which ones a note changed."""
        self.old: dict[str, str] = manifest.get("files", {})
        self.old_keys: dict[str, str] = manifest.get("keys", {})
        self.new: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.staged: list[str] = []
        self._made: set[str] = set()
        # Listing the folders the last build wrote to answers "is that file still there?" for
        # every page: a third faster than a stat() per page (52,000 at 50,000 papers).
        self._present = _files_in(out, {p.rpartition("/")[0] for p in self.old})

    def up_to_date(self, inputs: str) -> bool:
        """Return True if the last build had exactly these inputs and its files are all there."""
        if not self.old or inputs != self.inputs:
            return False
        return all(self._exists(path) for path in self.old)

    def _exists(self, site_path: str) -> bool:
        return site_path in self._present

    def keep(self, site_path: str, key: str) -> bool:
        """Keep a page the last build wrote from the same data; return False if it must render."""
        if self.old_keys.get(site_path) != key or not self._exists(site_path):
            return False
        self.new[site_path] = self.old[site_path]
        self.keys[site_path] = key
        return True

    @property
    def present(self) -> set[str]:
        """The files the last build wrote that are still there."""
        return self._present

    def keep_kept(self, paths: Iterable[str]) -> None:
        """Keep pages the plan found unchanged and present (see :class:`Reuse`), at once."""
        paths = list(paths)
        if paths:  # itemgetter: the lookups in C (50,000 of them after a new day)
            self.new.update(zip(paths, _values(self.old, paths), strict=True))
            self.keys.update(zip(paths, _values(self.old_keys, paths), strict=True))

    def keep_all(self, folder: str, marker: str, key: str, *, but: str) -> bool:
        """Keep every file the last build wrote under ``folder`` (except under ``but``) if it
        wrote ``marker`` under ``key`` and all of them are still there; else keep none."""
        if self.old_keys.get(marker) != key:
            return False
        return self._keep_present(
            [p for p in self.old if p.startswith(folder) and not p.startswith(but)]
        )

    def keep_all_but(self, state: str, redo: Collection[str]) -> bool:
        """Keep every file the last build wrote but those in ``redo`` if it was made of the
        same ``state`` and all of them are still there; else keep none (plan them all)."""
        if not state or self.old_state != state:
            return False
        return self._keep_present([p for p in self.old if p not in redo])

    def _keep_present(self, paths: list[str]) -> bool:
        """Keep ``paths`` as the last build wrote them (hashes, keys) if all are still there.

        In set and dict operations: 59,000 files at 50,000 papers, a tenth of a second in a
        loop, in a rebuild after a note that takes about one.
        """
        if not self._present.issuperset(paths):
            return False
        old, old_keys = self.old, self.old_keys
        self.new.update({p: old[p] for p in paths})
        self.keys.update({p: old_keys[p] for p in paths if p in old_keys})
        return True

    def add(self, site_path: str, data: bytes, key: str | None = None) -> None:
        """Record one output file; stage it unless the same bytes are already in place."""
        if site_path in self.new:
            raise DigestError(f"two pages would be written to {site_path}; rename a theme slug")
        self.merge([self.stage(site_path, data, key)])

    def stage(self, site_path: str, data: bytes, key: str | None) -> Staged:
        """Write ``data`` to the staging folder if it differs from the last build's file."""
        check_site_path(site_path)
        digest = sha1_hex(data)
        if self.old.get(site_path) == digest and self._exists(site_path):
            return site_path, digest, key, False
        folder = site_path.rpartition("/")[0]
        if folder not in self._made:  # once per folder and process, not once per page
            os.makedirs(f"{self.staging}/{folder}", exist_ok=True)
            self._made.add(folder)
        write_new(f"{self.staging}/{site_path}", data)
        return site_path, digest, key, True

    def merge(self, results: Iterable[Staged]) -> None:
        """Record staged results (from this process or a worker)."""
        for site_path, digest, key, staged in results:
            self.new[site_path] = digest
            if key is not None:
                self.keys[site_path] = key
            if staged:
                self.staged.append(site_path)

    def commit(self, inputs: str) -> tuple[int, int, int]:
        """Put the staged files in place and remove the last build's files that are gone.

        Returns (files written, files unchanged, files removed).
        """
        manifest = {
            "version": MANIFEST_VERSION,
            "inputs": inputs,
            "state": self.state,
            "days": self.days,
            "files": self.new,
            "keys": self.keys,
        }
        self.staging.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)  # json.dumps's bytes, 5x faster
        write_new(f"{self.staging}/{MANIFEST}", data)
        stale = sorted(self.written_before - set(self.new))
        if not self.out.exists():  # a first build: the staging folder becomes the site at once
            os.replace(self.staging, self.out)
            return len(self.staged), len(self.new) - len(self.staged), 0
        self._refuse_to_overwrite_files_of_others()
        journal = {"moves": self.staged, "removes": stale}
        write_atomic(self.staging / JOURNAL, orjson.dumps(journal))  # the commit point
        finish_commit(self.out, self.staging)
        return len(self.staged), len(self.new) - len(self.staged), len(stale)

    def _refuse_to_overwrite_files_of_others(self) -> None:
        """Stop before a commit would replace a file no build wrote (a deploy folder's own
        robots.txt or 404.html): the old site stays as it is."""
        clashes = [
            p for p in self.staged if p not in self.written_before and os.path.lexists(self.out / p)
        ]
        if clashes:
            more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
            raise DigestError(
                f"would overwrite {', '.join(clashes[:3])}{more}, which digest did not write "
                "(not in its manifest); move such files out of the output folder, or put your "
                "own version in the project's "
                "templates/ folder (robots.txt, 404.html) so that digest builds it",
                self.out,
            )

    def discard(self) -> None:
        """Remove the staging folder (after a commit, or when the build failed).

        A commit that failed halfway (a full disk) keeps its journal for the next build.
        """
        if not (self.staging / JOURNAL).exists():
            shutil.rmtree(self.staging, ignore_errors=True)


def _values(mapping: dict[str, str], keys: list[str]) -> tuple[str, ...]:
    found = itemgetter(*keys)(mapping)
    return found if len(keys) > 1 else (found,)


def staging_folder(out: Path) -> Path:
    """Return where a build into ``out`` stages its files: beside it, on the same disk."""
    return out.parent / f".{out.name}.staging"


def recover(out: Path) -> bool:
    """Finish a commit into ``out`` that a killed build left halfway; return True if one was."""
    staging = staging_folder(out)
    if not (staging / JOURNAL).is_file():
        return False
    finish_commit(out, staging)
    return True


def finish_commit(out: Path, staging: Path) -> None:
    """Carry out a commit's journal; every step may already have been done by a killed build."""
    try:
        journal = orjson.loads((staging / JOURNAL).read_bytes())
        moves, removes = list(journal["moves"]), list(journal["removes"])
    except (OSError, ValueError, KeyError, TypeError):
        raise DigestError(
            f"the journal of an unfinished build is damaged; delete {staging} and "
            "build again with --clean",
            staging / JOURNAL,
        ) from None
    for site_path in moves:
        _move(staging, out, site_path)
    _remove(out, removes)
    _move(staging, out, MANIFEST)  # last: the manifest says the commit is whole
    (staging / JOURNAL).unlink()
    shutil.rmtree(staging, ignore_errors=True)


def _move(staging: Path, out: Path, site_path: str) -> None:
    check_site_path(site_path)
    source = f"{staging}/{site_path}"
    if os.path.lexists(source):  # else moved before the last build was killed
        target = out / site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def _remove(out: Path, stale: list[str]) -> None:
    """Remove files of the last build that this one does not have, and folders left empty."""
    for site_path in stale:
        check_site_path(site_path)
        (out / site_path).unlink(missing_ok=True)
    for folder in sorted({(out / p).parent for p in stale}, reverse=True):
        while folder != out and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _files_in(root: Path, folders: Iterable[str]) -> set[str]:
    """Return the site paths of the files directly in ``folders`` (relative to ``root``).

    Only folders digest wrote to are listed, so unrelated trees in the output folder (a .git,
    an unreadable lost+found) cost nothing; a folder that cannot be listed has no files.
    """
    found: set[str] = set()
    for folder in folders:
        try:
            with os.scandir(f"{root}/{folder}" if folder else root) as entries:
                prefix = f"{folder}/" if folder else ""
                found.update(prefix + e.name for e in entries if e.is_file())
        except OSError:
            continue
    return found
