"""Results of a run: tidy tables (pandas), a manifest, conservation, and an atomic results folder.

Tables:
- ``documents``: month × sector × doc_type × channel × outcome × reason, with ``count``
  (simulated documents) and ``documents`` (national estimate = count / scale);
- ``gp_activity``: accepted DMP documents per equipped GP and month (national GP ids are
  simulated facility numbers);
- ``adoption``: facilities, installed, feeding, mailboxes, eligible documents by sector and month;
- ``profiles``: Mon espace santé profile states by month;
- ``dmp_daily``: the DMP's day-by-day activity (availability, received, verdicts, backlog);
- ``territory``: documents sent by the producers of each département, by sector and channel
  (DMP accepted counted row by row; MSSanté delivered apportioned by the senders' volumes).
All counts except ``documents.count`` are national figures; the scale is in the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulator import __version__
from simulator.atomic import atomic_folder
from simulator.core.errors import ConservationError, UsageError
from simulator.engine.modules import module_tables
from simulator.engine.monthly import CHANNEL_OUTCOMES, SENT_OUTCOME, monthly_frame  # noqa: F401  (part of this API)
from simulator.engine.results_files import DEFAULT_TABLES, MANIFEST, RESULTS_KIND, read_folder
from simulator.engine.results_plot import plot_monthly
from simulator.engine.results_view import to_file_form, typed
from simulator.engine.summary import format_summary

if TYPE_CHECKING:
    from simulator.engine.modules import Context, Module

TABLES = DEFAULT_TABLES  # the tables every run writes (flows and ensembles add theirs)



@dataclass
class Results:
    """The tables and manifest of one run."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    extra_files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a frame taken with ``to_df`` (typed) and put back is stored in the files' form
        self.tables = {name: to_file_form(name, df) for name, df in self.tables.items()}

    # -- access ---------------------------------------------------------------------
    def to_df(self, name: str = "documents") -> pd.DataFrame:
        """A table as a pandas DataFrame, typed for analysis (a copy, so callers may change it):
        months are ``Period[M]``, dimensions categorical, "no reason" is missing (NA), the national
        estimate is the ``national`` column of every table (``count`` is the simulated count), and
        ``sector_label`` / ``doc_type_label`` name sectors and document types. ``Results.tables``
        holds the same tables in the form of the CSV files."""
        if name not in self.tables:
            raise UsageError(f"no table '{name}'; tables: {', '.join(self.tables)}")
        return typed(name, self.tables[name], self.manifest)

    def without_files(self) -> Results:
        """The same tables and manifest without the extra files (cheaper to hand to a helper)."""
        return Results(self.tables, self.manifest)

    @property
    def scale(self) -> float:
        return float(self.manifest["scale"])

    def monthly(self, channel: str = "dmp", outcome: str | None = None) -> pd.DataFrame:
        """National documents per month (rows, a monthly ``PeriodIndex``) and sector (columns) on
        one channel for one outcome. The default outcome is the channel's "sent" one: ``accepted``
        for ``dmp``, ``delivered`` for ``mssante_pro`` / ``mssante_patient``. An unknown channel or
        an outcome the channel never has is a UsageError naming the allowed ones."""
        wide = monthly_frame(self, channel, outcome)
        wide.index = pd.PeriodIndex(wide.index, freq="M", name="month")
        wide.columns = pd.CategoricalIndex(wide.columns, categories=list(wide.columns), name="sector")
        return wide

    def summary(self) -> str:
        """The plain-text summary `segur run` prints: the last 12 months by sector and channel,
        and each target with the month it is reached (Starsim / Covasim ``sim.summary``)."""
        return format_summary(self)

    def plot(self, channel: str = "dmp", outcome: str | None = None, ax: Any = None) -> Any:
        """Monthly national documents by sector on one channel, stacked, with each all-sector target
        ÷ 12 (Starsim / Covasim ``sim.plot``); returns the matplotlib Figure (``ax``: draw there)."""
        return plot_monthly(self, channel, outcome, ax)

    # -- invariants -----------------------------------------------------------------
    def check_conservation(self) -> None:
        """Every document sent has exactly one outcome: for each sector, month and channel,
        documents produced = sum of outcomes (accepted, rejected by reason, dropped, queued…)."""
        produced = self.manifest.get("produced")
        if produced is None:
            return
        df = self.tables["documents"]
        got = df.groupby(["month", "sector", "channel"])["count"].sum()
        expected = pd.Series(
            {tuple(k.split("|")): v for k, v in produced.items()}, dtype="int64"
        )
        expected.index = pd.MultiIndex.from_tuples(expected.index, names=["month", "sector", "channel"])
        diff = expected.subtract(got.reindex(expected.index, fill_value=0), fill_value=0)
        extra = got.index.difference(expected.index)
        if (diff != 0).any() or len(extra):
            bad = diff[diff != 0]
            first = bad.index[0] if len(bad) else extra[0]
            raise ConservationError(
                f"conservation broken for {first}: produced {expected.get(first, 0)}, "
                f"outcomes {got.get(first, 0)} ({len(bad) + len(extra)} cells differ)"
            )

    # -- files ----------------------------------------------------------------------
    def save(self, out: str | Path, overwrite: bool = True,
             writers: list[Callable[[Results, Path], Callable[[], None] | None]] | None = None) -> Path:
        """Write the results folder atomically: a temporary folder beside ``out``, then rename.

        ``writers`` add their own files (the report, FHIR payloads…) into the temporary
        folder before the rename, so an interrupted run never leaves a half-written folder.
        """
        out = Path(out)
        if out.exists() and not overwrite:
            raise UsageError(f"{out}: already exists")
        with atomic_folder(out, kind="run") as tmp:  # refuses a folder holding what it did not write
            # a writer may hand its work to a helper and return what waits for it: the
            # tables are written meanwhile
            pending = [write(self, tmp) for write in writers or []]
            for name, df in self.tables.items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            for rel, data in self.extra_files.items():
                p = tmp / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            for wait in pending:
                if callable(wait):
                    wait()
            (tmp / MANIFEST).write_text(json.dumps(self.manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> Results:
        """Read a results folder written by ``save``: every file is checked first, and a missing,
        foreign or damaged folder is one UsageError naming the file (``simulator.engine.results_files``)."""
        folder = Path(folder)
        tables, manifest = read_folder(folder)
        res = cls(tables, manifest)
        try:
            res.check_conservation()
        except ConservationError as exc:
            raise UsageError(f"{folder / 'documents.csv'}: does not add up to the documents the manifest says were "
                             f"produced ({exc}); the file is truncated or edited, run it again") from None
        return res


def build_results(ctx: Context, modules: list[Module], produced: dict[str, int]) -> Results:
    """The tables of a finished run, from its modules' own ``tables()``, and its manifest.

    Modules count in simulated units; the columns each table names as national are divided
    by the scale here, and only here. ``produced``: documents sent, ``month|sector|channel``
    → count (the manifest keeps it for conservation checks)."""
    w = ctx.world
    sc = ctx.scenario
    scale = sc.run.scale
    tables: dict[str, pd.DataFrame] = {}
    for name, table in module_tables(modules).items():
        df = table.df
        for column, source in table.national.items():
            df[column] = df[source] / scale
        tables[name] = df
    tables = {name: tables[name] for name in [*TABLES, *tables] if name in tables}  # the core tables first
    manifest = {
        "kind": RESULTS_KIND,
        "version": __version__,
        "scenario_name": sc.name,
        "scenario": json.loads(sc.model_dump_json()),
        "seed": sc.run.seed,
        "scale": scale,
        "start": str(sc.run.start),
        "end": str(sc.run.end),
        "months": w.calendar.months,
        "sectors": w.sector_names,
        "tables": list(tables),
        "simulated": {"patients": int(w.patients.n), "facilities": {s.name: int(s.n) for s in w.sectors},
                      "facility_scale": {s.name: float(s.facility_scale) for s in w.sectors}},
        "produced": produced,
    }
    return Results(tables, manifest)
