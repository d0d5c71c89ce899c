"""`segur network RESULTS_DIR --out DIR`: the run's flow graph as GraphML, JSON and a figure,
and the tables of the flows that carry most documents and the nodes whose loss cuts most."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.atomic import atomic_folder, claim_output
from simulator.cli.commands.run import add_overwrite_option
from simulator.core.errors import UsageError

FILES = ("network.graphml", "network.json", "network.png", "top_flows.csv", "critical_nodes.csv")


HELP = "the flow graph of a run: GraphML, JSON, a figure and the critical flows"
DESCRIPTION = ("Build the ecosystem's flow graph from a results folder (producers by sector × "
               "département, the DMP, MSSanté operators, INSi, the e-prescription base, the patients' "
               "Mon espace santé) and write network.graphml, network.json (node-link), network.png, "
               "top_flows.csv and critical_nodes.csv. See docs/network.md.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur network`."""
    p.add_argument("results", type=Path, help="results folder written by `segur run`")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: RESULTS/network)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="rows of each printed table (default 10)")
    p.add_argument("--quiet", action="store_true", help="write the files, print nothing")
    add_overwrite_option(p)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from reports.network import format_tables, national_graph, write_graph, write_tables
    from reports.network_figure import draw_network
    from simulator.engine.results import Results

    if args.top < 1:
        raise UsageError(f"--top: must be at least 1 (got {args.top})")
    results = Results.load(args.results)
    if "territory" not in results.tables:
        raise UsageError(f"{args.results}: has no territory table (written by an older version); run it again")
    out = args.out or args.results / "network"
    with claim_output(out, "network", args.overwrite):
        G = national_graph(results)
        with atomic_folder(out, kind="network") as tmp:
            write_graph(G, tmp)
            draw_network(G, tmp / "network.png",
                         title=f"Flux de documents — {results.manifest.get('scenario_name', '')} "
                               f"({results.manifest['start']} → {results.manifest['end']})")
            flows, nodes = write_tables(G, tmp, args.top)
    if not args.quiet:
        print(format_tables(flows, nodes, unit=G.graph.get("unit", "documents")))
        print(f"\nGraph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges; written to {out}/")
    return 0
