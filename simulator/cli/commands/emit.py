"""`segur emit SCENARIO --to URL`: the scenario's agents produce their documents day by day and
post them as ITI-65 bundles to a FHIR endpoint (ours or a vendor's); then the endpoint's verdicts
are compared with the simulation's, with throughput and latency, printed and written as CSV."""

from __future__ import annotations

import argparse

from simulator.cli.commands.serve import add_store_options
from simulator.core.errors import UsageError
from simulator.server.config import DEFAULT_DB, DEFAULT_SCENARIO, ServerConfig

HELP = "post a scenario's documents to a FHIR endpoint and compare its verdicts"
DESCRIPTION = ("Run the scenario's small world, render each document the simulated DMP judged as an "
               "ITI-65 bundle and POST it to URL (rate- and concurrency-limited, bounded in count and "
               "time, retried on refused connections, timeouts, 5xx and 429). Prints and writes "
               "(--out) the agreement of the endpoint's verdicts with the simulation's, by reason, "
               "throughput and latency percentiles. Exits 1 when a document got no verdict (failed, "
               "not sent, or a 2xx without a FHIR body) or a verdict differs from the simulation's "
               "(unless --allow-disagreement). See docs/server.md.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur emit`."""
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, help=f"scenario (default {DEFAULT_SCENARIO})")
    p.add_argument("--to", required=True, metavar="URL", help="FHIR base URL, e.g. http://127.0.0.1:8080/fhir")
    p.add_argument("--rate", type=float, default=200.0, help="documents per second (0: no limit; default 200)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--max-documents", type=int, default=None, help="post at most N documents")
    p.add_argument("--max-seconds", type=float, default=None, help="stop sending after S seconds")
    p.add_argument("--retries", type=int, default=3, help="retries per document on a failing endpoint (default 3)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--token-file", default=None, help="one bearer token for every request (a file)")
    add_store_options(p, "our server's store: tokens are minted per author with the key beside it when no "
                         f"--token-file (default DATA/{DEFAULT_DB})",
                      "signing key to mint tokens with (instead of the one beside --db)")
    p.add_argument("--patients", type=int, default=None, help="patients of the world (as segur demo / serve)")
    p.add_argument("--days", type=int, default=None, help="days of the world")
    p.add_argument("--seed", type=int, default=None, help="seed of the world")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write agreement.csv, documents.csv, summary.csv there (default: print only, write nothing)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--allow-disagreement", action="store_true",
                   help="exit 0 even when the endpoint's verdicts differ from the simulation's (a vendor's "
                        "endpoint with other rules); a document without a verdict still exits 1")


def _tokens(args: argparse.Namespace):
    # loaded when the command runs: `segur --help` and the other commands start without it
    import sys
    from pathlib import Path

    from simulator.server.auth import Principal, load_keys

    if args.token_file:
        path = Path(args.token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--token-file: {path}: cannot be read ({exc.strerror or exc})") from None
        if not token or any(c.isspace() for c in token):
            raise UsageError(f"--token-file: {path}: expected one token on one line")
        return lambda e: token
    config = ServerConfig.build(args.db, args.key, args.data, scenario=None)
    if not config.key_path.exists():
        print(f"segur emit: note: no --token-file and no key at {config.key_path}: requests go without a token",
              file=sys.stderr)
        return lambda e: None
    keys = load_keys(config.key_path)
    cache: dict[str, str] = {}

    def token_for(e) -> str:
        if e.author not in cache:
            cache[e.author] = keys.issue(Principal("professional", e.author, "10"), 3600)
        return cache[e.author]

    return token_for


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    import asyncio
    import sys
    from pathlib import Path
    from urllib.parse import urlparse

    from simulator.cli.commands.run import check_seed
    from simulator.server import emit_report
    from simulator.server.emit_client import Policy, post_all
    from simulator.server.emit_documents import emissions
    from simulator.server.world import run_world

    check_seed(args.seed)
    u = urlparse(args.to)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise UsageError(f"--to: expected an http(s):// FHIR base URL, got {args.to!r}")
    if args.rate < 0 or args.rate > 100_000:
        raise UsageError(f"--rate: between 0 and 100000 documents a second (got {args.rate})")
    if not 1 <= args.concurrency <= 256:
        raise UsageError(f"--concurrency: between 1 and 256 (got {args.concurrency})")
    if args.max_documents is not None and args.max_documents < 1:
        raise UsageError(f"--max-documents: at least 1 (got {args.max_documents})")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise UsageError(f"--max-seconds: positive (got {args.max_seconds})")
    if not 0 <= args.retries <= 10:
        raise UsageError(f"--retries: between 0 and 10 (got {args.retries})")
    if not 0.1 <= args.timeout <= 300:
        raise UsageError(f"--timeout: between 0.1 and 300 seconds (got {args.timeout})")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a folder")
    token_for = _tokens(args)
    url = args.to.rstrip("/")
    world = run_world(args.scenario, patients=args.patients, days=args.days, seed=args.seed)
    items, skipped = emissions(world)
    if not args.quiet:
        print(f"segur emit: {len(items)} documents judged by the simulated DMP from {world.dates[0]} to "
              f"{world.dates[-1]} ({skipped} dropped or queued, not sent) → {url}", file=sys.stderr)
    policy = Policy(rate=args.rate, concurrency=args.concurrency, max_documents=args.max_documents,
                    max_seconds=args.max_seconds, retries=args.retries, timeout_s=args.timeout)

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done == total or done % 50 == 0):
            print(f"\r  posted {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    run = asyncio.run(post_all(url, items, policy, token_for, progress))
    print(emit_report.text(run, url))
    if out is not None:  # nothing lands in the current folder unasked
        emit_report.write(run, out, url)
        print(f"tables: {out}/agreement.csv, documents.csv, summary.csv")
    problem = emit_report.problems(run, args.allow_disagreement)
    if problem:  # CI tells an endpoint down, or judging otherwise, from a success
        print(f"segur emit: {problem}", file=sys.stderr)
        return 1
    return 0
