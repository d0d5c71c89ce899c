"""Two threads give exactly the tables, payloads and verdicts of one; the thread count rules."""

from __future__ import annotations

import pytest

import simulator
from agents.services import dmp
from simulator.core import parallel
from simulator.core.errors import UsageError
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE, assert_same_results


def _run(monkeypatch, threads: int, scenario=BASELINE):
    monkeypatch.setenv(parallel.THREADS_ENV, str(threads))
    # small pieces, so that this small run also cuts its batches for the threads
    monkeypatch.setattr(dmp, "MIN_CHUNK_ROWS", 100)
    sc = load_scenario(scenario, overrides={"run.end": "2024-03-31"})
    return simulator.run(sc, seed=3, scale=0.003)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [BASELINE, BASELINE.parent / "vendor_defects.toml"])
def test_two_threads_give_the_tables_of_one(monkeypatch, scenario):
    one, two = _run(monkeypatch, 1, scenario), _run(monkeypatch, 2, scenario)
    assert_same_results(one, two)
    assert two.manifest["payloads"]["disagreements"] == 0


def test_thread_count_rules(monkeypatch):
    monkeypatch.delenv(parallel.THREADS_ENV, raising=False)
    assert parallel.threads_for_run(0.01) == 1  # small batches: a second thread does not pay
    assert 1 <= parallel.threads_for_run(1.0) <= parallel.MAX_DEFAULT_THREADS
    monkeypatch.setenv(parallel.THREADS_ENV, "2")
    assert parallel.threads_for_run(0.01) == 2
    monkeypatch.setenv(parallel.THREADS_ENV, "two")
    with pytest.raises(UsageError, match="SEGUR_THREADS: must be a positive integer"):
        parallel.threads_for_run(1.0)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_task_error_is_raised_by_its_result(threads):
    workers = parallel.Workers(threads)
    try:
        ok = workers.submit(sum, [1, 2, 3])
        bad = workers.submit(int, "not a number")
        assert ok.result() == 6
        with pytest.raises(ValueError):
            bad.result()
    finally:
        workers.close()
