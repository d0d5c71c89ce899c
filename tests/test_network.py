"""The flow network: volumes conserved per channel and leg, relays conserve flow, cut volumes,
files that round-trip, and the `segur network` command's behaviour and errors."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest

from agents.services.mssante_operators import OPERATORS
from reports.network import (
    DOC_CHANNELS,
    channel_totals,
    critical_nodes,
    cut_volumes,
    national_graph,
    top_flows,
    write_graph,
)
from scenarios.country import load_country
from scenarios.schema import ALL_SECTORS
from simulator.cli import main


def _run_volumes(results) -> dict[str, float]:
    docs = results.to_df("documents")
    out = {"dmp": docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted")]["national"].sum()}
    for ch in ("mssante_pro", "mssante_patient"):
        out[ch] = docs[(docs["channel"] == ch) & (docs["outcome"] == "delivered")]["national"].sum()
    return out


@pytest.fixture(scope="module")
def graph(small_results):
    return national_graph(small_results)


def test_operator_shares_add_up_to_one_for_every_sector():
    table = load_country("france").mssante.operators
    for sector in ALL_SECTORS:
        shares = table[sector]
        assert math.isclose(sum(shares.values()), 1.0), sector
        assert set(shares) <= set(OPERATORS) - {"mes"}
    assert set(table) == set(ALL_SECTORS)


@pytest.mark.parametrize("leg", [1, 2])
def test_edge_weight_per_channel_equals_the_runs_volume(small_results, graph, leg):
    expected = _run_volumes(small_results)
    got = channel_totals(graph, leg)
    for ch in DOC_CHANNELS:
        assert expected[ch] > 0
        assert got[ch] == pytest.approx(expected[ch], rel=1e-9), (ch, leg)


def test_relays_conserve_flow_and_lookups_stay_within_the_dmp_volume(small_results, graph):
    for node, data in graph.nodes(data=True):
        if data["kind"] not in ("service", "operator") or node == "insi":
            continue
        for ch in DOC_CHANNELS:
            inflow = sum(d["total"] for _, _, d in graph.in_edges(node, data=True) if d["channel"] == ch)
            outflow = sum(d["total"] for _, _, d in graph.out_edges(node, data=True) if d["channel"] == ch)
            assert inflow == pytest.approx(outflow, rel=1e-9, abs=1e-6), (node, ch)
    insi = channel_totals(graph, 0)["insi"]
    assert 0 < insi < channel_totals(graph, 1)["dmp"]  # the rule applies from Oct 2023 only


def test_monthly_series_add_up_to_each_edge_total(small_results, graph):
    months = set(small_results.manifest["months"])
    for _, _, d in graph.edges(data=True):
        series = json.loads(d["monthly"])
        assert set(series) <= months
        assert sum(series.values()) == pytest.approx(d["total"], rel=1e-9, abs=0.0005 * len(series))  # 3 decimals


def test_cut_volumes_follow_the_paths(small_results, graph):
    cuts = cut_volumes(graph).set_index("node")
    volumes = _run_volumes(small_results)
    assert cuts.loc["dmp", "documents_cut"] == pytest.approx(volumes["dmp"], rel=1e-9)
    operators = [n for n, d in graph.nodes(data=True) if d["kind"] == "operator"]
    mss = volumes["mssante_pro"] + volumes["mssante_patient"]
    assert sum(cuts.loc[n, "documents_cut"] for n in operators) == pytest.approx(mss, rel=1e-9)
    assert (cuts["share_of_documents"] <= 1 + 1e-9).all()
    top = critical_nodes(graph, 5)
    assert list(top["documents_cut"]) == sorted(top["documents_cut"], reverse=True)
    assert top.loc[0, "node"] == "dmp"


def test_top_flows_are_sorted_per_leg_and_shares_are_fractions(graph):
    flows = top_flows(graph, 4)
    assert set(flows["leg"]) == {1, 2}
    for _, sub in flows.groupby("leg"):
        assert len(sub) == 4
        assert list(sub["volume"]) == sorted(sub["volume"], reverse=True)
    assert ((flows["share"] > 0) & (flows["share"] <= 1)).all()


def test_graphml_and_json_round_trip(graph, tmp_path):
    paths = write_graph(graph, tmp_path)
    back = nx.read_graphml(paths[0])
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    assert sum(d["total"] for *_, d in back.edges(data=True)) == pytest.approx(
        sum(d["total"] for *_, d in graph.edges(data=True)))
    data = json.loads(paths[1].read_text(encoding="utf-8"))
    assert len(data["nodes"]) == graph.number_of_nodes()
    assert len(data["edges"]) == graph.number_of_edges()


def test_prescriptions_appear_when_the_run_has_the_eprescription_flow():
    import simulator

    res = simulator.run("scenarios/demo.toml", seed=2)
    ep = res.to_df("eprescription").groupby("event")["national"].sum()
    G = national_graph(res)
    totals1, totals2 = channel_totals(G, 1), channel_totals(G, 2)
    assert totals1["eprescription"] == pytest.approx(ep["registered"], rel=1e-9)
    assert totals2.get("eprescription", 0.0) == pytest.approx(ep["dispensed"], rel=1e-9, abs=1e-9)
    assert G.graph["unit"].startswith("documents (estimate for the simulated territory")
    for ch, v in _run_volumes(res).items():
        assert totals1.get(ch, 0.0) == pytest.approx(v, rel=1e-9)


@pytest.fixture(scope="module")
def saved(small_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / "baseline"
    small_results.save(out)
    return out


@pytest.mark.slow
def test_network_command_writes_files_and_prints_tables(saved, tmp_path, capsys):
    out = tmp_path / "net"
    assert main(["network", str(saved), "--out", str(out), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Flows that carry the most" in printed and "Nodes whose loss cuts the most" in printed
    for name in ("network.graphml", "network.json", "network.png", "top_flows.csv", "critical_nodes.csv"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run over its own output folder replaces it
    assert main(["network", str(saved), "--out", str(out), "--quiet"]) == 0


@pytest.mark.parametrize("case", ["missing", "foreign"])
def test_network_command_refuses_a_missing_or_foreign_folder(case, tmp_path, capsys):
    folder = tmp_path / "nothing-here" if case == "missing" else tmp_path
    if case == "foreign":
        (tmp_path / "notes.txt").write_text("not results")
    assert main(["network", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_network_command_will_not_overwrite_a_foreign_folder(saved, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert main(["network", str(saved), "--out", str(out)]) == 2
    assert "choose another --out" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
