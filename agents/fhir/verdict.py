"""DMP rejection reasons and the verdict a set of findings leads to.

The engine's vectorised DMP and the FHIR path must agree on these names. When several reasons
apply, the first in ``REASON_PRECEDENCE`` wins: ins_missing, invalid_metadata, bad_ins,
identity_not_qualified.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

ACCEPTED = "accepted"
INS_MISSING = "ins_missing"
BAD_INS = "bad_ins"
IDENTITY_NOT_QUALIFIED = "identity_not_qualified"
INVALID_METADATA = "invalid_metadata"

REASON_PRECEDENCE: tuple[str, ...] = (INS_MISSING, INVALID_METADATA, BAD_INS, IDENTITY_NOT_QUALIFIED)
REASONS = frozenset(REASON_PRECEDENCE)


class _HasReason(Protocol):
    severity: str
    reason: str | None


def rejection_reasons(findings: Iterable[_HasReason]) -> set[str]:
    """The DMP reasons carried by the error findings."""
    return {f.reason for f in findings if f.severity == "error" and f.reason}


def dmp_verdict(findings: Iterable[_HasReason]) -> str:
    """``accepted``, or the first reason (by precedence) among the error findings."""
    reasons = rejection_reasons(findings)
    for reason in REASON_PRECEDENCE:
        if reason in reasons:
            return reason
    return ACCEPTED
