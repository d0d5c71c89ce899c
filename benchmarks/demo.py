"""Time `segur demo` and `segur network`: the small world end to end (run, render every
document, graph, figure, narration without pauses), then the network of a national run.

    python benchmarks/demo.py                             # demo defaults: 3,000 patients, 7 days
    python benchmarks/demo.py --patients 10000 --days 30
    python benchmarks/demo.py --network-scale 0.01        # also time the graph of a baseline run

Goal: `segur demo` under 15 s without --step (its default pace adds 0.4 s a day on a terminal).
Prints wall time per step, documents per second and peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=None)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--network-scale", type=float, default=None, help="also time the graph of a baseline run at this scale")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from simulator.demo.teaching import Narrator, build_demo, narrate

    t_import = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        demo = build_demo("demo", Path(tmp) / "demo-output", patients=args.patients, days=args.days)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        sink = io.StringIO()
        narrate(demo, Narrator(rich=False, write=lambda s: sink.write(s + "\n")), pace=0.0)
        t_narrate = time.perf_counter() - t
    r = demo.rendered
    n = len(r.documents) + len(r.messages)
    total = t_import + t_build + t_narrate
    print(f"segur demo: {demo.world.patients.n:,} patients, {len(demo.dates)} days")
    print(f"  imports {t_import:.2f} s · run + render + files {t_build:.2f} s · narration {t_narrate:.2f} s "
          f"· total {total:.2f} s (goal < 15 s)")
    print(f"  {len(r.documents)} bundles + {len(r.messages)} messages = {n / t_build:,.0f} files/s")
    if args.network_scale:
        import simulator
        from reports.network import national_graph
        from reports.network_figure import draw_network

        res = simulator.run(REPO / "scenarios" / "baseline.toml", scale=args.network_scale, seed=1)
        t = time.perf_counter()
        G = national_graph(res)
        t_graph = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            draw_network(G, Path(tmp) / "n.png")
            t_fig = time.perf_counter() - t
        print(f"segur network (baseline, scale {args.network_scale}): {G.number_of_nodes()} nodes, "
              f"{G.number_of_edges()} edges; graph {t_graph:.2f} s, figure {t_fig:.2f} s")
    print(f"  peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
