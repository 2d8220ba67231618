"""digestSearch.lunr gives one lunr index's results: same papers, same order, same scores.

The reference is one lunr.py index over every paper, loaded into lunr.js 2.3.9 in the same
Chromium page; the site's pieces are cut small (hundreds of chunks, big terms in pieces of
their own, tails) so that every path of the loader is taken.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from lunr import lunr
from lunr.builder import Builder
from lunr.stemmer import stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.trimmer import trimmer

from digest.build.run import build
from digest.pages.library import load_library
from digest.project import Project
from digest.site import search
from tests.conftest import SAMPLES, benchmark_module
from tests.test_search import SMALL, new_day

pytestmark = pytest.mark.browser

SYNTAX = [
    "quantization", "vector quantization", "learning", "+learning +model", "-learning",
    "-model -data", "title:quantization", "quant*", "*tion", "q*z*", "quantizaton~1", "modl~2",
    "model^10 learning", "", "themes:quantization", "author:smith", "+zzzz", "zzzz", "the",
    "a the of", "+title:model -abstract:model", "qua*", "learn* +model", "neural~1 network",
    "title:vector title:quantization", "v*", "+vector +quantization", "implicit neural",
    "abstract:diffusion^2 image", "-quantization", "3d", "(v3.1)", "+the +model",
]  # fmt: skip
"""Every kind of clause lunr has: presence, fields, wildcards, edit distance, boosts."""


def queries(docs: list[search.SearchDoc], count: int) -> list[str]:
    """Return ``count`` query strings: the syntax list, then random ones over the vocabulary."""
    rng = random.Random(7)
    words = sorted({w.lower().strip(".,:;()") for d in docs for w in d.title.split()})
    words = [w for w in words if w.isalpha()]
    found = list(SYNTAX)
    shapes = [
        "{0}", "{0} {1}", "+{0} +{1}", "{0} -{1}", "{2}*", "{0}~1", "title:{0} {1}",
        "{0} {1} {3}", "{3}^3 {0} -{1}", "*{4}", "+{0} {1} -title:{3}", "{0}~2 +{1}",
    ]  # fmt: skip
    while len(found) < count:
        picked = [rng.choice(words) for _ in range(4)]
        found.append(rng.choice(shapes).format(*picked, picked[0][:3], picked[1][-3:]))
    return found


def reference(docs: list[search.SearchDoc]) -> dict[str, Any]:
    """Return one lunr.py index over every paper, serialised (papers in the site's order)."""
    builder = Builder()
    builder.pipeline.add(trimmer, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    fields = [{"field_name": f.name, "boost": f.boost} for f in search.FIELDS]
    rows = [{"id": d.id, **{f.name: d.text(f) for f in search.FIELDS}} for d in docs]
    serialised: dict[str, Any] = lunr("id", fields, rows, builder=builder).serialize()
    return serialised


COMPARE = """async ([data, queries]) => {
  const index = lunr.Index.load(JSON.parse(data));
  digestSearch.fastFrom = 0;  // first results from candidates whatever the number of results
  const pairs = list => list.map(r => [r.ref, r.score]);
  const rows = [];
  for (const q of queries) {
    let want, got, first, box, boxFirst;
    try { want = pairs(index.search(q)); } catch (e) { want = e.name; }
    try {
      first = pairs(await digestSearch.lunr(q, {first: 10}));  // before the complete run
      got = pairs(await digestSearch.lunr(q));
      boxFirst = pairs(await digestSearch.query(q + " ", {first: 10}));
      box = pairs(await digestSearch.query(q + " ", {details: 10})).slice(0, 10);
    } catch (e) { got = e.name; }
    rows.push([q, want, got, first, box, boxFirst]);
  }
  return rows;
}"""


def assert_same_results(browser: Any, site: Path, count: int) -> int:
    """Run ``count`` queries both ways in one page; return how many results were compared."""
    project = Project.find(site.parent)
    docs = search.search_docs(load_library(project.digests_dir, project.themes))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site / "search.html").as_uri())
    page.wait_for_function("window.digestSearch && typeof lunr !== 'undefined'")
    rows = page.evaluate(COMPARE, [json.dumps(reference(docs)), queries(docs, count)])
    page.close()
    compared = 0
    for query, want, got, first, box, box_first in rows:
        if isinstance(want, str):  # a malformed query fails the same way
            assert got == want, query
            continue
        assert isinstance(got, list), (query, got)
        assert [ref for ref, _ in got] == [ref for ref, _ in want], query
        assert all(abs(a[1] - b[1]) <= 1e-9 for a, b in zip(got, want, strict=True)), query
        assert first == got[:10], query  # lunr over candidates: the same first ten, exactly
        assert box_first == box, query  # and so for the search box's ranking
        compared += len(want)
    assert errors == []
    return compared


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "LAYOUT", SMALL)


def test_same_results_as_one_lunr_index_on_the_sample(
    browser: Any, project: Path, small: None
) -> None:
    shutil.rmtree(project / "content" / "raw")
    shutil.copytree(SAMPLES, project / "content" / "raw")
    build(Project.find(project))
    assert assert_same_results(browser, project / "site", 200) > 10_000


def test_same_results_as_one_lunr_index_on_a_generated_corpus(
    browser: Any, tmp_path: Path, small: None
) -> None:
    root = tmp_path / "corpus"
    benchmark_module("corpus").write_corpus(root, 1200, per_day=30)
    project = Project.find(root)
    build(project)
    assert assert_same_results(browser, root / "site", 200) > 30_000
    for number in range(2):  # and after new days, built incrementally
        new_day(project, number)
        build(project)
    assert assert_same_results(browser, root / "site", 60) > 5_000
