"""``digest fetch`` against a real HTTP server on 127.0.0.1 serving recorded API responses."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.ingest.fetch import USER_AGENT, retry_after
from digest.pages.format import read_day
from tests.conftest import CliResult
from tests.hf_api import Answer, RecordedApi, recorded_api

Cli = Callable[..., CliResult]
RECORDED_DAYS = ["2024-01-17", "2024-01-18", "2024-01-19", "2024-01-20", "2024-01-21"]


@pytest.fixture
def api() -> Iterator[RecordedApi]:
    with recorded_api() as server:
        yield server


@pytest.fixture
def fetching(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose clock says 22 January 2024, 06:00 UTC, that retries without waiting."""
    with (project / "content" / "digest.yaml").open("a") as settings:
        settings.write("fetch:\n  retries: 2\n  backoff: 0\n  timeout: 5\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(utc(2024, 1, 22, 6)))
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    return project


def utc(*parts: int) -> int:
    return int(dt.datetime(*parts, tzinfo=dt.UTC).timestamp())  # type: ignore[misc]


def saved(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "content" / "raw").glob("*.json"))


def pages(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "content" / "digests").glob("*.md"))}


def test_fetch_saves_each_missing_day_and_ingests_it(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    result = cli("fetch", "--since", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert result.code == 0, result.err
    assert api.dates() == [*RECORDED_DAYS, "2024-01-22"]  # one request a day
    today = "2024-01-22.partial.hf.json"  # not over yet: a later fetch saves the whole day
    assert saved(fetching) == [*(f"{d}.hf.json" for d in RECORDED_DAYS), today]
    assert list(pages(fetching)) == ["2024-01-17.md", "2024-01-18.md", "2024-01-19.md"]
    lines = result.out.splitlines()
    assert lines[0] == "2024-01-17: 3 papers, saved content/raw/2024-01-17.hf.json"
    assert "2024-01-20: no papers, saved content/raw/2024-01-20.hf.json" in lines
    assert "content/digests/2024-01-18.md: 2 new papers, written" in lines
    assert lines[-1].startswith("fetched 6 of 6 days in ")
    day = read_day(fetching / "content/digests/2024-01-18.md")
    repeat = next(p for _, p in day.placed_papers() if p.id == "2401.09003")
    assert repeat.first_seen == dt.date(2024, 1, 17)  # listed again: the same paper


def test_requests_name_digest_and_ask_for_one_whole_day(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    assert cli("fetch", "--date", "2024-01-17", "--endpoint", api.url, cwd=fetching).code == 0
    [request] = api.requests
    assert request.path == "/api/daily_papers"
    assert request.query == {"date": ["2024-01-17"], "limit": ["100"]}
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("digest/")


def test_a_second_run_adds_nothing_and_asks_only_for_today(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    cli("fetch", "--since", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    before, files = pages(fetching), saved(fetching)
    api.requests.clear()
    again = cli("fetch", "--since", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert again.code == 0, again.err
    assert api.dates() == ["2024-01-22"]  # weekends stay recorded; only today's list may grow
    assert pages(fetching) == before and saved(fetching) == files
    assert cli("fetch", "--date", "2024-01-20", "--endpoint", api.url, cwd=fetching).out == (
        "nothing to fetch: every day asked for is saved in content/raw\n"
    )


def test_a_day_saved_before_it_ended_is_asked_for_once_more(
    fetching: Path, api: RecordedApi, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("fetch", "--date", "2024-01-22", "--endpoint", api.url, cwd=fetching)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(utc(2024, 1, 23, 1)))
    api.requests.clear()
    cli("fetch", "--since", "2024-01-22", "--endpoint", api.url, cwd=fetching)
    cli("fetch", "--since", "2024-01-22", "--endpoint", api.url, cwd=fetching)
    assert api.dates() == ["2024-01-22", "2024-01-23", "2024-01-23"]


def test_a_429_is_retried_after_the_wait_it_asks_for(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    api.script["2024-01-17"] = [Answer(429, b'{"error":"slow down"}', (("Retry-After", "0"),))]
    result = cli("fetch", "--date", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert result.code == 0, result.err
    assert api.dates() == ["2024-01-17", "2024-01-17"]
    assert list(pages(fetching)) == ["2024-01-17.md"]


def test_server_errors_are_retried_then_reported_in_one_line(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    api.script["2024-01-18"] = [Answer(503, b"busy")] * 3
    result = cli("fetch", "--since", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert result.code == 1
    assert api.dates() == ["2024-01-17"] + ["2024-01-18"] * 3  # 1 try + 2 retries
    assert result.err == (
        f"digest: error: {api.url}/api/daily_papers?date=2024-01-18 answered "
        "503 Service Unavailable (3 tries); try later\n"
    )
    assert saved(fetching) == ["2024-01-17.hf.json"]  # the day before stays saved, ingested
    assert list(pages(fetching)) == ["2024-01-17.md"]
    assert "content/digests/2024-01-17.md: 3 new papers, written" in result.out


def test_a_500_then_a_200_is_one_day_fetched(fetching: Path, api: RecordedApi, cli: Cli) -> None:
    api.script["2024-01-19"] = [Answer(500), Answer(502)]
    result = cli("fetch", "--date", "2024-01-19", "--endpoint", api.url, cwd=fetching)
    assert result.code == 0, result.err
    assert api.dates() == ["2024-01-19"] * 3


def test_an_answer_that_is_no_list_of_papers_is_not_saved(
    fetching: Path, api: RecordedApi, cli: Cli
) -> None:
    api.script["2024-01-17"] = [Answer(200, b"<html>maintenance</html>")]
    result = cli("fetch", "--date", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert result.code == 1
    assert "the answer for 2024-01-17 is not a list of daily papers" in result.err
    assert saved(fetching) == [] and pages(fetching) == {}


def test_a_client_error_is_not_retried(fetching: Path, api: RecordedApi, cli: Cli) -> None:
    api.script["2024-01-17"] = [Answer(400, b'{"error":"bad date"}')]
    result = cli("fetch", "--date", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    assert result.code == 1 and api.dates() == ["2024-01-17"]
    assert result.err.endswith("answered 400 Bad Request\n")


def test_offline_is_a_one_line_error(fetching: Path, cli: Cli) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("fetch", "--date", "2024-01-17", "--endpoint", f"http://127.0.0.1:{port}",
                 cwd=fetching)  # fmt: skip
    assert result.code == 1
    assert result.err.startswith(f"digest: error: cannot reach http://127.0.0.1:{port} (")
    assert result.err.endswith("are you offline? Check the network, or pass --endpoint\n")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert saved(fetching) == [] and pages(fetching) == {}


def test_hf_endpoint_is_respected(
    fetching: Path, api: RecordedApi, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", api.url + "/")
    assert cli("fetch", "--date", "2024-01-21", cwd=fetching).code == 0
    assert api.dates() == ["2024-01-21"]


def test_without_dates_fetch_looks_back_a_week(fetching: Path, api: RecordedApi, cli: Cli) -> None:
    assert cli("fetch", "--endpoint", api.url, cwd=fetching).code == 0
    assert api.dates() == [f"2024-01-{d}" for d in range(16, 23)]


def test_a_saved_response_rebuilds_offline(fetching: Path, api: RecordedApi, cli: Cli) -> None:
    """What fetch saved is all a fresh clone needs: build ingests it like a text dump."""
    cli("fetch", "--since", "2024-01-17", "--endpoint", api.url, cwd=fetching)
    for page in (fetching / "content" / "digests").glob("*.md"):
        page.unlink()
    result = cli("build", cwd=fetching)
    assert result.code == 0, result.err
    assert list(pages(fetching)) == ["2024-01-17.md", "2024-01-18.md", "2024-01-19.md"]
    assert (fetching / "site" / "papers" / "2401.09001.html").is_file()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (" 0 ", 0.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_reads_seconds_or_a_date(header: str, seconds: float | None) -> None:
    assert retry_after(header) == seconds


def test_fetch_options_are_checked(fetching: Path, cli: Cli) -> None:
    assert cli("fetch", "--date", "2024-13-01", cwd=fetching).code == 2  # a usage mistake
    both = cli("fetch", "--date", "2024-01-01", "--since", "2024-01-01", cwd=fetching)
    assert both.code == 2
    late = cli("fetch", "--since", "2024-02-01", cwd=fetching)
    assert late.err == "digest: error: --since 2024-02-01 is after today (2024-01-22, UTC)\n"
    bad = cli("fetch", "--date", "2024-01-17", "--endpoint", "ftp://x", cwd=fetching)
    assert (
        bad.err
        == "digest: error: the endpoint must start with http:// or https://, got 'ftp://x'\n"
    )


def test_a_day_fetched_early_is_completed_after_a_checkout(
    fetching: Path, api: RecordedApi, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily workflow commits the morning's response and checks it out the next day,
    which gives the file a new time: the name, not the time, says the day was not over."""
    cli("fetch", "--date", "2024-01-22", "--endpoint", api.url, cwd=fetching)
    raw = fetching / "content" / "raw"
    for path in raw.glob("*.json"):
        os.utime(path)  # what a fresh checkout does
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(utc(2024, 1, 23, 7)))
    api.requests.clear()
    result = cli("fetch", "--since", "2024-01-22", "--endpoint", api.url, cwd=fetching)
    assert result.code == 0, result.err
    assert api.dates() == ["2024-01-22", "2024-01-23"]
    assert saved(fetching) == ["2024-01-22.hf.json", "2024-01-23.partial.hf.json"]


def test_the_day_asked_for_is_the_day_listed(tmp_path: Path, cli: Cli) -> None:
    """A saved response is the list of the day its name starts with (the ?date= asked for),
    whatever the entries' publishedAt says (it can be the arXiv date)."""
    entry = {
        "paper": {"id": "2401.00042", "title": "Listed Late", "summary": "An abstract.",
                  "authors": [], "publishedAt": "2024-01-15T18:59:00.000Z",
                  "submittedOnDailyAt": "2024-01-17T03:00:00.000Z"},
        "publishedAt": "2024-01-15T18:59:00.000Z", "title": "Listed Late",
    }  # fmt: skip
    named = tmp_path / "2024-01-18.hf.json"
    named.write_text(json.dumps([entry]), encoding="utf-8")
    unnamed = tmp_path / "response.json"
    unnamed.write_text(json.dumps([entry]), encoding="utf-8")
    for path, day in [(named, "2024-01-18"), (unnamed, "2024-01-17")]:
        result = cli("parse", "--json", path)
        assert result.code == 0, result.err
        assert [r["date"] for r in json.loads(result.out)] == [day]


def test_build_fetch_is_fetch_then_build_in_one_command(
    fetching: Path, api: RecordedApi, cli: Cli, tmp_path: Path
) -> None:
    result = cli("build", "--fetch", "--endpoint", api.url, cwd=fetching)
    assert result.code == 0, result.err
    assert api.dates() == [f"2024-01-{d}" for d in range(16, 23)]  # what `fetch` asks for
    assert "2024-01-17: 3 papers, saved content/raw/2024-01-17.hf.json" in result.out
    assert "ingested content/digests/2024-01-18.md: 2 new papers" in result.out
    assert (fetching / "site" / "papers" / "2401.09001.html").is_file()
    one_command = pages(fetching)
    again = cli("build", "--fetch", "--endpoint", api.url, cwd=fetching)
    assert again.code == 0, again.err
    assert api.dates().count("2024-01-17") == 1  # saved: not asked for again
    assert "0 files written" in again.out.splitlines()[-1]
    for page in (fetching / "content" / "digests").glob("*.md"):
        page.unlink()
    for dump in (fetching / "content" / "raw").glob("*.json"):
        dump.unlink()
    assert cli("fetch", "--endpoint", api.url, cwd=fetching).code == 0
    assert pages(fetching) == one_command  # the same pages as `digest fetch` writes


def test_build_fetch_offline_builds_what_is_saved_then_fails(fetching: Path, cli: Cli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("build", "--fetch", "--endpoint", f"http://127.0.0.1:{port}", cwd=fetching)
    assert result.code == 1
    assert result.err.startswith(f"digest: error: cannot reach http://127.0.0.1:{port} (")
    assert "Traceback" not in result.err
    assert (fetching / "site" / "index.html").is_file()  # the site is still built
    assert "files written" in result.out


def test_build_endpoint_goes_with_fetch(fetching: Path, cli: Cli) -> None:
    result = cli("build", "--endpoint", "http://127.0.0.1:1", cwd=fetching)
    assert result.code == 2 and "--endpoint goes with --fetch" in result.err
