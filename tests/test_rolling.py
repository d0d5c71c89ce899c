"""Rolling-origin scoring and the structural discrepancy: the weighted interval score on known
cases, the 12-month linear trend, horizons, the discrepancy's growth with the horizon, the
variance decomposition, and the command's bad inputs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.engine.discrepancy import (
    decompose,
    estimate,
    paths,
    read_discrepancy,
    variance_at,
    write_discrepancy,
)
from simulator.studies.backtest import naive_forecast, score
from simulator.studies.rolling import (
    bucket,
    by_horizon,
    horizon,
    score_origin,
    verdict,
    wis,
    with_discrepancy,
)


def _rows(records: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(records, columns=["date", "metric", "sector", "value", "bound"])
    df["unit"] = ""
    return df


# -- the weighted interval score ----------------------------------------------------------------
def test_wis_of_a_point_forecast_is_its_absolute_error():
    assert wis(np.full(50, 12.0), 10.0) == pytest.approx(2.0)
    assert wis(np.full(50, 10.0), 10.0) == pytest.approx(0.0)


def test_wis_of_a_normal_forecast_matches_its_closed_form():
    from scipy.stats import norm

    x = np.random.default_rng(1).standard_normal(40_000)
    alphas = [0.02, 0.05] + [k / 10 for k in range(1, 10)]
    # at its median, each interval scores its width 2·z(1 − α/2), weighted α/2 (Bracher et al. 2021, eq. 2)
    expected = sum(a * norm.ppf(1 - a / 2) for a in alphas) / (len(alphas) + 0.5)
    assert wis(x, 0.0) == pytest.approx(expected, rel=0.03)
    assert wis(x, 0.0) == pytest.approx(0.2337, rel=0.12)  # close to the CRPS of N(0, 1) at its median


def test_wis_rewards_a_band_that_holds_the_observation():
    y = 10.0
    wide = np.linspace(8, 12, 101)
    narrow_off = np.linspace(13, 13.5, 101)
    assert wis(wide, y) < wis(narrow_off, y)
    assert wis(wide, y) < abs(13.25 - y)  # better than a point at the narrow band's centre


# -- naive forecasts and horizons --------------------------------------------------------------
def test_linear_trend_extends_the_line_of_the_last_twelve_months():
    before = _rows([("2022-06", "documents_per_month", "all", 1e6, "point"),   # outside the 12 months: ignored
                    ("2023-01", "documents_per_month", "all", 10e6, "point"),
                    ("2023-07", "documents_per_month", "all", 13e6, "point"),
                    ("2023-12", "documents_per_month", "all", 15.5e6, "point")])
    row = _rows([("2024-06", "documents_per_month", "all", 1.0, "point")]).iloc[0]
    assert naive_forecast(before, row, "trend") == pytest.approx(15.5e6 + 6 * 0.5e6)
    year = _rows([("2024", "documents_per_year", "all", 1.0, "point")]).iloc[0]
    assert naive_forecast(before, year, "trend") == pytest.approx(sum(15.5e6 + k * 0.5e6 for k in range(1, 13)))


def test_horizons_count_months_to_the_end_of_the_row():
    o = dt.date(2023, 12, 31)
    assert horizon(o, "2024-03") == 3 and bucket(3) == "≤ 3"
    assert horizon(o, "2024") == 12 and bucket(12) == "7–12"
    assert horizon(o, "2025-05") == 17 and bucket(17) == "13–18"
    assert bucket(19) == "> 18" and bucket(5) == "4–6"


def test_relative_wis_by_horizon_and_the_verdict():
    before = _rows([("2023-06", "documents_per_month", "all", 10e6, "point"),
                    ("2023-12", "documents_per_month", "all", 12e6, "point")])
    after = _rows([("2024-02", "documents_per_month", "all", 14e6, "point"),
                   ("2024-06", "documents_per_month", "all", 16e6, "point"),
                   ("2024-10", "documents_per_month", "all", 20e6, "lower")])
    sims = np.column_stack([np.linspace(13e6, 15e6, 41), np.linspace(15e6, 17e6, 41), np.linspace(18e6, 22e6, 41)])
    origin = dt.date(2023, 12, 31)
    tab = score_origin(score(before, after, sims, [""] * 3), sims, origin)
    assert tab["horizon_class"].tolist() == ["≤ 3", "4–6", "7–12"]
    assert np.isnan(tab.loc[2, "wis"])  # a bound has no interval score
    assert tab.loc[0, "wis_level"] == pytest.approx(2 / 14)  # the last level, 12M, against 14M
    table = by_horizon(tab)
    first = table[table["horizon"] == "≤ 3"].iloc[0]
    assert first["relative_wis_level"] < 1 and first["coverage"] == 1.0
    v = verdict(table, [origin])
    assert v["line"].startswith("rolling backtest, origins 2023-12-31: 3 scored rows") and v["met"]["coverage"]


# -- the structural discrepancy -------------------------------------------------------------------
def _predictive(residuals: dict[str, float], sector: str = "all") -> pd.DataFrame:
    rows = [{"date": d, "metric": "documents_per_month", "sector": sector, "bound": "point",
             "observed": 10e6 * np.exp(r), "p50": 10e6} for d, r in residuals.items()]
    return pd.DataFrame(rows)


def test_discrepancy_level_and_drift_come_from_the_residuals():
    flat = estimate(_predictive({"2023-01": 0.1, "2023-06": -0.1, "2023-12": 0.1, "2024-06": -0.1}))
    row = flat[flat["group"] == "all"].iloc[0]
    assert row["level_sd"] == pytest.approx(0.1) and row["drift_sd"] < 0.02  # no drift in a flat ±10%
    drifting = estimate(_predictive({"2023-01": 0.0, "2023-07": 0.1, "2024-01": 0.2, "2024-07": 0.3, "2025-01": 0.4}))
    assert drifting[drifting["group"] == "all"].iloc[0]["drift_sd"] > 0.02
    few = estimate(pd.concat([_predictive({"2023-01": 0.0, "2024-01": 0.2, "2025-01": 0.4}),
                              _predictive({"2024-01": 0.5}, "gp")]))
    assert few[few["group"] == "gp"].iloc[0]["estimated_from"].startswith("pooled")


def test_the_pooled_drift_comes_from_pairs_within_a_sector_not_from_the_sectors_offsets():
    # two sectors, each flat but far apart (+0.5 and -0.5): their offsets are a level, not a drift
    offsets = pd.concat([_predictive({"2023-01": 0.5, "2023-07": 0.52, "2024-01": 0.5, "2024-07": 0.52}, "biology"),
                         _predictive({"2023-04": -0.5, "2023-10": -0.48, "2024-04": -0.5, "2025-01": -0.48}, "hospital")])
    pooled = estimate(offsets).set_index("group").loc["pooled"]
    assert pooled["drift_sd"] < 0.01 and pooled["level_sd"] > 0.45
    # two sectors whose residuals drift, each around its own mean: the pooled drift sees it
    drifting = pd.concat([_predictive({"2023-01": 0.3, "2023-07": 0.4, "2024-01": 0.5, "2024-07": 0.6}, "biology"),
                          _predictive({"2023-04": -0.6, "2023-10": -0.5, "2024-04": -0.4, "2025-01": -0.3}, "hospital")])
    assert estimate(drifting).set_index("group").loc["pooled", "drift_sd"] > 0.02


def test_each_shipped_posterior_has_the_discrepancy_estimated_with_it():
    """A recalibration that ships a new posterior must ship its discrepancy (posterior.write_outputs
    writes discrepancy.csv beside posterior.csv; copy it as <name>.discrepancy.csv)."""
    from simulator.engine.commented_csv import read_commented_csv
    from simulator.engine.discrepancy import for_posterior, read_discrepancy

    posteriors = sorted((Path(__file__).parents[1] / "scenarios").glob("*.posterior.csv"))
    assert posteriors
    for post in posteriors:
        prov = read_commented_csv(post, "posterior")[1]
        disc = for_posterior(post)
        assert disc is not None, f"{post.name}: no {post.name.replace('.posterior.csv', '.discrepancy.csv')} beside it"
        dprov = read_discrepancy(post.with_name(disc["file"]))[1]
        assert dprov["posterior"] == post.name
        for key in ("data_cutoff", "date", "commit"):
            assert dprov.get(key) == prov.get(key), f"{disc['file']}: {key} {dprov.get(key)!r}, its posterior's {prov.get(key)!r}"


def test_the_shipped_discrepancy_widens_every_sectors_band_with_the_horizon():
    from simulator.engine.discrepancy import read_discrepancy

    table, prov = read_discrepancy(Path(__file__).parents[1] / "scenarios" / "baseline.discrepancy.csv")
    assert prov["data_cutoff"] and prov["posterior"]  # provenance lines kept
    for group in [*table["group"], "a sector it does not list"]:
        v = [variance_at(table, group, h) for h in (3, 6, 12, 18)]
        assert all(a < b for a, b in zip(v, v[1:], strict=False)), (group, v)  # strictly wider at each horizon


def test_discrepancy_paths_widen_with_the_horizon_and_keep_the_median():
    table = pd.DataFrame([{"group": "pooled", "level_sd": 0.1, "drift_sd": 0.05}])
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    d = paths(table, ["all"], months, dt.date(2023, 12, 31), 1500, seed=5)
    v3, v18 = d[:, 2, 0].var(), d[:, 17, 0].var()
    assert v3 == pytest.approx(variance_at(table, "all", 3), rel=0.15)
    assert v18 == pytest.approx(variance_at(table, "all", 18), rel=0.15) and v18 > 2 * v3
    assert abs(np.median(d[:, 17, 0])) < 0.02
    again = paths(table, ["all"], months, dt.date(2023, 12, 31), 10, seed=5)
    assert np.array_equal(again, d[:10])  # replication i draws the same path whatever n


def test_discrepancy_paths_leave_the_observed_months_alone_and_start_at_the_cut_off():
    table = pd.DataFrame([{"group": "pooled", "level_sd": 0.2, "drift_sd": 0.05}])
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    cutoff = dt.date(2024, 6, 30)
    d = paths(table, ["all", "gp"], months, cutoff, 800, seed=2)
    past = [i for i, m in enumerate(months) if m <= "2024-06"]
    assert np.all(d[:, past, :] == 0.0)  # months at or before the cut-off are observed: no discrepancy
    assert variance_at(table, "all", 0) == 0.0 and variance_at(table, "all", -3) == 0.0
    v1, v12 = d[:, months.index("2024-07"), 0].var(), d[:, months.index("2025-06"), 0].var()
    assert v1 == pytest.approx(variance_at(table, "all", 1), rel=0.15)  # the level term from the first month after
    assert v12 == pytest.approx(variance_at(table, "all", 12), rel=0.15) and v12 > v1  # then it widens


def test_discrepancy_scales_volume_rows_only():
    rows = _rows([("2024-06", "documents_per_month", "all", 1.0, "point"),
                  ("2024-06", "mes_profiles_activated", "all", 1.0, "point")])
    values = np.full((50, 2), 100.0)
    table = pd.DataFrame([{"group": "pooled", "level_sd": 0.2, "drift_sd": 0.05}])
    out = with_discrepancy(values, rows, table, dt.date(2023, 12, 31), seed=1)
    assert np.all(out[:, 1] == 100.0) and out[:, 0].std() > 5
    assert with_discrepancy(values, rows, None, dt.date(2023, 12, 31), seed=1) is values


def test_variance_decomposition_recovers_known_shares():
    rng = np.random.default_rng(2)
    draws = np.repeat(np.arange(2000), 2)
    x = rng.normal(0, 0.2, 2000)[draws] + rng.normal(0, 0.1, 4000)  # parameter var 0.04, seed var 0.01
    s = decompose(x, draws, 0.05)
    assert s["parameter"] == pytest.approx(0.4, abs=0.04)
    assert s["seed"] == pytest.approx(0.1, abs=0.02)
    assert s["discrepancy"] == pytest.approx(0.5, abs=0.04)
    assert sum(s.values()) == pytest.approx(1.0)


def test_discrepancy_file_round_trip_and_bad_file(tmp_path):
    table = estimate(_predictive({"2023-01": 0.1, "2023-06": -0.1, "2023-12": 0.1}))
    path = write_discrepancy(tmp_path / "d.csv", table, {"data_cutoff": "2023-12-31"})
    back, prov = read_discrepancy(path)
    assert prov["data_cutoff"] == "2023-12-31" and back["level_sd"].tolist() == pytest.approx(table["level_sd"].tolist(), rel=1e-5)
    (tmp_path / "bad.csv").write_text("group,level_sd\nall,0.1\n")
    with pytest.raises(UsageError, match="drift_sd"):
        read_discrepancy(tmp_path / "bad.csv")


# -- the command ------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (["--origins", "2023-12-31,2030-01-31"], "nothing to score"),
    (["--origins", "2023-12-31,2024-06-30", "--posterior", "x.csv"], "serve one cut-off"),
    (["--origins", "2023-13-01"], "must be dates"),
])
def test_rolling_backtest_bad_inputs_exit_2(extra, message, tmp_path, capsys, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    code = main(["backtest", "scenarios/calibration.toml", "--out", str(tmp_path / "out"), "--quiet", *extra]) \
        if "must be dates" not in message else None
    if code is None:
        with pytest.raises(SystemExit) as exc:
            main(["backtest", "scenarios/calibration.toml", "--out", str(tmp_path / "out"), "--quiet", *extra])
        code = exc.value.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_target_month_band_for_the_page():
    from simulator.engine.outputs import month_to_decimal
    from simulator.studies.bands import target_month_band

    never = month_to_decimal("2027-12") + 1 / 12
    reached = np.array([month_to_decimal("2026-03")] * 10 + [month_to_decimal("2025-10")] + [never] * 9)
    band = target_month_band(reached, "2027-12")
    assert (band.median, band.p5, band.p95) == ("2026-03", "2025-10", None)
    assert band.share == pytest.approx(11 / 20) and band.replications == 20
    assert band.text.startswith("March 2026 (p5 Oct 2025 – p95 not by 2027)") and "55%" in band.text


def test_the_ensemble_last_twelve_months_carry_the_discrepancy_per_sector():
    from simulator.engine.discrepancy import model_and_discrepancy
    from simulator.engine.ensemble import CHANNELS, OUTCOME_NAMES, Aggregator

    n, months, sectors = 300, [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)], ["gp", "biology"]
    agg = Aggregator(list(range(n)))
    agg.layout = {"months": months, "sectors": sectors, "profile_states": [], "scale": 1.0}
    agg.arrays["documents"] = np.full((n, len(months), len(sectors), len(CHANNELS), len(OUTCOME_NAMES)), 1000, dtype=np.int64)
    agg.filled[:] = True
    table = pd.DataFrame([{"group": "pooled", "level_sd": 0.1, "drift_sd": 0.05}])
    factors = np.exp(paths(table, sectors, months, dt.date(2025, 5, 31), n, seed=3))
    plain, carried = agg.last_12_months(), agg.last_12_months(factors)
    dmp = CHANNELS.index("dmp")
    assert np.ptp(plain[:, 0, dmp]) == 0 and np.ptp(carried[:, 0, dmp]) > 0  # the band comes from the discrepancy
    assert np.median(carried[:, 0, dmp]) == pytest.approx(plain[0, 0, dmp], rel=0.05)  # the median stays
    ratio = carried[:, :, :] / plain[:, :, :]
    assert np.allclose(ratio[:, 0, 0], ratio[:, 0, 1])  # every channel of a sector scaled alike
    shares = model_and_discrepancy(plain[:, :, dmp].sum(axis=1) + np.random.default_rng(1).normal(0, 1, n),
                                   carried[:, :, dmp].sum(axis=1))
    assert shares["discrepancy"] > 0.95


def test_calibration_outputs_hold_the_discrepancy_beside_the_posterior(tmp_path):
    from simulator.studies.calibration import FitParameter
    from simulator.studies.posterior import Posterior, write_outputs

    pred = _predictive({"2023-01": 0.1, "2023-06": -0.1, "2023-12": 0.1, "2024-06": -0.2})
    pred["unit"] = ""
    par = FitParameter("profiles.activation_rate", 0.001, 0.01, 0.004, "float")
    post = Posterior([par], pd.DataFrame({"profiles.activation_rate": [0.003, 0.005]}), predictive=pred,
                     provenance={"data_cutoff": "2024-06-30", "method": "test"})
    files = write_outputs(post, tmp_path)
    assert "discrepancy.csv" in files
    table, prov = read_discrepancy(tmp_path / "discrepancy.csv")
    assert prov["data_cutoff"] == "2024-06-30"
    assert table[table["group"] == "all"]["level_sd"].iloc[0] == pytest.approx(np.sqrt((0.01 * 3 + 0.04) / 4), rel=1e-4)


def _small_calibration(repo_root, folder, keep: int = 2, scale: float = 0.001, rejection_draws: int = 20_000):
    """scenarios/calibration.toml at ``scale`` with its first ``keep`` parameters, a 20-particle,
    2-generation ABC (``rejection_draws`` prior draws on the surrogate) and the base scenario named
    by its absolute path (written in ``folder``)."""
    text = (repo_root / "scenarios" / "calibration.toml").read_text(encoding="utf-8")
    head, _, params = text.partition("\n[parameters]\n")
    base = (repo_root / "scenarios" / "baseline.toml").as_posix()
    for pattern, value in ((r"^scenario = .*$", f'scenario = "{base}"'), (r"^scale = .*$", f"scale = {scale}"),
                           (r"^replications = .*$", "replications = 1"), (r"^population = .*$", "population = 20"),
                           (r"^generations = .*$", "generations = 2"), (r"^draws = .*$", "draws = 20"),
                           (r"^rejection_draws = .*$", f"rejection_draws = {rejection_draws}")):
        head, n = re.subn(pattern, value, head, count=1, flags=re.M)
        assert n == 1, f"calibration.toml has no line {pattern}"
    kept = [line for line in params.splitlines() if line.startswith('"')][:keep]
    path = folder / "cal_small.toml"
    path.write_text(head + "\n[parameters]\n" + "\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_origins_may_be_months_and_bad_ones_are_one_message(tmp_path, capsys):
    from simulator.cli.commands.backtest import _dates

    assert _dates("2024-12,2023-06, 2024-02") == [dt.date(2023, 6, 30), dt.date(2024, 2, 29), dt.date(2024, 12, 31)]
    assert _dates("2023-12-31,2023-12") == [dt.date(2023, 12, 31)]
    with pytest.raises(SystemExit) as exc:
        main(["backtest", str(tmp_path / "c.toml"), "--origins", "2023-13"])
    assert exc.value.code == 2 and "months YYYY-MM" in capsys.readouterr().err


#: the first and the last origin of the documented command (docs/calibration.md): the first refits the
#: most values known only later (24 parameters) and scores every horizon class, the last the fewest rows
ORIGINS = ("2023-06-30", "2024-12-31")


@pytest.fixture(scope="module")
def rolling_run(tmp_path_factory, repo_root):
    """`segur backtest CAL --origins 2023-06,2024-12` at a reduced size, run once for the tests
    below: ``calibration.toml`` with its first 2 parameters (the blind refit adds those dated
    later: 24 at the first origin, so 28 design runs), scale 0.001, the 20 nearest of 20,000
    surrogate draws, 4 projection runs an origin, 2 processes. (output folder, stdout, wall s)"""
    import contextlib
    import io
    import time

    folder = tmp_path_factory.mktemp("rolling")
    cal = _small_calibration(repo_root, folder)
    out = folder / "out"
    t0 = time.perf_counter()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = main(["backtest", str(cal), "--origins", "2023-06,2024-12", "--design-runs", "28",
                     "--replications", "4", "--workers", "2", "--out", str(out)])
    assert code == 0
    return out, text.getvalue(), time.perf_counter() - t0


@pytest.mark.slow
def test_rolling_origins_run_end_to_end_at_a_reduced_size(rolling_run):
    """The rolling backtest end to end (``rolling_run``): the table by horizon (3, 6, 12, 18 and
    more months), relative WIS against both naive forecasts, coverage, one figure, and the runs
    stop at the last scored row."""
    out, text, wall = rolling_run
    head = next(line for line in text.splitlines() if "rel. WIS level" in line)
    assert "coverage" in head and "rel. WIS trend" in head
    table = pd.read_csv(out / "rolling.csv")
    assert {"≤ 3", "4–6", "7–12", "13–18", "> 18", "all"} <= set(table["horizon"])
    assert table["relative_wis_level"].gt(0).all() and table["relative_wis_trend"].gt(0).all()
    assert table["coverage"].between(0, 1).all()
    assert (out / "rolling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "rolling.png").stat().st_size > 10_000
    rows = pd.read_csv(out / "rolling-rows.csv")
    assert set(rows["origin"]) == set(ORIGINS)
    assert (rows["horizon"] >= 1).all()
    assert set(rows.loc[rows["origin"] == "2024-12-31", "horizon"]) <= set(range(1, 6))  # to May 2025 only
    for origin in ORIGINS:
        proj = pd.read_csv(out / f"origin-{origin}" / "projection.csv")
        assert proj["date"].astype(str).max() <= "2025-05-31"  # the runs stop at the last scored row
    assert "rolling backtest, origins 2023-06-30, 2024-12-31" in text
    print(f"two origins at the reduced size: {wall:.0f} s")  # reported by -s; a budget is in docs/calibration.md


@pytest.mark.slow
def test_each_rolling_origin_refits_blind_with_its_own_cut_off(rolling_run):
    """Each origin of ``rolling_run`` says what was added after it, writes a discrepancy estimated
    at its cut-off, and its design fits the values known only later from their earlier, wide priors."""
    out, text, _ = rolling_run
    for origin in ORIGINS:
        assert f"structure added after {origin}:" in text
        prov = (out / f"origin-{origin}" / "calibration" / "discrepancy.csv").read_text(encoding="utf-8")
        assert f"# data_cutoff: {origin}" in prov
        design = pd.read_csv(out / f"origin-{origin}" / "calibration" / "design.csv")
        assert "profiles.campaigns.1.activation_factor" in design.columns  # fitted from its earlier, wide prior


def test_the_summary_splits_parameters_from_seeds_when_draws_repeat():
    from simulator.engine.ensemble import (
        CHANNELS,
        OUTCOME_NAMES,
        Aggregator,
        band_parts,
        band_parts_line,
    )

    n, months, sectors = 400, [f"2026-{m:02d}" for m in range(1, 13)], ["gp"]
    rng = np.random.default_rng(5)
    param = np.exp(rng.normal(0, 0.2, 100))[np.arange(n) % 100]  # 100 draws, each run by 4 seeds
    seed = np.exp(rng.normal(0, 0.1, n))
    agg = Aggregator(list(range(n)))
    agg.layout = {"months": months, "sectors": sectors, "profile_states": [], "scale": 1.0}
    docs = np.zeros((n, 12, 1, len(CHANNELS), len(OUTCOME_NAMES)), dtype=np.int64)
    docs[:, :, 0, CHANNELS.index("dmp"), OUTCOME_NAMES.index("accepted")] = (1e6 * param * seed)[:, None].astype(np.int64)
    agg.arrays["documents"] = docs
    agg.filled[:] = True
    table = pd.DataFrame([{"group": "pooled", "level_sd": 0.2, "drift_sd": 0.0}])
    factors = np.exp(paths(table, sectors, months, dt.date(2025, 12, 31), n, seed=1))
    parts = band_parts(agg, agg.last_12_months(factors), 100)
    assert parts["split"] == "draws repeat"
    assert parts["parameter"] + parts["seed"] + parts["discrepancy"] == pytest.approx(1.0, abs=0.05)
    line = band_parts_line(parts)
    shares = [int(x) for x in re.findall(r"(\d+)%", line)]
    assert line.startswith("Band of all DMP documents") and "seeds" in line and len(shares) == 3
    assert 30 <= shares[0] <= 60 and 5 <= shares[1] <= 20 and 30 <= shares[2] <= 60  # 0.04 : 0.01 : 0.04
    once = band_parts(agg, agg.last_12_months(factors), 1000)
    assert once["split"] == "together" and once["parameter"] is None and "each draw ran once" in band_parts_line(once)
    seeds = band_parts(agg, agg.last_12_months(factors), None)  # no draws: the model's part is all seeds
    assert seeds["split"] == "seeds only" and seeds["parameter"] == 0.0
    assert seeds["seed"] == pytest.approx(once["parameters_and_seeds"]) and "not varied" in band_parts_line(seeds)


def test_a_target_mixes_its_sectors_factors_by_their_documents():
    from simulator.engine.discrepancy import target_monthly_with

    counts = np.full((2, 3), 100.0)
    dmp = np.zeros((2, 3, 3))
    dmp[:, :, 0], dmp[:, :, 1] = 30, 10  # sector 2 sends nothing
    factors = np.ones((2, 3, 3))
    factors[:, :, 0], factors[:, :, 1], factors[:, :, 2] = 2.0, 0.5, 100.0
    got = target_monthly_with(counts, dmp, factors, [0, 1, 2])
    assert np.allclose(got, 100 * (30 * 2.0 + 10 * 0.5) / 40)  # weighted by documents; sector 2 weighs nothing
    assert target_monthly_with(counts, dmp, factors, []) is counts
