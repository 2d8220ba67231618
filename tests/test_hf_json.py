"""Reading Hugging Face API responses and what text dumps say besides titles and abstracts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.ingest.hf_json import arxiv_id, looks_like_json
from digest.ingest.parse import parse_file
from tests.conftest import CliResult
from tests.hf_api import RECORDED

Cli = Callable[..., CliResult]
RICH = [
    "arxiv_id", "authors", "author_count", "upvotes", "github", "github_stars", "project_page",
    "summary", "keywords", "comments", "submitted_by",
]  # fmt: skip


def parsed(cli: Cli, *args: str | Path) -> list[dict[str, Any]]:
    result = cli("parse", "--json", *args)
    assert result.code == 0, result.err
    records: list[dict[str, Any]] = json.loads(result.out)
    for record in records:  # themes come from the matcher, tested on its own
        del record["themes"], record["why"]
    return records


def test_parse_json_shows_every_field_of_an_api_response(cli: Cli) -> None:
    first, second, third = parsed(cli, RECORDED / "2024-01-17.json")
    assert first == {
        "id": "2401.09001",
        "title": "Janus-Tiny: Decoupling Visual Encoding for Unified Multimodal Understanding "
        "and Generation",
        "abstract": "We decouple visual encoding into separate pathways for multimodal "
        "understanding and generation, while a single unified transformer handles both tasks.",
        "date": "2024-01-17",
        "source": "2024-01-17.json",
        "line": 2,
        "truncated": False,
        "arxiv_id": "2401.09001",
        "authors": ["Chengyue Wu", "Xiaokang Chen", "Zhiyu Wu", "Yiyang Ma", "Xingchao Liu",
                    "Zizheng Pan"],
        "author_count": None,
        "upvotes": 87,
        "github": "https://github.com/deepseek-ai/Janus",
        "github_stars": 1523,
        "project_page": "https://janus-tiny.github.io/",
        "summary": "Janus-Tiny splits visual encoding into two pathways, one for understanding "
        "and one for generation, under one transformer.",
        "keywords": ["decoupled visual encoding", "unified multimodal model",
                     "autoregressive transformer"],
        "comments": 4,
        "submitted_by": "akhaliq",
    }  # fmt: skip
    assert {k: second[k] for k in ("id", "line", "github", "github_stars", "project_page")} == {
        "id": "2401.09002", "line": 98, "github": None, "github_stars": None,
        "project_page": None,
    }  # fmt: skip
    assert second["authors"] == ['Eve "<script>alert(1)</script>" Smith', "Ana María Núñez",
                                 "Li, Wei"]  # fmt: skip
    assert third["id"] == "2401.09003" and third["upvotes"] == 12


def test_the_date_is_the_day_hugging_face_listed_the_paper(cli: Cli) -> None:
    records = parsed(cli, RECORDED / "2024-01-18.json")
    assert [(r["id"], r["date"]) for r in records] == [
        ("2401.10011", "2024-01-18"),  # on arXiv since 16 January
        ("2401.09003", "2024-01-18"),  # listed again: a repeat
    ]
    overridden = parsed(cli, "--date", "2024-02-01", RECORDED / "2024-01-18.json")
    assert [r["date"] for r in overridden] == ["2024-02-01", "2024-02-01"]


def test_an_empty_response_is_a_day_without_papers(cli: Cli) -> None:
    result = cli("parse", RECORDED / "2024-01-20.json")
    assert result.code == 0 and result.out == "" and result.err == "0 entries\n"


def test_text_dumps_keep_votes_author_counts_and_submitters(cli: Cli, tmp_path: Path) -> None:
    dump = tmp_path / "2024-01-17-page.txt"
    dump.write_text(
        "Daily Papers\nJan 17\nSubmitted by\nakhaliq\n87\nUpvote\n"
        "Janus-Tiny: Decoupling Visual Encoding for Unified Multimodal Understanding\n"
        "· 6 authors\nWe decouple visual encoding into separate pathways.\n"
        "Submitted by taesiri\n1.2k\nSparse Codebooks for Low-Bit Vision Transformers\n"
        "We quantize vision transformer weights to 2 bits.\n"
        "A Paper Nobody Voted For\nIts abstract.\n"
    )
    records = parsed(cli, "--year", "2024", dump)
    assert [{k: r[k] for k in RICH if r[k] is not None} for r in records] == [
        {"author_count": 6, "upvotes": 87, "submitted_by": "akhaliq"},
        {"upvotes": 1200, "submitted_by": "taesiri"},
        {},
    ]
    assert all(r["arxiv_id"] is None and len(r["id"]) == 12 for r in records)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[\n {"paper": {"id": "2401.00001", "title": "A"}},\n',
         "3: invalid JSON: Expecting value"),
        ('[{"paper": {"id": "2401.00001"}, "publishedAt": "2024-01-17T00:00:00Z"}]',
         "1: entry 1 has no paper title"),
        ('[\n{"paper": {"id": "2401.1", "title": "A"}, "publishedAt": "2024-01-17T00:00:00Z"},\n'
         '{"paper": {"title": "B"}, "publishedAt": "2024-01-17T00:00:00Z"}\n]',
         "3: entry 2 ('B') has no paper id"),
        ('[{"title": "A"}]', "1: entry 1 has no 'paper' object"),
        ('[\n  "just text"\n]', "2: entry 1 is not an object with a 'paper'"),
        ('[{"paper": {"id": "2401.00001", "title": "A"}}]', "1: entry 1 has no 'publishedAt'"),
        ('[{"paper": {"id": "2401.00001", "title": "A"}, "publishedAt": "yesterday"}]',
         "1: entry 1: 'publishedAt' 'yesterday' is not an ISO date and time"),
        ('{"error": "Invalid date"}', "1: is a JSON object, not a list of daily papers "
         "(the server said: 'Invalid date')"),
        ("[]\n[]", "2: invalid JSON: extra data after the list"),
        ('[{"paper": ' + "[" * 100_000 + "]" * 100_000 + "}]",
         "1: invalid JSON: nested too deeply"),
    ],
)  # fmt: skip
def test_a_malformed_response_is_a_clear_error(
    cli: Cli, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "response.json"
    path.write_text(text)
    result = cli("parse", path)
    assert result.code == 1
    assert result.err.startswith(f"digest: error: {path}:{message}")
    assert "Traceback" not in result.err


def test_optional_fields_of_an_unexpected_type_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([{
        "paper": {"id": "2401.00001v3", "title": " Spaced\n title ", "summary": "An\nabstract.",
                  "upvotes": "many", "githubStars": -1,
                  "authors": [{"name": 3}, "x", {"name": " "}],
                  "ai_keywords": "not a list", "githubRepo": ["no"]},
        "publishedAt": "2024-01-17T23:30:00-05:00", "numComments": True,
    }]))  # fmt: skip
    [entry] = parse_file(path)
    assert (entry.id, entry.title, entry.abstract) == ("2401.00001", "Spaced title", "An abstract.")
    assert str(entry.date) == "2024-01-18"  # listed at 04:30 UTC
    meta = entry.meta
    assert (meta.upvotes, meta.github_stars, meta.authors, meta.keywords) == (None,) * 4
    assert meta.github is None and meta.comments is None


@pytest.mark.parametrize(
    ("text", "is_json"),
    [("[]", True), ('  \n[\n  {"paper": {}}]', True), ('{"error": "x"}', True),
     ("[MASK] Is All You Need\nAn abstract.", False), ("new\nSubscribe\n", False),
     ("{RE}think Everything\nAn abstract.", False)],
)  # fmt: skip
def test_a_response_is_told_from_a_page_by_its_content(text: str, is_json: bool) -> None:
    assert looks_like_json(text) is is_json


@pytest.mark.parametrize(
    ("value", "found"),
    [("2404.12345", "2404.12345"), ("2404.12345v2", "2404.12345"), ("arXiv:2404.1234", "2404.1234"),
     ("hep-th/9901001", None), ("1234", None), (12, None), ("2404.123456", None)],
)  # fmt: skip
def test_arxiv_ids(value: object, found: str | None) -> None:
    assert arxiv_id(value) == found
