"""Theme configuration, matching with reasons, and the measured quality of the default rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from digest.config import DEFAULTS_DIR
from digest.errors import DigestError
from digest.ingest.classify import classify, match_theme
from digest.ingest.themes import load_themes
from tests.conftest import DATA, SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]


def write_themes(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    return path


def test_phrases_match_on_word_boundaries_and_record_why(tmp_path: Path) -> None:
    path = write_themes(
        tmp_path,
        "themes:\n- slug: quant\n  name: Q\n  threshold: 2\n  match:\n  - quantiz*\n"
        "  - {phrase: low bit, weight: 0.5, in: abstract}\n",
    )
    (theme,) = load_themes(path)
    match = match_theme(theme, "Post-Training Quantization", "we use low-bit weights")
    assert match is not None and match.score == 2.5
    assert match.hits == ("title “Quantization”", "abstract “low-bit”")
    assert match_theme(theme, "Unquantized things", "nothing") is None  # no word boundary
    assert match_theme(theme, "Other", "one quantized layer") is None  # below threshold


def test_exclusions_veto_and_several_themes_sort_by_score(tmp_path: Path) -> None:
    path = write_themes(
        tmp_path,
        "themes:\n- slug: a\n  name: A\n  match: [alpha]\n  exclude: [alphabet soup]\n"
        "- slug: b\n  name: B\n  match: [beta, {pattern: 'gamma\\d+', weight: 3}]\n",
    )
    themes = load_themes(path)
    assert [m.theme for m in classify(themes, "Alpha and beta", "gamma2")] == ["b", "a"]
    assert [m.theme for m in classify(themes, "Alpha", "alphabet soup")] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("themes: nope\n", ":1: expected a mapping with a 'themes:' list"),
        ("themes:\n- slug: Bad Slug\n  match: [x]\n", ":2: theme slug must be"),
        ("themes:\n- slug: other\n  match: [x]\n", "theme slug must be"),
        ("themes:\n- slug: a\n  match: []\n", ":2: theme 'a' needs a non-empty 'match:' list"),
        ("themes:\n- slug: a\n  match:\n  - pattern: '(unclosed'\n", ":4: invalid pattern"),
        ("themes:\n- slug: a\n  colour: red\n  match: [x]\n", "unknown theme key(s) ['colour']"),
        ("themes:\n- slug: a\n  match: [x]\n  threshold: high\n", "threshold must be a number"),
        ("themes:\n- slug: a\n  match: [x]\n- slug: a\n  match: [y]\n", "used twice"),
        ("themes: [\n", "invalid YAML"),
    ],
)
def test_config_mistakes_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DigestError) as error:
        load_themes(write_themes(tmp_path, text))
    assert str(error.value).startswith(str(tmp_path / "themes.yaml"))
    assert message in str(error.value)


def test_default_themes_are_the_four_documented_ones() -> None:
    themes = load_themes(DEFAULTS_DIR / "themes.yaml")
    assert [t.slug for t in themes] == ["decoupling", "quantization", "inr", "unified-multimodal"]
    assert all(t.description for t in themes)


def test_themes_eval_on_dev_labels_reaches_target(cli: Cli, project: Path) -> None:
    labels = DATA / "dev_labels.json"
    result = cli("themes", "eval", labels, "--from", *SAMPLE_FILES.values(), cwd=project)
    assert result.code == 0, result.err
    rows = {line.split()[0]: line.split() for line in result.out.splitlines()[1:]}
    assert set(rows) == {"decoupling", "quantization", "inr", "unified-multimodal", "mean"}
    assert float(rows["mean"][2]) >= 0.90, result.out
    assert all(float(rows[slug][3]) >= 0.80 for slug in rows if slug != "mean"), result.out


def test_themes_eval_without_abstracts_explains_what_to_pass(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text('[{"title": "A Paper Nobody Has", "themes": []}]')
    result = cli("themes", "eval", labels, cwd=tmp_path)
    assert result.code == 1
    assert "have no abstract" in result.err and "--from" in result.err


def test_themes_eval_accepts_labels_with_abstracts(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(
        '[{"title": "Vector Quantization", "abstract": "We quantize.", "themes": ["quantization"]},'
        ' {"title": "Cats", "abstract": "About cats.", "themes": []}]'
    )
    result = cli("themes", "eval", labels, cwd=tmp_path)
    assert result.code == 0
    assert "quantization             1.000   1.000  1.000    1    0    0" in result.out


def test_themes_eval_misses_lists_each_disagreement(cli: Cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(
        '[{"title": "Cats", "abstract": "About cats.", "themes": ["inr"]},'
        ' {"title": "Post-Training Quantization", "abstract": "We quantize.", "themes": []}]'
    )
    result = cli("themes", "eval", labels, "--misses", cwd=tmp_path)
    assert result.code == 0
    assert "FN inr                  Cats" in result.out
    assert "FP quantization         Post-Training Quantization" in result.out


TRAPS = [
    ("Improving VQA with Better Prompts", "We answer visual questions.", set()),
    ("VQ-VAE Tokens for Audio", "A vector-quantized autoencoder for audio.", {"quantization"}),
    (
        "On the Implicit Bias of Gradient Descent",
        "We study the implicit bias of optimisers in deep networks.",
        set(),
    ),
    (
        "Discrete Diffusion for Text",
        "We propose a discrete diffusion model for language generation.",
        set(),
    ),
    (
        "Sparse Attention for Long Documents",
        "Our pruning method is complementary to quantization and speeds up inference.",
        set(),
    ),
    (
        "Neural Radiance Fields for Large Scenes",
        "We represent each scene as a neural radiance field mapping coordinates to colour.",
        {"inr"},
    ),
]


@pytest.mark.parametrize(("title", "abstract", "expected"), TRAPS, ids=[t[0] for t in TRAPS])
def test_default_rules_avoid_passing_mentions(
    title: str, abstract: str, expected: set[str]
) -> None:
    """Made-up papers (not from the dev labels): words in passing must not make a theme."""
    themes = load_themes(DEFAULTS_DIR / "themes.yaml")
    assert {m.theme for m in classify(themes, title, abstract)} == expected
