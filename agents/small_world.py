"""Names and identifiers of a small world's people and facilities (the teaching demo).

The engine's patients and facilities are array rows; to render their documents each needs an
identity. Patients get theirs from ``agents.payloads.patient_identity`` (INS under the TEST
OID, NIR agreeing with sex, birth date and birth place, names from Faker's fr_FR lists by the
patient's own generator), so a patient has the same identity in the demo and in a run's
payload sample. Facilities get an author and FINESS from ``facility_identity``, a fictitious
name (marked "fictif"), an MSSanté operator (``agents.services.mssante_operators``) and the
mailbox their messages are sent from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.identity import nominative_address, organisational_address, patient_address
from agents.patients import Patients
from agents.payloads import facility_identity, patient_identity
from agents.services.mssante_operators import assign_operators, sender_domain

FACILITY_NAMES = {
    "hospital": ["Centre hospitalier de la Vilaine (fictif)", "Clinique des Tilleuls (fictive)",
                 "Hôpital des Quatre-Vents (fictif)", "Clinique du Parc (fictive)", "Centre hospitalier du Couesnon (fictif)"],
    "biology": ["Laboratoire Bio-Ouest (fictif)", "Laboratoire des Lices (fictif)", "Biolab Armor (fictif)",
                "Laboratoire du Thabor (fictif)", "Laboratoire de la Rance (fictif)"],
    "radiology": ["Imagerie des Lices (fictive)", "Centre d'imagerie du Parc (fictif)", "Radiologie de la Rance (fictive)",
                  "Imagerie du Thabor (fictive)", "Centre de radiologie de l'Ille (fictif)"],
    "pharmacy": ["Pharmacie du Marché (fictive)", "Pharmacie de la Gare (fictive)", "Pharmacie des Halles (fictive)",
                 "Pharmacie du Centre (fictive)", "Pharmacie de l'Église (fictive)"],
}
SERVICE_MAILBOX = {"hospital": "secretariat-medical", "biology": "resultats", "radiology": "comptes-rendus",
                   "pharmacy": "officine"}

@dataclass(frozen=True)
class Facility:
    """One facility of the small world, as its documents and messages name it."""

    sector: str
    index: int
    name: str
    author_family: str
    author_given: str
    id_nat_ps: str
    id_nat_struct: str
    operator: str
    address: str  # the MSSanté mailbox its documents are sent from / received at

    @property
    def author(self) -> str:
        return f"Dr {self.author_given} {self.author_family}"


@dataclass(frozen=True)
class Person:
    """The identity of one simulated patient."""

    index: int
    family: str
    given: str
    sex: str  # male | female
    birth_date: str
    birth_place: str
    ins: str | None
    ins_oid: str

    @property
    def short_name(self) -> str:
        """First name and initial: enough to follow someone in the narration."""
        return f"{self.given} {self.family[0]}."

    @property
    def mailbox(self) -> str | None:
        return patient_address(self.ins) if self.ins else None


class Cast:
    """Identities of a small world's patients and facilities (derived from the run's seed)."""

    def __init__(self, patients: Patients, sectors: list, dept_codes: tuple[str, ...], seed: int):
        self.seed = seed
        self.patients = patients
        self.dept_codes = dept_codes
        self._people: dict[int, Person] = {}
        rng = np.random.default_rng([seed, 0x5E6])  # operators only: identities have their own streams
        self.facilities: dict[str, list[Facility]] = {
            s.name: self._facilities(s, rng) for s in sectors
        }

    def _facilities(self, sector, rng: np.random.Generator) -> list[Facility]:
        name = sector.name
        operators = assign_operators(sector.cfg, sector.n, rng)
        out = []
        for i in range(sector.n):
            ident = facility_identity(self.seed, name, i, self.dept_codes[int(sector.dept[i])], sector.cfg.label)
            family, given = ident["author_family"], ident["author_given"]
            if name in FACILITY_NAMES and i < len(FACILITY_NAMES[name]):
                label = FACILITY_NAMES[name][i]
            elif name == "gp":
                label = f"Cabinet du Dr {family} (fictif)"
            else:
                label = f"{sector.cfg.label} n° {i + 1} (fictif)"
            domain = sender_domain(operators[i], label)
            if name in SERVICE_MAILBOX:
                address = organisational_address(SERVICE_MAILBOX[name], domain)
            else:
                address = nominative_address(given, family, domain)
            out.append(Facility(name, i, label, family, given, ident["author_id_nat_ps"],
                                ident["org_id_nat_struct"], operators[i], address))
        return out

    def facility(self, sector: str, index: int) -> Facility:
        return self.facilities[sector][index]

    def person(self, p: int) -> Person:
        """The identity of patient ``p`` (the same as in a run's payload sample)."""
        p = int(p)
        if p not in self._people:
            pt = self.patients
            ident = patient_identity(self.seed, p, int(pt.status[p]), int(pt.sex[p]), pt.birth(p),
                                     self.dept_codes[int(pt.dept[p])])
            self._people[p] = Person(p, ident["family"], ident["given"][0], ident["sex"], ident["birth_date"],
                                     ident["birth_place"], ident["ins"], ident["ins_oid"])
        return self._people[p]


__all__ = ["Cast", "Facility", "Person"]
