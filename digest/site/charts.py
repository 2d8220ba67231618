"""Trend charts: papers per week, laid out as an SVG bar chart with axes (drawn by templates).

Everything a chart shows is decided here, in SVG user units: bars, the value axis (0, the middle
and the busiest week), month labels under the weeks, values over the bars when there is room,
and a text summary for screen readers (the SVG's ``<desc>``). Templates only draw it, inline
and script-free.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from digest.text import plural

WEEKS_SHOWN = 52
"""A chart covers at most the last year of weeks: older bars would be too thin to read."""
LEFT, RIGHT, TOP, BOTTOM = 30, 4, 14, 18
"""Margins around the bars: value axis labels left, value labels above, month labels below."""
VALUES_UP_TO = 16
"""Bars with a value over them when the chart has at most this many weeks (else the peak only)."""
DESCRIBED_WEEKS = 12
"""Weeks with papers the screen-reader summary lists by name (the latest ones)."""


@dataclass(frozen=True)
class Bar:
    """One bar of a trend chart, in SVG user units; ``value_y`` is where its value is written."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int = 0
    show_value: bool = False

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def value_y(self) -> float:
        return round(self.y - 3, 2)


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis: ``at`` is x for the week axis, y for the value axis."""

    at: float
    label: str


@dataclass(frozen=True)
class Trend:
    """Papers per week for one theme, ready to draw; ``id`` names the chart's title element."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    peak: int
    total: int
    first_week: str
    last_week: str
    id: str = ""
    left: float = LEFT
    """Where the plot starts (x) and its baseline (y), in user units."""
    baseline: float = 0
    values: tuple[Tick, ...] = ()
    """Value axis ticks: 0, the middle, the peak."""
    months: tuple[Tick, ...] = ()
    """Week axis labels, at the first week of each labelled month."""
    summary: str = ""
    """The chart in words, for screen readers."""

    @property
    def top(self) -> float:
        return TOP

    @property
    def right(self) -> float:
        return self.width - RIGHT


def week_start(date: dt.date) -> dt.date:
    return date - dt.timedelta(days=date.weekday())


def weekly_trend(dates: Sequence[dt.date], width: int, height: int) -> Trend:
    """Count papers per ISO week (the last WEEKS_SHOWN weeks) and lay them out as a chart."""
    if not dates:
        return Trend((), width, height, 0, 0, "", "")
    counts = Counter(week_start(d) for d in dates)
    last = max(counts)
    first = max(min(counts), last - dt.timedelta(weeks=WEEKS_SHOWN - 1))
    weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    shown = {w: counts[w] for w in weeks if counts[w]}
    peak = max(shown.values())
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / len(weeks)
    baseline = TOP + plot_h
    bars = []
    for i, week in enumerate(weeks):
        value = counts[week]
        if not value:
            continue
        bar_h = value / peak * plot_h
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.1, 2),
                y=round(baseline - bar_h, 2),
                width=round(max(slot * 0.8, 0.5), 2),
                height=round(bar_h, 2),
                label=f"week of {_day(week)}: {plural(value, 'paper')}",
                value=value,
                show_value=len(weeks) <= VALUES_UP_TO or value == peak,
            )
        )
    values = tuple(
        Tick(round(baseline - v / peak * plot_h, 2), str(v))
        for v in sorted({0, peak // 2, peak})
        if v == 0 or v == peak or plot_h * (peak - v) / peak > 12  # room between labels
    )
    return Trend(
        bars=tuple(bars),
        width=width,
        height=height,
        peak=peak,
        total=sum(shown.values()),
        first_week=first.isoformat(),
        last_week=last.isoformat(),
        left=LEFT,
        baseline=round(baseline, 2),
        values=values,
        months=_months(weeks, LEFT, slot),
        summary=_summary(weeks, shown, peak),
    )


def _months(weeks: Sequence[dt.date], left: float, slot: float) -> tuple[Tick, ...]:
    """Label the first week of each month, skipping months too close to the last label."""
    ticks: list[Tick] = []
    last_x = -100.0
    for i, week in enumerate(weeks):
        if i and week.month == weeks[i - 1].month:
            continue
        x = left + i * slot
        if x - last_x < 34:  # a label is about 30 units wide
            continue
        year = i == 0 or week.month == 1
        ticks.append(Tick(round(x, 2), f"{week:%b}" + (f" ’{week:%y}" if year else "")))
        last_x = x
    return tuple(ticks)


def _summary(weeks: Sequence[dt.date], shown: dict[dt.date, int], peak: int) -> str:
    busiest = min(w for w, n in shown.items() if n == peak)
    latest = sorted(shown)[-DESCRIBED_WEEKS:]
    listed = "; ".join(f"week of {_day(w)}: {shown[w]}" for w in latest)
    earlier = len(shown) - len(latest)
    more = f" ({earlier} earlier weeks with papers not listed)" if earlier else ""
    return (
        f"{plural(sum(shown.values()), 'paper')} in {plural(len(weeks), 'week')}, from the week of "
        f"{_day(weeks[0])} to the week of {_day(weeks[-1])}; the busiest week, "
        f"{_day(busiest)}, had {peak}. Weeks with papers{more}: {listed}."
    )


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"
