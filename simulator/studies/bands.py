"""The band of a target's month, for every place that shows it (CLI, compare, report, web page).

``target_month_band(reached, last)`` turns the per-replication months a target is reached
(``target_reached`` outputs, decimal years; a replication that never reaches it counts as later
than any month, ``simulator.engine.outputs.attainment_quantiles``) into the median, p5 and p95 months,
the share of replications that reach it by the end, and the text "March 2026 (p5 Oct 2025 – p95
not by 2027), reached by the end in 55% of replications" that the CLI summary prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.engine.ensemble import attainment_band
from simulator.engine.outputs import attainment_quantiles


@dataclass(frozen=True)
class TargetBand:
    """Median, p5 and p95 month (``YYYY-MM``; None = not reached by the end) and the share reaching it."""

    median: str | None
    p5: str | None
    p95: str | None
    share: float
    replications: int
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"median": self.median, "p5": self.p5, "p95": self.p95, "share": self.share,
                "replications": self.replications, "text": self.text}


def target_month_band(reached: np.ndarray, last: str) -> TargetBand:
    """The band of the month a target is reached over the replications (``last``: the run's last month)."""
    reached = np.asarray(reached, dtype=float)
    (p5, p50, p95), share = attainment_quantiles(reached, last)
    return TargetBand(p50, p5, p95, share, int(reached.size), attainment_band(reached, last))


__all__ = ["TargetBand", "target_month_band"]
