"""The studies from Python (`simulator.replicate`, `compare`, `sweep`, `sensitivity`, `calibrate`):
each returns an object with to_df(), summary() and plot(), built by the same code as its `segur`
command (the command calls it), and calibration's optional dependency is asked for in one line."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from matplotlib.figure import Figure

import simulator
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.core.streams import replication_seeds
from tests.conftest import REPO
from tests.support_ensemble import SCALE, write_short_scenario

CALIBRATION = REPO / "scenarios" / "calibration.toml"


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"))


def test_every_study_is_reachable_from_the_package():
    for name in ("run", "replicate", "compare", "sweep", "sensitivity", "calibrate"):
        assert callable(getattr(simulator, name)), name
    with pytest.raises(AttributeError):
        simulator.no_such_study  # noqa: B018


@pytest.mark.slow
def test_compare_gives_tables_text_and_a_figure(short_file):
    from simulator.engine.scenario import load_scenario

    more = load_scenario(short_file, {"name": "short_more", "sectors.gp.intensity_mean": 0.5})
    cmp = simulator.compare(short_file, more, scale=float(SCALE), seed=4)
    vol = cmp.to_df()
    assert set(vol["scenario"]) == {"short", "short_more"}
    assert set(cmp.tables()) == {"volumes", "target_dates", "compare_targets", "compare_volumes"}
    text = cmp.summary()
    assert "short_more" in text and "seed 4" in text
    assert isinstance(cmp.plot(), Figure)
    with pytest.raises(UsageError, match="no table 'nope'; tables: volumes"):
        cmp.to_df("nope")
    dmp = vol[(vol["year"] == "2023") & (vol["channel"] == "dmp")].set_index(["scenario", "sector"])["documents"]
    assert dmp[("short_more", "gp")] > 1.05 * dmp[("short", "gp")]  # the lever moves GPs…
    assert dmp[("short_more", "biology")] == pytest.approx(dmp[("short", "biology")], rel=0.05)  # …not labs


def test_a_bad_study_is_one_error_before_anything_runs(short_file, tmp_path):
    with pytest.raises(UsageError, match="scale: must be greater than 0"):
        simulator.sweep(short_file, {"parameters": {"sectors.gp.uptake_q": [0.01]}}, scale=2.0)
    with pytest.raises(UsageError, match=r"<grid>: .*'sectors.gp.uptake_z' is not a parameter"):
        simulator.sweep(short_file, {"parameters": {"sectors.gp.uptake_z": [0.01]}})
    with pytest.raises(UsageError, match="replications: at least 2"):
        simulator.replicate(short_file, 1)
    with pytest.raises(UsageError, match="compare: give at least one scenario"):
        simulator.compare()
    with pytest.raises(UsageError, match="<parameters>: output: required"):
        simulator.sensitivity(short_file, {"parameters": {"sectors.gp.uptake_q": {"min": 0.001, "max": 0.01}}})


@pytest.mark.slow
def test_replicate_sweep_and_sensitivity_objects(short_file):
    ens = simulator.replicate(short_file, 2, scale=float(SCALE), seed=5, workers=2)
    reps = ens.to_df()
    assert list(reps["seed"]) == replication_seeds(5, 2) and (reps["status"] == "ok").all()
    assert "2 replications of seed 5" in ens.summary()
    fig = ens.plot(["gp", "all"])
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 2
    q = ens.to_df("documents_quantiles")
    assert (q["p5"] <= q["p50"]).all() and (q["p50"] <= q["p95"]).all()

    grid = {"replications": 1, "parameters": {"sectors.gp.intensity_mean": [0.05, 0.5]},
            "outputs": [{"name": "dmp_accepted_year", "year": 2023, "sector": "gp"}]}
    sw = simulator.sweep(short_file, grid, scale=float(SCALE), seed=5, workers=2)
    points = sw.to_df()
    gp = points.set_index("sectors.gp.intensity_mean")["dmp_accepted_2023_gp_p50"]
    # ten times the intensity: clearly more GP documents (not twice: the e-prescriptions' DMP copies,
    # one per registered e-prescription whatever the intensity, are GP documents since issue 24)
    assert gp[0.5] > 1.4 * gp[0.05]
    assert "2 points × 1 replications" in sw.summary() and isinstance(sw.plot(), Figure)

    design = {"method": "morris", "output": "dmp_last_12_months", "trajectories": 2, "levels": 4,
              "parameters": {"sectors.gp.intensity_mean": {"min": 0.05, "max": 0.5},
                             "sectors.biology.intensity_mean": {"min": 0.3, "max": 0.31}}}
    sens = simulator.sensitivity(short_file, design, scale=float(SCALE), seed=5, workers=2)
    ranking = sens.to_df()
    assert list(ranking["rank"]) == [1, 2] and ranking.iloc[0]["parameter"] == "sectors.gp.intensity_mean"
    assert len(sens.to_df("samples")) == 2 * (2 + 1)
    assert "morris" in sens.summary() and isinstance(sens.plot(), Figure)


@pytest.mark.slow
def test_the_command_writes_what_the_python_object_holds(short_file, tmp_path, capsys):
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('replications = 2\n[parameters]\n"sectors.gp.uptake_q" = [0.004, 0.008]\n', encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(["sweep", str(short_file), "--grid", str(grid_file), "--scale", SCALE, "--seed", "3",
                 "--workers", "2", "--out", str(out), "--quiet"]) == 0
    sw = simulator.sweep(short_file, {"replications": 2, "parameters": {"sectors.gp.uptake_q": [0.004, 0.008]}},
                         scale=float(SCALE), seed=3, workers=2)
    written = pd.read_csv(out / "points.csv")
    pd.testing.assert_frame_equal(written, sw.to_df().reset_index(drop=True), check_dtype=False)


def test_calibration_without_its_extra_names_the_line_to_type(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyabc", None)  # as if pyabc were not installed
    for argv in (["calibrate", str(CALIBRATION)], ["backtest", str(CALIBRATION), "--cutoff", "2023-12-31"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert "pip install -e '.[calibrate]'" in lines[0] and "pyabc" in lines[0]
    with pytest.raises(UsageError, match=r"pip install -e '\.\[calibrate\]'"):
        simulator.calibrate(CALIBRATION, method="abc")
    # the least-squares fit does without it: the study is prepared (not run here)
    from simulator.studies.calibration_run import prepare

    assert prepare(CALIBRATION, method="lsq").method == "lsq"
