"""The territory: départements with their INSEE codes and population weights."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scenarios import DATA_DIR


@dataclass(frozen=True)
class Territory:
    """Départements as parallel arrays (index = département number in the simulation)."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    population: np.ndarray  # persons (INSEE 2021, rounded)

    @property
    def weights(self) -> np.ndarray:
        return self.population / self.population.sum()

    def index_of(self, code: str) -> int:
        return self.codes.index(code)

    def __len__(self) -> int:
        return len(self.codes)

    def subset(self, codes: list[str] | tuple[str, ...]) -> Territory:
        """The territory restricted to ``codes`` (in the order given); KeyError for an unknown code."""
        idx = []
        for code in codes:
            if code not in self.codes:
                raise KeyError(code)
            idx.append(self.codes.index(code))
        return Territory(tuple(self.codes[i] for i in idx), tuple(self.names[i] for i in idx), self.population[idx])


@lru_cache(maxsize=1)
def load_territory() -> Territory:
    """Read ``scenarios/data/departements.csv`` (provenance in scenarios/data/README.md)."""
    with (DATA_DIR / "departements.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return Territory(
        codes=tuple(r["code"] for r in rows),
        names=tuple(r["name"] for r in rows),
        population=np.array([int(r["population"]) for r in rows], dtype=np.int64),
    )
