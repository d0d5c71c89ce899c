"""The series a comparison is made of, per scenario and replication: documents sent, DMP documents
accepted by month, their trailing 12-month total (what a target is reached by) and how a target
is named. Shared by ``simulator.studies.compare`` (tables) and ``simulator.studies.compare_figure`` (figure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.core.outcomes import CHANNELS
from simulator.engine.discrepancy import target_monthly_with
from simulator.engine.outputs import is_plain_target, target_values, trailing_12

if TYPE_CHECKING:
    from simulator.studies.compare import ScenarioRuns

SENT = {"dmp": "accepted", "mssante_pro": "delivered", "mssante_patient": "delivered", "mssante_from_patient": "delivered"}


def sent(runs: ScenarioRuns) -> np.ndarray:
    """National documents sent [rep, month, sector, channel] (accepted / delivered), multiplied
    by the structural discrepancy's factors when the runs carry them (``ScenarioRuns.discrepancy``)."""
    d = runs.documents
    out = np.stack([d[:, :, :, c, runs.outcomes.index(SENT[ch])] for c, ch in enumerate(CHANNELS)], axis=3)
    if runs.discrepancy is not None:
        out = out * runs.discrepancy[:, :, :, None]
    return out / runs.scale


def dmp_monthly(runs: ScenarioRuns, sectors: list[str]) -> np.ndarray:
    """National DMP documents accepted each month by ``sectors`` [rep, month]."""
    cols = [runs.sectors.index(s) for s in sectors if s in runs.sectors]
    return sent(runs)[:, :, cols, 0].sum(axis=2)


def trailing_total(runs: ScenarioRuns, sectors: list[str]) -> np.ndarray:
    """Trailing 12-month total of DMP documents accepted by ``sectors`` [rep, month]: the
    quantity a target is reached by (``REACHED_RULE``)."""
    return trailing_12(dmp_monthly(runs, sectors))


def target_series(runs: ScenarioRuns, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Target ``key``: national documents counting towards it [rep, month] (its sectors, doc_types,
    channel: ``simulator.engine.outputs.target_counts``) and its value in force each month [month]."""
    t = runs.scenario.targets[key]
    td = t.model_dump(mode="json")
    ivs = [iv.model_dump(mode="json") for iv in runs.scenario.interventions]
    values = target_values(key, td, runs.months, ivs)
    if is_plain_target(td):  # every accepted DMP document of its sectors
        return dmp_monthly(runs, t.sectors), values
    if runs.targets is None:
        raise ValueError(f"{runs.name}: target {key} counts document types or a channel, and these runs were "
                         "stacked without target columns (a bug)")
    counts = runs.targets[:, :, list(runs.scenario.targets).index(key)]
    if runs.discrepancy is not None:  # each month × its sectors' factors, weighted by their DMP documents
        accepted = runs.documents[:, :, :, CHANNELS.index("dmp"), runs.outcomes.index("accepted")]
        idx = [runs.sectors.index(s) for s in t.sectors if s in runs.sectors]
        counts = target_monthly_with(counts, accepted, runs.discrepancy, idx)
    return counts, values


def annualised(runs: ScenarioRuns, sectors: list[str]) -> np.ndarray:
    """Annualised rate of DMP documents accepted, month × 12, for ``sectors`` [rep, month]."""
    return dmp_monthly(runs, sectors) * 12


def target_label(target: str, value: float, assumption: bool) -> str:
    """'nurse 18.0M/yr (assumption)': a target as every table and figure names it."""
    return f"{target} {value / 1e6:,.1f}M/yr" + (" (assumption)" if assumption else "")


