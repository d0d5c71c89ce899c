"""Shared fixtures: small runs of the shipped baseline, and the repository's path. Tests use only
files the repository ships (no sibling folder)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline.toml"


def write_scenario(folder: Path, body: str, extends: Path = BASELINE, name: str = "t") -> Path:
    """A scenario file ``<name>.toml`` in ``folder`` that extends ``extends`` with ``body``
    (dedented TOML)."""
    p = folder / f"{name}.toml"
    p.write_text(f'extends = "{extends.as_posix()}"\nname = "{name}"\n' + textwrap.dedent(body), encoding="utf-8")
    return p


# -- two workers (pytest -n 2 --dist loadfile) -----------------------------------------------------
#: test files that share a run computed once per process (tests/support_wave2.py): one worker runs them
SHARED_RUNS = {
    "test_scenario_library.py": "wave2-library", "test_wave2.py": "wave2-library",
    "test_readme.py": "readme-wave2", "test_identity_qualification.py": "readme-wave2",
}
#: seconds of the heaviest units (slow tests included), one process, rounded from the durations
#: measured 2026-12-08 (loads 2–5) after issue 28's cuts (docs/ensembles.md short runs, one shared
#: rolling backtest, the discrepancy paths' look-up): they start first, heaviest first, so that
#: the two workers end together; a unit not listed is guessed from its tests (``_guess``). An
#: estimate for the order only, never a check.
UNIT_SECONDS = {
    "tests/test_rolling.py": 145,  # one backtest at two origins on 2 processes (the longest single unit)
    "wave2-library": 100,  # 8 library scenarios to 2027 on 2 processes
    "tests/test_docs.py": 95,
    "tests/test_app_browser.py": 90,
    "tests/test_app_api.py": 60,
    "tests/test_mssante_mailboxes.py": 60,
    "tests/test_profiles.py": 55,
    "tests/test_payload_tier.py": 50,
    "tests/test_posterior_backtest.py": 30,
    "tests/test_compare.py": 30,
    "tests/test_outputs_safety.py": 30,
    "tests/test_signals.py": 30,
    "tests/test_baseline_calibration.py": 30,
    "tests/test_report_ensemble.py": 25,
    "tests/test_server_crash.py": 25,
}


def _guess(slow: int, count: int) -> float:
    """Seconds of a unit not in ``UNIT_SECONDS``: about 8 s a slow test, 0.3 s a quick one."""
    return 8.0 * slow + 0.3 * count


def _unit(nodeid: str) -> str:
    """The work unit of a test on the workers: its file (module-scoped fixtures and caches are
    computed once), or the group of files that share a session run."""
    path = nodeid.split("::", 1)[0]
    return SHARED_RUNS.get(path.rsplit("/", 1)[-1], path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile``: xdist's file units, with the files of ``SHARED_RUNS`` as one unit,
    in the order the workers collected them (``pytest_collection_modifyitems``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Units(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # keep the workers' order (xdist would sort by count of tests)
    return Units(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker: the units heaviest first (``UNIT_SECONDS``, else ``_guess``), so that
    the longest ones start at once and the quick ones fill the gaps at the end (the scheduler
    hands each worker the next unit in this order). A plain ``pytest`` keeps the files' order."""
    if not hasattr(config, "workerinput"):
        return
    slow: dict[str, int] = {}
    count: dict[str, int] = {}
    for item in items:
        unit = _unit(item.nodeid)
        slow[unit] = slow.get(unit, 0) + (item.get_closest_marker("slow") is not None)
        count[unit] = count.get(unit, 0) + 1
    run_slow = "not slow" not in (config.getoption("markexpr") or "")
    order = {item.nodeid: i for i, item in enumerate(items)}

    def seconds(unit: str) -> float:
        if run_slow and unit in UNIT_SECONDS:
            return UNIT_SECONDS[unit]
        return _guess(slow[unit], count[unit])

    def key(item: pytest.Item) -> tuple:
        unit = _unit(item.nodeid)
        return (-seconds(unit), unit, order[item.nodeid])

    items.sort(key=key)


@pytest.fixture(scope="session", autouse=True)
def _data_folder(tmp_path_factory):
    """The per-user data folder (segur serve / token / emit) is a temporary one during the tests."""
    import os

    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def small_results():
    """The baseline at scale 0.002 (a second or two), shared by the tests that only read it."""
    import simulator

    return simulator.run(BASELINE, scale=0.002, seed=3)


@pytest.fixture(scope="session")
def small_report(small_results, tmp_path_factory) -> Path:
    """The small run saved with its report (the `segur run` writer): the results folder's path."""
    from reports import write_report

    out = tmp_path_factory.mktemp("report") / "baseline"
    small_results.save(out, writers=[write_report])
    return out


def assert_same_results(a, b) -> None:
    """Two runs gave the same tables, FHIR payload sample and verdicts, byte for byte."""
    import pandas as pd

    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], obj=name)
    assert a.extra_files.keys() == b.extra_files.keys()
    for rel in a.extra_files:  # the FHIR payload sample and its verdicts
        assert a.extra_files[rel] == b.extra_files[rel], rel

