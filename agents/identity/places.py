"""Reference birth places (each département's prefecture and a few countries, 99xxx) and the
check of an INSEE birth-place code: what both NIR generation and identity traits need."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from agents.territory import load_territory
from scenarios import DATA_DIR
from scenarios.country import load_country

_INSEE_PLACE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
#: Share of synthetic patients born abroad (99xxx birth place) when none is given: the
#: country's reference data (scenarios/data/france.toml)
ABROAD_SHARE = load_country("france").population.born_abroad_share


@dataclass(frozen=True)
class BirthPlace:
    """One row of ``scenarios/data/birth_places.csv``."""

    code: str
    kind: str  # "prefecture" (a commune) or "country"
    name: str
    departement: str


@lru_cache(maxsize=1)
def load_birth_places() -> tuple[BirthPlace, ...]:
    """Reference birth places: each département's prefecture and a few countries (99xxx)."""
    with (DATA_DIR / "birth_places.csv").open(encoding="utf-8") as f:
        return tuple(BirthPlace(**row) for row in csv.DictReader(f))


def is_valid_birth_place(code: object) -> bool:
    """True for a 5-character INSEE code: commune (incl. 2A/2B, 97x) or 99xxx country."""
    return isinstance(code, str) and bool(_INSEE_PLACE.fullmatch(code)) and code[2:] != "000"


def draw_birth_places(
    rng: np.random.Generator, n: int, *, abroad_share: float = ABROAD_SHARE
) -> np.ndarray:
    """``n`` birth-place codes: prefectures weighted by population, a share born abroad."""
    places = load_birth_places()
    territory = load_territory()
    by_dept = {p.departement: p.code for p in places if p.kind == "prefecture"}
    communes = np.array([by_dept[c] for c in territory.codes])
    countries = np.array([p.code for p in places if p.kind == "country"])
    out = communes[rng.choice(len(communes), n, p=territory.weights)]
    abroad = rng.random(n) < abroad_share
    out[abroad] = countries[rng.integers(0, len(countries), int(abroad.sum()))]
    return out
