"""Injectable document defects and the DMP rejection reason each one earns.

A scenario gives a vendor (or a whole sector's software, vendor '*') a rate per defect kind;
the engine marks documents with the defect and the DMP rejects them with the reason the
rule table gives (``agents.dmp_rules.DEFECTS``). The payload tier renders the same defect into
the FHIR bundle (``agents.fhir.defects``), and the conformance rules must reach that reason.
"""

from __future__ import annotations

from agents.dmp_rules import DEFECTS  # defect -> reason: the rule table's

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
