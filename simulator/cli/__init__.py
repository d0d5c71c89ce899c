"""The `segur` command line: one parser, one sub-command module each, clear errors.

Every user error (a SegurError) is printed as one line on stderr with exit code 2 (or the
error's own code); no traceback reaches the user. SIGTERM is handled like SIGINT: it raises in
the main thread, so temporary folders, worker processes and locks are cleaned up on the way out.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from simulator.core.errors import SegurError
from simulator.interrupts import Terminated, install_signal_handlers, restore_signal_handlers

# Sub-command modules, in the order `segur --help` lists them.
COMMAND_MODULES = [
    "simulator.cli.commands.run",
    "simulator.cli.commands.compare",
    "simulator.cli.commands.report",
    "simulator.cli.commands.calibrate",
    "simulator.cli.commands.backtest",
    "simulator.cli.commands.sweep",
    "simulator.cli.commands.sensitivity",
    "simulator.cli.commands.validate",
    "simulator.cli.commands.network",
    "simulator.cli.commands.demo",
    "simulator.cli.commands.serve",
    "simulator.cli.commands.token",
    "simulator.cli.commands.emit",
    "simulator.cli.commands.app",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 2 with one line (argparse's default is the same code)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        self.exit(2, f"segur: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every sub-command registered."""
    # loaded only for --version (start-up time)
    from simulator import __version__

    parser = _Parser(
        prog="segur",
        description="segur-testbed: a simulation of the Ségur du numérique en santé ecosystem.",
    )
    parser.add_argument("--version", action="version", version=f"segur-testbed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:  # each module says its help, description, arguments and handler
        command = importlib.import_module(name)
        p = sub.add_parser(name.rsplit(".", 1)[1], help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(p)
        p.set_defaults(func=command.handle)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `segur` console script; returns the process exit code."""
    try:
        parser = build_parser()  # imports every command's module: a second or so
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the modules import: one line, nothing was written
        print("segur: interrupted; nothing was written", file=sys.stderr)
        return 130
    old = install_signal_handlers()
    try:
        code = args.func(args)
    except SegurError as exc:
        print(f"segur: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("segur: terminated; nothing was written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("segur: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `segur validate … | head`: the reader left; stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    finally:
        if argv is None:  # the `segur` process: its work is done, a late SIGTERM changes nothing
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:  # called from Python (tests, scripts): put the caller's handlers back
            restore_signal_handlers(old)
    return int(code or 0)
