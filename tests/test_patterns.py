"""Theme patterns that used to hang every command: refused when read, or bounded in time.

Each command runs in a subprocess with a deadline, so a regression fails instead of hanging.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.errors import DigestError
from digest.ingest.parse import ends_a_sentence, parse_text
from digest.ingest.patterns import compile_pattern
from digest.serve.preview import Preview
from tests.conftest import SAMPLE_FILES
from tests.test_serve import Served, Terminal, wait_until

DUMP = "Apr 24\n\n{title}\n\nAn abstract that ends.\n"


def digest(project: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=project, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def with_rule(project: Path, rule: str) -> Path:
    """Add a rule to the first theme of the project's themes file; return the rule's line."""
    themes = project / "content" / "themes.yaml"
    text = themes.read_text()
    anchor = "    match:\n"
    at = text.index(anchor) + len(anchor)
    themes.write_text(text[:at] + f"      - {rule}\n" + text[at:])
    return themes


@pytest.mark.parametrize("rule", ["{pattern: 'a*'}", "{pattern: '(?:int)?(?:4|8)?'}", "'*'"])
@pytest.mark.parametrize("command", ["parse", "ingest", "build"])
def test_a_pattern_that_matches_the_empty_string_is_refused(
    project: Path, rule: str, command: str
) -> None:
    themes = with_rule(project, rule)
    line = themes.read_text()[: themes.read_text().index(rule)].count("\n") + 1
    (project / "content" / "raw" / "a.txt").write_bytes(SAMPLE_FILES["001"].read_bytes())
    args = {"parse": ["parse", "content/raw/a.txt"], "ingest": ["ingest"], "build": ["build"]}
    done = digest(project, *args[command])
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"digest: error: {themes}:{line}: invalid pattern ")
    assert "can match the empty string" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("pattern", [r"\b", "(?=x)", "x|", "(a?)\\1", "$"])
def test_every_kind_of_empty_match_is_refused(pattern: str) -> None:
    with pytest.raises(Exception, match="can match the empty string"):
        compile_pattern(pattern)


def test_nested_repeats_match_in_linear_time(project: Path) -> None:
    """``(a+)+$`` took 25 s on 29 letters with ``re``, doubling with each letter more."""
    with_rule(project, "{pattern: '(a+)+$', in: title}")
    (project / "content" / "raw" / "a.txt").write_text(DUMP.format(title="a" * 40 + " b"))
    started = time.monotonic()
    done = digest(project, "ingest")
    assert time.monotonic() - started < 10
    assert done.returncode == 0, done.stderr


def test_a_pattern_that_still_backtracks_gives_up_within_seconds(project: Path) -> None:
    with_rule(project, "{pattern: '(a|a)+$', in: title}")
    (project / "content" / "raw" / "a.txt").write_text(DUMP.format(title="a" * 40 + " b"))
    started = time.monotonic()
    done = digest(project, "ingest")
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert "the theme pattern '(a|a)+$' took over 1 s" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not list((project / "content" / "digests").glob("*.md"))  # nothing written


def test_a_slow_pattern_is_a_digest_error() -> None:
    with pytest.raises(DigestError, match="backtracks too much"):
        compile_pattern("(a|a)+$").search("a" * 40 + "b")


@pytest.fixture
def served(tiny: Path) -> Iterator[Served]:
    terminal = Terminal()
    with Preview(tiny, port=0, say=terminal.out.append, warn=terminal.err.append) as preview:
        yield Served(tiny, preview, terminal)


def test_the_preview_server_survives_an_empty_pattern_and_rebuilds_after(
    served: Served,
) -> None:
    """The rebuild thread used to spin at 100% CPU for ever, and never rebuilt again."""
    themes = served.root / "content" / "themes.yaml"
    good = themes.read_text()
    with_rule(served.root, "{pattern: 'a*'}")
    wait_until(lambda: served.status()["error"], timeout=10)
    assert "can match the empty string" in served.status()["error"]["message"]
    themes.write_text(good)
    wait_until(lambda: served.status()["error"] is None, timeout=10)
    (served.root / "content" / "raw" / "day3.txt").write_text(
        "Jan 17\n\nA Third Day of Tiny Quantization\n\nWe quantize tiny models to 2 bits.\n"
    )
    wait_until(lambda: b"Third Day" in served.get("/index.html"), timeout=10)


# --- parsing stays linear --------------------------------------------------------------------

OLD_SENTENCE_END = re.compile(r"""([.!?)\]"'”’]|\S+://\S+|github\.com/\S+)$""")
"""The check as a regular expression: quadratic in a long run without spaces."""


@given(st.text(alphabet="ab .!:/ghitub.com)'\u2019\t", max_size=40))
def test_the_end_of_sentence_check_agrees_with_the_old_expression(text: str) -> None:
    assert ends_a_sentence(text) == bool(OLD_SENTENCE_END.search(text))


@pytest.mark.parametrize("size", [200_000, 5_000_000])
def test_a_long_last_abstract_without_spaces_parses_in_linear_time(size: int) -> None:
    """200 KB took 28 s; 5 MB never finished."""
    text = f"Apr 24\n\nA title\n\n{'x' * size}\n"
    started = time.perf_counter()
    (entry,) = parse_text(text, Path("a.txt"), year=2024)
    assert time.perf_counter() - started < 1.0
    assert entry.truncated and len(entry.abstract) == size


def test_a_five_megabyte_line_goes_through_the_whole_parse_command(tmp_path: Path) -> None:
    dump = tmp_path / "big.txt"
    dump.write_text(
        f"Apr 24\n\nA title\n\n{'x' * 5_000_000}\n\nA later title\n\n{'ab ' * 100_000}\n"
    )
    done = digest(tmp_path, "parse", str(dump), "--year", "2024", timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "2 entries\n"


def test_a_rule_is_compiled_for_matching_when_it_first_matches_a_text() -> None:
    """A build that classifies nothing loads every theme: it no longer compiles them all."""
    pattern = compile_pattern(r"quantiz\w+")
    assert pattern._compiled is None
    found = pattern.search("we quantize tiny models")
    assert found is not None and found.group() == "quantize" and pattern._compiled is not None
