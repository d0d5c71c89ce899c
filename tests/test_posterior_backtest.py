"""Posterior (ABC-SMC through pyabc, the calibration's own path) and backtest scoring.

A toy model with a known answer has its posterior recovered within its band; the scorer
scores synthetic rows correctly (inside/outside the band, one-sided lower bounds, naive
forecasts); bad inputs to `segur backtest` give one line and exit 2.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scenarios.observed import COLUMNS, load_observed
from simulator.cli import main
from simulator.studies.backtest import check_observed, inside, naive_forecast, score, split, verdict
from simulator.studies.observed_match import TARGET_METRICS
from simulator.studies.posterior import PosteriorSettings, abc_smc, row_end, weighted_distance
from simulator.studies.posterior_file import apply_draw, read_posterior, write_posterior

CALIBRATION = "scenarios/calibration.toml"


# -- the posterior ---------------------------------------------------------------------------
def _toy(par: dict[str, float]) -> dict[str, float]:
    """y_t = a·t + b with 3% multiplicative noise, observed at t = 1..6."""
    t = np.arange(1, 7)
    y = (par["a"] * t + par["b"]) * (1 + 0.03 * np.random.standard_normal(t.size))
    return {f"y{i}": float(v) for i, v in enumerate(y)}


@pytest.mark.slow
def test_toy_posterior_recovers_the_true_parameters_within_its_band():
    truth = {"a": 2.0, "b": 5.0}
    t = np.arange(1, 7)
    x0 = {f"y{i}": float(truth["a"] * ti + truth["b"]) for i, ti in enumerate(t)}
    settings = PosteriorSettings(population=60, generations=5, max_simulations=3000, max_minutes=2, draws=400)
    run = abc_smc(_toy, [("a", 0.0, 6.0), ("b", 0.0, 15.0)], x0, dict.fromkeys(x0, "point"), dict.fromkeys(x0, 1.0),
                  settings, seed=3)
    assert len(run.diagnostics) >= 3
    eps = run.diagnostics["epsilon"].to_numpy()
    assert (np.diff(eps) < 0).all()  # the tolerance shrinks every generation
    assert (run.diagnostics["ess"] > 1).all() and (run.diagnostics["acceptance_rate"] <= 1).all()
    for name, true in truth.items():
        lo, hi = np.quantile(run.draws[name], [0.05, 0.95])
        assert lo <= true <= hi, (name, lo, hi)
        assert hi - lo < {"a": 6.0, "b": 15.0}[name] / 2  # narrower than half the prior: it learnt something


def test_distance_is_one_sided_for_bounds():
    obs = {"p": 100.0, "lo": 100.0, "hi": 100.0}
    kinds = {"p": "point", "lo": "lower", "hi": "upper"}
    w = dict.fromkeys(obs, 1.0)
    assert weighted_distance({"p": 100, "lo": 105, "hi": 50}, obs, kinds, w) == 0.0
    # "more than 100" reads as 100 to 110 (issue 24): 150 counts its excess beyond 110
    assert weighted_distance({"p": 100, "lo": 150, "hi": 50}, obs, kinds, w) == pytest.approx(np.sqrt(0.4 ** 2 / 3))
    assert weighted_distance({"p": 100, "lo": 50, "hi": 100}, obs, kinds, w) == pytest.approx(np.sqrt(0.25 / 3))
    assert weighted_distance({"p": 110, "lo": 100, "hi": 100}, obs, kinds, w) == pytest.approx(np.sqrt(0.01 / 3))


def test_posterior_file_round_trip_and_draws_apply_to_the_scenario(tmp_path):
    draws = pd.DataFrame({"profiles.activation_rate": [0.004, 0.005], "run.end": [dt.date(2027, 6, 30).toordinal()] * 2})
    path = write_posterior(tmp_path / "x.posterior.csv", draws, {"run.end": "date"},
                           {"data_cutoff": "2023-12-31", "method": "test"})
    back = read_posterior(path)
    assert back.provenance["data_cutoff"] == "2023-12-31" and len(back) == 2
    assert back.draw(3)["profiles.activation_rate"] == pytest.approx(0.005)  # row i mod rows
    assert back.draw(0)["run.end"] == dt.date(2027, 6, 30)
    data = apply_draw({"profiles": {"activation_rate": 0.0035}, "run": {"end": dt.date(2027, 12, 31)}}, back.draw(0), path)
    assert data["profiles"]["activation_rate"] == pytest.approx(0.004) and data["run"]["end"] == dt.date(2027, 6, 30)


# -- the backtest scorer -----------------------------------------------------------------------
def _rows(records: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(records, columns=["date", "metric", "sector", "value", "bound"])
    df["unit"] = ""
    return df


def test_scorer_inside_outside_and_lower_bounds():
    before = _rows([("2023-06", "documents_per_month", "all", 10e6, "point"),
                    ("2023-12", "documents_per_month", "all", 12e6, "point")])
    after = _rows([("2024-06", "documents_per_month", "all", 14e6, "point"),    # inside 13–15
                   ("2024-07", "documents_per_month", "all", 20e6, "point"),    # outside, above
                   ("2024-08", "documents_per_month", "all", 14.5e6, "lower"),  # floor under p95: contained
                   ("2024-09", "documents_per_month", "all", 16e6, "lower"),    # floor above p95: missed
                   ("2024-10", "documents_per_month", "all", 13e6, "lower")])   # median within 10% above a floor: no error
    sims = np.linspace(13e6, 15e6, 101)
    values = np.tile(sims[:, None], (1, len(after)))
    tab = score(before, after, values, [""] * len(after))
    assert tab["in_band"].tolist() == [True, False, True, False, True]
    assert tab.loc[0, "error"] == pytest.approx(0.0)
    assert tab.loc[1, "error"] == pytest.approx((14e6 - 20e6) / 20e6)
    assert tab.loc[2, "error"] == pytest.approx(min((14e6 - 14.5e6) / 14.5e6, 0))
    assert tab.loc[4, "error"] == 0.0  # above a lower bound, within its 10% margin ("more than N")
    # naive forecasts: the last level (12M) carried forward; the growth 10M → 12M over 6 months compounded
    assert tab.loc[0, "naive_level"] == pytest.approx(12e6)
    assert tab.loc[0, "naive_growth"] == pytest.approx(12e6 * (1.2 ** (6 / 6)))
    assert tab.loc[1, "naive_growth"] == pytest.approx(12e6 * 1.2 ** (7 / 6))
    v = verdict(tab, dt.date(2023, 12, 31))
    assert v["coverage"] == pytest.approx(3 / 5) and not v["met"]["coverage"]
    assert v["line"].startswith("backtest cut-off 2023-12-31: 5 later rows scored")


def test_naive_forecasts_convert_between_volume_metrics():
    before = _rows([("2023-04", "documents_annual_rate", "all", 120e6, "point"),
                    ("2023-10", "documents_per_month", "all", 11e6, "point")])
    year = _rows([("2024", "documents_per_year", "all", 1.0, "point")]).iloc[0]
    assert naive_forecast(before, year, "level") == pytest.approx(12 * 11e6)  # 11M a month for 12 months
    g = (11e6 / 10e6) ** (1 / 6)
    expect = sum(11e6 * g ** ((2024 * 12 + k) - (2023 * 12 + 9)) for k in range(12))
    assert naive_forecast(before, year, "growth") == pytest.approx(expect)
    gp = _rows([("2024-01", "documents_per_month", "gp", 1.0, "point")]).iloc[0]
    assert np.isnan(naive_forecast(before, gp, "level"))  # no earlier gp row: not defined


def test_band_containment_rules():
    assert inside(1, 3, 2, "point") and not inside(1, 3, 4, "point")
    assert inside(1, 3, 0.5, "lower") and not inside(1, 3, 3.5, "lower")
    assert inside(1, 3, 5, "upper") and not inside(1, 3, 0.5, "upper")


def test_shipped_observed_file_stops_in_may_2025_and_every_metric_is_known(repo_root):
    obs = load_observed()
    targets = obs["metric"].isin(TARGET_METRICS)  # programme targets: read against a run, never scored
    assert max(row_end(d) for d in obs.loc[~targets, "date"]) <= dt.date(2025, 5, 31)
    check_observed(obs, repo_root / "scenarios/data/observed.csv")  # raises on an unknown metric
    before, after = split(obs, dt.date(2023, 12, 31), repo_root / "x.csv")
    assert len(before) + len(after) == len(obs) - targets.sum() and len(after) > 0
    assert not set(after["metric"]) & TARGET_METRICS


def test_projection_runs_stop_at_the_last_scored_row_not_at_the_2027_target(repo_root):
    from simulator.studies.backtest import projection_end, projection_scenarios
    from simulator.studies.blind import blind_spec
    from simulator.studies.calibration import load_spec
    from simulator.studies.posterior_file import PosteriorDraws

    obs = load_observed()
    targets = obs["metric"].isin(TARGET_METRICS)
    assert max(row_end(d) for d in obs.loc[targets, "date"]).year >= 2027  # the shipped file holds the 2027 target
    origin = dt.date(2023, 12, 31)
    spec, _ = blind_spec(load_spec(repo_root / CALIBRATION), origin)
    horizon = spec.base_data["run"]["end"]
    assert horizon.year >= 2027  # the scenario itself runs to 2027
    _, after = split(obs, origin, repo_root / "x.csv")
    end = projection_end(after, horizon)
    assert end == max(row_end(d) for d in obs.loc[~targets, "date"]) < horizon  # the last scored row's end
    draws = PosteriorDraws(repo_root / "x.posterior.csv", [], [{}])
    runs = projection_scenarios(spec, draws, end, 3, seeds_per_draw=2)
    assert len(runs) == 3 and all(sc.run.end == end for sc in runs)
    assert all(not isinstance(iv.date, dt.date) or iv.date <= end for sc in runs for iv in sc.interventions)
    # a horizon before the last row wins (a scenario ending early is never run past its end)
    assert projection_end(after, dt.date(2024, 6, 30)) == dt.date(2024, 6, 30)


# -- bad inputs: one line, exit 2 ------------------------------------------------------------------
def _write(path, rows: list[dict], columns=COLUMNS) -> str:
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return str(path)


GOOD = {"date": "2023-06", "metric": "documents_per_month", "sector": "all", "value": 1e7,
        "unit": "documents/month", "source": "test", "note": ""}


@pytest.mark.parametrize("case", ["cutoff_after_last", "missing_column", "unknown_metric", "unreadable", "posterior_after_cutoff"])
def test_backtest_bad_inputs_give_one_line_and_exit_2(case, tmp_path, capsys, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    args = ["backtest", CALIBRATION, "--cutoff", "2023-12-31", "--out", str(tmp_path / "out"), "--quiet"]
    if case == "cutoff_after_last":
        args[3] = "2025-06-30"
    elif case == "missing_column":
        args += ["--observed", _write(tmp_path / "o.csv", [{k: v for k, v in GOOD.items() if k != "unit"}],
                                      [c for c in COLUMNS if c != "unit"])]
    elif case == "unknown_metric":
        args += ["--observed", _write(tmp_path / "o.csv", [GOOD, {**GOOD, "date": "2024-06", "metric": "documents_sent_by_owls"}])]
    elif case == "unreadable":
        (tmp_path / "o.csv").write_bytes(b"\xff\xfe\x00bad")
        args += ["--observed", str(tmp_path / "o.csv")]
    else:
        (tmp_path / "p.csv").write_text("# data_cutoff: 2025-05-31\nprofiles.activation_rate\n0.004\n")
        args += ["--posterior", str(tmp_path / "p.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("segur: error:")
    assert {"cutoff_after_last": "nothing to score", "missing_column": "missing column", "unknown_metric": "documents_sent_by_owls",
            "unreadable": "cannot be read", "posterior_after_cutoff": "seen rows"}[case] in err[0]
    assert not (tmp_path / "out").exists()  # nothing half written


@pytest.mark.slow
def test_calibration_path_with_a_surrogate_recovers_known_parameters(tmp_path, repo_root):
    """The real calibration path (load_spec → restrict → run_abc with a design): a synthetic design
    whose rows are a known log-linear function of the parameters, observed rows at known values."""
    from simulator.studies.calibration import load_spec
    from simulator.studies.posterior import restrict, run_abc
    from simulator.studies.surrogate import row_keys

    spec = load_spec(repo_root / CALIBRATION)
    obs = load_observed()
    spec, rows = restrict(spec, obs, dt.date(2023, 12, 31))
    spec = dataclasses.replace(spec, parameters=spec.parameters[:7])  # seven of the priors: enough, and fast
    keys = row_keys(rows)
    rng = np.random.default_rng(5)
    k = len(spec.parameters)
    slopes = rng.normal(0, 1.0, size=(k, len(keys)))
    lo = np.array([p.low for p in spec.parameters])
    span = np.array([p.high - p.low for p in spec.parameters])
    u_true = np.full(k, 0.3)
    n = 40  # design runs
    u = rng.uniform(size=(n, k))
    design = pd.DataFrame(lo + u * span, columns=[p.key for p in spec.parameters])
    base = np.log(rows["value"].to_numpy(dtype=float)) - u_true @ slopes  # the truth reproduces every row
    for j, key in enumerate(keys):
        design[key] = np.exp(base[j] + u @ slopes[:, j] + rng.normal(0, 0.01, size=n))
    settings = PosteriorSettings(population=100, generations=6, max_simulations=20000, max_minutes=2, draws=400)
    post = run_abc(spec, rows, settings, seed=2, design=design)
    assert post.provenance["design_runs"] == n and "surrogate" in post.provenance["method"]
    assert (post.quality["r2"] > 0.9).all()
    truth = lo + u_true * span
    inside = []
    for p, true in zip(spec.parameters, truth, strict=True):
        lo5, hi95 = np.quantile(post.draws[p.key], [0.05, 0.95])
        inside.append(bool(lo5 <= true <= hi95))
    # a 90% band misses a true value one time in ten: ask for 80% of the parameters
    assert sum(inside) >= int(np.ceil(0.8 * k)), [(p.key, ok) for p, ok in zip(spec.parameters, inside, strict=True)]


# -- projections carry the posterior ---------------------------------------------------------------
@pytest.mark.slow
def test_replications_draw_parameters_from_the_posterior_file(tmp_path, capsys):
    """`segur run --replications N` with a posterior file beside the scenario: replication i runs
    draw i; a draw that feeds nothing gives fewer documents than one that feeds a lot."""
    import json

    from tests.support_ensemble import SCALE, write_short_scenario

    path = write_short_scenario(tmp_path)
    (tmp_path / "short.posterior.csv").write_text(
        "# data_cutoff: 2023-12-31\n# method: test\nsectors.biology.intensity_mean,sectors.hospital.intensity_mean\n"
        "0.05,0.05\n0.99,0.99\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", str(path), "--replications", "2", "--scale", SCALE, "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    man = json.loads((out / "manifest.json").read_text())
    assert "short.posterior.csv" in man["ensemble"]["parameters"]
    reps = pd.read_csv(out / "replications.csv")
    low, high = reps["dmp_last12_all"].tolist()
    assert high > 1.5 * low  # draw 0 (intensities 0.05) feeds far less than draw 1 (0.99)
    # --posterior none: seeds only, the scenario's own values in both replications
    code = main(["run", str(path), "--replications", "2", "--scale", SCALE, "--workers", "1", "--out",
                 str(tmp_path / "none"), "--quiet", "--posterior", "none"])
    man = json.loads((tmp_path / "none" / "manifest.json").read_text())
    assert code == 0 and "seeds only" in man["ensemble"]["parameters"]


def test_attainment_band_counts_unreached_replications_as_later():
    from simulator.engine.ensemble import attainment_band
    from simulator.engine.outputs import month_to_decimal

    last = "2027-12"
    never = month_to_decimal(last) + 1 / 12
    reached = np.array([month_to_decimal("2026-03")] * 10 + [month_to_decimal("2025-10")] + [never] * 9)
    text = attainment_band(reached, last)
    assert text.startswith("March 2026 (p5 Oct 2025 – p95 not by 2027)")
    assert "55%" in text


def test_naive_forecasts_skip_rows_set_aside_and_average_like_the_row():
    before = _rows([("2023-09", "mes_activations_per_month", "all", 200e3, "point"),
                    ("2024-01", "mes_activations_per_month", "all", 300e3, "point")])  # a contradiction, set aside
    year = _rows([("2024", "mes_activations_per_month", "all", 1.0, "point")]).iloc[0]
    assert naive_forecast(before, year, "level") == pytest.approx(200e3)  # the set-aside 300k is not the last level
    assert np.isnan(naive_forecast(before, year, "growth"))  # one usable level: no growth
    before = _rows([("2023-06", "mes_activations_per_month", "all", 100e3, "point"),
                    ("2023-12", "mes_activations_per_month", "all", 200e3, "point")])
    h2 = _rows([("2024-12", "mes_activations_per_month", "all", 1.0, "point")]).iloc[0]  # mean of Jul–Dec 2024
    g = 2 ** (1 / 6)
    assert naive_forecast(before, h2, "growth") == pytest.approx(sum(200e3 * g ** (12 - j) for j in range(6)) / 6)
