"""Runs in worker processes behind a bounded queue, with cancellation and a result cache.

At most ``workers`` runs at once, each in its own process (its own process group, so that a
cancel also stops the helpers it started); at most ``max_waiting`` more wait, each knowing its
place. A run whose page stopped asking about it for ``stale_s`` seconds (the page was closed)
is cancelled. Results are kept on disk under ``cache_dir/<key>/`` where the key hashes
(scenario, levers, seed, scale, replications): asking again costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from simulator.app.planner_run import RESULTS, SUMMARY

FORGET_S = 3600.0  # a finished job's state is forgotten an hour after its page last asked
PRELOAD = ["simulator.app.planner_run", "simulator.engine", "reports.figures", "reports.html"]


class QueueFull(Exception):
    """More runs are waiting than the queue holds."""


def cache_key(scenario: str, levers: dict[str, Any], seed: int, scale: float, replications: int) -> str:
    """The key of a run's results: the same inputs give the same key (and the same tables)."""
    blob = json.dumps({"scenario": scenario, "levers": levers, "seed": seed, "scale": scale,
                       "replications": replications}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass
class Job:
    """One run asked by one page."""

    id: str
    key: str
    spec: dict[str, Any]
    state: str = "queued"  # queued | running | done | failed | cancelled
    progress: float = 0.0
    error: str = ""
    cached: bool = False
    files_ready: bool = False
    table_ready: bool = False  # the summary holds the tables (figures still being drawn)
    last_seen: float = field(default_factory=time.monotonic)
    proc: Any = None
    conn: Any = None

    def public(self, position: int | None) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "state": self.state, "progress": round(self.progress, 3),
                "position": position, "error": self.error, "cached": self.cached, "files_ready": self.files_ready,
                "table_ready": self.table_ready or self.state == "done"}


class JobQueue:
    """The bounded pool of run processes (see the module docstring)."""

    def __init__(self, cache_dir: Path, workers: int = 2, max_waiting: int = 8, stale_s: float = 20.0,
                 start_method: str = "forkserver"):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.workers = max(1, int(workers))
        self.max_waiting = max_waiting
        self.stale_s = stale_s
        self.ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self.ctx.set_forkserver_preload(PRELOAD)
        self.jobs: dict[str, Job] = {}
        self.waiting: deque[str] = deque()
        self.running: set[str] = set()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="segur-app-jobs", daemon=True)
        self._thread.start()

    # -- the page's side ----------------------------------------------------------------
    def folder(self, key: str) -> Path:
        return self.cache_dir / key

    def summary_path(self, key: str) -> Path | None:
        p = self.folder(key) / SUMMARY
        return p if p.exists() else None

    def results_path(self, key: str) -> Path | None:
        p = self.folder(key) / RESULTS
        return p if (p / "manifest.json").exists() else None

    def submit(self, key: str, spec: dict[str, Any]) -> Job:
        """A new job for ``key``: done at once when cached, else queued (QueueFull when full)."""
        job = Job(uuid.uuid4().hex[:16], key, spec)
        with self.lock:
            if self.summary_path(key) is not None:
                job.state, job.progress, job.cached = "done", 1.0, True
                job.files_ready = self.results_path(key) is not None
            elif len(self.waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self.waiting)} runs are already waiting; try again in a minute")
            else:
                self.waiting.append(job.id)
            self.jobs[job.id] = job
        return job

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's state (and a sign of life from its page), or None if unknown."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            job.last_seen = time.monotonic()
            if job.state == "done" and not job.files_ready:
                job.files_ready = self.results_path(job.key) is not None
            pos = self.waiting.index(job_id) + 1 if job_id in self.waiting else None
            return job.public(pos)

    def cancel(self, job_id: str) -> bool:
        """Stop a waiting or running job; False when unknown or already finished."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job.state not in ("queued", "running"):
                return False
            self._cancel(job)
            return True

    def close(self) -> None:
        """Cancel everything and stop the dispatcher."""
        self._stop.set()
        with self.lock:
            for job in list(self.jobs.values()):
                if job.state in ("queued", "running"):
                    self._cancel(job)
        self._thread.join(timeout=5)

    # -- the dispatcher -----------------------------------------------------------------
    def _cancel(self, job: Job) -> None:  # with the lock held
        if job.id in self.waiting:
            self.waiting.remove(job.id)
        if job.proc is not None and job.proc.is_alive():
            _kill_group(job.proc)
        self.running.discard(job.id)
        job.state = "cancelled"

    def _start(self, job: Job) -> None:  # with the lock held
        from simulator.app.planner_run import child

        parent, child_end = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=child, args=(job.spec, str(self.folder(job.key)), child_end),
                                name=f"segur-run-{job.id}")
        proc.start()
        child_end.close()
        job.proc, job.conn, job.state = proc, parent, "running"
        self.running.add(job.id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                now = time.monotonic()
                for job in list(self.jobs.values()):
                    if job.state in ("queued", "running") and now - job.last_seen > self.stale_s:
                        self._cancel(job)  # its page is gone
                    elif job.id not in self.running and now - job.last_seen > FORGET_S:
                        del self.jobs[job.id]  # finished long ago: its results stay in the cache
                while self.waiting and len(self.running) < self.workers:
                    self._start(self.jobs[self.waiting.popleft()])
                conns = {self.jobs[j].conn: self.jobs[j] for j in self.running}
            ready = wait(list(conns), timeout=0.1) if conns else []
            if not conns:
                time.sleep(0.1)
            with self.lock:
                for conn in ready:
                    job = conns[conn]
                    if job.state != "running":
                        continue
                    self._read(job)
                self._reap()

    def _read(self, job: Job) -> None:  # with the lock held
        try:
            while job.conn.poll():
                kind, value = job.conn.recv()
                if kind == "progress":
                    job.progress = float(value)
                elif kind == "table":
                    job.table_ready = True
                elif kind == "done":
                    job.progress, job.state = 1.0, "done"
                elif kind == "files":
                    job.files_ready = True
                elif kind == "failed":
                    job.state, job.error = "failed", str(value)
        except (EOFError, OSError):
            pass

    def _reap(self) -> None:  # with the lock held
        for job_id in list(self.running):
            job = self.jobs[job_id]
            if job.proc is not None and not job.proc.is_alive():
                self._read(job)
                job.proc.join(timeout=0)
                if job.state == "running":
                    job.state, job.error = "failed", f"the run process ended (exit code {job.proc.exitcode})"
                self.running.discard(job_id)
                job.conn.close()


def _kill_group(proc: Any) -> None:
    """Stop a run process and every process it started (its own process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill() if sig == signal.SIGKILL else proc.terminate()
            except Exception:  # already gone
                pass
        proc.join(timeout=2)
        if not proc.is_alive():
            return
