"""Which entries and papers are the same paper: its arXiv id when known, else its title.

A paper's id is its arXiv id when a source gives one (Hugging Face's API does), else 12 hex
digits of its normalised title's hash (:func:`digest.ingest.parse.paper_id`, all a text dump
can know). So one paper can arrive under two ids; :class:`Identities` maps title hashes to
the arXiv ids of papers with those titles, from the entries being ingested and the pages
already written, so that

- a text dump's entry of a paper the pages know by its arXiv id takes that id;
- a paper the pages know by its title hash takes the arXiv id an entry brings, on every page
  it is on, and keeps the hash as a previous id (its old permalink redirects to the new).

Titles are hashed only where that can find something: the pages' arXiv papers' titles only when
a text entry is being ingested, so ingesting API responses into a large archive stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from digest.ingest.parse import paper_id
from digest.model import Day, Entry, Paper, is_arxiv_id


def identities(entries: Iterable[Entry], days: Iterable[Day]) -> dict[str, str]:
    """Map title hashes to arXiv ids: of the entries, then of what the pages know.

    A title two arXiv papers share ("Technical Report") names neither: it is left out, and a
    text dump's paper of that title stays known by its title.
    """
    entries = list(entries)
    found: dict[str, str | None] = {}

    def note(title_hash: str, arxiv: str) -> None:
        if found.setdefault(title_hash, arxiv) not in (arxiv, None):
            found[title_hash] = None

    for entry in entries:
        if entry.arxiv_id:
            note(paper_id(entry.title), entry.arxiv_id)
    with_titles = any(not entry.arxiv_id for entry in entries)
    for day in days:
        for _, paper in day.placed_papers():
            if is_arxiv_id(paper.id):
                for previous in paper.previous_ids:
                    note(previous, paper.id)
                if with_titles:
                    note(paper_id(paper.title), paper.id)
    return {title_hash: arxiv for title_hash, arxiv in found.items() if arxiv is not None}


def resolve_entry(entry: Entry, known: Mapping[str, str]) -> Entry:
    """Give a text entry the arXiv id of the paper its title names, if one is known."""
    if entry.arxiv_id or entry.id not in known:
        return entry
    return replace(entry, id=known[entry.id], arxiv_id=known[entry.id])


def upgrade_day(day: Day, known: Mapping[str, str]) -> Day:
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


def _upgraded(paper: Paper, known: Mapping[str, str]) -> Paper:
    new = known.get(paper.id)
    if new is None or is_arxiv_id(paper.id):
        return paper
    return replace(paper, id=new, previous_ids=(*paper.previous_ids, paper.id))
