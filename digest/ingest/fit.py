"""Fit how much a hit counts by where it stands, and each theme's threshold, to labelled papers.

The model is small and linear, so what it learns is a handful of numbers a user can read and edit
in ``themes.yaml``: one weight per place (title, claim, first, last, body, contrast), shared by
all themes, and one threshold per theme. For a paper and a theme, the feature of a place is the
sum of the weights of the rules whose best hit stands there; a logistic regression (L2 on the
place weights, one intercept per theme) fits the place weights, scaled so ``body`` is 1. Each
threshold is then the cut that maximises F1 on the same papers, as near the cut that is best for
all themes together as that allows (:func:`_threshold` says why). Rule
weights and vocabulary are not fitted: they come from the theme definitions.

Pure Python (a 10 x 10 Newton step needs no numpy), deterministic, and fast enough for
``digest themes eval --folds`` to refit once per fold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from digest.ingest.classify import Reading, score_theme
from digest.model import PLACES, Places, Theme

ROUNDS = 4
"""Refits: a rule's best place depends on the weights, so features are re-read with each fit."""
L2 = 1.0
"""Ridge penalty on the place weights: a few dozen positives must not make them run away."""
NEWTON_STEPS = 60


@dataclass(frozen=True)
class Sample:
    """One labelled paper, for fitting: its text and the themes people gave it."""

    title: str
    abstract: str
    themes: frozenset[str]


@dataclass(frozen=True)
class Fitted:
    """What a fit found: the place weights and each theme's threshold."""

    places: Places
    thresholds: dict[str, float]

    def summary(self) -> str:
        """Return the numbers on one line, for reports."""
        weights = " ".join(f"{p} {self.places.weight(p):g}" for p in PLACES)
        cuts = " ".join(f"{slug} {value:g}" for slug, value in self.thresholds.items())
        return f"{weights}; thresholds {cuts}"

    def yaml(self) -> str:
        """Return the numbers as the lines to put in ``themes.yaml``."""
        weights = ", ".join(f"{p}: {self.places.weight(p):g}" for p in PLACES)
        lines = [f"where: {{{weights}}}", "thresholds:"]
        lines += [f"  {slug}: {value:g}" for slug, value in self.thresholds.items()]
        return "\n".join(lines)


def fit(themes: Sequence[Theme], samples: Sequence[Sample]) -> Fitted:
    """Fit place weights (shared) and thresholds (per theme) to labelled papers.

    With no labelled positive, or a fit in which a hit in the body counts against a theme,
    there is nothing to trust: the place weights stay as they are.
    """
    if not themes:
        return Fitted(Places(), {})
    readings = [Reading.of(s.title, s.abstract, themes[0].cues) for s in samples]
    places = themes[0].places
    for _ in range(ROUNDS):
        rows = _rows(themes, places, samples, readings)
        if not any(labelled for *_, labelled in rows):
            break
        beta, _ = _logistic(rows, len(themes))
        scale = beta[PLACES.index("body")]
        if scale <= 0:
            break
        fitted = Places(**{p: round(b / scale, 2) for p, b in zip(PLACES, beta, strict=True)})
        if fitted == places:
            break
        places = fitted
    table = {
        theme.slug: _scores(_with_places(theme, places), samples, readings) for theme in themes
    }
    shared = _shared_cut(list(table.values()))
    thresholds = {
        theme.slug: _threshold(*table[theme.slug], shared, theme.threshold) for theme in themes
    }
    return Fitted(places, thresholds)


Row = tuple[int, tuple[float, ...], bool]


def _rows(
    themes: Sequence[Theme],
    places: Places,
    samples: Sequence[Sample],
    readings: Sequence[Reading],
) -> list[Row]:
    """Return (theme index, rule weight summed per place, labelled) for every unvetoed pair."""
    rows = []
    for sample, reading in zip(samples, readings, strict=True):
        for i, theme in enumerate(themes):
            scored = score_theme(_with_places(theme, places), reading)
            if scored.vetoed_by is not None:
                continue
            features = [0.0] * len(PLACES)
            for hit in scored.hits:
                features[PLACES.index(hit.place)] += hit.weight
            rows.append((i, tuple(features), theme.slug in sample.themes))
    return rows


def _with_places(theme: Theme, places: Places) -> Theme:
    return theme if theme.places == places else replace(theme, places=places)


def _logistic(rows: Sequence[Row], n_themes: int) -> tuple[list[float], list[float]]:
    """Fit P(labelled) = sigmoid(beta . features + bias[theme]) by Newton's method."""
    k = len(PLACES)
    size = k + n_themes
    params = [1.0] * k + [0.0] * n_themes
    for _ in range(NEWTON_STEPS):
        grad = [L2 * params[j] if j < k else 1e-3 * params[j] for j in range(size)]
        hess = [[0.0] * size for _ in range(size)]
        for j in range(size):
            hess[j][j] = L2 if j < k else 1e-3
        for theme, features, labelled in rows:
            x = [*features, *[1.0 if t == theme else 0.0 for t in range(n_themes)]]
            z = sum(p * v for p, v in zip(params, x, strict=True))
            prob = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            nonzero = [j for j in range(size) if x[j]]
            for j in nonzero:
                grad[j] += (prob - labelled) * x[j]
                for m in nonzero:
                    hess[j][m] += prob * (1 - prob) * x[j] * x[m]
        step = _solve(hess, grad)
        params = [p - s for p, s in zip(params, step, strict=True)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return params[:k], params[k:]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve a small symmetric positive-definite system by Gaussian elimination."""
    n = len(vector)
    a = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for row in range(col + 1, n):
            factor = a[row][col] / a[col][col]
            for j in range(col, n + 1):
                a[row][j] -= factor * a[col][j]
    out = [0.0] * n
    for row in reversed(range(n)):
        out[row] = (a[row][n] - sum(a[row][j] * out[j] for j in range(row + 1, n))) / a[row][row]
    return out


Scores = tuple[list[tuple[float, bool]], int]
"""A theme's (score, labelled) for each paper it could take (a hit, no veto); its positives."""


def _scores(theme: Theme, samples: Sequence[Sample], readings: Sequence[Reading]) -> Scores:
    scores, positives = [], 0
    for sample, reading in zip(samples, readings, strict=True):
        labelled = theme.slug in sample.themes
        positives += labelled
        scored = score_theme(theme, reading)
        if scored.vetoed_by is None and scored.hits:
            scores.append((scored.score, labelled))
    return scores, positives


def _gaps(scores: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """Return the gaps between consecutive distinct scores, where a cut can go."""
    values = sorted({score for score, _ in scores})
    floor = 0.0 if values[0] > 0 else values[0] - 1.0  # a paper with no hit scores 0, and is out
    return [
        (floor, values[0]),
        *zip(values, values[1:], strict=False),
        (values[-1], values[-1] + 1),
    ]


def _shared_cut(table: Sequence[Scores]) -> float:
    """Return the one cut that is best for all themes together (mean F1), mid-gap."""
    cuts = sorted({_middle(*gap) for scores, _ in table if scores for gap in _gaps(scores)})
    if not cuts:
        return 2.0
    return max(cuts, key=lambda cut: sum(_f1(scores, n, cut) for scores, n in table))


def _threshold(
    scores: list[tuple[float, bool]], positives: int, shared: float, old: float
) -> float:
    """Return a theme's F1-best cut on its own papers, as near the shared cut as that allows.

    A theme with few positives has wide empty gaps in which every cut is as good on the
    tuning papers; its middle is no better a guess than any other, so the shared cut (the
    themes' rule weights are on one scale) decides. A theme with no positive keeps ``old``.
    """
    if not any(labelled for _, labelled in scores):
        return old
    best = max(_f1(scores, positives, gap[1]) for gap in _gaps(scores))
    gaps = [gap for gap in _gaps(scores) if _f1(scores, positives, gap[1]) == best]
    low, high = min(gaps, key=lambda gap: _distance(shared, gap))
    return shared if low < shared <= high else _middle(low, high)


def _distance(cut: float, gap: tuple[float, float]) -> float:
    low, high = gap
    return 0.0 if low < cut <= high else min(abs(cut - low), abs(cut - high))


def _middle(low: float, high: float) -> float:
    """Return a two-decimal number in (low, high], as near the middle as rounding allows."""
    return math.ceil(round((low + high) / 2 * 100, 6)) / 100


def _f1(scores: Sequence[tuple[float, bool]], positives: int, cut: float) -> float:
    tp = sum(1 for score, labelled in scores if labelled and score >= cut)
    guessed = sum(1 for score, _ in scores if score >= cut)
    return 2 * tp / (guessed + positives) if guessed + positives else 0.0
