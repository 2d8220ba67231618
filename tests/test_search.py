"""The search index: lunr.py-identical, deterministic, complete, sharded by month, cached."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from lunr import lunr
from lunr.builder import Builder
from lunr.stemmer import stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.trimmer import trimmer

import digest.build.pool as pool
from digest.build.run import search_index
from digest.config import Config
from digest.pages.library import Library, load_library
from digest.project import Project
from digest.site import search
from digest.site.lunr import FIELDS, lunr_index, terms
from digest.site.search import doc_fields, dumps, search_docs, snippet
from digest.site.templates import DEFAULT_TEMPLATES

OUTPUTS: list[Path] = []


@pytest.fixture(autouse=True)
def index_outputs(tmp_path: Path) -> None:
    """Give each test a folder for the indexes it builds (one new folder a build)."""
    OUTPUTS[:] = [tmp_path / "indexes"]


def search_files(library: Library, cache_dir: Path | None = None) -> list[tuple[str, bytes]]:
    """Build the index through the build's own code (planning, pool, cache), into a new folder."""
    out = OUTPUTS[0] / str(len(list(OUTPUTS[0].glob("*"))) if OUTPUTS[0].exists() else 0)
    files = search_index(library, Config(), [DEFAULT_TEMPLATES], out, cache_dir)
    return sorted(files.items())


@pytest.fixture(scope="module")
def library(sample_site: Path) -> Library:
    project = Project.find(sample_site.parent)
    return load_library(project.digests_dir, project.themes)


def script_data(data: bytes) -> dict[str, Any]:
    """Return the JSON a search script hands to ``digestSearch.<name>(...)``."""
    text = data.decode("ascii")
    assert text.startswith("digestSearch.") and text.endswith(");\n")
    body = text[text.index("(") + 1 : -3]
    if body.startswith("JSON.parse("):
        body = json.loads(body[len("JSON.parse(") : -1])
    loaded: dict[str, Any] = json.loads(body)
    return loaded


def lunr_py_index(docs: list[dict[str, str]]) -> dict[str, Any]:
    builder = Builder()
    builder.pipeline.add(trimmer, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    fields = [{"field_name": name, "boost": boost} for name, boost in FIELDS]
    serialised: dict[str, Any] = lunr("id", fields, docs, builder=builder).serialize()
    return serialised


def test_index_is_identical_to_lunr_py_on_the_sample(library: Library) -> None:
    docs = [doc_fields(d) for d in search_docs(library)]
    assert dumps(lunr_index(docs)) == dumps(lunr_py_index(docs))


@pytest.mark.parametrize(
    "text",
    [
        "State-of-the-art LLMs: (INT4) quantization—“fast” & 3.5×, naïve e.g. i.e. U-Net's",
        "  trailing -- hyphens - and\u00a0no-break\tspaces\n",
        "The and of a",
        "",
    ],
)
def test_terms_match_lunr_py_pipeline(text: str) -> None:
    doc = {"id": "a", "title": text, "abstract": text.upper(), "themes": "x", "author": text}
    docs = [doc, {**doc, "id": "b", "author": "Ana María Núñez, Li, Wei; O'Brien-Smith"}]
    assert dumps(lunr_index(docs)) == dumps(lunr_py_index(docs))
    assert terms("Quantized models") == ["quantiz", "model"]


def test_search_files_are_deterministic(library: Library, tmp_path: Path) -> None:
    first = list(search_files(library))
    assert first == list(search_files(library))
    assert first == list(search_files(library, cache_dir=tmp_path))
    assert first == list(search_files(library, cache_dir=tmp_path))  # from the cache


def test_every_paper_is_indexed_once_with_its_document(library: Library) -> None:
    files = dict(search_files(library))
    manifest = script_data(files["assets/search/manifest.js"])
    ids: list[str] = []
    for shard in manifest["shards"]:
        data = script_data(files[f"assets/search/{shard['file']}"])
        index = data["index"]
        refs = {ref.split("/", 1)[1] for ref, _ in index["fieldVectors"]}
        assert refs == set(data["docs"])
        assert len(data["docs"]) == shard["papers"]
        ids += data["docs"]
    assert sorted(ids) == sorted(library.records)
    assert manifest["papers"] == len(library.records)


def test_shards_are_half_months_newest_first(library: Library) -> None:
    files = dict(search_files(library))
    manifest = script_data(files["assets/search/manifest.js"])
    names = [s["name"] for s in manifest["shards"]]
    assert names == ["2024-10-2", "2024-09-1", "2024-04-2", "2024-03-2"]
    assert [t["slug"] for t in manifest["themes"]][-1] == "other"


def test_document_store_is_compact(library: Library) -> None:
    record = next(r for r in library.records.values() if r.themes)
    files = dict(search_files(library))
    shard = script_data(
        files[f"assets/search/shard-{search.shard_name(str(record.first_seen))}.js"]
    )
    stored = shard["docs"][record.id]
    assert stored == {
        "d": record.first_seen.isoformat(),
        "h": list(record.themes),
        "p": f"papers/{record.id}.html",
        "s": snippet(record.abstract),
        "t": record.title,
    }
    assert len(stored["s"]) <= search.SNIPPET_CHARS + 1


def test_shard_names_split_months_at_the_16th() -> None:
    assert [search.shard_name(d) for d in ("2025-06-01", "2025-06-15", "2025-06-16")] == [
        "2025-06-1",
        "2025-06-1",
        "2025-06-2",
    ]


def test_snippet_cuts_at_a_word() -> None:
    assert snippet("short  text\n") == "short text"
    assert snippet("alpha beta, gamma delta", limit=14) == "alpha beta…"


def test_unchanged_shards_come_from_the_cache(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    real = search.shard_script

    def counting(shard: search.Shard) -> bytes:
        built.append(shard.name)
        return real(shard)

    monkeypatch.setattr(search, "shard_script", counting)
    list(search_files(library, cache_dir=tmp_path))
    assert len(built) == 4
    built.clear()
    list(search_files(library, cache_dir=tmp_path))
    assert built == []
    stopped_mid_write = tmp_path / ".2024-04-2-0123456789.js.k3y_x.tmp"
    stopped_mid_write.write_bytes(b"half a shard")
    changed = _retitled(library, dt.date(2024, 4, 24), "A retitled paper")
    files = dict(search_files(changed, cache_dir=tmp_path))
    # Shards holding a paper of the edited page are rebuilt (2024-03-2 has papers that were
    # on 24 April too); the others come from the cache.
    assert sorted(built) == ["2024-03-2", "2024-04-2"]
    assert b"A retitled paper" in files["assets/search/shard-2024-04-2.js"]
    assert len(list(tmp_path.glob("2024-04-2-*.js"))) == 1  # the stale entry is gone
    assert not stopped_mid_write.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def _retitled(library: Library, first_seen: dt.date, title: str) -> Library:
    """Retitle a paper as an edit of its digest page would: the page's content hash changes."""
    record = next(r for r in library.records.values() if r.first_seen == first_seen)
    records = dict(library.records)
    records[record.id] = dataclasses.replace(record, title=title)
    days = tuple(
        dataclasses.replace(d, token=d.token + "-edited") if d.date == first_seen else d
        for d in library.days
    )
    return dataclasses.replace(library, records=records, days=days)


def test_parallel_build_gives_the_same_bytes(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = search_files(library)
    monkeypatch.setattr(pool, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)
    assert search_files(library) == serial


def test_hostile_text_stays_a_json_string(library: Library) -> None:
    record = next(iter(library.records.values()))
    title = "<img src=x onerror=alert(1)></script>\u2028"
    changed = _retitled(library, record.first_seen, title)
    files = dict(search_files(changed))
    data = files[f"assets/search/shard-{search.shard_name(str(record.first_seen))}.js"]
    assert b"\\u2028" in data
    titles = [d["t"] for d in script_data(data)["docs"].values()]
    assert title in titles


def test_shard_json_is_what_the_standard_json_module_writes(library: Library) -> None:
    """orjson writes the shards; they must be the stdlib's canonical JSON, byte for byte."""
    record = next(iter(library.records.values()))
    title = 'Über 量子化 𝔼[x] — "q" \\ end'
    changed = _retitled(library, record.first_seen, title)
    prefix, suffix = "digestSearch.shard(JSON.parse(", "));\n"
    inners = []
    for path, data in search_files(changed):
        if "/shard-" in path:
            text = data.decode("ascii")
            assert text.startswith(prefix) and text.endswith(suffix)
            inners.append(json.loads(text[len(prefix) : -len(suffix)]))
    assert len(inners) == len(search.shards(search_docs(changed)))
    for inner in inners:
        canonical = json.dumps(
            json.loads(inner), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert inner == canonical
    assert any(json.dumps(title, ensure_ascii=False) in inner for inner in inners)
