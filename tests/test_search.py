"""The search index in pieces: lunr.py's index data exactly, deterministic, incremental."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import marshal
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from functools import reduce
from itertools import accumulate, groupby
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lunr.builder import Builder
from lunr.stemmer import stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.trimmer import trimmer

from digest.build.full import search_index
from digest.build.run import build
from digest.config import DEFAULT_TEMPLATES, Config
from digest.ingest.run import ingest
from digest.pages.library import Library, Record, load_library
from digest.project import Project
from digest.site import assembly, index, search, terms
from digest.site import lunr as lunr_format
from digest.site.search import FIELDS, search_docs
from digest.site.terms import chain
from digest.urls import SEARCH_DIR
from tests.conftest import benchmark_module


def search_files(library: Library, cache_dir: Path | None = None) -> list[tuple[str, bytes]]:
    """Build the index the way `digest build` does (its plan, pool and assembly), into a new
    folder each time; return its files by path."""
    out = Path(tempfile.mkdtemp(prefix="index-"))
    try:
        files = search_index(library, Config(), [DEFAULT_TEMPLATES], out / "site", cache_dir)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return sorted(files.items())


SMALL = search.Layout(
    chunk_postings=400,
    fold_days=7,
    tail_postings=150,
    group_every=4,
    position_docs=128,
    details_docs=3,
)
"""A layout that cuts a few hundred papers into hundreds of pieces, big terms included."""


@pytest.fixture(scope="module")
def library(sample_site: Path) -> Library:
    project = Project.find(sample_site.parent)
    return load_library(project.digests_dir, project.themes)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "LAYOUT", SMALL)


def lunr_py(docs: list[search.SearchDoc]) -> Builder:
    """Return lunr.py's builder after building the one index over every paper."""
    builder = Builder()
    builder.pipeline.add(trimmer, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    builder.ref("id")
    for index_field in FIELDS:
        builder.field(index_field.name, boost=index_field.boost)
    for doc in docs:
        builder.add({"id": doc.id, **{f.name: doc.text(f) for f in FIELDS}})
    builder.build()
    return builder


def piece(data: bytes) -> tuple[str, Any]:
    """Return (name, payload) of a ``digestSearch.<kind>(name, payload);`` script."""
    text = data.decode("ascii")
    assert text.startswith("digestSearch.") and text.endswith(");\n")
    name, rest = text[text.index("(") + 1 : -3].split(",", 1)
    return json.loads(name), json.loads(rest)


def reassemble(files: dict[str, bytes]) -> dict[str, Any]:
    """Read every term's postings back from the pieces, the way the browser does."""
    manifest = piece(files[f"{SEARCH_DIR}/manifest.js"].replace(b"manifest(", b'manifest("",'))[1]

    def load(name: str) -> Any:
        return piece(files[f"{SEARCH_DIR}/{name}.js"])[1]

    pieces = []
    for _, directory, _ in manifest["groups"]:
        for _, names in load(directory)["chunks"]:
            pieces += [load(name) for name in names]
    pieces += [load(name) for _, name in manifest["tails"]]
    sizes: list[list[int]] = [[] for _ in FIELDS]
    for name in manifest["positions"]:
        for f, text in enumerate(load(name)["lengths"]):
            sizes[f] += lunr_format.unvlqs(text)
    terms: dict[str, Any] = {}
    for data in pieces:
        for name, rank, *fields in data["terms"]:
            entry = terms.setdefault(name, {"key": None, "fields": [[] for _ in FIELDS]})
            pairs = zip(fields, FIELDS, strict=True)
            decoded = [lunr_format.decode_postings(t, f.positional) for t, f in pairs]
            firsts = [p[0][0] for p in decoded if p]
            if entry["key"] is None:
                entry["key"] = (min(firsts), rank)
            for f, postings in enumerate(decoded):
                entry["fields"][f] += [(d, tf, sizes[f][d], at) for d, tf, at in postings]
    return {"manifest": manifest, "terms": terms, "sizes": sizes}


def assert_holds_lunr_index(files: dict[str, bytes], docs: list[search.SearchDoc]) -> None:
    """The pieces hold what lunr.py's builder holds: terms, postings in lunr's order, term
    frequencies, field lengths, term numbering, paper count and average field lengths."""
    builder = lunr_py(docs)
    index = reassemble(files)
    terms = index["terms"]
    assert sorted(terms) == sorted(builder.inverted_index)
    for name, entry in terms.items():
        for f, index_field in enumerate(FIELDS):
            refs = [docs[doc].id for doc, _, _, _ in entry["fields"][f]]
            assert refs == list(builder.inverted_index[name][index_field.name]), name
            for doc, tf, length, _ in entry["fields"][f]:
                ref = f"{index_field.name}/{docs[doc].id}"
                assert builder.field_term_frequencies[ref][name] == tf
                assert builder.field_lengths[ref] == length
    by_key = sorted(terms, key=lambda t: terms[t]["key"])
    numbered = builder.inverted_index
    assert by_key == sorted(numbered, key=lambda t: numbered[t]["_index"])
    for f, index_field in enumerate(FIELDS):
        expected = [builder.field_lengths[f"{index_field.name}/{doc.id}"] for doc in docs]
        assert index["sizes"][f] == expected
    manifest = index["manifest"]
    assert manifest["n"] == builder.document_count == len(docs)
    assert manifest["avg"] == [builder.average_field_length[f.name] for f in FIELDS]
    assert manifest["fields"] == [[f.name, f.boost, int(f.positional)] for f in FIELDS]


def test_pieces_hold_lunr_py_index_on_the_sample(library: Library) -> None:
    assert_holds_lunr_index(dict(search_files(library)), search_docs(library))


def test_pieces_hold_lunr_py_index_when_cut_small(library: Library, small: None) -> None:
    files = dict(search_files(library))
    kinds = {path.split("/")[2] for path in files if path.count("/") > 2}
    assert kinds == {"c", "d", "g", "p", "t", "v"}
    assert sum(path.startswith(f"{SEARCH_DIR}/c/") for path in files) > 100
    assert_holds_lunr_index(files, search_docs(library))


def test_a_big_term_is_cut_into_pieces_of_its_own(generated: Project) -> None:
    files = files_of(generated, None)
    manifest = piece(files[f"{SEARCH_DIR}/manifest.js"].replace(b"manifest(", b'manifest("",'))[1]
    chunks = []
    for _, directory, _ in manifest["groups"]:
        chunks += piece(files[f"{SEARCH_DIR}/{directory}.js"])[1]["chunks"]
    big = [names for _, names in chunks if len(names) > 1]
    assert big, "no term was split"
    for names in big:
        parts = [piece(files[f"{SEARCH_DIR}/{name}.js"])[1]["terms"] for name in names]
        assert all(len(part) == 1 for part in parts)  # one term, its postings cut by papers
        assert len({part[0][0] for part in parts}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "State-of-the-art LLMs: (INT4) quantization—“fast” & 3.5×, naïve e.g. i.e. U-Net's",
        "  trailing -- hyphens - and\u00a0no-break\tspaces\n",
        "The and of a",
        "",
        "model model Model models (v12.3)",
    ],
)
def test_terms_match_lunr_py_pipeline(text: str) -> None:
    record = Record("a" * 12, text, text.upper(), (), {}, (dt.date(2024, 1, 2),))
    doc = search.SearchDoc(record, "2024-01-02", "x")
    builder = lunr_py([doc])
    for index_field in FIELDS:
        found = lunr_format.terms(doc.text(index_field))
        ref = f"{index_field.name}/{doc.id}"
        assert builder.field_lengths[ref] == len(found)
        counts = {t: found.count(t) for t in found}
        assert dict(builder.field_term_frequencies[ref]) == counts
    assert lunr_format.terms("Quantized models") == ["quantiz", "model"]


def test_positions_count_stop_words() -> None:
    assert lunr_format.analyze("Quantization of vectors") == [("quantiz", 0), ("vector", 2)]


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 9), st.booleans()),
        max_size=40,
    )
)
def test_postings_round_trip(steps: list[tuple[int, int, bool]]) -> None:
    postings = []
    doc = -1
    for gap, tf, _ in steps:
        doc += gap + 1
        postings.append((doc, tf, tuple(range(0, 2 * tf, 2))))
    for positional in (True, False):
        expected = [(d, tf, p if positional else ()) for d, tf, p in postings]
        text = lunr_format.encode_postings(expected, positional)
        assert lunr_format.decode_postings(text, positional) == expected
        assert set(text) <= set(lunr_format.ALPHABET)


@given(st.lists(st.text(max_size=4)))
def test_terms_are_sorted_as_javascript_sorts_them(terms: list[str]) -> None:
    assert lunr_format.js_sorted(terms) == sorted(terms, key=lunr_format.utf16_key)
    assert lunr_format.js_sorted(["\U0001f600", "\uffff"]) == ["\U0001f600", "\uffff"]


@given(st.lists(st.integers(0, 2**40), max_size=20))
def test_vlq_round_trip(values: list[int]) -> None:
    assert lunr_format.unvlqs(lunr_format.vlqs(values)) == values


def test_search_files_are_deterministic(library: Library, tmp_path: Path) -> None:
    first = list(search_files(library))
    assert first == list(search_files(library))
    assert first == list(search_files(library, cache_dir=tmp_path))
    assert first == list(search_files(library, cache_dir=tmp_path))  # from the cache


def details_by_number(files: dict[str, bytes]) -> list[Any]:
    """Return every paper's details in number order, found as search.js finds them: its day
    from the manifest's days, then its file and its place there from its rank that day."""
    manifest = piece(files[f"{SEARCH_DIR}/manifest.js"].replace(b"manifest(", b'manifest("",'))[1]
    values = lunr_format.unvlqs(manifest["days"]["days"])
    date = dt.date.fromisoformat(manifest["days"]["first"])
    size = manifest["detailsDocs"]
    found = []
    for gap, count in zip(values[::2], values[1::2], strict=True):
        date += dt.timedelta(days=gap)
        for rank in range(count):
            name = f"d/{date.isoformat()}-{rank // size}"
            loaded, group = piece(files[f"{SEARCH_DIR}/{name}.js"])
            assert loaded == name
            found.append(group[rank % size])
    return found


@pytest.mark.parametrize("layout", [search.LAYOUT, SMALL], ids=["default", "small"])
def test_every_paper_has_its_details(
    library: Library, layout: search.Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "LAYOUT", layout)
    files = dict(search_files(library))
    docs = search_docs(library)
    expected = [[d.id, d.title, d.abstract, list(d.themes), d.authors] for d in docs]
    assert details_by_number(files) == expected
    days = Counter(d.date for d in docs)
    size = layout.details_docs
    per_day = Counter(p.split("/d/")[1].rsplit("-", 1)[0] for p in files if "/d/" in p)
    assert per_day == {day: -(-n // size) for day, n in days.items()}  # a day in files of k
    assert max(days.values()) > size and any(n % size for n in days.values())
    record = next(r for r in library.records.values() if r.themes)
    assert [record.id, record.title, record.abstract, list(record.themes), ""] in expected


def test_an_edited_paper_rewrites_its_own_details_file_only(library: Library) -> None:
    before = dict(search_files(library))
    docs = search_docs(library)
    day = Counter(d.date for d in docs).most_common(1)[0][0]
    paper = [d for d in docs if d.date == day][13]  # rank 13: the second file of its day
    after = dict(search_files(_retitled(library, paper.id, "Zanzibar Retitled")))
    changed = [p for p in after if "/d/" in p and before.get(p) != after[p]]
    assert changed == [f"{SEARCH_DIR}/d/{day}-{13 // search.LAYOUT.details_docs}.js"]
    assert sorted(p for p in after if "/d/" in p) == sorted(p for p in before if "/d/" in p)


def test_papers_are_numbered_oldest_first(library: Library) -> None:
    docs = search_docs(library)
    order = [(d.date, d.id) for d in docs]
    assert order == sorted(order) and len(set(order)) == len(library.records)
    assert docs[0].date == min(r.first_seen for r in library.records.values()).isoformat()
    blocks = search.blocks(docs)
    assert [b.start for b in blocks] == [0, *accumulate(len(b.docs) for b in blocks[:-1])]
    assert search.block_name("2025-06-15") == "2025-06-1"
    assert search.block_name("2025-06-16") == "2025-06-2"


def test_hostile_text_stays_a_json_string(library: Library) -> None:
    record = next(iter(library.records.values()))
    title = "<img src=x onerror=alert(1)></script>\u2028"
    files = dict(search_files(_retitled(library, record.id, title)))
    data = next(d for p, d in files.items() if "/d/" in p and record.id.encode() in d)
    assert b"\\u2028" in data and "\u2028" not in data.decode("ascii")
    assert [r[1] for r in piece(data)[1] if r[0] == record.id] == [title]


def _retitled(library: Library, paper: str, title: str) -> Library:
    """Retitle a paper as an edit of its digest page would: the page's content hash changes."""
    record = library.records[paper]
    records = dict(library.records)
    records[paper] = dataclasses.replace(record, title=title)
    days = tuple(
        dataclasses.replace(d, token=d.token + "-edited") if d.date in record.dates else d
        for d in library.days
    )
    return dataclasses.replace(library, records=records, days=days)


def test_chunk_ranges_are_cut_at_the_same_terms_as_volumes_grow() -> None:
    words = [f"w{i:05d}" for i in range(3000)]
    before = assembly.chunk_ranges(words, [3] * len(words), 500)
    grown = [3] * len(words)
    grown[1500] = 450  # one term gets many more postings: its chunk must split
    after = assembly.chunk_ranges(words, grown, 500)
    starts = {words[lo] for lo, _ in before}
    moved = starts ^ {words[lo] for lo, _ in after}
    assert all(len(range(lo, hi)) * 3 <= 500 for lo, hi in before if hi - lo > 1)
    assert 0 < len(moved) < 8  # a couple of chunks near the grown term, nothing else


# --- incremental ------------------------------------------------------------------------------


def corpus(root: Path, papers: int, per_day: int = 20) -> Project:
    benchmark_module("corpus").write_corpus(root, papers, per_day=per_day)
    project = Project.find(root)
    year = project.config.year()
    ingest(project.digests_dir, project.raw_dumps(), project.themes, year=year)
    return project


def new_day(project: Project, number: int) -> None:
    made = benchmark_module("corpus")
    last = max(dt.date.fromisoformat(p.name[:10]) for p in project.raw_dumps())
    date = last + dt.timedelta(days=1)
    dump = project.raw_dir / f"{date.isoformat()}-corpus.txt"
    papers = made.day_papers(made.sample_papers(), 90_000 + number, 20)
    dump.write_text(made.dump_text(date, papers), "utf-8")
    ingest(project.digests_dir, [dump], project.themes, year=project.config.year())


def files_of(project: Project, cache: Path | None) -> dict[str, bytes]:
    library = load_library(project.digests_dir, project.themes)
    return dict(search_files(library, cache_dir=cache))


@pytest.fixture
def generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setattr(search, "LAYOUT", SMALL)
    yield corpus(tmp_path / "corpus", 600)


def test_new_days_rewrite_only_the_pieces_they_must(generated: Project, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = files_of(generated, cache)
    chunks = [p for p in before if "/c/" in p]
    for number in range(3):
        new_day(generated, number)
        after = files_of(generated, cache)
        changed = {p for p in after if before.get(p) != after[p]}
        kinds = {p.split("/")[2] if p.count("/") > 2 else "manifest" for p in changed}
        assert kinds <= {"c", "d", "g", "manifest", "p", "t", "v"}
        new_details = [p for p in changed if "/d/" in p]
        assert len(new_details) == 7  # the day's 20 papers, 3 a file: no other day's
        folded = [p for p in changed if "/c/" in p]
        assert 0 < len(folded) < len(chunks) / 3, (len(folded), len(chunks))
        assert files_of(generated, None) == after  # the same bytes as a build from nothing
        before = after


def test_splits_at_checkpoints_are_recalled_from_the_cache(
    generated: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild recalls the runs it split at checkpoints, with the same bytes as a split."""
    made: list[int] = []
    real = assembly.split_run

    def counting(*args: Any) -> Any:
        made.append(1)
        return real(*args)

    monkeypatch.setattr(assembly, "split_run", counting)
    cache = tmp_path / "cache"
    first = files_of(generated, cache)
    assert made
    made.clear()
    assert files_of(generated, cache) == first
    assert not made
    new_day(generated, 0)
    assert files_of(generated, cache) == files_of(generated, None)


def test_days_analysed_apart_and_joined_are_the_block_analysed_at_once(
    generated: Project,
) -> None:
    """The newest block is analysed a day at a time and joined: to the last byte the block's
    analysis, so the index does not depend on which way it was made."""
    docs = search_docs(load_library(generated.digests_dir, generated.themes))
    block = search.blocks(docs)[-2]
    days = [tuple(group) for _, group in groupby(block.docs, key=lambda d: d.date)]
    assert len(days) > 3
    joined = lunr_format.join_analyses([search.analyze(day) for day in days])
    whole = search.analyze(block.docs)
    assert marshal.dumps(joined, 2) == marshal.dumps(whole, 2)
    assert joined["digest"] == whole["digest"]


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the papers of each analysis made from now on (a block's, or a day's)."""
    counts: list[int] = []
    real = search.analyze

    def counting(docs: list[search.SearchDoc]) -> lunr_format.Analysis:
        counts.append(len(docs))
        return real(docs)

    monkeypatch.setattr(search, "analyze", counting)
    return counts


def test_a_note_on_an_old_day_changes_no_piece(
    generated: Project, tmp_path: Path, analysed: list[int]
) -> None:
    """Notes are not searched: adding one changes no file, and no paper is analysed again."""
    cache = tmp_path / "cache"
    before = files_of(generated, cache)
    analysed.clear()
    page = sorted(generated.digests_dir.glob("*.md"))[3]
    text = page.read_text(encoding="utf-8")
    start = text.index("\n### ")
    end = text.index("\n### ", start + 1)  # the note goes under the first paper's abstract
    page.write_text(text[:end].rstrip("\n") + "\n\nA note.\n" + text[end:], encoding="utf-8")
    after = files_of(generated, cache)
    assert after == before
    assert analysed == []


def test_an_edited_old_paper_changes_its_pieces_and_matches_a_cold_build(
    generated: Project, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    before = files_of(generated, cache)
    page = sorted(generated.digests_dir.glob("*.md"))[2]
    text = page.read_text(encoding="utf-8")
    at = text.index("\n### ") + 5
    page.write_text(text[:at] + "Zanzibar Retitled " + text[at:], encoding="utf-8")
    after = files_of(generated, cache)
    changed = [p for p in after if before.get(p) != after[p]]
    assert any(b"zanzibar" in after[p] for p in changed if "/c/" in p or "/t/" in p)
    assert len([p for p in changed if "/c/" in p]) < len([p for p in after if "/c/" in p]) / 2
    assert files_of(generated, None) == after


@pytest.fixture
def spread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """600 papers over four months: eight blocks, most of them settled."""
    monkeypatch.setattr(search, "LAYOUT", SMALL)
    return corpus(tmp_path / "corpus", 600, per_day=5)


def test_an_edit_to_an_old_paper_assembles_only_the_chunks_of_its_words(
    spread: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is keyed by the analyses of every block before its checkpoint, so a title
    edited on an old day rebuilt every chunk. The edited block's log of which terms each edit
    changed keys the chunks none of them falls in as before: those are kept, and the term
    table and the rebuilt chunks' runs are patched from the edited block alone. Four edits in
    a row (more than the log keeps apart: the oldest are merged, and their chunks keep their
    keys), new days after them, then an edit that takes a paper off the old day (every later
    paper's number moves: no log) each give a cold build's files."""
    monkeypatch.setattr(search, "EDITS_KEPT", 2)
    build(spread)
    chunks = len(list((spread.site_dir / SEARCH_DIR / "c").glob("*.js")))
    blocks = len(search.blocks(search_docs(load_library(spread.digests_dir, ()))))
    assembled = spread.root / "assembled"  # files: the index is made in a child process
    read = spread.root / "read"
    real_base, real_read = assembly.Assembly.base, search.load_analysis

    def counted(self: assembly.Assembly, chunk: assembly.Chunk) -> Any:
        with assembled.open("a") as log:
            log.write("1")
        return real_base(self, chunk)

    def reading(block: search.Block, *args: Any) -> Any:
        with read.open("a") as log:
            log.write("1")
        return real_read(block, *args)

    monkeypatch.setattr(assembly.Assembly, "base", counted)
    monkeypatch.setattr(assembly, "load_analysis", reading)
    monkeypatch.setattr(index, "load_analysis", reading)
    page = sorted(spread.digests_dir.glob("*.md"))[2]
    for word in ("Zanzibar", "Quokka", "Wombat", "Axolotl"):
        text = page.read_text(encoding="utf-8")
        at = text.index(" {#p-")  # the end of the day's first title
        page.write_text(f"{text[:at]} {word}{text[at:]}", encoding="utf-8")
        assembled.unlink(missing_ok=True)
        read.unlink(missing_ok=True)
        build(spread)
        rebuilt = len(assembled.read_text()) if assembled.exists() else 0
        assert 0 < rebuilt < chunks / 10, (word, rebuilt, chunks)
        assert len(read.read_text()) < blocks / 2, word  # the edited block, the recent ones
        assert _site_search_files(spread.site_dir) == files_of(spread, None)
    for number in range(3):
        new_day(spread, number)
        build(spread)
        assert _site_search_files(spread.site_dir) == files_of(spread, None)
    text = page.read_text(encoding="utf-8")
    second = text.index("\n### ", text.index("\n### ") + 1)
    page.write_text(text[:second] + text[text.index("\n#", second + 1) :], encoding="utf-8")
    build(spread)
    assert _site_search_files(spread.site_dir) == files_of(spread, None)


def test_runs_cached_before_digests_were_kept_per_block_are_still_read(tmp_path: Path) -> None:
    """A chunk's cached runs used to name their blocks by one chain of digests; such an
    entry is taken while the chain is still right, or every chunk that folded in the month
    after an upgrade read every old analysis again."""
    digests = ["a1", "b2", "c3"]
    chains = [reduce(chain, digests[:n], "") for n in range(len(digests) + 1)]
    runs = {"term": [[0, [1, 2, 3]]]}
    entry = tmp_path / "runs.marshal"
    entry.write_bytes(marshal.dumps((2, chains[2], runs)))
    assert terms.read_runs(entry, digests, chains) == (["a1", "b2"], runs)
    edited = ["a1", "b9", "c3"]
    edited_chains = [reduce(chain, edited[:n], "") for n in range(len(edited) + 1)]
    assert terms.read_runs(entry, edited, edited_chains) is None  # a block changed since
    entry.write_bytes(marshal.dumps((["a1", "b2"], runs)))
    assert terms.read_runs(entry, edited, edited_chains) == (["a1", "b2"], runs)


def test_a_new_day_reads_only_the_recent_analyses(
    spread: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk whose range a day cut anew (a range split) gathers its settled runs from the
    last layout's ranges it overlaps, instead of reading every settled analysis: a new day
    reads the recent blocks' analyses and the ones it settles, whichever chunks it moves."""
    monkeypatch.setattr(search, "LAYOUT", replace(SMALL, fold_days=32))  # few folds a day
    build(spread)
    blocks = len(search.blocks(search_docs(load_library(spread.digests_dir, ()))))
    read = spread.root / "read"
    real_read = search.load_analysis

    def reading(block: search.Block, *args: Any) -> Any:
        with read.open("a") as log:
            log.write(block.name + " ")
        return real_read(block, *args)

    monkeypatch.setattr(assembly, "load_analysis", reading)
    monkeypatch.setattr(index, "load_analysis", reading)
    for number in range(6):
        read.unlink(missing_ok=True)
        new_day(spread, number)
        build(spread)
        names = read.read_text().split()
        assert len(names) == len(set(names)) < blocks * 3 / 4, (number, names)
        assert _site_search_files(spread.site_dir) == files_of(spread, None)


def test_unchanged_blocks_are_not_analysed_again(
    generated: Project, tmp_path: Path, analysed: list[int]
) -> None:
    cache = tmp_path / "cache"
    files_of(generated, cache)
    analysed.clear()
    files_of(generated, cache)
    assert analysed == []
    new_day(generated, 7)
    files_of(generated, cache)
    assert analysed == [20]  # the new day's papers: the newest block is analysed by day


def _site_search_files(site: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(site)): p.read_bytes()
        for p in sorted((site / SEARCH_DIR).rglob("*"))
        if p.is_file()
    }


def test_a_build_that_changed_no_searchable_text_assembles_nothing(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note (or a template) changes pages, not the index: its pieces are kept as they are;
    a piece missing from the site makes the next build assemble the index again."""
    from digest.build import full as build_run

    project = Project.find(tiny)
    build(project)
    before = _site_search_files(project.site_dir)
    assembled = tiny.parent / "assembled"  # a file: the index may be made in a child process
    real = build_run.index_files

    def counted(plan: Any) -> Any:
        with assembled.open("a") as log:
            log.write("1")
        return real(plan)

    monkeypatch.setattr(build_run, "index_files", counted)
    page = sorted(project.digests_dir.glob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\nA note at the end.\n", "utf-8")
    report = build(project)
    assert report.written >= 1 and not assembled.exists()
    assert _site_search_files(project.site_dir) == before
    piece = next(p for p in before if "/t/" in p)
    (project.site_dir / piece).unlink()
    page.write_text(page.read_text(encoding="utf-8") + "\nAnother note.\n", "utf-8")
    build(project)
    assert assembled.read_text() == "1"
    assert _site_search_files(project.site_dir) == before


def test_a_new_analyser_keys_every_block_anew(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached analyses are reused by block key: a lunr.py that stems differently must not
    reuse the old ones."""
    docs = search_docs(library)
    before = [block.key for block in search.blocks(docs)]
    monkeypatch.setattr(search, "ANALYSER", "lunr.py 9.9 for lunr.js 2.3.9")
    after = [block.key for block in search.blocks(docs)]
    assert before and all(a != b for a, b in zip(before, after, strict=True))
