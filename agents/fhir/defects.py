"""Injectable defects: named faults that ``render_bundle(..., defect=NAME)`` puts in a bundle.

The engine injects defects by name at rates taken from the scenario; each defect makes the
rendered bundle carry exactly that fault, so that the conformance rules give exactly the DMP
reason listed here (tests check every one). A defect either changes the document description
before rendering (``prepare``) or edits the rendered bundle (``finish``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from agents.dmp_rules import DEFECTS as DEFECT_REASONS
from agents.fhir.spec import DocumentSpec, catalogue_type_codes
from agents.identity import INS_C_OID

#: An OID seen in third-party code for the INS; not an INS authority (domain.md §3).
UNKNOWN_INS_OID = "1.2.250.1.213.1.4.5"


def _same(spec: DocumentSpec) -> DocumentSpec:
    return spec


def _nothing(bundle: dict) -> None:
    return None


@dataclass(frozen=True)
class Defect:
    """One injectable fault; the reason the DMP gives for it is the rule table's
    (agents/dmp_rules.py ``DEFECTS``)."""

    name: str
    description: str
    prepare: Callable[[DocumentSpec], DocumentSpec] = _same
    finish: Callable[[dict], None] = _nothing

    @property
    def reason(self) -> str:
        return DEFECT_REASONS[self.name]


def _entry(bundle: dict, resource_type: str) -> dict:
    for entry in bundle["entry"]:
        if entry.get("resource", {}).get("resourceType") == resource_type:
            return entry
    raise LookupError(resource_type)


def _docref(bundle: dict) -> dict:
    return _entry(bundle, "DocumentReference")["resource"]


def _replace(**changes: object) -> Callable[[DocumentSpec], DocumentSpec]:
    def prepare(spec: DocumentSpec) -> DocumentSpec:
        return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]

    return prepare


def _drop(*keys: str) -> Callable[[dict], None]:
    def finish(bundle: dict) -> None:
        docref = _docref(bundle)
        for key in keys:
            docref.pop(key, None)

    return finish


def _ins(spec: DocumentSpec) -> str:
    return spec.ins if spec.ins is not None else "185077505601223"


def _bad_key(spec: DocumentSpec) -> DocumentSpec:
    ins = _ins(spec)
    wrong = int(ins[13:15]) % 97 + 1
    return dataclasses.replace(spec, ins=f"{ins[:13]}{wrong:02d}")


def _bad_format(spec: DocumentSpec) -> DocumentSpec:
    return dataclasses.replace(spec, ins=_ins(spec)[:14])


def _retired(spec: DocumentSpec) -> DocumentSpec:
    return dataclasses.replace(spec, type_code=catalogue_type_codes(retired=True)[0], class_code=None)


def _bad_author(spec: DocumentSpec) -> DocumentSpec:
    return dataclasses.replace(spec, author_id_nat_ps=spec.author_id_nat_ps[:11])


def _bad_org(spec: DocumentSpec) -> DocumentSpec:
    return dataclasses.replace(spec, org_id_nat_struct=spec.org_id_nat_struct[:9])


def _remove(resource_type: str) -> Callable[[dict], None]:
    def finish(bundle: dict) -> None:
        bundle["entry"].remove(_entry(bundle, resource_type))

    return finish


def _dangling(bundle: dict) -> None:
    item = _entry(bundle, "List")["resource"]["entry"][0]["item"]
    item["reference"] = "urn:uuid:00000000-0000-4000-8000-000000000000"


def _not_transaction(bundle: dict) -> None:
    bundle["type"] = "batch"


def _no_request(bundle: dict) -> None:
    _entry(bundle, "DocumentReference").pop("request", None)


def _untargeted_replacement(bundle: dict) -> None:
    _docref(bundle)["relatesTo"][0].pop("target", None)
    bundle["entry"] = [e for e in bundle["entry"] if e.get("request", {}).get("method") != "PATCH"]


_ALL = [
    Defect("missing_ins", "the patient has no INS: no subject, no INS identifier",
           prepare=_replace(ins=None)),
    Defect("bad_nir_format", "the INS matricule has 14 characters instead of 15",
           prepare=_bad_format),
    Defect("bad_nir_key", "the NIR key (last two digits) does not match 97 − n mod 97",
           prepare=_bad_key),
    Defect("wrong_oid", "the INS is issued under the legacy INS-C OID 1.2.250.1.213.1.4.2",
           prepare=_replace(ins_oid=INS_C_OID)),
    Defect("unknown_oid", f"the INS system is {UNKNOWN_INS_OID}, not an INS authority",
           prepare=_replace(ins_oid=UNKNOWN_INS_OID)),
    Defect("identity_not_qualified", "the identity status is RECUP (retrieved via INSi, never checked against an ID)",
           prepare=_replace(identity_status="RECUP")),
    Defect("missing_type_code", "DocumentReference.type is absent",
           finish=_drop("type")),
    Defect("unknown_type_code", "the type code 00000-0 is not in the catalogue",
           prepare=_replace(type_code="00000-0", class_code="10")),
    Defect("retired_type_code", "the type code is a retired LOINC code (not J66)",
           prepare=_retired),
    Defect("missing_class_code", "DocumentReference.category is absent",
           finish=_drop("category")),
    Defect("bad_class_code", "the class code 99 is not in JDV_J57",
           prepare=_replace(class_code="99")),
    Defect("missing_confidentiality", "DocumentReference.securityLabel is absent",
           finish=_drop("securityLabel")),
    Defect("invalid_confidentiality", "the confidentiality code is R, outside N and the TRE_A07 visibility codes",
           prepare=_replace(confidentiality=("R",))),
    Defect("bad_author_id", "the author's idNat_PS is 8 + 10 digits",
           prepare=_bad_author),
    Defect("missing_author", "DocumentReference.author is absent",
           finish=_drop("author")),
    Defect("bad_org_id", "the organisation's idNat_Struct is 1 + 8 characters",
           prepare=_bad_org),
    Defect("missing_master_identifier", "DocumentReference.masterIdentifier (XDS uniqueId) is absent",
           finish=_drop("masterIdentifier")),
    Defect("missing_binary", "the Binary the attachment points to is absent",
           finish=_remove("Binary")),
    Defect("no_submission_set", "the SubmissionSet List is absent",
           finish=_remove("List")),
    Defect("dangling_reference", "the SubmissionSet lists a urn:uuid that is not in the bundle",
           finish=_dangling),
    Defect("not_transaction", "Bundle.type is batch, not transaction",
           finish=_not_transaction),
    Defect("missing_request", "the DocumentReference entry has no request",
           finish=_no_request),
    Defect("replaces_without_target", "relatesTo says replaces but names no target",
           prepare=_replace(replaces="doc-replaced"), finish=_untargeted_replacement),
]

#: Every injectable defect by name, in documentation order.
DEFECTS: dict[str, Defect] = {d.name: d for d in _ALL}
# every defect of the rule table is rendered here, and nothing else: a forgotten one fails at import
if set(DEFECTS) != set(DEFECT_REASONS):
    raise ImportError("FHIR defects and the DMP rule table differ: "
                      f"not rendered {sorted(set(DEFECT_REASONS) - set(DEFECTS))}, "
                      f"not in agents/dmp_rules.py {sorted(set(DEFECTS) - set(DEFECT_REASONS))}")


def get_defect(name: str) -> Defect:
    """The defect called ``name``; ValueError naming the known defects otherwise."""
    try:
        return DEFECTS[name]
    except KeyError:
        raise ValueError(
            f"unknown defect {name!r}; known defects: {', '.join(DEFECTS)}"
        ) from None


def defects_for_reason(reason: str) -> list[str]:
    """Names of the defects whose DMP reason is ``reason``."""
    return [d.name for d in _ALL if d.reason == reason]
