"""The suite on two workers (`pytest -n 2 --dist loadfile`, tests/conftest.py): files that share
a run computed once per process are one worker's unit, so that the run is not computed twice."""

from __future__ import annotations

import re

from tests.conftest import REPO, SHARED_RUNS, _unit

#: the once-per-process runs of tests/support_wave2.py, and the names that reach each of them
CACHES = {"library_runs": ("library_runs", "wave2_run"), "readme_wave2_runs": ("readme_wave2_runs",)}


def _users(names: tuple[str, ...]) -> set[str]:
    pattern = re.compile(r"\b(" + "|".join(names) + r")\(")
    return {p.name for p in (REPO / "tests").glob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))}


def test_files_sharing_a_run_are_one_unit():
    for cache, names in CACHES.items():
        users = _users(names)
        assert len(users) >= 2, (cache, users)  # else the unit is pointless: update CACHES / SHARED_RUNS
        units = {_unit(f"tests/{name}::test_x") for name in users}
        assert len(units) == 1, f"{cache} is computed once per worker: list {sorted(users)} in SHARED_RUNS as one unit"


def test_a_file_alone_is_its_own_unit_and_parameters_do_not_split_it():
    assert _unit("tests/test_engine.py::test_a[x-y]") == _unit("tests/test_engine.py::test_b") == "tests/test_engine.py"
    assert _unit("tests/test_wave2.py::test_a") == _unit("tests/test_scenario_library.py::test_b[wave2]")
    assert set(SHARED_RUNS) <= {p.name for p in (REPO / "tests").glob("test_*.py")}  # no stale name


def test_the_heaviest_units_are_named_as_the_workers_name_them():
    from tests.conftest import UNIT_SECONDS

    files = {f"tests/{p.name}" for p in (REPO / "tests").glob("test_*.py")}
    assert set(UNIT_SECONDS) <= files | set(SHARED_RUNS.values())  # no stale name: a renamed file loses its place
