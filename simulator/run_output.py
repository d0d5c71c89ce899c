"""What the reports read of a run: its ``Results`` and the target arithmetic on its tables.

The engine's modules stay its own (the layer rule: reports never import the engine); this is
the door they go through.
"""

from simulator.engine.outputs import (
    WITH_DISCREPANCY,
    attainment_quantiles,
    first_month_reached,
    is_plain_target,
    target_monthly,
    trailing_12,
)
from simulator.engine.results import Results

__all__ = ["Results", "WITH_DISCREPANCY", "attainment_quantiles", "first_month_reached", "is_plain_target",
           "target_monthly", "trailing_12"]
