"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records messages, for the email tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass
class Handler:
    """An aiosmtpd handler that records messages and can refuse or defer on request."""

    refuse: set[str] = field(default_factory=set)
    defer_data: int = 0
    received: list[Envelope] = field(default_factory=list)
    rcpt_calls: int = 0

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.rcpt_calls += 1
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.defer_data:
            self.defer_data -= 1
            return "451 4.3.0 Try again later"
        self.received.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"s3cret")
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server() -> Iterator[tuple[Handler, int]]:
    """Run a server that accepts AUTH without TLS (test only); yield its handler and port."""
    handler = Handler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=check_login,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
