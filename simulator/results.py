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

import numpy as np
import pandas as pd

from agents.catalogue import load_catalogue
from simulator.atomic import atomic_folder
from simulator.core.errors import ConservationError, UsageError
from simulator.core.outcomes import CHANNELS, OUTCOMES

if TYPE_CHECKING:
    from simulator.engine import Simulation

TABLES = ("documents", "gp_activity", "adoption", "profiles", "dmp_daily", "territory")
MANIFEST = "manifest.json"
RESULTS_KIND = "segur-testbed results"


@dataclass
class Results:
    """The tables and manifest of one run."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    extra_files: dict[str, bytes] = field(default_factory=dict)

    # -- access ---------------------------------------------------------------------
    def to_df(self, name: str = "documents") -> pd.DataFrame:
        """A table as a pandas DataFrame (a copy, so callers may change it freely)."""
        if name not in self.tables:
            raise KeyError(f"no table '{name}'; tables: {', '.join(self.tables)}")
        return self.tables[name].copy()

    def without_files(self) -> Results:
        """The same tables and manifest without the extra files (cheaper to hand to a helper)."""
        return Results(self.tables, self.manifest)

    @property
    def scale(self) -> float:
        return float(self.manifest["scale"])

    def monthly(self, channel: str | None = None, outcome: str = "accepted") -> pd.DataFrame:
        """National documents per month (rows) and sector (columns) for one outcome."""
        df = self.tables["documents"]
        sel = df["outcome"] == outcome
        if channel is not None:
            sel &= df["channel"] == channel
        wide = df[sel].pivot_table(index="month", columns="sector", values="documents", aggfunc="sum", fill_value=0.0)
        months = self.manifest["months"]
        return wide.reindex(months, fill_value=0.0)

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
        if out.exists() and not (out / MANIFEST).exists():
            raise UsageError(f"{out}: exists and is not a results folder; choose another --out")
        with atomic_folder(out) as tmp:
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
        """Read a results folder written by ``save``; a missing or foreign folder is a UsageError."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UsageError(f"{folder}: no such results folder")
        mpath = folder / MANIFEST
        if not mpath.exists():
            raise UsageError(f"{folder}: not a results folder (no {MANIFEST}); run `segur run` first")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UsageError(f"{mpath}: not valid JSON") from None
        if manifest.get("kind") != RESULTS_KIND:
            raise UsageError(f"{folder}: not a segur-testbed results folder (manifest kind is {manifest.get('kind')!r})")
        tables = {}
        for name in manifest.get("tables", TABLES):
            p = folder / f"{name}.csv"
            if not p.exists():
                raise UsageError(f"{folder}: table {name}.csv is missing")
            tables[name] = pd.read_csv(p, keep_default_na=False, dtype={"month": str, "reason": str})
        return cls(tables, manifest)


def build_results(sim: Simulation) -> Results:
    """Turn a finished simulation's counters into tidy tables and a manifest."""
    from simulator import __version__

    w = sim.world
    sc = sim.scenario
    scale = sc.run.scale
    months = w.calendar.months
    cat = load_catalogue()
    counts = sim.tally.counts
    idx = np.nonzero(counts)
    values = counts[idx]
    m, s, t, c, o = idx
    documents = pd.DataFrame({
        "month": np.array(months)[m],
        "sector": np.array(w.sector_names)[s],
        "doc_type": np.array([x.code for x in cat])[t],
        "channel": np.array(CHANNELS)[c],
        "outcome": np.array([x[0] for x in OUTCOMES])[o],
        "reason": np.array([x[1] for x in OUTCOMES])[o],
        "count": values.astype(np.int64),
        "documents": values / scale,
    })

    tables = {
        "documents": documents,
        "gp_activity": _gp_activity(sim, months),
        "adoption": pd.DataFrame(sim.adoption_rows),
        "profiles": pd.DataFrame(sim.profile_rows),
        "dmp_daily": _dmp_daily(sim),
        "territory": _territory(sim, months, documents),
    }
    for flow in getattr(sim, "flows", []):
        for name, df in flow.tables().items():
            if name in tables:
                raise ValueError(f"flow {flow.name} returns a table named {name!r}, which already exists")
            tables[name] = df
    produced = {}
    pm, ps, pc = np.nonzero(sim.produced)
    for a, b, d in zip(pm, ps, pc, strict=True):
        produced[f"{months[a]}|{w.sector_names[b]}|{CHANNELS[d]}"] = int(sim.produced[a, b, d])
    manifest = {
        "kind": RESULTS_KIND,
        "version": __version__,
        "scenario_name": sc.name,
        "scenario": json.loads(sc.model_dump_json()),
        "seed": sc.run.seed,
        "scale": scale,
        "start": str(sc.run.start),
        "end": str(sc.run.end),
        "months": months,
        "sectors": w.sector_names,
        "tables": list(tables),
        "simulated": {"patients": int(w.patients.n), "facilities": {s.name: int(s.n) for s in w.sectors},
                      "facility_scale": {s.name: float(s.facility_scale) for s in w.sectors}},
        "produced": produced,
    }
    return Results(tables, manifest)


def _gp_activity(sim: Simulation, months: list[str]) -> pd.DataFrame:
    """Accepted documents of each equipped GP in each month (zeros included)."""
    if "gp" not in sim.world.sector_names:
        return pd.DataFrame(columns=["month", "facility", "documents"])
    gp = sim.world.sector("gp")
    last_days = sim.world.calendar.last_day_of_months()
    counts = sim.dmp.gp_month
    frames = []
    for mi, day in enumerate(last_days):
        eq = np.flatnonzero(gp.install_day <= day)
        if eq.size == 0:
            continue
        frames.append(pd.DataFrame({"month": months[mi], "facility": eq.astype(np.int32), "documents": counts[mi, eq]}))
    if not frames:
        return pd.DataFrame(columns=["month", "facility", "documents"])
    return pd.concat(frames, ignore_index=True)


def _territory(sim: Simulation, months: list[str], documents: pd.DataFrame) -> pd.DataFrame:
    """Documents sent by producers of each département: DMP accepted (counted row by row) and
    MSSanté delivered (apportioned by the senders' expected volumes), national figures."""
    w = sim.world
    scale = sim.scenario.run.scale
    codes = np.array(w.territory.codes)
    sectors = np.array(w.sector_names)
    frames = []
    by_dept = sim.dmp.by_dept
    m, s, d = np.nonzero(by_dept)
    frames.append(pd.DataFrame({
        "month": np.array(months)[m], "sector": sectors[s], "departement": codes[d],
        "channel": "dmp", "documents": by_dept[m, s, d] / scale,
    }))
    delivered = documents[documents["outcome"] == "delivered"].groupby(["month", "sector", "channel"])["count"].sum()
    if len(delivered):
        month_ix = {x: i for i, x in enumerate(months)}
        sector_ix = {x: i for i, x in enumerate(w.sector_names)}
        mi = np.array([month_ix[x] for x in delivered.index.get_level_values(0)])
        si = np.array([sector_ix[x] for x in delivered.index.get_level_values(1)])
        channel = delivered.index.get_level_values(2).to_numpy()
        share = sim.mss_dept_share[mi, si, (channel != "mssante_pro").astype(np.intp)]  # [group, département]
        g, d = np.nonzero(share)
        frames.append(pd.DataFrame({
            "month": np.array(months)[mi[g]], "sector": sectors[si[g]], "departement": codes[d],
            "channel": channel[g], "documents": delivered.to_numpy()[g] * share[g, d] / scale,
        }))
    return pd.concat(frames, ignore_index=True)


def _dmp_daily(sim: Simulation) -> pd.DataFrame:
    log = sim.dmp.log
    scale = sim.scenario.run.scale
    n = len(log.up)
    dates = sim.world.calendar.dates[:n].astype(str)
    return pd.DataFrame({
        "date": dates,
        "up": log.up,
        "received": np.array(log.received) / scale,
        "accepted": np.array(log.accepted) / scale,
        "rejected": np.array(log.rejected) / scale,
        "dropped": np.array(log.dropped) / scale,
        "backlog": np.array(log.backlog) / scale,
    })
