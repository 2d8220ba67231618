"""The daily job a user sets up once: `digest init --workflow --cron`, run for real.

The cron script runs against the recorded Hugging Face API and a real SMTP server on
127.0.0.1: the first run fetches, builds and sends; a second run does nothing twice; a failing
step makes the script fail, as cron and CI need.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.conftest import CliResult
from tests.hf_api import recorded_api
from tests.smtp_server import free_port, smtp_server

Cli = Callable[..., CliResult]


def test_init_writes_the_workflow_and_the_cron_script_once(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "papers"
    first = cli("init", root, "--workflow", "--cron", cwd=tmp_path)
    assert first.code == 0, first.err
    workflow, script = root / ".github/workflows/digest-daily.yml", root / "digest-daily.sh"
    assert f"created {workflow}" in first.out and f"created {script}" in first.out
    assert (root / "content" / "digest.yaml").is_file()
    assert os.access(script, os.X_OK) and sys.executable in script.read_text()
    assert f"17 7 * * * {script.resolve()} >> " in first.out
    again = cli("init", root, "--workflow", "--cron", cwd=tmp_path)  # an existing project
    assert again.code == 0, again.err
    assert f"unchanged {workflow}" in again.out and f"unchanged {script}" in again.out
    script.write_text(script.read_text() + "# my own line\n")
    kept = cli("init", "--cron", cwd=root)
    assert "kept digest-daily.sh (a different file is there: kept as it is)" in kept.out
    assert script.read_text().endswith("# my own line\n")


def test_the_workflow_runs_every_step_and_keeps_what_a_failure_saved(tmp_path: Path) -> None:
    from digest.project import AUTOMATION

    flow = yaml.safe_load((AUTOMATION / "github-daily.yml").read_text())
    triggers = flow[True]  # YAML 1.1 reads the key "on" as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    steps = flow["jobs"]["daily"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    for command in ("digest build --fetch", "digest email --send", "git push"):
        assert command in runs
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    commit = steps[-1]
    assert commit["if"] == "always()"  # a "possibly sent" line must be committed too
    email = next(s for s in steps if "email --send" in s.get("run", ""))
    assert email["env"]["DIGEST_SMTP_PASSWORD"] == "${{ secrets.DIGEST_SMTP_PASSWORD }}"
    assert flow["concurrency"]["cancel-in-progress"] is False


def test_the_cron_script_is_idempotent_and_fails_loudly(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "papers"
    assert cli("init", root, "--cron", cwd=tmp_path).code == 0
    with smtp_server() as (handler, port):
        settings = root / "content" / "digest.yaml"
        settings.write_text(
            settings.read_text()
            + "base_url: https://papers.example.org/\n"
            + "email:\n  from: digest@example.org\n  to: [reader@example.org]\n"
            + f"  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n"
            + "fetch:\n  retries: 1\n  backoff: 0\n  timeout: 5\n"
        )
        with recorded_api() as api:
            env = {**os.environ, "HF_ENDPOINT": api.url, "SOURCE_DATE_EPOCH": _epoch(2024, 1, 20)}
            first = _daily(root, env)
            assert first.returncode == 0, first.stdout + first.stderr
            pages = {p.name: p.read_bytes() for p in (root / "content/digests").glob("*.md")}
            assert "2024-01-19.md" in pages and len(handler.received) == 1
            assert (root / "site" / "index.html").is_file()
            second = _daily(root, env)
            assert second.returncode == 0, second.stdout + second.stderr
            assert len(handler.received) == 1  # already sent: not again
            assert "already sent" in second.stdout + second.stderr
            assert {
                p.name: p.read_bytes() for p in (root / "content/digests").glob("*.md")
            } == pages
        offline = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
        assert (root / "content" / "raw" / "2024-01-20.partial.hf.json").is_file()  # asked again
        failed = _daily(root, offline)
        assert failed.returncode != 0 and "are you offline?" in failed.stderr


def _daily(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "digest-daily.sh")], env=env, capture_output=True, text=True, timeout=120
    )


def _epoch(year: int, month: int, day: int) -> str:
    return str(int(dt.datetime(year, month, day, 12, tzinfo=dt.UTC).timestamp()))
