"""Observed figures against a run: now on the engine side (``simulator.observed_match``, read
by the studies and the page alike); kept here for the code that imports it from the studies."""

from simulator.observed_match import (
    MORE_THAN_MARGIN,
    TARGET_METRICS,
    Unmatched,
    combine,
    observed_vs_simulated,
    one_sided,
    simulated_series,
    why_unmatched,
)

__all__ = ["MORE_THAN_MARGIN", "TARGET_METRICS", "Unmatched", "combine", "observed_vs_simulated", "one_sided",
           "simulated_series", "why_unmatched"]
