"""Engine rows as FHIR documents: deterministic synthetic identities for a sampled document
(patient INS from the patient index, RPPS / FINESS from the facility index) and the FHIR-side
DMP verdict in the rule context the vectorised DMP was in when it judged the document.

Identities are derived, never stored: the same (run seed, patient index) always gives the
same NIR or NIA, names and traits, so a patient keeps one identity across every sampled
document. Every INS is issued under the INS TEST OID (synthetic data only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from agents.dmp_rules import DEFECTS
from agents.identity import (
    INS_NIR_TEST_OID,
    generate_finess,
    generate_rpps,
    id_nat_ps_from_rpps,
    id_nat_struct_from_finess,
    load_birth_places,
    make_nir,
)
from agents.patients import HAS_INS, INSI_OK, IS_NIA

SEX = {1: "male", 2: "female"}


def _name_key(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def identity_rng(seed: int, kind: str, index: int) -> np.random.Generator:
    """The generator of one agent's identity: seeded from (run seed, kind, agent index) only,
    so that it does not depend on which documents were sampled or in what order."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *_name_key(kind), int(index)])))


@lru_cache(maxsize=1)
def _prefectures() -> dict[str, str]:
    """INSEE code of each département's prefecture (the birth place given to NIR patients)."""
    return {p.departement: p.code for p in load_birth_places() if p.kind == "prefecture"}


@lru_cache(maxsize=1)
def _countries() -> tuple[str, ...]:
    """INSEE codes (99xxx) of the reference countries of birth (NIA holders are born abroad)."""
    return tuple(p.code for p in load_birth_places() if p.kind == "country")


@lru_cache(maxsize=1)
def _names() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    from faker.providers.person.fr_FR import Provider as FrenchNames

    return FrenchNames.last_names, {
        "female": FrenchNames.first_names_female,
        "male": FrenchNames.first_names_male,
    }


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))]


def patient_identity(seed: int, index: int, status: int, sex: int, birth: np.datetime64,
                     dept_code: str) -> dict[str, Any]:
    """INS and the five traits of simulated patient ``index``: a NIR built from sex, birth
    date and département (born in its prefecture), a NIA (provisional sex digit, born in a
    drawn country) for IS_NIA patients, ``ins=None`` without HAS_INS. The order number,
    country and names (Faker's fr_FR lists) come from the patient's own generator."""
    rng = identity_rng(seed, "payloads:patient", index)
    gender = SEX.get(int(sex), "female")
    year, month = int(str(birth)[:4]), int(str(birth)[5:7])
    ins: str | None = None
    place = _prefectures().get(dept_code, "75056")
    is_nia = bool(status & IS_NIA)
    if is_nia:
        place = _pick(rng, _countries())
    order = int(rng.integers(1, 1000))
    if status & HAS_INS:
        ins = make_nir(gender, year, month, place, order, provisional=is_nia)
    last, firsts = _names()
    return {
        "ins": ins,
        "ins_oid": INS_NIR_TEST_OID,
        "family": _pick(rng, last),
        "given": (_pick(rng, firsts[gender]),),
        "birth_date": str(birth),
        "sex": gender,
        "birth_place": place,
    }


def facility_identity(seed: int, sector: str, facility: int, dept_code: str, label: str) -> dict[str, Any]:
    """Author (idNat_PS = 8 + a test-range RPPS) and organisation (idNat_Struct = 1 + FINESS
    in the facility's département) of simulated facility ``facility`` of ``sector``."""
    rng = identity_rng(seed, f"payloads:facility:{sector}", facility)
    rpps = generate_rpps(rng, 1)[0]
    finess = generate_finess(rng, 1, departement=dept_code)[0]
    last, firsts = _names()
    return {
        "author_id_nat_ps": id_nat_ps_from_rpps(rpps),
        "author_family": _pick(rng, last),
        "author_given": _pick(rng, firsts["female" if rng.random() < 0.5 else "male"]),
        "org_id_nat_struct": id_nat_struct_from_finess(finess),
        "org_name": f"{label} n° {facility + 1} (simulé)",
    }


def identity_status(status: int, qualified: bool) -> str:
    """RNIV status a producer sends: QUAL when it qualified the identity and INSi answered 00;
    RECUP when INSi answered 00 but the identity was not checked; VALI when checked without an
    INSi answer; PROV otherwise."""
    insi_ok = bool(status & INSI_OK) and bool(status & HAS_INS)
    return {(True, True): "QUAL", (True, False): "RECUP", (False, True): "VALI", (False, False): "PROV"}[
        (insi_ok, bool(qualified))
    ]


def rendered_defect(defect: str | None, has_ins: bool) -> str | None:
    """The defect to render: an INS defect (reason bad_ins) has nothing to corrupt when the
    patient has no INS (the DMP then says ins_missing, as the vectorised verdict does)."""
    if defect is None or (not has_ins and DEFECTS.get(defect) == "bad_ins"):
        return None
    return defect


def _rule_context(require_qualified_identity: bool | None, switches: Mapping[str, bool] | None) -> dict[str, bool]:
    """The rule switches on or off (``switches``, or the qualified-identity switch alone)."""
    if switches is not None:
        return dict(switches)
    return {"require_qualified_identity": bool(require_qualified_identity)}


def fhir_verdict(findings: Iterable[Any], *, require_qualified_identity: bool | None = None,
                 switches: Mapping[str, bool] | None = None) -> str:
    """The FHIR-side DMP verdict in a rule context (``switches`` of agents/dmp_rules.py; a
    switch not named is off): before the qualified-identity rule is in force the DMP accepts
    non-QUAL identities, so that reason does not count then (the rule table's reducer, as for
    every verdict)."""
    # the FHIR package (rules, fhir.resources models) loads only when a payload is judged (start-up time)
    from agents.fhir.verdict import dmp_verdict

    return dmp_verdict(findings, _rule_context(require_qualified_identity, switches))


@dataclass(frozen=True)
class JudgedPayload:
    """One sampled document rendered as an ITI-65 bundle, its findings and FHIR verdict."""

    bundle: dict
    errors: tuple[str, ...]  # rule ids of the error findings
    warnings: tuple[str, ...]
    verdict: str


def judge_row(row: Mapping[str, Any] | Any, *, require_qualified_identity: bool | None = None,
              switches: Mapping[str, bool] | None = None, structural: bool = False) -> JudgedPayload:
    """Render a document row (``render_bundle`` keys, or a DocumentSpec) and give the FHIR-side
    verdict in the rule context."""
    # the FHIR package (rules, fhir.resources models) loads only when a payload is judged (start-up time)
    from agents.fhir import render_bundle, validate_resource

    bundle = render_bundle(row)
    findings = validate_resource(bundle, structural=structural)
    errors = tuple(sorted({f.rule_id for f in findings if f.severity == "error"}))
    warnings = tuple(sorted({f.rule_id for f in findings if f.severity == "warning"}))
    verdict = fhir_verdict(findings, switches=_rule_context(require_qualified_identity, switches))
    return JudgedPayload(bundle, errors, warnings, verdict)
