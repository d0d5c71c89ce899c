"""Threads for the day's independent work: NumPy releases the GIL in its loops (random fills,
gathers, bincounts…), so independent sectors' draws and independent batches' verdicts can run
on two cores at once.

A task only touches its own state (one sector's arrays and random stream, one batch); whatever
depends on order (bookings, shared random streams, hooks) is done by the caller, in a fixed
order, on its own thread. A run's results therefore do not depend on the number of threads
or on their timing: ``SEGUR_THREADS=1`` gives the same tables, without any thread. Runs use
two threads only at large scales (``threads_for_run``), where batches are big enough to pay.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from simulator.core.errors import UsageError

T = TypeVar("T")


def available_cores() -> int:
    """CPU cores this process may use (affinity-aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)

#: environment variable that sets the number of threads of a run, the caller's included
#: (default: ``threads_for_run``)
THREADS_ENV = "SEGUR_THREADS"
#: more threads do not help: the run's order-dependent work stays on one thread
MAX_DEFAULT_THREADS = 2


#: below this scale a day's batches are too small for a second thread to pay for its hand-offs
#: (measured with benchmarks/national.py: two threads 12% slower at scale 0.1, 25–35% faster at 1)
MIN_SCALE_FOR_THREADS = 0.5


def _threads_from_env() -> int | None:
    env = os.environ.get(THREADS_ENV, "").strip()
    if not env:
        return None
    if not env.isdigit() or int(env) < 1:
        raise UsageError(f"{THREADS_ENV}: must be a positive integer (got {env!r})")
    return int(env)


def threads_for_run(scale: float) -> int:
    """Threads of one run at ``scale``: ``$SEGUR_THREADS`` if set; else one below
    ``MIN_SCALE_FOR_THREADS`` or inside a worker process of an ensemble (its cores are the
    ensemble's); else the available cores, at most ``MAX_DEFAULT_THREADS``."""
    env = _threads_from_env()
    if env is not None:
        return env
    if scale < MIN_SCALE_FOR_THREADS or multiprocessing.current_process().name != "MainProcess":
        return 1
    return max(1, min(MAX_DEFAULT_THREADS, available_cores()))


class Task(Generic[T]):
    """One submitted call: run by a helper thread, or by the first caller of ``result``."""

    def __init__(self, workers: Workers, fn: Callable[..., T], args: tuple[Any, ...]):
        self._workers = workers
        self._fn = fn
        self._args = args
        self._claimed = False
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def claim(self) -> bool:
        """Take the task to run it (False if someone already has)."""
        with self._workers.lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def run(self) -> None:
        """Run the (claimed) task and keep its value or its exception."""
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # re-raised by result()
            self._error = exc
        finally:
            self._fn = self._args = None  # type: ignore[assignment]
            self._done.set()

    def run_if_free(self) -> None:
        if self.claim():
            self.run()

    def result(self) -> T:
        """The task's value: run it here if nobody has started it; while a helper runs it,
        run other waiting tasks here rather than wait idle."""
        if self.claim():
            self.run()
        while not self._done.is_set():
            other = self._workers.steal()
            if other is None:
                self._done.wait()
            else:
                other.run()
        if self._error is not None:
            raise self._error
        return self._value


class Deferred(Generic[T]):
    """A call run by the caller when its result is asked (one thread: no lock, no event; a
    small run submits tens of thousands of them)."""

    __slots__ = ("_fn", "_args", "_value", "_error")

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]):
        self._fn: Callable[..., T] | None = fn
        self._args = args
        self._value: Any = None
        self._error: BaseException | None = None

    def result(self) -> T:
        if self._fn is not None:
            fn, self._fn = self._fn, None
            try:
                self._value = fn(*self._args)
            except BaseException as exc:  # re-raised by every call of result(), as Task does
                self._error = exc
            self._args = ()
        if self._error is not None:
            raise self._error
        return self._value


class Workers:
    """Helper threads that run submitted tasks alongside the caller's thread: ``threads`` in
    all counting the caller (one thread: tasks run in the caller, when their result is asked)."""

    def __init__(self, threads: int):
        self.threads = max(1, int(threads))
        self.lock = threading.Lock()
        self._waiting: list[Task[Any]] = []
        self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="segur") if self.threads > 1 else None

    def submit(self, fn: Callable[..., T], *args: Any) -> Task[T] | Deferred[T]:
        """Schedule ``fn(*args)``; ``.result()`` gives its value (or raises its exception)."""
        if self._pool is None:
            return Deferred(fn, args)
        task = Task(self, fn, args)
        with self.lock:
            self._waiting.append(task)
        self._pool.submit(self._help, task)
        return task

    def _help(self, task: Task[Any]) -> None:
        with self.lock:
            if task in self._waiting:
                self._waiting.remove(task)
        task.run_if_free()

    def steal(self) -> Task[Any] | None:
        """The last submitted task nobody has started yet, claimed for the caller (or None)."""
        with self.lock:
            while self._waiting:
                task = self._waiting.pop()
                if not task._claimed:
                    task._claimed = True
                    return task
        return None

    def close(self) -> None:
        """Stop the helper threads (tasks already submitted finish first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


#: the inline pool: what services use until a simulation gives them its workers
INLINE = Workers(1)
