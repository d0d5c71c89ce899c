"""Dense counters of documents by production month × sector × type × channel × outcome.

Batches are counted with one ``bincount`` over (type, outcome) per call, so the cost follows
the number of rows, not the size of the table.
"""

from __future__ import annotations

import numpy as np

from simulator.core.outcomes import CHANNELS, N_OUTCOMES


class Tally:
    """documents[month, sector, type, channel, outcome] as simulated counts."""

    def __init__(self, n_months: int, n_sectors: int, n_types: int):
        self.counts = np.zeros((n_months, n_sectors, n_types, len(CHANNELS), N_OUTCOMES), dtype=np.int64)
        self.n_types = n_types

    def row_counts(self, doc_type: np.ndarray, outcome: np.ndarray) -> np.ndarray:
        """Counts [type, outcome] of rows (``doc_type`` and ``outcome`` codes of equal length);
        writes nothing, so it may run on any thread."""
        key = doc_type.astype(np.intp)
        key *= N_OUTCOMES
        key += outcome
        c = np.bincount(key, minlength=self.n_types * N_OUTCOMES)
        return c.reshape(self.n_types, N_OUTCOMES)

    def add_table(self, month: int, sector: int, channel: int, by_type: np.ndarray) -> None:
        """Add counts [type, outcome] (see ``row_counts``)."""
        self.counts[month, sector, :, channel, :] += by_type

    def add_rows(self, month: int, sector: int, channel: int, doc_type: np.ndarray, outcome: np.ndarray) -> None:
        """Count one row per document (``doc_type`` and ``outcome`` codes of equal length)."""
        if doc_type.size == 0:
            return
        self.add_table(month, sector, channel, self.row_counts(doc_type, outcome))

    def add_counts(self, month: int, sector: int, channel: int, by_type: np.ndarray, outcome: int) -> None:
        """Count documents already aggregated by type, all with the same outcome."""
        self.counts[month, sector, :, channel, outcome] += by_type
