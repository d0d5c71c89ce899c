"""The day plan timed: each module's seconds in its daily step, in the batches it is shown and
at month ends (``segur run --profile``; in the manifest as ``profile``). Off unless asked: the
loop then reads one ``perf_counter`` per module per day, nothing else."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.engine.modules import Module


class PlanClock:
    """Seconds per module of the day plan (by position: two modules may share a name)."""

    def __init__(self, modules: list[Module]):
        self.names = [m.name for m in modules]
        self.step_s = [0.0] * len(modules)
        self.batch_s = [0.0] * len(modules)
        self.month_s = [0.0] * len(modules)
        self._index = {id(m): i for i, m in enumerate(modules)}

    def steps(self, modules: list[Module], day: int) -> None:
        """Every module's step of ``day``, in plan order, timed."""
        spent = self.step_s
        for i, m in enumerate(modules):
            t = perf_counter()
            m.step(day)
            spent[i] += perf_counter() - t

    def month_ends(self, modules: list[Module], month: int, day: int) -> None:
        """Every module's month end, in plan order, timed."""
        spent = self.month_s
        for i, m in enumerate(modules):
            t = perf_counter()
            m.month_end(month, day)
            spent[i] += perf_counter() - t

    def takers(self, takers: list[Module]) -> list[Any]:
        """The modules a producer shows its batches to, each timed in ``on_batch``."""
        return [_TimedTaker(m, self, self._index[id(m)]) for m in takers]

    def rows(self) -> list[dict[str, Any]]:
        """One row per module in plan order: seconds in step, on_batch, month_end and in all.
        A module's step excludes the batches it shows the others (the producers' step)."""
        shown = sum(self.batch_s)
        out = []
        for i, name in enumerate(self.names):
            step = self.step_s[i] - (shown if name == "producers" else 0.0)
            total = step + self.batch_s[i] + self.month_s[i]
            out.append({"module": name, "step_s": round(step, 4), "on_batch_s": round(self.batch_s[i], 4),
                        "month_end_s": round(self.month_s[i], 4), "total_s": round(total, 4)})
        return out


class _TimedTaker:
    """A module as a producer sees it (``on_batch``), timed."""

    __slots__ = ("module", "clock", "i")

    def __init__(self, module: Module, clock: PlanClock, i: int):
        self.module, self.clock, self.i = module, clock, i

    def on_batch(self, batch: Any) -> None:
        t = perf_counter()
        self.module.on_batch(batch)
        self.clock.batch_s[self.i] += perf_counter() - t


def format_profile(rows: list[dict[str, Any]]) -> str:
    """The day plan with each module's seconds, as ``segur run --profile`` prints it."""
    width = max([len("module"), *(len(r["module"]) for r in rows)])
    lines = [f"{'day plan':<{width}}  {'step s':>8}  {'batches s':>9}  {'month end s':>11}  {'total s':>8}"]
    for r in rows:
        lines.append(f"{r['module']:<{width}}  {r['step_s']:>8.3f}  {r['on_batch_s']:>9.3f}  "
                     f"{r['month_end_s']:>11.3f}  {r['total_s']:>8.3f}")
    lines.append(f"{'all modules':<{width}}  {'':>8}  {'':>9}  {'':>11}  {sum(r['total_s'] for r in rows):>8.3f}")
    return "\n".join(lines)
