"""MSSanté, the secure messaging network: professional-to-professional messages (to the
prescriber or the médecin traitant, when both ends have a mailbox) and messages to the
patient's Mon espace santé mailbox (``<INS>@patient.mssante.fr``).

Messages are counted by type rather than drawn one by one: their outcome depends on the
network (latency, bounces, outages), not on the individual patient, so aggregated counts
give the same tables at a fraction of the cost. Messages wait while the network is down and
bounce once they have waited longer than the scenario allows. An operator may fail alone
(``operator_down``): the share of each sector's messages that leave through it (or, for
``mes``, every message to or from a patient) is held from the day it is due, and delivered
when the operator is back, or bounced once it has waited too long.
"""

from __future__ import annotations

import numpy as np

from simulator.core import outcomes as oc
from simulator.core.events import Bus
from simulator.core.tally import Tally


class MssanteService:
    """Delivery of aggregated messages with latency, bounces and outages.

    Pending messages are kept as count arrays [sector, channel, type] keyed by
    (production day, due day): a handful of entries a day, whatever the volume.
    """

    def __init__(self, tally: Tally, month_of_day: np.ndarray, rngs: list[np.random.Generator],
                 same_day: float, n_sectors: int, n_channels: int, n_types: int, latency_days: tuple[int, ...]):
        self.tally = tally
        self.latency_days = tuple(latency_days)  # delays of messages not delivered the day they are sent
        self.month_of_day = month_of_day
        self.rngs = rngs  # one stream per sector: a sector's volumes never shift another's draws
        self.same_day = same_day
        self.shape = (n_sectors, n_channels, n_types)
        self.up = True
        self.outage_max_wait: int | None = None
        self.pending: dict[tuple[int, int], np.ndarray] = {}
        self.group_by_month = True  # bounce draws per production month; False: per production day
        self._joint: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # latency × type probabilities per weight vector
        self._sent: np.ndarray | None = None  # messages posted on _sent_day [latency, sector, channel, type]
        self._sent_day = -1
        self.bus = Bus()  # publishes mssante.booked (the run's bus, set by the engine)
        # operators: share of each sector's senders per operator key [sector, operator] (set by
        # the engine); channels to/from patients also pass through ``mes``
        self.operator_keys: tuple[str, ...] = ()
        self.operator_shares = np.zeros((n_sectors, 0))
        self.to_patient_channel: int | None = None  # channel codes (set by the engine)
        self.from_patient_channel: int | None = None
        self.down_operators: dict[str, int | None] = {}  # failing operator -> its outage's max wait
        self.held: dict[str, dict[int, np.ndarray]] = {}  # failing operator -> production day -> counts

    def _slot(self, day: int, due: int) -> np.ndarray:
        slot = self.pending.get((day, due))
        if slot is None:
            slot = self.pending[(day, due)] = np.zeros(self.shape, dtype=np.int64)
        return slot

    def send(self, day: int, sector: int, channel: int, n: int, type_weights: np.ndarray) -> None:
        """Post ``n`` messages of a sector on a channel: one multinomial draw gives their
        split by delivery latency × document type at once."""
        key = id(type_weights)
        joint_p = self._joint.get(key)
        if joint_p is None:
            k = len(self.latency_days)
            p_lat = np.r_[self.same_day, np.full(k, (1.0 - self.same_day) / k)]
            joint_p = self._joint[key] = (np.outer(p_lat, type_weights).ravel(), type_weights)
        joint = self.rngs[sector].multinomial(n, joint_p[0]).reshape(len(self.latency_days) + 1, -1)
        if self._sent_day != day:
            self._flush()
            self._sent_day = day
            self._sent = np.zeros((len(self.latency_days) + 1, *self.shape), dtype=np.int64)
        self._sent[:, sector, channel] += joint

    def _flush(self) -> None:
        """Move the day's posted messages (``send``) to their (production day, due day) slots:
        one addition per latency a day rather than per message batch."""
        if self._sent is None:
            return
        day = self._sent_day
        for j, delay in enumerate((0, *self.latency_days)):
            if j == 0 or self._sent[j].any():
                self._slot(day, day + delay)[...] += self._sent[j]
        self._sent = None

    def _count(self, prod: int, arr: np.ndarray, outcome: int, day: int) -> None:
        """Book, on ``day``, ``arr`` messages produced on day ``prod`` (any day of its month)
        with ``outcome``."""
        self.bus.publish("mssante.booked", prod, day, arr, outcome)
        month = int(self.month_of_day[prod])
        self.tally.counts[month, :, :, :, outcome] += arr.transpose(0, 2, 1)

    # -- one operator failing ---------------------------------------------------------
    def operator_down(self, operator: str, max_wait: int | None) -> None:
        """``operator`` fails: from today its share of the messages due is held."""
        self.down_operators[operator] = max_wait
        self.held.setdefault(operator, {})

    def operator_up(self, operator: str, day: int) -> None:
        """``operator`` is back on ``day``: what it held is due that day."""
        self.down_operators.pop(operator, None)
        for prod, arr in self.held.pop(operator, {}).items():
            self._slot(prod, day)[...] += arr

    def _held_share(self, operator: str) -> np.ndarray:
        """Share of each [sector, channel]'s messages that pass through ``operator``: a sender's
        operator carries its share of the sector's messages to professionals and to patients;
        ``mes`` carries every message to a patient and every message from one."""
        p = np.zeros(self.shape[:2])
        to_pat, from_pat = self.to_patient_channel, self.from_patient_channel
        if operator == "mes":
            for c in (to_pat, from_pat):
                if c is not None:
                    p[:, c] = 1.0
        elif operator in self.operator_keys:
            share = self.operator_shares[:, self.operator_keys.index(operator)]
            for c in (1, to_pat):
                if c is not None:
                    p[:, c] = share
        return p

    def _hold(self, prod: int, arr: np.ndarray) -> np.ndarray:
        """Take out of ``arr`` the messages of the failing operators (one binomial per
        operator and sector, on the shares still left); returns what may be delivered."""
        left = np.ones(self.shape[:2])
        arr = arr.copy()
        for op in sorted(self.down_operators):
            p = self._held_share(op)
            q = np.divide(p, left, out=np.zeros_like(p), where=left > 0).clip(0.0, 1.0)
            held = np.zeros_like(arr)
            for k in arr.reshape(arr.shape[0], -1).any(axis=1).nonzero()[0]:
                if q[k].any():
                    held[k] = self.rngs[k].binomial(arr[k], q[k][:, None])
            arr -= held
            left = np.maximum(left - p, 0.0)
            slot = self.held[op].get(prod)
            if slot is None:
                self.held[op][prod] = held
            else:
                slot += held
        return arr

    def _bounce_held(self, day: int, max_wait: int | None) -> None:
        """Messages held by a failing operator longer than its outage allows bounce."""
        for op, wait_iv in self.down_operators.items():
            wait = wait_iv if wait_iv is not None else max_wait
            if wait is None:
                continue
            held = self.held[op]
            for prod in sorted(p for p in held if day - p >= wait):
                self._count(prod, held.pop(prod), oc.BOUNCED_OUTAGE, day)

    def process(self, day: int, bounce_rate: float, max_wait: int | None) -> None:
        """Deliver what is due if the network is up; bounce what waited too long if it is down."""
        self._flush()
        if self.down_operators:
            self._bounce_held(day, max_wait)
        if self.up:
            # what is due is delivered at once: one bounce draw per sector and production month
            # (tables are monthly), or per production day where a recorder needs the day
            due: dict[int, tuple[int, np.ndarray]] = {}
            for key in sorted(k for k in self.pending if k[1] <= day):
                prod = key[0]
                group = int(self.month_of_day[prod]) if self.group_by_month else prod
                arr = self.pending.pop(key)
                if self.down_operators:
                    arr = self._hold(prod, arr)
                if group in due:
                    np.add(due[group][1], arr, out=due[group][1])
                else:
                    due[group] = (prod, arr)
            for prod, arr in due.values():
                bounced = np.zeros_like(arr)
                for k in arr.reshape(arr.shape[0], -1).any(axis=1).nonzero()[0]:
                    bounced[k] = self.rngs[k].binomial(arr[k], bounce_rate)
                self._count(prod, arr - bounced, oc.DELIVERED, day)
                self._count(prod, bounced, oc.BOUNCED, day)
            return
        wait = self.outage_max_wait if self.outage_max_wait is not None else max_wait
        if wait is None:
            return
        for key in sorted(k for k in self.pending if day - k[0] >= wait):
            self._count(key[0], self.pending.pop(key), oc.BOUNCED_OUTAGE, day)

    def finish(self, end_day: int) -> None:
        """End of run (``end_day``: the day after the last): messages not yet delivered are in transit."""
        self._flush()
        for (prod, _due), arr in self.pending.items():
            self._count(prod, arr, oc.IN_TRANSIT, end_day)
        self.pending.clear()
        for held in self.held.values():
            for prod, arr in held.items():
                self._count(prod, arr, oc.IN_TRANSIT, end_day)
        self.held.clear()
