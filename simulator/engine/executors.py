"""One executor interface for replications and sweeps: local processes or Dask distributed.

``open_executor`` yields a ``concurrent.futures.Executor`` (a ProcessPoolExecutor, or a Dask
``Client.get_executor()``), so the rest of the code never knows which one runs its tasks;
``run_tasks`` submits tasks, retries a failed one once and yields outcomes as they finish.
Results never depend on the executor: each task carries its own seed.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from simulator.core.errors import UsageError
from simulator.core.parallel import available_cores

EXECUTORS = ("local", "dask")
CONNECT_TIMEOUT_S = 10.0


# -- command-line options shared by run, sweep and sensitivity ---------------------------
def add_executor_options(p: argparse.ArgumentParser) -> None:
    """--executor, --dask and --workers: where replications run."""
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="local: processes on this machine (default); dask: a local Dask cluster, or the scheduler given by --dask")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on the Dask scheduler at ADDRESS (e.g. tcp://scheduler:8786); implies --executor dask")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes on this machine (default: its cores); not with --dask")


def check_executor_options(args: argparse.Namespace) -> None:
    """Reject contradictory or out-of-range executor options with one clear line."""
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be at least 1 (got {args.workers})")
    if args.dask is not None:
        if args.executor == "local":
            raise UsageError("--dask: cannot be combined with --executor local")
        if args.workers is not None:
            raise UsageError("--workers: not used with --dask (the cluster's workers are set where it was started)")
        if not args.dask.strip():
            raise UsageError("--dask: give the scheduler address, e.g. tcp://scheduler:8786")


@dataclass(frozen=True)
class ExecutorSpec:
    """Where tasks run: ``kind`` local or dask; ``address`` of a Dask scheduler (None: local cluster)."""

    kind: str = "local"
    workers: int | None = None
    address: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExecutorSpec:
        kind = "dask" if args.dask is not None else (args.executor or "local")
        return cls(kind=kind, workers=args.workers, address=args.dask)


@dataclass
class Pool:
    """An open executor: ``submit(fn, *args, **kw)`` returns a concurrent.futures.Future."""

    executor: Executor
    description: str
    workers: int
    _renew: Callable[[], Executor] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        try:
            return self.executor.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            # a worker process died (killed, out of memory): start a fresh pool and go on;
            # the tasks it held fail with BrokenProcessPool and are retried like any failure
            if self._renew is None:
                raise
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._renew()
            return self.executor.submit(fn, *args, **kwargs)


@contextmanager
def open_executor(spec: ExecutorSpec | str = "local", workers: int | None = None,
                  address: str | None = None, max_tasks: int | None = None,
                  connect_timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Pool]:
    """Open local processes, a local Dask cluster, or a client of a Dask scheduler.

    ``max_tasks`` caps the local worker count (no idle processes for 3 replications).
    """
    if isinstance(spec, str):
        spec = ExecutorSpec(kind=spec, workers=workers, address=address)
    if spec.kind not in EXECUTORS:
        raise UsageError(f"executor '{spec.kind}': allowed: {', '.join(EXECUTORS)}")
    n = spec.workers or available_cores()
    if max_tasks is not None:
        n = max(1, min(n, max_tasks))
    if spec.kind == "local":
        with _local_pool(n) as pool:
            yield pool
    else:
        with _dask_pool(spec.address, n, connect_timeout) as pool:
            yield pool


def _end_with_parent(parent: int) -> None:
    """Worker initializer: the worker gets SIGKILL when its parent dies, however it dies
    (Linux prctl PR_SET_PDEATHSIG); a parent already gone ends it at once."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends us
    if os.getppid() != parent:
        os._exit(1)


def terminate_workers(executor: Executor) -> None:
    """End a process pool's workers now (an interruption): running tasks are abandoned."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():  # pragma: no cover - SIGTERM ignored
            proc.kill()
            proc.join(timeout=5)


@contextmanager
def _local_pool(n: int) -> Iterator[Pool]:
    # spawn, not fork: the same start on every OS, no fork of a threaded parent (rich's
    # refresh thread), and workers that import the code afresh, as Dask workers do
    ctx = multiprocessing.get_context("spawn")

    def make() -> Executor:
        return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_end_with_parent,
                                   initargs=(os.getpid(),))

    pool = Pool(make(), f"{n} local process{'es' if n > 1 else ''}", n, _renew=make)
    try:
        yield pool
    except BaseException:  # an error or an interruption (SIGINT, SIGTERM): no waiting for tasks
        terminate_workers(pool.executor)
        raise
    finally:
        pool.executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_pool(address: str | None, n: int, connect_timeout: float) -> Iterator[Pool]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UsageError("the dask executor needs dask[distributed]: pip install 'dask[distributed]'") from None
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        description = f"a local Dask cluster of {n} process{'es' if n > 1 else ''}"
    else:
        try:
            client = Client(address, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--dask {address}: cannot reach the Dask scheduler ({type(exc).__name__}: {exc})") from None
        n = max(1, sum(client.nthreads().values()))
        description = f"the Dask cluster at {address} ({n} worker thread{'s' if n > 1 else ''})"
    try:
        # pure=False: a resubmitted task runs again instead of returning the failed result
        yield Pool(client.get_executor(pure=False), description, n)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- running tasks ----------------------------------------------------------------------
@dataclass
class Outcome:
    """How one task ended: its ``value``, or ``error`` (one line) after ``attempts`` tries."""

    key: Any
    value: Any = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_error(exc: BaseException) -> str:
    """An exception as one line: ``Type: message``."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"


def run_tasks(pool: Pool, fn: Callable[..., Any], tasks: Iterable[tuple[Any, tuple]],
              retries: int = 1, in_flight: int | None = None) -> Iterator[Outcome]:
    """Run ``fn(*args, attempt=k)`` for each ``(key, args)``; yield Outcomes as tasks finish.

    A failed task is submitted again up to ``retries`` times, then reported with its error;
    none is ever dropped. At most ``in_flight`` tasks (default 4 per worker) are submitted at
    a time, so a long design does not flood the executor. The order of outcomes depends on
    the executor, so callers index them by key.
    """
    limit = in_flight or 4 * pool.workers
    todo = iter(tasks)
    pending: dict[Future, tuple[Any, tuple, int]] = {}

    def feed() -> None:
        while len(pending) < limit:
            item = next(todo, None)
            if item is None:
                return
            key, args = item
            pending[pool.submit(fn, *args, attempt=1)] = (key, args, 1)

    try:
        feed()
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                key, args, attempt = pending.pop(fut)
                try:
                    value = fut.result()
                except Exception as exc:  # a task's failure is reported, never raised
                    if attempt <= retries:
                        pending[pool.submit(fn, *args, attempt=attempt + 1)] = (key, args, attempt + 1)
                    else:
                        yield Outcome(key, error=describe_error(exc), attempts=attempt)
                    continue
                yield Outcome(key, value=value, attempts=attempt)
            feed()
    finally:
        for fut in pending:
            fut.cancel()
