"""Injectable document defects and the DMP rejection reason each one earns.

A scenario gives a vendor (or a whole sector's software, vendor '*') a rate per defect kind;
the engine marks documents with the defect and the DMP rejects them with the matching
reason. The payload tier renders the same defect into the FHIR bundle, and the conformance
rules must reach the same reason.
"""

from __future__ import annotations

# defect name -> DMP rejection reason (order = integer code used in the engine, 1-based)
DEFECTS: dict[str, str] = {
    "missing_type_code": "invalid_metadata",
    "retired_type_code": "invalid_metadata",
    "bad_class_code": "invalid_metadata",
    "bad_author_id": "invalid_metadata",
    "wrong_oid": "bad_ins",
    "bad_nir_key": "bad_ins",
    "identity_not_qualified": "identity_not_qualified",
}

DEFECT_NAMES: tuple[str, ...] = tuple(DEFECTS)


def defect_code(name: str) -> int:
    """Integer code of a defect (0 = no defect)."""
    return DEFECT_NAMES.index(name) + 1


def defect_name(code: int) -> str | None:
    """Name of a defect code (None for 0)."""
    return DEFECT_NAMES[code - 1] if code else None
