"""MSSanté as people and mailboxes (simulator/engine/messaging.py, agents/services/mailboxes.py):
messages grow with mailboxes, the patient → professional channel needs activated profiles, a
failing operator holds only its senders' share and only while it lasts, and every message ends
in exactly one outcome."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from scenarios.loader import ScenarioError
from simulator.engine.scenario import load_scenario
from tests.conftest import write_scenario

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.toml"
MESSAGE_OUTCOMES = {"delivered", "bounced", "in_transit"}


def _small(**overrides):
    """The baseline at scale 0.002, 2024 to mid-2025 (a few seconds)."""
    sc = load_scenario(BASE)
    data = sc.model_dump()
    data["run"].update(start="2024-01-01", end="2025-06-30", scale=0.002, seed=3)
    for path, value in overrides.items():
        node = data
        *head, last = path.split(".")
        for part in head:
            node = node[part]
        node[last] = value
    return type(sc).model_validate(data)


def _messages(res, channel=None):
    d = res.tables["documents"]
    d = d[d["channel"] != "dmp"]
    if channel:
        d = d[d["channel"] == channel]
    return d


@pytest.fixture(scope="module")
def base_run():
    return simulator.run(_small())


def test_every_message_has_exactly_one_outcome(base_run):
    m = _messages(base_run)
    assert set(m["outcome"]) <= MESSAGE_OUTCOMES
    assert {"mssante_pro", "mssante_patient", "mssante_from_patient"} <= set(m["channel"])
    base_run.check_conservation()  # produced = sum of outcomes, per month, sector and channel


def test_mailbox_table_counts_every_kind(base_run):
    b = base_run.tables["mailboxes"]
    assert set(b["kind"]) == {"personal", "organisational", "applicative"}
    assert (b["mailboxes"] >= 0).all()
    first, last = b["month"].min(), b["month"].max()
    total = b.groupby("month")["mailboxes"].sum()
    assert total[last] >= total[first]  # mailboxes only open in this model
    hosp = b[(b["sector"] == "hospital") & (b["month"] == last)].set_index("kind")["mailboxes"]
    assert hosp["personal"] > hosp["organisational"] > hosp["applicative"] > 0


def test_more_mailboxes_more_messages(base_run):
    more = simulator.run(_small(**{"sectors.hospital.mssante.personal_final_share": 1.0,
                                   "sectors.hospital.mssante.personal_initial_share": 0.9}))
    boxes = lambda r: r.tables["mailboxes"].query("sector == 'hospital' and kind == 'personal'")["mailboxes"].sum()  # noqa: E731
    assert boxes(more) > 1.5 * boxes(base_run)
    sent = lambda r: _messages(r, "mssante_pro").query("sector == 'hospital'")["documents"].sum()  # noqa: E731
    assert sent(more) > 1.2 * sent(base_run)


def test_no_patient_messages_without_activated_profiles(base_run):
    assert _messages(base_run, "mssante_from_patient")["documents"].sum() > 0
    none = simulator.run(_small(**{"profiles.activated_share_at_launch": 0.0, "profiles.activation_rate": 0.0,
                                   "profiles.legacy_dmp_share": 0.0}))
    assert _messages(none, "mssante_from_patient")["documents"].sum() == 0
    assert _messages(none, "mssante_patient")["documents"].sum() == 0  # nobody can read them either
    assert _messages(none, "mssante_pro")["documents"].sum() > 0


def test_pro_share_does_not_fall_with_the_update():
    """A sender keeps what it sent before: an update with a lower to_professional changes nothing."""
    lo = simulator.run(_small(**{"sectors.biology.mssante.to_professional": 0.1}))
    hi = simulator.run(_small(**{"sectors.biology.mssante.to_professional": 0.9995}))
    a = _messages(lo, "mssante_pro").query("sector == 'biology'")["documents"].sum()
    b = _messages(hi, "mssante_pro").query("sector == 'biology'")["documents"].sum()
    assert a == pytest.approx(b, rel=0.02)


def _outage(operator: str, days: float = 20, max_wait: int = 2) -> dict:
    return {"date": "2025-03-03", "kind": "outage", "service": "mssante", "operator": operator,
            "days": days, "max_wait_days": max_wait}


def test_an_operator_failure_bounces_its_senders_share_only_while_it_lasts(base_run):
    failed = simulator.run(_small(interventions=[_outage("mailiz")]))
    by = lambda r: _messages(r, "mssante_pro").groupby(["month", "sector", "outcome"])["documents"].sum()  # noqa: E731
    a, b = by(base_run), by(failed)
    # produced messages are the same draws: only their outcomes change
    assert a.groupby(level=[0, 1]).sum().equals(b.groupby(level=[0, 1]).sum())
    lost = b.xs("2025-03", level=0).unstack("outcome").fillna(0.0)
    sent = lost.sum(axis=1)
    share = (lost.get("bounced", 0.0) / sent)
    # gp senders: 45% on Mailiz; hospitals: none; 20 of 31 days down, 2 days of retries
    assert 0.45 * 0.4 < share["gp"] < 0.45 * 0.75
    assert share["hospital"] < 0.03
    before = b.xs("2025-01", level=0)
    after = b.xs("2025-05", level=0)
    for month_b in (before, after):
        bounced = month_b.xs("bounced", level="outcome").sum() if "bounced" in month_b.index.get_level_values(1) else 0
        assert bounced < 0.03 * month_b.sum()


def test_an_operator_failure_with_long_retries_delays_but_delivers(base_run):
    failed = simulator.run(_small(interventions=[_outage("mailiz", days=5, max_wait=30)]))
    d = _messages(failed, "mssante_pro").query("month == '2025-03'")
    assert d[d["outcome"] == "bounced"]["documents"].sum() < 0.03 * d["documents"].sum()


def test_mes_failure_holds_messages_to_and_from_patients(base_run):
    failed = simulator.run(_small(interventions=[_outage("mes")]))
    m = _messages(failed).query("month == '2025-03'").groupby(["channel", "outcome"])["documents"].sum()
    share = lambda ch: m[ch].get("bounced", 0.0) / m[ch].sum()  # noqa: E731
    assert share("mssante_patient") > 0.4 and share("mssante_pro") < 0.03


@pytest.mark.parametrize("entry, words", [
    ({"kind": "outage", "service": "dmp", "operator": "mailiz", "days": 3}, "operator is only for an outage"),
    ({"kind": "outage", "service": "mssante", "operator": "laposte", "days": 3}, "operator"),
])
def test_bad_operator_outage_is_one_line(tmp_path, entry, words):
    body = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in entry.items())
    f = tmp_path / "bad.toml"
    f.write_text(f'extends = "{BASE}"\nname = "bad"\n\n[[interventions]]\ndate = 2024-03-01\n{body}\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(f), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "interventions." in err[0] and words in err[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_the_scenario_file_loads_and_asks_its_question():
    path = ROOT / "scenarios" / "mssante_operator_failure.toml"
    assert path.read_text(encoding="utf-8").startswith("# Question: ")
    sc = load_scenario(path)
    iv = [i for i in sc.interventions if i.operator == "mailiz"]
    assert len(iv) == 1 and iv[0].service == "mssante" and iv[0].kind == "outage"


def test_mailbox_table_is_national(base_run):
    b = base_run.tables["mailboxes"]
    assert isinstance(b, pd.DataFrame) and {"month", "sector", "kind", "mailboxes"} <= set(b.columns)


SPECIALISTS = "sectors.gp.mssante.other_professionals.office_specialists"


def _letters(res, sector):
    """National letters (type 11488-4) a sector sent to professionals, every outcome."""
    m = _messages(res, "mssante_pro")
    return m[(m["sector"] == sector) & (m["doc_type"] == "11488-4")]["documents"].sum()


def test_office_specialists_hold_mailboxes_and_write_letters(base_run):
    """The specialists' mailboxes are counted under the GPs' sector, and their letters are the
    mailboxes × the letter rate over the run's months (the other GP letters unchanged)."""
    spec = load_scenario(BASE).sectors["gp"].mssante.other_professionals["office_specialists"]
    silent = simulator.run(_small(**{f"{SPECIALISTS}.professionals": 1}))  # one specialist: none, nearly
    added = _letters(base_run, "gp") - _letters(silent, "gp")
    months = pd.period_range("2024-01", "2025-06", freq="M")
    years = (months.to_timestamp(how="start") - pd.Timestamp("2024-01-01")).days.to_numpy() / 365.25 + 1 / 24
    share = spec.final_share - (spec.final_share - spec.initial_share) * np.exp(-spec.growth * years)
    expected = float(((spec.professionals - 1) * share * spec.messages_per_month).sum())
    assert added == pytest.approx(expected, rel=0.05)
    boxes = base_run.tables["mailboxes"].query("sector == 'gp' and kind == 'personal' and month == '2025-06'")["mailboxes"].sum()
    gps = silent.tables["mailboxes"].query("sector == 'gp' and kind == 'personal' and month == '2025-06'")["mailboxes"].sum()
    assert boxes - gps == pytest.approx((spec.professionals - 1) * share[-1], rel=0.01)


def test_mailboxes_of_a_sector_not_launched_write_letters_only(tmp_path):
    """Before their launch the wave 2 sectors send no document, but their open mailboxes write:
    the nurses' letters are their personal mailboxes × their letter rate."""
    sc = load_scenario(ROOT / "scenarios" / "wave2.toml")
    data = sc.model_dump()
    data["run"].update(start="2024-07-01", end="2025-04-30", scale=0.002, seed=3)
    res = simulator.run(type(sc).model_validate(data))
    d = res.tables["documents"]
    nurse = d[d["sector"] == "nurse"]
    assert set(nurse["channel"]) == {"mssante_pro"} and set(nurse["doc_type"]) == {"11488-4"}
    boxes = res.tables["mailboxes"].query("sector == 'nurse' and kind == 'personal'")["mailboxes"].sum()
    rate = sc.sectors["nurse"].mssante.personal_messages_per_month
    assert nurse["documents"].sum() == pytest.approx(boxes * rate, rel=0.1)


def test_other_professionals_final_share_below_initial_is_one_line(tmp_path):
    f = write_scenario(tmp_path, f"""
        [{SPECIALISTS}]
        professionals = 1000
        initial_share = 0.8
        final_share = 0.5
        growth = 0.1
        messages_per_month = 3
        """, extends=BASE, name="bad")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert "\n" not in msg and str(f) in msg and f"{SPECIALISTS}" in msg and "final_share must be at least" in msg, msg
