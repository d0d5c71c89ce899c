"""Runs of the wave 2 scenario library shared by the wave 2 tests: every scenario once, same
seed and small scale (common random numbers make differences clean), two at a time."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

from tests.conftest import REPO

SCENARIOS = REPO / "scenarios"
SEED = 5
SCALE = 0.002
LIBRARY = ("wave2", "wave2_late", "gp_fast", "radiology_lag", "dmp_outage", "dmp_outage_drop", "insi_outage",
           "nurses_first")


def run_one(name: str):
    """One library scenario at the test seed and scale (a worker task)."""
    import simulator

    return simulator.run(SCENARIOS / f"{name}.toml", seed=SEED, scale=SCALE)


@lru_cache(maxsize=1)
def library_runs() -> dict:
    """name → Results for every scenario of LIBRARY (computed once per test session)."""
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(LIBRARY, pool.map(run_one, LIBRARY), strict=True))


def wave2_run():
    """The central projection at the test seed and scale."""
    return library_runs()["wave2"]


README_SEED, README_SCALE = 1, 0.01


@lru_cache(maxsize=1)
def readme_wave2_runs() -> list:
    """`segur compare wave2 --scale 0.01 --seed 1` as the README quotes it (its runs, computed
    once per test session): the README's figures and the identity check of 2025 read it."""
    from simulator.engine.scenario import load_scenario
    from simulator.studies.compare import run_scenarios

    return run_scenarios([load_scenario("wave2")], seed=README_SEED, scale=README_SCALE)
