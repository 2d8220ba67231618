"""The preview server's HTTP side: map requests to files of the current build, stream events.

It serves only files of the built site (``..``, encoded ``%2e%2e``, absolute paths and symlinks
out are refused), with the right content types, and the site's ``404.html`` for missing pages.
The reload snippet is a template injected into HTML responses only, so ``digest build`` output
never has it; a project's own ``_livereload.html`` and ``_error_overlay.html`` override it.
"""

from __future__ import annotations

import errno
import json
import logging
import mimetypes
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from digest.errors import DigestError
from digest.serve.state import SiteState, Snapshot
from digest.site.templates import make_environment, render_template

log = logging.getLogger(__name__)

INTERNAL = "/__digest/"
EVENTS_URL = INTERNAL + "events"
STATUS_URL = INTERNAL + "status"
LIVERELOAD_TEMPLATE = "_livereload.html"
ERROR_PAGE_TEMPLATE = "_error_overlay.html"
KEEPALIVE_SECONDS = 10.0
TEXT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".md": "text/plain",
    ".csv": "text/csv",
}
BINARY_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
}


class Refused(Exception):
    """A request path that must not be served (traversal, NUL, backslash...)."""

    def __init__(self, status: HTTPStatus):
        super().__init__(status.phrase)
        self.status = status


def site_parts(target: str) -> tuple[str, ...]:
    """Split a request target into site path segments, refusing anything that could escape.

    The last segment is empty for a directory URL (``/days/``). Checks run on the decoded path,
    so ``%2e%2e`` and ``%2f`` are caught like ``..`` and ``/``.
    """
    raw = path_of(target) if target.startswith("/") else None
    if raw is None or "\\" in raw or "\x00" in raw:
        raise Refused(HTTPStatus.BAD_REQUEST if raw is None else HTTPStatus.FORBIDDEN)
    try:
        path = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST) from None
    parts = tuple(path.split("/")[1:])
    if any(c in path for c in ("\\", "\x00")) or any(p in (".", "..") for p in parts):
        raise Refused(HTTPStatus.FORBIDDEN)
    if any(p == "" for p in parts[:-1]) or any(":" in p and p[:1].isalpha() for p in parts[:1]):
        raise Refused(HTTPStatus.FORBIDDEN)  # //etc/passwd, /C:/...: absolute paths
    return parts


def path_of(target: str) -> str:
    """Return the path of a request target (never parsed as a URL: ``//x/y`` is not a host)."""
    return target.split("#", 1)[0].split("?", 1)[0]


def query_of(target: str) -> str:
    """Return the query string of a request target, without the ``?``."""
    before_fragment = target.split("#", 1)[0]
    return before_fragment.split("?", 1)[1] if "?" in before_fragment else ""


@dataclass(frozen=True)
class Found:
    path: Path


@dataclass(frozen=True)
class Redirect:
    location: str


def locate(root: Path, parts: tuple[str, ...], url_path: str) -> Found | Redirect | None:
    """Find the file for ``parts`` under ``root``; None when missing or outside it (symlinks)."""
    if any(p.startswith(".") for p in parts if p):
        return None  # the manifest and other dotfiles are not part of the site
    candidate = root.joinpath(*[p for p in parts if p])
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root.resolve()):
        return None
    if real.is_dir():
        if parts and parts[-1] != "":
            return Redirect(url_path + "/")
        return locate(root, (*parts[:-1], "index.html"), url_path) if parts else None
    return Found(real) if real.is_file() else None


def content_type(path: Path, head: bytes) -> str:
    """Return the Content-Type of a site file; Atom feeds and other XML are told apart."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        kind = "application/atom+xml" if b"<feed" in head[:1024] else "application/xml"
        return f"{kind}; charset=utf-8"
    if suffix in TEXT_TYPES:
        return f"{TEXT_TYPES[suffix]}; charset=utf-8"
    guessed = BINARY_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
    return guessed or "application/octet-stream"


class Snippets:
    """Renders the reload snippet and the no-site-yet error page (the project's override first)."""

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.env = make_environment(dirs)

    def livereload(self, build_id: str | None) -> bytes:
        html = render_template(self.env, LIVERELOAD_TEMPLATE, build=build_id, events=EVENTS_URL)
        return html.encode("utf-8")

    def error_page(self, problem: dict[str, object] | None) -> bytes:
        html = render_template(
            self.env, ERROR_PAGE_TEMPLATE, error=problem, build=None, events=EVENTS_URL
        )
        return html.encode("utf-8")


def inject(html: bytes, snippet: bytes) -> bytes:
    """Put the snippet before the last ``</body>`` (or at the end when there is none)."""
    at = max(html.rfind(b"</body>"), html.rfind(b"</BODY>"))
    return html + snippet if at < 0 else html[:at] + snippet + html[at:]


class PreviewServer(ThreadingHTTPServer):
    """A threaded HTTP server over a SiteState; one thread per request, none outlive the process."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: SiteState, dirs: Sequence[Path]):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.snippets = Snippets(dirs)
        super().__init__(address, PreviewHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up; report anything else once."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class PreviewHandler(BaseHTTPRequestHandler):
    """GET and HEAD for site files, the event stream and the status endpoint."""

    server: PreviewServer
    server_version = "digest-serve"
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._handle(body=True)

    def do_HEAD(self) -> None:
        self._handle(body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _handle(self, *, body: bool) -> None:
        try:
            if self.path.startswith(INTERNAL):
                self._internal(body)
            else:
                self._site(body)
        except ConnectionError:
            pass

    def _internal(self, body: bool) -> None:
        path = path_of(self.path)
        if path == EVENTS_URL and body:
            self._events()
        elif path in (EVENTS_URL, STATUS_URL):
            data = json.dumps(self.server.state.status(), sort_keys=True).encode("utf-8")
            self._send(HTTPStatus.OK, data, "application/json; charset=utf-8", body=body)
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _site(self, body: bool) -> None:
        try:
            parts = site_parts(self.path)
        except Refused as refused:
            self.send_error(refused.status)
            return
        with self.server.state.reading() as snapshot:
            if snapshot is None:
                status, data, kind = self._no_site()
            else:
                url_path = path_of(self.path)
                found = locate(snapshot.root, parts, url_path)
                if isinstance(found, Redirect):
                    self._redirect(found.location, body)
                    return
                status, data, kind = self._file(snapshot, found)
        self._send(status, data, kind, body=body)

    def _file(self, snapshot: Snapshot, found: Found | None) -> tuple[HTTPStatus, bytes, str]:
        """Read the file (or the site's 404 page) fully while the snapshot is pinned."""
        status, path = HTTPStatus.OK, found.path if found else None
        if path is None:
            status, path = HTTPStatus.NOT_FOUND, snapshot.root / "404.html"
            if not path.is_file():
                return status, b"Not found\n", "text/plain; charset=utf-8"
        data = path.read_bytes()
        kind = content_type(path, data)
        if kind.startswith("text/html"):
            data = inject(data, self.server.snippets.livereload(snapshot.build_id))
        return status, data, kind

    def _no_site(self) -> tuple[HTTPStatus, bytes, str]:
        """No build succeeded yet: say why, and reload by itself once one does."""
        problem = self.server.state.status()["error"]
        page = self.server.snippets.error_page(problem if isinstance(problem, dict) else None)
        return HTTPStatus.SERVICE_UNAVAILABLE, page, "text/html; charset=utf-8"

    def _redirect(self, location: str, body: bool) -> None:
        query = query_of(self.path)
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location + (f"?{query}" if query else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, data: bytes, kind: str, *, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        html = kind.startswith("text/html")
        self.send_header("Cache-Control", "no-store" if html else "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _events(self) -> None:
        """Stream the state (build id, error) to a tab: now, then on every change."""
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"retry: 1000\n\n")
        seen = -1
        while not state.closed:
            seen, status = state.wait_change(seen, KEEPALIVE_SECONDS)
            if status is None:
                self.wfile.write(b": keep-alive\n\n")
            else:
                message = json.dumps(status, sort_keys=True)
                self.wfile.write(f"event: state\ndata: {message}\n\n".encode())
            self.wfile.flush()


def bind(host: str, port: int, state: SiteState, dirs: Sequence[Path]) -> PreviewServer:
    """Listen on host:port, or explain in one line why not (port in use, unknown host)."""
    try:
        return PreviewServer((host, port), state, dirs)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DigestError(
                f"port {port} on {host} is already in use; stop the other server "
                "or choose another port with --port"
            ) from None
        reason = exc.strerror or str(exc)
        raise DigestError(f"cannot listen on {host}:{port}: {reason}") from None
