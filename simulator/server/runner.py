"""Start the simulated DMP under uvicorn: prepare the store (schema, seeding, key) once in this
process, then serve — in this process, or in several worker processes sharing the store."""

from __future__ import annotations

import os
import socket
import sys

from simulator.core.errors import UsageError
from simulator.server.config import ServerConfig


def check_port(host: str, port: int) -> None:
    """UsageError when ``host:port`` cannot be bound (in use, or not an address of this machine)."""
    if not 0 < port < 65536:
        raise UsageError(f"--port: must be between 1 and 65535 (got {port})")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          log_level: str = "warning") -> int:
    """Serve until interrupted; returns the exit code."""
    # Starlette, SQLAlchemy and the FHIR side load when the server starts: `segur --help` starts without them
    import uvicorn

    from simulator.server.app import build_app, prepare

    check_port(host, port)
    if not 1 <= workers <= 64:
        raise UsageError(f"--workers: must be between 1 and 64 (got {workers})")
    store, keys = prepare(config)
    shown = "[::1]" if host == "::1" else host
    print(f"segur serve: simulated DMP at http://{shown}:{port}/fhir — store {config.db_url.split('@')[-1]}, "
          f"signing key {config.key_path}, {workers} worker(s). Ctrl-C to stop.", file=sys.stderr, flush=True)
    common = {"host": host, "port": port, "log_level": log_level, "access_log": False,
              "timeout_graceful_shutdown": 5, "limit_concurrency": 1000}
    if workers == 1:
        uvicorn.run(build_app(config, store, keys), **common)
    else:
        store.dispose()
        os.environ.update(config.to_env())
        uvicorn.run("simulator.server.app:app_from_env", factory=True, workers=workers, **common)
    return 0
