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
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from pathlib import Path

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


def deliver(
    message: EmailMessage,
    recipients: Sequence[str],
    server: Server,
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send ``message`` to every recipient or to none, retrying transient failures."""
    password = _password(server)
    sender = envelope(str(message["From"]))
    payload = message.as_bytes(policy=SMTP)
    targets = [envelope(r) for r in recipients]
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            _transaction(server, password, sender, targets, payload)
            return
        except Transient as exc:
            if delay is None:
                raise DigestError(
                    f"SMTP server {server} still failing after {attempt} attempts: {exc}"
                ) from None
            log.warning("SMTP %s: %s; retrying in %g s", server, exc, delay)
            sleep(delay)


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


def _transaction(
    server: Server, password: str | None, sender: str, targets: list[str], payload: bytes
) -> None:
    """Run one SMTP session; refuse before DATA if any recipient is refused."""
    try:
        with _connect(server) as smtp:
            smtp.ehlo_or_helo_if_needed()
            if server.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if password is not None:
                smtp.login(server.user, password)
            _check(*smtp.mail(sender), f"sender {sender} refused")
            refused = {t: smtp.rcpt(t) for t in targets}
            refused = {t: r for t, r in refused.items() if r[0] not in (250, 251)}
            if refused:
                smtp.rset()
                _refused(refused)
            _check(*smtp.data(payload), f"SMTP server {server} refused the message")
    except smtplib.SMTPAuthenticationError as exc:
        _check(exc.smtp_code, exc.smtp_error, f"login as {server.user!r} refused")
    except smtplib.SMTPNotSupportedError as exc:
        raise DigestError(f"SMTP server {server}: {exc} (check email.smtp.security)") from None
    except smtplib.SMTPResponseException as exc:
        _check(exc.smtp_code, exc.smtp_error, f"SMTP server {server} refused the message")
    except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
        raise Transient(f"connection lost: {exc or type(exc).__name__}") from None
    except smtplib.SMTPException as exc:
        raise DigestError(f"SMTP server {server}: {exc}; nothing was sent") from None
    except ssl.SSLError as exc:
        raise DigestError(
            f"TLS with SMTP server {server} failed: {exc.reason} (check email.smtp.security)"
        ) from None
    except OSError as exc:
        raise DigestError(
            f"cannot connect to SMTP server {server}: {exc.strerror or exc} "
            "(check email.smtp.host and port, or --smtp-host/--smtp-port)"
        ) from None


def _connect(server: Server) -> smtplib.SMTP:
    if server.security == "ssl":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    return smtplib.SMTP(server.host, server.port, timeout=server.timeout)


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


class SentLog:
    """JSON lines of what was sent: ``{"date", "to", "message_id", "subject", "sent_at"}``."""

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
                    )
                except (ValueError, KeyError, TypeError):
                    raise DigestError("damaged sent-log line", self.path, number) from None

    def already(self, date: dt.date, recipients: Sequence[str]) -> list[tuple[str, str]]:
        """Return (recipient, when) for the recipients that already got ``date``."""
        when: dict[str, str] = {}
        for sent in self.entries():
            if sent.date == date:
                when.update((envelope(a).lower(), sent.sent_at) for a in sent.to)
        return [(r, when[envelope(r).lower()]) for r in recipients if envelope(r).lower() in when]

    def unsent(self, date: dt.date, recipients: Sequence[str]) -> tuple[str, ...]:
        """Return the recipients that have not been sent ``date`` yet."""
        done = {r for r, _ in self.already(date, recipients)}
        return tuple(r for r in recipients if r not in done)

    def record(self, date: dt.date, recipients: Sequence[str], message: EmailMessage) -> None:
        """Append one line, flushed to disk before the command reports success."""
        item = {
            "date": date.isoformat(),
            "to": [envelope(r) for r in recipients],
            "message_id": str(message["Message-ID"]),
            "subject": str(message["Subject"]),
            "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
