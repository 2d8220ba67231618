"""Trend charts: papers per week, laid out as SVG bars (drawn inline by the templates)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar of a trend chart, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Trend:
    """Papers per week for one theme, ready to draw as bars; ``id`` names the chart's title."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    peak: int
    total: int
    first_week: str
    last_week: str
    id: str = ""


def week_start(date: dt.date) -> dt.date:
    return date - dt.timedelta(days=date.weekday())


def weekly_trend(dates: Sequence[dt.date], width: int, height: int) -> Trend:
    """Count papers per ISO week between the first and last week, and lay them out as bars."""
    if not dates:
        return Trend((), width, height, 0, 0, "", "")
    counts = Counter(week_start(d) for d in dates)
    first, last = min(counts), max(counts)
    weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    peak = max(counts.values())
    slot = width / len(weeks)
    bars = tuple(
        Bar(
            x=round(i * slot, 2),
            y=round(height - counts[w] / peak * height, 2),
            width=round(max(slot * 0.8, 0.5), 2),
            height=round(counts[w] / peak * height, 2),
            label=f"week of {w.isoformat()}: {counts[w]}",
        )
        for i, w in enumerate(weeks)
        if counts[w]
    )
    return Trend(bars, width, height, peak, len(dates), first.isoformat(), last.isoformat())
