"""The five strict INS traits, birth places (INSEE codes) and seeded synthetic identities.

Traits: birth name, list of birth first names, birth date, sex, birth place (INSEE COG commune
code or 99xxx country code). Names come from Faker ``fr_FR`` seeded per run, matricules from
``nir.py``, and the INS OID defaults to INS-NIR-TEST so that nothing can pass for a real record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from agents.identity.ins import DEFAULT_INS_OID, INS_NIA_OID, INS_NIR_OID, strip_urn
from agents.identity.nir import generate_nias, generate_nirs
from agents.identity.places import (  # noqa: F401  (names of this module before places.py)
    ABROAD_SHARE,
    BirthPlace,
    draw_birth_places,
    is_valid_birth_place,
    load_birth_places,
)
from agents.identity.status import IdentityStatus

SEXES = ("male", "female", "unknown")


@dataclass(frozen=True)
class Traits:
    """The five strict traits of an INS identity (as INSi returns them)."""

    birth_name: str
    birth_given_names: tuple[str, ...]
    birth_date: date
    sex: str  # male | female | unknown
    birth_place: str  # INSEE COG code: commune, or 99xxx country

    @property
    def first_given_name(self) -> str:
        """FR Core puts the first birth first name in ``name.given``."""
        return self.birth_given_names[0] if self.birth_given_names else ""

    @property
    def birth_list_given_name(self) -> str:
        """FR Core ``birth-list-given-name``: all birth first names, space-separated."""
        return " ".join(self.birth_given_names)


def trait_problems(traits: Traits) -> list[str]:
    """Why a set of traits cannot make an INS identity (empty list when complete)."""
    problems = []
    if not traits.birth_name.strip():
        problems.append("birth name is empty")
    if not traits.birth_given_names or not all(g.strip() for g in traits.birth_given_names):
        problems.append("birth first names are missing")
    if traits.sex not in SEXES:
        problems.append(f"sex {traits.sex!r} is not one of {', '.join(SEXES)}")
    if not is_valid_birth_place(traits.birth_place):
        problems.append(f"birth place {traits.birth_place!r} is not a 5-character INSEE code")
    return problems


@dataclass(frozen=True)
class Identity:
    """A patient's identity: traits, INS matricule + OID (or none), RNIV status."""

    traits: Traits
    matricule: str | None  # NIR or NIA, 15 characters; None: no INS (AME, tourist…)
    oid: str | None
    status: IdentityStatus

    @property
    def has_ins(self) -> bool:
        """True when the person has an INS matricule (NIR or NIA)."""
        return self.matricule is not None

    @property
    def is_nia(self) -> bool:
        """True when the matricule is a waiting number (NIA: sex digit 7 or 8; production OID
        1.2.250.1.213.1.4.9, synthetic ones carry the test OID)."""
        if self.oid is not None and strip_urn(self.oid) == INS_NIA_OID:
            return True
        return self.matricule is not None and self.matricule[:1] in ("7", "8")


class IdentityFactory:
    """Seeded source of synthetic identities: same seed, same people."""

    def __init__(self, seed: int, *, oid: str = DEFAULT_INS_OID):
        from faker import Faker

        self.rng = np.random.default_rng(seed)
        self.oid = oid
        self._fake = Faker("fr_FR")
        self._fake.seed_instance(seed)

    def traits(self, *, sex: str | None = None, birth_place: str | None = None) -> Traits:
        """One set of traits with French names, 1–3 birth first names."""
        rng = self.rng
        sex = sex or ("male" if rng.random() < 0.5 else "female")
        first = self._fake.first_name_male if sex == "male" else self._fake.first_name_female
        given = tuple(first() for _ in range(int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))))
        born = date.fromordinal(
            int(rng.integers(date(1930, 1, 1).toordinal(), date(2023, 12, 31).toordinal()))
        )
        place = birth_place or str(draw_birth_places(rng, 1)[0])
        return Traits(self._fake.last_name(), given, born, sex, place)

    def identity(
        self,
        *,
        status: IdentityStatus | str = IdentityStatus.QUAL,
        nia: bool = False,
        with_ins: bool = True,
        sex: str | None = None,
    ) -> Identity:
        """One synthetic identity; its matricule agrees with its traits and has a valid key."""
        t = self.traits(sex=sex, birth_place=None)
        if not with_ins:
            return Identity(t, None, None, IdentityStatus(status))
        sex_code = np.array([2 if t.sex == "female" else 1])
        year, month = np.array([t.birth_date.year]), np.array([t.birth_date.month])
        if nia:
            countries = [p.code for p in load_birth_places() if p.kind == "country"]
            place = str(self.rng.choice(countries))
            t = Traits(t.birth_name, t.birth_given_names, t.birth_date, t.sex, place)
            matricule = generate_nias(
                self.rng, 1, sex=sex_code, birth_year=year, birth_month=month,
                country=np.array([place]),
            )[0]
            # the test OID (the factory's default) covers NIAs too; the production NIA OID only
            # for a factory explicitly given the production INS-NIR OID
            oid = INS_NIA_OID if strip_urn(self.oid) == INS_NIR_OID else self.oid
        else:
            matricule = generate_nirs(
                self.rng, 1, sex=sex_code, birth_year=year, birth_month=month,
                birth_place=np.array([t.birth_place]),
            )[0]
            oid = self.oid
        return Identity(t, str(matricule), oid, IdentityStatus(status))

    def identities(self, n: int, **kwargs: object) -> list[Identity]:
        """``n`` identities (keyword arguments as for ``identity``)."""
        return [self.identity(**kwargs) for _ in range(n)]  # type: ignore[arg-type]

    def street_address(self) -> tuple[str, str, str]:
        """A fictitious postal address (line, postal code, city)."""
        return self._fake.street_address(), self._fake.postcode(), self._fake.city()


def synthetic_identities(n: int, seed: int, **kwargs: object) -> list[Identity]:
    """``n`` reproducible synthetic identities for ``seed`` (TEST OID unless told otherwise)."""
    return IdentityFactory(seed).identities(n, **kwargs)
