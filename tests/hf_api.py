"""A real HTTP server on 127.0.0.1 that answers like Hugging Face's daily-papers API.

It serves the recorded responses in ``tests/data/hf/`` (``GET /api/daily_papers?date=D`` gets
``D.json``; a day without a file gets ``[]``), and, per day, scripted answers first (a 429, then
the recording, say). Every request is logged with its headers, so tests can count them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).resolve().parent / "data" / "hf"


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, headers and a body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def date(self) -> str:
        return self.query.get("date", [""])[0]


@dataclass
class RecordedApi:
    """The server's state: scripted answers per day, and the requests it got."""

    url: str = ""
    script: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def dates(self) -> list[str]:
        return [r.date for r in self.requests]

    def answer(self, request: Request) -> Answer:
        self.requests.append(request)
        if request.path != "/api/daily_papers":
            return Answer(404, b'{"error":"Not Found"}')
        queued = self.script.get(request.date)
        if queued:
            return queued.pop(0)
        recorded = RECORDED / f"{request.date}.json"
        return Answer(200, recorded.read_bytes() if recorded.is_file() else b"[]")


def _handler(api: RecordedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = Request(parts.path, parse_qs(parts.query), dict(self.headers.items()))
            answer = api.answer(request)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def recorded_api() -> Iterator[RecordedApi]:
    """Run the server on a free loopback port for the duration of a test."""
    api = RecordedApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
