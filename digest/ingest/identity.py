"""Paper identity: the same paper keeps one id, and distinct papers never share one.

A paper's id is its arXiv id when a source gives one (Hugging Face's API does), else 12 hex
digits of its normalised title's hash (:func:`digest.ingest.parse.paper_id`, all a text dump
can know). Two things follow.

- One paper can arrive under two ids. :func:`identities` maps title hashes to the arXiv ids
  of papers with those titles, from the entries being ingested and the pages already written,
  so that a text dump's entry of a paper the pages know by its arXiv id takes that id, and a
  paper the pages know by its title hash takes the arXiv id an entry brings, on every page it
  is on, keeping the hash as a previous id (its old permalink redirects to the new). Titles
  are hashed only where that can find something: the pages' arXiv papers' titles only when a
  text entry is being ingested, so ingesting API responses into a large archive stays cheap.
- Two papers can share a title hash: it ignores punctuation, so that cosmetic differences
  between copies of a title do not make two papers of one, but "C++ Compilers...", "C#
  Compilers..." and "C Compilers...!" normalise alike. When a title-hash id is already taken
  by another paper, the newcomer gets an id of its own, made from its title with punctuation
  kept, and the collision is reported (:func:`resolve_ids`). Which paper is "the same" is
  :func:`same_paper`'s call; an arXiv id is the same paper whatever its title now says.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from digest.ingest.parse import normalise_title, paper_id
from digest.model import Day, Entry, Paper, is_arxiv_id

log = logging.getLogger(__name__)

Known = Mapping[str, tuple[str, str]]
"""Papers already known, by id: (title, abstract)."""


@dataclass(frozen=True)
class ArxivPaper:
    """The arXiv paper a title hash names, with the text to tell it from a namesake."""

    id: str
    title: str
    abstract: str


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


def identities(entries: Iterable[Entry], days: Iterable[Day]) -> dict[str, ArxivPaper]:
    """Map title hashes to arXiv papers: of the entries, then of what the pages know.

    A title two arXiv papers share ("Technical Report") names neither: it is left out, and a
    text dump's paper of that title stays known by its title.
    """
    entries = list(entries)
    found: dict[str, ArxivPaper | None] = {}

    def note(title_hash: str, paper: ArxivPaper) -> None:
        known = found.setdefault(title_hash, paper)
        if known is not None and known.id != paper.id:
            found[title_hash] = None

    for entry in entries:
        if entry.arxiv_id:
            note(paper_id(entry.title), ArxivPaper(entry.arxiv_id, entry.title, entry.abstract))
    with_titles = any(not entry.arxiv_id for entry in entries)
    for day in days:
        for _, paper in day.placed_papers():
            if is_arxiv_id(paper.id):
                arxiv = ArxivPaper(paper.id, paper.title, paper.abstract)
                for previous in paper.previous_ids:
                    note(previous, arxiv)
                if with_titles:
                    note(paper_id(paper.title), arxiv)
    return {title_hash: arxiv for title_hash, arxiv in found.items() if arxiv is not None}


def resolve_entry(entry: Entry, known: Mapping[str, ArxivPaper]) -> Entry:
    """Give a text entry the arXiv id of the paper its title names, if it is that paper."""
    arxiv = None if entry.arxiv_id else known.get(entry.id)
    if arxiv is None or not same_paper(
        (arxiv.title, arxiv.abstract), (entry.title, entry.abstract)
    ):
        return entry
    return replace(entry, id=arxiv.id, arxiv_id=arxiv.id)


def upgrade_day(day: Day, known: Mapping[str, ArxivPaper]) -> Day:
    """Give every paper known by a title hash the arXiv id now known; ``day`` if none changes."""
    if not known:
        return day
    changed = False
    sections = []
    for section in day.sections:
        papers = tuple(_upgraded(paper, known) for paper in section.papers)
        changed = changed or any(p is not q for p, q in zip(papers, section.papers, strict=True))
        sections.append(replace(section, papers=papers))
    return replace(day, sections=tuple(sections)) if changed else day


def _upgraded(paper: Paper, known: Mapping[str, ArxivPaper]) -> Paper:
    arxiv = None if is_arxiv_id(paper.id) else known.get(paper.id)
    if arxiv is None or not same_paper(
        (arxiv.title, arxiv.abstract), (paper.title, paper.abstract)
    ):
        return paper
    return replace(paper, id=arxiv.id, previous_ids=(*paper.previous_ids, paper.id))


def own_id(title: str, attempt: int = 0) -> str:
    """Return the id of a paper whose title's usual id belongs to another paper."""
    key = f"{normalise_title(title)}\0{exact_title(title)}\0{attempt}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def resolve_ids(entries: Iterable[Entry], known: Known) -> list[Entry]:
    """Return ``entries`` with each one whose title-hash id another paper has given its own.

    ``known`` holds the papers already in the digests; entries are taken in order, so the
    first of two colliding papers keeps the usual id and the result is the same in every run.
    """
    seen: dict[str, tuple[str, str]] = {}  # the entries' own, over ``known`` (not a copy of it)

    def prior(identity: str) -> tuple[str, str] | None:
        return known.get(identity) or seen.get(identity)

    resolved = []
    for entry in entries:
        paper = (entry.title, entry.abstract)
        identity, attempt = entry.id, 0
        while not is_arxiv_id(identity):
            other = prior(identity)
            if other is None or same_paper(other, paper):
                break
            if attempt == 0:
                _report(entry, other[0])
            identity, attempt = own_id(entry.title, attempt), attempt + 1
        if prior(identity) is None:
            seen[identity] = paper
        resolved.append(entry if identity == entry.id else replace(entry, id=identity))
    return resolved


class KnownPapers(Mapping[str, tuple[str, str]]):
    """The papers already in the digests, by id (the oldest page's wins), as
    :func:`resolve_ids` reads them: (title, abstract), made only for the ids it looks up.
    Every ingest reads all 50,000 papers of a large archive to resolve a day's 50."""

    def __init__(self, days: Iterable[Day]):
        self._papers: dict[str, Paper] = {}
        for day in days:
            for section in day.sections:
                for paper in section.papers:
                    self._papers.setdefault(paper.id, paper)

    def __getitem__(self, identity: str) -> tuple[str, str]:
        paper = self._papers[identity]
        return paper.title, paper.abstract

    def __iter__(self) -> Iterator[str]:
        return iter(self._papers)

    def __len__(self) -> int:
        return len(self._papers)


def _report(entry: Entry, other: str) -> None:
    log.warning(
        "warning: %s:%d: %r and %r have the same id (their titles differ only in "
        "punctuation); it gets an id of its own",
        entry.source, entry.line, entry.title, other,
    )  # fmt: skip
