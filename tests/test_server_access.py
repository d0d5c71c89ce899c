"""Who may do what on the simulated DMP (SQLite and PostgreSQL): no or bad token → 401; patients
do not submit; a professional reads records of patients with an open profile only, never a
document masked from professionals unless its author or the médecin traitant; a patient reads
only their own documents; every access (granted or not) is in the access log."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from simulator.server.auth import AUDIENCE, ISSUER, Keys, Principal
from tests.support_server import bundle_for, dmp_fixture, location, rule_ids  # noqa: F401 - a fixture


def _post_doc(dmp, patient, author, **kw) -> str:
    r = dmp.post(bundle_for(patient, author, **kw), token=dmp.pro_token(author.id_nat_ps))
    assert r.status_code == 200, r.text
    return location(r)


def test_no_token_or_a_bad_token_is_401_and_logged(dmp):
    patient = dmp.take_patient()
    other_keys = Keys.generate()
    expired = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "899700000017", "iat": 1, "exp": 2,
                          "kind": "professional", "idNat_PS": "899700000017"}, dmp.keys.private, algorithm="ES256")
    wrong_audience = jwt.encode({"iss": ISSUER, "aud": "elsewhere", "sub": "x", "iat": int(time.time()),
                                 "exp": int(time.time()) + 60, "kind": "patient", "ins": patient.ins},
                                dmp.keys.private, algorithm="ES256")
    cases = [(None, "ACC-001"), ("garbage", "ACC-002"), (expired, "ACC-002"), (wrong_audience, "ACC-002"),
             (other_keys.issue(Principal("professional", "899700000017")), "ACC-002")]
    before = dmp.log(actor_kind="anonymous")
    for token, rule in cases:
        for r in (dmp.post(bundle_for(patient, dmp.author()), token=token),
                  dmp.get(f"DocumentReference?patient.identifier={patient.ins}", token=token),
                  dmp.get("Binary/anything", token=token)):
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
            assert rule_ids(r) == {rule}
    r = httpx.post(dmp.base, content=b"{}", headers={"Authorization": "Basic dXNlcjpwdw==",
                                                     "Content-Type": "application/fhir+json"})
    assert r.status_code == 401
    logged = dmp.log(actor_kind="anonymous")
    # every refusal is counted; anonymous ones in one row per minute, method, status and rule
    assert sum(x.requests for x in logged) - sum(x.requests for x in before) == 3 * len(cases) + 1
    new = logged[len(before):]
    assert len(new) <= 2 * 2 * 2 and {x.status for x in new} <= {401}
    assert {x.outcome for x in logged} >= {"denied ACC-001", "denied ACC-002"}


def test_patients_read_only_their_own_documents(dmp):
    alice, bob, author = dmp.take_patient(), dmp.take_patient(), dmp.author()
    a_doc = _post_doc(dmp, alice, author)
    b_doc = _post_doc(dmp, bob, author)
    alice_token = dmp.patient_token(alice.ins)
    r = dmp.post(bundle_for(alice, author), token=alice_token)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-003"}  # patients do not submit
    assert dmp.get("DocumentReference").status_code == 400  # a professional names the patient
    mine = dmp.get("DocumentReference", token=alice_token).json()  # no patient parameter: their own
    assert [e["resource"]["id"] for e in mine["entry"]] == [a_doc]
    r = dmp.get(f"DocumentReference?patient.identifier={bob.ins}", token=alice_token)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-006"}
    assert dmp.get(f"DocumentReference/{b_doc}", token=alice_token).status_code == 403
    binary = dmp.get(f"DocumentReference/{b_doc}").json()["content"][0]["attachment"]["url"]
    assert dmp.get(binary, token=alice_token).status_code == 403
    assert dmp.get(f"DocumentReference/{a_doc}", token=alice_token).status_code == 200
    log = dmp.log(actor=alice.ins)
    assert [(x.action, x.status) for x in log] == [("provide", 403), ("search", 200), ("search", 403),
                                                   ("read", 403), ("retrieve", 403), ("read", 200)]
    assert all(x.actor_kind == "patient" for x in log)


@pytest.mark.parametrize("state", ["opposed", "closed", "not_created"])
def test_professionals_do_not_read_records_without_an_open_profile(dmp, state):
    patient, author = dmp.take_patient(), dmp.author()
    doc = _post_doc(dmp, patient, author)
    dmp.set_state(patient.ins, state)
    r = dmp.get(f"DocumentReference?patient.identifier={patient.ins}")
    assert r.status_code == 403 and rule_ids(r) == {"ACC-004"}
    assert dmp.get(f"DocumentReference/{doc}").status_code == 403
    assert dmp.get(f"DocumentReference/{doc}", token=dmp.patient_token(patient.ins)).status_code == 200
    denied = dmp.log(patient_ins=patient.ins, status=403)
    assert [x.outcome for x in denied] == ["denied ACC-004", "denied ACC-004"]


def test_documents_masked_from_professionals_and_invisible_to_the_patient(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    plain = _post_doc(dmp, patient, author)
    masked = _post_doc(dmp, patient, author, confidentiality=("N", "MASQUE_PS"))
    invisible = _post_doc(dmp, patient, author, confidentiality=("N", "INVISIBLE_PATIENT"))
    query = f"DocumentReference?patient.identifier={patient.ins}"

    def ids(token: str) -> set[str]:
        r = dmp.get(query, token=token)
        assert r.status_code == 200, r.text
        return {e["resource"]["id"] for e in r.json()["entry"]}

    stranger = dmp.pro_token("899700000099")  # a professional who neither wrote it nor follows the patient
    assert ids(stranger) == {plain, invisible}
    r = dmp.get(f"DocumentReference/{masked}", token=stranger)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-005"}
    binary = dmp.get(f"DocumentReference/{masked}", token=dmp.pro_token(author.id_nat_ps)).json()
    assert dmp.get(binary["content"][0]["attachment"]["url"], token=stranger).status_code == 403
    assert ids(dmp.pro_token(author.id_nat_ps)) == {plain, masked, invisible}  # its author
    if patient.gp_id_nat_ps and patient.gp_id_nat_ps != author.id_nat_ps:
        assert ids(dmp.pro_token(patient.gp_id_nat_ps)) == {plain, masked, invisible}  # the médecin traitant
    own = dmp.patient_token(patient.ins)
    assert ids(own) == {plain, masked}
    assert dmp.get(f"DocumentReference/{invisible}", token=own).status_code == 403
    assert [x.outcome for x in dmp.log(actor="899700000099")] == ["granted 2 of 2", "denied ACC-005",
                                                                  "denied ACC-005"]
