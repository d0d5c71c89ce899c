"""A simulated DMP running in a thread of this process (uvicorn on a free 127.0.0.1 port), for
tests and benchmarks: ``with running_server(config) as base: …`` gives ``http://…/fhir``; and
``wait_until_serving`` for a `segur serve` started as a process."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.server.app import build_app, prepare
from simulator.server.config import ServerConfig
from simulator.server.pg_throwaway import free_port


@contextmanager
def serving(app: object, port: int | None = None, what: str = "the server") -> Iterator[int]:
    """Serve the ASGI ``app`` on 127.0.0.1 (``port``, or a free one) in a thread; yield the port, stop."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def running_server(config: ServerConfig, port: int | None = None) -> Iterator[str]:
    """Prepare the store (schema, seeding, key), serve it, yield the FHIR base URL, stop."""
    store, keys = prepare(config)
    try:
        with serving(build_app(config, store, keys), port) as port:
            yield f"http://127.0.0.1:{port}/fhir"
    finally:
        store.dispose()


def wait_until_serving(proc: subprocess.Popen, port: int, seconds: float) -> str | None:
    """Wait for a `segur serve` process to answer ``/fhir/metadata`` on 127.0.0.1:``port``; None
    when it does, else why not (it exited: its stderr; or no answer in ``seconds``, then killed)."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"segur serve exited: {proc.stderr.read() if proc.stderr else ''}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2).status_code == 200:
                return None
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    return f"segur serve did not answer within {seconds:g} s"
