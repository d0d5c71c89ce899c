"""The day plan timed (``segur run --profile``): every module of the plan, in its order, with
its seconds; nothing timed unless asked."""

from __future__ import annotations

import json

from simulator.cli import main
from simulator.engine import Simulation, day_plan
from simulator.engine.scenario import load_scenario
from tests.conftest import REPO

DEMO = REPO / "scenarios" / "demo.toml"
SHORT = {"run.end": "2025-03-31"}


def test_a_profiled_run_times_every_module_of_the_plan_in_its_order():
    sim = Simulation(load_scenario(DEMO, SHORT), scale=0.002, profile=True)
    res = sim.run()
    rows = res.manifest["profile"]
    assert [r["module"] for r in rows] == [m.name for m in sim.modules]
    assert all(r[k] >= 0 for r in rows for k in ("step_s", "on_batch_s", "month_end_s", "total_s"))
    # the modules' seconds are part of the loop's, and the batch-judging modules were timed
    assert sum(r["total_s"] for r in rows) <= res.manifest["timings"]["simulate_s"] + 1e-3
    assert next(r for r in rows if r["module"] == "dmp")["on_batch_s"] + next(
        r for r in rows if r["module"] == "dmp")["step_s"] > 0


def test_an_unprofiled_run_has_no_profile():
    sim = Simulation(load_scenario(DEMO, SHORT), scale=0.002)
    assert "profile" not in sim.run().manifest and sim.clock is None
    assert [m.name for m in sim.modules] == [m.name for m in day_plan(sim.context)]


def test_segur_run_profile_prints_the_day_plan(tmp_path, capsys):
    short = tmp_path / "short.toml"
    short.write_text(f'name = "short"\nextends = "{DEMO}"\n[run]\nend = 2025-02-28\n')
    out = tmp_path / "p"
    assert main(["run", str(short), "--profile", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["profile"]
    assert printed[0].startswith("day plan") and printed[-1].startswith("all modules")
    assert [line.split()[0] for line in printed[1:-1]] == [r["module"] for r in rows]


def test_profile_with_replications_is_refused(tmp_path, capsys):
    code = main(["run", str(DEMO), "--profile", "--replications", "3", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "--profile: times the modules of one run" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
