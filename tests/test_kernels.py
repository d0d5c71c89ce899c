"""The compiled kernels compute exactly what their NumPy references compute: the same rows,
verdicts, counts and sampled rows, hence the same tables; and the rules that choose them."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from agents import kernels
from agents.defects import DEFECT_NAMES
from agents.patients import ACTIVATED, CLOSED, CREATED, HAS_INS, ID_QUALIFIED, INSI_OK, OPPOSED
from agents.producers.base import Batch
from agents.services import dmp
from simulator.core import outcomes as oc
from simulator.core.errors import UsageError
from simulator.core.parallel import Workers
from simulator.core.tally import Tally
from simulator.engine.scenario import load_scenario
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


def _status(rng: np.random.Generator, n_patients: int) -> np.ndarray:
    """Status bytes in which every combination of bits occurs."""
    status = np.zeros(n_patients, np.uint8)
    for b in [HAS_INS, INSI_OK, CREATED, OPPOSED, CLOSED, ACTIVATED, ID_QUALIFIED]:
        status |= np.where(rng.random(n_patients) < 0.5, b, 0).astype(np.uint8)
    return status


@pytest.mark.parametrize("require_qualified", [False, True])
@pytest.mark.parametrize("reject_legacy", [False, True])
@pytest.mark.parametrize("defects", [False, True])
@pytest.mark.parametrize("read_before", [False, True])
def test_judge_kernel_equals_numpy(require_qualified, reject_legacy, defects, read_before):
    rng = np.random.default_rng(7)
    n_patients, n_fac, n = 5000, 40, 20_000
    status = _status(rng, n_patients)
    batch = _random_batch(rng, n, n_patients, n_fac, defects)
    if read_before:  # the rows' status bytes as the identity module read them
        batch.status, batch.version = status[batch.patient], 0
    judged = {}
    for use in (False, True):
        patients = type("P", (), {"status": status, "profile_version": 0})()
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


@pytest.mark.parametrize("read_before", [False, True])
def test_existence_check_kernel_equals_numpy(read_before):
    """The senders' existence check gives the same rows sent, counts and order with the compiled
    passes on a helper thread as with NumPy, and rows read before a profile change are read again."""
    rng = np.random.default_rng(8)
    n_patients, n_fac = 5000, 40
    status = _status(rng, n_patients)
    batches = [_random_batch(rng, n, n_patients, n_fac, defects=True) for n in (3000, 0, 5000, 2000)]
    if read_before:
        for b in batches[:2]:
            b.status, b.version = status[b.patient], 0
        for b in batches[2:]:  # read before a profile change: stale
            b.status, b.version = np.zeros(len(b), np.uint8), -5
    out = {}
    for use in (False, True):
        patients = type("P", (), {"status": status, "profile_version": 0})()
        tally = Tally(1, 2, N_TYPES)
        service = dmp.DmpService(patients, tally, np.zeros(1, np.int64), 1, n_fac, 1)
        service.existence_check = True
        service.kernels = use
        service.workers = Workers(2)
        for b in batches:
            service.submit(b)
        service._settle()
        service.workers.close()
        out[use] = (list(service.outbox), tally.counts.copy(), service._not_sent_today, service.backlog)
    (ref_box, ref_counts, ref_stopped, ref_backlog), (box, counts, stopped, backlog) = out[False], out[True]
    np.testing.assert_array_equal(ref_counts, counts)
    assert ref_stopped == stopped > 0
    assert ref_backlog == backlog == sum(len(b) for b in box)
    assert len(ref_box) == len(box) == 3  # the empty batch sends nothing
    for a, b in zip(ref_box, box, strict=True):
        for field in ("facility", "patient", "doc_type", "qualified", "installed", "defect", "status"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        # what is sent has a profile or no INS: the software could not ask
        st = status[b.patient]
        assert (((st & HAS_INS) == 0) | ((st & CREATED) != 0)).all()
    assert ref_stopped + ref_backlog == sum(len(b) for b in batches)  # every row once


def test_verdicts_judged_at_submission_are_judged_again_after_a_profile_change():
    """A batch judged early (at submission, on a helper thread) keeps those verdicts only if the
    profiles and rules are unchanged when the DMP takes it; otherwise it is judged again."""
    rng = np.random.default_rng(9)
    n_patients, n_fac, n = 5000, 40, 4000
    for change in ("none", "profiles", "rules"):
        status = _status(rng, n_patients) | CREATED | HAS_INS  # every row is sent
        patients = type("P", (), {"status": status, "profile_version": 0})()
        service = dmp.DmpService(patients, Tally(1, 2, N_TYPES), np.zeros(1, np.int64), 1, n_fac, 1)
        service.existence_check = True
        service.kernels = True
        batch = _random_batch(rng, n, n_patients, n_fac, defects=False)
        batch.status, batch.version = status[batch.patient], patients.profile_version
        service.submit(batch)
        service._settle()
        assert id(service.outbox[0]) in service._early
        if change == "profiles":  # every profile closed after the submission
            status[:] = (status & ~CREATED) | CLOSED
            patients.profile_version += 1
        elif change == "rules":
            service.rules = dmp.DmpRules(reject_legacy_software=True)
        seen = []
        service.bus.subscribe("dmp.verdict", lambda b, out, seen=seen: seen.append(out))
        service.process(0, 1e9, None)
        want = dmp.dmp_verdict(batch.take(slice(None)), patients, service.rules)  # judged now, from the population
        np.testing.assert_array_equal(seen[0], want)
        if change == "profiles":
            assert (seen[0] != oc.ACCEPTED).all()
        assert not service._early


def test_draw_kernel_equals_numpy():
    sc = load_scenario(BASELINE)
    from simulator.core.streams import Streams
    from simulator.engine.world import build_world

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
