"""Scenarios side by side: annual volumes by sector and channel, and the month each target is
reached (the first month whose trailing 12-month total of accepted DMP documents reaches it,
``simulator.engine.outputs.REACHED_RULE``).

Every scenario runs with the same seed(s) and scale, so differences come from the scenarios,
not from the draws (common random numbers). With replications, cells are medians with p5–p95;
a target month's quantiles treat "not reached by the end of the run" as later than any month.

>>> from simulator.studies.compare import run_scenarios, annual_volumes, target_dates   # doctest: +SKIP
>>> runs = run_scenarios([load_scenario("wave2"), load_scenario("wave2_late")], scale=0.002)  # doctest: +SKIP
>>> target_dates(runs)                                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.schema import Scenario
from simulator.atomic import atomic_folder, check_output
from simulator.core.errors import UsageError
from simulator.core.outcomes import CHANNELS
from simulator.engine.discrepancy import factors_for
from simulator.engine.outputs import REACHED_RULE, first_month_reached
from simulator.engine.results import Results
from simulator.studies.compare_series import (  # noqa: F401
    SENT,
    annualised,
    dmp_monthly,
    target_label,
    target_series,
    trailing_total,
)
from simulator.studies.compare_series import sent as _sent

COMPARISON_KIND = "segur-testbed comparison"
MANIFEST = "manifest.json"
QUANTILES = (0.05, 0.5, 0.95)
ASSUMPTION_NOTE = "Targets marked (assumption) are modelling assumptions: no public wave 2 volume target exists."


# -- running -------------------------------------------------------------------------------
@dataclass
class ScenarioRuns:
    """The runs of one scenario: documents of every replication, and one full run's Results."""

    name: str
    scenario: Scenario
    months: list[str]
    sectors: list[str]
    documents: np.ndarray  # simulated documents [replication, month, sector, channel, outcome]
    outcomes: list[str]
    scale: float
    seeds: list[int]
    results: Results | None = None  # the single run, or the median (representative) replication
    failures: list[str] = field(default_factory=list)
    executor: str = "this process"
    #: national documents counting towards each target [replication, month, target] (scenario order)
    targets: np.ndarray | None = None
    #: the structural discrepancy's factors exp(δ) [replication, month, sector] (None: the model alone)
    #: and the file they come from; every table, target month and figure of the comparison carries them
    discrepancy: np.ndarray | None = None
    discrepancy_file: str = ""

    @property
    def n(self) -> int:
        return int(self.documents.shape[0])


def runs_from_results(sc: Scenario, results: list[Results], representative: Results | None = None) -> ScenarioRuns:
    """Stack the documents of already finished runs of one scenario."""
    # the ensemble, the engine, the figure and the report load when a comparison runs (start-up time)
    from simulator.engine.ensemble import OUTCOME_NAMES, summarize

    if not results:
        raise ValueError("runs_from_results needs at least one Results")
    sums = [summarize(r, []) for r in results]
    first = sums[0]
    return ScenarioRuns(sc.name, sc, list(first.months), list(first.sectors), np.stack([s.documents for s in sums]),
                        list(OUTCOME_NAMES), float(first.scale), [int(s.seed) for s in sums],
                        representative if representative is not None else results[0],
                        targets=np.stack([s.targets for s in sums]) if all(s.targets is not None for s in sums) else None)


def replicate_runs(sc: Scenario, n: int, seed: int, scale: float, executor: Any = "local",
                   progress: Callable[[int, int], None] | None = None,
                   draws: tuple[list[Scenario] | None, str] = (None, ""),
                   discrepancy: dict[str, Any] | None = None) -> ScenarioRuns:
    """``n`` replications of ``sc`` (seeds ``replication_seeds(seed, n)``) through the ensemble
    executors; the median replication is run in full for the report. ``draws``: one scenario per
    replication from a posterior file, and the line naming it (``posterior_file.draw_scenarios``);
    ``discrepancy``: the structural discrepancy (``discrepancy.for_posterior``) the volumes carry,
    replication i's path as `segur run --replications` draws it (common random numbers)."""
    # the ensemble, the engine, the figure and the report load when a comparison runs (start-up time)
    from simulator.engine.ensemble import OUTCOME_NAMES, failure_lines, replicate

    ens = replicate(sc, n, seed=seed, scale=scale, executor=executor, progress=progress, representative=True,
                    draws=draws[0], draws_source=draws[1])
    agg = ens.aggregator
    if agg.completed == 0:
        raise UsageError(f"{sc.name}: no replication completed: " + "; ".join(failure_lines(ens.failures, n)))
    docs = agg.arrays["documents"][agg.filled]
    months, sectors = list(agg.layout["months"]), list(agg.layout["sectors"])
    factors = None if discrepancy is None else factors_for(discrepancy, sectors, months, agg.n, ens.seed)[agg.filled]
    return ScenarioRuns(ens.scenario.name, ens.scenario, months, sectors, docs,
                        list(OUTCOME_NAMES), float(agg.layout["scale"]), [s for s, ok in zip(agg.seeds, agg.filled, strict=True) if ok],
                        ens.representative, failure_lines(ens.failures, n), ens.executor,
                        agg.arrays["targets"][agg.filled] if "targets" in agg.arrays else None,
                        factors, "" if discrepancy is None else str(discrepancy["file"]))


def run_scenarios(scenarios: Sequence[Scenario], replications: int = 1, seed: int | None = None,
                  scale: float | None = None, executor: Any = "local",
                  progress: Callable[[int, int], None] | None = None,
                  draws: Sequence[tuple[list[Scenario] | None, str]] | None = None,
                  discrepancy: dict[str, Any] | None = None) -> list[ScenarioRuns]:
    """Run every scenario with the same seed and scale (defaults: the first scenario's).

    One replication: one run per scenario, in this process. More: ``replicate_runs`` (with the
    same ``discrepancy`` paths for every scenario: common random numbers)."""
    # the ensemble, the engine, the figure and the report load when a comparison runs (start-up time)
    from simulator.engine import Simulation
    from simulator.engine.ensemble import with_run

    if not scenarios:
        raise UsageError("compare: give at least one scenario")
    check_names(scenarios)
    seed = scenarios[0].run.seed if seed is None else int(seed)
    scale = scenarios[0].run.scale if scale is None else float(scale)
    out = []
    k = len(scenarios)
    for i, sc in enumerate(scenarios):
        sc = with_run(sc, seed, scale)  # the seed and scale every scenario runs with
        def step(done: int, total: int, i: int = i) -> None:
            if progress is not None:
                progress(int(1000 * i + 1000 * done / max(total, 1)), 1000 * k)

        if replications <= 1:
            res = Simulation(sc, seed=seed, scale=scale, progress=step).run()
            out.append(runs_from_results(sc, [res]))
        else:
            out.append(replicate_runs(sc, replications, seed, scale, executor, step,
                                      draws[i] if draws is not None else (None, ""), discrepancy))
    return out


def check_names(scenarios: Sequence[Scenario]) -> None:
    """Scenario names label the columns: they must differ."""
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise UsageError(f"compare: two scenarios are named '{sc.name}'; give each a distinct `name`")
        seen.add(sc.name)


# -- tables --------------------------------------------------------------------------------
def _years(months: list[str]) -> list[str]:
    return list(dict.fromkeys(m[:4] for m in months))


def _bands(x: np.ndarray) -> dict[str, np.ndarray]:
    q = np.quantile(x, QUANTILES, axis=0)
    return {"p5": q[0], "median": q[1], "p95": q[2]}


def annual_volumes(all_runs: Sequence[ScenarioRuns]) -> pd.DataFrame:
    """Tidy: scenario, sector (and "all"), year, channel, documents (median), p5, p95, n —
    national documents accepted by the DMP / delivered by MSSanté in each calendar year."""
    frames = []
    for runs in all_runs:
        sent = _sent(runs)  # [rep, month, sector, channel]
        years = _years(runs.months)
        year_of = np.array([years.index(m[:4]) for m in runs.months])
        by_year = np.stack([sent[:, year_of == y].sum(axis=1) for y in range(len(years))], axis=1)
        by_year = np.concatenate([by_year, by_year.sum(axis=2, keepdims=True)], axis=2)  # + "all"
        b = _bands(by_year)
        idx = pd.MultiIndex.from_product([years, [*runs.sectors, "all"], list(CHANNELS)], names=["year", "sector", "channel"])
        df = idx.to_frame(index=False)
        df.insert(0, "scenario", runs.name)
        df["documents"] = b["median"].reshape(-1)
        df["p5"] = b["p5"].reshape(-1)
        df["p95"] = b["p95"].reshape(-1)
        df["n"] = runs.n
        frames.append(df[["scenario", "sector", "year", "channel", "documents", "p5", "p95", "n"]])
    return pd.concat(frames, ignore_index=True)


def _month_label(i: int, months: list[str]) -> str:
    return months[i] if i < len(months) else f"not by {months[-1][:4]}"


def target_dates(all_runs: Sequence[ScenarioRuns]) -> pd.DataFrame:
    """Tidy: scenario, target, value, sectors, key_document, assumption, source, reached (first
    month, or "not by <last year>"; the median over replications), reached_p5, reached_p95,
    reached_share (replications that reach it by the end), n."""
    rows = []
    for runs in all_runs:
        for key, t in runs.scenario.targets.items():
            monthly, values = target_series(runs, key)
            first = first_month_reached(monthly, values)
            q = [int(np.quantile(first, p, method="inverted_cdf")) for p in QUANTILES]
            rows.append({
                "scenario": runs.name, "target": key, "value": float(t.value), "sectors": " ".join(t.sectors),
                "key_document": t.key_document, "assumption": bool(t.assumption), "source": t.source,
                "reached": _month_label(q[1], runs.months), "reached_p5": _month_label(q[0], runs.months),
                "reached_p95": _month_label(q[2], runs.months),
                "reached_share": float(np.mean(first < len(runs.months))), "n": runs.n,
            })
    return pd.DataFrame(rows, columns=["scenario", "target", "value", "sectors", "key_document", "assumption", "source",
                                       "reached", "reached_p5", "reached_p95", "reached_share", "n"])


def side_by_side(volumes: pd.DataFrame, targets: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two wide tables: targets × scenarios (month reached) and sector × year × channel ×
    scenarios (documents). With replications, p5 and p95 columns follow each scenario's."""
    reps = int(max(volumes["n"].max(), targets["n"].max() if len(targets) else 1))
    tw = targets.assign(label=[target_label(r.target, r.value, r.assumption) for r in targets.itertuples()])
    keys = ["target", "label", "sectors", "value", "assumption"]
    t_wide = tw[keys].drop_duplicates().reset_index(drop=True)
    v_wide = volumes[["sector", "year", "channel"]].drop_duplicates().reset_index(drop=True)
    for name in names:
        t = tw[tw["scenario"] == name].set_index(keys)
        v = volumes[volumes["scenario"] == name].set_index(["sector", "year", "channel"])
        ti = pd.MultiIndex.from_frame(t_wide[keys])
        vi = pd.MultiIndex.from_frame(v_wide)
        t_wide[name] = t["reached"].reindex(ti).fillna("—").to_numpy()
        v_wide[name] = v["documents"].reindex(vi).to_numpy()
        if reps > 1:
            t_wide[f"{name} p5"] = t["reached_p5"].reindex(ti).fillna("—").to_numpy()
            t_wide[f"{name} p95"] = t["reached_p95"].reindex(ti).fillna("—").to_numpy()
            t_wide[f"{name} reached_share"] = t["reached_share"].reindex(ti).to_numpy()
            v_wide[f"{name} p5"] = v["p5"].reindex(vi).to_numpy()
            v_wide[f"{name} p95"] = v["p95"].reindex(vi).to_numpy()
    return t_wide, v_wide


# -- the printed table ---------------------------------------------------------------------
def _mm(x: float) -> str:
    return "—" if pd.isna(x) else f"{x / 1e6:,.1f}"


def _band(mid: str, lo: str, hi: str) -> str:
    """'x' when the band is a point, else 'x [lo–hi]'."""
    return mid if lo == mid == hi else f"{mid} [{lo}–{hi}]"


def _table(head: list[str], rows: list[list[str]], left: int) -> list[str]:
    """Rows of cells as aligned text: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    out = []
    for r in [head, *rows]:
        cells = [f"{c:<{w}}" if i < left else f"{c:>{w}}" for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


MAX_WIDTH = 120  # characters of a printed table's line
PER_TABLE = 6  # scenario columns per printed table: more are printed in further tables below
WIDE_NAMES = 75  # scenario names longer than this, all together, are numbered in the printed tables


def column_heads(names: list[str]) -> list[str]:
    """The printed tables' scenario columns: the names, or #1, #2… when they would make the
    tables too wide for a terminal (a lever library of 8–12 scenarios)."""
    if sum(len(n) + 2 for n in names) <= WIDE_NAMES:
        return list(names)
    return [f"#{i + 1}" for i in range(len(names))]


def _chunked(fixed: list[str], heads: list[str], rows: list[list[str]]) -> list[str]:
    """``_table``, or, when it would be wider than ``MAX_WIDTH``, at most ``PER_TABLE`` scenario
    columns side by side and the others in tables of their own below, with the same first columns."""
    k = len(fixed)
    whole = _table([*fixed, *heads], rows, k)
    if max(map(len, whole)) <= MAX_WIDTH:
        return whole
    out: list[str] = []
    for i in range(0, max(len(heads), 1), PER_TABLE):
        part = slice(i, i + PER_TABLE)
        if i:
            out.append(f"  (continued: {heads[i]}–{heads[min(i + PER_TABLE, len(heads)) - 1]})")
        out += _table([*fixed, *heads[part]], [[*r[:k], *r[k:][part]] for r in rows], k)
    return out


def check_years(years: Sequence[int] | None, months: list[str]) -> list[str]:
    """The calendar years a printed table shows: ``years`` (each within the run) or every year of the run."""
    run_years = _years(months)
    if not years:
        return run_years
    out = []
    for y in years:
        if str(y) not in run_years:
            raise UsageError(f"--years: {y} is not a year of the run; allowed: {', '.join(run_years)}")
        out.append(str(y))
    return list(dict.fromkeys(sorted(out)))


def format_comparison(all_runs: Sequence[ScenarioRuns], volumes: pd.DataFrame, targets: pd.DataFrame,
                      years: Sequence[int] | None = None) -> str:
    """Plain-text side-by-side table (terminals and pipes alike); volumes for ``years`` (default:
    every year of the run; a year the run covers only in part is marked with the months it has)."""
    names = [r.name for r in all_runs]
    reps = max(r.n for r in all_runs)
    first = all_runs[0]
    band = reps > 1
    seed = f"seed {first.scenario.run.seed} (replication seeds derived from it)" if band else f"seed {first.seeds[0]}"
    lines = [
        f"Scenarios compared: {', '.join(names)} · {seed} · scale {first.scale} · {first.months[0]} → {first.months[-1]} · "
        + (f"median [p5–p95] of {reps} replications each" if band else "one run each") + " · national estimates",
        f"Target reached: {REACHED_RULE}" + (" (median [p5–p95] month · share of replications reaching it by the end)"
                                              if band else "") + ":",
    ]
    carried = sorted({r.discrepancy_file for r in all_runs if r.discrepancy is not None})
    if carried:
        lines.insert(1, f"With the structural discrepancy ({', '.join(carried)}: a log-normal random walk per sector from "
                        "the data cut-off): target months, volumes and figure include it (simulator/engine/discrepancy.py).")
    heads = column_heads(names)
    if heads != names:  # many scenarios: numbered columns, named once here
        lines.append("Columns: " + " · ".join(f"{h} = {n}" for h, n in zip(heads, names, strict=True)))
    labels = pd.Series([target_label(r.target, r.value, r.assumption) for r in targets.itertuples()], index=targets.index, dtype=object)
    rows = []
    for label in dict.fromkeys(labels):
        row = [label]
        for name in names:
            hit = targets[(targets["scenario"] == name) & (labels == label)]
            r = hit.iloc[0] if len(hit) else None
            row.append("—" if r is None else _band(r["reached"], r["reached_p5"], r["reached_p95"])
                       + (f" · {r['reached_share']:.0%}" if band else ""))
        rows.append(row)
    lines += _chunked(["target"], heads, rows)
    years = check_years(years, first.months)
    partial = {y: sum(m.startswith(y) for m in first.months) for y in years}
    partial = {y: n for y, n in partial.items() if n < 12}
    for channel, title in (("dmp", "DMP documents accepted"), ("mssante_pro", "MSSanté messages delivered to professionals"),
                           ("mssante_patient", "MSSanté messages delivered to patients")):
        sectors = [*dict.fromkeys(s for r in all_runs for s in r.sectors), "all"] if channel == "dmp" else ["all"]
        lines.append(f"{title} per year, millions" + (" (all sectors)" if channel != "dmp" else "") + ":"
                     + "".join(f" {y} has {n} months of the run;" for y, n in partial.items()).rstrip(";"))
        table = volumes[(volumes["channel"] == channel) & volumes["year"].isin(years)].set_index(["scenario", "sector", "year"])
        rows = []
        for sector in sectors:
            for year in years:
                row = [sector, year]
                for name in names:
                    key = (name, sector, year)
                    if key not in table.index:
                        row.append("—")
                        continue
                    r = table.loc[key]
                    row.append(_band(_mm(r["documents"]), _mm(r["p5"]), _mm(r["p95"])))
                rows.append(row)
        lines += _chunked(["sector", "year"], heads, rows)
    if targets["assumption"].any():
        lines.append(ASSUMPTION_NOTE)
    for r in all_runs:
        for f in r.failures:
            lines.append(f"{r.name}: {f}")
    return "\n".join(lines)


# -- the folder ----------------------------------------------------------------------------
def default_out(names: list[str]) -> Path:
    """results/compare-<name>-<name>… (shortened when long)."""
    stem = "-".join(names)
    if len(stem) > 80:
        stem = stem[:80].rstrip("-") + f"-and-{len(names)}"
    return Path("results") / f"compare-{stem}"


def check_out(out: Path, overwrite: bool = False) -> None:
    """A comparison may replace an earlier comparison folder, nothing else (checked before running)."""
    check_output(out, "compare", overwrite)


def write_comparison(out: str | Path, all_runs: Sequence[ScenarioRuns], lang: str = "fr",
                     report: bool = True) -> Path:
    """Write the comparison folder atomically (a temporary folder beside ``out``, then a rename):
    volumes.csv and target_dates.csv (tidy), compare_targets.csv and compare_volumes.csv (side
    by side, as printed), comparison.png, manifest.json, and the reports engineer's
    comparison report when ``reports.build_comparison_report`` is available."""
    # the ensemble, the engine, the figure and the report load when a comparison runs (start-up time)
    from simulator import __version__
    from simulator.studies.compare_figure import draw_comparison

    out = Path(out)
    names = [r.name for r in all_runs]
    volumes = annual_volumes(all_runs)
    targets = target_dates(all_runs)
    t_wide, v_wide = side_by_side(volumes, targets, names)
    with atomic_folder(out, kind="compare") as tmp:
        volumes.to_csv(tmp / "volumes.csv", index=False)
        targets.to_csv(tmp / "target_dates.csv", index=False)
        t_wide.to_csv(tmp / "compare_targets.csv", index=False)
        v_wide.to_csv(tmp / "compare_volumes.csv", index=False)
        (tmp / "comparison.png").write_bytes(draw_comparison(all_runs))
        files = ["volumes.csv", "target_dates.csv", "compare_targets.csv", "compare_volumes.csv", "comparison.png"]
        reps = {r.name: r.results for r in all_runs if r.results is not None}
        if report and len(reps) == len(all_runs):
            # the ensemble, the engine, the figure and the report load when a comparison runs (start-up time)
            import reports

            build = getattr(reports, "build_comparison_report", None)
            if build is not None:
                page = build(reps, tmp, lang=lang)
                files.append(str(Path(page).relative_to(tmp)))
        manifest = {
            "kind": COMPARISON_KIND,
            "version": __version__,
            "scenarios": [{
                "name": r.name, "description": r.scenario.description, "seeds": r.seeds, "scale": r.scale,
                "replications": r.n, "failures": r.failures, "executor": r.executor,
                "discrepancy": r.discrepancy_file or None,
                "scenario": json.loads(r.scenario.model_dump_json()),
            } for r in all_runs],
            "months": all_runs[0].months,
            "files": files,
            "note": "Targets with assumption = true are modelling assumptions (no public wave 2 volume target). "
                    f"Reached: {REACHED_RULE}.",
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return out
