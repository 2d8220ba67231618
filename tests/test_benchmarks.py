"""CI's smoke run of the benchmark script at its smallest size (figures are not asserted)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import benchmark_module


def test_benchmark_script_runs_at_500_papers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = benchmark_module("bench")
    trashed: list[list[str]] = []
    real_empty = bench.Trash.empty

    def empty(self: bench.Trash) -> None:
        trashed.append(sorted(p.name.split("-", 1)[1] for p in self.folder.iterdir()))
        real_empty(self)

    monkeypatch.setattr(bench.Trash, "empty", empty)
    results = tmp_path / "results.json"
    code = bench.main(
        ["500", "--repeat", "2", "--quick", "--no-browser", "--out", str(tmp_path / "out"),
         "--results", str(results)]
    )  # fmt: skip
    # Caches moved aside before each build from empty (the second timed one, and the untimed
    # memory run) and ingest's own: moved aside, not deleted, until the end.
    assert trashed == [[".digest-cache"] * 3]
    assert code == 0
    (row,) = json.loads(results.read_text())["rows"]
    assert row["papers"] == 500 and row["days"] == 10
    timed = ("ingest_s", "full_build_s", "noop_s", "changed_day_s", "new_day_s", "new_day_one_s")
    for key in timed:
        assert row[key] > 0, key
    assert row["index_gzip_mb"] > 0 and row["site_mb"] > 0
    assert row["digest_tree_mb"] > 10 and row["site_files"] > 500
    assert (tmp_path / "out/corpus-500/digest/site/index.html").is_file()
    assert not (tmp_path / "out/trash").exists()  # old folders are deleted at the end


def test_lighthouse_script_picks_the_page_types_and_serves_gzip(sample_site: Path) -> None:
    """The Lighthouse benchmark's own parts (Lighthouse itself is too slow for CI)."""
    import gzip
    import urllib.request

    lighthouse = benchmark_module("lighthouse")
    pages = lighthouse.page_types(sample_site)
    assert pages["largest day"] == "days/2024-10-21.html"
    assert pages["paper"].startswith("papers/") and (sample_site / pages["paper"]).is_file()
    assert pages["search with a query"] == "search.html?q=quantization"
    with lighthouse.serving(sample_site) as base:
        request = urllib.request.Request(base + pages["home"], headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as reply:
            assert reply.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(reply.read()) == (sample_site / "index.html").read_bytes()


def test_the_memory_sampler_survives_a_process_that_ends_while_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker can end between being listed and having its threads listed; that raised in
    the sampler's thread, which then stopped sampling (bench.py printed the traceback)."""
    treemem = benchmark_module("treemem")

    def gone(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("/proc/12345/task")

    monkeypatch.setattr(Path, "glob", gone)
    monkeypatch.setattr(os, "listdir", gone)
    assert treemem.children(12345) == []
    assert treemem.tree(12345) == [12345]
