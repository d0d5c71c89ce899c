"""Channels and outcomes of a document, with their integer codes used in the tallies.

Every document sent on a channel ends in exactly one of these outcomes; conservation is
checked against this list.
"""

from __future__ import annotations

CHANNELS = ("dmp", "mssante_pro", "mssante_patient", "mssante_from_patient")

# (outcome, reason); the index is the outcome code
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("accepted", ""),
    ("rejected", "software_not_installed"),
    ("rejected", "ins_missing"),
    ("rejected", "invalid_metadata"),
    ("rejected", "bad_ins"),
    ("rejected", "identity_not_qualified"),
    ("rejected", "no_profile"),
    ("rejected", "profile_opposed"),
    ("rejected", "profile_closed"),
    ("dropped", "outage_wait_exceeded"),
    ("queued", ""),
    ("delivered", ""),
    ("bounced", "undeliverable"),
    ("bounced", "outage_wait_exceeded"),
    ("in_transit", ""),
    ("not_sent", "no_profile"),
)
N_OUTCOMES = len(OUTCOMES)


def code(outcome: str, reason: str = "") -> int:
    """Integer code of an (outcome, reason) pair."""
    return OUTCOMES.index((outcome, reason))


ACCEPTED = code("accepted")
REJECT_SOFTWARE = code("rejected", "software_not_installed")
REJECT_INS_MISSING = code("rejected", "ins_missing")
REJECT_METADATA = code("rejected", "invalid_metadata")
REJECT_BAD_INS = code("rejected", "bad_ins")
REJECT_NOT_QUALIFIED = code("rejected", "identity_not_qualified")
REJECT_NO_PROFILE = code("rejected", "no_profile")
REJECT_OPPOSED = code("rejected", "profile_opposed")
REJECT_CLOSED = code("rejected", "profile_closed")
DROPPED = code("dropped", "outage_wait_exceeded")
QUEUED = code("queued")
DELIVERED = code("delivered")
BOUNCED = code("bounced", "undeliverable")
BOUNCED_OUTAGE = code("bounced", "outage_wait_exceeded")
IN_TRANSIT = code("in_transit")
#: the producer's software found no profile (none yet, opposed or closed) when it checked before
#: sending (the existence check): a pre-submission outcome, never seen by the DMP
NOT_SENT_NO_PROFILE = code("not_sent", "no_profile")

REASON_CODES = {reason: i for i, (outcome, reason) in enumerate(OUTCOMES) if outcome == "rejected"}
FINAL_DMP = ("accepted", "rejected", "dropped", "not_sent")
