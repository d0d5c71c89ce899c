"""Fixtures of the simulated DMP's tests: a server seeded from the demo territory, running in a
thread on a free 127.0.0.1 port, on SQLite and on a throwaway PostgreSQL cluster (skipped with
the reason when PostgreSQL is not installed), and helpers to make bundles for its patients."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, delete, func, insert, select, update

from simulator.server import schema as S
from simulator.server.auth import Keys, Principal, load_keys
from simulator.server.config import ServerConfig
from simulator.server.pg_throwaway import pg_bindir, throwaway_postgres
from simulator.server.testing import running_server

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "scenarios" / "demo.toml")
MAX_BODY = 2 * 1024 * 1024
CREATED = "2025-01-08T10:00:00+01:00"  # inside the demo's seeded week
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Dmp:
    """A running simulated DMP and what a test needs to talk to it."""

    base: str
    config: ServerConfig
    keys: Keys
    engine: Any
    _patients: Any = field(default=None, repr=False)

    # -- tokens ---------------------------------------------------------------------------
    def pro_token(self, id_nat_ps: str = "899700000017") -> str:
        return self.keys.issue(Principal("professional", id_nat_ps, "10"))

    def patient_token(self, ins: str) -> str:
        return self.keys.issue(Principal("patient", ins))

    def headers(self, token: str | None = None, ctype: str = "application/fhir+json") -> dict[str, str]:
        h = {"Content-Type": ctype, "Accept": "application/fhir+json"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        return h

    # -- the store ------------------------------------------------------------------------
    def rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def count(self, table: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

    def counts(self) -> tuple[int, int, int]:
        """(submissions, documents, binaries): what a refusal must leave unchanged."""
        return self.count(S.submissions), self.count(S.documents), self.count(S.binaries)

    def take_patient(self) -> Any:
        """A seeded patient with an open or activated profile, a different one at each call."""
        if self._patients is None:
            rows = self.rows(select(S.patients).where(S.patients.c.profile_state.in_(("open", "activated")))
                             .order_by(S.patients.c.ins))
            self._patients = iter(rows)
        return next(self._patients)

    def author(self, legacy: bool = False) -> Any:
        """A seeded professional on Ségur software (or, ``legacy``, one without)."""
        p = S.professionals
        cond = p.c.segur_software_since.is_(None) if legacy else p.c.segur_software_since <= "2025-01-01"
        rows = self.rows(select(p).where(cond).order_by(p.c.id_nat_ps))
        if not rows:
            pytest.skip("no such professional in the seeded world")
        return rows[0]

    def set_state(self, ins: str, state: str) -> None:
        """Put a patient's profile in ``state`` for the whole timeline (a plain SQL update)."""
        with self.engine.begin() as conn:
            conn.execute(delete(S.profile_states).where(S.profile_states.c.ins == ins))
            conn.execute(insert(S.profile_states).values(ins=ins, since="2000-01-01", state=state))
            conn.execute(update(S.patients).where(S.patients.c.ins == ins).values(profile_state=state))

    def log(self, **where: Any) -> list[Any]:
        a = S.access_log
        q = select(a).order_by(a.c.id)
        for k, v in where.items():
            q = q.where(getattr(a.c, k) == v)
        return self.rows(q)

    # -- posting --------------------------------------------------------------------------
    def post(self, bundle: Any, token: str | None = "", **kw: Any) -> httpx.Response:
        """POST a bundle; by default with the token of its first document's author (direct
        authentication, so that the authorship rule passes), else the default professional's."""
        if token == "":
            authors = bundle_authors(bundle) if isinstance(bundle, dict) else []
            token = self.pro_token(authors[0]) if authors else self.pro_token()
        body = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
        return httpx.post(self.base, content=body, headers=self.headers(token, kw.pop("ctype", "application/fhir+json")),
                          timeout=30, **kw)

    def get(self, path: str, token: str | None = "", **kw: Any) -> httpx.Response:
        token = self.pro_token() if token == "" else token
        headers = self.headers(token)
        headers.update(kw.pop("headers", {}))
        return httpx.get(f"{self.base}/{path}", headers=headers, timeout=30, **kw)


def spec_for(patient: Any, author: Any, **overrides: Any) -> dict[str, Any]:
    """A document for a seeded patient by a seeded professional (QUAL identity, J66 type)."""
    spec = {
        "doc_id": f"test-{uuid.uuid4().hex[:12]}", "type_code": "11488-4", "created": CREATED,
        "ins": patient.ins, "ins_oid": patient.ins_oid, "family": patient.family, "given": (patient.given,),
        "birth_date": patient.birth_date, "sex": patient.sex, "birth_place": patient.birth_place,
        "identity_status": "QUAL", "author_id_nat_ps": author.id_nat_ps, "author_family": author.family,
        "author_given": author.given, "org_id_nat_struct": author.id_nat_struct or "1350000009",
        "org_name": author.organisation or "Structure de test",
    }
    spec.update(overrides)
    return spec


def bundle_for(patient: Any, author: Any, **overrides: Any) -> dict[str, Any]:
    from agents.fhir import render_bundle

    return render_bundle(spec_for(patient, author, **overrides))


def bundle_authors(bundle: dict[str, Any]) -> list[str]:
    """The authors (idNat_PS) a bundle's documents name."""
    from simulator.server.authorship import bundle_authorship

    try:
        return [a for d in bundle_authorship(bundle) for a in d.authors]
    except (AttributeError, TypeError):
        return []


def binary_bytes(bundle: dict[str, Any]) -> bytes:
    """The document content a bundle carries (its Binary)."""
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == "Binary":
            return base64.b64decode(e["resource"]["data"])
    raise AssertionError("no Binary in the bundle")


def location(response: httpx.Response, rtype: str = "DocumentReference") -> str:
    """The logical id the server gave the first resource of ``rtype`` in a transaction-response."""
    for e in response.json()["entry"]:
        loc = e["response"].get("location", "")
        if loc.startswith(f"{rtype}/"):
            return loc.split("/")[1]
    raise AssertionError(f"no {rtype} location in {response.text[:300]}")


def rule_ids(response: httpx.Response) -> set[str]:
    """The rule ids an OperationOutcome names (checked to be valid FHIR R4B on the way)."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    data = response.json()
    OperationOutcome.model_validate(data)
    return {c["code"] for i in data["issue"] for c in (i.get("details") or {}).get("coding", [])
            if c.get("system") == "urn:segur-testbed:conformance-rule"}


def xds_codes(response: httpx.Response) -> dict[str, set[str]]:
    """The XDS error codes of an OperationOutcome, by the rule id beside them ('' for the verdict)."""
    out: dict[str, set[str]] = {}
    for issue in response.json()["issue"]:
        codings = (issue.get("details") or {}).get("coding", [])
        rule = next((c["code"] for c in codings if c["system"] == "urn:segur-testbed:conformance-rule"), "")
        xds = {c["code"] for c in codings if c["system"] == "urn:segur-testbed:xds-error-code"}
        if xds:
            out.setdefault(rule, set()).update(xds)
    return out


_ids = itertools.count()


def _start(kind: str, tmp: Path):
    if kind == "postgresql":
        if pg_bindir() is None:
            pytest.skip("PostgreSQL binaries not found (Debian package postgresql; .ci/run installs it)")
        return throwaway_postgres()
    from contextlib import nullcontext

    return nullcontext(str(tmp / f"dmp-{next(_ids)}.sqlite"))


def seeded_dmp(kind: str, tmp: Path) -> Iterator[Dmp]:
    """A simulated DMP on ``kind`` (sqlite, postgresql) seeded from the demo world, served while
    the generator is open."""
    with _start(kind, tmp) as db:
        config = ServerConfig.build(db, str(tmp / "dmp.key"), scenario=DEMO, max_body=MAX_BODY)
        with running_server(config) as base:
            engine = create_engine(config.db_url)
            try:
                yield Dmp(base, config, load_keys(config.key_path), engine)
            finally:
                engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS, name="dmp")
def dmp_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A seeded simulated DMP on SQLite, then on PostgreSQL."""
    yield from seeded_dmp(request.param, tmp_path_factory.mktemp("dmp"))
