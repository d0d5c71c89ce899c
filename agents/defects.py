"""Injectable document defects and the DMP rejection reason each one earns.

A scenario gives a vendor (or a whole sector's software, vendor '*') a rate per defect kind;
the engine marks documents with the defect and the DMP rejects them with the matching
reason. The payload tier renders the same defect into the FHIR bundle (the names are those of
``agents.fhir.defects``), and the conformance rules must reach the same reason.
"""

from __future__ import annotations

# defect name -> DMP rejection reason (order = integer code used in the engine, 1-based;
# append new defects at the end so that existing codes keep their meaning)
DEFECTS: dict[str, str] = {
    "missing_type_code": "invalid_metadata",
    "retired_type_code": "invalid_metadata",
    "bad_class_code": "invalid_metadata",
    "bad_author_id": "invalid_metadata",
    "wrong_oid": "bad_ins",
    "bad_nir_key": "bad_ins",
    "identity_not_qualified": "identity_not_qualified",
    "missing_ins": "ins_missing",
    "bad_nir_format": "bad_ins",
    "unknown_oid": "bad_ins",
    "unknown_type_code": "invalid_metadata",
    "missing_class_code": "invalid_metadata",
    "missing_confidentiality": "invalid_metadata",
    "invalid_confidentiality": "invalid_metadata",
    "missing_author": "invalid_metadata",
    "bad_org_id": "invalid_metadata",
    "missing_master_identifier": "invalid_metadata",
    "missing_binary": "invalid_metadata",
    "no_submission_set": "invalid_metadata",
    "dangling_reference": "invalid_metadata",
    "not_transaction": "invalid_metadata",
    "missing_request": "invalid_metadata",
    "replaces_without_target": "invalid_metadata",
}

DEFECT_NAMES: tuple[str, ...] = tuple(DEFECTS)


def defect_code(name: str) -> int:
    """Integer code of a defect (0 = no defect)."""
    return DEFECT_NAMES.index(name) + 1


def defect_name(code: int) -> str | None:
    """Name of a defect code (None for 0)."""
    return DEFECT_NAMES[code - 1] if code else None


def defect_codes_for(reason: str) -> list[int]:
    """Codes of the defects whose DMP reason is ``reason``."""
    return [defect_code(d) for d, r in DEFECTS.items() if r == reason]
