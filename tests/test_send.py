"""'Never twice' when the server's reply is lost: a tiny SMTP peer at the socket level.

aiosmtpd always replies; these peers accept a message and then drop the connection, say
nothing, garble the reply or refuse QUIT, as real servers and networks sometimes do.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.test_email import BASE, DUMP, EMAIL_SETTINGS, sent_log

Cli = Callable[..., CliResult]


@dataclass
class Peer:
    """An SMTP server that behaves as told after each message's final '.'."""

    after_data: str = "250 OK"
    """The reply to the final '.': '' says nothing and closes, 'hang' says nothing at all."""
    quit_reply: str = "221 Bye"
    drop_after: set[int] = field(default_factory=set)
    """Numbers (1, 2, ...) of the messages after which the connection drops, unanswered."""
    messages: list[bytes] = field(default_factory=list)
    sock: socket.socket = field(default_factory=socket.socket)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        reader = conn.makefile("rb")
        conn.sendall(b"220 peer ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 peer\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += reader.readline()
                self.messages.append(data)
                if self.after_data == "" or len(self.messages) in self.drop_after:
                    return  # the connection drops: the sender never hears back
                if self.after_data == "hang":
                    reader.readline()  # silent until the sender gives up
                    return
                conn.sendall(self.after_data.encode() + b"\r\n")
            elif verb == b"QUIT":
                conn.sendall(self.quit_reply.encode() + b"\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    server.sock.bind(("127.0.0.1", 0))
    server.sock.listen(5)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.sock.close()


@pytest.fixture
def small_day(project: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """test_email's one-day project (2024-03-20) with its email settings."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (project / "content" / "raw" / "2024-03-20.txt").write_text(DUMP, encoding="utf-8")
    config = project / "content" / "digest.yaml"
    text = config.read_text(encoding="utf-8").replace('base_url: ""', f"base_url: {BASE}")
    config.write_text(text + EMAIL_SETTINGS, encoding="utf-8")
    assert cli("ingest", cwd=project).code == 0
    return project


def send(cli: Cli, root: Path, peer: Peer, *args: str) -> CliResult:
    return cli("email", "--send", "--smtp-port", str(peer.port), *args, cwd=root)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("digest.mail.smtp.RETRY_DELAYS", (0.0, 0.0))


def one_reader(root: Path, timeout: int = 30) -> None:
    config = root / "content" / "digest.yaml"
    text = config.read_text("utf-8")
    text = text.replace('to: [reader@example.org, "Zoë Ü <zoe@example.org>"]', "to: [a@x.org]")
    config.write_text(text.replace("security: none", f"security: none\n    timeout: {timeout}"))


@pytest.mark.parametrize("after_data", ["", "hang", "2x0 garbled"])
def test_a_message_whose_reply_is_lost_is_possibly_sent_and_never_sent_twice(
    small_day: Path, cli: Cli, peer: Peer, after_data: str
) -> None:
    one_reader(small_day, timeout=1)
    peer.after_data = after_data
    result = send(cli, small_day, peer)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "after the message to a@x.org was sent, before the server confirmed it" in result.err
    assert "possibly delivered, logged as 'possibly sent'" in result.err
    assert len(peer.messages) == 1  # not retried
    assert [(e["to"], e["status"]) for e in sent_log(small_day)] == [(["a@x.org"], "possibly sent")]

    again = send(cli, small_day, peer)
    assert again.code == 0, again.err
    assert "2024-03-20 possibly sent to a@x.org at " in again.out
    assert "--force sends again" in again.out
    assert len(peer.messages) == 1  # the next run did not deliver it again

    peer.after_data = "250 OK"
    forced = send(cli, small_day, peer, "--force")
    assert forced.code == 0, forced.err
    assert len(peer.messages) == 2
    assert sent_log(small_day)[-1]["status"] == "sent"


@pytest.mark.parametrize("quit_reply", ["421 closing", "500 what?", "221 Bye"])
def test_an_accepted_message_is_sent_whatever_quit_gets(
    small_day: Path, cli: Cli, peer: Peer, quit_reply: str
) -> None:
    """A 421 to QUIT made it retry (sending twice); a 500 said 'nothing was sent'."""
    one_reader(small_day)
    peer.quit_reply = quit_reply
    result = send(cli, small_day, peer)
    assert result.code == 0, result.err
    assert result.out.startswith("sent 2024-03-20 to a@x.org")
    assert len(peer.messages) == 1
    assert [e["status"] for e in sent_log(small_day)] == ["sent"]


def test_a_lost_reply_midway_through_a_list_logs_each_reader_as_it_stands(
    small_day: Path, cli: Cli, peer: Peer
) -> None:
    config = small_day / "content" / "digest.yaml"
    text = config.read_text("utf-8")
    three = "to: [a@x.org, b@x.org, c@x.org]"
    config.write_text(text.replace('to: [reader@example.org, "Zoë Ü <zoe@example.org>"]', three))
    peer.drop_after = {2}
    result = send(cli, small_day, peer)
    assert result.code == 1
    assert "message to b@x.org was sent, before the server confirmed it" in result.err
    assert "1 other recipient(s) not sent to yet: run again to send to them" in result.err
    logged = [(e["to"][0], e["status"]) for e in sent_log(small_day)]
    assert logged == [("a@x.org", "sent"), ("b@x.org", "possibly sent")]
    rest = send(cli, small_day, peer)
    assert rest.code == 0, rest.err
    assert "sent 2024-03-20 to c@x.org" in rest.out
    to_lines = [re.findall(rb"(?m)^To: (.*?)\r$", m) for m in peer.messages]
    assert to_lines == [[b"a@x.org"], [b"b@x.org"], [b"c@x.org"]]


def test_a_preview_needs_no_sender_only_sending_does(project: Path, cli: Cli) -> None:
    """`digest email --out` in a new project refused for lack of a sender."""
    (project / "content" / "raw" / "2024-03-20.txt").write_text(DUMP, encoding="utf-8")
    assert cli("ingest", cwd=project).code == 0
    settings = project / "content" / "digest.yaml"
    settings.write_text(settings.read_text().split("\nemail:")[0] + "\n")
    result = cli("email", "--out", "x.eml", "--base-url", "https://x.org/", cwd=project)
    assert result.code == 0, result.err
    assert b"\r\nFrom:" not in (project / "x.eml").read_bytes()
    sending = cli("email", "--send", "--to", "a@x.org", "--base-url", "https://x.org/", cwd=project)
    assert sending.code == 1 and "no sender: set email.from or pass --from" in sending.err
