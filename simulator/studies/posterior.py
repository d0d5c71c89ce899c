"""Calibration posterior by ABC-SMC (pyabc): parameter draws, diagnostics and the posterior file.

Likelihood-free: each particle is one simulation at the calibration's scale with a fresh
seed; its distance to the observed rows is the root of the weighted mean of squared relative
errors (one-sided for lower/upper bounds) — the least-squares objective of
``simulator.studies.calibration``, so both modes judge a fit alike. ABC-SMC (Del Moral et al. 2012,
as implemented by pyabc: Klinger, Rickert & Hasenauer 2018) shrinks the tolerance ε
generation by generation (median of the previous distances); the posterior is the last
population, weighted. Priors: uniform over each parameter's bounds in the calibration file.
Why pyabc: a maintained ABC-SMC with adaptive tolerances, kernels, diagnostics and a Dask
sampler (``DaskDistributedSampler``), so the same code runs on a laptop or a cluster.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.engine.observed_match import one_sided
from simulator.studies.calibration import CalibrationSpec, FitParameter, build_scenario, fit_table
from simulator.studies.posterior_file import write_posterior
from simulator.studies.surrogate import fit_surrogate, row_keys

POSTERIOR_KEYS = {"population", "generations", "max_simulations", "max_minutes", "min_epsilon", "draws", "design_runs",
                  "surrogate_sampler", "rejection_draws"}
SURROGATE_SAMPLERS = ("rejection", "smc")


@dataclass
class PosteriorSettings:
    """ABC-SMC budget: particles per generation, generations, total simulations, wall time."""

    population: int = 40
    generations: int = 5
    max_simulations: int = 600
    max_minutes: float = 25.0
    min_epsilon: float = 0.0
    draws: int = 200  # equally weighted draws written to the posterior file
    design_runs: int = 0  # > 0: ABC-SMC samples a surrogate fitted on this many runs (simulator.studies.surrogate)
    surrogate_sampler: str = "rejection"  # on a surrogate: vectorised ABC rejection (simulator.studies.rejection) or pyabc's SMC
    rejection_draws: int = 2_000_000  # prior draws of the rejection sampler; the `population` nearest are kept

    @classmethod
    def from_raw(cls, raw: dict[str, Any], where: str) -> PosteriorSettings:
        """From the calibration file's ``[posterior]`` table; one UsageError per bad key."""
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: posterior: must be a table")
        bad = sorted(set(raw) - POSTERIOR_KEYS)
        if bad:
            raise UsageError(f"{where}: posterior.{bad[0]}: unknown key; allowed: {', '.join(sorted(POSTERIOR_KEYS))}")
        s = cls()
        if "surrogate_sampler" in raw:
            if raw["surrogate_sampler"] not in SURROGATE_SAMPLERS:
                raise UsageError(f"{where}: posterior.surrogate_sampler: must be one of {', '.join(SURROGATE_SAMPLERS)} "
                                 f"(got {raw['surrogate_sampler']!r})")
            s.surrogate_sampler = raw["surrogate_sampler"]
        for key in ("population", "generations", "max_simulations", "draws", "design_runs", "rejection_draws"):
            if key in raw:
                v = raw[key]
                least = {"generations": 1, "design_runs": 0}.get(key, 2)
                if isinstance(v, bool) or not isinstance(v, int) or v < least:
                    raise UsageError(f"{where}: posterior.{key}: must be an integer ≥ {least} (got {v!r})")
                setattr(s, key, v)
        for key in ("max_minutes", "min_epsilon"):
            if key in raw:
                v = raw[key]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (key == "max_minutes" and v == 0):
                    raise UsageError(f"{where}: posterior.{key}: must be a number {'> 0' if key == 'max_minutes' else '≥ 0'} (got {v!r})")
                setattr(s, key, float(v))
        return s


# -- the model pyabc sees -----------------------------------------------------------------------
def _names(params: Sequence[FitParameter]) -> list[str]:
    """pyabc parameter names (plain identifiers; the dotted keys go in the files)."""
    return [f"p{i}" for i in range(len(params))]


def weighted_distance(x: dict[str, float], x0: dict[str, float], bounds: dict[str, str],
                      weights: dict[str, float]) -> float:
    """√(Σ wᵢ eᵢ² / Σ wᵢ), eᵢ the relative error of row i, one-sided for bounds; NaN rows skipped."""
    num = den = 0.0
    for k, obs in x0.items():
        sim = x.get(k, math.nan)
        w = weights.get(k, 0.0)
        if w <= 0 or not obs or sim != sim:
            continue
        e = one_sided((sim - obs) / obs, bounds.get(k, "point"))  # "more than N": N to 1.1 N (observed_match)
        num += w * e * e
        den += w
    return math.sqrt(num / den) if den > 0 else math.inf


@dataclass
class SimulatorModel:
    """Picklable model: parameters → the simulated value of every matched observed row."""

    spec: CalibrationSpec
    observed: pd.DataFrame
    keys: list[str]  # row keys, "i" = position in ``observed``

    def __call__(self, par: dict[str, float]) -> dict[str, float]:
        # the engine loads when the runs start, not when this module is imported (start-up time)
        from simulator.engine import Simulation

        x = np.array([par[n] for n in _names(self.spec.parameters)], dtype=float)
        seed = int(np.random.randint(0, 2**31 - 1))  # pyabc seeds numpy in every worker
        res = Simulation(build_scenario(self.spec, x), seed=seed, scale=self.spec.scale).run()
        tab = fit_table(self.spec, [res], self.observed)
        return {k: float(v) for k, v in zip(self.keys, tab["simulated"], strict=True)}


@dataclass
class UnboundedModel:
    """The model seen through z = logit((x − low) / span): pyabc samples and perturbs z, whose
    prior, a standard logistic variable, is exactly the uniform prior of x on [low, high]. A
    perturbed particle then never leaves the prior's box; on the box itself, in 20-odd dimensions,
    about 35 proposals in 36 did, and pyabc's rejection of them was 90% of the ABC's time."""

    model: Callable[[dict[str, float]], dict[str, float]]
    priors: list[tuple[str, float, float]]

    def __call__(self, par: dict[str, float]) -> dict[str, float]:
        return self.model(to_box(par, self.priors))


def to_box(z: dict[str, Any], priors: Sequence[tuple[str, float, float]]) -> dict[str, Any]:
    """Parameters on their [low, high] scale from their logits (scalars or arrays)."""
    from scipy.special import expit

    return {n: lo + (hi - lo) * expit(z[n]) for n, lo, hi in priors}


@dataclass
class Posterior:
    """Equally weighted parameter draws (scenario values) with diagnostics and provenance."""

    parameters: list[FitParameter]
    draws: pd.DataFrame  # one column per parameter key, numbers (dates as ordinals)
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictive: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict[str, Any] = field(default_factory=dict)
    quality: pd.DataFrame | None = None  # surrogate fit per row (r2, resid_sd_log), when one was used

    def summary(self) -> pd.DataFrame:
        """Each parameter: bounds, prior mean, posterior p5/p50/p95."""
        rows = []
        for p in self.parameters:
            q = np.quantile(self.draws[p.key].to_numpy(dtype=float), [0.05, 0.5, 0.95])
            rows.append({"key": p.key, "low": p.show(p.low), "high": p.show(p.high), "start": p.show(p.start),
                         "p5": p.show(q[0]), "p50": p.show(q[1]), "p95": p.show(q[2]),
                         "prior": "uniform over [low, high]"})
        return pd.DataFrame(rows)


@dataclass
class AbcRun:
    """What an ABC-SMC run leaves: resampled draws (by pyabc name), diagnostics, last population's statistics."""

    draws: pd.DataFrame
    diagnostics: pd.DataFrame
    stat_weights: np.ndarray
    stats: list[dict[str, float]]
    where: str
    version: str
    method: str = ""  # what produced the draws (default: pyabc's ABC-SMC)


def abc_smc(model: Callable[[dict[str, float]], dict[str, float]], priors: Sequence[tuple[str, float, float]],
            x0: dict[str, float], bounds: dict[str, str], weights: dict[str, float], settings: PosteriorSettings,
            scheduler: str | None = None, workers: int = 1, seed: int = 1, db_path: Path | None = None,
            report: Callable[[str], None] | None = None) -> AbcRun:
    """ABC-SMC (pyabc) of ``model`` against ``x0``: uniform priors (name, low, high), the weighted
    one-sided relative distance, median tolerance schedule; the budget of ``settings``."""
    import pyabc
    from pyabc.sampler import MulticoreEvalParallelSampler, SingleCoreSampler

    np.random.seed(seed)
    prior = pyabc.Distribution(**{n: pyabc.RV("logistic", 0.0, 1.0) for n, _, _ in priors})  # = uniform on [lo, hi]
    model = UnboundedModel(model, list(priors))

    def distance(x: dict, y: dict) -> float:
        return weighted_distance(x, y, bounds, weights)

    client = None
    if scheduler:
        from dask.distributed import Client
        from pyabc.sampler import DaskDistributedSampler

        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        sampler = DaskDistributedSampler(dask_client=client, batch_size=1)
        where = f"Dask scheduler {scheduler}"
    elif workers > 1:
        sampler = MulticoreEvalParallelSampler(n_procs=workers)
        where = f"{workers} local processes"
    else:
        sampler = SingleCoreSampler()
        where = "1 local process"
    abc = pyabc.ABCSMC(model, prior, distance, population_size=settings.population, sampler=sampler,
                       eps=pyabc.MedianEpsilon())
    tmp = None
    if db_path is None:
        tmp = tempfile.TemporaryDirectory()
        db_path = Path(tmp.name) / "abc.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if db_path.exists():
        db_path.unlink()
    try:
        abc.new(f"sqlite:///{db_path}", x0)
        if report:
            report(f"ABC-SMC: {len(priors)} parameters, {len(x0)} observed rows, population "
                   f"{settings.population}, ≤ {settings.generations} generations, ≤ {settings.max_simulations} "
                   f"simulations, ≤ {settings.max_minutes:g} min, on {where}")
        history = abc.run(minimum_epsilon=settings.min_epsilon, max_nr_populations=settings.generations,
                          max_walltime=dt.timedelta(minutes=settings.max_minutes),
                          max_total_nr_simulations=settings.max_simulations)
        return _collect(history, list(priors), settings, seed, where, pyabc.__version__)
    finally:
        if client is not None:
            client.close()
        if tmp is not None:
            tmp.cleanup()


def _collect(history: Any, priors: list[tuple[str, float, float]], settings: PosteriorSettings, seed: int,
             where: str, version: str) -> AbcRun:
    """Diagnostics per generation, draws resampled from the last weighted population (back on
    the parameters' scale), its statistics."""
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    diag = []
    for _, row in pops.iterrows():
        _, w = history.get_distribution(m=0, t=int(row["t"]))
        diag.append({"generation": int(row["t"]), "epsilon": float(row["epsilon"]), "simulations": int(row["samples"]),
                     "accepted": len(w), "acceptance_rate": len(w) / max(1, int(row["samples"])),
                     "ess": float(effective_sample_size(np.asarray(w)))})
    df, w = history.get_distribution(m=0, t=history.max_t)
    w = np.asarray(w, dtype=float)
    pick = np.random.default_rng(seed).choice(len(df), size=settings.draws, replace=True, p=w / w.sum())
    box = to_box({n: df[n].to_numpy(dtype=float)[pick] for n, _, _ in priors}, priors)
    draws = pd.DataFrame({n: box[n] for n, _, _ in priors})
    sw, stats = history.get_weighted_sum_stats(t=history.max_t)
    return AbcRun(draws, pd.DataFrame(diag), np.asarray(sw, dtype=float), list(stats), where, version)


def run_abc(spec: CalibrationSpec, observed: pd.DataFrame, settings: PosteriorSettings,
            scheduler: str | None = None, workers: int = 1, seed: int = 1,
            db_path: Path | None = None, report: Callable[[str], None] | None = None,
            design: pd.DataFrame | None = None) -> Posterior:
    """ABC-SMC of the calibration's parameters on the matched rows of ``observed`` (with their
    calibration weights). Each particle is one simulator run (locally on ``workers`` processes,
    or on the Dask scheduler at ``scheduler``), or, given a ``design`` (``surrogate.run_design``),
    one draw of the surrogate fitted on it. Stops at ``generations``, ``max_simulations``,
    ``max_minutes`` or ``min_epsilon``, whichever first.
    """
    t0 = time.perf_counter()
    names = _names(spec.parameters)
    quality = None
    if design is not None:
        all_keys = row_keys(observed)
        tab = observed.rename(columns={"value": "observed"}).copy()
        tab["weight"] = [spec.weight(m, s, str(d)) for m, s, d in zip(tab["metric"], tab["sector"], tab["date"], strict=True)]
        tab["matched"] = [k in design.columns and bool(design[k].notna().all() and (design[k] > 0).all())
                          for k in all_keys]
        matched = tab[tab["matched"] & (tab["weight"] > 0)]
        keys = [all_keys[i] for i in matched.index]
        model: Callable[[dict[str, float]], dict[str, float]] = fit_surrogate(design, spec, keys, names) if keys else None
        quality = model.quality() if keys else None
    else:
        probe = _probe(spec, observed)
        matched = probe[probe["matched"] & (probe["weight"] > 0)]
        keys = [f"r{i}" for i in matched.index]
    if matched.empty:
        raise UsageError(f"{spec.path}: no observed row is matched inside the fit's run; nothing to calibrate on")
    x0 = {k: float(v) for k, v in zip(keys, matched["observed"], strict=True)}
    bounds = dict(zip(keys, matched["bound"], strict=True))
    weights = dict(zip(keys, matched["weight"].astype(float), strict=True))
    obs_rows = observed.loc[matched.index].reset_index(drop=True)
    if design is None:
        model = SimulatorModel(spec, obs_rows, keys)
    priors = [(n, p.low, p.high) for n, p in zip(names, spec.parameters, strict=True)]
    if design is not None and settings.surrogate_sampler == "rejection":
        run = _rejection(model, priors, x0, bounds, weights, settings, seed, report)
    else:
        run = abc_smc(model, priors, x0, bounds, weights, settings, None if design is not None else scheduler,
                      1 if design is not None else workers, seed, db_path, report)
    draws = run.draws.rename(columns={n: p.key for n, p in zip(names, spec.parameters, strict=True)})
    sims = np.array([[s.get(k, np.nan) for k in keys] for s in run.stats], dtype=float)
    pred = matched[["date", "metric", "sector", "unit", "bound", "observed", "weight"]].reset_index(drop=True).copy()
    for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
        pred[name] = [_wquantile(sims[:, j], run.stat_weights, q) for j in range(len(keys))]
    pred["rel_error_p50"] = (pred["p50"] - pred["observed"]) / pred["observed"]
    diag = run.diagnostics
    prov = {"last_row": max(obs_rows["date"]), "rows": len(keys), "simulations": int(diag["simulations"].sum()),
            "generations": len(diag), "population": settings.population, "scale": spec.scale,
            "final_epsilon": float(diag["epsilon"].iloc[-1]) if len(diag) else math.nan,
            "fit_end": spec.end.isoformat() if spec.end else "", "seed": seed,
            "method": run.method or f"ABC-SMC (pyabc {run.version})", "executor": run.where,
            "wall_s": round(time.perf_counter() - t0, 1)}
    if design is not None:
        prov["method"] += (f" on a log-linear surrogate fitted on {len(design)} simulator runs (Latin hypercube);"
                           " 'simulations' counts surrogate draws")
        prov["design_runs"] = len(design)
    post = Posterior(list(spec.parameters), draws, diag, pred, prov)
    post.quality = quality
    return post


def _rejection(model: Any, priors: list[tuple[str, float, float]], x0: dict[str, float], bounds: dict[str, str],
               weights: dict[str, float], settings: PosteriorSettings, seed: int,
               report: Callable[[str], None] | None) -> AbcRun:
    """ABC rejection on the surrogate (simulator.studies.rejection): one generation of equally
    weighted particles, the ``population`` nearest of ``rejection_draws`` prior draws."""
    # loaded when a calibration samples a surrogate (start-up time)
    from simulator.studies.rejection import abc_rejection

    accept = min(settings.population, settings.rejection_draws)
    if report:
        report(f"ABC rejection on the surrogate: {len(priors)} parameters, {len(x0)} observed rows, "
               f"{settings.rejection_draws:,} prior draws, the {accept:,} nearest kept")
    params, sims, eps = abc_rejection(model, priors, x0, bounds, weights, settings.rejection_draws, accept, seed)
    pick = np.random.default_rng(seed).choice(len(params), size=settings.draws, replace=settings.draws > len(params))
    diag = pd.DataFrame([{"generation": 0, "epsilon": eps, "simulations": settings.rejection_draws, "accepted": accept,
                          "acceptance_rate": accept / settings.rejection_draws, "ess": float(accept)}])
    stats = [dict(zip(model.keys, row.tolist(), strict=True)) for row in sims]
    return AbcRun(params.iloc[pick].reset_index(drop=True), diag, np.ones(len(stats)), stats, "1 local process (vectorised)",
                  f"numpy {np.__version__}", method="ABC rejection (vectorised, simulator.studies.rejection)")


def _probe(spec: CalibrationSpec, observed: pd.DataFrame) -> pd.DataFrame:
    """The fit table of one short run at the start values: which rows are matched, their weights."""
    # the engine loads when the runs start, not when this module is imported (start-up time)
    from simulator.engine import Simulation

    x0 = np.array([p.start for p in spec.parameters])
    res = Simulation(build_scenario(spec, x0), seed=spec.seed, scale=spec.scale).run()
    return fit_table(spec, [res], observed)


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Weighted quantile (inverse of the weighted empirical CDF, midpoint rule); NaNs skipped."""
    ok = ~np.isnan(x)
    if not ok.any():
        return math.nan
    x, w = x[ok], w[ok]
    order = np.argsort(x)
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, x))


__all__ = ["PosteriorSettings", "Posterior", "AbcRun", "abc_smc", "run_abc", "weighted_distance", "SimulatorModel"]


# -- cut-off, outputs --------------------------------------------------------------------------
def row_end(date: str) -> dt.date:
    """The last day an observed row's date covers: YYYY → 31 Dec, YYYY-MM → the month's last day."""
    if len(date) == 4:
        return dt.date(int(date), 12, 31)
    y, m = int(date[:4]), int(date[5:7])
    return (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))


def restrict(spec: CalibrationSpec, observed: pd.DataFrame, cutoff: dt.date) -> tuple[CalibrationSpec, pd.DataFrame]:
    """The calibration limited to the rows dated up to ``cutoff``, its runs ending there."""
    import copy

    keep = observed[[row_end(d) <= cutoff for d in observed["date"]]].reset_index(drop=True)
    if keep.empty:
        raise UsageError(f"--cutoff {cutoff}: no observed row is dated on or before it (first row: {observed['date'].iloc[0]})")
    run = spec.base_data.get("run", {})
    if not run["start"] < cutoff <= run["end"]:
        raise UsageError(f"--cutoff {cutoff}: must be after the run start {run['start']} and not after its end {run['end']}")
    out = copy.copy(spec)
    out.end = cutoff
    return out, keep


def write_outputs(post: Posterior, out: Path) -> list[str]:
    """posterior.csv (draws + provenance), parameters.csv, diagnostics.csv, predictive.csv."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = {p.key: p.kind for p in post.parameters}
    write_posterior(out / "posterior.csv", post.draws, kinds, post.provenance)
    post.summary().to_csv(out / "parameters.csv", index=False)
    post.diagnostics.to_csv(out / "diagnostics.csv", index=False)
    post.predictive.to_csv(out / "predictive.csv", index=False)
    files = ["posterior.csv", "parameters.csv", "diagnostics.csv", "predictive.csv"]
    if post.quality is not None:
        post.quality.to_csv(out / "surrogate.csv", index=False)
        files.append("surrogate.csv")
    if len(post.predictive):
        # the structural discrepancy, from the same predictive (simulator/engine/discrepancy.py)
        from simulator.engine.discrepancy import estimate, write_discrepancy

        try:
            disc = estimate(post.predictive)
        except UsageError:
            return files
        prov = {k: post.provenance[k] for k in ("data_cutoff", "last_row", "method", "date", "commit") if k in post.provenance}
        write_discrepancy(out / "discrepancy.csv", disc, {**prov, "estimated_from": "predictive.csv (posterior-predictive residuals)",
                                                          "model": "log-normal random walk per sector (simulator/engine/discrepancy.py)"})
        files.append("discrepancy.csv")
    return files


def format_posterior(post: Posterior) -> str:
    """Diagnostics per generation and each parameter's posterior band, as plain text."""
    lines = ["generation  epsilon  simulations  accepted  acceptance  ESS"]
    for _, d in post.diagnostics.iterrows():
        lines.append(f"{int(d['generation']):>10}  {d['epsilon']:>7.4f}  {int(d['simulations']):>11}  "
                     f"{int(d['accepted']):>8}  {d['acceptance_rate']:>10.1%}  {d['ess']:>5.1f}")
    lines.append("parameter                                        prior [low, high]          posterior p50 [p5–p95]")
    for _, r in post.summary().iterrows():
        lines.append(f"{r['key'][:48]:<49}[{r['low']}, {r['high']}]".ljust(76) + f"{r['p50']} [{r['p5']}–{r['p95']}]")
    return "\n".join(lines)
