"""The digest-page cache: reused while a page is unchanged, never trusted once it changed."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from digest.build.run import build
from digest.pages import cache
from digest.pages.cache import CACHE_FORMAT, load_stored_days, parse_page
from digest.project import Project
from tests.conftest import DATA


@pytest.fixture
def built(tmp_path: Path) -> Project:
    """A tiny project built once: digest pages in content/digests, caches filled."""
    root = tmp_path / "tiny"
    shutil.copytree(DATA / "tiny", root)
    project = Project.find(root)
    build(project)
    return project


def cached_pages(project: Project) -> list[Path]:
    return sorted((project.cache_dir / f"days-{CACHE_FORMAT}").glob("*.pickle"))


def test_a_build_caches_every_digest_page(built: Project) -> None:
    pages = sorted(built.digests_dir.glob("*.md"))
    assert len(pages) == 2
    assert [p.name for p in cached_pages(built)] == [f"{p.name}.pickle" for p in pages]


def test_an_unchanged_page_is_read_from_the_cache(built: Project) -> None:
    entry = cached_pages(built)[0]
    stamp, token, day, papers, records = pickle.loads(entry.read_bytes())
    marked = replace(day, title="Only the cache says this")
    entry.write_bytes(pickle.dumps((stamp, token, marked, papers, records)))
    stored = load_stored_days(built.digests_dir, built.cache_dir)
    assert stored[day.date].day == marked
    assert stored[day.date].papers_token == papers  # taken from the cache, not worked out
    assert stored[day.date].records_token == records


def test_an_old_cache_entry_without_a_records_token_is_read_again(built: Project) -> None:
    fresh = load_stored_days(built.digests_dir)
    for entry in cached_pages(built):
        stamp, token, day, papers, _ = pickle.loads(entry.read_bytes())
        entry.write_bytes(pickle.dumps((stamp, token, day, papers)))
    assert load_stored_days(built.digests_dir, built.cache_dir) == fresh


def test_the_papers_token_ignores_notes_but_not_text(built: Project) -> None:
    page = sorted(built.digests_dir.glob("*.md"))[0]
    text = page.read_text(encoding="utf-8")
    start = text.index("\n### ")
    end = text.find("\n### ", start + 1)
    end = len(text) if end < 0 else end

    def token_of(new_text: str) -> tuple[str, str, str]:
        page.write_text(new_text, encoding="utf-8")
        stored = next(iter(load_stored_days(built.digests_dir).values()))
        return stored.token, stored.papers_token, stored.records_token

    token, papers, records = token_of(text)
    noted = token_of(text[:end].rstrip("\n") + "\n\nA note of mine.\n" + text[end:])
    assert noted[0] != token and noted[1] == papers and noted[2] == records
    retitled = token_of(text.replace("\n### ", "\n### Renamed: ", 1))
    assert retitled[1] != papers and retitled[2] != records
    themes_line = text.index("\n", text.index("\n- themes: ", start) + 1)
    cut = token_of(text[:themes_line] + "\n- truncated: yes" + text[themes_line:])
    assert cut[1] != papers  # a record prefers a whole abstract: search must see the flag


def test_a_changed_page_is_read_again(built: Project) -> None:
    before = load_stored_days(built.digests_dir, built.cache_dir)
    page = sorted(built.digests_dir.glob("*.md"))[0]
    date = next(d for d, s in before.items() if s.path == page)
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("\n### ", "\n### Renamed: ", 1), encoding="utf-8")
    after = load_stored_days(built.digests_dir, built.cache_dir)
    assert after[date].day.placed_papers()[0][1].title.startswith("Renamed: ")
    assert after[date].token != before[date].token


def test_a_broken_cache_entry_is_ignored(built: Project) -> None:
    fresh = load_stored_days(built.digests_dir)
    for entry in cached_pages(built):
        entry.write_bytes(b"not a pickle")
    assert load_stored_days(built.digests_dir, built.cache_dir) == fresh


def test_cache_writes_can_wait(built: Project) -> None:
    shutil.rmtree(built.cache_dir)
    later: list[Callable[[], None]] = []
    load_stored_days(built.digests_dir, built.cache_dir, later)
    assert len(later) == 2
    assert not cached_pages(built)
    for write in later:
        write()
    assert len(cached_pages(built)) == 2


def test_cache_of_a_deleted_page_is_dropped(built: Project) -> None:
    page = sorted(built.digests_dir.glob("*.md"))[0]
    os.remove(page)
    load_stored_days(built.digests_dir, built.cache_dir)
    names = [p.name for p in cached_pages(built)]
    assert len(names) == 1 and f"{page.name}.pickle" not in names


def test_a_build_that_ingests_parses_only_the_pages_it_did_not_write(
    built: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest hands the build the pages it wrote: the build never reads its own output back."""
    shutil.rmtree(built.cache_dir)  # cold cache, two digest pages, one new dump
    (built.raw_dir / "day3.txt").write_text(
        "Jan 20\n\nA New Paper on Codebooks\n\nWe study codebooks for vector quantization.\n"
    )
    parsed: list[str] = []
    real_parse = cache.parse_page

    def counting_parse(path: Path) -> object:
        parsed.append(path.name)
        return real_parse(path)

    monkeypatch.setattr(cache, "parse_page", counting_parse)
    report = build(built)
    assert len(report.ingested) == 1
    assert sorted(parsed) == ["2024-01-15.md", "2024-01-16.md"]  # not the new 2024-01-20.md
    again = load_stored_days(built.digests_dir, built.cache_dir)  # cached, as ingest left it
    assert parsed == ["2024-01-15.md", "2024-01-16.md"]
    assert again[dt.date(2024, 1, 20)].day == parse_page(built.digests_dir / "2024-01-20.md")[1]


def test_the_cache_is_renamed_when_the_model_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Day pickled before Paper gained a field must not be read back without it."""
    import dataclasses

    from digest import model

    before = cache.cache_format()

    @dataclasses.dataclass(frozen=True)
    class Grown(model.Paper):
        new_field: str = ""

    monkeypatch.setattr(cache, "Paper", Grown)
    assert cache.cache_format() != before
