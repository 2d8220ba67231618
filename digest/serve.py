"""``digest serve``: build the site, serve it on localhost, rebuild on change, reload open tabs.

Never a half-built site: builds alternate between two output folders (``.digest-serve/a`` and
``/b``), each rebuilt incrementally, and the server switches to a folder only after a build into it
succeeded. Every request takes the current folder once (under a lock) and reads only from it; a
build waits until no request still reads the folder it is about to overwrite. A failed build
changes nothing that is served: the error goes to the terminal and, through the reload channel
(server-sent events), to an overlay in open tabs. The reload snippet is a template injected into
HTML responses only, so ``digest build`` output never has it.
"""

from __future__ import annotations

import errno
import json
import logging
import mimetypes
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from digest.build import build, read_manifest
from digest.errors import DigestError
from digest.project import Project
from digest.render import DEFAULT_TEMPLATES, make_environment
from digest.watch import Change, Debouncer, Watcher

log = logging.getLogger(__name__)

SERVE_DIR = ".digest-serve"
"""Serve-only build folders inside the project; it ignores itself in git (a ``*`` .gitignore)."""
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


# ---------------------------------------------------------------------------------------------
# What is served: the current complete build, its readers, and the last build's error


@dataclass(frozen=True)
class Snapshot:
    """One complete build: the folder it is in and the id open tabs compare to theirs."""

    root: Path
    build_id: str


@dataclass(frozen=True)
class Problem:
    """Why the last build failed, as the terminal and the browser overlay show it."""

    message: str
    path: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, exc: BaseException) -> Problem:
        """Describe a build exception; a DigestError keeps its file and line."""
        if isinstance(exc, DigestError):
            return cls(exc.message, exc.path, exc.line)
        return cls(f"internal error: {type(exc).__name__}: {exc}")

    def where(self) -> str:
        """Return ``path:line`` (or just the path), empty when unknown."""
        if self.path and self.line is not None:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def as_json(self) -> dict[str, object]:
        return {"message": self.message, "path": self.path, "line": self.line}


class SiteState:
    """The snapshot requests read from, who is reading which folder, and change notification."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._current: Snapshot | None = None
        self._problem: Problem | None = None
        self._readers: Counter[Path] = Counter()
        self._seq = 0
        self.closed = False

    @property
    def current(self) -> Snapshot | None:
        with self._cond:
            return self._current

    @contextmanager
    def reading(self) -> Iterator[Snapshot | None]:
        """Pin the current snapshot for one request, so no build overwrites it meanwhile."""
        with self._cond:
            snapshot = self._current
            if snapshot is not None:
                self._readers[snapshot.root] += 1
        try:
            yield snapshot
        finally:
            if snapshot is not None:
                with self._cond:
                    self._readers[snapshot.root] -= 1
                    self._cond.notify_all()

    def wait_unused(self, root: Path) -> None:
        """Block until no request reads ``root`` (requests pin a folder only while reading)."""
        with self._cond:
            while self._readers[root] > 0:
                self._cond.wait(0.5)

    def publish(self, snapshot: Snapshot) -> None:
        """Serve a new complete build and clear any error."""
        with self._cond:
            self._current = snapshot
            self._problem = None
            self._changed()

    def fail(self, problem: Problem) -> None:
        """Record a failed build; the current snapshot stays."""
        with self._cond:
            self._problem = problem
            self._changed()

    def _changed(self) -> None:
        self._seq += 1
        self._cond.notify_all()

    def status(self) -> dict[str, object]:
        """Return what open tabs need: the build id to compare with, and the error if any."""
        with self._cond:
            return self._status()

    def _status(self) -> dict[str, object]:
        build_id = self._current.build_id if self._current else None
        problem = self._problem.as_json() if self._problem else None
        return {"build": build_id, "error": problem}

    def wait_change(self, seen: int, timeout: float) -> tuple[int, dict[str, object] | None]:
        """Wait until the state differs from version ``seen``; return (version, status or None)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq == seen and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return seen, None
                self._cond.wait(left)
            return self._seq, (None if self.closed else self._status())

    def close(self) -> None:
        """End every waiting event stream (shutdown)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


# ---------------------------------------------------------------------------------------------
# Building into alternating folders


Say = Callable[[str], None]


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Rebuilder:
    """Builds the project into the folder not being served, then switches to it."""

    def __init__(self, root: Path, state: SiteState, say: Say = _say, warn: Say = _warn):
        self.root = root
        self.state = state
        self.say = say
        self.warn = warn
        self.base = root / SERVE_DIR
        self.folders = (self.base / "a", self.base / "b")
        self.session = secrets.token_hex(4)
        self.builds = 0
        self.own_writes: dict[Path, int | None] = {}
        """Digest pages the last build's ingest wrote, with their mtimes: not a user's change."""

    def needed(self, changes: Sequence[Change]) -> list[Change]:
        """Drop the events of digest pages the last build's own ingest wrote (unchanged since)."""
        own, self.own_writes = self.own_writes, {}
        return [
            c
            for c in changes
            if Path(c.path) not in own or own[Path(c.path)] != _mtime(Path(c.path))
        ]

    def rebuild(self, changes: Sequence[Change] = ()) -> bool:
        """Build once; on success serve the result, on failure keep the last good site."""
        current = self.state.current
        target = self.folders[1] if current and current.root == self.folders[0] else self.folders[0]
        self._prepare()
        self.state.wait_unused(target)
        started = time.perf_counter()
        try:
            report = build(Project.find(self.root), out=target)
        except Exception as exc:  # any failure keeps the last good site; say why
            self._report_failure(exc)
            return False
        changed = _changed_files(current.root if current else None, target)
        self.builds += 1
        build_id = current.build_id if current and not changed else f"{self.session}-{self.builds}"
        self.state.publish(Snapshot(target, build_id))
        for day in report.ingested:
            self.say(f"ingested {_shown(day.path, self.root)}: {day.added} new papers")
        self.own_writes = {d.path: _mtime(d.path) for d in report.ingested if d.written}
        self.say(_summary(time.perf_counter() - started, changed, changes, self.root))
        return True

    def _prepare(self) -> None:
        """Create the serve folder with a .gitignore that ignores it, so git never sees builds."""
        if not (self.base / ".gitignore").is_file():
            self.base.mkdir(parents=True, exist_ok=True)
            (self.base / ".gitignore").write_text("# digest serve's builds\n*\n", encoding="utf-8")

    def _report_failure(self, exc: Exception) -> None:
        problem = Problem.of(exc)
        if problem.path:
            problem = replace(problem, path=_shown(Path(problem.path), self.root))
        if not isinstance(exc, DigestError):
            self.warn("".join(traceback.format_exception(exc)).rstrip())
        where = problem.where()
        self.warn(f"digest: error: {where + ': ' if where else ''}{problem.message}")
        if self.state.current is not None:
            self.warn("digest: still serving the last good build; fix the file to rebuild")
        self.state.fail(problem)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _changed_files(old: Path | None, new: Path) -> int:
    """Count files that differ between two builds, from their manifests (path -> hash)."""
    new_files = _manifest(new)
    if old is None:
        return len(new_files)
    old_files = _manifest(old)
    return sum(old_files.get(k) != new_files.get(k) for k in old_files.keys() | new_files.keys())


def _manifest(folder: Path) -> dict[str, str]:
    """Return a build's files (path -> hash), as its manifest records them."""
    files = read_manifest(folder).get("files", {})
    return files if isinstance(files, dict) else {}


def _summary(seconds: float, changed: int, changes: Sequence[Change], root: Path) -> str:
    what = f"{changed} files changed" if changed else "no changes"
    paths = sorted({_shown(Path(c.path), root) for c in changes})
    cause = f" ({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''})" if paths else ""
    return f"built in {seconds:.2f} s: {what}{cause}"


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Mapping a request to a file


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


# ---------------------------------------------------------------------------------------------
# HTTP


class Snippets:
    """Renders the reload snippet and the no-site-yet error page from the packaged templates."""

    def __init__(self) -> None:
        self.env = make_environment([DEFAULT_TEMPLATES])

    def livereload(self, build_id: str | None) -> bytes:
        template = self.env.get_template(LIVERELOAD_TEMPLATE)
        return template.render(build=build_id, events=EVENTS_URL).encode("utf-8")

    def error_page(self, problem: dict[str, object] | None) -> bytes:
        template = self.env.get_template(ERROR_PAGE_TEMPLATE)
        return template.render(error=problem, build=None, events=EVENTS_URL).encode("utf-8")


def inject(html: bytes, snippet: bytes) -> bytes:
    """Put the snippet before the last ``</body>`` (or at the end when there is none)."""
    at = max(html.rfind(b"</body>"), html.rfind(b"</BODY>"))
    return html + snippet if at < 0 else html[:at] + snippet + html[at:]


class PreviewServer(ThreadingHTTPServer):
    """A threaded HTTP server over a SiteState; one thread per request, none outlive the process."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: SiteState):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.snippets = Snippets()
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


def bind(host: str, port: int, state: SiteState) -> PreviewServer:
    """Listen on host:port, or explain in one line why not (port in use, unknown host)."""
    try:
        return PreviewServer((host, port), state)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DigestError(
                f"port {port} on {host} is already in use; stop the other server "
                "or choose another port with --port"
            ) from None
        reason = exc.strerror or str(exc)
        raise DigestError(f"cannot listen on {host}:{port}: {reason}") from None


# ---------------------------------------------------------------------------------------------
# The whole loop


class Preview:
    """Build, serve, watch and rebuild one project; ``start`` then ``stop`` (or use ``with``)."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        poll: bool = False,
        say: Say = _say,
        warn: Say = _warn,
    ):
        project = Project.find(root)
        self.state = SiteState()
        self.rebuilder = Rebuilder(project.root, self.state, say, warn)
        self.debouncer = Debouncer()
        self.server = bind(host, port, self.state)
        self.watcher = Watcher(project.root, self.debouncer.add, poll=poll)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        """Watch, build once, then serve and rebuild on change (in daemon threads)."""
        self.watcher.start()
        self.rebuilder.rebuild()
        self._spawn(self._serve, "digest-serve-http")
        self._spawn(self._rebuild_loop, "digest-serve-build")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve(self) -> None:
        self.server.serve_forever(poll_interval=0.1)

    def _rebuild_loop(self) -> None:
        while (changes := self.debouncer.wait()) is not None:
            if needed := self.rebuilder.needed(changes):
                self.rebuilder.rebuild(needed)

    def stop(self) -> None:
        """Stop everything within a fraction of a second; a build in progress is abandoned."""
        self.debouncer.close()
        self.state.close()
        if any(t.name == "digest-serve-http" for t in self._threads):
            self.server.shutdown()
        self.server.server_close()
        self.watcher.stop(timeout=0.3)
        for thread in self._threads:
            thread.join(timeout=0.2)

    def wait(self) -> None:
        """Block the calling (main) thread until Ctrl-C, staying responsive to signals."""
        while True:
            time.sleep(3600)

    def __enter__(self) -> Preview:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (``kill``, ``docker stop``) like Ctrl-C while serving, then restore it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
