"""The posterior predictive with the simulator, for the calibration tables of docs/calibration.md.

``python -m simulator.studies.predictive POSTERIOR N OUT [--scenario FILE] [--scale S] [--workers W]``
runs the first N draws of a posterior file, each with its own seed (1000 + draw), from the
scenario's start to May 2025, and writes ``OUT_rows.csv`` (every observed row: p5, p50, p95 and
one column run1…runN per draw, the input of ``python -m simulator.studies.representative
--predictive``), ``OUT_table.csv`` (the matched rows) and ``OUT_split2024.csv`` (the median 2024
DMP documents accepted by LOINC type). The surrogate's predictive (``segur calibrate``'s
predictive.csv) emulates the model; this one runs it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import SegurError

END = "2025-05-31"  # the last observed row's month


def one_draw(args: tuple[int, str, str, float]) -> tuple[dict[str, list[Any]], dict[str, float]]:
    """Draw ``i`` of the posterior, simulated with seed 1000 + i: its fit table and 2024 split."""
    i, scenario, posterior, scale = args
    # loaded in the worker process (start-up time)
    from simulator.engine import Simulation
    from simulator.engine.observed_match import observed_vs_simulated
    from simulator.studies.posterior_file import draw_scenarios

    scs, _ = draw_scenarios(scenario, i + 1, posterior)
    sc = scs[i]
    run_cfg = sc.run.model_validate({**sc.run.model_dump(), "end": END, "scale": scale, "seed": 1000 + i})
    res = Simulation(sc.model_copy(update={"run": run_cfg})).run()
    fit = observed_vs_simulated(res)
    docs = res.tables["documents"]
    d = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted") & docs["month"].astype(str).str.startswith("2024")]
    split = d.groupby(d["doc_type"].astype(str))["documents"].sum()
    return fit[["date", "metric", "sector", "bound", "observed", "simulated", "matched"]].to_dict("list"), split.to_dict()


def predictive(scenario: str, posterior: str, n: int, scale: float = 0.01, workers: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    """Every observed row with p5/p50/p95 and run1…runN over the first ``n`` draws; the 2024 split."""
    jobs = [(i, scenario, posterior, scale) for i in range(n)]
    with ProcessPoolExecutor(workers) as ex:
        res = list(ex.map(one_draw, jobs))
    fits = [pd.DataFrame(f) for f, _ in res]
    rows = fits[0][["date", "metric", "sector", "bound", "observed", "matched"]].copy()
    sims = np.array([f["simulated"].to_numpy(dtype=float) for f in fits])
    with warnings.catch_warnings():  # unmatched rows are NaN in every draw
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, q in (("p5", 5), ("p50", 50), ("p95", 95)):
            rows[name] = np.nanpercentile(sims, q, axis=0)
    rows["rel_p50"] = (rows["p50"] - rows["observed"]) / rows["observed"]
    for j in range(n):
        rows[f"run{j + 1}"] = sims[j]
    split = pd.DataFrame([s for _, s in res]).T.median(axis=1).sort_values(ascending=False)
    return rows, split


def main(argv: list[str] | None = None) -> int:
    """Write the three tables (see the module's docstring)."""
    ap = argparse.ArgumentParser(prog="python -m simulator.studies.predictive", description=__doc__.split("\n")[0])
    ap.add_argument("posterior")
    ap.add_argument("n", type=int)
    ap.add_argument("out", help="prefix of the three CSV files")
    ap.add_argument("--scenario", default="scenarios/baseline.toml")
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if not 1 <= args.n <= 1000:
        print(f"segur: error: n: must be between 1 and 1000 (got {args.n})", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:  # before the runs: a folder that cannot be made fails now, not after them
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"segur: error: out: cannot make the folder {out.parent} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    try:
        rows, split = predictive(args.scenario, args.posterior, args.n, args.scale, args.workers)
    except SegurError as exc:
        print(f"segur: error: {exc}", file=sys.stderr)
        return exc.exit_code
    rows.to_csv(f"{out}_rows.csv", index=False)
    rows[rows["matched"]].drop(columns=[c for c in rows.columns if c.startswith("run")]).to_csv(f"{out}_table.csv", index=False)
    split.rename("documents").to_csv(f"{out}_split2024.csv", index_label="doc_type")
    print(f"written {out}_rows.csv, {out}_table.csv, {out}_split2024.csv ({args.n} draws)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
