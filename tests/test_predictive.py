"""The simulated posterior predictive (python -m simulator.studies.predictive)."""

from __future__ import annotations

import pandas as pd
import pytest

from simulator.studies.predictive import main


def test_a_bad_draw_count_exits_2_with_one_line(tmp_path, capsys):
    assert main(["scenarios/baseline.posterior.csv", "0", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "n: must be between 1 and 1000" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_an_out_folder_that_cannot_be_made_exits_2_before_any_run(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["scenarios/baseline.posterior.csv", "2", str(tmp_path / "file" / "sub" / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("segur: error: out: cannot make the folder") and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # two short national runs
def test_two_draws_write_the_rows_the_representative_draw_reads(tmp_path, repo_root):
    post = repo_root / "scenarios" / "baseline.posterior.csv"
    assert main([str(post), "2", str(tmp_path / "new" / "p"), "--scenario", str(repo_root / "scenarios" / "baseline.toml"),
                 "--scale", "0.002", "--workers", "1"]) == 0
    rows = pd.read_csv(tmp_path / "new" / "p_rows.csv")  # the folder is made
    m = rows[rows["matched"]]
    assert {"run1", "run2"} <= set(rows.columns) and len(m) > 30
    assert ((m["p5"] <= m["p50"] + 1e-9) & (m["p50"] <= m["p95"] + 1e-9)).all()
    split = pd.read_csv(tmp_path / "new" / "p_split2024.csv")
    assert split.iloc[0]["documents"] > 0 and split["doc_type"].astype(str).str.contains("11502-2").any()
