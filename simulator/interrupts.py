"""SIGTERM handled like SIGINT: both raise in the main thread, so every ``finally`` (temporary
folders, worker processes, locks) runs before the process ends; a signal arriving while folders
are being swapped waits until the swap is done."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like SIGINT's KeyboardInterrupt so that every
    ``finally`` (temporary folders, worker processes, locks) runs before the process ends."""


_state = {"critical": 0, "deferred": None, "stopping": False}


def _raise_for(signum: int) -> None:
    _state["stopping"] = True
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _on_signal(signum: int, frame: object) -> None:
    if _state["stopping"]:  # already ending: let the clean-up finish
        return
    if _state["critical"]:  # inside a swap of folders: raised as soon as it is done
        _state["deferred"] = signum
        return
    _raise_for(signum)


def install_signal_handlers() -> dict[int, object]:
    """SIGTERM and SIGINT raise ``Terminated`` / ``KeyboardInterrupt`` in the main thread
    (once: a second signal during the clean-up is ignored). Returns the previous handlers."""
    _state.update(critical=0, deferred=None, stopping=False)
    if threading.current_thread() is not threading.main_thread():
        return {}
    old = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        old[sig] = signal.getsignal(sig)
        signal.signal(sig, _on_signal)
    return old


def restore_signal_handlers(old: dict[int, object]) -> None:
    """Put back the handlers ``install_signal_handlers`` replaced."""
    for sig, handler in old.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


@contextmanager
def uninterrupted() -> Iterator[None]:
    """A signal arriving inside the block is raised when the block ends (folder swaps)."""
    _state["critical"] += 1
    try:
        yield
    finally:
        _state["critical"] -= 1
        if not _state["critical"] and _state["deferred"] is not None and not _state["stopping"]:
            signum, _state["deferred"] = _state["deferred"], None
            _raise_for(signum)
