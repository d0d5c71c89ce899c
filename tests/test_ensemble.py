"""Replications: identical tables whatever the executor, retry then report, ordered quantiles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.core.outcomes import CHANNELS
from simulator.core.streams import replication_seeds
from simulator.engine.ensemble import OUTCOME_NAMES, Aggregator, Summary, replicate
from simulator.engine.executors import open_executor, run_tasks
from simulator.engine.outputs import evaluate, headline_outputs
from simulator.engine.results import Results
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE
from tests.support_ensemble import (
    SCALE,
    SHORT_RUN,
    crash_on_first_attempt,
    one_error_line,
    write_short_scenario,
)


@pytest.fixture(scope="module")
def short_scenario():
    return load_scenario(BASELINE, overrides=SHORT_RUN)


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"))


def _check_bands(df: pd.DataFrame) -> None:
    assert len(df)
    assert (df["p5"] <= df["p50"]).all() and (df["p50"] <= df["p95"]).all()
    assert df[["p5", "p50", "p95", "mean"]].notna().all().all()


@pytest.mark.slow
def test_local_processes_and_dask_give_identical_tables(short_scenario):
    local = replicate(short_scenario, 4, seed=11, scale=float(SCALE), executor="local", workers=2, representative=False)
    dask = replicate(short_scenario, 4, seed=11, scale=float(SCALE), executor="dask", workers=2, representative=False)
    assert "Dask" in dask.executor and "local process" in local.executor
    assert local.seeds == dask.seeds == replication_seeds(11, 4)
    a, b = local.tables(), dask.tables()
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    reps = a["replications"]
    assert (reps["status"] == "ok").all()
    assert reps["dmp_last12_all"].nunique() > 1  # four different replications, not one run four times
    # and the same as running one seed here, in this process
    seed = local.seeds[2]
    direct = evaluate(headline_outputs(short_scenario), simulator.run(short_scenario, seed=seed, scale=float(SCALE)))
    row = reps.set_index("seed").loc[seed]
    assert {k: row[k] for k in direct} == direct


@pytest.mark.slow
def test_run_replications_writes_quantiles_and_the_median_run(tmp_path, short_file, capsys):
    out = tmp_path / "ens"
    code = main(["run", str(short_file), "--replications", "3", "--scale", SCALE, "--workers", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "median [p5–p95] of 3 replications" in captured.out
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    ens = man["ensemble"]
    assert ens["complete"] and ens["completed"] == 3 and ens["failed"] == []
    assert ens["seeds"] == replication_seeds(1, 3)  # the scenario's seed is 1
    assert "documents_quantiles" in man["tables"] and "replications" in man["tables"]
    res = Results.load(out)  # still an ordinary results folder: the representative run's tables
    res.check_conservation()
    assert man["seed"] == ens["representative"]["seed"] in ens["seeds"]

    dq = res.to_df("documents_quantiles")
    assert {"month", "sector", "channel", "outcome", "p5", "p50", "p95", "mean", "n"} <= set(dq.columns)
    _check_bands(dq)
    assert (dq["n"] == 3).all()
    # means add up over sectors to the "all" rows (quantiles do not, means do)
    dmp = dq[(dq["channel"] == "dmp") & (dq["outcome"] == "accepted")]
    by_sector = dmp[dmp["sector"] != "all"].groupby("month")["mean"].sum()
    total = dmp[dmp["sector"] == "all"].set_index("month")["mean"]
    np.testing.assert_allclose(by_sector.reindex(total.index), total, rtol=1e-9)
    for name in ("adoption_quantiles", "profiles_quantiles", "outputs_quantiles"):
        _check_bands(res.to_df(name))

    reps = res.to_df("replications")
    assert list(reps["seed"]) == ens["seeds"] and (reps["status"] == "ok").all()
    # the representative run is the median replication, and its tables reproduce its row
    rep_row = reps.set_index("seed").loc[man["seed"]]
    assert rep_row["dmp_last12_all"] == pytest.approx(evaluate(headline_outputs(load_scenario(short_file)), res)["dmp_last12_all"])
    assert rep_row["dmp_last12_all"] == pytest.approx(reps["dmp_last12_all"].median())


@pytest.mark.slow
def test_failed_replication_is_retried_then_reported(tmp_path, short_file, capsys, monkeypatch):
    seeds = replication_seeds(1, 3)
    always, once = seeds[1], seeds[2]
    monkeypatch.setenv("SEGUR_FAIL_SEEDS", f"{always},{once}@1")
    out = tmp_path / "ens"
    code = main(["run", str(short_file), "--replications", "3", "--scale", SCALE, "--workers", "2",
                 "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"replication 2 (seed {always}) failed after 2 attempts: RuntimeError: SEGUR_FAIL_SEEDS" in err
    assert str(once) not in err  # failed once, then succeeded on its retry
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["ensemble"]["complete"] is False
    assert [f["seed"] for f in man["ensemble"]["failed"]] == [always]
    reps = pd.read_csv(out / "replications.csv", keep_default_na=False).set_index("seed")
    assert reps.loc[always, "status"] == "failed" and reps.loc[always, "attempts"] == 2
    assert "SEGUR_FAIL_SEEDS" in reps.loc[always, "error"]
    assert reps.loc[once, "status"] == "ok" and reps.loc[once, "attempts"] == 2
    assert reps.loc[seeds[0], "attempts"] == 1
    dq = pd.read_csv(out / "documents_quantiles.csv")
    assert (dq["n"] == 2).all()  # the tables say how many replications they hold


def test_nothing_written_when_every_replication_fails(tmp_path, short_file, capsys, monkeypatch):
    seeds = replication_seeds(5, 2)
    monkeypatch.setenv("SEGUR_FAIL_SEEDS", " ".join(map(str, seeds)))
    out = tmp_path / "none"
    code = main(["run", str(short_file), "--replications", "2", "--seed", "5", "--scale", SCALE,
                 "--workers", "2", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert all(f"(seed {s}) failed after 2 attempts" in err for s in seeds)
    assert "nothing was written" in err
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--replications", "0"], "--replications: must be at least 1"),
    (["--replications", "2", "--workers", "0"], "--workers: must be at least 1"),
    (["--replications", "2", "--dask", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers: not used with --dask"),
    (["--replications", "2", "--dask", "tcp://127.0.0.1:8786", "--executor", "local"], "cannot be combined"),
])
def test_bad_executor_options_are_one_line(tmp_path, capsys, args, words):
    code = main(["run", str(BASELINE), "--scale", SCALE, "--out", str(tmp_path / "x"), *args])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and words in line
    assert not (tmp_path / "x").exists()


def test_unreachable_scheduler_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        with open_executor("dask", address="tcp://127.0.0.1:9", connect_timeout=1):
            pass


def test_a_dead_worker_process_is_replaced_and_its_task_retried():
    with open_executor("local", workers=2) as pool:
        outcomes = {o.key: o for o in run_tasks(pool, crash_on_first_attempt, [(x, (x,)) for x in range(5)])}
    assert sorted(outcomes) == list(range(5))
    assert all(o.ok and o.value == 10 * k for k, o in outcomes.items())
    assert outcomes[2].attempts == 2


def _summary(seed: int, rng: np.random.Generator) -> Summary:
    months, sectors = ["2023-01", "2023-02"], ["gp", "biology"]
    return Summary(seed=seed, scale=0.5, months=months, sectors=sectors, profile_states=["open", "activated"],
                   documents=rng.integers(0, 100, (2, 2, len(CHANNELS), len(OUTCOME_NAMES))), adoption=rng.random((2, 2, 6)),
                   profiles=rng.random((2, 2)), outputs={"x": float(rng.random())}, version=simulator.__version__)


def test_aggregator_tables_do_not_depend_on_arrival_order():
    rng = np.random.default_rng(0)
    seeds = [10, 11, 12, 13, 14]
    summaries = [_summary(s, rng) for s in seeds]
    tables = []
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1]):
        agg = Aggregator(seeds)
        for i in order:
            agg.add(i, summaries[i])
        tables.append((agg.documents_quantiles(), agg.outputs_quantiles(), agg.replications()))
    for a, b in zip(*tables, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    dq = tables[0][0]
    _check_bands(dq)
    # national = simulated / scale, and p50 of 5 values is their median
    cell = np.array([s.documents[1, 0, 0, 0] for s in summaries]) / 0.5
    row = dq[(dq["month"] == "2023-02") & (dq["sector"] == "gp") & (dq["channel"] == "dmp") & (dq["outcome"] == "accepted")]
    assert row["p50"].item() == np.median(cell) and row["n"].item() == 5
