"""Re-theme digest pages after the rules change: papers follow the rules, hand decisions win.

digest filed a paper when its ``themes:`` line lists exactly the themes its ``why`` lines
explain, in that order, and the paper sits in the first one's section (under Other when it has
none). Anything else is a hand decision, which re-theming never touches: a paper moved to
another section, a ``themes:`` line edited, a theme added without a why line, or
``(by hand)`` written at the end of the ``themes:`` line. Re-theming classifies the papers
digest filed again and moves those whose themes changed, a note travelling with its paper;
every other line of the page stays as it was, and a page nothing moved on is not rewritten.
Pure functions: :mod:`digest.ingest.run` reads and writes the pages.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from digest.ingest.merge import classify_entry, place
from digest.model import OTHER, Day, Entry, Moves, Paper, Theme

UNDATED = dt.date(1970, 1, 1)
"""Classifying takes an entry; its date, source and line play no part in the themes."""


def filed_by_digest(section: str, paper: Paper) -> bool:
    """Tell digest's own decisions from hand decisions (see the module docstring)."""
    decided = tuple(paper.why)
    if paper.hand or paper.themes != decided:
        return False
    return section == (decided[0] if decided else OTHER)


def retheme_day(day: Day, themes: Sequence[Theme]) -> tuple[Day, Moves]:
    """Classify again the papers digest filed; return the day regrouped, and what moved.

    The day itself comes back when nothing moved and no why line changed, so the caller can
    tell an untouched page by identity.
    """
    placed: list[tuple[str, Paper]] = []
    moves = Moves()
    for section, paper in day.placed_papers():
        again = _classified(paper, themes) if filed_by_digest(section, paper) else paper
        if again.themes != paper.themes:
            old, new = set(paper.themes), set(again.themes)
            moves += Moves(1, Counter(new - old), Counter(old - new))
            section = again.primary
        placed.append((section, again))
    if all(new is old for (_, new), (_, old) in zip(placed, day.placed_papers(), strict=True)):
        return day, moves
    return _regroup(day, placed, themes), moves


def _classified(paper: Paper, themes: Sequence[Theme]) -> Paper:
    entry = Entry(paper.id, paper.title, paper.abstract, UNDATED, "", 0, paper.truncated)
    fresh = classify_entry(entry, themes)
    if (fresh.themes, fresh.why) == (paper.themes, paper.why):
        return paper
    return replace(paper, themes=fresh.themes, why=fresh.why)


def _regroup(day: Day, placed: list[tuple[str, Paper]], themes: Sequence[Theme]) -> Day:
    """File each paper in its section, in page order; a section emptied goes, unless it has
    an introduction someone wrote."""
    regrouped = replace(day, sections=tuple(replace(s, papers=()) for s in day.sections))
    for slug, paper in placed:
        regrouped = place(regrouped, slug, paper, themes)
    kept = tuple(s for s in regrouped.sections if s.papers or s.intro)
    return replace(regrouped, sections=kept)
