"""`segur app`: serve the planner and teaching page on http://127.0.0.1:8050 (works offline)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from simulator.core.errors import UsageError

HELP = "the web page: what-if runs (planner) and the demo territory (teaching)"
DESCRIPTION = ("Serve the web page: a planner view (levers of a library scenario, runs at scale 0.01, "
               "targets, pin and compare, downloads) and a teaching view (the demo territory day by day, "
               "a patient's Mon espace santé, FHIR). Works offline: every script and style is served here.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur app`."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--workers", type=int, default=2, help="runs at once, each in its own process (default 2)")
    p.add_argument("--queue", type=int, default=8, metavar="N", help="runs that may wait for a worker (default 8)")
    p.add_argument("--replications", type=int, default=None, metavar="N",
                   help="the form's default replications (default 8: enough for a p5–p95 band; at most 10)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="where run results and the demo territory are kept (default ~/.cache/segur-testbed/app)")


def handle(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port: must be between 1 and 65535 (got {args.port})")
    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers: must be between 1 and 64 (got {args.workers})")
    if not 0 <= args.queue <= 1000:
        raise UsageError(f"--queue: must be between 0 and 1000 (got {args.queue})")
    # the page's modules load when the page starts, not with every command (start-up time)
    from simulator.app.levers import DEFAULT_REPLICATIONS, MAX_REPLICATIONS

    replications = DEFAULT_REPLICATIONS if args.replications is None else args.replications
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise UsageError(f"--replications: must be between 1 and {MAX_REPLICATIONS} (got {replications})")
    with socket.socket() as probe:  # a clear line instead of uvicorn's error when the port is taken
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            raise UsageError(f"--port: cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another --port") from None
    # loaded when the command runs: `segur --help` and the other commands start without it
    import uvicorn

    from simulator.app import create_app

    app = create_app(cache_dir=args.cache, workers=args.workers, max_waiting=args.queue, replications=replications)
    print(f"segur app: http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
