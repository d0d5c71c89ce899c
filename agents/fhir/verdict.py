"""DMP rejection reasons and the verdict a set of findings leads to.

The reasons and their precedence are the DMP rule table's (agents/dmp_rules.py), which the
engine's vectorised DMP uses too. A document can carry only the document reasons; when several
apply, the first in ``REASON_PRECEDENCE`` wins: ins_missing, invalid_metadata, bad_ins,
identity_not_qualified.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from agents.dmp_rules import DOCUMENT_PRECEDENCE, first_reason

ACCEPTED = "accepted"
INS_MISSING = "ins_missing"
BAD_INS = "bad_ins"
IDENTITY_NOT_QUALIFIED = "identity_not_qualified"
INVALID_METADATA = "invalid_metadata"

REASON_PRECEDENCE: tuple[str, ...] = DOCUMENT_PRECEDENCE
REASONS = frozenset(REASON_PRECEDENCE)


class _HasReason(Protocol):
    severity: str
    reason: str | None


def rejection_reasons(findings: Iterable[_HasReason]) -> set[str]:
    """The DMP reasons carried by the error findings."""
    return {f.reason for f in findings if f.severity == "error" and f.reason}


def dmp_verdict(findings: Iterable[_HasReason], switches: dict[str, bool] | None = None) -> str:
    """``accepted``, or the first reason (by precedence) among the error findings, counting the
    reasons in force under ``switches`` (the DMP's optional rules, flag → on; None: all on)."""
    return first_reason(rejection_reasons(findings), switches)


for _name in (INS_MISSING, BAD_INS, IDENTITY_NOT_QUALIFIED, INVALID_METADATA):
    if _name not in REASONS:  # the names the FHIR rules use are the rule table's
        raise ImportError(f"{_name}: not a document reason of agents/dmp_rules.py")
