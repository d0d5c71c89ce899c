"""Named random streams spawned from one seed.

Each stream is keyed by a name ("sector:gp", "service:dmp", "patients"…). The stream's
generator is derived from the run's seed and a hash of its name, so adding a stream or
changing one sector's parameters leaves every other stream's draws unchanged (common
random numbers across scenarios).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


class Streams:
    """A factory of independent, reproducible ``numpy.random.Generator`` objects by name."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of stream ``name``: (run seed, hash of the name)."""
        return np.random.SeedSequence([self.seed, *_name_key(name)])

    def get(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (one per name per run)."""
        if name not in self._cache:
            self._cache[name] = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
        return self._cache[name]

    def __getitem__(self, name: str) -> np.random.Generator:
        return self.get(name)


def replication_seeds(seed: int, n: int) -> list[int]:
    """Seeds of ``n`` replications, derived from the run's seed (the same whatever executor)."""
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
