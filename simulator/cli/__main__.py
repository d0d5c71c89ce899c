"""`python -m simulator.cli …` is the `segur` command."""

import os
import signal
import sys


def _terminated_early(signum: int, frame: object) -> None:
    """SIGTERM while the command's modules are still being imported: nothing was written yet."""
    os.write(2, b"segur: terminated; nothing was written\n")
    os._exit(143)


def _interrupted_early(signum: int, frame: object) -> None:
    """Ctrl-C (SIGINT) while the command's modules are still being imported."""
    os.write(2, b"segur: interrupted; nothing was written\n")
    os._exit(130)


signal.signal(signal.SIGTERM, _terminated_early)  # the imports below take about a second
signal.signal(signal.SIGINT, _interrupted_early)

from simulator.cli import main  # noqa: E402  (after the handlers, on purpose)

signal.signal(signal.SIGINT, signal.default_int_handler)  # from here main() answers Ctrl-C itself



def _forget_handled_interrupt() -> None:
    """CPython 3.11 remembers a Ctrl-C that interrupted code run by ``PyRun_*`` inside an import
    (``_Py_UnhandledKeyboardInterrupt``) even when main() catches it, and then ends the process by
    SIGINT (exit −2) instead of main()'s 130: seen in about one run in ten interrupted while the
    modules import. main() has handled it, so the flag is cleared (a no-op where it is absent)."""
    try:
        import ctypes

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ImportError, ValueError, AttributeError, OSError):
        pass


try:
    code = main()
finally:  # main() has answered (one line, its exit code): a Ctrl-C arriving now changes nothing
    signal.signal(signal.SIGINT, signal.SIG_IGN)
_forget_handled_interrupt()
sys.exit(code)
