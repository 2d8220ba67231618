"""Hostile or mistyped YAML in settings, themes and front matter: one clear line, never a crash.

Aliases are refused (a "billion laughs" bomb expands a few lines to gigabytes), impossible
dates are errors on their line, and parser jargon is put in plain words on the right line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{n}: &{n} [{', '.join(['*' + p] * 10)}]" for p, n in zip("abcde", "bcdef", strict=True)]
)
"""10^6 leaves from six lines; real bombs go on to 10^9."""


def _page(project: Path) -> Path:
    return next((project / "content" / "digests").glob("*.md"))


@pytest.mark.parametrize("where", ["settings", "themes", "front matter"])
def test_yaml_aliases_are_refused_with_file_and_line(cli: Cli, project: Path, where: str) -> None:
    if where == "front matter":
        assert cli("ingest", SAMPLE_FILES["001"], cwd=project).code == 0
        page = _page(project)
        text = page.read_text()
        page.write_text(text.replace("\ntitle:", f"\n{BOMB}\ntitle:", 1))
        target, line = page, 4  # "---", "date:", the anchor, then the first alias
    elif where == "settings":
        target = project / "content" / "digest.yaml"
        target.write_text(BOMB + "\ntitle: x\n")
        line = 2
    else:
        target = project / "content" / "themes.yaml"
        target.write_text(BOMB + "\n" + target.read_text())
        line = 2
    started = time.perf_counter()
    result = cli("build", cwd=project)
    assert time.perf_counter() - started < 5
    assert result.code == 1
    assert result.err.startswith(f"digest: error: {target}:{line}: YAML aliases (*name) are not")
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("line", "value", "message"),
    [
        (
            2,
            "date: 2024-02-31",
            "front matter date '2024-02-31' is not YYYY-MM-DD (a real calendar date)",
        ),
        (
            2,
            "date: 2024-13-01",
            "front matter date '2024-13-01' is not YYYY-MM-DD (a real calendar date)",
        ),
        (2, "date: [1, 2]", "front matter needs 'date: YYYY-MM-DD'"),
    ],
)
def test_impossible_front_matter_dates_are_errors_on_their_line(
    cli: Cli, project: Path, line: int, value: str, message: str
) -> None:
    assert cli("ingest", SAMPLE_FILES["001"], cwd=project).code == 0
    page = _page(project)
    lines = page.read_text().split("\n")
    lines[1] = value
    page.write_text("\n".join(lines))
    for command in (("build",), ("email", "--base-url", "https://x.org/", "--out", "x.eml")):
        result = cli(*command, cwd=project)
        assert result.code == 1, result.err
        assert result.err == f"digest: error: {page}:{line}: {message}\n"


@pytest.mark.parametrize("value", ["5", "[3]", "{file: x}", "hello"])
def test_sources_of_the_wrong_shape_are_errors_on_their_line(
    cli: Cli, project: Path, value: str
) -> None:
    assert cli("ingest", SAMPLE_FILES["001"], cwd=project).code == 0
    page = _page(project)
    text = page.read_text()
    start = text.index("\nsources:\n") + 1
    end = text.index("\n---\n", start)
    page.write_text(text[:start] + f"sources: {value}" + text[end:])
    line = text[:start].count("\n") + 1
    result = cli("build", cwd=project)
    assert result.code == 1
    assert result.err.startswith(f"digest: error: {page}:{line}: ")
    assert "sources" in result.err and result.err.count("\n") == 1


def test_a_setting_that_looks_like_an_impossible_date_is_a_clear_error(
    cli: Cli, project: Path
) -> None:
    settings = project / "content" / "digest.yaml"
    settings.write_text(settings.read_text() + "\ndefault_year: 2024-02-31\n")
    result = cli("build", cwd=project)
    assert result.code == 1
    line = settings.read_text().count("\n")
    assert result.err == (
        f"digest: error: {settings}:{line}: default_year must be a positive whole number, "
        "got '2024-02-31'\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("title: 'unclosed\npage_size: 1\ndescription: x\n", 1, "a quote opened here is never"),
        ("title: x\npage_size 1\ndescription: x\n", 2, "found no ':'"),
        ("title x\npage_size: 1\n", 1, "found no ':'"),
        ("email:\n  to: [a@b.org\ntitle: x\n", 2, "a '[' opened here is not closed"),
        ("title: x\n\tpage_size: 1\n", 2, "a tab character"),
        ("email:\n  to:\n  - a@b.org\n - c@d.org\n", 4, "indented differently"),
    ],
)
def test_yaml_mistakes_are_in_plain_words_on_their_line(
    cli: Cli, project: Path, text: str, line: int, words: str
) -> None:
    settings = project / "content" / "digest.yaml"
    settings.write_text(text)
    result = cli("build", cwd=project)
    assert result.code == 1
    assert result.err.startswith(f"digest: error: {settings}:{line}: invalid YAML: ")
    assert words in result.err
    assert "<block" not in result.err and "scanning" not in result.err


@pytest.mark.parametrize("where", ["digest.yaml", "themes.yaml"])
def test_deep_nesting_is_an_error_not_a_traceback(cli: Cli, project: Path, where: str) -> None:
    target = project / "content" / where
    target.write_text(target.read_text() + "\ndeep: " + "[" * 3000 + "]" * 3000 + "\n")
    result = cli("build", cwd=project)
    assert result.code == 1
    nested = "is nested too deeply (lists or mappings in each other)"
    assert result.err == f"digest: error: {target}: {nested}\n"


@pytest.mark.parametrize("value", ["{a: 1}", "[a, b]"])
def test_a_mapping_or_list_where_text_belongs_is_named_by_its_kind(
    cli: Cli, project: Path, value: str
) -> None:
    """The loader keeps line numbers in each mapping: an error never shows them."""
    settings = project / "content" / "digest.yaml"
    settings.write_text(settings.read_text() + f"\ntitle: {value}\n")
    result = cli("build", cwd=project)
    assert result.code == 1
    kind = "a mapping" if value.startswith("{") else "a list"
    assert result.err.endswith(f": title must be text, got {kind}\n"), result.err
    assert "__line" not in result.err
