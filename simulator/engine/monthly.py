"""Month × sector views of a run's ``documents`` table, in the files' form (months as text):
what ``Results.monthly`` types for the API and what the engine's own readers index by."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from simulator.core.errors import UsageError
from simulator.core.outcomes import OUTCOMES

if TYPE_CHECKING:
    from simulator.engine.results import Results

SENT_OUTCOME = {"dmp": "accepted", "mssante_pro": "delivered", "mssante_patient": "delivered",
               "mssante_from_patient": "delivered"}
CHANNEL_OUTCOMES = {
    "dmp": tuple(dict.fromkeys(o for o, _ in OUTCOMES if o not in ("delivered", "bounced", "in_transit"))),
    "mssante_pro": ("delivered", "bounced", "in_transit"),
    "mssante_patient": ("delivered", "bounced", "in_transit"),
    "mssante_from_patient": ("delivered", "bounced", "in_transit"),
}


def monthly_frame(res: Results, channel: str = "dmp", outcome: str | None = None) -> pd.DataFrame:
    """``Results.monthly`` with the months as the files' ``YYYY-MM`` text (what the engine's own
    readers index by): every month of the run (rows) × every sector of the run (columns)."""
    if channel not in CHANNEL_OUTCOMES:
        raise UsageError(f"channel '{channel}' is unknown; allowed: {', '.join(CHANNEL_OUTCOMES)}")
    outcome = SENT_OUTCOME[channel] if outcome is None else outcome
    if outcome not in CHANNEL_OUTCOMES[channel]:
        raise UsageError(f"outcome '{outcome}' does not occur on channel '{channel}'; allowed: "
                         f"{', '.join(CHANNEL_OUTCOMES[channel])}")
    df = res.tables["documents"]
    sel = (df["outcome"] == outcome) & (df["channel"] == channel)
    wide = df[sel].pivot_table(index="month", columns="sector", values="documents", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(index=res.manifest["months"], columns=res.manifest["sectors"], fill_value=0.0).astype(float)
    wide.index.name, wide.columns.name = "month", "sector"
    return wide


