"""Measure the theme matcher against labelled papers, honestly: P/R/F1 per theme, and splits.

A split keeps the papers of some sources (the dumps they came from) for tuning and the rest for
validation; folds hold out one source at a time. The numbers that are fitted (place weights and
thresholds, :mod:`digest.fit`) are refitted on the tuning papers only, so a validation figure is
never computed on data that shaped it; each report records which papers were used for what.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.config import DEFAULTS_DIR
from digest.errors import DigestError
from digest.ingest.classify import Scored, describe, score_themes
from digest.ingest.fit import Fitted, Sample, fit
from digest.ingest.parse import normalise_title, parse_file
from digest.ingest.themes import with_fitted
from digest.model import Theme
from digest.pages.cache import load_stored_days

LABELS = DEFAULTS_DIR / "labels.json"
"""The shipped labels: the dev set with abstracts and the sample dump each paper came from."""


@dataclass(frozen=True)
class Labelled:
    """A paper with the themes people gave it, and the source (dump) it was labelled from."""

    title: str
    abstract: str
    themes: frozenset[str]
    source: str = ""

    @property
    def key(self) -> str:
        """The paper's identity (its normalised title), to tell papers apart across splits."""
        return normalise_title(self.title)

    def sample(self) -> Sample:
        return Sample(self.title, self.abstract, self.themes)


@dataclass(frozen=True)
class Score:
    """Agreement of the matcher with the labels for one theme."""

    theme: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labels(path: Path, abstracts: dict[str, str]) -> list[Labelled]:
    """Read a labels file (``[{"title", "themes", optional "abstract" and "source"}]``).

    Labels may carry only titles, so abstracts are then looked up by normalised title in
    ``abstracts`` (from the project's dumps and digests, or the dumps given on the command line).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DigestError("labels file not found", path) from None
    except UnicodeDecodeError:
        raise DigestError("is not UTF-8 text", path) from None
    except json.JSONDecodeError as exc:
        raise DigestError(f"not a JSON labels file: {exc.msg}", path, exc.lineno) from None
    if not isinstance(data, list):
        raise DigestError('expected a JSON list of {"title": ..., "themes": [...]}', path)
    labelled = [_labelled(item, i, path, abstracts) for i, item in enumerate(data)]
    missing = [item for item in labelled if not item.abstract]
    if missing:
        raise DigestError(
            f"{len(missing)} labelled title(s) have no abstract, e.g. {missing[0].title!r}; "
            "add an 'abstract' to each label or pass the dumps they come from with --from",
            path,
        )
    return labelled


def _labelled(item: Any, index: int, path: Path, abstracts: dict[str, str]) -> Labelled:
    if not isinstance(item, dict) or not isinstance(item.get("title"), str):
        raise DigestError(f"label #{index + 1} needs a 'title' string", path)
    themes = item.get("themes", [])
    if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
        raise DigestError(f"label #{index + 1} needs 'themes' as a list of slugs", path)
    abstract = item.get("abstract") or abstracts.get(normalise_title(item["title"]), "")
    return Labelled(item["title"], str(abstract), frozenset(themes), str(item.get("source", "")))


def evaluate(themes: Sequence[Theme], labelled: Iterable[Labelled]) -> list[Score]:
    """Score every configured theme against the labels."""
    counts = {theme.slug: [0, 0, 0] for theme in themes}
    for item in labelled:
        predicted = {s.theme for s in score_themes(themes, item.title, item.abstract) if s.matched}
        for slug, tp_fp_fn in counts.items():
            truth, guess = slug in item.themes, slug in predicted
            tp_fp_fn[0] += truth and guess
            tp_fp_fn[1] += guess and not truth
            tp_fp_fn[2] += truth and not guess
    return [Score(slug, *c) for slug, c in counts.items()]


@dataclass(frozen=True)
class Miss:
    """A disagreement with the labels: "FP" or "FN", the paper, and its score in that theme."""

    kind: str
    title: str
    scored: Scored


def misses(themes: Sequence[Theme], labelled: Iterable[Labelled]) -> list[Miss]:
    """List every false positive and negative with its score and hits, to see what rules miss."""
    found = []
    for item in labelled:
        for scored in score_themes(themes, item.title, item.abstract):
            truth = scored.theme in item.themes
            if scored.matched != truth:
                found.append(Miss("FN" if truth else "FP", item.title, scored))
    return sorted(found, key=lambda m: (m.scored.theme, m.kind, m.title))


def mean_f1(scores: Sequence[Score]) -> float:
    """Return the unweighted mean F1 over themes (each theme counts the same)."""
    return sum(s.f1 for s in scores) / len(scores) if scores else 0.0


def pooled(scores: Iterable[Sequence[Score]]) -> list[Score]:
    """Add up the counts of several folds' scores, theme by theme."""
    totals: dict[str, list[int]] = {}
    for fold in scores:
        for s in fold:
            counts = totals.setdefault(s.theme, [0, 0, 0])
            counts[0] += s.tp
            counts[1] += s.fp
            counts[2] += s.fn
    return [Score(slug, *c) for slug, c in totals.items()]


@dataclass(frozen=True)
class Fold:
    """Papers to tune on and papers to validate on; no paper is on both sides."""

    name: str
    tune: tuple[Labelled, ...]
    validate: tuple[Labelled, ...]


def split(labelled: Sequence[Labelled], tune_sources: Sequence[str]) -> Fold:
    """Tune on the papers whose source starts with one of ``tune_sources``; validate on the rest."""
    sources = sorted({item.source for item in labelled})
    for prefix in tune_sources:
        if not any(source.startswith(prefix) for source in sources):
            raise DigestError(
                f"no labelled paper's source starts with {prefix!r}; "
                f"sources: {', '.join(sources) or 'none'}"
            )
    tune = tuple(i for i in labelled if i.source.startswith(tuple(tune_sources)))
    validate = tuple(i for i in labelled if not i.source.startswith(tuple(tune_sources)))
    if not tune or not validate:
        raise DigestError("a split needs labelled papers on both sides")
    _check_disjoint(tune, validate)
    return Fold("+".join(tune_sources), tune, validate)


def folds(labelled: Sequence[Labelled]) -> list[Fold]:
    """Hold out one source at a time (leave-one-source-out cross-validation)."""
    sources = sorted({item.source for item in labelled})
    if len(sources) < 2:
        raise DigestError("folds need labelled papers from at least two sources")
    out = []
    for held in sources:
        tune = tuple(i for i in labelled if i.source != held)
        validate = tuple(i for i in labelled if i.source == held)
        _check_disjoint(tune, validate)
        out.append(Fold(held, tune, validate))
    return out


def _check_disjoint(tune: Sequence[Labelled], validate: Sequence[Labelled]) -> None:
    """Refuse a labels file that puts one paper under two sources (it would leak)."""
    shared = {i.key for i in tune} & {i.key for i in validate}
    if shared:
        raise DigestError(
            f"{len(shared)} paper(s) are labelled under sources on both sides of the split, "
            f"e.g. {sorted(shared)[0]!r}; give each paper one source"
        )


@dataclass(frozen=True)
class FoldReport:
    """One fold's figures, and exactly which papers each was computed on."""

    fold: Fold
    fitted: Fitted | None
    tune: list[Score]
    validate: list[Score]
    tuned_on: frozenset[str]
    validated_on: frozenset[str]


def cross_validate(themes: tuple[Theme, ...], fold: Fold, *, refit: bool = True) -> FoldReport:
    """Refit on the fold's tuning papers only, then score both sides with the refitted themes."""
    fitted = fit(themes, [item.sample() for item in fold.tune]) if refit else None
    used = with_fitted(themes, fitted.places, fitted.thresholds) if fitted else themes
    return FoldReport(
        fold,
        fitted,
        evaluate(used, fold.tune),
        evaluate(used, fold.validate),
        frozenset(item.key for item in fold.tune),
        frozenset(item.key for item in fold.validate),
    )


def score_table(scores: Sequence[Score], papers: int) -> list[str]:
    """Return the precision / recall / F1 table of one set of papers."""
    lines = [
        f"{'theme':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>4} {'FP':>4} {'FN':>4}"
    ]
    lines += [
        f"{s.theme:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}"
        f" {s.tp:>4} {s.fp:>4} {s.fn:>4}"
        for s in scores
    ]
    lines.append(f"{'mean F1':<20} {'':>9} {'':>7} {mean_f1(scores):>6.3f}   ({papers} papers)")
    return lines


def fold_table(report: FoldReport) -> list[str]:
    """Return one fold's tuning and validation figures side by side, and what was refitted."""
    fold = report.fold
    lines = [
        f"fold {fold.name}: tuned on {len(report.tuned_on)} papers ({_sources(fold.tune)}), "
        f"validated on {len(report.validated_on)} ({_sources(fold.validate)})"
    ]
    if report.fitted is not None:
        lines.append(f"  refitted on the tuning papers: {report.fitted.summary()}")
    lines.append(
        f"  {'theme':<20} {'tune F1':>7} {'valid P':>7} {'valid R':>7} {'valid F1':>8}"
        f" {'TP':>3} {'FP':>3} {'FN':>3}"
    )
    for tune, valid in zip(report.tune, report.validate, strict=True):
        lines.append(
            f"  {tune.theme:<20} {tune.f1:>7.3f} {valid.precision:>7.3f} {valid.recall:>7.3f}"
            f" {valid.f1:>8.3f} {valid.tp:>3} {valid.fp:>3} {valid.fn:>3}"
        )
    means = mean_f1(report.tune), mean_f1(report.validate)
    lines.append(f"  {'mean F1':<20} {means[0]:>7.3f} {'':>7} {'':>7} {means[1]:>8.3f}")
    return lines


def _sources(labelled: Sequence[Labelled]) -> str:
    return ", ".join(sorted({item.source.split("_")[0] or "?" for item in labelled}))


def miss_lines(miss: Miss) -> list[str]:
    """Return a miss as lines: kind, theme, score vs threshold and title, then its hits."""
    scored = miss.scored
    sign = ">=" if scored.score >= scored.threshold else "<"
    head = f"{miss.kind} {scored.theme:<20} {scored.score:g} {sign} {scored.threshold:g}"
    return [f"{head}  {miss.title}", *describe(scored)[1:]]


def known_abstracts(dumps: Iterable[Path], digests_dir: Path | None) -> dict[str, str]:
    """Map normalised titles to abstracts from raw dumps, then from a project's digest pages."""
    abstracts: dict[str, str] = {}
    for path in dumps:
        for entry in parse_file(path, date=dt.date(2000, 1, 1)):
            abstracts.setdefault(normalise_title(entry.title), entry.abstract)
    if digests_dir is not None:
        for stored in load_stored_days(digests_dir).values():
            for _, paper in stored.day.placed_papers():
                abstracts.setdefault(normalise_title(paper.title), paper.abstract)
    return abstracts


def report(
    themes: Sequence[Theme],
    labelled: Sequence[Labelled],
    *,
    tune_sources: Sequence[str] | None = None,
    all_folds: bool = False,
    refit: bool = True,
    show_misses: bool = False,
) -> list[str]:
    """Return what ``digest themes eval`` prints: all labels, one split, or every fold.

    With a split, misses are the tuning side's only: the validation side is never read.
    """
    if tune_sources is None and not all_folds:
        lines = score_table(evaluate(themes, labelled), len(labelled))
        return lines + (_miss_report(themes, labelled) if show_misses else [])
    chosen = folds(labelled) if all_folds else [split(labelled, tune_sources or ())]
    reports = [cross_validate(tuple(themes), fold, refit=refit) for fold in chosen]
    lines = [line for fold_report in reports for line in fold_table(fold_report)]
    if all_folds:
        held_out = pooled(fold_report.validate for fold_report in reports)
        lines.append(
            "pooled held-out figures (each paper scored once, by the fit that did not see it):"
        )
        lines += score_table(held_out, len(labelled))
    if show_misses:
        (only,) = reports
        fitted = only.fitted
        used = with_fitted(tuple(themes), fitted.places, fitted.thresholds) if fitted else themes
        lines.append(f"misses on the tuning side ({len(only.fold.tune)} papers):")
        lines += _miss_report(used, only.fold.tune)
    return lines


def _miss_report(themes: Sequence[Theme], labelled: Sequence[Labelled]) -> list[str]:
    return [line for miss in misses(themes, labelled) for line in miss_lines(miss)]


def fit_yaml(themes: Sequence[Theme], labelled: Sequence[Labelled]) -> str:
    """Fit the place weights and thresholds to labelled papers; return them as themes.yaml lines."""
    slugs = {theme.slug for theme in themes}
    if not any(item.themes & slugs for item in labelled):
        raise DigestError(
            f"no labelled paper has any of the configured themes ({', '.join(sorted(slugs))}); "
            "nothing to fit"
        )
    return fit(themes, [item.sample() for item in labelled]).yaml()
