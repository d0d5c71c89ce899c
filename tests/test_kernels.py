"""The compiled kernels compute exactly what their NumPy references compute: the same rows,
verdicts, counts and sampled rows, hence the same tables; and the rules that choose them."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from agents import kernels
from agents.defects import DEFECT_NAMES
from agents.patients import ACTIVATED, CLOSED, CREATED, HAS_INS, INSI_OK, OPPOSED
from agents.producers.base import Batch
from agents.services import dmp
from simulator.core import outcomes as oc
from simulator.core.errors import UsageError
from simulator.core.tally import Tally
from simulator.scenario import load_scenario
from tests.conftest import BASELINE, assert_same_results

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")

N_TYPES = 12


def _run(monkeypatch, use_kernels: bool, scenario):
    monkeypatch.setenv(kernels.KERNELS_ENV, "1" if use_kernels else "0")
    # both identity rules and the legacy-software rule come into force in October 2023
    sc = load_scenario(scenario, overrides={"run.end": "2024-03-31"})
    return simulator.run(sc, seed=5, scale=0.003)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [BASELINE, BASELINE.parent / "vendor_defects.toml"])
def test_kernels_give_the_tables_of_numpy(monkeypatch, scenario):
    ref, fast = _run(monkeypatch, False, scenario), _run(monkeypatch, True, scenario)
    assert_same_results(ref, fast)
    assert fast.manifest["payloads"]["disagreements"] == 0


def _random_batch(rng: np.random.Generator, n: int, n_patients: int, n_fac: int, defects: bool) -> Batch:
    defect = None
    if defects:  # mostly none, every defect code present
        defect = np.where(rng.random(n) < 0.3, rng.integers(1, len(DEFECT_NAMES) + 1, n), 0).astype(np.uint8)
    return Batch(1, 0, np.sort(rng.integers(0, n_fac, n)).astype(np.int32), rng.integers(0, n_patients, n).astype(np.int32),
                 rng.integers(0, N_TYPES, n).astype(np.uint8), rng.random(n) < 0.6, rng.random(n) < 0.8, defect)


class _Sampler:
    """Keys and thresholds of a payload sampler, recording what the DMP offers it."""

    def __init__(self, rng: np.random.Generator, n: int):
        self._keys = rng.random(n, dtype=np.float32)
        self._thresholds = rng.random((len(DEFECT_NAMES) + 1) * N_TYPES * oc.N_OUTCOMES).astype(np.float32) * 0.2
        self.offered: list[tuple[np.ndarray, np.ndarray]] = []

    def keys(self, seq0, n):
        return self._keys[seq0:seq0 + n]

    def thresholds(self, sector):
        return self._thresholds

    def rows(self, batch, take, cells, keys, seq0):
        self.offered.append((np.asarray(take), np.asarray(cells)))
        return None


@pytest.mark.parametrize("require_qualified", [False, True])
@pytest.mark.parametrize("reject_legacy", [False, True])
@pytest.mark.parametrize("defects", [False, True])
def test_judge_kernel_equals_numpy(require_qualified, reject_legacy, defects):
    rng = np.random.default_rng(7)
    n_patients, n_fac, n = 5000, 40, 20_000
    bits = [HAS_INS, INSI_OK, CREATED, OPPOSED, CLOSED, ACTIVATED]
    status = np.zeros(n_patients, np.uint8)
    for b in bits:  # every combination of status bits occurs
        status |= np.where(rng.random(n_patients) < 0.5, b, 0).astype(np.uint8)
    batch = _random_batch(rng, n, n_patients, n_fac, defects)
    judged = {}
    for use in (False, True):
        patients = type("P", (), {"status": status})()
        service = dmp.DmpService(patients, Tally(1, 2, N_TYPES), np.zeros(1, np.int64), 1, n_fac, 1)
        service.rules = dmp.DmpRules(require_qualified, reject_legacy)
        service.sampler = _Sampler(np.random.default_rng(3), n)
        service.kernels = use
        judged[use] = (service._assess(batch, 0), service.sampler.offered[0])
    (ref, ref_offer), (fast, fast_offer) = judged[False], judged[True]
    np.testing.assert_array_equal(ref.outcomes, fast.outcomes)
    np.testing.assert_array_equal(ref.by_type, fast.by_type)
    np.testing.assert_array_equal(ref.by_facility, fast.by_facility)
    assert ref.accepted == fast.accepted == int(np.count_nonzero(ref.outcomes == oc.ACCEPTED))
    np.testing.assert_array_equal(ref_offer[0], fast_offer[0])  # the rows offered to the sampler
    np.testing.assert_array_equal(ref_offer[1], fast_offer[1])  # and their strata cells
    assert ref_offer[0].size > 0
    # the verdicts themselves are the documented precedence, not only the same twice
    np.testing.assert_array_equal(ref.outcomes, dmp.dmp_verdict(batch, patients, service.rules))


def test_draw_kernel_equals_numpy():
    sc = load_scenario(BASELINE)
    from simulator.core.streams import Streams
    from simulator.world import build_world

    drawn = {}
    for use in (False, True):
        world = build_world(sc.model_copy(update={"run": sc.run.model_copy(update={"scale": 0.002})}), Streams(11))
        rows = []
        for sector in world.sectors:
            sector.kernels = use
            sector.feeding[:] = True  # every facility sends
            for day in (400, 1000):
                batch = sector.produce(day, 1.0, 300.0, 0.6)  # enough episodes for rows in every sector
                rows.append(batch)
        drawn[use] = rows
    for ref, fast in zip(drawn[False], drawn[True], strict=True):
        assert len(ref) > 0
        for field in ("facility", "patient", "doc_type", "qualified", "installed"):
            a, b = getattr(ref, field), getattr(fast, field)
            assert a.dtype == b.dtype, field
            np.testing.assert_array_equal(a, b, err_msg=field)
        # every patient is inside its facility's range
        sector = next(s for s in world.sectors if s.index == ref.sector)
        start = sector.patient_start[ref.facility].astype(np.int64)
        assert np.all(ref.patient >= start)
        assert np.all(ref.patient < start + sector.patient_size[ref.facility].astype(np.int64))


def test_kernel_rules(monkeypatch):
    monkeypatch.delenv(kernels.KERNELS_ENV, raising=False)
    assert not kernels.wanted(0.01)  # small runs: NumPy (no compilation to pay)
    assert kernels.wanted(1.0)
    monkeypatch.setenv(kernels.KERNELS_ENV, "1")
    assert kernels.wanted(0.01)
    monkeypatch.setenv(kernels.KERNELS_ENV, "0")
    assert not kernels.wanted(1.0)
    monkeypatch.setenv(kernels.KERNELS_ENV, "yes")
    with pytest.raises(UsageError, match="SEGUR_KERNELS: must be 0 or 1"):
        kernels.wanted(1.0)
