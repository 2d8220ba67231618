"""Measuring the rules honestly: shipped labels, splits by source, refits blind to validation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from digest.config import DEFAULTS_DIR
from digest.errors import DigestError
from digest.ingest.evaluate import (
    LABELS,
    Labelled,
    cross_validate,
    evaluate,
    folds,
    load_labels,
    mean_f1,
    pooled,
    split,
)
from digest.ingest.fit import fit
from digest.ingest.themes import load_themes, with_fitted
from tests.conftest import DATA, REPO, SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]
THEMES = load_themes(DEFAULTS_DIR / "themes.yaml")
SHIPPED = load_labels(LABELS, {})


def test_shipped_labels_are_the_dev_labels_with_abstracts_and_one_source_each() -> None:
    dev = json.loads((DATA / "dev_labels.json").read_text())
    assert [(i.title, sorted(i.themes)) for i in SHIPPED] == [
        (d["title"], sorted(d["themes"])) for d in dev
    ]
    assert all(i.abstract and i.source.endswith(".txt") for i in SHIPPED)
    assert len({i.key for i in SHIPPED}) == len(SHIPPED)  # each paper once, under one source


def test_make_labels_rebuilds_the_shipped_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "labels.json"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks/make_labels.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == LABELS.read_bytes()


def test_a_split_puts_each_paper_on_one_side_by_its_source() -> None:
    fold = split(SHIPPED, ["000", "003"])
    assert len(fold.tune) == 175 and len(fold.validate) == 64
    assert {i.source[:3] for i in fold.tune} == {"000", "003"}
    assert {i.source[:3] for i in fold.validate} == {"001", "002"}
    assert not {i.key for i in fold.tune} & {i.key for i in fold.validate}


def test_a_split_refuses_unknown_sources_and_papers_on_both_sides() -> None:
    with pytest.raises(DigestError, match="no labelled paper's source starts with '009'"):
        split(SHIPPED, ["009"])
    with pytest.raises(DigestError, match="both sides"):
        split(SHIPPED, ["0"])
    twice = [*SHIPPED, replace(SHIPPED[0], source="001_x.txt")]
    with pytest.raises(DigestError, match="give each paper one source"):
        split(twice, ["000"])


def test_validation_figures_come_from_a_fit_that_never_saw_the_validation_papers() -> None:
    """Flip every validation label: the refit and the tuning figures must not move at all."""
    fold = split(SHIPPED, ["000", "003"])
    report = cross_validate(THEMES, fold)
    assert report.tuned_on == {i.key for i in fold.tune}
    assert report.validated_on == {i.key for i in fold.validate}
    assert not report.tuned_on & report.validated_on
    assert report.fitted == fit(THEMES, [i.sample() for i in fold.tune])
    assert report.fitted is not None
    used = with_fitted(THEMES, report.fitted.places, report.fitted.thresholds)
    assert report.validate == evaluate(used, fold.validate)
    assert report.tune == evaluate(used, fold.tune)
    assert report.validate != evaluate(used, fold.tune)  # so the checks above can fail

    slugs = frozenset(t.slug for t in THEMES)
    flipped = replace(
        fold, validate=tuple(replace(i, themes=slugs - i.themes) for i in fold.validate)
    )
    other = cross_validate(THEMES, flipped)
    assert other.fitted == report.fitted and other.tune == report.tune
    assert other.validate != report.validate


def test_folds_hold_out_each_source_once_and_pool_every_paper_once() -> None:
    chosen = folds(SHIPPED)
    assert [f.name[:3] for f in chosen] == ["000", "001", "002", "003"]
    reports = [cross_validate(THEMES, fold) for fold in chosen]
    held_out = [key for r in reports for key in r.validated_on]
    assert sorted(held_out) == sorted(i.key for i in SHIPPED)
    for report in reports:
        assert not report.tuned_on & report.validated_on
    total = pooled(r.validate for r in reports)
    positives = {t.slug: sum(t.slug in i.themes for i in SHIPPED) for t in THEMES}
    assert {s.theme: s.tp + s.fn for s in total} == positives


def test_the_shipped_numbers_are_what_themes_fit_gives_on_the_shipped_labels() -> None:
    """The place weights and thresholds in themes.yaml are reproducible, not hand-tweaked."""
    fitted = fit(THEMES, [i.sample() for i in SHIPPED])
    assert fitted.places == THEMES[0].places
    assert fitted.thresholds == {t.slug: t.threshold for t in THEMES}


def test_fitting_is_deterministic_and_keeps_a_theme_it_cannot_fit() -> None:
    samples = [i.sample() for i in SHIPPED if "inr" not in i.themes]
    first, second = fit(THEMES, samples), fit(THEMES, samples)
    assert first == second
    inr = next(t for t in THEMES if t.slug == "inr")
    assert first.thresholds["inr"] == inr.threshold  # no positive: nothing to fit it to


def test_shipped_rules_on_the_dev_labels_regression_guard() -> None:
    """In-sample (the rules were tuned on these papers): a guard against regressions only.

    The honest estimates are in benchmarks/themes-protocol.md.
    """
    scores = evaluate(THEMES, SHIPPED)
    assert mean_f1(scores) >= 0.90
    assert all(s.f1 >= 0.85 for s in scores), scores


def rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}


def test_themes_eval_runs_on_the_shipped_labels_with_no_arguments(cli: Cli, tmp_path: Path) -> None:
    result = cli("themes", "eval", cwd=tmp_path)
    assert result.code == 0, result.err
    table = rows(result.out)
    assert set(table) == {
        "theme",
        "decoupling",
        "quantization",
        "inr",
        "unified-multimodal",
        "mean",
    }
    assert result.out.rstrip().endswith("(239 papers)")
    assert float(table["mean"][2]) == round(mean_f1(evaluate(THEMES, SHIPPED)), 3)


def test_themes_eval_split_reports_the_validation_side_of_a_refit(cli: Cli) -> None:
    result = cli("themes", "eval", "--split", "000,003", cwd=REPO)
    assert result.code == 0, result.err
    assert "tuned on 175 papers (000, 003), validated on 64 (001, 002)" in result.out
    report = cross_validate(THEMES, split(SHIPPED, ["000", "003"]))
    assert report.fitted is not None
    assert f"refitted on the tuning papers: {report.fitted.summary()}" in result.out
    table = rows(result.out)
    for tune, valid in zip(report.tune, report.validate, strict=True):
        assert table[tune.theme][1:5] == [
            f"{tune.f1:.3f}",
            f"{valid.precision:.3f}",
            f"{valid.recall:.3f}",
            f"{valid.f1:.3f}",
        ]
    assert table["mean"][2:4] == [f"{mean_f1(report.tune):.3f}", f"{mean_f1(report.validate):.3f}"]


def test_themes_eval_split_misses_show_the_tuning_side_only(cli: Cli) -> None:
    result = cli("themes", "eval", "--split", "000,003", "--misses", cwd=REPO)
    assert result.code == 0, result.err
    misses = result.out.split("misses on the tuning side", 1)[1]
    listed = set(re.findall(r"^F[PN] \S+ +\S+ [<>=]+ \S+  (.*)$", misses, re.M))
    fold = split(SHIPPED, ["000", "003"])
    assert listed and listed <= {i.title for i in fold.tune}
    assert not listed & {i.title for i in fold.validate}


def test_themes_eval_folds_pools_the_held_out_figures(cli: Cli) -> None:
    result = cli("themes", "eval", "--folds", cwd=REPO)
    assert result.code == 0, result.err
    assert result.out.count("refitted on the tuning papers") == 4
    pooled_table = rows(result.out.split("pooled held-out figures", 1)[1])
    total = pooled(cross_validate(THEMES, fold).validate for fold in folds(SHIPPED))
    assert pooled_table["mean"][2] == f"{mean_f1(total):.3f}"


def test_themes_eval_as_written_scores_the_rules_without_refitting(cli: Cli) -> None:
    result = cli("themes", "eval", "--split", "000,003", "--as-written", cwd=REPO)
    assert "refitted" not in result.out
    fold = split(SHIPPED, ["000", "003"])
    assert rows(result.out)["mean"][3] == f"{mean_f1(evaluate(THEMES, fold.validate)):.3f}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--folds", "--misses"], "--misses goes with --split"),
        (["--as-written"], "--as-written goes with --split or --folds"),
        (["--split", ","], "--split needs source names"),
        (["--split", "000", "--folds"], "not allowed with argument"),
    ],
)
def test_themes_eval_usage_mistakes(cli: Cli, args: list[str], message: str) -> None:
    result = cli("themes", "eval", *args, cwd=REPO)
    assert result.code == 2 and message in result.err


def test_themes_eval_without_abstracts_explains_what_to_pass(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text('[{"title": "A Paper Nobody Has", "themes": []}]')
    result = cli("themes", "eval", labels, cwd=tmp_path)
    assert result.code == 1
    assert "have no abstract" in result.err and "--from" in result.err


def test_themes_eval_reads_abstracts_of_title_only_labels_from_dumps(
    cli: Cli, project: Path
) -> None:
    for dump in SAMPLE_FILES.values():
        shutil.copy(dump, project / "content" / "raw")
    result = cli("themes", "eval", DATA / "dev_labels.json", cwd=project)
    assert result.code == 0, result.err
    assert result.out == cli("themes", "eval", cwd=project).out


def test_themes_eval_accepts_labels_with_abstracts(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(
        '[{"title": "Vector Quantization", "abstract": "We quantize.", "themes": ["quantization"]},'
        ' {"title": "Cats", "abstract": "About cats.", "themes": []}]'
    )
    result = cli("themes", "eval", labels, cwd=tmp_path)
    assert result.code == 0
    assert "quantization             1.000   1.000  1.000    1    0    0" in result.out


def test_themes_eval_misses_list_score_threshold_and_hits(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(
        '[{"title": "Cats", "abstract": "About cats.", "themes": ["inr"]},'
        ' {"title": "Post-Training Quantization", "abstract": "Passing quantization.",'
        ' "themes": []}]'
    )
    result = cli("themes", "eval", labels, "--misses", cwd=tmp_path)
    assert result.code == 0
    assert re.search(r"^FN inr                  0 < [\d.]+  Cats$", result.out, re.M)
    assert re.search(r"^FP quantization         [\d.]+ >= [\d.]+  Post-Training", result.out, re.M)
    assert re.search(r"^    title “Post-Training Quantization” \(quantiz\* \+", result.out, re.M)


def test_themes_fit_prints_the_shipped_numbers(cli: Cli, tmp_path: Path) -> None:
    result = cli("themes", "fit", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.startswith("# fitted to 239 labelled papers")
    text = (DEFAULTS_DIR / "themes.yaml").read_text()
    where = re.search(r"^where: .*$", result.out, re.M)
    assert where is not None and where[0] in text.splitlines()
    for slug, value in re.findall(r"^  ([\w-]+): ([\d.]+)$", result.out, re.M):
        block = text.split(f"- slug: {slug}\n", 1)[1]
        assert re.search(rf"^    threshold: {re.escape(value)}$", block, re.M), slug


def test_labelled_keys_ignore_case_and_punctuation() -> None:
    assert (
        Labelled("A Paper: Yes!", "x", frozenset()).key
        == Labelled("a paper yes", "", frozenset()).key
    )


def test_themes_fit_refuses_labels_without_the_configured_themes(cli: Cli, project: Path) -> None:
    (project / "content/themes.yaml").write_text("themes:\n- slug: cats\n  match: [cat*]\n")
    result = cli("themes", "fit", cwd=project)
    assert result.code == 1 and "no labelled paper has any of the configured themes (cats)" in (
        result.err
    )
    (project / "content/themes.yaml").write_text("themes: []\n")
    assert cli("themes", "fit", cwd=project).code == 1


def test_a_fit_with_nothing_to_learn_keeps_the_numbers() -> None:
    negatives = [replace(i.sample(), themes=frozenset()) for i in SHIPPED[:40]]
    fitted = fit(THEMES, negatives)
    assert fitted.places == THEMES[0].places
    assert fitted.thresholds == {t.slug: t.threshold for t in THEMES}
    assert fit((), negatives).thresholds == {}
