"""What the report says about an ensemble (``segur run --replications N``), read from its folder.

For each target: the month it is reached as a distribution over the replications (p5, p50, p95,
and the share that reach it by the run's end), its volume and share of target at the end
(p5/p50/p95); and where the parameters came from (the posterior file, its data cut-off, method,
date). Everything comes from the saved ``replications`` table and the manifest's ``ensemble``
block, so ``segur report`` works on folders written before the block held ``posterior``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulator.run_output import WITH_DISCREPANCY, Results, attainment_quantiles

QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}  # as the ensemble's tables (numpy 'linear')

# the line `replicate` wrote before the manifest held the provenance itself (older folders)
_OLD_LINE = re.compile(r"^posterior draws \((?P<file>[^,()]+), (?P<draws>\d+) draws, data up to (?P<data_cutoff>[^,]+), "
                       r"(?P<method>.*)\): replication i runs draw i")


@dataclass(frozen=True)
class TargetBands:
    """One target over the completed replications."""

    reached: list[str | None]  # p5, p50, p95 month reached (YYYY-MM; None = not by the run's end)
    share_reached: float  # replications that reach it by the run's end
    volume: dict[str, float]  # accepted DMP documents of the last 12 months: p5, p50, p95
    share: dict[str, float]  # that volume over the target: p5, p50, p95
    n: int
    # with the structural discrepancy (``target_reached_with_discrepancy_<key>``): p5, p50, p95 month and share; None: none
    reached_with: list[str | None] | None = None
    share_reached_with: float | None = None

    @property
    def shown(self) -> tuple[list[str | None], float]:
        """The band a table shows: with the discrepancy when the run carries it, else the model's."""
        if self.reached_with is not None and self.share_reached_with is not None:
            return self.reached_with, self.share_reached_with
        return self.reached, self.share_reached


@dataclass(frozen=True)
class Provenance:
    """Where the replications' parameters came from: ``kind`` posterior, seeds or unknown."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnsembleView:
    """The ensemble as the report shows it."""

    replications: int
    completed: int
    targets: dict[str, TargetBands]
    provenance: Provenance
    discrepancy: dict[str, Any] | None = None  # the manifest's ``ensemble.discrepancy`` (band and variance split)


def ensemble_view(res: Results) -> EnsembleView | None:
    """The ensemble's bands and provenance; None for a single run (no ``ensemble`` block)."""
    block = res.manifest.get("ensemble")
    if not isinstance(block, dict):
        return None
    reps = res.tables.get("replications")
    targets: dict[str, TargetBands] = {}
    completed = int(block.get("completed", 0) or 0)
    if reps is not None and len(reps):
        ok = reps[reps["status"].astype(str) == "ok"] if "status" in reps.columns else reps
        completed = len(ok)
        last = res.manifest["months"][-1]
        for key, t in res.manifest["scenario"].get("targets", {}).items():
            got = _target_bands(ok, key, float(t["value"]), last)
            if got is not None:
                targets[key] = got
    disc = block.get("discrepancy") if isinstance(block.get("discrepancy"), dict) else None
    return EnsembleView(int(block.get("replications", completed) or completed), completed, targets, provenance(block), disc)


def _numbers(df: pd.DataFrame, column: str) -> np.ndarray | None:
    if column not in df.columns:
        return None
    v = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return v if len(v) else None


def _target_bands(ok: pd.DataFrame, key: str, value: float, last: str) -> TargetBands | None:
    reached = _numbers(ok, f"target_reached_{key}")
    share = _numbers(ok, f"share_of_target_{key}")
    if reached is None or share is None:
        return None  # a folder written before these outputs existed: the report shows the representative run
    months, share_reached = attainment_quantiles(reached, last)
    sh = {k: float(np.quantile(share, q)) for k, q in QUANTILES.items()}
    with_disc = _numbers(ok, f"{WITH_DISCREPANCY}{key}")
    months_with, share_with = attainment_quantiles(with_disc, last) if with_disc is not None else (None, None)
    return TargetBands(months, share_reached, {k: v * value for k, v in sh.items()}, sh, len(reached),
                       months_with, share_with)


def provenance(block: dict[str, Any]) -> Provenance:
    """The manifest's ``ensemble.posterior`` record; for older folders, parsed from its ``parameters`` line."""
    post = block.get("posterior")
    if isinstance(post, dict) and post:
        return Provenance("posterior", {str(k): v for k, v in post.items()})
    line = str(block.get("parameters", ""))
    m = _OLD_LINE.match(line)
    if m:
        return Provenance("posterior", {**m.groupdict(), "draws": int(m["draws"])})
    if "seeds only" in line:
        return Provenance("seeds")
    return Provenance("unknown", {"parameters": line} if line else {})
