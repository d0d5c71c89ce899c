"""Who may write what, as the DMP does: the token's identity (the professional, and the
structure it acts for) is the submitter, and a document is added or replaced only by one of its
authors — the professional themself, or, when a structure authenticated the request, a
structure that is the author's institution.

The rule is the DMP integration guide's EX_2.1-1140 (CNAM / ANS, « Guide d'intégration du DMP
dans les logiciels de professionnels de santé », as quoted by the DMP homologation tracker,
https://bitbucket.org/devbox-sante/homologation/issues/186/ex_21-1140):

    « Seul l'un des auteurs du document peut ajouter ce document ou le mettre à jour avec une
    nouvelle version (remplacement du document) » — in direct authentication (CPS card) the
    authenticated professional is one of the authors (VIHF NameID = authorPerson's identifier);
    in indirect authentication (the structure's "personne morale" certificate, or a CPE card)
    the authenticated structure is the authorInstitution of one of the authors (VIHF
    Identifiant_Structure = authorInstitution's identifier).

Here a token without ``idNat_Struct`` is direct authentication, one with it indirect. A
structure may send for a professional it names as the author's institution, provided the
seeded directory does not place that professional in another structure. The Ségur-software
rule (DMP-001) judges the submitter's software — the token's professional, or its structure's
when the directory does not know the professional — never the author the client writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from simulator.server import schema as S
from simulator.server.access import READABLE_STATES, denied
from simulator.server.auth import Principal
from simulator.server.fhir_http import HttpProblem
from simulator.server.judge import profile_state_on
from simulator.server.sql import Sql, Tx

ID_NAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
ID_NAT_STRUCT_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
RULE_SOURCE = ("DMP integration guide, rule EX_2.1-1140 "
               "(https://bitbucket.org/devbox-sante/homologation/issues/186/ex_21-1140)")

_p = S.professionals
_d = S.documents
_STRUCTURE_OF = Sql(select(_p.c.id_nat_struct).where(_p.c.id_nat_ps == bindparam("id")))
_KNOWN = Sql(select(_p.c.id_nat_ps).where(_p.c.id_nat_ps == bindparam("id")))
_OF_STRUCTURE = Sql(select(_p.c.id_nat_ps, _p.c.segur_software_since).where(_p.c.id_nat_struct == bindparam("s")))
#: (patient_ins, author_id_nat_ps, hidden_from_professionals, resource)
_OLD = Sql(select(_d.c.patient_ins, _d.c.author_id_nat_ps, _d.c.hidden_from_professionals, _d.c.resource)
           .where(_d.c.id == bindparam("id")))
_GP = Sql(select(S.patients.c.gp_id_nat_ps).where(S.patients.c.ins == bindparam("ins")))


@dataclass(frozen=True)
class Authorship:
    """A submitted document's authors (idNat_PS) and their institutions (idNat_Struct)."""

    authors: tuple[str, ...]
    institutions: tuple[str, ...]


def _identifiers(resources: list[Any], rtype: str, system: str) -> list[str]:
    out = []
    for r in resources:
        if isinstance(r, dict) and r.get("resourceType") == rtype:
            for ident in r.get("identifier") or []:
                if isinstance(ident, dict) and ident.get("system") == system and isinstance(ident.get("value"), str):
                    out.append(ident["value"])
    return out


def authorship_of(doc: dict[str, Any], bundle_resources: list[Any]) -> Authorship:
    """The authors and institutions a DocumentReference names (its contained Practitioner and
    Organization resources, and those of the bundle)."""
    pool = [c for c in doc.get("contained") or [] if isinstance(c, dict)] + bundle_resources
    return Authorship(tuple(dict.fromkeys(_identifiers(pool, "Practitioner", ID_NAT_PS_SYSTEM))),
                      tuple(dict.fromkeys(_identifiers(pool, "Organization", ID_NAT_STRUCT_SYSTEM))))


def bundle_authorship(bundle: dict[str, Any]) -> list[Authorship]:
    """Each DocumentReference's authorship, read from any bundle."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources = [e["resource"] for e in entries if isinstance(e.get("resource"), dict)]
    shared = [r for r in resources if r.get("resourceType") in ("Practitioner", "Organization")]
    return [authorship_of(r, shared) for r in resources if r.get("resourceType") == "DocumentReference"]


def authors_text(docs: list[Authorship]) -> str:
    """The authors of a submission for the access log."""
    return " ".join(dict.fromkeys(a for d in docs for a in d.authors))


def _may_write(tx: Tx, principal: Principal, authors: tuple[str, ...], institutions: tuple[str, ...]) -> bool:
    if principal.id in authors:
        return True  # direct: the professional is one of the authors
    if not principal.structure or principal.structure not in institutions or not authors:
        return False
    for author in authors:  # indirect: the structure is the author's institution…
        known = tx.first(_STRUCTURE_OF, {"id": author})
        if known is None or known[0] in (None, principal.structure):
            return True  # …and the directory does not place the author elsewhere
    return False


def check_authorship(tx: Tx, principal: Principal, docs: list[Authorship]) -> None:
    """403 (ACC-007) unless the submitter may file each document under its authors."""
    for i, d in enumerate(docs):
        if _may_write(tx, principal, d.authors, d.institutions):
            continue
        who = f"professional {principal.id}" + (f" for structure {principal.structure}" if principal.structure else "")
        named = f"author {', '.join(d.authors)}" if d.authors else "no author (Practitioner idNat_PS)"
        where = f" of institution {', '.join(d.institutions)}" if d.institutions else ""
        raise denied("ACC-007", f"DocumentReference[{i}] names {named}{where}: the {who} may not file it "
                                f"(only an author, or the author's structure, may add a document: {RULE_SOURCE})")


def check_replacement(tx: Tx, principal: Principal, old_id: str) -> None:
    """403 unless the submitter may read the replaced document (ACC-004, ACC-005) and is its
    author or of its author's structure (ACC-008). An unknown document is left to DMP-005."""
    row = tx.first(_OLD, {"id": old_id})
    if row is None:
        return
    ins, author, masked, resource = row
    state = profile_state_on(tx, ins, None)
    if state not in READABLE_STATES:
        raise denied("ACC-004", f"the replaced DocumentReference/{old_id} belongs to a record no professional may "
                                "read")
    if masked and author != principal.id and tx.scalar(_GP, {"ins": ins}) != principal.id:
        raise denied("ACC-005", f"the replaced DocumentReference/{old_id} is masked from professionals (MASQUE_PS): "
                                "only its author or the médecin traitant may read it, hence replace it")
    old = authorship_of(json.loads(resource), [])
    authors = tuple(dict.fromkeys(([author] if author else []) + list(old.authors)))
    if not _may_write(tx, principal, authors, old.institutions):
        raise denied("ACC-008", f"DocumentReference/{old_id} was written by {', '.join(authors) or 'nobody known'}: "
                                f"only its author or the author's structure may replace it ({RULE_SOURCE})")


def software_holder(tx: Tx, principal: Principal) -> str:
    """Whose software DMP-001 judges: the token's professional when the directory knows them,
    else a professional of the token's structure (the software is the structure's), else the
    professional (not on record: the rule cannot apply)."""
    if tx.first(_KNOWN, {"id": principal.id}) is not None or not principal.structure:
        return principal.id
    rows = tx.all(_OF_STRUCTURE, {"s": principal.structure})
    if not rows:
        return principal.id
    equipped = sorted((since, pid) for pid, since in rows if since is not None)
    return equipped[0][1] if equipped else rows[0][0]


__all__ = ["Authorship", "HttpProblem", "RULE_SOURCE", "authors_text", "bundle_authorship", "check_authorship",
           "check_replacement", "software_holder"]
