"""Ingest: dated Markdown digests that are idempotent, keep hand edits, and lose nothing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from digest.pages.format import read_day
from tests.conftest import SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]


def digests(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "content" / "digests").glob("*.md"))}


def test_ingest_writes_one_page_per_date_with_front_matter(project: Path, cli: Cli) -> None:
    result = cli("ingest", SAMPLE_FILES["001"], SAMPLE_FILES["002"], cwd=project)
    assert result.code == 0, result.err
    assert list(digests(project)) == ["2024-03-17.md", "2024-04-24.md"]
    text = (project / "content/digests/2024-04-24.md").read_text()
    assert text.startswith("---\ndate: 2024-04-24\ntitle: Papers of 24 April 2024\npapers: 67\n")
    assert "sha256: " in text and "file: 001_0a8254aedcd5c906.txt" in text
    assert "\n## Other {#other}\n" in text
    day = read_day(project / "content/digests/2024-04-24.md")
    assert sum(len(s.papers) for s in day.sections) == 67
    assert "2024-04-24.md: 67 new papers, written" in result.out


def test_sections_follow_theme_order_then_other(project: Path, cli: Cli) -> None:
    cli("ingest", SAMPLE_FILES["000"], cwd=project)
    day = read_day(project / "content/digests/2024-10-21.md")
    slugs = [s.slug for s in day.sections]
    assert slugs == ["decoupling", "quantization", "inr", "unified-multimodal", "other"]
    janus = next(p for s in day.sections for p in s.papers if p.title.startswith("Janus:"))
    assert set(janus.themes) >= {"decoupling", "unified-multimodal"}
    assert "title “Janus: Decoupling Visual" in janus.why["decoupling"]


def test_ingest_twice_is_byte_identical(project: Path, cli: Cli) -> None:
    cli("ingest", *SAMPLE_FILES.values(), cwd=project)
    before = digests(project)
    mtimes = {p: p.stat().st_mtime_ns for p in (project / "content/digests").iterdir()}
    result = cli("ingest", *SAMPLE_FILES.values(), cwd=project)
    assert result.code == 0
    assert digests(project) == before
    assert {p: p.stat().st_mtime_ns for p in (project / "content/digests").iterdir()} == mtimes
    assert "0 written, 4 unchanged" in result.out


def test_paper_seen_earlier_is_marked_whatever_the_ingest_order(project: Path, cli: Cli) -> None:
    cli("ingest", SAMPLE_FILES["000"], cwd=project)  # 2024-10-21 first
    cli("ingest", SAMPLE_FILES["002"], cwd=project)  # then the earlier 2024-03-17
    later = read_day(project / "content/digests/2024-10-21.md")
    earlier = read_day(project / "content/digests/2024-03-17.md")
    earlier_ids = {p.id for _, p in earlier.placed_papers()}
    marked = {p.id for _, p in later.placed_papers() if p.first_seen is not None}
    assert marked and marked == earlier_ids & {p.id for _, p in later.placed_papers()}
    assert all(p.first_seen is None for _, p in earlier.placed_papers())
    page = (project / "content/digests/2024-10-21.md").read_text()
    assert "- first seen: 2024-03-17" in page


def test_duplicate_within_one_day_is_kept_once(project: Path, cli: Cli, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    shutil.copy(SAMPLE_FILES["001"], copy)
    cli("ingest", SAMPLE_FILES["001"], copy, cwd=project)
    day = read_day(project / "content/digests/2024-04-24.md")
    ids = [p.id for _, p in day.placed_papers()]
    assert len(ids) == len(set(ids)) == 67
    assert [s.file for s in day.sources] == ["001_0a8254aedcd5c906.txt", "copy.txt"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_hand_notes_and_moves_survive_reingest(project: Path, cli: Cli, tmp_path: Path) -> None:
    cli("ingest", SAMPLE_FILES["001"], cwd=project)
    page = project / "content/digests/2024-04-24.md"
    day = read_day(page)
    counts_before = yaml.safe_load(page.read_text().split("---")[1])["counts"]
    other = next(s for s in day.sections if s.slug == "other")
    moved, noted = other.papers[0], other.papers[1]
    # A note under a paper.
    _edit(page, noted.abstract + "\n", noted.abstract + "\n\n> My note: read this *first*.\n")
    # Move a paper block from Other into the first theme's section.
    target = day.sections[0]
    assert target.slug != "other"
    text = page.read_text()
    start = text.index(f"### {moved.title}")
    end = text.index("\n### ", start + 1) + 1
    block = text[start:end]
    text = text[:start] + text[end:]
    heading = f"## {target.name} {{#{target.slug}}}\n\n"
    text = text.replace(heading, heading + block + "\n")
    page.write_text(text)
    # A changed dump (one new paper) for the same day is merged in.
    extended = tmp_path / SAMPLE_FILES["001"].name
    extended.write_text(SAMPLE_FILES["001"].read_text() + "\nA Brand New Paper\n\nIts abstract.\n")
    result = cli("ingest", extended, cwd=project)
    assert result.code == 0, result.err
    after = page.read_text()
    assert "> My note: read this *first*." in after
    day = read_day(page)
    sections = {s.slug: [p.id for p in s.papers] for s in day.sections}
    assert sections[target.slug][0] == moved.id and moved.id not in sections["other"]
    assert day.placed_papers()[-1][1].title == "A Brand New Paper"
    counts = yaml.safe_load(after.split("---")[1])["counts"]
    assert counts[target.slug] == counts_before[target.slug] + 1  # counts follow the move
    assert counts["other"] == counts_before["other"]  # one moved out, one new paper in


def test_reingest_refuses_to_drop_an_edit_it_cannot_keep(
    project: Path, cli: Cli, tmp_path: Path
) -> None:
    cli("ingest", SAMPLE_FILES["001"], cwd=project)
    page = project / "content/digests/2024-04-24.md"
    _edit(page, "# Papers of 24 April 2024\n", "# Papers of 24 April 2024 (edited)\n")
    before = page.read_bytes()
    extended = tmp_path / SAMPLE_FILES["001"].name
    extended.write_text(SAMPLE_FILES["001"].read_text() + "\nA Brand New Paper\n\nIts abstract.\n")
    result = cli("ingest", extended, cwd=project)
    assert result.code == 1
    heading_line = before.decode().splitlines().index("# Papers of 24 April 2024 (edited)") + 1
    assert f"2024-04-24.md:{heading_line}: has hand edits" in result.err
    assert "Traceback" not in result.err
    assert page.read_bytes() == before


def test_deleted_paper_stays_deleted_when_the_same_dump_is_ingested(
    project: Path, cli: Cli
) -> None:
    cli("ingest", SAMPLE_FILES["001"], cwd=project)
    page = project / "content/digests/2024-04-24.md"
    text = page.read_text()
    start = text.index("\n### ") + 1
    end = text.index("\n### ", start) + 1
    deleted = text[start:end].splitlines()[0]
    page.write_text(text[:start] + text[end:])
    edited = page.read_bytes()
    assert cli("ingest", SAMPLE_FILES["001"], cwd=project).code == 0
    assert deleted not in page.read_text()
    assert page.read_bytes() == edited  # a dump already ingested rewrites nothing


def test_ingest_with_no_files_reads_content_raw(project: Path, cli: Cli) -> None:
    shutil.copy(SAMPLE_FILES["003"], project / "content/raw")
    assert cli("ingest", cwd=project).code == 0
    assert list(digests(project)) == ["2024-09-02.md"]


def test_date_and_year_options(project: Path, cli: Cli) -> None:
    cli("ingest", SAMPLE_FILES["001"], "--year", "2023", cwd=project)
    cli("ingest", SAMPLE_FILES["002"], "--date", "2025-01-05", cwd=project)
    assert list(digests(project)) == ["2023-04-24.md", "2025-01-05.md"]


BAD_INPUTS: dict[str, tuple[bytes | None, str]] = {
    "missing.txt": (None, "file not found"),
    "empty.txt": (b"", "is empty"),
    "blank.txt": (b"  \n\n \r\n", "is empty"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
    "latin1.txt": ("Apr 24\nCaf\xe9 paper\nAbstract.\n".encode("latin-1"), "is not UTF-8"),
    "chrome.txt": (b"new\nSubscribe\nApr 24\n", "no paper entries found"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_writes_nothing(
    name: str, project: Path, cli: Cli, tmp_path: Path
) -> None:
    content, expected = BAD_INPUTS[name]
    bad = tmp_path / name
    if content is not None:
        bad.write_bytes(content)
    result = cli("ingest", SAMPLE_FILES["001"], bad, cwd=project)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"digest: error: {bad}")
    assert expected in lines[0]
    assert digests(project) == {}


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024-4-1", "2024-02-30"])
def test_bad_date_option_is_rejected(value: str, project: Path, cli: Cli) -> None:
    result = cli("ingest", SAMPLE_FILES["001"], "--date", value, cwd=project)
    assert result.code == 2  # a command-line mistake
    assert "--date" in result.err and value in result.err
    assert digests(project) == {}


def test_undated_page_without_date_option_explains_the_fix(
    project: Path, cli: Cli, tmp_path: Path
) -> None:
    undated = tmp_path / "undated.txt"
    shutil.copy(SAMPLE_FILES["000"], undated)
    result = cli("ingest", undated, cwd=project)
    assert result.code == 1
    assert "undated.txt: the page has no date line" in result.err
    assert "--date YYYY-MM-DD" in result.err


def test_outside_a_project_ingest_says_how_to_start_one(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", SAMPLE_FILES["001"], cwd=tmp_path)
    assert result.code == 1
    assert "no digest project here" in result.err and "digest init" in result.err


def test_unreadable_existing_digest_is_reported_not_overwritten(project: Path, cli: Cli) -> None:
    cli("ingest", SAMPLE_FILES["001"], cwd=project)
    page = project / "content/digests/2024-04-24.md"
    page.write_text("no front matter here\n")
    result = cli("ingest", SAMPLE_FILES["001"], cwd=project)
    assert result.code == 1
    assert "2024-04-24.md:1: expected YAML front matter" in result.err
    assert page.read_text() == "no front matter here\n"


def test_atomic_write_leaves_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import fsutil

    target = tmp_path / "page.md"
    target.write_text("old")

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        fsutil.write_atomic(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]
