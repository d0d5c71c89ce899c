"""The simulated DMP against a hostile or careless client (SQLite and PostgreSQL): who may write
what (the DMP's EX_2.1-1140: an author, or the author's structure), DMP-001 on the submitter's
software, replacement only by one who may read the document and wrote it; every malformed
request answered 4xx with an OperationOutcome on a connection that stays usable; bounded work."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse

from sqlalchemy import delete, insert, select

from simulator.server import schema as S
from simulator.server.auth import Principal
from simulator.server.fhir_http import MAX_DEPTH, MAX_ITEMS
from tests.support_server import bundle_for, dmp_fixture, location, rule_ids  # noqa: F401 - a fixture


def professionals(dmp) -> list:
    p = S.professionals
    return dmp.rows(select(p).where(p.c.segur_software_since <= "2025-01-01").order_by(p.c.id_nat_ps))


def stored(dmp, doc_id: str) -> str | None:
    return next(iter(r.status for r in dmp.rows(select(S.documents.c.status).where(S.documents.c.id == doc_id))),
                None)


def add_professional(dmp, id_nat_ps: str, structure: str, since: str | None) -> None:
    """A professional in the directory (plain SQL), in ``structure``, Ségur software ``since``."""
    with dmp.engine.begin() as conn:
        conn.execute(delete(S.professionals).where(S.professionals.c.id_nat_ps == id_nat_ps))
        conn.execute(insert(S.professionals).values(
            id_nat_ps=id_nat_ps, family="TEST", given="Test", profession="10", sector="gp",
            id_nat_struct=structure, organisation="Structure de test", segur_software_since=since))


# -- who may write what ----------------------------------------------------------------------
def test_a_professional_cannot_file_under_a_colleagues_name(dmp):
    patient = dmp.take_patient()
    alice, bob = professionals(dmp)[:2]
    before = dmp.counts()
    r = dmp.post(bundle_for(patient, bob), token=dmp.pro_token(alice.id_nat_ps))
    assert r.status_code == 403 and rule_ids(r) == {"ACC-007"}
    assert dmp.counts() == before
    row = dmp.log(actor=alice.id_nat_ps, action="provide")[-1]
    assert (row.status, row.outcome, row.author) == (403, "denied ACC-007", bob.id_nat_ps)
    masked = bundle_for(patient, bob, confidentiality=("N", "MASQUE_PS"))
    r = dmp.post(masked, token=dmp.pro_token("899700000099"))  # unknown to the directory
    assert r.status_code == 403 and rule_ids(r) == {"ACC-007"} and dmp.counts() == before
    assert dmp.post(bundle_for(patient, bob), token=dmp.pro_token(bob.id_nat_ps)).status_code == 200


def test_a_structure_files_for_its_own_professionals_only(dmp):
    """Indirect authentication: the token's structure is the author's institution."""
    patient = dmp.take_patient()
    author, other = professionals(dmp)[:2]
    assert author.id_nat_struct and other.id_nat_struct and author.id_nat_struct != other.id_nat_struct
    secretary = "899700000211"  # not in the directory: the structure vouches for them
    ours = dmp.keys.issue(Principal("professional", secretary, "10", author.id_nat_struct))
    theirs = dmp.keys.issue(Principal("professional", secretary, "10", other.id_nat_struct))
    r = dmp.post(bundle_for(patient, author), token=theirs)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-007"}
    # naming the other structure as the author's institution does not help: the directory knows the author
    r = dmp.post(bundle_for(patient, author, org_id_nat_struct=other.id_nat_struct), token=theirs)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-007"}
    r = dmp.post(bundle_for(patient, author), token=ours)
    assert r.status_code == 200, r.text
    row = dmp.log(actor=secretary, action="provide")[-1]
    assert (row.actor_structure, row.author, row.outcome) == (author.id_nat_struct, author.id_nat_ps, "accepted")


def test_the_software_rule_judges_the_submitter_not_the_named_author(dmp):
    patient = dmp.take_patient()
    structure = professionals(dmp)[-1].id_nat_struct  # a valid idNat_Struct; two more professionals in it
    add_professional(dmp, "899700000302", structure, None)  # no Ségur software
    add_professional(dmp, "899700000303", structure, "2024-06-01")  # Ségur software
    legacy = type("A", (), {"id_nat_ps": "899700000302", "family": "TEST", "given": "Test",
                            "id_nat_struct": structure, "organisation": "Structure de test"})
    equipped = type("A", (), {**legacy.__dict__, "id_nat_ps": "899700000303"})
    # as themselves: refused for their software
    r = dmp.post(bundle_for(patient, legacy), token=dmp.pro_token(legacy.id_nat_ps))
    assert r.status_code == 403 and r.headers["x-dmp-verdict"] == "software_not_installed"
    # naming an equipped colleague as the author: refused (not an author), never accepted
    r = dmp.post(bundle_for(patient, equipped), token=dmp.pro_token(legacy.id_nat_ps))
    assert r.status_code == 403 and rule_ids(r) == {"ACC-007"}
    # the same document filed by the legacy professional for the structure: the software is theirs
    r = dmp.post(bundle_for(patient, equipped), token=dmp.keys.issue(
        Principal("professional", legacy.id_nat_ps, "10", structure)))
    assert r.status_code == 403 and r.headers["x-dmp-verdict"] == "software_not_installed"
    # the equipped colleague files the legacy one's document for the structure: accepted
    r = dmp.post(bundle_for(patient, legacy), token=dmp.keys.issue(
        Principal("professional", equipped.id_nat_ps, "10", structure)))
    assert r.status_code == 200, r.text


def test_replacing_needs_the_right_to_read_and_authorship(dmp):
    patient = dmp.take_patient()
    alice, bob = professionals(dmp)[:2]
    if patient.gp_id_nat_ps in (alice.id_nat_ps, bob.id_nat_ps):
        patient = dmp.take_patient()
    masked = location(dmp.post(bundle_for(patient, alice, confidentiality=("N", "MASQUE_PS"))))
    plain = location(dmp.post(bundle_for(patient, alice)))
    bob_token = dmp.pro_token(bob.id_nat_ps)
    assert dmp.get(f"DocumentReference/{masked}", token=bob_token).status_code == 403
    before = dmp.counts()
    r = dmp.post(bundle_for(patient, bob, replaces=masked), token=bob_token)
    assert r.status_code == 403 and rule_ids(r) == {"ACC-005"}
    r = dmp.post(bundle_for(patient, bob, replaces=plain), token=bob_token)  # readable, but not bob's
    assert r.status_code == 403 and rule_ids(r) == {"ACC-008"}
    assert dmp.counts() == before and stored(dmp, masked) == stored(dmp, plain) == "current"
    r = dmp.post(bundle_for(patient, alice, replaces=masked))  # its author may
    assert r.status_code == 200, r.text
    assert stored(dmp, masked) == "superseded"
    outcomes = [x.outcome for x in dmp.log(actor=bob.id_nat_ps, action="provide")[-2:]]
    assert outcomes == ["denied ACC-005", "denied ACC-008"]


# -- malformed requests: 4xx, an OperationOutcome, the connection kept -------------------------
def _body_cases(dmp) -> dict[str, bytes]:
    patient, author = dmp.take_patient(), dmp.author()
    text = json.dumps(bundle_for(patient, author))
    head = '{"resourceType": "Bundle", "type": "transaction", '
    return {
        "NUL in a string": text.replace('"transaction"', '"trans\\u0000action"', 1).encode(),
        "NUL in an identifier": text.replace(patient.ins, patient.ins[:-1] + "\\u0000", 1).encode(),
        "lone surrogate": text.replace('"transaction"', '"\\ud800"', 1).encode(),
        "5,000-digit integer": (head + '"total": ' + "9" * 5000 + ', "entry": []}').encode(),
        "1e400": (head + '"total": 1e400, "entry": []}').encode(),
        "NaN": text.replace('"transaction"', '"transaction", "total": NaN', 1).encode(),
        "Infinity": text.replace('"transaction"', '"transaction", "total": -Infinity', 1).encode(),
        "duplicate keys": text.replace('"transaction"', '"transaction", "type": "batch"', 1).encode(),
        "100,000-deep": (head + '"entry": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        f"{MAX_DEPTH + 1} levels": (head + '"entry": [' + '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "]}").encode(),
        "not UTF-8": b'{"resourceType": "Bundle", "id": "\xff"}',
    }


def test_malformed_requests_are_4xx_and_keep_the_connection(dmp):
    url = urllib.parse.urlsplit(dmp.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    token = dmp.pro_token()
    patient = dmp.take_patient()
    before = dmp.counts()
    q = f"/fhir/DocumentReference?patient.identifier={patient.ins}"
    gets = [q + "&_offset=" + str(10**30), q + "&_offset=" + str(2**63), q + "&_count=" + str(2**63),
            q + "&_offset=-1", q + "&type=%00", "/fhir/DocumentReference?patient.identifier=%00",
            q + "&date=9999-12-31", q + "&date=le9999-12-31", "/fhir/DocumentReference/%00",
            "/fhir/Binary/" + "x" * 5000, q + "&%00=1"]
    requests = [("GET", g, b"") for g in gets] + [("POST", "/fhir", b) for b in _body_cases(dmp).values()]
    logged = len(dmp.log(actor=dmp.keys.verify(token).id))
    sock = None
    for method, path, body in requests:
        conn.request(method, path, body=body or None, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
        r = conn.getresponse()
        data = r.read()
        assert 400 <= r.status < 500, (path[:80], body[:80], r.status, data[:300])
        assert json.loads(data)["resourceType"] == "OperationOutcome"
        assert r.getheader("connection", "").lower() != "close"
        assert sock is None or conn.sock is sock, f"the connection was closed after {path[:60]} {body[:60]!r}"
        sock = conn.sock
    refused = dmp.log(actor=dmp.keys.verify(token).id)[logged:]  # each refusal counted, none stored
    assert len(refused) == len(requests) and all(400 <= x.status < 500 for x in refused)
    for path in ("/fhir/Binary/%00", "/fhir/DocumentReference/%00%ff", "/fhir/Binary/%ED%A0%80"):  # no token
        conn.request("GET", path)
        r = conn.getresponse()
        assert r.status == 401 and json.loads(r.read())["resourceType"] == "OperationOutcome"
    conn.request("GET", "/fhir/metadata")
    assert conn.getresponse().status == 200 and conn.sock is sock  # the same connection still serves
    assert dmp.counts() == before


def test_a_bundle_over_the_entry_cap_is_refused_before_the_rules(dmp):
    entry = {"resource": {"resourceType": "Basic"}}  # 40 bytes: 40,000 of them under the 2 MiB body limit
    huge = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry] * 40_000}).encode()
    patient, author = dmp.take_patient(), dmp.author()
    results: dict[str, tuple[int, str, float]] = {}

    def big(i: int) -> None:
        t0 = time.monotonic()
        r = dmp.post(huge)
        results[f"big{i}"] = (r.status_code, r.json()["issue"][0]["diagnostics"], time.monotonic() - t0)

    threads = [threading.Thread(target=big, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    r = dmp.post(bundle_for(patient, author))  # a valid submission meanwhile is not stalled
    small = time.monotonic() - t0
    for t in threads:
        t.join()
    assert r.status_code == 200, r.text
    assert len(results) == 2 and small < 10, (results, small)
    for status, text, seconds in results.values():
        assert status == 413 and f"{MAX_ITEMS:,}" in text and seconds < 10, (status, text, seconds)


def test_the_token_command_takes_a_structure(dmp, capsys):
    from simulator.cli import main

    key = str(dmp.config.key_path)
    assert main(["token", "--rpps", "10003456789", "--structure", "1350000009", "--key", key]) == 0
    principal = dmp.keys.verify(capsys.readouterr().out.strip())
    assert (principal.id, principal.structure) == ("810003456789", "1350000009")
    assert main(["token", "--rpps", "10003456789", "--structure", "a b", "--key", key]) == 2
    assert "--structure" in capsys.readouterr().err


def test_an_unexpected_error_is_a_500_on_a_connection_that_stays(tmp_path, monkeypatch):
    """The last line of defence: a bug becomes a 500 OperationOutcome answered, not raised on to
    uvicorn (which would close the client's keep-alive connection)."""
    import simulator.server.app as server_app
    from simulator.server.auth import load_keys
    from simulator.server.config import ServerConfig
    from simulator.server.testing import running_server

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(server_app, "search", boom)
    config = ServerConfig.build(str(tmp_path / "x.sqlite"), str(tmp_path / "key"), scenario=None)
    with running_server(config) as base:
        token = load_keys(config.key_path).issue(Principal("professional", "899700000017"))
        url = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("GET", "/fhir/DocumentReference?patient.identifier=123456789012345",
                     headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and body["resourceType"] == "OperationOutcome"
        assert "RuntimeError" in body["issue"][0]["diagnostics"] and "a bug" not in body["issue"][0]["diagnostics"]
        sock = conn.sock
        conn.request("GET", "/fhir/metadata")
        assert conn.getresponse().status == 200 and conn.sock is sock


def test_a_store_of_schema_1_is_upgraded_in_place(tmp_path):
    import sqlite3

    from simulator.server.config import ServerConfig
    from simulator.server.store import Store

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the access log as schema 1 had it
        db.execute("CREATE TABLE server_info (key VARCHAR(200) PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO server_info VALUES ('schema', '1')")
        db.execute("CREATE TABLE access_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor_kind VARCHAR(12) NOT NULL,"
                   " actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, patient_ins VARCHAR(15),"
                   " status INTEGER NOT NULL, outcome TEXT NOT NULL)")
        db.execute("INSERT INTO access_log (at, actor_kind, actor, action, target, status, outcome) "
                   "VALUES ('2025', 'anonymous', '-', 'get', '/fhir', 401, 'denied ACC-001')")
    store = Store(ServerConfig.build(str(path), str(tmp_path / "key"), scenario=None))
    store.create_schema()
    store.dispose()
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(access_log)")]
        assert {"actor_structure", "author", "requests"} <= set(columns)
        assert db.execute("SELECT requests FROM access_log").fetchall() == [(1,)]
        assert db.execute("SELECT value FROM server_info WHERE key = 'schema'").fetchone() == (S.SCHEMA_VERSION,)
