"""Distinct papers keep distinct ids, deleted papers stay deleted, broken headings are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

COMPILERS = """Apr 24

C++ Compilers for Tiny Devices

We compile C++ for tiny devices.

C# Compilers for Tiny Devices

We compile C# for tiny devices.

C Compilers for Tiny Devices!

We compile C for tiny devices.
"""

DUMP = "Apr 24\n\n" + "".join(
    f"Paper {name} on Tiny Models\n\nAbout tiny model {name}.\n\n" for name in "ABC"
)


def page_ids(page: Path) -> list[str]:
    return re.findall(r"\{#p-([0-9a-f]{12})\}", page.read_text())


def page_titles(page: Path) -> list[str]:
    return re.findall(r"(?m)^### (.+?) \{#p-", page.read_text())


def test_titles_that_differ_only_in_punctuation_are_three_papers(cli: Cli, project: Path) -> None:
    dump = project / "content" / "raw" / "compilers.txt"
    dump.write_text(COMPILERS)
    result = cli("ingest", cwd=project)
    assert result.code == 0, result.err
    page = project / "content" / "digests" / "2024-04-24.md"
    assert sorted(page_titles(page)) == [
        "C Compilers for Tiny Devices!",
        "C# Compilers for Tiny Devices",
        "C++ Compilers for Tiny Devices",
    ]
    assert len(set(page_ids(page))) == 3
    assert "3 new papers" in result.out
    warnings = result.err.splitlines()
    assert len(warnings) == 2
    assert warnings[0] == (
        "digest: warning: compilers.txt:7: 'C# Compilers for Tiny Devices' and "
        "'C++ Compilers for Tiny Devices' have the same id (their titles differ only in "
        "punctuation); it gets an id of its own"
    )
    # Ingesting again, or another page with one of them, keeps the same three ids.
    ids = page_ids(page)
    (project / "content" / "raw" / "again.txt").write_text(
        COMPILERS.replace("C++ Compilers", "C+ + Compilers")
    )
    assert cli("ingest", cwd=project).code == 0
    assert page_ids(page) == ids
    parsed = cli("parse", dump, "--json", cwd=project)
    assert len({e["id"] for e in __import__("json").loads(parsed.out)}) == 3


def test_a_cosmetically_different_copy_of_a_title_is_still_one_paper(
    cli: Cli, project: Path
) -> None:
    (project / "content" / "raw" / "a.txt").write_text(DUMP)
    (project / "content" / "raw" / "b.txt").write_text(DUMP.replace("Paper A on", "Paper A - on"))
    assert cli("ingest", cwd=project).code == 0
    assert len(page_ids(project / "content" / "digests" / "2024-04-24.md")) == 3


def test_a_deleted_paper_stays_deleted_when_a_changed_dump_comes(cli: Cli, project: Path) -> None:
    dump = project / "content" / "raw" / "day.txt"
    dump.write_text(DUMP)
    assert cli("ingest", cwd=project).code == 0
    page = project / "content" / "digests" / "2024-04-24.md"
    text = page.read_text()
    start = text.index("### Paper B")
    page.write_text(text[:start] + text[text.index("### Paper C") :])  # deleted by hand
    dump.write_text(DUMP + "Paper D on Tiny Models\n\nAbout tiny model D.\n")
    result = cli("ingest", cwd=project)
    assert result.code == 0, result.err
    assert "1 new papers" in result.out or "1 new paper" in result.out
    titles = page_titles(page)
    assert titles == ["Paper A on Tiny Models", "Paper C on Tiny Models", "Paper D on Tiny Models"]
    assert cli("build", cwd=project).code == 0  # and a build does not bring it back either
    assert page_titles(page) == titles


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (" {#p-", " {p-", "this paper heading needs its {#p-<id>} anchor"),
        ("### Paper B on Tiny Models {#p-", "### Paper B on Tiny Models {#", "paper heading needs"),
        ("## Other {#other}", "## Other", "this theme heading needs its {#slug} anchor"),
    ],
)
def test_a_heading_that_lost_its_anchor_is_refused_with_file_and_line(
    cli: Cli, project: Path, old: str, new: str, message: str
) -> None:
    dump = project / "content" / "raw" / "day.txt"
    dump.write_text(DUMP)
    assert cli("ingest", cwd=project).code == 0
    page = project / "content" / "digests" / "2024-04-24.md"
    text = page.read_text()
    at = text.index("### Paper B") if old.startswith(" ") else text.index(old)
    broken = text[:at] + text[at:].replace(old, new, 1)
    page.write_text(broken)
    line = broken[: broken.index(new, at)].count("\n") + 1
    dump.write_text(DUMP + "Paper D on Tiny Models\n\nAbout tiny model D.\n")
    for command in ("ingest", "build"):
        result = cli(command, cwd=project)
        assert result.code == 1
        assert result.err.startswith(f"digest: error: {page}:{line}: ")
        assert message in result.err
    assert page.read_text() == broken  # nothing written
