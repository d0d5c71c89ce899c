"""A simulated DMP running in a thread of this process (uvicorn on a free 127.0.0.1 port), for
tests and benchmarks: ``with running_server(config) as base: …`` gives ``http://…/fhir``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.server.app import build_app, prepare
from simulator.server.config import ServerConfig
from simulator.server.pg_throwaway import free_port


@contextmanager
def running_server(config: ServerConfig, port: int | None = None) -> Iterator[str]:
    """Prepare the store (schema, seeding, key), serve it, yield the FHIR base URL, stop."""
    import uvicorn

    store, keys = prepare(config)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(config, store, keys), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.dispose()
