"""Programme levers of issue 14 item 8: a software vendor failing, a new document type from a date,
targets by document type / channel / start month and dated target changes; bad inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.cli import main
from simulator.engine.outputs import (
    first_month_reached,
    reached_month,
    share_of_target,
    target_monthly,
)
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE

SMALL = {"run.start": "2024-01-01", "run.end": "2024-06-30", "run.scale": 0.002, "run.seed": 5}


# The GP sector's own documents only: the office specialists' flow and the e-prescriptions' DMP
# copies (issue 24) are not held by a failing vendor's outbox (it holds the sector's own rows)
OWN_GP = "[sectors.gp.flows.office_specialists]\nenabled = false\n[eprescription]\ndmp_copy_is_document = false"


def _run(extra: list[dict], tmp_path, name: str, body: str = "") -> simulator.Results:
    lines = [f'extends = "{BASELINE}"', f'name = "{name}"', body, OWN_GP]
    for iv in extra:
        lines.append("[[interventions]]")
        lines += [f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}" for k, v in iv.items()]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return simulator.run(load_scenario(path, SMALL))  # run() checks conservation


def _dmp_sent(res, sector: str) -> pd.Series:
    """National documents sent to the DMP by ``sector`` each month (every outcome)."""
    df = res.tables["documents"]
    d = df[(df["channel"] == "dmp") & (df["sector"] == sector)]
    return d.groupby(d["month"].astype(str))["documents"].sum().reindex(res.manifest["months"], fill_value=0.0)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return _run([], tmp_path_factory.mktemp("base"), "base")


def _failure(max_wait: int | None = None) -> dict:
    iv = {"date": "2024-03-01", "kind": "vendor_failure", "sector": "gp", "vendor": "LGC-A", "days": 31}
    if max_wait is not None:
        iv["max_wait_days"] = max_wait
    return iv


def test_vendor_failure_holds_its_documents_then_sends_them(base, tmp_path):
    res = _run([_failure()], tmp_path, "vf")
    b, f = _dmp_sent(base, "gp"), _dmp_sent(res, "gp")
    # before: the same draws; during (March): the vendor's GPs (30% of them) send nothing
    assert f["2024-01"] == b["2024-01"] and f["2024-02"] == b["2024-02"]
    drop = 1 - f["2024-03"] / b["2024-03"]
    assert 0.05 < drop < 0.9  # a small territory's GPs: the vendor's share of the volume varies
    box = res.manifest["vendor_outbox"]["gp"]
    assert abs((b["2024-03"] - f["2024-03"]) / box["held"] - 1) < 0.2  # what is missing is what is held
    # after: the outbox goes out on the first day back, then the month is as usual
    assert box["held"] > 0 and box["sent_after_recovery"] == box["held"] and box["lost"] == 0 == box["still_waiting"]
    assert abs((f["2024-04"] - b["2024-04"]) / box["sent_after_recovery"] - 1) < 0.25  # the extra is the outbox
    assert abs(f["2024-05"] / b["2024-05"] - 1) < 0.3  # then as usual (113 GPs at this scale: noisy)
    for other in ("hospital", "biology", "radiology", "pharmacy"):  # their own streams: unchanged
        assert np.allclose(_dmp_sent(res, other), _dmp_sent(base, other), rtol=0.02)


def test_vendor_failure_with_no_wait_loses_the_outbox(base, tmp_path):
    res = _run([_failure(max_wait=0)], tmp_path, "vf0")
    b, f = _dmp_sent(base, "gp"), _dmp_sent(res, "gp")
    box = res.manifest["vendor_outbox"]["gp"]
    assert box["lost"] == box["held"] > 0 and box["sent_after_recovery"] == 0
    assert abs((b["2024-03"] - f["2024-03"]) / box["lost"] - 1) < 0.2
    assert abs(f["2024-04"] / b["2024-04"] - 1) < 0.3  # nothing flushed


def test_new_document_type_appears_from_its_date_only(tmp_path):
    iv = {"date": "2024-04-01", "kind": "new_document_type", "sector": "pharmacy", "doc_type": "87273-9",
          "per_episode": 0.05}
    # the pharmacists' seasonal vaccination flow (issue 24) off: the lever's notes alone
    res = _run([iv], tmp_path, "nd", "[sectors.pharmacy.flows.vaccination]\nenabled = false")
    df = res.tables["documents"]
    notes = df[(df["sector"] == "pharmacy") & (df["doc_type"].astype(str) == "87273-9") & (df["channel"] == "dmp")]
    by_month = notes.groupby(notes["month"].astype(str))["documents"].sum()
    assert by_month.reindex(["2024-01", "2024-02", "2024-03"], fill_value=0).sum() == 0
    assert (by_month.reindex(["2024-04", "2024-05", "2024-06"], fill_value=0) > 0).all()
    # about 0.05 of 1.05 documents per dispensation
    pharm = df[(df["sector"] == "pharmacy") & (df["channel"] == "dmp") & (df["month"].astype(str) >= "2024-04")]
    assert 0.03 < notes["documents"].sum() / pharm["documents"].sum() < 0.07


def _synthetic(monthly_a: list[float], monthly_b: list[float], target: dict, interventions: list | None = None):
    """A results-like object: documents of type A (57833-6) and B (11488-4) accepted by the DMP
    each month, and as many MSSanté messages delivered as type A documents."""
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    rows = []
    for i, month in enumerate(months):
        rows.append({"month": month, "sector": "gp", "doc_type": "57833-6", "channel": "dmp", "outcome": "accepted",
                     "documents": monthly_a[i]})
        rows.append({"month": month, "sector": "gp", "doc_type": "11488-4", "channel": "dmp", "outcome": "accepted",
                     "documents": monthly_b[i]})
        rows.append({"month": month, "sector": "gp", "doc_type": "11488-4", "channel": "dmp", "outcome": "rejected",
                     "documents": 1e9})
        rows.append({"month": month, "sector": "gp", "doc_type": "57833-6", "channel": "mssante_patient",
                     "outcome": "delivered", "documents": monthly_a[i]})
    man = {"months": months, "sectors": ["gp"],
           "scenario": {"targets": {"t": target}, "interventions": interventions or []}}
    return SimpleNamespace(manifest=man, tables={"documents": pd.DataFrame(rows)})


def test_target_by_document_type_counts_only_those_documents():
    a = [10.0] * 24  # 120 a year of type A
    b = [100.0] * 24  # many of type B: the target by type A must not see them
    res = _synthetic(a, b, {"value": 120.0, "sectors": ["gp"], "doc_types": ["57833-6"]})
    assert reached_month(res, "t") == "2024-12"  # the first month whose 12 months of A reach 120
    assert share_of_target(res, "t") == pytest.approx(1.0)
    res = _synthetic(a, b, {"value": 121.0, "sectors": ["gp"], "doc_types": ["57833-6"]})
    assert reached_month(res, "t") is None
    res = _synthetic(a, b, {"value": 121.0, "sectors": ["gp"]})  # every type: reached early
    assert reached_month(res, "t") == "2024-02"


def test_target_by_channel_start_and_dated_change():
    a = [float(m) for m in range(1, 25)]  # growing
    b = [0.0] * 24
    t = {"value": 150.0, "sectors": ["gp"], "channel": "mssante"}
    monthly, values = target_monthly(_synthetic(a, b, t), "t")
    assert monthly.tolist() == a and (values == 150.0).all()
    expected = int(first_month_reached(np.array(a), 150.0)[0])
    assert reached_month(_synthetic(a, b, t), "t") == _synthetic(a, b, t).manifest["months"][expected]
    # from a start month: earlier months cannot reach it
    late = {**t, "value": 1.0, "start": "2025-03-01"}
    assert reached_month(_synthetic(a, b, late), "t") == "2025-03"
    # a target raised from a date is reached later, against the new value
    raise_it = [{"kind": "target", "target": "t", "date": "2024-06-01", "value": 200.0}]
    got = reached_month(_synthetic(a, b, t, raise_it), "t")
    trailing = np.convolve(a, np.ones(12))[:24]
    assert got == _synthetic(a, b, t).manifest["months"][int(np.argmax(trailing >= 200.0))]
    assert got > reached_month(_synthetic(a, b, t), "t")


@pytest.mark.parametrize("lines,message", [
    (['[[interventions]]', 'date = 2024-03-01', 'kind = "vendor_failure"', 'sector = "gp"', 'vendor = "NOPE"', 'days = 5'],
     "interventions[N].vendor: 'NOPE' is not a vendor of sectors.gp.vendors; allowed: LGC-A"),
    (['[[interventions]]', 'date = 2024-03-01', 'kind = "vendor_failure"', 'sector = "gp"', 'vendor = "LGC-A"'],
     "needs days"),
    (['[[interventions]]', 'date = 2024-03-01', 'kind = "new_document_type"', 'sector = "pharmacy"',
      'doc_type = "99999-9"', 'per_episode = 0.1'],
     "interventions[N].doc_type: '99999-9' is not a catalogued document type (LOINC codes in scenarios/data/document_types.csv"),
    (['[targets.x]', 'value = 1.0', 'sectors = ["gp"]', 'channel = "fax"'], "channel"),
    (['[targets.x]', 'value = 1.0', 'sectors = ["gp"]', 'doc_types = ["12"]'], "targets.x.doc_types: '12' is not a catalogued"),
    (['[[interventions]]', 'date = 2024-03-01', 'kind = "target"', 'target = "nope"', 'value = 5.0'],
     "interventions[N].target: 'nope' is not a target of this scenario"),
])
def test_bad_lever_inputs_exit_2_with_one_line(tmp_path, capsys, lines, message):
    path = tmp_path / "bad.toml"
    path.write_text("\n".join([f'extends = "{BASELINE}"', 'name = "bad"', *lines]) + "\n", encoding="utf-8")
    code = main(["run", str(path), "--scale", "0.002", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    # the added intervention follows the baseline's own (its index is their count)
    message = message.replace("interventions[N]", f"interventions[{len(load_scenario(BASELINE).interventions)}]")
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["vendor_failure", "new_document_type", "targets_by_channel"])
def test_lever_scenarios_say_their_question_and_load(name):
    path = BASELINE.parent / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Question:")
    assert 'extends = "wave2.toml"' in text
    sc = load_scenario(path)
    assert sc.name == name and len(sc.interventions) > len(load_scenario(BASELINE.parent / "wave2.toml").interventions)


def test_compare_prints_many_scenarios_within_a_terminal_width():
    from simulator.studies.compare import MAX_WIDTH, _chunked, column_heads

    names = [f"lever_scenario_{i}" for i in range(12)]
    heads = column_heads(names)
    assert heads == [f"#{i + 1}" for i in range(12)]  # numbered, named once above the tables
    assert column_heads(["wave2", "wave2_late"]) == ["wave2", "wave2_late"]
    rows = [[f"target {k} 120.0M/yr (assumption)", *["not by 2027"] * 12] for k in range(3)]
    lines = _chunked(["target"], heads, rows)
    assert max(map(len, lines)) <= MAX_WIDTH
    assert sum("not by 2027" in cell for line in lines for cell in line.split("  ")) == 36  # every cell once
    from simulator.studies.compare_figure import style

    styles = [style(i) for i in range(12)]
    assert len({s["color"] for s in styles}) == 12 and len({s["marker"] for s in styles}) == 12
