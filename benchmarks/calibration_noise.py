"""Sampling noise of the calibration's headline figures: run the baseline (to end 2023) at a
few scales and seeds and print, per figure, the mean and the coefficient of variation (CV)
across seeds, with the wall time per run. Use it to choose the fit's scale and replications:
the CV of a mean of n replications is about CV / √n, and should be small against the
tolerances (±15% volumes, ±2 points install rates, ±5 points shares).

    python benchmarks/calibration_noise.py [--scales 0.005 0.01 0.02] [--seeds 5] [--scenario PATH]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import simulator
from simulator.core.streams import replication_seeds
from simulator.engine.scenario import load_scenario
from simulator.studies.observed_match import observed_vs_simulated

HEADLINES = [
    ("2023-09", "documents_annual_rate", "gp"),
    ("2023-09", "documents_annual_rate", "biology"),
    ("2023-09", "documents_annual_rate", "radiology"),
    ("2023-09", "documents_annual_rate", "hospital"),
    ("2023-03", "documents_per_month", "all"),
    ("2023-07", "documents_annual_rate", "all"),
    ("2023-08", "professionals_feeding_in_month", "gp"),
    ("2023-09", "install_rate", "radiology"),
    ("2023-09", "mes_profiles_activated", "all"),
    ("2023-12", "share_of_documents", "gp"),
    ("2023-12", "share_of_documents", "pharmacy"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.005, 0.01, 0.02])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scenario", default="baseline")
    args = ap.parse_args()
    sc = load_scenario(args.scenario, overrides={"run.end": "2023-12-31"})
    rows = []
    for scale in args.scales:
        values: dict[tuple, list[float]] = {h: [] for h in HEADLINES}
        t0 = time.perf_counter()
        for seed in replication_seeds(99, args.seeds):
            tab = observed_vs_simulated(simulator.run(sc, seed=seed, scale=scale)).set_index(["date", "metric", "sector"])
            for h in HEADLINES:
                values[h].append(float(tab.loc[h, "simulated"]))
        per_run = (time.perf_counter() - t0) / args.seeds
        for h, v in values.items():
            a = np.array(v)
            rows.append({"scale": scale, "figure": " ".join(h), "mean": a.mean(),
                         "cv": a.std(ddof=1) / abs(a.mean()) if a.mean() else np.nan, "s/run": per_run})
    df = pd.DataFrame(rows)
    wide = df.pivot(index="figure", columns="scale", values="cv").reindex([" ".join(h) for h in HEADLINES])
    print(f"Coefficient of variation across {args.seeds} seeds (runs to 2023-12-31), by scale:")
    print(wide.map(lambda x: f"{x:6.1%}").to_string())
    print("wall time per run (s): " + ", ".join(f"{s}: {t:.1f}" for s, t in df.groupby("scale")["s/run"].first().items()))


if __name__ == "__main__":
    main()
