"""``digest serve``: build, serve on localhost, watch, rebuild on change, reload open tabs."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.config import template_dirs
from digest.project import Project
from digest.serve.http import bind
from digest.serve.rebuild import Rebuilder, Say, print_err, print_out
from digest.serve.state import SiteState
from digest.serve.watch import Debouncer, Watcher


class Preview:
    """Build, serve, watch and rebuild one project; ``start`` then ``stop`` (or use ``with``)."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        poll: bool = False,
        say: Say = print_out,
        warn: Say = print_err,
    ):
        project = Project.find(root)
        self.state = SiteState()
        self.rebuilder = Rebuilder(project.root, self.state, say, warn)
        self.debouncer = Debouncer()
        self.server = bind(host, port, self.state, template_dirs(project.templates_dir))
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
        self.rebuilder.process.stop()
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
