"""The programme's published figures (2021–2023) for the observed points of the figures.

One small function so the report has one place to change if the calibration's reader moves.
"""

from __future__ import annotations

import pandas as pd

from simulator.core.errors import UsageError


def observed_figures() -> pd.DataFrame:
    """The observed rows (``scenarios.observed.load_observed``), or an empty frame if absent."""
    try:
        # the observed figures load only when a figure shows them (start-up time)
        from scenarios.observed import load_observed

        return load_observed()
    except (ImportError, UsageError):
        return pd.DataFrame(columns=["date", "metric", "sector", "value", "unit", "source", "note", "bound"])
