"""The server judges with the validator's rules: on the shipped official ITI-65 examples and on
one-defect variants of them (batch instead of transaction, an MHD cardinality, a fixed value, a
Binary without data, an INS typed INS-NIA under the NIR OID), ``segur validate`` and
``segur serve`` give the same verdict, and a refused bundle is not stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agents.fhir import dmp_verdict, validate_resource
from agents.fhir.guides import example_files
from agents.fhir.profiles import MHD_SUBMISSION, recognise
from tests.support_fhir import ITI65, load_example
from tests.support_server import Dmp, seeded_dmp

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fhir-examples"
SOURCE_ID = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"


@pytest.fixture(scope="module", name="server")
def server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dmp]:
    """A seeded simulated DMP on SQLite (the validator's rules do not depend on the database)."""
    yield from seeded_dmp("sqlite", tmp_path_factory.mktemp("dmp-validator"))


def submissions() -> list[Path]:
    """Every shipped example (vendored guides, ../shared) that is an ITI-65 submission."""
    paths = [*example_files(), *sorted(SHARED.glob("*.json"))]
    return [p for p in paths if recognise(json.loads(p.read_text(encoding="utf-8"))).submission]


def seeded(server: Dmp, name: str) -> dict:
    """An official example with its placeholder INS replaced by a seeded patient's, and a
    document unique id of its own (the DMP refuses a unique id reused for other content)."""
    patient = server.take_patient()
    text = json.dumps(load_example(name)).replace("urn:oid:1.2.250.1.213.1.4.8", f"urn:oid:{patient.ins_oid}")
    bundle = json.loads(text.replace("123456789012345", patient.ins))
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == "DocumentReference":
            master = e["resource"]["masterIdentifier"]
            master["value"] = f"{master['value']}.{uuid.uuid4().int % 10**12}"
    return bundle


def server_verdict(server: Dmp, bundle: dict) -> tuple[int, str]:
    answer = server.post(bundle)
    return answer.status_code, answer.headers.get("x-dmp-verdict", "accepted" if answer.status_code == 200 else "")


def test_there_are_shipped_submissions() -> None:
    assert len(submissions()) >= 3


@pytest.mark.parametrize("path", submissions(), ids=lambda p: p.name)
def test_validate_and_serve_agree_on_the_shipped_examples(server: Dmp, path: Path) -> None:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    # the DMP judges a bundle declaring IHE MHD's profiles as a DMP submission (validate --as iti65)
    as_profile = "iti65" if recognise(bundle).key == MHD_SUBMISSION else None
    expected = dmp_verdict(validate_resource(bundle, structural=True, as_profile=as_profile))
    before = server.counts()
    status, verdict = server_verdict(server, bundle)
    assert verdict == expected and status == 422  # the guides' placeholder INS: refused by both
    assert server.counts() == before


def _batch(b: dict) -> None:
    b["type"] = "batch"


def _no_source_id(b: dict) -> None:
    lst = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "List")
    lst["extension"] = [e for e in lst["extension"] if e["url"] != SOURCE_ID]


def _snapshot(b: dict) -> None:
    next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "List")["mode"] = "snapshot"


def _no_binary_data(b: dict) -> None:
    next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Binary").pop("data")


def _no_practice_setting(b: dict) -> None:
    next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "DocumentReference")["context"].pop(
        "practiceSetting")


@pytest.mark.parametrize(("breaks", "rule_id"), [
    (_batch, "BDL-001"),
    (_no_source_id, "PRF-003"),
    (_snapshot, "PRF-004"),
    (_no_binary_data, "ATT-004"),
    (_no_practice_setting, "PRF-003"),
], ids=["batch", "no-sourceId", "mode-snapshot", "binary-without-data", "no-practiceSetting"])
def test_one_defect_variants_are_refused_by_both(server: Dmp, breaks: Callable[[dict], None], rule_id: str) -> None:
    bundle = seeded(server, ITI65)
    assert server_verdict(server, json.loads(json.dumps(bundle)))[1] == "accepted"  # the example as is
    bundle = seeded(server, ITI65)
    breaks(bundle)
    findings = validate_resource(bundle, structural=True)
    assert rule_id in {f.rule_id for f in findings if f.severity == "error"}
    before = server.counts()
    answer = server.post(bundle)
    assert answer.status_code == 422, answer.text
    assert answer.headers["x-dmp-verdict"] == dmp_verdict(findings) == "invalid_metadata"
    assert rule_id in answer.text and answer.json()["resourceType"] == "OperationOutcome"
    assert server.counts() == before  # nothing stored, and no transaction-response
