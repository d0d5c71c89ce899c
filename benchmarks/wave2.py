"""Wave 2 benchmark: the central projection (wave2.toml) against the baseline, 2021 → 2027.

Prints, for each: wall time, documents simulated per second and peak memory; for wave2, the
time spent in the wave 2 flows and the e-prescription base's largest window (memory bound:
prescriptions of the last validity period only). Each scenario runs in its own process so
that peak memory is its own.

    python benchmarks/wave2.py                # scale 0.1
    python benchmarks/wave2.py --scale 1.0    # all of France
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one(scenario: str, scale: float, seed: int) -> dict:
    """Run one scenario in this process and return its measures."""
    import cProfile
    import pstats
    import resource

    from simulator.engine import Simulation

    sim = Simulation(ROOT / "scenarios" / f"{scenario}.toml", seed=seed, scale=scale)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    res = sim.run()
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof).stats
    flow_s = sum(v[3] for k, v in stats.items() if k[2] == "step" and ("wave2_flows" in k[0] or "eprescription_flow" in k[0]))
    flow_s += sum(v[3] for k, v in stats.items() if k[2] == "on_batch" and "eprescription_flow" in k[0])
    docs = res.to_df("documents")
    dmp_rows = int(docs.loc[docs["channel"] == "dmp", "count"].sum())
    ep = next((f for f in getattr(sim, "flows", []) if f.name == "eprescription"), None)
    return {
        "scenario": scenario, "wall_s": wall, "simulate_s": res.manifest["timings"]["simulate_s"], "dmp_rows": dmp_rows,
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, "flows_s_profiled": flow_s,
        "eprescription_peak_window": None if ep is None else ep.base.peak,
        "eprescription_registered": None if ep is None else ep.base.next_id,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one scenario, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.scale, args.seed)))
        return
    print(f"scale {args.scale} · seed {args.seed} · 2021-01-01 → 2027-12-31 (flow time measured under the profiler)")
    for scenario in ("baseline", "wave2"):
        out = subprocess.run([sys.executable, __file__, "--one", scenario, "--scale", str(args.scale), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True).stdout
        m = json.loads(out.strip().splitlines()[-1])
        line = (f"{scenario:<9} wall {m['wall_s']:.1f} s · {m['dmp_rows'] / m['simulate_s']:,.0f} DMP documents/s · "
                f"peak memory {m['peak_gib']:.2f} GiB")
        if m["eprescription_peak_window"] is not None:
            line += (f" · wave 2 flows {m['flows_s_profiled']:.1f} s (profiled) · e-prescription window at most "
                     f"{m['eprescription_peak_window']:,} of {m['eprescription_registered']:,} registered")
        print(line)


if __name__ == "__main__":
    main()
