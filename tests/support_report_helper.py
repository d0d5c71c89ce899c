"""Checks of the report helper, run in a fresh process (``python -m tests.support_report_helper
DIR``) where no thread is running, so that forking is allowed whatever the test session did."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import reports
from reports import helper as report_helper
from reports import write_report
from reports.forked import can_fork
from simulator.engine import Simulation
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".png", ".svg", ".html")}


def _broken(read_fd: int) -> int:
    """A helper that dies before drawing anything."""
    os.close(read_fd)
    return 3


def main(out: Path) -> None:
    assert can_fork(), "a fresh process on two cores must be allowed to fork"
    # a helper forked before the run, as `segur run` does
    helper = report_helper.ReportHelper()
    assert helper.pid is not None
    sim = Simulation(load_scenario(BASELINE, overrides={"run.end": "2023-12-31"}), seed=2, scale=0.002,
                     on_tables=helper.start)  # the report is drawn while the payloads are
    res = sim.run()
    draft = helper._draft
    assert draft is not None, "the helper was not started when the tables were ready"
    drawn_here: list[Path] = []  # the run draws the report itself only if its helper failed
    run_writer = reports.write_report
    reports.write_report = lambda results, folder: (drawn_here.append(folder), run_writer(results, folder))[1]
    try:
        res.save(out / "helper", writers=[helper.writer])
    finally:
        reports.write_report = run_writer
        helper.close()
    assert not drawn_here, "the helper failed: the run drew the report itself"
    assert not draft.exists(), "the helper's draft folder was left behind"
    res.save(out / "here", writers=[write_report])
    by_helper, by_run = _files(out / "helper"), _files(out / "here")
    assert "report.html" in by_helper and any(k.endswith(".png") for k in by_helper), sorted(by_helper)
    assert by_helper == by_run, "the helper's report differs from the run's own"

    # a helper that fails leaves the report to the run
    report_helper._serve = _broken
    helper = report_helper.ReportHelper()
    try:
        res.save(out / "fallback", writers=[helper.writer])
    finally:
        helper.close()
    assert _files(out / "fallback") == by_run, "the fallback report differs"

    # a run that ends without results lets its helper go, and reaps it
    helper = report_helper.ReportHelper()
    pid = helper.pid
    helper.close()
    assert helper.pid is None
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    else:
        raise AssertionError("the helper was not reaped")
    print("helper checks passed")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
