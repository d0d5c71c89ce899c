"""A report helper forked when ``segur run`` starts: it imports the plotting stack (matplotlib
and the report modules, about half a second) on a second core while the simulation runs, then
draws the report as soon as the results are handed over, while the run writes its tables.

Where forking is not safe or not worth it (``reports.forked.can_fork``), or if the helper
fails, the report is drawn in the run's own process, as before: same files either way.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reports.forked import can_fork

if TYPE_CHECKING:
    from simulator.results import Results


class ReportHelper:
    """A forked child waiting to draw one run's report (``writer``), or nothing (``close``)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._to_child: int | None = None
        if not can_fork():
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: import, wait for the results, draw, leave without cleanup
            code = 1
            try:
                os.close(write_fd)
                code = _serve(read_fd)
            finally:
                os._exit(code)
        os.close(read_fd)
        self.pid, self._to_child = pid, write_fd

    def writer(self, results: Results, tmp_dir: Path) -> Callable[[], None] | None:
        """``Results.save`` writer: hand the results to the helper and return what waits for
        it (the tables are written meanwhile); without a helper, draw the report here."""
        from reports import write_report

        if self.pid is None or self._to_child is None:
            write_report(results, tmp_dir)
            return None
        data = pickle.dumps((results.without_files(), Path(tmp_dir)), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with os.fdopen(self._to_child, "wb") as pipe:
                self._to_child = None
                pipe.write(data)
        except OSError:  # the helper is gone: draw here
            self.close()
            write_report(results, tmp_dir)
            return None

        def wait() -> None:
            if not self._join():  # the helper failed: draw here, where errors are reported
                write_report(results, tmp_dir)

        return wait

    def _join(self) -> bool:
        if self.pid is None:
            return False
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return status == 0

    def close(self) -> None:
        """Let the helper go without a report (closing its pipe ends it)."""
        if self._to_child is not None:
            os.close(self._to_child)
            self._to_child = None
        if self.pid is not None:
            self._join()


def _serve(read_fd: int) -> int:
    """The helper's life: import the report modules, wait, draw; its exit code says how it went."""
    import reports.html  # noqa: F401  (the import is the point: it is paid during the run)

    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    if not data:  # the run ended without results (an error, an interruption)
        return 0
    results, tmp_dir = pickle.loads(data)
    from reports.html import REPORT_FILE, build_report

    try:
        build_report(results, tmp_dir, lang="fr")
    except Exception:  # redone by the parent, which reports the error on one line
        (Path(tmp_dir) / REPORT_FILE).unlink(missing_ok=True)
        return 1
    finally:
        sys.stdout.flush()
    return 0
