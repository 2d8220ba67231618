"""`digest email`: the rendered message, its golden files, and delivery to a real SMTP server.

The SMTP tests start an aiosmtpd server on 127.0.0.1 (a free port) per test. The golden files in
tests/golden/email/ are the headers and the decoded text and HTML parts of a four-paper fixture
day; after a deliberate change, rewrite them with one command and review the diff:

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_email.py
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from digest.config import DEFAULTS_DIR, Config, EmailConfig, load_config
from digest.errors import DigestError
from digest.mail.message import HTML_LIMIT, Templates, render_email
from digest.mail.smtp import Server, deliver
from digest.model import Day, Paper, Section
from digest.pages.library import Library, LoadedDay, Placed, Record
from digest.project import Project
from tests.conftest import SAMPLE_FILES, CliResult, make_project
from tests.smtp_server import Handler, free_port, smtp_server

Cli = Callable[..., CliResult]
GOLDEN = Path(__file__).parent / "golden" / "email"
BASE = "https://digest.example.org/papers-site/"
GREEK = "Σ-Δ Quantization of αβγ-Networks for Café Robots"
DUMP = f"""Get trending papers in your email inbox!

Mar 20

{GREEK}

We quantize weights to 4-bit integers with a learned codebook; accuracy stays within 1% of FP16.

NeRV-Lite: Implicit Neural Representations for Videos on Phones

We represent each video as an implicit neural representation, a network mapping frame indices.

Disentangled Representations via Decoupling Content and Style

A <b>bold</b> & "quoted" way to decouple content and style for disentangled representations.

Quantized Implicit Neural Representations for Image Compression

We quantize the weights of an implicit neural representation (a coordinate network) to 4 bits.

Low-Bit Quantization of Diffusion Models

Post-training quantization of diffusion models to 4-bit weights and 8-bit activations.

A Study of Coffee Recommendation with Graphs

Graph neural networks recommend coffee to people who like coffee.

A Survey of Tea Recommendation

Tea lovers deserve recommendations as well.

Large Language Models Write Poems

We ask a large language model to write poems about the sea.

A Benchmark for Table Tennis Robots

Robots play table tennis against robots.
"""
EMAIL_SETTINGS = """
email:
  from: "Digest Bot <bot@example.org>"
  to: [reader@example.org, "Zoë Ü <zoe@example.org>"]
  reply_to: editor@example.org
  list_unsubscribe: ["mailto:unsub@example.org", "https://digest.example.org/unsubscribe"]
  smtp:
    host: 127.0.0.1
    security: none
  max_papers: 3
  abstract_length: 80
"""


@pytest.fixture
def small_day(project: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with one four-paper day (2024-03-20), email settings and a base_url."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (project / "content" / "raw" / "2024-03-20.txt").write_text(DUMP, encoding="utf-8")
    config = project / "content" / "digest.yaml"
    text = config.read_text(encoding="utf-8").replace('base_url: ""', f"base_url: {BASE}")
    text = text.replace("title: Research digest", "title: Tiny digest")
    config.write_text(text + EMAIL_SETTINGS, encoding="utf-8")
    assert cli("ingest", cwd=project).code == 0
    return project


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """Return the decoded text and HTML parts, checking their order."""
    assert message.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    text, html = message.iter_parts()
    decoded = [str(p.get_content()).replace("\r\n", "\n") for p in (text, html)]
    return decoded[0], decoded[1]


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def write_eml(cli: Cli, root: Path, *args: str) -> EmailMessage:
    out = root / "out.eml"
    result = cli("email", *args, "--out", out, cwd=root)
    assert result.code == 0, result.err
    return parse(out.read_bytes())


def header(message: EmailMessage, name: str) -> str:
    """Return a header's value; Python keeps the space of a value folded onto its own line."""
    return str(message[name]).strip()


# --- the message -----------------------------------------------------------------------------


def test_golden_files_of_a_small_day(small_day: Path, cli: Cli) -> None:
    message = write_eml(cli, small_day)
    text, html = parts(message)
    raw = (small_day / "out.eml").read_bytes().split(b"\r\n\r\n")[0] + b"\r\n"
    headers = raw.decode("ascii").replace("\r\n", "\n")
    actual = {"tiny.headers": headers, "tiny.txt": text, "tiny.html": html}
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, content in actual.items():
            (GOLDEN / name).write_text(content, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.iterdir())}
    assert actual == expected


def test_same_input_gives_byte_identical_eml(small_day: Path, cli: Cli) -> None:
    first, second = small_day / "a.eml", small_day / "b.eml"
    assert cli("email", "--out", first, cwd=small_day).code == 0
    assert cli("email", "2024-03-20", "--out", second, cwd=small_day).code == 0
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert b"\r\n" in data and all(len(line) <= 78 for line in data.split(b"\r\n"))


def test_message_parts_headers_and_links(small_day: Path, cli: Cli) -> None:
    message = write_eml(cli, small_day)
    text, html = parts(message)
    assert header(message, "Subject") == (
        "Tiny digest, 20 Mar 2024: 9 papers (1 decoupling, 3 quantization, 2 INR)"
    )
    assert message["From"] == "Digest Bot <bot@example.org>"
    assert message["To"] == "undisclosed-recipients:;"  # a list: nobody sees another reader
    assert message["Reply-To"] == "editor@example.org"
    assert message["Date"] == "Wed, 20 Mar 2024 00:00:00 +0000"
    assert re.fullmatch(
        r"<digest\.20240320\.[0-9a-f]{20}@digest\.example\.org>", message["Message-ID"]
    )
    assert header(message, "List-Unsubscribe") == (
        "<mailto:unsub@example.org>, <https://digest.example.org/unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    day_url = BASE + "days/2024-03-20.html"
    assert links(html)[0] == day_url and f"View on the web: {day_url}" in text
    assert all(link.startswith(("https://", "mailto:")) for link in links(html))
    for paper_link in [link for link in links(html) if "/papers/" in link]:
        assert re.fullmatch(re.escape(BASE) + r"papers/[0-9a-f]{12}\.html", paper_link)
        assert paper_link in text
    order = [m.group(1) for m in re.finditer(r"<h2[^>]*><a [^>]*>([^<]+)</a>", html)]
    assert order == ["Decoupling", "Quantization", "Implicit neural representations", "Other"]
    assert "1 decoupling · 3 quantization · 2 INR · 4 other" in html.split("<table")[0]
    assert text.splitlines()[1] == "1 decoupling · 3 quantization · 2 INR · 4 other"
    assert GREEK in text and GREEK in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; " in html and "<b>bold</b>" not in html


def test_html_is_email_safe(small_day: Path, cli: Cli) -> None:
    _, html = parts(write_eml(cli, small_day))
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<link" not in lowered
    assert '<meta name="color-scheme" content="light dark">' in html
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(styles) == 1 and "@media (prefers-color-scheme: dark)" in styles[0]
    assert "!important" in styles[0] and ".abstract {" not in styles[0].split("@media")[0]
    assert re.search(r'<table[^>]*class="container"[^>]*width="600"', html)
    assert "max-width: 600px" in html
    assert re.search(r'<h2 style="[^"]*font-size: 20px', html), "CSS was not inlined"


def test_largest_sample_day_stays_under_gmail_clipping(tmp_path: Path, cli: Cli) -> None:
    root = make_project(tmp_path / "sample")
    raw = SAMPLE_FILES["000"]
    (root / "content" / "raw" / raw.name).write_bytes(raw.read_bytes())
    assert cli("ingest", cwd=root).code == 0
    result = cli("email", "2024-10-21", "--base-url", BASE, "--out", root / "big.eml", cwd=root)
    assert result.code == 0, result.err
    text, html = parts(parse((root / "big.eml").read_bytes()))
    size = len(html.encode("utf-8"))
    assert 10_000 < size < HTML_LIMIT
    assert "250 papers" in text
    more = re.findall(r'<a href="([^"]+)"[^>]*>(\d+) more on the site', html)
    assert more and all(url.startswith(BASE + "days/2024-10-21.html#") for url, _ in more)
    shown = len(re.findall(r"<h3", html)) + len(re.findall(r"<li", html))
    assert shown + sum(int(n) for _, n in more) == sum(
        int(n) for n in re.findall(r'<span class="count"[^>]*>\((\d+)\)', html)
    )


def test_huge_limits_are_shrunk_to_fit(small_day: Path) -> None:
    project = Project.find(small_day)
    library, day = _library_with(400 * [("A long paper title about quantization", "word " * 900)])
    email_config = EmailConfig(max_papers=1000, abstract_length=100_000)
    config = Config(base_url=BASE, email=email_config)
    rendered = _render(library, day, config, project)
    assert rendered.html_size < HTML_LIMIT
    assert rendered.limits.max_papers < 1000 and rendered.limits.abstract_length < 100_000


def test_titles_cannot_inject_headers(small_day: Path) -> None:
    project = Project.find(small_day)
    evil = "Quantization\r\nBcc: evil@example.com\r\n\r\nbody"
    library, day = _library_with([(evil, "x\r\nBcc: evil2@example.com"), ("A\u2028B\x85C", "")])
    config = Config(title="Digest\nBcc: evil3@example.com", base_url=BASE)
    data = _render(library, day, config, project).message.as_bytes()
    message = parse(data)
    assert message["Bcc"] is None
    assert set(message.keys()) == {
        "Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"
    }  # fmt: skip
    assert header(message, "Subject").startswith("Digest Bcc: evil3@example.com, 20 Mar 2024")
    text, html = parts(message)
    assert "Quantization Bcc: evil@example.com body" in text
    assert "A B C" in html


def test_non_ascii_headers_are_rfc2047_encoded(small_day: Path, cli: Cli) -> None:
    config = small_day / "content" / "digest.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("title: Tiny digest", "title: Résumé Δ"), "utf-8")
    out = small_day / "x.eml"
    assert cli("email", "--out", out, "--to", "Zoë Ü <zoe@example.org>", cwd=small_day).code == 0
    data = out.read_bytes()
    assert data.isascii()
    assert b"=?utf-8?" in data.split(b"\r\n\r\n")[0]
    message = parse(data)
    assert header(message, "Subject").startswith("Résumé Δ, 20 Mar 2024")
    assert message["To"].addresses[0].display_name == "Zoë Ü"


def test_missing_base_url_is_a_clear_error(small_day: Path, cli: Cli) -> None:
    config = small_day / "content" / "digest.yaml"
    config.write_text(config.read_text("utf-8").replace(f"base_url: {BASE}", "base_url: ''"))
    result = cli("email", "--out", small_day / "x.eml", cwd=small_day)
    assert result.code == 1 and result.out == ""
    assert result.err.count("\n") == 1 and "base_url is not set" in result.err
    assert "--base-url" in result.err and not (small_day / "x.eml").exists()
    assert cli("email", "--base-url", BASE, "--out", small_day / "x.eml", cwd=small_day).code == 0


def test_without_out_or_send_the_message_goes_to_stdout(small_day: Path, cli: Cli) -> None:
    result = cli("email", cwd=small_day)
    assert result.code == 0, result.err
    assert result.out.startswith("Subject:") and "Tiny digest, 20 Mar 2024" in result.out
    assert "Content-Type: multipart/alternative" in result.out


def test_unknown_day_names_the_days_there_are(small_day: Path, cli: Cli) -> None:
    result = cli("email", "2024-03-21", cwd=small_day)
    assert result.code == 1
    assert "no digest for 2024-03-21" in result.err and "2024-03-20" in result.err


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("email: {form: a@example.org}", "unknown setting email.form"),
        ("email: {smtp: {security: tls}}", "email.smtp.security must be one of starttls, ssl"),
        ("email: {smtp: {port: 0}}", "email.smtp.port must be a whole number"),
        ("email: {to: [not-an-address]}", "is not an email address"),
        ('email: {from: "a@example.org\\r\\nBcc: b@example.org"}', "must be one line"),
        ("email: {list_unsubscribe: [ftp://x]}", "must be mailto:ADDRESS or an https:// URL"),
        ("email: [1]", "email must be a mapping"),
    ],
)
def test_email_settings_are_checked(tmp_path: Path, settings: str, message: str) -> None:
    path = tmp_path / "digest.yaml"
    path.write_text(settings + "\n", encoding="utf-8")
    with pytest.raises(DigestError, match=re.escape(message)):
        load_config(path)


def test_packaged_settings_have_the_default_email_section() -> None:
    assert load_config(DEFAULTS_DIR / "digest.yaml").email == EmailConfig()


# --- delivery over SMTP ----------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    """A real SMTP server on 127.0.0.1 that accepts AUTH without TLS (test only)."""
    with smtp_server() as running:
        yield running


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("digest.mail.smtp.RETRY_DELAYS", (0.0, 0.0))


def send(cli: Cli, root: Path, port: int, *args: str) -> CliResult:
    return cli("email", "--send", "--smtp-port", str(port), *args, cwd=root)


def sent_log(root: Path) -> list[dict[str, Any]]:
    path = root / "content" / "sent-log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_send_delivers_both_parts_once(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int]
) -> None:
    handler, port = smtp
    result = send(cli, small_day, port)
    assert result.code == 0, result.err
    assert result.out.startswith("sent 2024-03-20 to reader@example.org, Zoë Ü <zoe@example.org>")
    first, second = handler.received  # one message per reader, each seeing only their address
    assert [e.rcpt_tos for e in (first, second)] == [["reader@example.org"], ["zoe@example.org"]]
    assert first.mail_from == "bot@example.org"
    assert isinstance(first.content, bytes) and isinstance(second.content, bytes)
    message, other = parse(first.content), parse(second.content)
    assert message["To"] == "reader@example.org"
    assert other["To"].addresses[0].display_name == "Zoë Ü"
    assert b"reader@" not in second.content and b"zoe@" not in first.content
    text, html = parts(message)
    assert GREEK in text and GREEK in html
    assert all(link.startswith(("https://", "mailto:")) for link in links(html))
    assert header(message, "Subject").startswith("Tiny digest, 20 Mar 2024: 9 papers")
    assert message["Message-ID"].startswith("<digest.20240320.")
    assert message["Message-ID"] != other["Message-ID"]
    assert message["Date"].datetime.year >= 2025, "a sent message is dated when it is sent"
    logged = sent_log(small_day)
    assert [line["to"] for line in logged] == [["reader@example.org"], ["zoe@example.org"]]
    assert [line["status"] for line in logged] == ["sent", "sent"]
    assert logged[0]["date"] == "2024-03-20"
    assert logged[0]["message_id"] == message["Message-ID"]
    dt.datetime.fromisoformat(logged[0]["sent_at"])

    again = send(cli, small_day, port)
    assert again.code == 0 and "already sent to reader@example.org" in again.out
    assert len(handler.received) == 2 and len(sent_log(small_day)) == 2

    forced = send(cli, small_day, port, "--force")
    assert forced.code == 0, forced.err
    assert len(handler.received) == 4 and len(sent_log(small_day)) == 4


def test_new_recipients_get_a_day_already_sent_to_others(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int]
) -> None:
    handler, port = smtp
    assert send(cli, small_day, port, "--to", "a@example.org").code == 0
    result = send(cli, small_day, port, "--to", "a@example.org", "--to", "b@example.org")
    assert result.code == 0, result.err
    assert [e.rcpt_tos for e in handler.received] == [["a@example.org"], ["b@example.org"]]
    content = handler.received[1].content
    assert isinstance(content, bytes) and parse(content)["To"] == "b@example.org"


def test_refused_connection_is_one_line_and_not_logged(small_day: Path, cli: Cli) -> None:
    result = send(cli, small_day, free_port())
    assert result.code == 1
    assert result.err.startswith("digest: error: cannot connect to SMTP server 127.0.0.1:")
    assert "refused" in result.err.lower() and result.err.count("\n") == 1
    assert sent_log(small_day) == []


def test_rejected_recipient_sends_nothing(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int]
) -> None:
    handler, port = smtp
    handler.refuse = {"zoe@example.org"}
    result = send(cli, small_day, port)
    assert result.code == 1
    assert "recipient refused: zoe@example.org (550 5.1.1 No such user here)" in result.err
    assert result.err.count("\n") == 1
    assert handler.received == [] and sent_log(small_day) == []


def test_transient_failure_is_retried(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int], caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = smtp
    handler.defer_data = 1
    result = send(cli, small_day, port)
    assert result.code == 0, result.err
    assert "451 4.3.0 Try again later; retrying" in result.err
    assert len(handler.received) == 2 and len(sent_log(small_day)) == 2


def test_transient_failure_gives_up_after_the_retries(
    small_day: Path, smtp: tuple[Handler, int]
) -> None:
    handler, port = smtp
    handler.defer_data = 10
    waits: list[float] = []
    message = parse(b"From: bot@example.org\r\nSubject: x\r\n\r\nhi\r\n")
    server = Server("127.0.0.1", port, "none", "", "UNUSED", 5.0)
    with pytest.raises(DigestError, match="still failing after 4 attempts: .*451 4.3.0"):
        deliver(message, ["a@example.org"], server, delays=(1.0, 2.0, 4.0), sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0] and handler.received == []


def test_login_uses_the_password_from_the_environment(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = smtp
    config = small_day / "content" / "digest.yaml"
    config.write_text(
        config.read_text("utf-8").replace("security: none", "security: none\n    user: bot")
    )
    missing = send(cli, small_day, port)
    assert missing.code == 1 and "DIGEST_SMTP_PASSWORD" in missing.err

    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong")
    refused = send(cli, small_day, port)
    assert refused.code == 1 and "login as 'bot' refused: 535" in refused.err
    assert "wrong" not in refused.err and handler.received == [] and sent_log(small_day) == []

    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret")
    accepted = send(cli, small_day, port)
    assert accepted.code == 0, accepted.err
    assert len(handler.received) == 2
    assert "s3cret" not in (small_day / "content" / "sent-log.jsonl").read_text("utf-8")


def test_send_without_recipients_is_an_error(small_day: Path, cli: Cli) -> None:
    config = small_day / "content" / "digest.yaml"
    text = config.read_text("utf-8")
    config.write_text(text.replace('to: [reader@example.org, "Zoë Ü <zoe@example.org>"]', ""))
    result = send(cli, small_day, free_port())
    assert result.code == 1 and "no recipients" in result.err


# --- helpers ---------------------------------------------------------------------------------


def _library_with(papers: list[tuple[str, str]]) -> tuple[Library, LoadedDay]:
    """Build a one-day library in memory, for titles no digest page could hold."""
    date = dt.date(2024, 3, 20)
    items = [Paper(f"{i:012x}", title, abstract) for i, (title, abstract) in enumerate(papers)]
    day = Day(date, "Papers", (Section("other", "Other", tuple(items)),))
    loaded = LoadedDay(day, tuple(Placed("other", p, ()) for p in items))
    records = {p.id: Record(p.id, p.title, p.abstract, (), {}, (date,)) for p in items}
    return Library((loaded,), records, ()), loaded


def _render(library: Library, day: LoadedDay, config: Config, project: Project) -> Any:
    return render_email(
        library, config, day, Templates(project.templates_dir), base_url=BASE,
        sender="bot@example.org", recipients=("a@example.org",),
        date=dt.datetime(2024, 3, 20, tzinfo=dt.UTC),
    )  # fmt: skip


def test_starttls_missing_on_the_server_is_a_clear_error(
    small_day: Path, cli: Cli, smtp: tuple[Handler, int]
) -> None:
    handler, port = smtp
    config = small_day / "content" / "digest.yaml"
    config.write_text(config.read_text("utf-8").replace("security: none", "security: starttls"))
    result = send(cli, small_day, port)
    assert result.code == 1 and result.err.count("\n") == 1
    assert "STARTTLS" in result.err and "email.smtp.security" in result.err
    assert handler.received == [] and sent_log(small_day) == []
