"""The DMP rule table drives the vectorised verdict: on every combination of patient status,
qualified identity, installed software, defect and rules in force, ``dmp_verdict`` (the lookup
tables the NumPy path and the Numba kernel share) equals the first reason in force whose
condition holds, read straight from agents/dmp_rules.py. The kernel's equality with NumPy is
tests/test_kernels.py's."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import agents.dmp_rules as table
import agents.services.dmp as dmp
from agents.defects import DEFECT_NAMES, defect_name
from simulator.core.outcomes import ACCEPTED as ACCEPTED_CODE
from simulator.core.outcomes import REASON_CODES


def _reference(status: int, qualified: bool, installed: bool, defect: int, rules: dmp.DmpRules) -> int:
    """The verdict by the table's definition, one row at a time."""
    st, q = np.uint8(status), np.bool_(qualified)
    found = {name for name, cond in dmp.STATUS_CONDITIONS.items() if bool(cond(st, q))}
    if defect:
        found.add(table.DEFECTS[defect_name(defect)])
    if not installed:
        found.add("software_not_installed")
    reason = table.first_reason(found, rules.switches())
    return ACCEPTED_CODE if reason == table.ACCEPTED else REASON_CODES[reason]


@pytest.mark.parametrize("require_qualified, reject_legacy", list(itertools.product([False, True], repeat=2)))
def test_the_vectorised_verdict_is_the_tables_first_reason_in_force(require_qualified, reject_legacy):
    rows = list(itertools.product(range(256), (False, True), (False, True), range(len(DEFECT_NAMES) + 1)))  # bit 7: ID_QUALIFIED
    status, qualified, installed, defect = (np.array(c) for c in zip(*rows, strict=True))
    n = len(rows)
    batch = dmp.Batch(0, 0, np.zeros(n, np.int32), np.arange(n, dtype=np.int32), np.zeros(n, np.uint8),
                      qualified.astype(bool), installed.astype(bool), defect.astype(np.uint8))
    patients = type("P", (), {"status": status.astype(np.uint8), "profile_version": 0})()
    rules = dmp.DmpRules(require_qualified, reject_legacy)
    got = dmp.dmp_verdict(batch, patients, rules)
    want = np.array([_reference(*r, rules) for r in rows], dtype=np.uint8)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [rows[i] for i in bad[:5]]


def test_the_fhir_side_ranks_the_document_reasons_of_the_table():
    from agents.fhir.verdict import REASON_PRECEDENCE

    assert REASON_PRECEDENCE == tuple(r.name for r in table.REASONS if r.part == table.DOCUMENT)
    assert set(table.DEFECTS.values()) <= set(REASON_PRECEDENCE)
