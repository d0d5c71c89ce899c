"""`segur serve`: the simulated DMP as a live FHIR R4 endpoint (PDSm / MHD ITI-65, 67, 68) on
127.0.0.1, backed by a SQLite file (default: in the per-user data folder) or PostgreSQL, seeded
from a scenario's world."""

from __future__ import annotations

import argparse

from simulator.core.errors import UsageError
from simulator.server.config import (
    DEFAULT_DB,
    DEFAULT_MAX_BODY,
    DEFAULT_SCENARIO,
    KEY_ENV,
    ServerConfig,
)

DATA_HELP = ("the server's data folder: its SQLite store and signing key "
             "(default $XDG_DATA_HOME/segur-testbed, else ~/.local/share/segur-testbed)")


def add_store_options(p: argparse.ArgumentParser, db_help: str, key_help: str) -> None:
    """--data, --db and --key: where the server's store and signing key are (serve, token, emit)."""
    p.add_argument("--data", default=None, metavar="DIR", help=DATA_HELP)
    p.add_argument("--db", default=None, help=db_help)
    p.add_argument("--key", default=None, help=key_help)


HELP = "run the simulated DMP as a FHIR endpoint (ITI-65 / 67 / 68)"
DESCRIPTION = ("Serve the simulated DMP's document-sharing API (FHIR R4, PDSm / MHD) at "
               "http://HOST:PORT/fhir. The store is created and seeded from the scenario on first "
               "start; tokens come from `segur token`. See docs/server.md.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur serve`."""
    add_store_options(p, f"SQLite file or postgresql://user@host/db (default DATA/{DEFAULT_DB})",
                      f"signing key file (default: beside the SQLite file, DB.key; or ${KEY_ENV}); generated when absent")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--workers", type=int, default=1, help="server processes sharing the store (default 1)")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO,
                   help=f"scenario whose small world seeds a new store (default {DEFAULT_SCENARIO})")
    p.add_argument("--no-seed", action="store_true", help="start with an empty store (no patients)")
    p.add_argument("--patients", type=int, default=None, help="patients of the seeding world (as segur demo)")
    p.add_argument("--days", type=int, default=None, help="days of the seeding world (as segur demo)")
    p.add_argument("--seed", type=int, default=None, help="seed of the seeding world")
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest request body in bytes")
    p.add_argument("--sync", choices=("normal", "full"), default="normal",
                   help="SQLite durability: normal survives a crash of the server, full a power cut too")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.cli.commands.run import check_seed
    from simulator.server.runner import serve

    check_seed(args.seed)
    if args.max_body < 1024:
        raise UsageError(f"--max-body: at least 1024 bytes (got {args.max_body})")
    config = ServerConfig.build(args.db, args.key, args.data, create=True, max_body=args.max_body,
                                scenario=None if args.no_seed else args.scenario, patients=args.patients,
                                days=args.days, seed=args.seed, sqlite_sync=args.sync)
    return serve(config, args.host, args.port, args.workers, args.log_level)
