"""A report helper forked when ``segur run`` starts: it imports the plotting stack (matplotlib
and the report modules, about half a second) on a second core while the simulation runs, then
draws the report as soon as the tables exist (``start``), while the run renders its FHIR
payload sample and writes its tables; the results folder then takes the report (``writer``).

Where forking is not safe or not worth it (``reports.forked.can_fork``), or if the helper
fails, the report is drawn in the run's own process, as before: the same files either way.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reports.forked import can_fork

if TYPE_CHECKING:
    from simulator.run_output import Results

#: tables the report does not read (the flow network's, `segur network`): not handed to the helper,
#: whose pickling is paid by the run between its simulation and its payload tier (the territory
#: table is most of the bytes at any scale: month × sector × département × channel)
NOT_IN_THE_REPORT = ("territory",)


def _for_the_report(results: Results) -> Results:
    """The run's tables and manifest as the report reads them (no extra files, no network table).
    Should the report come to read one of these tables, the helper fails and the run draws the
    report itself: the same files, later."""
    light = results.without_files()
    light.tables = {name: df for name, df in light.tables.items() if name not in NOT_IN_THE_REPORT}
    return light


class ReportHelper:
    """A forked child waiting to draw one run's report (``start`` then ``writer``), or to be
    let go without one (``close``)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._to_child: int | None = None
        self._draft: Path | None = None  # where the helper draws, before the results folder exists
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

    def start(self, results: Results) -> None:
        """Hand the tables to the helper: it draws the report in a draft folder meanwhile."""
        if self.pid is None or self._to_child is None:
            return
        try:
            self._draft = Path(tempfile.mkdtemp(prefix="segur-report-"))
            data = pickle.dumps((_for_the_report(results), self._draft), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(self._to_child, "wb") as pipe:
                self._to_child = None
                pipe.write(data)
        except Exception:  # no helper after all (gone, no temporary space…): drawn in the run
            self.close()

    def writer(self, results: Results, tmp_dir: Path) -> Callable[[], None] | None:
        """``Results.save`` writer: start the helper if ``start`` was not called, and return what
        waits for it and moves its report into the folder (the tables are written meanwhile);
        without a helper, draw the report here."""
        # the report's modules load in the helper process, not in the run's (start-up time)
        from reports import write_report

        if self._draft is None:
            self.start(results)
        if self._draft is None:
            write_report(results, tmp_dir)
            return None

        def wait() -> None:
            draft, self._draft = self._draft, None
            try:
                if self._join():  # the report and its figures, into the results folder
                    for entry in draft.iterdir():
                        shutil.move(str(entry), str(Path(tmp_dir) / entry.name))
                else:  # the helper failed: draw here, where errors are reported
                    write_report(results, tmp_dir)
            finally:
                shutil.rmtree(draft, ignore_errors=True)

        return wait

    def _join(self) -> bool:
        if self.pid is None:
            return False
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return status == 0

    def close(self) -> None:
        """Let the helper go (closing its pipe ends it if it has no results) and clean up."""
        if self._to_child is not None:
            os.close(self._to_child)
            self._to_child = None
        if self.pid is not None:
            self._join()
        if self._draft is not None:
            shutil.rmtree(self._draft, ignore_errors=True)
            self._draft = None


def _serve(read_fd: int) -> int:
    """The helper's life: import the report modules, wait, draw; its exit code says how it went."""
    import reports.html  # noqa: F401  (the import is the point: it is paid during the run)

    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    if not data:  # the run ended without results (an error, an interruption)
        return 0
    results, draft = pickle.loads(data)
    # the report's modules load in the helper process, not in the run's (start-up time)
    from reports.html import build_report

    try:
        build_report(results, draft, lang="fr")
    except Exception:  # redone by the parent, which reports the error on one line
        return 1
    return 0
