"""`segur demo` runs for any seed (seeds 1–20 on a small territory), and every channel of the
simulation gets its colour, label and legend entry from one place (reports/channels.py), so
that a new channel cannot break the network figure."""

from __future__ import annotations

import contextlib
import io

import networkx as nx
import pytest

from reports.channels import STYLES, order, style
from simulator.cli import main
from simulator.core.outcomes import CHANNELS


def _demo(out, seed: int) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main(["demo", "--out", str(out), "--days", "2", "--patients", "2000", "--seed", str(seed)])


@pytest.mark.parametrize("seed", [1, 2])
def test_the_seeds_that_used_to_break_the_figure(tmp_path, seed):
    assert _demo(tmp_path / "demo", seed) == 0
    assert (tmp_path / "demo" / "network" / "network.png").stat().st_size > 10_000


@pytest.mark.slow
def test_every_seed_from_1_to_20_runs(tmp_path):
    failed = [seed for seed in range(1, 21) if _demo(tmp_path / f"demo-{seed}", seed) != 0]
    assert failed == []


def test_every_channel_has_one_style_and_a_new_one_still_draws(tmp_path):
    from reports.network_figure import draw_network

    assert set(CHANNELS) <= set(STYLES)  # colour and label of each channel, in one table
    assert len({STYLES[c].colour for c in CHANNELS}) == len(CHANNELS)  # told apart in the legend
    assert style("a_new_channel").label == "a_new_channel" and style("a_new_channel").colour.startswith("#")
    assert order({"a_new_channel", "dmp", "mssante_from_patient"}) == ["dmp", "mssante_from_patient",
                                                                         "a_new_channel"]
    G = nx.MultiDiGraph(scenario="test")
    G.add_node("gp:35", kind="producer", sector="gp", group="Médecins")
    G.add_node("patients", kind="patients")
    G.add_node("mss", kind="service", label="MSSanté")
    for i, ch in enumerate([*CHANNELS, "a_new_channel"]):
        G.add_edge("gp:35", "mss", channel=ch, total=10.0 + i)
        G.add_edge("mss", "patients", channel=ch, total=5.0 + i)
    path = draw_network(G, tmp_path / "network.png")
    assert path.stat().st_size > 5_000
