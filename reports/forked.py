"""Render independent figures on two cores: half in a forked child, half here.

Figure rendering is most of a report's time and each figure is independent, so on a machine
with two or more cores a forked child draws every other figure while this process draws the
rest (about half the wall time). Fork is only used where it is safe and cheap: a POSIX system,
at least two usable cores, no other thread running, not inside a daemonic worker. Anywhere
else, or if the child fails, the jobs run here one after the other (so a real error is raised
here, with its traceback, as in a serial run).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from typing import TypeVar

from simulator.core.parallel import available_cores

T = TypeVar("T")


def can_fork() -> bool:
    """Whether forking a helper is safe and worth it here."""
    return (hasattr(os, "fork") and available_cores() >= 2 and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def run_split(jobs: list[Callable[[], T]]) -> list[T]:
    """Results of ``jobs`` in order; the odd-numbered ones run in a forked child when possible."""
    if len(jobs) < 2 or not can_fork():
        return [job() for job in jobs]
    theirs = list(range(1, len(jobs), 2))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render its share, send it back pickled, leave without cleanup
        code = 1
        try:
            os.close(read_fd)
            data = pickle.dumps([jobs[i]() for i in theirs], protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    results: dict[int, T] = {}
    try:
        for i in range(0, len(jobs), 2):
            results[i] = jobs[i]()
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
    if status == 0 and data:
        results.update(zip(theirs, pickle.loads(data), strict=True))
    else:  # the child failed: do its share here, where an error is reported properly
        results.update((i, jobs[i]()) for i in theirs)
    return [results[i] for i in range(len(jobs))]
