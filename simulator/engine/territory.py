"""A small territory run and every one of its documents written as a file: what the teaching
demo (``segur demo``) and the page's teaching tab both show, built once here.

``build_territory`` loads a scenario with a small territory (``run.departements``), sizes it
(``small_world.overrides``), runs it with the recorder (``small_world.DemoSimulation``) and
renders every document into ``out`` (``small_world_documents.Renderer``), replaced atomically;
``finish`` writes what a caller adds to the same folder before it is swapped in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.small_world import Cast
from simulator.atomic import atomic_folder, check_output
from simulator.core.errors import UsageError
from simulator.engine.scenario import load_scenario
from simulator.engine.small_world import DemoSimulation, overrides
from simulator.engine.small_world_documents import Rendered, Renderer


@dataclass
class Territory:
    """A finished small territory: what the run did, its files and where they are."""

    scenario: Any
    results: Any
    world: Any
    cast: Cast
    rendered: Rendered
    out: Path

    @property
    def dates(self) -> list[str]:
        return [str(d) for d in self.world.calendar.dates]


def build_territory(scenario: str | Path, out: str | Path, *, patients: int | None = None,
                    days: int | None = None, seed: int | None = None,
                    finish: Callable[[Territory, Path], None] | None = None) -> Territory:
    """Run the small world of ``scenario`` and write every document into ``out`` (a ``demo``
    output folder, replaced atomically); ``finish(territory, folder)`` adds files before the swap."""
    sc = load_scenario(scenario)
    if not sc.run.departements:
        raise UsageError(f"{scenario}: a demo needs a small territory (run.departements), e.g. scenarios/demo.toml")
    sc = load_scenario(scenario, overrides(sc, patients, days, seed))
    out = Path(out)
    check_output(out, "demo")  # before the run: a bad or foreign --out fails at once
    sim = DemoSimulation(sc)
    results = sim.run()
    w = sim.world
    cast = Cast(w.patients, w.sectors, w.territory.codes, sc.run.seed)
    with atomic_folder(out, kind="demo") as tmp:
        rendered = Renderer(sim, cast, tmp, sc.run.seed).render()
        territory = Territory(sc, results, w, cast, rendered, out)
        if finish is not None:
            finish(territory, tmp)
    return territory
