"""The DMP's verdict on a submission: the conformance rules (what the payload says) plus the
service rules only the DMP can apply (the sender's software, the patient's profile on the day
of the submission, the document it replaces), in the simulation's order of precedence, and the
HTTP status each refusal gets.

Precedence and switches are the DMP rule table's (``agents/dmp_rules.py``, read at each
verdict, as the simulation, the validator and ``segur emit`` read it): software not installed,
then the document's own reason (ins_missing, invalid_metadata, bad_ins,
identity_not_qualified), then the profile (opposed, closed, no profile); the server's own
replacement and duplicate refusals come last.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from agents import dmp_rules
from simulator.server import schema as S
from simulator.server.conformance import Finding
from simulator.server.sql import Sql, Tx
from simulator.server.submission import Submission

ACCEPTED = "accepted"
SOFTWARE = "software_not_installed"
REPLACEMENT = "replacement_invalid"
DUPLICATE = "duplicate_unique_id"


def precedence() -> tuple[str, ...]:
    """The rule table's reasons in force order, then the server's own refusals."""
    return (*dmp_rules.precedence(), REPLACEMENT, DUPLICATE)

#: the server's own rules (the validator's are in docs/rules.md): id → (reason, HTTP status, summary)
SERVICE_RULES: dict[str, tuple[str, int, str]] = {
    "DMP-001": (SOFTWARE, 403, "The submitter's software is Ségur-referenced on the day the document was created."),
    "DMP-002": ("profile_opposed", 403, "The patient has not opposed the creation of their Mon espace santé profile."),
    "DMP-003": ("profile_closed", 403, "The patient's profile is not closed."),
    "DMP-004": ("no_profile", 403, "The patient (INS) has a profile on the day of the submission."),
    "DMP-005": (REPLACEMENT, 422, "A replaced document exists, is current and belongs to the same patient."),
    "DMP-006": (DUPLICATE, 409, "A document unique id (masterIdentifier) is not reused for other content."),
}
STATE_RULE = {"opposed": "DMP-002", "closed": "DMP-003", "not_created": "DMP-004"}


class Rules:
    """Since when the DMP rule table's switches are in force (``YYYY-MM-DD``; '' always, None
    never): positional dates follow ``dmp_rules.SWITCHES``; a switch the store does not date
    (``rule.<name>``) is in force, so a switch added to the table is enforced over the wire."""

    __slots__ = ("_since",)

    def __init__(self, *dates: str | None, **named: str | None) -> None:
        names = dmp_rules.SWITCHES
        given = {**dict(zip(names, dates, strict=False)), **named}
        unknown = set(given) - set(names)
        if unknown:
            raise TypeError(f"not a switch of the DMP rule table: {', '.join(sorted(unknown))}")
        self._since = given

    @classmethod
    def from_info(cls, info: dict[str, str]) -> Rules:
        def get(name: str) -> str | None:
            v = info.get(f"rule.{name}", "")
            return None if v == "never" else v

        return cls(**{name: get(name) for name in dmp_rules.SWITCHES})

    def since(self, switch: str) -> str | None:
        """Since when a rule-table switch is in force ('' always, None never)."""
        return self._since.get(switch, "")

    def __getattr__(self, name: str) -> str | None:
        if name in dmp_rules.SWITCHES:
            return self.since(name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Rules({self._since!r})"

    @staticmethod
    def in_force(since: str | None, day: str | None) -> bool:
        return since is not None and (since == "" or day is None or day >= since)


@dataclass(frozen=True)
class Verdict:
    """``accepted`` or the first reason, the findings behind it and the HTTP status."""

    verdict: str
    findings: tuple[Finding, ...]
    status: int

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPTED


def service_finding(rule_id: str, path: str, message: str) -> Finding:
    return Finding(rule_id, "error", path, message, SERVICE_RULES[rule_id][0])


def verdict_of(findings: list[Finding], rules: Rules, day: str | None) -> Verdict:
    """The verdict the error findings lead to: the first reason of the rule table's precedence
    whose switch is in force on ``day`` (identity_not_qualified only while required…)."""
    reasons = {f.reason for f in findings if f.severity == "error" and f.reason}
    for r in dmp_rules.REASONS:
        if r.switch is not None and r.name != SOFTWARE and not rules.in_force(rules.since(r.switch), day):
            reasons.discard(r.name)  # the software reason is judged per document (software_findings)
    first = next((r for r in precedence() if r in reasons), ACCEPTED)
    return Verdict(first, tuple(findings), status_of(first))


def status_of(verdict: str) -> int:
    """HTTP status of a verdict: 200 accepted, 403 service refusals, 409 duplicate, else 422."""
    if verdict == ACCEPTED:
        return 200
    for reason, status, _ in SERVICE_RULES.values():
        if reason == verdict:
            return status
    return 422


_ps = S.profile_states
_STATE = select(_ps.c.state).where(_ps.c.ins == bindparam("ins"))
# statements compiled once (simulator.server.sql)
_STATE_ON = Sql(_STATE.where(_ps.c.since <= bindparam("day")).order_by(_ps.c.since.desc()).limit(1))
_STATE_LAST = Sql(_STATE.order_by(_ps.c.since.desc()).limit(1))
_STATE_FIRST = Sql(_STATE.order_by(_ps.c.since.asc()).limit(1))
_PATIENT_STATE = Sql(select(S.patients.c.profile_state).where(S.patients.c.ins == bindparam("ins")))
_SOFTWARE = Sql(select(S.professionals.c.segur_software_since)
                .where(S.professionals.c.id_nat_ps == bindparam("id")))


def profile_state_on(tx: Tx, ins: str, day: str | None) -> str | None:
    """The patient's profile state on ``day`` (the latest when ``day`` is None or after the
    seeded timeline; the earliest when before it); None for an INS the DMP does not know."""
    if day is not None:
        row = tx.scalar(_STATE_ON, {"ins": ins, "day": day})
        if row is not None:
            return row
    row = tx.scalar(_STATE_LAST if day is None else _STATE_FIRST, {"ins": ins})
    if row is not None:
        return row
    return tx.scalar(_PATIENT_STATE, {"ins": ins})


def software_findings(tx: Tx, authors: list[tuple[str | None, str | None]], rules: Rules) -> list[Finding]:
    """DMP-001 for each document (author idNat_PS, creation day) whose author's software was not
    Ségur-referenced on that day, once the rule is in force. The DMP checks it first, so it is
    checked even when the rest of the submission cannot be read (no INS, say)."""
    out: list[Finding] = []
    switch = dmp_rules.BY_NAME[SOFTWARE].switch
    rule_since = "" if switch is None else rules.since(switch)
    if rule_since is None:
        return out
    for i, (author, created_day) in enumerate(authors):
        if author is None or not rules.in_force(rule_since, created_day):
            continue
        since = tx.first(_SOFTWARE, {"id": author})
        if since is None:
            continue  # a professional the seeding did not know: its software is not on record
        if since[0] is None or (created_day is not None and since[0] > created_day):
            out.append(service_finding("DMP-001", f"DocumentReference[{i}].author",
                                       f"the software of {author} is not Ségur-referenced on "
                                       f"{created_day or 'the creation day'}"))
    return out


def service_findings(tx: Tx, sub: Submission, rules: Rules, submitter: str | None = None) -> list[Finding]:
    """Findings of the software and profile rules (DMP-001 to DMP-004) for a submission; the
    software rule judges ``submitter``'s software (the token's professional, see
    ``simulator.server.authorship.software_holder``), each document's author's when None."""
    out = software_findings(tx, [(submitter or d.author, d.created_day) for d in sub.documents], rules)
    state = profile_state_on(tx, sub.ins, sub.submitted_day)
    if state is None:
        out.append(service_finding("DMP-004", "List.subject", f"INS {sub.ins} has no profile in this DMP"))
    elif state in STATE_RULE:
        words = {"opposed": "opposed the creation of a profile", "closed": "closed their profile",
                 "not_created": "has no profile yet"}[state]
        out.append(service_finding(STATE_RULE[state], "List.subject",
                                   f"the patient (INS {sub.ins}) {words} on {sub.submitted_day or 'this day'}"))
    return out
