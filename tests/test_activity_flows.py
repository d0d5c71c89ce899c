"""Issue 24's mechanisms: activity flows (hospital ER and outpatient biology, outpatient letters and
prescriptions, office specialists, pharmacists' vaccinations) and the e-prescriptions' DMP copies as
the GPs' prescription documents. Each conserves its base × shares, and switching it off removes
exactly its documents."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scenarios.activity import load_activity
from simulator.engine import Simulation
from simulator.engine.producers import ProducersModule
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE

SMALL = {"run.start": "2023-01-01", "run.end": "2023-12-31", "run.scale": 0.002, "run.seed": 3}
FLOWS = [("hospital", "er_biology"), ("hospital", "outpatient_biology"), ("hospital", "outpatient_consultations"),
         ("hospital", "outpatient_prescriptions"), ("gp", "office_specialists"), ("pharmacy", "vaccination")]


def _producers(sim: Simulation) -> ProducersModule:
    return next(m for m in sim.modules if isinstance(m, ProducersModule))


def _sent_by_type(sim: Simulation) -> pd.Series:
    """Rows drawn by the producers, by (sector, type), national: every outcome of the DMP channel."""
    df = sim.results.tables["documents"]
    d = df[df["channel"] == "dmp"]
    return d.groupby([d["sector"].astype(str), d["doc_type"].astype(str)])["documents"].sum()


@pytest.fixture(scope="module")
def runs():
    """The baseline, and the baseline with one flow and with the DMP copies switched off."""
    out = {}
    for key, over in (("on", {}), ("off", {"sectors.hospital.flows.outpatient_prescriptions.enabled": False}),
                      ("no_copies", {"eprescription.dmp_copy_is_document": False})):
        sim = Simulation(load_scenario(BASELINE, {**SMALL, **over}))
        sim.results = sim.run()
        out[key] = sim
    return out


def test_every_flow_value_is_its_activity_rows():
    """Each flow's base and documents per episode are those of scenarios/data/activity.csv."""
    act = load_activity()
    sc = load_scenario(BASELINE)
    for sector, name in FLOWS:
        flow = sc.sectors[sector].flows[name]
        a = act[f"{sector}.{name}"]
        assert flow.episodes_per_year == a.episodes
        assert set(flow.documents) == set(a.documents)
        for code, per in flow.documents.items():
            assert math.isclose(per, a.documents[code] / a.episodes, rel_tol=1e-9), (sector, name, code)


@pytest.mark.slow
def test_each_flow_conserves_its_base_times_its_shares(runs):
    """Eligible documents of a flow over 2023 = yearly base × documents per episode (its rhythm's
    working days are 2023's); sent = the Poisson draws of the expected counts (within 5 σ)."""
    sim = runs["on"]
    prod = _producers(sim)
    frame = prod.flows_frame()
    scale = SMALL["run.scale"]
    sc = sim.scenario
    totals = frame[frame["doc_type"] == "*"].groupby(["sector", "flow"])[["sent", "expected", "eligible"]].sum()
    for sector, name in FLOWS:
        cfg = sc.sectors[sector].flows[name]
        want = cfg.episodes_per_year * sum(cfg.documents.values()) * scale
        got = totals.loc[(sector, name)]
        assert got["eligible"] == pytest.approx(want, rel=0.01), (sector, name)
        assert 0 < got["expected"] <= got["eligible"]
        assert abs(got["sent"] - got["expected"]) <= 5 * math.sqrt(got["expected"]) + 1, (sector, name)
        # its types in the shares of its documents (one type per flow but the specialists')
        by_type = frame[(frame["flow"] == name) & (frame["doc_type"] != "*")].groupby("doc_type")["sent"].sum()
        assert set(by_type.index) <= set(cfg.documents)


@pytest.mark.slow
def test_switching_a_flow_off_removes_exactly_its_documents(runs):
    on, off = _sent_by_type(runs["on"]), _sent_by_type(runs["off"])
    frame = _producers(runs["on"]).flows_frame()
    flow = frame[(frame["flow"] == "outpatient_prescriptions") & (frame["doc_type"] != "*")]
    scale = SMALL["run.scale"]
    assert flow["sent"].sum() > 0
    diff = on.sub(off, fill_value=0.0)
    removed = diff[diff.abs() > 1e-6]
    assert list(removed.index) == [("hospital", "57833-6")]  # nothing else moved
    assert removed.iloc[0] == pytest.approx(flow["sent"].sum() / scale, rel=1e-9)
    assert not off.empty and _producers(runs["off"]).flows_frame()["flow"].ne("outpatient_prescriptions").all()


@pytest.mark.slow
def test_dmp_copies_are_the_prescription_documents_of_e_prescribing_gps(runs):
    """With the switch on, GP prescriptions = own draws of the GPs who do not e-prescribe + one DMP
    copy per registered e-prescription (deposited the next day); off, the copies are not
    documents. Other GP types do not move."""
    on, off = runs["on"], runs["no_copies"]
    ep_on = next(m for m in on.modules if m.name == "eprescription")
    registered = int(ep_on.counts[:, ep_on._col["registered"]].sum())
    pending = 0 if ep_on.pending_copies is None else len(ep_on.pending_copies)
    assert registered > 0 and ep_on.copies_booked + pending + ep_on.copies_not_deposited == registered  # conservation
    assert ep_on.copies_not_deposited < 0.15 * registered  # most e-prescribing GPs have their Ségur software (2023: the last updates)
    a, b = _sent_by_type(on), _sent_by_type(off)
    gp_other = [i for i in a.index if i[0] == "gp" and i[1] != "57833-6"]
    for i in gp_other:
        assert a[i] == pytest.approx(b[i], rel=1e-12), i
    # e-prescribing GPs drew prescriptions of their own off; on, those are replaced by their copies
    assert a[("gp", "57833-6")] != b[("gp", "57833-6")]


def test_a_flow_with_an_unknown_document_type_is_refused(tmp_path, capsys):
    from simulator.cli import main  # noqa: PLC0415

    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{BASELINE}"\nname = "bad"\n[sectors.hospital.flows.er_biology]\n'
                    'documents = { "99999-9" = 0.5 }\n', encoding="utf-8")
    code = main(["run", str(path), "--scale", "0.002", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "sectors.hospital.flows.er_biology.documents.99999-9" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_flows_change_no_draw_of_their_host(runs):
    """The host's own documents do not depend on its flows (their own streams): the hospitals'
    discharge letters are the same with a flow off."""
    a, b = _sent_by_type(runs["on"]), _sent_by_type(runs["off"])
    assert a[("hospital", "11490-0")] == b[("hospital", "11490-0")]
    assert np.isfinite(a.sum())


def _in_sample_table() -> list[tuple[str, str, str, float, float, float]]:
    """The issue 24 table of docs/calibration.md: (date, metric, sector, p50, p5, p95), volumes in M."""
    from tests.conftest import REPO  # noqa: PLC0415

    text = (REPO / "docs" / "calibration.md").read_text(encoding="utf-8")
    start = text.index("## Results of issue 24")
    section = text[start:text.index("\n## ", start + 10)]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("documents_per_") and cells[0][:4] in ("2024", "2025"):
            med, band = cells[4].split(" [")
            lo, hi = band.rstrip("]").split("–")
            rows.append((cells[0], cells[1], cells[2], float(med.rstrip("M")), float(lo.rstrip("M")), float(hi.rstrip("M"))))
    return rows


@pytest.mark.slow
def test_shipped_baseline_sits_in_the_in_sample_table_bands():
    """The in-sample table of docs/calibration.md (posterior predictive of the shipped posterior) and
    the shipped baseline agree: each 2024 – May 2025 document-volume row of the shipped run (scale
    0.01, seed 1) lies in the table's p5–p95 band (±3% for the table's rounding and one seed)."""
    from simulator.studies.observed_match import observed_vs_simulated  # noqa: PLC0415

    table = _in_sample_table()
    assert len(table) >= 8  # every 2024 – May 2025 volume row is in the table
    sc = load_scenario(BASELINE, {"run.end": "2025-05-31", "run.scale": 0.01, "run.seed": 1})
    fit = observed_vs_simulated(Simulation(sc).run())
    for date, metric, sector, _, lo, hi in table:
        row = fit[(fit["date"].astype(str) == date) & (fit["metric"] == metric) & (fit["sector"] == sector)]
        sim = float(row["simulated"].iloc[0]) / 1e6
        assert lo * 0.97 <= sim <= hi * 1.03, (date, metric, sector, sim, lo, hi)
