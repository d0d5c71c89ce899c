"""Patients as arrays: INS kind, INSi outcome, sex, birth date, département, médecin traitant,
and the state of their Mon espace santé profile over time.

One row per simulated person; no Python object per patient. Patients are laid out in
blocks by département, and within a département in blocks by médecin traitant, so that "a
patient of this GP" or "a patient of this département" is a draw in a contiguous range.
The profile state is a bit field updated in place by the profile process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scenarios.country import PopulationData, load_country
from scenarios.schema import Scenario
from simulator.core.arrays import stable_order
from simulator.core.parallel import INLINE, Workers
from simulator.core.streams import Streams

# Bits of Patients.status
HAS_INS = np.uint8(1)  # an INS matricule exists (NIR or NIA)
INSI_OK = np.uint8(2)  # INSi has answered 00 for this person (set by agents/identity/qualification.py)
CREATED = np.uint8(4)  # profile exists (open or activated)
OPPOSED = np.uint8(8)  # opposed creation
CLOSED = np.uint8(16)  # closed the profile
ACTIVATED = np.uint8(32)  # activated the profile
IS_NIA = np.uint8(64)  # the matricule is a temporary NIA
ID_QUALIFIED = np.uint8(128)  # the identity is qualified: INSi 00 and a high-trust ID checked (qualification.py)

NEVER = np.iinfo(np.int32).max
INSI_CODES = ("00", "01", "02")


@dataclass
class Patients:
    """Columns of the simulated population (index = patient number)."""

    dept: np.ndarray  # int16, index into the territory
    dept_start: np.ndarray  # int64 per département: first patient of its block
    dept_size: np.ndarray  # int64 per département
    sex: np.ndarray  # int8: 1 male, 2 female
    birth_day: np.ndarray  # int32: date of birth, days since 1970-01-01 (see ``birth``)
    insi: np.ndarray  # int8: INSi's answer at the first lookup: 0 → '00', 1 → '01', 2 → '02'
    gp: np.ndarray  # int32: index of the médecin traitant among GPs, -1 none
    status: np.ndarray  # uint8 bit field (HAS_INS, INSI_OK, CREATED, …)
    creation_day: np.ndarray  # int32: day the profile is created (or opposed); NEVER if never
    #: bumped whenever profile bits change (agents/services/mes.py): a copy of rows' status bytes
    #: taken at an equal version still holds their profile state (the DMP reuses it)
    profile_version: int = 0

    @property
    def n(self) -> int:
        return int(self.dept.size)

    def birth(self, index: np.ndarray | int) -> np.ndarray | np.datetime64:
        """Date(s) of birth of patient(s) ``index`` (stored as int32 days: half the memory)."""
        return np.asarray(self.birth_day[index]).astype("datetime64[D]")[()]

    def counts(self) -> dict[str, int]:
        """Profile states, as counts of simulated persons (exclusive states)."""
        st = self.status
        created = (st & CREATED) != 0
        activated = (st & ACTIVATED) != 0
        return {
            "open": int(np.count_nonzero(created & ~activated)),
            "activated": int(np.count_nonzero(created & activated)),
            "opposed": int(np.count_nonzero((st & OPPOSED) != 0)),
            "closed": int(np.count_nonzero((st & CLOSED) != 0)),
        }


def _age_weights(pop: PopulationData) -> np.ndarray:
    """Weights of ages 0 … ``max_age``: a flat pyramid to ``flat_until``, then a decline over
    ``decline_years`` (the country's coarse profile, scenarios/data/<country>.toml)."""
    ages = np.arange(pop.max_age + 1)
    w = np.ones(pop.max_age + 1)
    old = ages >= pop.flat_until
    w[old] = np.exp(-(ages[old] - pop.flat_until) / pop.decline_years)
    return w / w.sum()


def build_patients(
    sc: Scenario,
    n: int,
    dept_weights: np.ndarray,
    gp_dept: np.ndarray,
    streams: Streams,
    day0: np.datetime64,
    workers: Workers = INLINE,
    traits: Any = None,
) -> Patients:
    """Draw ``n`` patients spread over départements by weight, with a médecin traitant among
    the GPs of their département (``gp_dept``: département of each GP). Sex and birth date
    come from their own stream, drawn on a helper thread while the rest is drawn here
    (``traits``: that task, if the caller has submitted it already)."""
    pop = sc.population
    if traits is None:
        traits = submit_traits(sc, n, streams, day0, workers)
    rng = streams["patients"]
    n_dept = dept_weights.size
    dept_size = rng.multinomial(n, dept_weights).astype(np.int64)
    dept_start = np.concatenate([[0], np.cumsum(dept_size)[:-1]]).astype(np.int64)
    dept = np.repeat(np.arange(n_dept, dtype=np.int16), dept_size)

    u = rng.random(n, dtype=np.float32)
    has_ins = u < (pop.nir_share + pop.nia_share)
    is_nia = (u >= pop.nir_share) & has_ins
    v = rng.random(n, dtype=np.float32)
    insi = np.full(n, 1, dtype=np.int8)
    insi[v < pop.insi_found] = 0
    insi[(v >= pop.insi_found) & (v < pop.insi_found + pop.insi_several)] = 2
    insi[~has_ins] = 1  # no matricule: INSi finds nothing

    status = has_ins.view(np.uint8) * HAS_INS
    status |= is_nia.view(np.uint8) * IS_NIA
    # INSI_OK is set later, when a lookup answers 00 (agents/identity/qualification.py)

    gp = _assign_gps(dept_start, dept_size, gp_dept, pop.gp_registered_share, rng)
    sex, birth_day = traits.result()
    return Patients(
        dept=dept,
        dept_start=dept_start,
        dept_size=dept_size,
        sex=sex,
        birth_day=birth_day,
        insi=insi,
        gp=gp,
        status=status,
        creation_day=np.full(n, NEVER, dtype=np.int32),
    )


def submit_traits(sc: Scenario, n: int, streams: Streams, day0: np.datetime64, workers: Workers) -> Any:
    """The task that draws the sex and birth date of ``n`` patients (``draw_traits``)."""
    return workers.submit(draw_traits, n, streams["patients:traits"], day0, load_country(sc.country).population)


def draw_traits(n: int, rng: np.random.Generator, day0: np.datetime64,
                pop: PopulationData | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sex (int8: 1 male, 2 female) and date of birth (int32 days since 1970-01-01) of ``n``
    persons: the country's share of women, ages from its pyramid (``pop``; default France's),
    a uniform day within the year of age."""
    pop = pop if pop is not None else load_country("france").population
    # a Python float: compared in float32 with the draws (NumPy's rule for Python scalars)
    female = float(pop.female_share)
    sex = np.where(rng.random(n, dtype=np.float32) < female, np.int8(2), np.int8(1))  # 2 = female
    # ages through a 16-bit lookup table (much faster than choice(p=…) on 68M draws)
    cum = np.cumsum(_age_weights(pop))
    lut = (np.minimum(np.searchsorted(cum, (np.arange(1 << 16) + 0.5) / (1 << 16)), pop.max_age) * 365).astype(np.int32)
    days_old = lut.take(rng.integers(0, 1 << 16, size=n, dtype=np.uint16).astype(np.intp))
    days_old += rng.integers(0, 365, size=n, dtype=np.int32)
    birth_day = np.int32(day0.astype("datetime64[D]").astype(np.int64)) - days_old
    return sex, birth_day


def _assign_gps(
    dept_start: np.ndarray,
    dept_size: np.ndarray,
    gp_dept: np.ndarray,
    registered_share: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Médecin traitant of each patient: GPs of the département split its patients into
    contiguous blocks; a département with no simulated GP borrows random GPs."""
    n = int(dept_size.sum())
    gp = np.full(n, -1, dtype=np.int32)
    n_gp = gp_dept.size
    if n_gp == 0:
        return gp
    order = np.argsort(gp_dept, kind="stable")
    bounds = np.searchsorted(gp_dept[order], np.arange(dept_size.size + 1))
    for d in range(dept_size.size):
        a, size = int(dept_start[d]), int(dept_size[d])
        if size == 0:
            continue
        gps = order[bounds[d] : bounds[d + 1]]
        if gps.size == 0:
            gp[a : a + size] = rng.integers(0, n_gp, size=size, dtype=np.int32)
            continue
        block = (np.arange(size, dtype=np.int64) * gps.size) // size
        gp[a : a + size] = gps[block]
    unregistered = rng.random(n, dtype=np.float32) >= registered_share
    gp[unregistered] = -1
    return gp


def gp_patient_ranges(p: Patients, gp_dept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each GP, the contiguous range [start, start+size) of the patient block it was given
    (registered or not: a GP also sees patients who never declared a médecin traitant)."""
    n_gp = gp_dept.size
    start = np.zeros(n_gp, dtype=np.int64)
    size = np.zeros(n_gp, dtype=np.int64)
    order = np.argsort(gp_dept, kind="stable")
    bounds = np.searchsorted(gp_dept[order], np.arange(p.dept_size.size + 1))
    for d in range(p.dept_size.size):
        gps = order[bounds[d] : bounds[d + 1]]
        a, n = int(p.dept_start[d]), int(p.dept_size[d])
        if gps.size == 0:
            continue
        k = np.arange(gps.size + 1, dtype=np.int64)
        edges = a + (k * n + gps.size - 1) // gps.size  # ceil(k*n/L)
        start[gps] = edges[:-1]
        size[gps] = edges[1:] - edges[:-1]
    # a GP with an empty block (tiny départements) sees patients of the whole département
    empty = size == 0
    if empty.any():
        d = gp_dept[empty]
        start[empty] = p.dept_start[d]
        size[empty] = np.maximum(p.dept_size[d], 1)
    return start, size


def schedule_profiles(sc: Scenario, p: Patients, rng: np.random.Generator, day_of) -> np.ndarray:
    """Draw each person's information-letter date and return the order in which profiles are
    created (or opposed). Legacy DMP holders are created on day 0 (migrated accounts)."""
    day, order = draw_profile_schedule(sc, p.n, rng, day_of)
    p.creation_day = day
    return order


def draw_profile_schedule(sc: Scenario, n: int, rng: np.random.Generator, day_of,
                          compiled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The draws of ``schedule_profiles`` for ``n`` persons: each one's creation day (int32)
    and the order of creations. Needs nothing of the patients but their number, so it can
    run while they are drawn. ``compiled``: sort with a compiled counting sort (the same order)."""
    pr = sc.profiles
    legacy = rng.random(n, dtype=np.float32) < pr.legacy_dmp_share
    first = day_of(pr.letters_start)
    last = day_of(pr.letters_end)
    letter = rng.integers(first, last + 1, size=n, dtype=np.int32)
    late = rng.random(n, dtype=np.float32) < pr.late_share
    letter[late] = rng.integers(last, day_of(pr.late_end) + 1, size=int(late.sum()), dtype=np.int32)
    day = letter
    day += np.int32(pr.creation_delay_days)
    day[legacy] = 0
    # days fit in 16 bits here, and a stable sort of int16 keys takes linear time
    keys = np.clip(day, -1, np.iinfo(np.int16).max).astype(np.int16)
    return day, stable_order(keys, compiled)
