"""Deliver an email over SMTP, all recipients or none, and remember what went to whom.

Permanent failures (connection refused, login refused, a recipient refused) stop at once with
one clear line; transient ones (4xx replies, dropped connections, timeouts) are retried with
backoff. The password is read from an environment variable at the last moment and never
stored, logged or shown. The sent log (JSON lines, ``email.sent_log``) keeps a day from going
to the same address twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from digest.config import SmtpConfig
from digest.errors import DigestError

log = logging.getLogger(__name__)

RETRY_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0)
"""Seconds to wait before each retry after a transient failure."""


@dataclass(frozen=True)
class Server:
    """Where and how to connect; ``password_env`` names the variable holding the password."""

    host: str
    port: int
    security: str
    user: str
    password_env: str
    timeout: float

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Transient(Exception):
    """A failure worth retrying (4xx reply, dropped connection, timeout)."""


class Lost(Transient):
    """The connection dropped or timed out (rather than the server replying 4xx)."""


def server_settings(config: SmtpConfig, host: str | None, port: int | None) -> Server:
    """Apply the command-line overrides to the configured server."""
    if port is not None and not 1 <= port <= 65535:
        raise DigestError(f"--smtp-port must be between 1 and 65535, got {port}")
    return Server(
        host or config.host,
        port or config.effective_port(),
        config.security,
        config.user,
        config.password_env,
        float(config.timeout),
    )


def envelope(address: str) -> str:
    """Return the bare address of ``Name <addr>`` for the SMTP envelope."""
    return parseaddr(address)[1] or address


Addressed = tuple[str, EmailMessage]
"""A recipient and the message addressed to them alone."""
OnSent = Callable[[str, EmailMessage, str], None]
"""Called with (recipient, message, SENT or POSSIBLY_SENT) as soon as that is known."""
SENT = "sent"
POSSIBLY_SENT = "possibly sent"


class _Unconfirmed(Exception):
    """The message went out whole, but the server's reply to it never came."""


def deliver(
    message: EmailMessage,
    recipients: Sequence[str],
    server: Server,
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send one ``message`` to each recipient (see :func:`deliver_each`)."""
    deliver_each([(r, message) for r in recipients], server, delays=delays, sleep=sleep)


def deliver_each(
    messages: Sequence[Addressed],
    server: Server,
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    on_sent: OnSent | None = None,
) -> None:
    """Send each recipient their own message over one session, retrying transient failures.

    Every recipient is checked first (RCPT, then RSET): one refused, nothing is sent. Each
    accepted message is reported to ``on_sent`` at once, so a failure later leaves an exact
    record. A message whose final "." went out but whose reply was lost may have been
    accepted: it is reported as possibly sent, and the command stops there.
    """
    password = _password(server)
    pending = list(messages)
    checked = False
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            with _session(server, password) as smtp:
                if not checked:
                    _check_recipients(smtp, server, pending)
                    checked = True
                while pending:
                    recipient, message = pending[0]
                    _send_one(smtp, server, recipient, message)
                    pending.pop(0)
                    if on_sent is not None:
                        on_sent(recipient, message, SENT)
            return
        except _Unconfirmed as exc:
            recipient, message = pending[0]
            if on_sent is not None:
                on_sent(recipient, message, POSSIBLY_SENT)
            raise DigestError(_unconfirmed(server, recipient, str(exc), len(pending) - 1)) from None
        except Transient as exc:
            if delay is None:
                raise DigestError(
                    f"SMTP server {server} still failing after {attempt} attempts: {exc}"
                    + _left(messages, pending)
                ) from None
            log.warning("SMTP %s: %s; retrying in %g s", server, exc, delay)
            sleep(delay)
        except DigestError as exc:
            raise DigestError(exc.message + _left(messages, pending)) from None


def _unconfirmed(server: Server, recipient: str, why: str, others: int) -> str:
    rest = f"; {others} other recipient(s) not sent to yet: run again to send to them"
    return (
        f"SMTP server {server}: {why} after the message to {recipient} was sent, before the "
        "server confirmed it: possibly delivered, logged as 'possibly sent' and not sent "
        f"again without --force{rest if others else ''}"
    )


def _left(messages: Sequence[Addressed], pending: Sequence[Addressed]) -> str:
    """Say who got the message before a failure, when someone did."""
    done = len(messages) - len(pending)
    if not done:
        return ""
    return f" (sent to {done} of {len(messages)} recipients first; they are logged)"


def _password(server: Server) -> str | None:
    if not server.user:
        return None
    password = os.environ.get(server.password_env)
    if not password:
        raise DigestError(
            f"email.smtp.user is {server.user!r} but the environment variable "
            f"{server.password_env} (the SMTP password) is not set"
        )
    return password


@contextmanager
def _session(server: Server, password: str | None) -> Iterator[_Tracked]:
    """Open an SMTP session; turn connection failures into Transient or DigestError.

    QUIT is sent when the block ends, and its reply ignored: once a message is accepted, a
    refused or lost QUIT changes nothing about it.
    """
    try:
        smtp = _connect(server)
    except OSError as exc:
        raise DigestError(
            f"cannot connect to SMTP server {server}: {exc.strerror or exc} "
            "(check email.smtp.host and port, or --smtp-host/--smtp-port)"
        ) from None
    try:
        with _errors(server):
            smtp.ehlo_or_helo_if_needed()
            if server.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if password is not None:
                smtp.login(server.user, password)
        yield smtp
    finally:
        _quietly_quit(smtp)


def _quietly_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _check_recipients(smtp: _Tracked, server: Server, messages: Sequence[Addressed]) -> None:
    """Ask the server about every recipient before sending to any; then start over (RSET)."""
    with _errors(server):
        sender = envelope(str(messages[0][1]["From"]))
        _check(*smtp.mail(sender), f"sender {sender} refused")
        replies = {r: smtp.rcpt(envelope(r)) for r, _ in messages}
        refused = {envelope(r): reply for r, reply in replies.items() if reply[0] not in (250, 251)}
        smtp.rset()
        if refused:
            _refused(refused)


def _send_one(smtp: _Tracked, server: Server, recipient: str, message: EmailMessage) -> None:
    """Send one message to one recipient; raise _Unconfirmed if its reply is lost."""
    sender, target = envelope(str(message["From"])), envelope(recipient)
    smtp.payload_sent = False
    try:
        with _errors(server):
            _check(*smtp.mail(sender), f"sender {sender} refused")
            code, reply = smtp.rcpt(target)
            if code not in (250, 251):
                smtp.rset()
                _refused({target: (code, reply)})
            code, reply = smtp.data(message.as_bytes(policy=SMTP))
    except Lost:
        if smtp.payload_sent:
            raise _Unconfirmed("the connection was lost") from None
        raise
    if not 200 <= code < 600:
        raise _Unconfirmed(f"the reply was garbled ({reply[:40]!r})")
    _check(code, reply, f"SMTP server {server} refused the message to {target}")


@contextmanager
def _errors(server: Server) -> Iterator[None]:
    """Turn smtplib's exceptions into Transient (worth a retry) or a DigestError."""
    try:
        yield
    except smtplib.SMTPAuthenticationError as exc:
        _check(exc.smtp_code, exc.smtp_error, f"login as {server.user!r} refused")
    except smtplib.SMTPNotSupportedError as exc:
        raise DigestError(f"SMTP server {server}: {exc} (check email.smtp.security)") from None
    except smtplib.SMTPResponseException as exc:
        _check(exc.smtp_code, exc.smtp_error, f"SMTP server {server} refused the message")
    except (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionError) as exc:
        raise Lost(f"connection lost: {exc or type(exc).__name__}") from None
    except smtplib.SMTPException as exc:
        raise DigestError(f"SMTP server {server}: {exc}; nothing was sent") from None
    except ssl.SSLError as exc:
        raise DigestError(
            f"TLS with SMTP server {server} failed: {exc.reason} (check email.smtp.security)"
        ) from None
    except OSError as exc:
        raise Lost(f"connection lost: {exc.strerror or exc}") from None


class _Tracked(smtplib.SMTP):
    """An SMTP client that knows whether a message's data, final "." included, went out.

    After the server's 354 ("start mail input") the next thing sent is the whole message;
    once it is sent, a lost reply means the server may well have accepted it.
    """

    payload_sent = False
    _after_354 = False

    def getreply(self) -> tuple[int, bytes]:
        code, text = super().getreply()
        self._after_354 = code == 354
        return code, text

    def send(self, s: Any) -> None:
        super().send(s)
        if self._after_354:
            self.payload_sent, self._after_354 = True, False


class _TrackedSSL(_Tracked, smtplib.SMTP_SSL):
    """The same over implicit TLS (port 465)."""


def _connect(server: Server) -> _Tracked:
    if server.security == "ssl":
        context = ssl.create_default_context()
        return _TrackedSSL(server.host, server.port, timeout=server.timeout, context=context)
    return _Tracked(server.host, server.port, timeout=server.timeout)


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}"


def _check(code: int, text: bytes | str, what: str) -> None:
    """Return on success; raise Transient for 4xx, DigestError for anything else."""
    if 200 <= code < 300:
        return
    if 400 <= code < 500:
        raise Transient(f"{what}: {_reply(code, text)}")
    raise DigestError(f"{what}: {_reply(code, text)}; nothing was sent")


def _refused(refused: dict[str, tuple[int, bytes]]) -> None:
    replies = "; ".join(f"{t} ({_reply(*r)})" for t, r in refused.items())
    if all(400 <= code < 500 for code, _ in refused.values()):
        raise Transient(f"recipient deferred: {replies}")
    raise DigestError(f"recipient refused: {replies}; nothing was sent")


# --- the sent log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One line of the sent log."""

    date: dt.date
    to: tuple[str, ...]
    message_id: str
    sent_at: str
    status: str = SENT
    """SENT, or POSSIBLY_SENT when the server's reply to the message was lost."""


class SentLog:
    """JSON lines of what was sent, one per recipient.

    Each line: ``{"date", "to", "message_id", "subject", "sent_at", "status"}``; ``to`` is a
    list (of one address; older logs have one line per send, listing them all).
    """

    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> Iterator[Sent]:
        """Read the log; a damaged line is an error naming it (it guards against resending)."""
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    yield Sent(
                        dt.date.fromisoformat(item["date"]),
                        tuple(item["to"]),
                        str(item["message_id"]),
                        str(item["sent_at"]),
                        str(item.get("status", SENT)),
                    )
                except (ValueError, KeyError, TypeError):
                    raise DigestError("damaged sent-log line", self.path, number) from None

    def already(self, date: dt.date, recipients: Sequence[str]) -> list[tuple[str, Sent]]:
        """Return (recipient, log line) for the recipients that already got ``date``.

        A message possibly sent counts: sending it again would risk sending it twice.
        """
        found: dict[str, Sent] = {}
        for sent in self.entries():
            if sent.date == date:
                found.update((envelope(a).lower(), sent) for a in sent.to)
        return [(r, found[envelope(r).lower()]) for r in recipients if envelope(r).lower() in found]

    def unsent(self, date: dt.date, recipients: Sequence[str]) -> tuple[str, ...]:
        """Return the recipients that have not been sent ``date`` yet."""
        done = {r for r, _ in self.already(date, recipients)}
        return tuple(r for r in recipients if r not in done)

    def record(self, date: dt.date, recipient: str, message: EmailMessage, status: str) -> None:
        """Append one line, flushed to disk before the next message goes out."""
        item = {
            "date": date.isoformat(),
            "to": [envelope(recipient)],
            "message_id": str(message["Message-ID"]),
            "subject": str(message["Subject"]),
            "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "status": status,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
