"""The report helper forked at the start of `segur run` writes the same report as the run's own
process, and a helper that fails leaves the report to the run."""

from __future__ import annotations

import os

import pytest

import simulator
from reports import helper as report_helper
from reports import write_report
from reports.forked import can_fork
from scenarios.loader import load_scenario
from tests.conftest import BASELINE


@pytest.fixture(scope="module")
def small_results():
    sc = load_scenario(BASELINE, overrides={"run.end": "2023-12-31"})
    return simulator.run(sc, seed=2, scale=0.002)


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".png", ".svg", ".html")}


def test_helper_writes_the_report_of_the_run(small_results, tmp_path):
    if not can_fork():
        pytest.skip("forking is not possible here (threads left by other tests, or one core)")
    helper = report_helper.ReportHelper()
    assert helper.pid is not None
    try:
        small_results.save(tmp_path / "helper", writers=[helper.writer])
    finally:
        helper.close()
    small_results.save(tmp_path / "here", writers=[write_report])
    by_helper, by_run = _files(tmp_path / "helper"), _files(tmp_path / "here")
    assert "report.html" in by_helper and any(k.endswith(".png") for k in by_helper)
    assert by_helper == by_run


def test_a_failing_helper_leaves_the_report_to_the_run(small_results, tmp_path, monkeypatch):
    if not can_fork():
        pytest.skip("forking is not possible here (threads left by other tests, or one core)")

    def broken(read_fd: int) -> int:  # the child dies before drawing anything
        os.close(read_fd)
        return 3

    monkeypatch.setattr(report_helper, "_serve", broken)
    helper = report_helper.ReportHelper()
    try:
        small_results.save(tmp_path / "out", writers=[helper.writer])
    finally:
        helper.close()
    assert (tmp_path / "out" / "report.html").exists()
    assert (tmp_path / "out" / "figures").is_dir()


def test_a_helper_without_results_just_ends():
    if not can_fork():
        pytest.skip("forking is not possible here (threads left by other tests, or one core)")
    helper = report_helper.ReportHelper()
    pid = helper.pid
    helper.close()  # the run failed: no report; the child must not be left behind
    assert helper.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)
