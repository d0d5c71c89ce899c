"""The documents a scenario's agents send to the DMP, day by day, as ITI-65 bundles with the
verdict the simulation gave each: the rows the simulated DMP judged in a small-world run,
with the identities of ``agents.small_world`` (the same files and ids as ``segur demo``).
Documents the simulation dropped or left queued had no verdict and are not emitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.catalogue import load_catalogue
from agents.defects import defect_name
from agents.fhir import render_bundle
from agents.patients import HAS_INS
from agents.payloads import identity_status, rendered_defect
from simulator.core.outcomes import OUTCOMES
from simulator.server.world import World


@dataclass(frozen=True)
class Emission:
    """One document to post and what the simulation said of it."""

    doc_id: str
    day: str  # the day it was produced
    submitted: str  # the day the simulated DMP judged it
    sector: str
    author: str  # idNat_PS
    expected: str  # accepted or the rejection reason
    spec: dict[str, Any]

    def bundle(self) -> dict[str, Any]:
        """The ITI-65 transaction Bundle (rendered when asked: emitters render as they send)."""
        return render_bundle(self.spec)


def _time(serial: int) -> str:
    minutes = 8 * 60 + (serial * 37) % (10 * 60)
    return f"T{minutes // 60:02d}:{minutes % 60:02d}:00+01:00"


def emissions(world: World) -> tuple[list[Emission], int]:
    """The documents to emit, in the order they were produced, and how many had no verdict."""
    rows = world.sim.recorder.dmp_rows()
    n = rows["day"].size
    cat = load_catalogue()
    names = world.sim.world.sector_names
    dates = world.dates
    out: list[Emission] = []
    skipped = 0
    per_day: dict[int, int] = {}
    for i in np.lexsort((np.arange(n), rows["day"])).tolist():
        day = int(rows["day"][i])
        k = per_day[day] = per_day.get(day, 0) + 1
        outcome, reason = OUTCOMES[int(rows["outcome"][i])]
        if outcome not in ("accepted", "rejected"):
            skipped += 1
            continue
        sector = names[int(rows["sector"][i])]
        date = dates[min(day, len(dates) - 1)]
        judged = dates[min(int(rows["judged"][i]), len(dates) - 1)]
        status = int(rows["status"][i])
        f = world.cast.facility(sector, int(rows["facility"][i]))
        person = world.cast.person(int(rows["patient"][i]))
        doc_id = f"{sector}-{date}-{k:04d}"
        spec = {
            "doc_id": doc_id, "type_code": cat[int(rows["doc_type"][i])].code, "created": date + _time(k),
            "submitted": judged + _time(k), "ins": person.ins, "ins_oid": person.ins_oid,
            "family": person.family, "given": (person.given,), "birth_date": person.birth_date,
            "sex": person.sex, "birth_place": person.birth_place,
            "identity_status": identity_status(status, bool(rows["qualified"][i])),
            "defect": rendered_defect(defect_name(int(rows["defect"][i])), bool(status & HAS_INS)),
            "author_id_nat_ps": f.id_nat_ps, "author_family": f.author_family, "author_given": f.author_given,
            "org_id_nat_struct": f.id_nat_struct, "org_name": f.name,
        }
        out.append(Emission(doc_id, date, judged, sector, f.id_nat_ps, reason or outcome, spec))
    return out, skipped


def by_day(items: list[Emission]) -> Iterator[tuple[str, list[Emission]]]:
    """The emissions grouped by production day, in order."""
    day: str | None = None
    batch: list[Emission] = []
    for e in items:
        if e.day != day and batch:
            yield day or "", batch
            batch = []
        day = e.day
        batch.append(e)
    if batch:
        yield day or "", batch
