"""Builds for the preview, each in a process of its own, so a rebuild uses both cores.

The preview server has threads (HTTP, file watching), and forking a threaded process is
unsafe, so a build run inside it had to stay on one core. Each rebuild now runs in a child
started from a fork server (a single-threaded process that only starts children), where the
build forks its own two workers as ``digest build`` does. The child sends back what the
terminal shows: the build's report without the parsed pages, or the problem that stopped it.
Stopping the server stops a build in progress at once.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from digest.build.run import BuildReport, build
from digest.errors import DigestError
from digest.project import Project
from digest.serve.state import Problem

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["digest.build.run", "digest.build.full"])


@dataclass(frozen=True)
class Failed:
    """Why a build in the child failed: the problem, and a traceback for an internal error."""

    problem: Problem
    traceback: str = ""


class BuildError(Exception):
    """A build failed in the child process; ``failed`` says how, as the parent shows it."""

    def __init__(self, failed: Failed):
        super().__init__(failed.problem.message)
        self.failed = failed


class BuildProcess:
    """Run one build at a time in a child process and wait for its report."""

    def __init__(self) -> None:
        self._child: Any = None
        self.last_pid: int | None = None
        """The process the last build ran in."""

    def build(self, root: Path, out: Path) -> BuildReport:
        """Build ``root`` into ``out`` in a child; raise BuildError if the build failed."""
        receive, send = _CONTEXT.Pipe(duplex=False)
        # Not daemonic: a daemonic process may not start the build's own workers.
        child = _CONTEXT.Process(target=_run, args=(root, out, send))
        self._child = child
        child.start()
        self.last_pid = child.pid
        send.close()
        try:
            result = receive.recv()
        except EOFError:  # the child died (stopped, or killed by the system)
            result = Failed(Problem("the build process ended before it finished"))
        finally:
            receive.close()
            child.join()
            self._child = None
        if isinstance(result, Failed):
            raise BuildError(result)
        assert isinstance(result, BuildReport)
        return result

    def stop(self) -> None:
        """End a build in progress (the server is stopping)."""
        child = self._child
        if child is not None and child.is_alive():
            child.terminate()


def _run(root: Path, out: Path, send: Connection) -> None:
    """In the child: build, and send back the report or what went wrong."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        report = build(Project.find(root), out=out)
        slim = tuple(replace(day, page=None) for day in report.ingested)
        send.send(replace(report, ingested=slim))
    except DigestError as exc:
        send.send(Failed(Problem.of(exc)))
    except Exception as exc:  # reported with its traceback; the server keeps running
        send.send(Failed(Problem.of(exc), "".join(traceback.format_exception(exc))))
    finally:
        send.close()
