"""Small parts of the simulated DMP and its emitter, without a server: how an answer's verdict
is read, search parameters, the verdict's precedence, database URLs and keys."""

from __future__ import annotations

import json

import pytest

from simulator.core.errors import UsageError
from simulator.server.auth import Keys, Principal, TokenError
from simulator.server.config import database_url, default_key_path
from simulator.server.conformance import Finding
from simulator.server.emit_client import verdict_of
from simulator.server.fhir_http import HttpProblem
from simulator.server.judge import Rules, status_of
from simulator.server.judge import verdict_of as judge
from simulator.server.search import parse_query


def _oo(*diagnostics: str) -> bytes:
    return json.dumps({"resourceType": "OperationOutcome",
                       "issue": [{"severity": "error", "code": "invalid", "diagnostics": d} for d in diagnostics]}).encode()


def test_the_emitter_reads_verdicts_from_any_endpoint():
    assert verdict_of(201, {}, b"") == "accepted"
    assert verdict_of(422, {"x-dmp-verdict": "bad_ins"}, b"") == "bad_ins"
    assert verdict_of(422, {}, _oo("DMP reason: identity_not_qualified", "DMP reason: bad_ins")) == "bad_ins"
    assert verdict_of(403, {}, _oo("DMP verdict: profile_closed", "DMP reason: ins_missing")) == "profile_closed"
    assert verdict_of(400, {}, b"<html>nope</html>") == "refused_400"
    assert verdict_of(422, {}, _oo("something else")) == "refused_422"


def test_the_verdict_follows_the_simulated_dmps_precedence():
    f = [Finding("DMP-002", "error", "List.subject", "opposed", "profile_opposed"),
         Finding("IDV-001", "error", "Patient", "PROV", "identity_not_qualified"),
         Finding("INS-006", "warning", "Patient", "test OID", None)]
    always, never = Rules("", ""), Rules(None, None)
    assert judge(f, always, "2025-01-08").verdict == "identity_not_qualified"
    assert judge(f, never, "2025-01-08").verdict == "profile_opposed"  # the rule is not in force
    assert judge(f, Rules("2025-02-01", ""), "2025-01-08").verdict == "profile_opposed"
    assert judge(f, Rules("2025-02-01", ""), "2025-02-01").verdict == "identity_not_qualified"
    f.append(Finding("DMP-001", "error", "author", "legacy", "software_not_installed"))
    assert judge(f, always, None).verdict == "software_not_installed"
    assert judge(f[2:3], always, None).verdict == "accepted"
    assert [status_of(v) for v in ("accepted", "bad_ins", "no_profile", "duplicate_unique_id")] == [200, 422, 403, 409]


def test_search_parameters_are_parsed_or_refused():
    q = parse_query([("patient.identifier", "urn:oid:1.2.250.1.213.1.4.10|167063523891978"),
                     ("type", "http://loinc.org|11488-4,57833-6"), ("date", "ge2025-01"), ("date", "lt2025-01-09"),
                     ("_count", "900"), ("_format", "json")])
    assert q.ins == ["167063523891978"]
    assert [(c.name, c.values) for c in q.criteria][1:] == [
        ("type", ["http://loinc.org|11488-4", "57833-6"]), ("date", ["ge2025-01"]), ("date", ["lt2025-01-09"])]
    assert q.count == 500
    for bad in [("date", "2025-13-01"), ("date", "soon"), ("status", "deleted"), ("_offset", "-2"),
                ("creation", "ge2025-02-30"), ("status:missing", "maybe")]:
        with pytest.raises(HttpProblem) as err:
            parse_query([bad])
        assert err.value.status == 400
    assert parse_query([("author", "x"), ("type:below", "x")]).ignored == ["author (is not supported)",
                                                                         "type:below (has an unsupported modifier :below)"]
    with pytest.raises(HttpProblem) as err:
        parse_query([("author", "x")], strict=True)
    assert err.value.status == 400


def test_database_urls_and_key_places(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_DMP_KEY", raising=False)
    assert database_url("postgresql://me@db/dmp") == "postgresql+psycopg://me@db/dmp"
    url = database_url(str(tmp_path / "x.sqlite"))
    assert url == f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert default_key_path(url) == tmp_path / "x.sqlite.key"
    for bad in ("", "mysql://x/y", str(tmp_path)):
        with pytest.raises(UsageError):
            database_url(bad)


def test_tokens_round_trip_and_are_bound_to_their_key():
    keys, other = Keys.generate(), Keys.generate()
    pro = keys.verify(keys.issue(Principal("professional", "810003456789", "60")))
    assert pro == Principal("professional", "810003456789", "60")
    assert keys.verify(keys.issue(Principal("patient", "167063523891978"))).kind == "patient"
    with pytest.raises(TokenError):
        other.verify(keys.issue(Principal("patient", "167063523891978")))
    with pytest.raises(TokenError):
        keys.verify("not.a.token")
    assert keys.jwks()["keys"][0]["kid"] == keys.kid
