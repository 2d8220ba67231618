"""The ``digest`` command: parse arguments, call one function per command, report errors cleanly.

``parser`` declares every command and option, ``commands`` holds one short ``run_*`` function
per command (each wires the project's settings to one call of a stage package and prints what
it returns; no command implements anything itself), ``terminal`` checks arguments and prints
digest's warnings. This package may import every other; nothing imports it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from digest.cli.commands import UsageError
from digest.cli.parser import build_parser, command_paths
from digest.cli.terminal import messages
from digest.errors import DigestError
from digest.fsutil import end_without_freeing, rare_collections

__all__ = ["command_paths", "main", "run"]


def main(argv: Sequence[str] | None = None, *, exits: bool = False) -> int:
    """Run the command line; user mistakes print one line and exit non-zero, never a traceback.

    ``exits``: the process ends with ``os._exit`` once the command returns (see :func:`run`).
    """
    with messages(), rare_collections():
        return _main(argv, exits)


def _main(argv: Sequence[str] | None, exits: bool) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if exits and not args.resident:  # the preview server rebuilds for hours: it frees
            end_without_freeing()
        return int(args.run(args))
    except UsageError as exc:
        print(f"digest: error: {exc}", file=sys.stderr)
        return 2
    except DigestError as exc:
        print(f"digest: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the system said no (permissions, a full disk, a name too long)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"digest: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The console entry point: ``main``, then exit without tearing the interpreter down.

    Freeing every object of a large build at exit took 35-75 ms of a 2.5 s build; all files
    are closed by then, so output is flushed and the process ends at once (as mypy does).
    What a command leaves for the exit (:func:`digest.fsutil.leave_for_exit`) is not freed
    before it either. An exception other than a user mistake still ends in a traceback, as
    with ``main``.

    Under a profiler or a tracer (``python -m cProfile``, pyinstrument, coverage) the process
    exits as usual instead: they write their report at exit, and ``os._exit`` would lose it.
    """
    if _watched():
        sys.exit(main())
    code = main(exits=True)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    logging.shutdown()
    os._exit(code)


def _watched() -> bool:
    """Whether a profiler or tracer hooks this interpreter (it reports when the process exits)."""
    return sys.getprofile() is not None or sys.gettrace() is not None
