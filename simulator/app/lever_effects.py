"""Which levers matter: each lever moved alone to a low and a high value, its effect on the headline.

The headline is the DMP documents accepted over the run's last 12 months, every sector (what the
targets are read on). One run per value, every run with the same seed (common random numbers),
so a difference comes from the lever; the reference run is repeated with a second seed to say
how large a difference seeds alone make (``noise``). Written once per scenario to
``scenarios/data/lever_effects/<scenario>.csv`` with the command and date in its header, read by
the page (a scenario without a file gets its levers without effects)::

    python -m simulator.app.lever_effects baseline --scale 0.002 --seed 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.loader import SCENARIO_DIR
from simulator.app import levers as lv

FOLDER = SCENARIO_DIR / "data" / "lever_effects"
HEADLINE = "dmp_last_12_months"
YEAR_DAYS = 365
OUTAGE_DAYS = 30
COLUMNS = ["lever", "low", "high", "headline_low", "headline_high", "change_low", "change_high"]


def probe_values(lever: lv.Lever) -> tuple[Any, Any] | None:
    """The low and high values a lever is moved to: a factor ÷2 and ×2, a share halved and
    doubled (within its bounds), a date a year earlier and later (within the run), an outage
    of 0 and 30 days; None for a lever that does nothing alone (the outage's first day)."""
    b = lever.bounds
    if lever.id == "outage.date":
        return None
    if lever.kind == "days":
        return 0, OUTAGE_DAYS
    if lever.kind == "date":
        lo, hi = lever.default - dt.timedelta(days=YEAR_DAYS), lever.default + dt.timedelta(days=YEAR_DAYS)
        return max(lo, b.get("ge", lo)), min(hi, b.get("le", hi))
    top = min(b.get("le", float("inf")), 1.0 if lever.kind == "share" else float("inf"))
    low, high = float(lever.default) / 2, min(float(lever.default) * 2, top)
    return round(low, 6), round(high, 6)


def _headline(name: str, chosen: dict[str, Any], seed: int, scale: float) -> float:
    # the engine loads in the process that runs (the page's server imports this module to read the file)
    from simulator import Simulation
    from simulator.engine.outputs import OutputSpec

    req = lv.RunRequest(scenario=name, levers=chosen, seed=seed, scale=scale)
    scenario, _ = lv.check(req)
    res = Simulation(scenario).run()
    return OutputSpec(HEADLINE, (("sector", "all"),)).evaluate(res)


def _task(args: tuple[str, dict[str, Any], int, float]) -> float:
    return _headline(*args)


def compute(name: str, scale: float, seed: int, log=print, workers: int = 1) -> tuple[pd.DataFrame, dict[str, str]]:
    """The effects table of a library scenario and its header (reference, noise); the runs go
    to ``workers`` processes."""
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    levers = lv.levers_for(name)
    outage_day = next((str(x.default) for x in levers if x.id == "outage.date"), None)
    probes = [(lever, p) for lever in levers if (p := probe_values(lever)) is not None]
    tasks = [(name, {}, seed, scale), (name, {}, seed + 1, scale)]
    for lever, probe in probes:
        for v in probe:
            chosen = {lever.id: str(v) if isinstance(v, dt.date) else v}
            if lever.id == "outage.days" and outage_day is not None:
                chosen["outage.date"] = outage_day
            tasks.append((name, chosen, seed, scale))
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        got = list(pool.map(_task, tasks))
    ref, other = got[0], got[1]
    rows = []
    for i, (lever, probe) in enumerate(probes):
        low, high = got[2 + 2 * i], got[3 + 2 * i]
        rows.append({"lever": lever.id, "low": str(probe[0]), "high": str(probe[1]),
                     "headline_low": round(low), "headline_high": round(high),
                     "change_low": round(low / ref - 1, 4), "change_high": round(high / ref - 1, 4)})
        log(f"{lever.id}: {rows[-1]['change_low']:+.1%} / {rows[-1]['change_high']:+.1%}")
    cmd = f"python -m simulator.app.lever_effects {name} --scale {scale} --seed {seed}"
    header = {"scenario": name, "command": cmd, "date": dt.date.today().isoformat(),
              "headline": f"{HEADLINE} (sector all): DMP documents accepted over the run's last 12 months",
              "reference": str(round(ref)), "noise": str(round(abs(other / ref - 1), 4)),
              "noise_rule": f"|headline with seed {seed + 1} / headline with seed {seed} - 1|",
              "runs": str(len(tasks)), "wall_s": str(round(time.perf_counter() - t0))}
    return pd.DataFrame(rows, columns=COLUMNS), header


def write(table: pd.DataFrame, header: dict[str, str], path: Path) -> Path:
    """The CSV with its header lines (``# key: value``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    for k, v in header.items():
        buf.write(f"# {k}: {v}\n")
    table.to_csv(buf, index=False)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return path


@lru_cache(maxsize=32)
def read(name: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]] | None:
    """The shipped effects of a scenario (lever id → row) and the file's header; None if none."""
    path = FOLDER / f"{name}.csv"
    if not path.exists():
        return None
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        k, _, v = line[1:].partition(":")
        header[k.strip()] = v.strip()
    table = pd.read_csv(path, comment="#", dtype={"low": str, "high": str})
    return {str(r["lever"]): {k: r[k] for k in COLUMNS} for _, r in table.iterrows()}, header


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator.app.lever_effects", description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--scale", type=float, default=0.002)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="processes running the runs (default 1)")
    ap.add_argument("--out", type=Path, default=None, help="default: scenarios/data/lever_effects/<scenario>.csv")
    a = ap.parse_args(argv)
    table, header = compute(a.scenario, a.scale, a.seed, log=lambda s: print(s, file=sys.stderr, flush=True),
                            workers=a.workers)
    print(write(table, header, a.out or FOLDER / f"{a.scenario}.csv"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
