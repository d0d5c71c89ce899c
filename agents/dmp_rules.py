"""The DMP's acceptance rules, declared once: its rejection reasons in order of precedence,
which part of the verdict each belongs to, the scenario rule that switches it on, and the
injectable defects with the reason each earns.

Both paths are driven by this table: the vectorised DMP (agents/services/dmp.py builds its
lookup tables from it, for NumPy and the Numba kernel alike) and the FHIR path (the
conformance rules name these reasons; ``first_reason`` reduces their findings). A verdict is
the first reason, by precedence, whose condition holds, or ``accepted``.

Adding a rule: one ``Reason`` here (its place in the list is its precedence), its outcome
code in simulator/core/outcomes.py, its condition in the vectorised DMP if it reads the
patient's state (``STATUS_CONDITIONS`` there), or a defect below and the FHIR rule that
detects it (agents/fhir/rules/). See docs/extending.md.

Adding a rule switch (a rule a scenario turns on with ``kind = "rule"``): the ``switch`` column
of its reason's row. The scenario schema (the rules an intervention may name), the vectorised
DMP (``DmpRules`` and its lookup tables), the interventions, the simulated server's ``Rules``,
the payload tier's strata and the page's labels all read the switches from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from simulator.core.outcomes import ACCEPTED as ACCEPTED_CODE
from simulator.core.outcomes import REASON_CODES

DOCUMENT = "document"  # what the DMP says about the document itself: a payload carries it
SERVICE = "service"  # the sender's software or the patient's profile: a payload cannot carry it
ACCEPTED = "accepted"


@dataclass(frozen=True)
class Reason:
    """One rejection reason of the DMP."""

    name: str
    part: str  # DOCUMENT or SERVICE
    switch: str | None  # the rule switch that puts it in force (None: always in force)
    description: str
    #: what the page says when the switch is on (French, English); empty: the description
    label_fr: str = ""
    label_en: str = ""

    @property
    def code(self) -> int:
        """Outcome code in the tallies (simulator/core/outcomes.py; a scratch table's own codes)."""
        found = REASON_CODES.get(self.name)
        return found if found is not None else _SCRATCH_CODES[self.name]


#: the reasons, first = highest precedence
REASONS: tuple[Reason, ...] = (
    Reason("software_not_installed", SERVICE, "reject_legacy_software", "the sender's software is not Ségur-referenced",
           "logiciels pré-Ségur refusés par le DMP", "pre-Ségur software refused by the DMP"),
    Reason("ins_missing", DOCUMENT, None, "the document carries no INS"),
    Reason("invalid_metadata", DOCUMENT, None, "metadata the DMP refuses (type, class, author, bundle shape…)"),
    Reason("bad_ins", DOCUMENT, None, "an INS that is malformed, has a wrong key or OID"),
    Reason("identity_not_qualified", DOCUMENT, "require_qualified_identity", "the identity is not QUAL",
           "INS qualifiée exigée pour alimenter le DMP", "qualified INS required to feed the DMP"),
    Reason("profile_opposed", SERVICE, None, "the patient opposed their profile"),
    Reason("profile_closed", SERVICE, None, "the patient's profile is closed"),
    Reason("no_profile", SERVICE, None, "the patient has no profile yet"),
)
BY_NAME: dict[str, Reason] = {r.name: r for r in REASONS}
#: document reasons in precedence order (what the FHIR rules can reach)
DOCUMENT_PRECEDENCE: tuple[str, ...] = tuple(r.name for r in REASONS if r.part == DOCUMENT)


def _switches(reasons: tuple[Reason, ...], part: str | None = None) -> tuple[str, ...]:
    """The switches of ``reasons`` (of ``part``, or all: the document part's first), each once,
    in precedence order."""
    if part is None:
        return tuple(dict.fromkeys((*_switches(reasons, DOCUMENT), *_switches(reasons, SERVICE))))
    return tuple(dict.fromkeys(r.switch for r in reasons if r.switch and r.part == part))


#: the rule switches a scenario can turn on: the document part's, then the service part's
SWITCHES: tuple[str, ...] = _switches(REASONS)
#: switches of document reasons (a payload's FHIR verdict depends on them) and of service reasons
DOCUMENT_SWITCHES: tuple[str, ...] = _switches(REASONS, DOCUMENT)
SERVICE_SWITCHES: tuple[str, ...] = _switches(REASONS, SERVICE)

# defect name -> reason (order = integer code used in the engine, 1-based; append new defects
# at the end so that existing codes keep their meaning)
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


def precedence() -> tuple[str, ...]:
    """Every reason's name, first = highest precedence (the table in force, read at call time:
    the simulation, the validator, the server and ``segur emit`` all rank by it)."""
    return tuple(r.name for r in REASONS)


def in_force(reason: str, switches: dict[str, bool] | None = None) -> bool:
    """Whether ``reason`` counts under the rules ``switches`` (flag → on; None: every rule on)."""
    r = BY_NAME[reason]
    return r.switch is None or switches is None or bool(switches.get(r.switch, False))


def first_reason(reasons: Iterable[str], switches: dict[str, bool] | None = None) -> str:
    """The verdict from the reasons found: the first in precedence among those in force, or
    ``accepted``. Reasons not in the table are an error (a rule naming a reason nobody ranks)."""
    found = set(reasons)
    unknown = found - BY_NAME.keys()
    if unknown:
        raise KeyError(f"reasons not in the DMP rule table: {', '.join(sorted(unknown))}")
    return next((r.name for r in REASONS if r.name in found and in_force(r.name, switches)), ACCEPTED)


def switch_label(switch: str, lang: str = "en") -> str:
    """What the page says of ``switch`` when it is on: its row's label, else its description."""
    for r in REASONS:
        if r.switch == switch:
            return (r.label_fr if lang == "fr" else r.label_en) or r.description
    raise KeyError(f"not a switch of the DMP rule table: {switch}")


def regime(on: Iterable[str], switches: tuple[str, ...]) -> int:
    """The switches ``on`` among ``switches``, as a bit mask (bit i: ``switches[i]``)."""
    on = set(on)
    return sum(1 << i for i, name in enumerate(switches) if name in on)


def regime_switches(mask: int, switches: tuple[str, ...]) -> dict[str, bool]:
    """The switches of a bit mask (``regime``'s inverse), each on or off."""
    return {name: bool(mask >> i & 1) for i, name in enumerate(switches)}


def check_table() -> None:
    """The table is coherent: every reason has an outcome code, every defect a document reason,
    and the accepted code is not a reason's."""
    by_name = {r.name: r for r in REASONS}
    for r in REASONS:
        if r.part not in (DOCUMENT, SERVICE):
            raise ValueError(f"reason {r.name}: part must be {DOCUMENT} or {SERVICE}")
        if r.name not in REASON_CODES and r.name not in _SCRATCH_CODES:
            raise ValueError(f"reason {r.name}: no outcome code in simulator/core/outcomes.py")
        if r.code == ACCEPTED_CODE:
            raise ValueError(f"reason {r.name}: has the accepted code")
    missing = set(REASON_CODES) - by_name.keys()
    if missing:
        raise ValueError(f"outcome reasons without a rule: {', '.join(sorted(missing))}")
    for defect, reason in DEFECTS.items():
        if reason not in by_name or by_name[reason].part != DOCUMENT:
            raise ValueError(f"defect {defect}: {reason!r} is not a document reason of the table")


_SCRATCH_CODES: dict[str, int] = {}
_LISTENERS: list[Callable[[], None]] = []


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever the table in force changes (the vectorised DMP rebuilds its
    lookup tables from it)."""
    _LISTENERS.append(callback)


def _install(reasons: tuple[Reason, ...], defects: dict[str, str]) -> None:
    global REASONS, BY_NAME, DOCUMENT_PRECEDENCE, SWITCHES, DOCUMENT_SWITCHES, SERVICE_SWITCHES, DEFECTS
    REASONS = tuple(reasons)
    BY_NAME = {r.name: r for r in REASONS}
    DOCUMENT_PRECEDENCE = tuple(r.name for r in REASONS if r.part == DOCUMENT)
    SWITCHES = _switches(REASONS)
    DOCUMENT_SWITCHES = _switches(REASONS, DOCUMENT)
    SERVICE_SWITCHES = _switches(REASONS, SERVICE)
    DEFECTS = dict(defects)


@contextmanager
def scratch_table(
    reasons: Iterable[Reason], defects: dict[str, str] | None = None, codes: dict[str, int] | None = None
) -> Iterator[None]:
    """Put another table in force while the block runs (tests, what-if studies), then restore
    this one: every judge reads it. ``codes`` gives outcome codes to reasons that
    simulator/core/outcomes.py does not know (a rule being tried before it is added there)."""
    saved = (REASONS, DEFECTS, dict(_SCRATCH_CODES))
    _SCRATCH_CODES.update(codes or {})
    try:
        _install(tuple(reasons), DEFECTS if defects is None else defects)
        check_table()
        for callback in _LISTENERS:
            callback()
        yield
    finally:
        _SCRATCH_CODES.clear()
        _SCRATCH_CODES.update(saved[2])
        _install(saved[0], saved[1])
        for callback in _LISTENERS:
            callback()


check_table()
