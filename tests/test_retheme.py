"""Themes follow their rules: a changed themes.yaml re-files papers on the next build.

Hand decisions win: a paper moved to another section, an edited ``themes:`` line, a
``(by hand)`` mark. A note travels with its paper; a page nothing moved on is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.build.run import build
from digest.ingest.retheme import filed_by_digest, retheme_day
from digest.ingest.themes import load_themes
from digest.model import Paper
from digest.pages.format import parse_day, read_day, render_day
from digest.project import Project
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

RULES = """themes:
  - slug: quantization
    name: Quantization
    match: [quantiz*]
  - slug: inr
    name: Implicit neural representations
    match: [{phrase: implicit neural representation*, weight: 2}]
"""
GRAPHS = """  - slug: graphs
    name: Graphs
    match: [{phrase: graph neural network*, weight: 2}]
"""
QUANT_ID = "(Post-Training Quantization for Tiny Transformers)"


@pytest.fixture
def themed(tiny: Path) -> Path:
    """The tiny project with two simple themes of its own, built once."""
    (tiny / "content" / "themes.yaml").write_text(RULES, encoding="utf-8")
    build(Project.find(tiny))
    return tiny


def page(root: Path, date: str) -> str:
    return (root / "content" / "digests" / f"{date}.md").read_text(encoding="utf-8")


def section_of(text: str, title_words: str) -> str:
    """Return the slug of the section a paper's heading sits in."""
    current = ""
    for line in text.splitlines():
        if heading := re.match(r"^## .+ \{#([a-z0-9-]+)\}$", line):
            current = heading.group(1)
        elif line.startswith("### ") and title_words in line:
            return current
    raise AssertionError(f"no paper {title_words!r}")


def test_a_new_theme_gets_its_papers_and_its_page(themed: Path, cli: Cli) -> None:
    rules = themed / "content" / "themes.yaml"
    rules.write_text(RULES + GRAPHS, encoding="utf-8")
    result = cli("build", cwd=themed)
    assert result.code == 0, result.err
    assert "re-themed 1 paper: +1 graphs" in result.out
    assert section_of(page(themed, "2024-01-15"), "Café Recommendation") == "graphs"
    assert (themed / "site" / "themes" / "graphs.html").is_file()
    assert "why graphs: " in page(themed, "2024-01-15")
    again = cli("build", cwd=themed)
    assert "re-themed" not in again.out  # the rules are applied once


def test_a_removed_theme_disappears(themed: Path, cli: Cli) -> None:
    (themed / "content" / "themes.yaml").write_text(
        RULES.split("  - slug: inr")[0], encoding="utf-8"
    )
    result = cli("build", cwd=themed)
    assert result.code == 0, result.err
    assert "re-themed 1 paper: -1 inr" in result.out
    assert "{#inr}" not in page(themed, "2024-01-15")
    assert section_of(page(themed, "2024-01-15"), "NeRV-Lite") == "other"
    assert not (themed / "site" / "themes" / "inr.html").exists()


def test_hand_decisions_survive_a_rule_change(themed: Path, cli: Cli) -> None:
    day1 = themed / "content" / "digests" / "2024-01-15.md"
    text = day1.read_text(encoding="utf-8")
    # Move the INR paper under Other by hand, with a note; mark the quantization paper's
    # themes as chosen by hand; edit nothing about the graphs paper.
    block = text[text.index("### NeRV-Lite") : text.index("## Other")]
    text = text.replace(block, "").replace(
        "## Other {#other}\n", "## Other {#other}\n\n" + block.rstrip() + "\n\nMy note.\n\n"
    )
    text = text.replace("- themes: quantization\n", "- themes: quantization (by hand)\n", 1)
    day1.write_text(text, encoding="utf-8")
    rules = RULES.replace("match: [quantiz*]", "match: [nothing-matches-this]") + GRAPHS
    (themed / "content" / "themes.yaml").write_text(rules, encoding="utf-8")
    result = cli("build", cwd=themed)
    assert result.code == 0, result.err
    after = page(themed, "2024-01-15")
    assert section_of(after, "NeRV-Lite") == "other"  # moved by hand: stays
    assert "My note." in after
    assert section_of(after, "Tiny Transformers") == "quantization"  # (by hand): stays
    assert "- themes: quantization (by hand)" in after
    assert section_of(after, "Café Recommendation") == "graphs"  # digest's own: follows
    # Day two's quantization paper was filed by digest: it follows the new rules.
    assert section_of(page(themed, "2024-01-16"), "Tiny Transformers") == "other"


def test_an_edited_themes_line_is_kept(themed: Path, cli: Cli) -> None:
    day2 = themed / "content" / "digests" / "2024-01-16.md"
    text = day2.read_text(encoding="utf-8")
    edited = text.replace("- themes: quantization\n", "- themes: quantization, inr\n", 1)
    assert edited != text
    day2.write_text(edited, encoding="utf-8")
    rules = RULES.replace("match: [quantiz*]", "match: [nothing-matches-this]")
    (themed / "content" / "themes.yaml").write_text(rules, encoding="utf-8")
    assert cli("build", cwd=themed).code == 0
    assert "- themes: quantization, inr\n" in page(themed, "2024-01-16")


def test_only_pages_whose_grouping_changed_are_rewritten(themed: Path, cli: Cli) -> None:
    untouched = themed / "content" / "digests" / "2024-01-16.md"
    before = (untouched.read_bytes(), untouched.stat().st_mtime_ns)
    (themed / "content" / "themes.yaml").write_text(RULES + GRAPHS, encoding="utf-8")
    assert cli("build", cwd=themed).code == 0
    assert (untouched.read_bytes(), untouched.stat().st_mtime_ns) == before


def test_a_first_build_themes_nothing_twice(tiny: Path, cli: Cli) -> None:
    result = cli("build", cwd=tiny)
    assert result.code == 0 and "re-themed" not in result.out
    assert (tiny / "content" / "digests" / ".themes-applied").is_file()


def test_filed_by_digest_reads_the_page_as_a_person_would() -> None:
    why = {"quantization": "title “Quantization”"}
    paper = Paper("a" * 12, "T", "A", ("quantization",), why)
    assert filed_by_digest("quantization", paper)
    assert not filed_by_digest("other", paper)  # moved by hand
    assert not filed_by_digest("quantization", Paper("a" * 12, "T", "A", ("quantization",)))
    extra = Paper("a" * 12, "T", "A", ("quantization", "inr"), why)
    assert not filed_by_digest("quantization", extra)  # a theme added by hand
    marked = Paper("a" * 12, "T", "A", ("quantization",), why, hand=True)
    assert not filed_by_digest("quantization", marked)
    assert filed_by_digest("other", Paper("a" * 12, "T", "A"))  # digest put it in Other


def test_the_hand_mark_reads_back(tmp_path: Path) -> None:
    text = (
        "---\ndate: 2024-01-01\n---\n# Papers\n\n## Quantization {#quantization}\n\n"
        "### A Title {#p-0123456789ab}\n\n- themes: quantization (by hand)\n\nAn abstract.\n"
    )
    day = parse_day(text, tmp_path / "x.md")
    (paper,) = day.sections[0].papers
    assert paper.hand and paper.themes == ("quantization",)
    assert "- themes: quantization (by hand)\n" in render_day(day, ["quantization"])


def test_retheme_day_returns_the_same_day_when_nothing_moves(themed: Path) -> None:
    day = read_day(themed / "content" / "digests" / "2024-01-15.md")
    themes = load_themes(themed / "content" / "themes.yaml")
    again, moves = retheme_day(day, themes)
    assert again is day and moves.papers == 0


def test_an_ingest_into_an_empty_project_records_the_rules(tiny: Path, cli: Cli) -> None:
    """Pages made from scratch by `digest ingest` are themed by today's rules: a build after
    it must not classify them all again, and the build after that is a no-op."""
    assert cli("ingest", cwd=tiny).code == 0
    assert (tiny / "content" / "digests" / ".themes-applied").is_file()
    first = cli("build", cwd=tiny)
    assert first.code == 0 and "re-themed" not in first.out
    again = cli("build", cwd=tiny)
    assert " 0 files written" in again.out, again.out


def test_the_build_after_a_rule_change_is_a_no_op(themed: Path, cli: Cli) -> None:
    (themed / "content" / "themes.yaml").write_text(RULES + GRAPHS, encoding="utf-8")
    assert "re-themed" in cli("build", cwd=themed).out
    again = cli("build", cwd=themed)
    assert " 0 files written" in again.out, again.out
