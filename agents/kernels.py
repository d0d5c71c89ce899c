"""Compiled (Numba) loops for the two per-document steps of a large run: drawing a sector's
rows of the day, and the DMP judging them.

Each kernel computes exactly what its NumPy reference computes (``Sector.produce`` and
``DmpService._judge``), in integer arithmetic on the same random bits, so a run's tables do
not depend on which is used (tests compare them). The NumPy version costs a dozen passes over
the rows; a kernel makes one, and runs without the GIL, so two threads really run at once.
Compiling costs a few seconds the first time (then cached on disk): runs use the kernels
from ``MIN_SCALE_FOR_KERNELS`` on, where that pays; ``SEGUR_KERNELS=0/1`` decides otherwise.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from agents.patients import HAS_INS
from simulator.core import outcomes as oc
from simulator.core.errors import UsageError

#: environment variable forcing the kernels on (1) or off (0)
KERNELS_ENV = "SEGUR_KERNELS"
#: below this scale a run's rows are too few for the kernels to repay importing Numba and
#: loading them (simulation at 0.1: 10.1–10.9 s with them, 12.3–13.8 s without; at 0.04 even)
MIN_SCALE_FOR_KERNELS = 0.1

_DISPATCH: dict[str, Any] = {}  # the jitted kernels, once built
#: defect table entry meaning "the defect does not decide the verdict" (agents.services.dmp)
NO_OVERRIDE = 255
# codes the judge kernel compares with (plain ints: compile-time constants for Numba)
_HAS_INS = int(HAS_INS)
_ACCEPTED = oc.ACCEPTED
_SOFTWARE = oc.REJECT_SOFTWARE


def wanted(scale: float) -> bool:
    """Whether a run at ``scale`` uses the kernels: ``$SEGUR_KERNELS`` if set, else from
    ``MIN_SCALE_FOR_KERNELS`` on when Numba can be imported."""
    env = os.environ.get(KERNELS_ENV, "").strip()
    if env:
        if env not in ("0", "1"):
            raise UsageError(f"{KERNELS_ENV}: must be 0 or 1 (got {env!r})")
        if env == "1" and not available():
            raise UsageError(f"{KERNELS_ENV}=1: the kernels need numba, which cannot be imported here")
        return env == "1"
    return scale >= MIN_SCALE_FOR_KERNELS and available()


def available() -> bool:
    """Whether Numba can be imported (it is a dependency; a platform without it runs NumPy)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _compiled() -> dict[str, Any]:
    """The jitted kernels (compiled or loaded from the on-disk cache at first use)."""
    if not _DISPATCH:
        import numba

        jit = numba.njit(nogil=True, cache=True)
        _DISPATCH["draw"] = jit(_draw_rows)
        _DISPATCH["judge"] = jit(_judge_rows)
        _DISPATCH["count_stopped"] = jit(_count_stopped)
        _DISPATCH["sample"] = jit(_sample_rows)
        _DISPATCH["rows_sent"] = jit(_rows_sent)
    return _DISPATCH


# -- drawing ----------------------------------------------------------------------------------
def draw_rows(feeders: np.ndarray, counts: np.ndarray, raw: np.ndarray, type_lut: np.ndarray,
              qualified_below: int, patient_start: np.ndarray, patient_size: np.ndarray,
              install_day: np.ndarray, day: int) -> tuple[np.ndarray, ...]:
    """Rows of one sector-day from one 64-bit random word each (see ``Sector.produce``):
    facility (int32), patient (int32), type (uint8), qualified, installed (bool)."""
    return _compiled()["draw"](feeders, counts, raw, type_lut, np.uint64(qualified_below), patient_start,
                               patient_size, install_day, np.int64(day))


def _draw_rows(feeders, counts, raw, type_lut, qualified_below, patient_start, patient_size, install_day, day):
    total = raw.size
    facility = np.empty(total, np.int32)
    patient = np.empty(total, np.int32)
    doc_type = np.empty(total, np.uint8)
    qualified = np.empty(total, np.bool_)
    installed = np.empty(total, np.bool_)
    low_mask = np.uint64(0xFFFFFFFF)
    type_mask = np.uint64(0xFFFF)
    shift = np.uint64(32)
    k = 0
    for i in range(feeders.size):
        f = feeders[i]
        size = patient_size[f]
        start = patient_start[f]
        inst = install_day[f] <= day
        for _ in range(counts[i]):
            r = raw[k]
            low = r & low_mask
            facility[k] = f
            doc_type[k] = type_lut[low & type_mask]
            qualified[k] = low < qualified_below
            patient[k] = start + np.int32(((r >> shift) * size) >> shift)
            installed[k] = inst
            k += 1
    return facility, patient, doc_type, qualified, installed


# -- judging ----------------------------------------------------------------------------------
def judge_rows(patient: np.ndarray, doc_type: np.ndarray, qualified: np.ndarray, installed: np.ndarray,
               defect: np.ndarray | None, facility: np.ndarray, status: np.ndarray,
               rows_status: np.ndarray | None, table: np.ndarray,
               require_qualified: bool, defect_override: np.ndarray, reject_legacy: bool,
               n_types: int, n_outcomes: int, n_facilities: int) -> tuple[np.ndarray, ...]:
    """The DMP's verdict on every row and what is counted of it, in one pass (see
    ``DmpService._judge``): outcome per row, counts [type · outcomes + outcome], accepted
    documents per facility (``n_facilities`` > 0) and the number accepted. The rows' status
    bytes are ``rows_status`` when given (read earlier and still true), else gathered from the
    population's ``status``. The sampler's rows are picked afterwards (``sample_rows``)."""
    none8 = np.empty(0, np.uint8)
    return _compiled()["judge"](
        patient, doc_type, qualified, installed, none8 if defect is None else defect, defect is not None,
        facility, status, none8 if rows_status is None else rows_status, rows_status is not None, table, bool(require_qualified), defect_override, bool(reject_legacy),
        np.int64(n_types), np.int64(n_outcomes), np.int64(n_facilities),
    )


def _judge_rows(patient, doc_type, qualified, installed, defect, has_defect, facility, status, rows_status,
                has_rows_status, table, require_qualified, defect_override, reject_legacy, n_types, n_outcomes,
                n_facilities):
    n = patient.size
    outcome = np.empty(n, np.uint8)
    # four interleaved counts: consecutive rows mostly fall in the same cell, and one count
    # would make each row wait for the previous row's store
    by_type4 = np.zeros((4, n_types * n_outcomes), np.int64)
    by_facility = np.zeros(n_facilities, np.int64)
    has_ins = np.uint8(_HAS_INS)
    accepted_code = np.uint8(_ACCEPTED)
    software_code = np.uint8(_SOFTWARE)
    no_override = np.uint8(NO_OVERRIDE)
    accepted = 0
    if not has_rows_status:
        # first the gather alone: its loads miss the cache, and a loop without branches on
        # their values keeps many of them in flight at once (about three times faster)
        for i in range(n):
            outcome[i] = status[patient[i]]
        rows_status = outcome
    current = -1  # rows come grouped by facility: its accepted rows are summed, then stored once
    run = 0
    for i in range(n):
        st = rows_status[i]
        if require_qualified:  # bit 7 of a status byte is the person's ID_QUALIFIED, of the key the row's
            o = table[(st & np.uint8(0x7F)) | (np.uint8(qualified[i]) << np.uint8(7))]
        else:
            o = table[st]  # the table does not look at bit 7 then
        if has_defect:
            d = defect[i]
            if d != 0 and (st & has_ins) != 0:
                over = defect_override[d]
                if over != no_override:
                    o = over
        if reject_legacy and not installed[i]:
            o = software_code
        outcome[i] = o
        cell = np.int64(doc_type[i]) * n_outcomes + o
        by_type4[i & 3, cell] += 1
        ok = np.int64(o == accepted_code)  # without a branch: outcomes are hard to predict
        accepted += ok
        if n_facilities > 0:
            f = facility[i]
            if f != current:
                if current >= 0:
                    by_facility[current] += run
                current = f
                run = 0
            run += ok
    if current >= 0:
        by_facility[current] += run
    by_type = by_type4[0] + by_type4[1] + by_type4[2] + by_type4[3]
    return outcome, by_type, by_facility, accepted


def sample_rows(outcome: np.ndarray, doc_type: np.ndarray, defect: np.ndarray | None, n_types: int,
                n_outcomes: int, keys: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of judged verdicts ``outcome`` whose sampling key is below their stratum's
    threshold (strata: defect, type, outcome), with their cells, in one pass."""
    none8 = np.empty(0, np.uint8)
    return _compiled()["sample"](outcome, doc_type, none8 if defect is None else defect, defect is not None,
                                 np.int64(n_types), np.int64(n_outcomes), keys, thresholds)


def _sample_rows(outcome, doc_type, defect, has_defect, n_types, n_outcomes, keys, thresholds):
    n = outcome.size
    type_out = n_types * n_outcomes
    take = np.empty(n, np.int64)
    cells = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        cell = np.int64(doc_type[i]) * n_outcomes + outcome[i]
        if has_defect:
            cell += np.int64(defect[i]) * type_out
        if keys[i] < thresholds[cell]:
            take[m] = i
            cells[m] = cell
            m += 1
    return take[:m], cells[:m]


# -- the senders' existence check ---------------------------------------------------------------
def count_stopped(status: np.ndarray, stop: np.ndarray, doc_type: np.ndarray, n_types: int) -> tuple[np.ndarray, int]:
    """Rows whose status byte ``stop`` marks (a 256-entry lookup), by type, and how many."""
    by_type, n = _compiled()["count_stopped"](status, stop, doc_type, np.int64(n_types))
    return by_type, int(n)


def _count_stopped(status, stop, doc_type, n_types):
    by_type = np.zeros(n_types, np.int64)
    n = 0
    for i in range(status.size):
        if stop[status[i]]:
            by_type[doc_type[i]] += 1
            n += 1
    return by_type, n


def rows_sent(status: np.ndarray, stop: np.ndarray, n_sent: int, facility: np.ndarray, patient: np.ndarray,
              doc_type: np.ndarray, qualified: np.ndarray, installed: np.ndarray,
              defect: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """The columns of the ``n_sent`` rows that ``stop`` does not mark, in one pass (a batch's
    columns after ``sector`` and ``day``: facility … defect, status)."""
    none8 = np.empty(0, np.uint8)
    out = _compiled()["rows_sent"](status, stop, np.int64(n_sent), facility, patient, doc_type, qualified,
                                   installed, none8 if defect is None else defect, defect is not None)
    fac, pat, typ, qual, inst, dfc, st = out
    return fac, pat, typ, qual, inst, dfc if defect is not None else None, st


def _rows_sent(status, stop, n_sent, facility, patient, doc_type, qualified, installed, defect, has_defect):
    fac = np.empty(n_sent, np.int32)
    pat = np.empty(n_sent, np.int32)
    typ = np.empty(n_sent, np.uint8)
    qual = np.empty(n_sent, np.bool_)
    inst = np.empty(n_sent, np.bool_)
    dfc = np.empty(n_sent if has_defect else 0, np.uint8)
    st = np.empty(n_sent, np.uint8)
    k = 0
    for i in range(status.size):
        s = status[i]
        if stop[s]:
            continue
        fac[k] = facility[i]
        pat[k] = patient[i]
        typ[k] = doc_type[i]
        qual[k] = qualified[i]
        inst[k] = installed[i]
        if has_defect:
            dfc[k] = defect[i]
        st[k] = s
        k += 1
    return fac, pat, typ, qual, inst, dfc, st
