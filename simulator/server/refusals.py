"""Refusals without a known caller (no token, a bad token, an unknown path) counted in the access
log with bounded growth: one row per minute, method, status and rule in each server process,
whose ``requests`` column counts them — 2,000 anonymous 401s in a minute make one row that
says 2,000, not 2,000 rows. Requests with a valid token keep one row each.
"""

from __future__ import annotations

import threading

from sqlalchemy import insert, update

from simulator.server import schema as S
from simulator.server.store import Store, printable, utc_now

#: rows remembered per process before the older minutes are forgotten
_MEMORY = 256


class AnonymousRefusals:
    """Counts anonymous refusals into aggregated access-log rows (see the module)."""

    def __init__(self, store: Store):
        self.store = store
        self._rows: dict[tuple[str, str, int, str], int] = {}
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: int, rule: str) -> None:
        """Count one refusal (its first in the minute writes the row; the others add to it)."""
        at = utc_now()
        key = (at[:16], method, status, rule)
        log = S.access_log
        with self._lock:
            row_id = self._rows.get(key)
        with self.store.write() as conn:
            if row_id is not None:
                conn.execute(update(log).where(log.c.id == row_id).values(requests=log.c.requests + 1))
                return
            row_id = conn.execute(insert(log).values(
                at=at, actor_kind="anonymous", actor="-", action=method, target=printable(path), patient_ins=None,
                status=status, outcome=printable(f"denied {rule}", 60), requests=1).returning(log.c.id)).scalar_one()
        with self._lock:
            if len(self._rows) >= _MEMORY:
                self._rows = {k: v for k, v in self._rows.items() if k[0] == key[0]}
            self._rows[key] = row_id


__all__ = ["AnonymousRefusals"]
