"""One rule table for every judge: a rule added to a scratch copy of agents/dmp_rules.py is
enforced by the simulation (the vectorised DMP), the validator, the server (over HTTP) and
``segur emit``'s reading of the answers, with the precedence the table gives it; when the
scratch table is taken away, all four are back to the real one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import create_engine

import agents.dmp_rules as table
import agents.services.dmp as dmp
from agents.defects import defect_code
from agents.fhir import dmp_verdict, render_bundle, validate_resource
from agents.fhir.rules.base import ERROR, rule, unregister
from agents.patients import CREATED, HAS_INS, INSI_OK
from simulator.server.auth import load_keys
from simulator.server.config import ServerConfig
from simulator.server.emit_client import verdict_of as emit_verdict
from simulator.server.testing import running_server
from tests.support_server import DEMO, MAX_BODY, Dmp, _start, spec_for

NEW = "document_undescribed"  # the rule being tried: the DMP refuses a document without description
NEW_CODE = 200  # its outcome code while it is tried (simulator/core/outcomes.py does not know it)


def scratch_reasons() -> tuple[table.Reason, ...]:
    """The real table with the new document reason ranked right after ins_missing."""
    reasons = list(table.REASONS)
    at = [r.name for r in reasons].index("ins_missing") + 1
    reasons.insert(at, table.Reason(NEW, table.DOCUMENT, None, "no description"))
    return tuple(reasons)


def undescribed(docref: dict, ctx: object) -> Iterator[tuple[str, str]]:
    if "description" not in docref:
        yield ".description", "no description"


@pytest.fixture(name="scratch")
def scratch_fixture() -> Iterator[None]:
    """The scratch table in force, with the FHIR rule that detects the new reason, and the
    defect the simulation samples for it (``bad_author_id``, re-pointed)."""
    defects = {**table.DEFECTS, "bad_author_id": NEW}
    with table.scratch_table(scratch_reasons(), defects, {NEW: NEW_CODE}):
        rule("TST-001", ERROR, "DocumentReference", "DocumentReference.description",
             "A document is described (scratch rule).", reason=NEW)(undescribed)
        try:
            yield
        finally:
            unregister("TST-001")


def two_defects(spec: dict | None = None) -> dict:
    """A rendered ITI-65 with no description AND a retired type code (invalid_metadata)."""
    from agents.fhir import synthetic_document

    return render_bundle(spec or synthetic_document(7), defect="retired_type_code")


def test_the_simulation_enforces_the_new_rule_by_its_precedence(scratch) -> None:
    status = np.array([HAS_INS | INSI_OK | CREATED], dtype=np.uint8)
    defect = np.array([defect_code("bad_author_id")], dtype=np.uint8)
    rules = dmp.DmpRules()
    assert dmp.document_verdict(status, np.array([True]), defect, rules)[0] == NEW_CODE
    assert NEW_CODE in dmp.DOCUMENT_REASONS


def test_the_simulation_is_back_to_the_real_table_afterwards() -> None:
    from simulator.core import outcomes as oc

    status = np.array([HAS_INS | INSI_OK | CREATED], dtype=np.uint8)
    defect = np.array([defect_code("bad_author_id")], dtype=np.uint8)
    assert dmp.document_verdict(status, np.array([True]), defect, dmp.DmpRules())[0] == oc.REJECT_METADATA
    assert NEW not in table.precedence() and "TST-001" not in __import__("agents.fhir", fromlist=["RULES"]).RULES


def test_the_validator_enforces_the_new_rule_by_its_precedence(scratch) -> None:
    findings = validate_resource(two_defects())
    reasons = {f.reason for f in findings if f.severity == "error"}
    assert {NEW, "invalid_metadata"} <= reasons
    assert dmp_verdict(findings) == NEW  # ranked above invalid_metadata in the scratch table


def test_emit_reads_the_scratch_precedence(scratch) -> None:
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "DMP reason: invalid_metadata"},
        {"severity": "error", "code": "invalid", "diagnostics": f"DMP reason: {NEW}"},
    ]}).encode()
    assert emit_verdict(422, {}, body) == NEW


def test_emit_without_the_scratch_table() -> None:
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": f"DMP reason: {NEW}"},
        {"severity": "error", "code": "invalid", "diagnostics": "DMP reason: invalid_metadata"},
    ]}).encode()
    assert emit_verdict(422, {}, body) == "invalid_metadata"


def test_the_server_enforces_the_new_rule_over_http(scratch, tmp_path) -> None:
    with _start("sqlite", tmp_path) as db:
        config = ServerConfig.build(db, str(tmp_path / "dmp.key"), scenario=DEMO, max_body=MAX_BODY)
        with running_server(config) as base:
            engine = create_engine(config.db_url)
            try:
                server = Dmp(base, config, load_keys(config.key_path), engine)
                patient, author = server.take_patient(), server.author()
                before = server.counts()
                answer = server.post(two_defects(spec_for(patient, author)))
                assert answer.status_code == 422, answer.text
                assert answer.headers["x-dmp-verdict"] == NEW
                assert emit_verdict(answer.status_code, answer.headers, answer.content) == NEW
                assert server.counts() == before
                # a document the new rule accepts (described, otherwise valid) is stored
                bundle = render_bundle(spec_for(patient, author))
                for e in bundle["entry"]:
                    if e["resource"]["resourceType"] == "DocumentReference":
                        e["resource"]["description"] = "Compte rendu"
                ok = server.post(bundle)
                assert ok.status_code == 200, ok.text
            finally:
                engine.dispose()
