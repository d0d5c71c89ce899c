"""Replications of one scenario: run them on an executor, aggregate their summaries as they arrive.

Each worker runs one replication and returns a compact ``Summary`` (documents by month ×
sector × channel × outcome, adoption, profiles, named outputs), never whole Results. The
``Aggregator`` writes each summary into row ``index`` of preallocated arrays, so memory is
bounded by the tables asked for, and the quantiles (exact, numpy ``linear``) do not depend on
the order in which replications finished — the tables are the same whichever executor ran them.

Memory bound (detail = "full"): 8 bytes × N × months × sectors × (3 channels × 7 outcomes + 6
adoption measures) + 8 × N × months × 5 profile states; for the 84-month, 5-sector baseline
that is ≈ 95 kB per replication (≈ 48 MB for 500). An exact array was preferred to a streaming
quantile sketch (t-digest…) because a sketch depends on insertion order, which would make the
tables differ between executors and between runs.

Testing aid: ``SEGUR_FAIL_SEEDS="123,456@1"`` makes the replication of seed 123 fail on every
attempt and that of seed 456 on its first attempt only (read by the worker, so it is inherited
by local processes and local Dask workers).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.schema import Scenario
from simulator.core.errors import SegurError, UsageError
from simulator.core.outcomes import CHANNELS, OUTCOMES
from simulator.core.streams import replication_seeds
from simulator.engine.discrepancy import (
    decompose,
    factors_for,
    target_monthly_with,
)
from simulator.engine.executors import ExecutorSpec, Outcome, Pool, open_executor, run_tasks
from simulator.engine.outputs import (
    REACHED_RULE,
    WITH_DISCREPANCY,
    OutputSpec,
    attainment_quantiles,
    decimal_to_month,
    evaluate,
    first_month_reached,
    headline_outputs,
    month_to_decimal,
    target_monthly,
    target_values,
)
from simulator.engine.results import Results
from simulator.engine.study_result import StudyResult, new_figure

OUTCOME_NAMES = tuple(dict.fromkeys(o for o, _ in OUTCOMES))
ADOPTION_MEASURES = ("facilities", "installed", "feeding", "legacy_feeding", "mailbox", "eligible_documents")
QUANTILES = (0.05, 0.5, 0.95)
SENT = {"dmp": "accepted", "mssante_pro": "delivered", "mssante_patient": "delivered", "mssante_from_patient": "delivered"}
REPRESENTATIVE_OUTPUT = "dmp_last12_all"
FAIL_ENV = "SEGUR_FAIL_SEEDS"
ENSEMBLE_TABLES = ("replications", "documents_quantiles", "adoption_quantiles", "profiles_quantiles", "outputs_quantiles")


# -- the worker side --------------------------------------------------------------------
@dataclass
class Summary:
    """What one replication sends back: small arrays and named outputs."""

    seed: int
    scale: float
    months: list[str]
    sectors: list[str]
    profile_states: list[str]
    documents: np.ndarray  # int64 simulated documents [month, sector, channel, outcome]
    adoption: np.ndarray  # national [month, sector, measure]
    profiles: np.ndarray  # national persons [month, state]
    outputs: dict[str, float]
    version: str
    seconds: float = 0.0
    #: national documents counting towards each target of the scenario, [month, target] (simulator.engine.outputs.target_monthly)
    targets: np.ndarray | None = None


def summarize(res: Results, specs: list[OutputSpec]) -> Summary:
    """Compact a run's Results into a Summary (documents summed over type and reason)."""
    # the engine and the progress bar load when replications run (start-up time of the study commands)
    from simulator import __version__

    man = res.manifest
    months, sectors = list(man["months"]), list(man["sectors"])
    df = res.tables["documents"]
    idx = [pd.Categorical(df[col], categories=cats).codes.astype(np.int64)
           for col, cats in (("month", months), ("sector", sectors), ("channel", CHANNELS), ("outcome", OUTCOME_NAMES))]
    shape = (len(months), len(sectors), len(CHANNELS), len(OUTCOME_NAMES))
    if any((i < 0).any() for i in idx):
        raise SegurError("documents table holds a label outside the manifest's months/sectors (a bug)", exit_code=3)
    flat = np.ravel_multi_index(idx, shape)
    documents = np.zeros(int(np.prod(shape)), dtype=np.int64)
    np.add.at(documents, flat, df["count"].to_numpy(dtype=np.int64))
    ad = res.tables["adoption"].set_index(["month", "sector"]).reindex(
        pd.MultiIndex.from_product([months, sectors]), fill_value=0.0)
    adoption = ad[list(ADOPTION_MEASURES)].to_numpy(dtype=float).reshape(len(months), len(sectors), len(ADOPTION_MEASURES))
    pr = res.tables["profiles"]
    states = list(dict.fromkeys(pr["state"]))
    profiles = pr.pivot_table(index="month", columns="state", values="persons", aggfunc="sum").reindex(
        index=months, columns=states, fill_value=0.0).to_numpy(dtype=float)
    return Summary(seed=int(man["seed"]), scale=float(man["scale"]), months=months, sectors=sectors,
                   profile_states=states, documents=documents.reshape(shape), adoption=adoption,
                   profiles=profiles, outputs=evaluate(specs, res), version=__version__,
                   seconds=float(man.get("timings", {}).get("total_s", 0.0)), targets=_target_columns(res))


def _target_columns(res: Results) -> np.ndarray:
    """National documents counting towards each target, [month, target] in the scenario's order."""
    keys = list(res.manifest["scenario"].get("targets", {}))
    cols = [target_monthly(res, k)[0] for k in keys]
    return np.stack(cols, axis=1) if cols else np.zeros((len(res.manifest["months"]), 0))


def _fail_hook(seed: int, attempt: int) -> None:
    """Fail on purpose when SEGUR_FAIL_SEEDS names this seed (a testing aid, see module doc)."""
    spec = os.environ.get(FAIL_ENV, "")
    for item in spec.replace(",", " ").split():
        s, _, only = item.partition("@")
        if s.strip() == str(seed) and (not only or only.strip() == str(attempt)):
            raise RuntimeError(f"{FAIL_ENV} asks seed {seed} to fail (attempt {attempt})")


def replicate_one(scenario: Scenario, seed: int, specs: list[OutputSpec], attempt: int = 1) -> Summary:
    """Worker task: run one replication and return its Summary."""
    # the engine and the progress bar load when replications run (start-up time of the study commands)
    from simulator.engine import Simulation

    _fail_hook(seed, attempt)
    return summarize(Simulation(scenario, seed=seed).run(), specs)


def full_run(scenario: Scenario, seed: int, attempt: int = 1) -> Results:
    """Worker task: one replication's whole Results (only for the representative run)."""
    # the engine and the progress bar load when replications run (start-up time of the study commands)
    from simulator.engine import Simulation

    return Simulation(scenario, seed=seed).run()


# -- aggregation ------------------------------------------------------------------------
def bands(x: np.ndarray) -> dict[str, np.ndarray]:
    """p5, p50, p95 and mean over axis 0 (replications)."""
    q = np.quantile(x, QUANTILES, axis=0)
    return {"p5": q[0], "p50": q[1], "p95": q[2], "mean": x.mean(axis=0)}


def _band_frame(labels: dict[str, list], x: np.ndarray, n: int) -> pd.DataFrame:
    frame = pd.MultiIndex.from_product(list(labels.values()), names=list(labels)).to_frame(index=False)
    for k, v in bands(x).items():
        frame[k] = v.reshape(-1)
    frame["n"] = n
    return frame


@dataclass
class Failure:
    index: int
    seed: int
    error: str
    attempts: int


class Aggregator:
    """Summaries of N replications in preallocated arrays, row = replication index.

    ``detail``: "full" keeps documents, adoption and profiles; "dmp" keeps accepted DMP
    documents by month × sector only (sweeps); "outputs" keeps the named outputs only.
    """

    def __init__(self, seeds: list[int], detail: str = "full"):
        if detail not in ("full", "dmp", "outputs"):
            raise ValueError(f"detail: {detail!r}")
        self.seeds = list(seeds)
        self.n = len(self.seeds)
        self.detail = detail
        self.filled = np.zeros(self.n, dtype=bool)
        self.attempts = np.zeros(self.n, dtype=np.int64)
        self.seconds = np.zeros(self.n)  # each replication's own run time, as its worker measured it
        self.failures: dict[int, Failure] = {}
        self.labels: list[str] = []
        self.outputs: np.ndarray | None = None
        self.layout: dict[str, Any] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def _allocate(self, s: Summary) -> None:
        self.layout = {"months": s.months, "sectors": s.sectors, "profile_states": s.profile_states, "scale": s.scale}
        self.labels = list(s.outputs)
        self.outputs = np.full((self.n, len(self.labels)), np.nan)
        if self.detail == "full":
            self.arrays["documents"] = np.zeros((self.n, *s.documents.shape), dtype=np.int64)
            self.arrays["adoption"] = np.zeros((self.n, *s.adoption.shape))
            self.arrays["profiles"] = np.zeros((self.n, *s.profiles.shape))
            if s.targets is not None:
                self.arrays["targets"] = np.zeros((self.n, *s.targets.shape))
        elif self.detail == "dmp":
            self.arrays["dmp"] = np.zeros((self.n, *s.documents.shape[:2]), dtype=np.int64)

    def add(self, index: int, s: Summary, attempts: int = 1) -> None:
        """Store replication ``index``'s summary (its row, whatever the arrival order)."""
        if s.seed != self.seeds[index]:
            raise SegurError(f"replication {index + 1} ran seed {s.seed}, expected {self.seeds[index]} (a bug)", exit_code=3)
        if self.outputs is None:
            self._allocate(s)
        elif s.months != self.layout["months"] or s.sectors != self.layout["sectors"]:
            raise SegurError(f"replication {index + 1}: months or sectors differ from the others (a bug)", exit_code=3)
        self.outputs[index] = [s.outputs[k] for k in self.labels]
        if "documents" in self.arrays:
            self.arrays["documents"][index] = s.documents
            self.arrays["adoption"][index] = s.adoption
            self.arrays["profiles"][index] = s.profiles
        if "targets" in self.arrays and s.targets is not None:
            self.arrays["targets"][index] = s.targets
        if "dmp" in self.arrays:
            self.arrays["dmp"][index] = s.documents[:, :, CHANNELS.index("dmp"), OUTCOME_NAMES.index("accepted")]
        self.filled[index] = True
        self.attempts[index] = attempts
        self.seconds[index] = s.seconds

    def fail(self, index: int, error: str, attempts: int) -> None:
        self.failures[index] = Failure(index, self.seeds[index], error, attempts)
        self.attempts[index] = attempts

    @property
    def nbytes(self) -> int:
        """Memory held by the per-replication arrays (the documented bound)."""
        held = sum(a.nbytes for a in self.arrays.values())
        return held + (self.outputs.nbytes if self.outputs is not None else 0)

    @property
    def completed(self) -> int:
        return int(self.filled.sum())

    # -- tables -----------------------------------------------------------------------
    def _rows(self, name: str) -> np.ndarray:
        return self.arrays[name][self.filled]

    def replications(self) -> pd.DataFrame:
        """One row per replication: index, seed, status, attempts, error, headline outputs."""
        df = pd.DataFrame({
            "replication": np.arange(1, self.n + 1),
            "seed": self.seeds,
            "status": np.where(self.filled, "ok", np.where(self.attempts > 0, "failed", "not_run")),
            "attempts": self.attempts,
            "error": [self.failures[i].error if i in self.failures else "" for i in range(self.n)],
        })
        if self.outputs is not None:
            for j, label in enumerate(self.labels):
                df[label] = self.outputs[:, j]
        return df

    def output_values(self) -> pd.DataFrame:
        """Completed replications' outputs (rows in replication order)."""
        if self.outputs is None:
            return pd.DataFrame()
        return pd.DataFrame(self.outputs[self.filled], columns=self.labels)

    def outputs_quantiles(self, specs: list[OutputSpec] | None = None) -> pd.DataFrame:
        """One row per named output: p5/p50/p95/mean over completed replications, n, unit, meaning."""
        vals = self.output_values()
        known = {s.label: s for s in specs or []}
        rows = []
        for label in self.labels:
            row: dict[str, Any] = {"output": label}
            if len(vals):
                row.update({k: float(v[0]) for k, v in bands(vals[label].to_numpy()[:, None]).items()})
            else:
                row.update(dict.fromkeys(("p5", "p50", "p95", "mean"), np.nan))
            spec = known.get(label)
            row.update({"n": len(vals), "unit": spec.unit if spec else "",
                        "meaning": spec.definition.doc if spec else ""})
            rows.append(row)
        return pd.DataFrame(rows)

    def _sectors_all(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.concatenate([x, x.sum(axis=axis, keepdims=True)], axis=axis)

    def documents_quantiles(self) -> pd.DataFrame:
        """month × sector (+ "all") × channel × outcome: national documents p5/p50/p95/mean, n."""
        x = self._sectors_all(self._rows("documents"), axis=2) / self.layout["scale"]
        labels = {"month": self.layout["months"], "sector": [*self.layout["sectors"], "all"],
                  "channel": list(CHANNELS), "outcome": list(OUTCOME_NAMES)}
        return _band_frame(labels, x, self.completed)

    def dmp_quantiles(self) -> pd.DataFrame:
        """month × sector (+ "all"): accepted DMP documents, national p5/p50/p95/mean, n."""
        if "dmp" in self.arrays:
            x = self._rows("dmp")
        else:
            x = self._rows("documents")[:, :, :, CHANNELS.index("dmp"), OUTCOME_NAMES.index("accepted")]
        x = self._sectors_all(x, axis=2) / self.layout["scale"]
        labels = {"month": self.layout["months"], "sector": [*self.layout["sectors"], "all"]}
        return _band_frame(labels, x, self.completed)

    def adoption_quantiles(self) -> pd.DataFrame:
        x = self._sectors_all(self._rows("adoption"), axis=2)
        labels = {"month": self.layout["months"], "sector": [*self.layout["sectors"], "all"], "measure": list(ADOPTION_MEASURES)}
        return _band_frame(labels, x, self.completed)

    def profiles_quantiles(self) -> pd.DataFrame:
        labels = {"month": self.layout["months"], "state": self.layout["profile_states"]}
        return _band_frame(labels, self._rows("profiles"), self.completed)

    def last_12_months(self, factors: np.ndarray | None = None) -> np.ndarray:
        """Per completed replication, national documents sent in the last 12 months [rep, sector, channel];
        ``factors`` [rep, month, sector]: each month's sector volumes multiplied by it first (the
        structural discrepancy, ``simulator.engine.discrepancy``)."""
        x = self._rows("documents")[:, -12:]
        if factors is not None:
            x = x * factors[:, -12:, :, None, None]
        d = x.sum(axis=1)  # [rep, sector, channel, outcome]
        out = np.stack([d[:, :, c, OUTCOME_NAMES.index(SENT[ch])] for c, ch in enumerate(CHANNELS)], axis=2)
        return out / self.layout["scale"]


# -- driving replications ---------------------------------------------------------------
@dataclass
class Job:
    """One replication to run: its key (point, replication index), scenario and seed."""

    key: Any
    scenario: Scenario
    seed: int


def run_jobs(pool: Pool, jobs: list[Job], specs: list[OutputSpec],
             progress: Callable[[int, int], None] | None = None) -> Iterator[Outcome]:
    """Run replications on ``pool`` (one retry each); yield outcomes as they arrive."""
    # the engine and the progress bar load when replications run (start-up time of the study commands)
    from simulator import __version__

    tasks = ((job.key, (job.scenario, job.seed, specs)) for job in jobs)
    if progress is not None:
        progress(0, len(jobs))
    for done, outcome in enumerate(run_tasks(pool, replicate_one, tasks), 1):
        if outcome.ok and outcome.value.version != __version__:
            raise SegurError(f"a worker runs segur-testbed {outcome.value.version}, this machine {__version__}: "
                             "install the same version on every Dask worker")
        if progress is not None:
            progress(done, len(jobs))
        yield outcome


def with_run(sc: Scenario, seed: int | None = None, scale: float | None = None) -> Scenario:
    """``sc`` with its [run] seed and scale replaced (validated)."""
    updates: dict[str, Any] = {}
    if seed is not None:
        updates["seed"] = int(seed)
    if scale is not None:
        updates["scale"] = float(scale)
    if not updates:
        return sc
    return sc.model_copy(update={"run": sc.run.model_validate({**sc.run.model_dump(), **updates})})


@dataclass(repr=False)
class Ensemble(StudyResult):
    """N replications of one scenario: aggregated tables, failures and a representative run.

    ``to_df()`` (replications, documents_quantiles, adoption_quantiles, profiles_quantiles,
    outputs_quantiles), ``summary()`` (what `segur run --replications` prints), ``plot()``
    (p5–p95 bands of DMP documents accepted) and ``save(out)`` (the folder it writes)."""

    scenario: Scenario
    seed: int
    aggregator: Aggregator
    specs: list[OutputSpec]
    executor: str
    wall_s: float
    representative: Results | None = None
    representative_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    default_table = "replications"

    @property
    def seeds(self) -> list[int]:
        return self.aggregator.seeds

    def summary(self) -> str:
        """Medians and p5–p95 of the last 12 months by sector and channel, and the targets."""
        return format_ensemble_summary(self)

    def plot(self, sectors: list[str] | None = None) -> Any:
        """DMP documents accepted a month, national, median and p5–p95 band per sector (a Figure)."""
        if not self.aggregator.completed:
            raise SegurError("plot: no replication completed", exit_code=1)
        q = self.aggregator.dmp_quantiles()
        shown = sectors or [s for s in dict.fromkeys(q["sector"]) if s != "all"]
        unknown = sorted(set(shown) - set(q["sector"]))
        if unknown:
            raise UsageError(f"plot: no sector {unknown[0]!r}; sectors: {', '.join(dict.fromkeys(q['sector']))}")
        fig = new_figure(8, 4.5)
        ax = fig.add_subplot()
        for sector in shown:
            s = q[q["sector"] == sector]
            x = pd.PeriodIndex(s["month"], freq="M").to_timestamp()
            line, = ax.plot(x, s["p50"] / 1e6, label=sector)
            ax.fill_between(x, s["p5"] / 1e6, s["p95"] / 1e6, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_ylabel("DMP documents accepted a month (millions)")
        ax.set_title(f"{self.scenario.name}: median and p5–p95 of {self.aggregator.completed} replications")
        ax.legend(fontsize="small", ncol=2)
        return fig

    @property
    def failures(self) -> list[Failure]:
        return [self.aggregator.failures[i] for i in sorted(self.aggregator.failures)]

    @property
    def complete(self) -> bool:
        return self.aggregator.completed == self.aggregator.n

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ensemble tables (no representative tables): replications and quantiles."""
        agg = self.aggregator
        reps = agg.replications()
        for column, values in discrepancy_columns(self).items():
            reps[column] = values  # the month reached with the structural discrepancy
        return {
            "replications": reps,
            "documents_quantiles": agg.documents_quantiles(),
            "adoption_quantiles": agg.adoption_quantiles(),
            "profiles_quantiles": agg.profiles_quantiles(),
            "outputs_quantiles": agg.outputs_quantiles(self.specs),
        }

    def manifest_block(self) -> dict[str, Any]:
        agg = self.aggregator
        rep = self.representative_index
        return {
            "replications": agg.n,
            "completed": agg.completed,
            "complete": self.complete,
            "seed": self.seed,
            "seeds": self.seeds,
            "failed": [{"replication": f.index + 1, "seed": f.seed, "error": f.error, "attempts": f.attempts}
                       for f in self.failures],
            "representative": None if rep is None else {
                "replication": rep + 1, "seed": self.seeds[rep],
                "rule": f"the completed replication whose {REPRESENTATIVE_OUTPUT} is closest to the median (lowest index on ties)",
            },
            "quantiles": "exact, numpy.quantile method 'linear', over the completed replications (column n)",
            "executor": self.executor,
            "wall_s": round(self.wall_s, 3),
            "parameters": self.extra.get("parameters", "the scenario's values in every replication (seeds only)"),
            # where the parameter draws came from (file, draws, data cut-off, method, date…); None: seeds only
            "posterior": self.extra.get("posterior"),
            # the structural discrepancy the summary carries (file, cut-off, band, variance split); None: none
            "discrepancy": self.extra.get("discrepancy_summary"),
        }

    def to_results(self) -> Results:
        """The representative run's tables and the ensemble tables in one Results (for ``save``)."""
        if self.representative is None:
            raise SegurError("no replication completed: nothing to write", exit_code=1)
        rep = self.representative
        tables = {**rep.tables, **self.tables()}
        manifest = dict(rep.manifest)
        manifest["tables"] = list(tables)
        manifest["ensemble"] = self.manifest_block()
        return Results(tables, manifest, dict(rep.extra_files))

    def save(self, out: str | Path, writers: list | None = None) -> Path:
        return self.to_results().save(out, writers=writers)


def _pick_representative(agg: Aggregator) -> int | None:
    vals = agg.output_values()
    if not len(vals) or REPRESENTATIVE_OUTPUT not in vals:
        return None
    v = vals[REPRESENTATIVE_OUTPUT].to_numpy()
    pos = int(np.argmin(np.abs(v - np.median(v))))  # argmin: the first (lowest index) on ties
    return int(np.flatnonzero(agg.filled)[pos])


def replicate(scenario: Scenario, n: int, seed: int | None = None, scale: float | None = None,
              executor: ExecutorSpec | str = "local", workers: int | None = None,
              address: str | None = None, progress: Callable[[int, int], None] | None = None,
              representative: bool = True, outputs: list[OutputSpec] | None = None,
              draws: list[Scenario] | None = None, draws_source: str = "",
              draws_provenance: dict[str, Any] | None = None) -> Ensemble:
    """Run ``n`` replications of ``scenario`` (seeds = ``replication_seeds(seed, n)``).

    ``draws``: one scenario per replication (``scenario`` with posterior draw i's parameters,
    see ``simulator.studies.posterior_file.draw_scenarios``): replication i runs ``draws[i]``
    with seed i, so the bands hold parameter and stochastic uncertainty together.
    ``draws_provenance``: the posterior file's name, draw count and provenance lines (data
    cut-off, method, date…), kept in the manifest's ``ensemble.posterior`` for the report.

    Failed replications are retried once, then recorded in ``Ensemble.failures``. With
    ``representative``, the median replication is run again in full on the executor (its
    tables go into the results folder) and must reproduce its summary exactly.
    """
    sc = with_run(scenario, seed, scale)
    base_seed = sc.run.seed
    seeds = replication_seeds(base_seed, n)
    specs = headline_outputs(sc) + [s for s in (outputs or []) if s not in headline_outputs(sc)]
    agg = Aggregator(seeds, detail="full")
    spec = executor if isinstance(executor, ExecutorSpec) else ExecutorSpec(executor, workers, address)
    if draws is not None and len(draws) < n:
        raise SegurError(f"{len(draws)} parameter draws for {n} replications (a bug)", exit_code=3)
    per_rep = [sc if draws is None else with_run(draws[i], base_seed, sc.run.scale) for i in range(n)]
    t0 = time.perf_counter()
    with open_executor(spec, max_tasks=n) as pool:
        jobs = [Job(i, per_rep[i], s) for i, s in enumerate(seeds)]
        for outcome in run_jobs(pool, jobs, specs, progress):
            if outcome.ok:
                agg.add(outcome.key, outcome.value, outcome.attempts)
            else:
                agg.fail(outcome.key, outcome.error, outcome.attempts)
        ens = Ensemble(sc, base_seed, agg, specs, pool.description, 0.0)
        if draws is not None:
            ens.extra["parameters"] = f"posterior draws ({draws_source}): replication i runs draw i with seed i"
            if draws_provenance is not None:
                ens.extra["posterior"] = dict(draws_provenance)
        if representative:
            ens.representative_index = _pick_representative(agg)
            if ens.representative_index is not None:
                i = ens.representative_index
                ens.representative = _run_representative(pool, per_rep[i], agg, i)
    ens.wall_s = time.perf_counter() - t0
    return ens


def _run_representative(pool: Pool, sc: Scenario, agg: Aggregator, index: int) -> Results:
    seed = agg.seeds[index]
    res = pool.submit(full_run, sc, seed).result()
    again = evaluate([OutputSpec("dmp_last_12_months", (("sector", "all"),))], res)[REPRESENTATIVE_OUTPUT]
    first = agg.outputs[index, agg.labels.index(REPRESENTATIVE_OUTPUT)]
    if again != first:
        raise SegurError(f"replication {index + 1} (seed {seed}) gave {again} when run again, {first} the first time: "
                         "a reproducibility bug", exit_code=3)
    return res



def run_points(scenarios: list[Scenario], seeds: list[int], specs: list[OutputSpec],
               executor: ExecutorSpec, detail: str = "outputs",
               progress: Callable[[int, int], None] | None = None) -> tuple[list[Aggregator], str]:
    """Run every scenario (a sweep's or a sensitivity design's points) with the same ``seeds``
    (common random numbers); one Aggregator per point, and the executor's description."""
    aggs = [Aggregator(seeds, detail=detail) for _ in scenarios]
    jobs = [Job((p, r), sc, s) for p, sc in enumerate(scenarios) for r, s in enumerate(seeds)]
    with open_executor(executor, max_tasks=len(jobs)) as pool:
        for outcome in run_jobs(pool, jobs, specs, progress):
            p, r = outcome.key
            if outcome.ok:
                aggs[p].add(r, outcome.value, outcome.attempts)
            else:
                aggs[p].fail(r, outcome.error, outcome.attempts)
        return aggs, pool.description

# -- what `segur run --replications N` prints ----------------------------------------------
def _m(x: float) -> str:
    return f"{x / 1e6:,.1f}"


def _band(v: np.ndarray) -> str:
    b = bands(v[:, None])
    return f"{_m(b['p50'][0])} [{_m(b['p5'][0])}–{_m(b['p95'][0])}]"


def _month_name(x: float, last: str) -> str:
    import calendar

    if x > month_to_decimal(last) + 1e-9:
        return f"not by {last[:4]}"  # as compare writes it: not reached by the end of the run
    m = decimal_to_month(x)
    return f"{calendar.month_name[int(m[5:7])]} {m[:4]}"


def attainment_band(reached: np.ndarray, last: str) -> str:
    """'March 2026 (p5 Oct 2025 – p95 not by 2028)': the month a target is reached, over the
    replications; a replication that never reaches it counts as later than any month."""
    months, share = attainment_quantiles(reached, last)
    after = month_to_decimal(last) + 1 / 12
    lo, mid, hi = (_month_name(month_to_decimal(m) if m else after, last) for m in months)
    short = {n: n[:3] + n[n.index(" "):] if not n.startswith("not") else n for n in (lo, hi)}
    return f"{mid} (p5 {short[lo]} – p95 {short[hi]}), reached by the end in {share:.0%} of replications"


def _discrepancy_factors(ens: Ensemble) -> np.ndarray | None:
    """exp(δ) [rep, month, sector] of the discrepancy kept in ``ens.extra`` (None without one)."""
    disc = ens.extra.get("discrepancy")
    if disc is None or "documents" not in ens.aggregator.arrays:
        return None
    agg = ens.aggregator
    return factors_for(disc, list(agg.layout["sectors"]), list(agg.layout["months"]), agg.n, ens.seed)[agg.filled]


def reached_with_discrepancy(ens: Ensemble, factors: np.ndarray) -> dict[str, np.ndarray]:
    """Per target, the month each replication reaches it (decimal years, censored after the end)
    once the discrepancy multiplies its sectors' volumes (``discrepancy.target_monthly_with``)."""
    agg = ens.aggregator
    if "targets" not in agg.arrays:
        return {}
    counts = agg._rows("targets")  # [rep, month, target]
    dmp = agg._rows("documents")[..., CHANNELS.index("dmp"), OUTCOME_NAMES.index("accepted")]
    months, sectors = list(agg.layout["months"]), list(agg.layout["sectors"])
    scen = ens.scenario.model_dump(mode="json")
    after = month_to_decimal(months[-1]) + 1 / 12
    out = {}
    for j, key in enumerate(scen.get("targets", {})):
        t = scen["targets"][key]
        idx = [sectors.index(s) for s in t.get("sectors", []) if s in sectors]
        monthly = target_monthly_with(counts[:, :, j], dmp, factors, idx)
        first = first_month_reached(monthly, target_values(key, t, months, scen.get("interventions", []) or []))
        out[key] = np.array([month_to_decimal(months[f]) if f < len(months) else after for f in first])
    return out


def discrepancy_summary(ens: Ensemble) -> dict[str, Any] | None:
    """For the manifest and the report: the discrepancy file, its cut-off, all DMP documents of
    the last 12 months with it (p5/p50/p95), the variance split (model, discrepancy) and the
    band's parts (parameter, seed, discrepancy: ``band_parts``)."""
    factors = _discrepancy_factors(ens)
    if factors is None or ens.aggregator.completed < 2:
        return None
    agg = ens.aggregator
    dmp = CHANNELS.index("dmp")
    last = agg.last_12_months(factors)
    with_disc = last[:, :, dmp].sum(axis=1)
    parts = band_parts(agg, last, _draws_of(ens), discrepancy_log_variance(ens))
    q = np.quantile(with_disc, [0.05, 0.5, 0.95])
    disc = ens.extra["discrepancy"]
    return {"file": disc["file"], "data_cutoff": disc["cutoff"].isoformat(),
            "model": "log-normal random walk per sector on the national volumes (simulator/engine/discrepancy.py)",
            "dmp_last_12_months": {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])},
            "share_model": 1.0 - parts["discrepancy"], "share_discrepancy": parts["discrepancy"], "parts": parts}


def _draws_of(ens: Ensemble) -> int | None:
    """How many posterior draws the replications cycle through (None: seeds only, one parameter set)."""
    post = ens.extra.get("posterior")
    return int(post["draws"]) if isinstance(post, dict) and post.get("draws") else None


def band_parts(agg: Aggregator, with_disc: np.ndarray, draws: int | None,
               discrepancy_var: float | None = None) -> dict[str, Any]:
    """Which part of the band of national DMP documents (last 12 months) is parameters, seeds and
    the discrepancy: shares of the variance of its log. The discrepancy's variance is
    ``discrepancy_var`` (``discrepancy_log_variance``: many paths, stable) or, without it, that of
    log(with ÷ without) over the replications (independent of the model's). ``split`` says how
    the model's part was split: "draws repeat" (replications sharing a draw:
    ``discrepancy.decompose``), "seeds only" (no parameter draws: the model's part is all
    seeds), or "together" (each draw ran once: ``parameters_and_seeds`` holds them)."""
    dmp = CHANNELS.index("dmp")
    model = agg.last_12_months()[:, :, dmp].sum(axis=1)
    total = with_disc[:, :, dmp].sum(axis=1)
    var_m = float(np.var(np.log(model), ddof=1)) if len(model) > 1 else 0.0
    var_d = discrepancy_var if discrepancy_var is not None else (
        float(np.var(np.log(total / model), ddof=1)) if len(model) > 1 else 0.0)
    whole = var_m + var_d
    share_d = var_d / whole if whole > 0 else math.nan
    out = {"parameter": None, "seed": None, "parameters_and_seeds": 1.0 - share_d if whole > 0 else math.nan,
           "discrepancy": share_d, "split": "together"}
    if draws is None:
        return {**out, "seed": out["parameters_and_seeds"], "parameter": 0.0, "split": "seeds only"}
    draw_of = np.flatnonzero(agg.filled) % draws
    if len(np.unique(draw_of)) < len(draw_of):
        s = decompose(np.log(model), draw_of, var_d)
        if s["seed"] == s["seed"]:
            return {**out, "parameter": s["parameter"], "seed": s["seed"], "discrepancy": s["discrepancy"],
                    "split": "draws repeat"}
    return out


def discrepancy_log_variance(ens: Ensemble, paths_drawn: int = 2000) -> float | None:
    """Var of log(the last 12 months' national DMP documents with the discrepancy ÷ without):
    ``paths_drawn`` discrepancy paths applied to the median replication's volumes by month and
    sector (the replications' own paths are too few to estimate it: 2 at times on the page)."""
    disc = ens.extra.get("discrepancy")
    agg = ens.aggregator
    if disc is None or "documents" not in agg.arrays or agg.completed == 0:
        return None
    accepted = agg._rows("documents")[:, -12:, :, CHANNELS.index("dmp"), OUTCOME_NAMES.index("accepted")]
    typical = np.median(accepted, axis=0).astype(float)  # [month, sector]
    if typical.sum() <= 0:
        return None
    months = list(agg.layout["months"])
    f = factors_for(disc, list(agg.layout["sectors"]), months, paths_drawn, ens.seed + 104_729)[:, -12:, :]
    ratio = (f * typical).sum(axis=(1, 2)) / typical.sum()
    return float(np.var(np.log(ratio), ddof=1))


def band_parts_line(parts: dict[str, Any]) -> str:
    """The summary's sentence for ``band_parts``."""
    head = "Band of all DMP documents (last 12 months), variance of its log: "
    if parts["split"] == "draws repeat":
        return (head + f"parameters {parts['parameter']:.0%}, seeds {parts['seed']:.0%}, "
                f"structural discrepancy {parts['discrepancy']:.0%}.")
    if parts["split"] == "seeds only":
        return (head + f"parameters 0% (not varied: seeds only), seeds {parts['seed']:.0%}, "
                f"structural discrepancy {parts['discrepancy']:.0%}.")
    return (head + f"parameters and seeds {parts['parameters_and_seeds']:.0%}, structural discrepancy "
            f"{parts['discrepancy']:.0%} (each draw ran once: run more replications than draws to split "
            "parameters from seeds).")


def discrepancy_columns(ens: Ensemble) -> dict[str, np.ndarray]:
    """Per target, ``target_reached_with_discrepancy_<key>`` for every replication (NaN where
    it did not complete): the month reached once the discrepancy multiplies the volumes."""
    factors = _discrepancy_factors(ens)
    if factors is None:
        return {}
    agg = ens.aggregator
    out = {}
    for key, v in reached_with_discrepancy(ens, factors).items():
        col = np.full(agg.n, np.nan)
        col[agg.filled] = v
        out[f"{WITH_DISCREPANCY}{key}"] = col
    return out


def format_ensemble_summary(ens: Ensemble) -> str:
    """Medians and p5–p95 of the last 12 months by sector and channel, and the targets."""
    agg = ens.aggregator
    sc = ens.scenario
    months = agg.layout.get("months") or [""]
    lines = [
        f"scenario {sc.name} · {agg.n} replications of seed {ens.seed} · scale {sc.run.scale} · "
        f"{months[0]} → {months[-1]} · {ens.wall_s:.1f} s on {ens.executor}",
    ]
    if agg.completed == 0:
        return "\n".join([*lines, "No replication completed."])
    factors = _discrepancy_factors(ens)
    last = agg.last_12_months(factors)  # [rep, sector, channel]
    carried = " with the structural discrepancy" if factors is not None else ""
    lines.append(f"Documents in the last 12 months ({months[-12]} → {months[-1]}), national estimates{carried}, "
                 f"median [p5–p95] of {agg.completed} replications, in millions:")
    w = 21
    heads = {"dmp": "DMP", "mssante_pro": "MSS pro", "mssante_patient": "MSS to pat.", "mssante_from_patient": "MSS from pat."}
    lines.append(f"  {'sector':<12}" + "".join(f"{heads.get(c, c):>{w}}" for c in CHANNELS))  # one per column
    rows = [*agg.layout["sectors"], "all"]
    for k, sector in enumerate(rows):
        v = last.sum(axis=1) if sector == "all" else last[:, k]
        lines.append(f"  {sector:<12}" + "".join(f"{_band(v[:, c]):>{w}}" for c in range(len(CHANNELS))))
    if factors is not None:
        lines.append(band_parts_line(band_parts(agg, last, _draws_of(ens), discrepancy_log_variance(ens))))
    vals = agg.output_values()
    with_disc = reached_with_discrepancy(ens, factors) if factors is not None else {}
    if len(sc.targets):
        lines.append("Targets (DMP documents accepted, last 12 months): share of target, median [p5–p95]; month reached "
                     f"({REACHED_RULE})")
        for key, t in sc.targets.items():
            share = vals[f"share_of_target_{key}"].to_numpy()
            b = bands(share[:, None])
            reached = vals[f"target_reached_{key}"].to_numpy()
            when = attainment_band(reached, months[-1])
            flag = " (assumption)" if t.assumption else ""
            lines.append(f"  {key:<12}{b['p50'][0]:>5.0%} [{b['p5'][0]:.0%}–{b['p95'][0]:.0%}] of "
                         f"{_m(t.value)}M/yr{flag}; month reached: {when}")
            if key in with_disc:
                lines.append(f"  {'':<12}with the structural discrepancy: {attainment_band(with_disc[key], months[-1])}")
    if "parameters" in ens.extra:
        lines.append(f"Parameters: {ens.extra['parameters']}.")
    if ens.representative_index is not None:
        i = ens.representative_index
        lines.append(f"Representative run: replication {i + 1} (seed {agg.seeds[i]}), the closest to the median of "
                     "national DMP documents in the last 12 months; its full tables are in the folder beside the quantile tables.")
    return "\n".join(lines)


def failure_lines(failures: list[Failure], total: int) -> list[str]:
    """One line per failed replication, then a count (for stderr)."""
    lines = [f"replication {f.index + 1} (seed {f.seed}) failed after {f.attempts} attempt"
             f"{'s' if f.attempts > 1 else ''}: {f.error}" for f in failures]
    if failures:
        lines.append(f"{len(failures)} of {total} replications failed; the tables hold the "
                     f"{total - len(failures)} that completed (column n) and mark the run incomplete")
    return lines
