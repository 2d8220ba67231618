"""Peak memory of a whole process tree (a command and every process it forks), on Linux.

``/usr/bin/time`` reports the largest single process, which hides forked workers. This samples
the tree every few milliseconds and sums each process's proportional set size (PSS, from
``/proc/PID/smaps_rollup``): pages shared by forked workers are counted once in all, not once
per worker, so the figure is what the tree really holds. Run it apart from timed runs: sampling
costs a little CPU.

    python benchmarks/treemem.py -- hugo --quiet -d public
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

PERIOD = 0.005


def children(pid: int) -> list[int]:
    """Return the direct children of a process (every thread's children); none once it has
    gone (a worker can end between being listed and being read: that ended a sampler, and
    the peak it had seen so far was reported)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """Return a process and all its descendants."""
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        stack += children(current)
    return pids


def pss_kb(pid: int) -> int:
    """Return a process's proportional set size in kB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def peak_tree_mb(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Run ``command``; return (peak PSS of its process tree in MB, its exit status)."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(pss_kb(p) for p in tree(process.pid)))
            time.sleep(PERIOD)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        sys.stderr.write(errors.decode(errors="replace")[-2000:])
    return round(peak / 1024, 1), process.returncode


if __name__ == "__main__":
    args = sys.argv[1:]
    args = args[1:] if args[:1] == ["--"] else args
    mb, code = peak_tree_mb(args)
    print(f"peak PSS of the process tree: {mb} MB")
    sys.exit(code)
