"""Paper identity: the same paper keeps one id, and distinct papers never share one.

An id is a hash of the normalised title (:func:`digest.ingest.parse.paper_id`), which ignores
punctuation so that cosmetic differences between copies of a title do not make two papers of
one. But "C++ Compilers...", "C# Compilers..." and "C Compilers...!" normalise alike, and all
but the first were dropped as duplicates without a word. So when an id is already taken by
another paper, the newcomer gets an id of its own, made from its title with punctuation kept,
and the collision is reported. Which paper is "the same" is :func:`same_paper`'s call.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace

from digest.ingest.parse import normalise_title
from digest.model import Entry

log = logging.getLogger(__name__)

Known = Mapping[str, tuple[str, str]]
"""Papers already known, by id: (title, abstract)."""


def exact_title(title: str) -> str:
    """Return a title with case and spacing normalised but punctuation kept."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def same_paper(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Tell whether two (title, abstract) with one id are one paper: same exact title, or
    the same abstract (one may be cut short, as a page's last abstract often is)."""
    if exact_title(a[0]) == exact_title(b[0]):
        return True
    first, second = (" ".join(a[1].split()), " ".join(b[1].split()))
    return bool(first and second) and (first.startswith(second) or second.startswith(first))


def own_id(title: str, attempt: int = 0) -> str:
    """Return the id of a paper whose title's usual id belongs to another paper."""
    key = f"{normalise_title(title)}\0{exact_title(title)}\0{attempt}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def resolve_ids(entries: Iterable[Entry], known: Known) -> list[Entry]:
    """Return ``entries`` with each one whose id another paper has given an id of its own.

    ``known`` holds the papers already in the digests; entries are taken in order, so the
    first of two colliding papers keeps the usual id and the result is the same in every run.
    """
    seen = dict(known)
    resolved = []
    for entry in entries:
        paper = (entry.title, entry.abstract)
        identity, attempt = entry.id, 0
        while identity in seen and not same_paper(seen[identity], paper):
            if attempt == 0:
                _report(entry, seen[identity][0])
            identity, attempt = own_id(entry.title, attempt), attempt + 1
        seen.setdefault(identity, paper)
        resolved.append(entry if identity == entry.id else replace(entry, id=identity))
    return resolved


def known_papers(papers: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """Map ids to (title, abstract) from (id, title, abstract) triples, the first one winning."""
    known: dict[str, tuple[str, str]] = {}
    for identity, title, abstract in papers:
        known.setdefault(identity, (title, abstract))
    return known


def _report(entry: Entry, other: str) -> None:
    log.warning(
        "warning: %s:%d: %r and %r have the same id (their titles differ only in "
        "punctuation); it gets an id of its own",
        entry.source, entry.line, entry.title, other,
    )  # fmt: skip

