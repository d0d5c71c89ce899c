"""The FHIR payload tier inside a run, and fault injection: every sampled document rendered as
FHIR gets the verdict the vectorised DMP gave it (in the same rule context); injected defects
are rejected with their reason, in the tables and in the rendered bundles."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

import agents.payloads as payloads
import agents.services.dmp as dmp
import simulator
from agents.defects import DEFECT_NAMES, DEFECTS, defect_code
from agents.identity import check_id_nat_ps, check_id_nat_struct, is_valid_nir
from agents.patients import CLOSED, CREATED, HAS_INS, INSI_OK, IS_NIA, OPPOSED
from simulator.core import outcomes as oc
from simulator.engine import Simulation
from simulator.engine.payload_tier import BUNDLES, VERDICTS
from simulator.engine.scenario import load_scenario
from simulator.engine.summary import format_summary
from tests.conftest import BASELINE, REPO

SHORT = {"run.end": "2024-06-30"}  # spans the qualified-identity rule of 1 Oct 2023
ALL_DEFECTS = {f"sectors.gp.defects.*.{name}": 0.01 for name in DEFECTS}


def short_run(overrides: dict | None = None, *, scale: float = 0.002, seed: int = 5, path=BASELINE):
    sc = load_scenario(path, overrides={**SHORT, **(overrides or {})})
    return simulator.run(sc, seed=seed, scale=scale)


def verdicts(res) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(res.extra_files[VERDICTS]), keep_default_na=False, dtype={"doc_type": str})


@pytest.fixture(scope="module")
def baseline_run():
    # the baseline with the pre-Ségur software rule of scenarios/legacy_software_rejected.toml,
    # so that the sample holds software rejections too
    return short_run(path=REPO / "scenarios" / "legacy_software_rejected.toml")


@pytest.fixture(scope="module")
def defects_run():
    return short_run(ALL_DEFECTS, scale=0.003)


# -- the comparison -----------------------------------------------------------------------------


@pytest.mark.slow
def test_baseline_sample_agrees_with_the_vectorised_dmp(baseline_run):
    man = baseline_run.manifest["payloads"]
    v = verdicts(baseline_run)
    assert man["sampled"] == len(v) == baseline_run.manifest["scenario"]["payload_sample"]
    assert man["disagreements"] == 0, v[~v["agree"]].to_string()
    assert v["agree"].all()
    assert sum(s["sampled"] for s in man["by_stratum"].values()) == man["sampled"]
    # stratified: every sector that fed the DMP, both rule regimes, rare and service outcomes
    dmp_docs = baseline_run.to_df("documents").query("channel == 'dmp' and outcome in ['accepted', 'rejected']")
    assert set(v["sector"]) == set(dmp_docs["sector"])
    assert set(v["qualified_identity_rule"]) == {True, False}
    # (documents of patients without a profile are not sent: the senders check first)
    assert set(v["reason"]) >= {"", "ins_missing", "identity_not_qualified", "software_not_installed"}
    # documents rejected for the patient's profile are compared through their document part
    service = v[v["reason"].isin(["no_profile", "profile_opposed", "profile_closed", "software_not_installed"])]
    assert len(service) and (service["fhir_verdict"] == service["document_verdict"]).all()
    document = v[~v.index.isin(service.index)]
    assert (document["fhir_verdict"] == document["reason"].replace("", "accepted")).all()


@pytest.mark.slow
def test_identity_rule_context_is_honoured(baseline_run):
    v = verdicts(baseline_run)
    not_qual = v[v["identity_status"] != "QUAL"]
    assert set(not_qual["qualified_identity_rule"]) == {True, False}
    assert not_qual["errors"].str.contains("IDV-001").all()  # the bundle says so either way
    before = not_qual[~not_qual["qualified_identity_rule"] & (not_qual["ins"] != "")]
    after = not_qual[not_qual["qualified_identity_rule"] & (not_qual["ins"] != "")]
    assert (before["document_verdict"] == "accepted").all() and (before["fhir_verdict"] == "accepted").all()
    assert (after["fhir_verdict"] == "identity_not_qualified").all()
    qual = v[v["identity_status"] == "QUAL"]
    assert (qual["ins"] != "").all()


@pytest.mark.slow
def test_every_defect_kind_is_sampled_rendered_and_agrees_before_and_after_the_rule(defects_run):
    man = defects_run.manifest["payloads"]
    v = verdicts(defects_run)
    assert man["disagreements"] == 0, v[~v["agree"]].to_string()
    defective = v[v["defect"] != ""]
    seen = set(zip(defective["defect"], defective["qualified_identity_rule"], strict=True))
    assert seen == {(d, rule) for d in DEFECTS for rule in (False, True)}
    with_ins = defective[defective["ins"] != ""]
    assert (with_ins["rendered_defect"] == with_ins["defect"]).all()
    expected = with_ins["defect"].map(DEFECTS)
    rule_off = (with_ins["defect"] == "identity_not_qualified") & ~with_ins["qualified_identity_rule"]
    expected[rule_off] = "accepted"  # before Oct 2023 the DMP accepts a non-QUAL identity
    assert (with_ins["fhir_verdict"] == expected).all()
    assert (defective[defective["ins"] == ""]["fhir_verdict"] == "ins_missing").all()


@pytest.mark.parametrize("broken", ["vectorised_accepts_all", "fhir_accepts_all"])
def test_a_broken_verdict_is_detected(monkeypatch, broken):
    if broken == "vectorised_accepts_all":
        monkeypatch.setattr(dmp, "dmp_verdict", lambda batch, patients, rules: np.zeros(len(batch), np.uint8))
    else:
        monkeypatch.setattr(payloads, "fhir_verdict", lambda findings, **_: "accepted")
    res = short_run({"run.end": "2023-03-31", "sectors.gp.defects.*.wrong_oid": 0.05})
    man = res.manifest["payloads"]
    assert man["disagreements"] > 0
    assert (~verdicts(res)["agree"]).sum() == man["disagreements"]
    assert f"{man['disagreements']} of {man['sampled']} sampled documents" in format_summary(res)


# -- the results folder -------------------------------------------------------------------------


@pytest.mark.slow
def test_payload_files_are_written_with_the_results(baseline_run, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    out = baseline_run.save(tmp_path / "run")
    lines = (out / BUNDLES).read_text(encoding="utf-8").splitlines()
    bundles = [json.loads(line) for line in lines]
    assert len(bundles) == baseline_run.manifest["payloads"]["sampled"]
    for bundle in bundles[:3]:
        parsed = Bundle.model_validate(bundle)
        assert parsed.type == "transaction"
    table = pd.read_csv(out / VERDICTS, keep_default_na=False)
    assert list(table["doc_id"]) == [b["id"].removeprefix("bundle-") for b in bundles]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["payloads"]["files"] == [BUNDLES, VERDICTS]


def test_no_sample_and_no_shift_of_other_draws():
    a = short_run({"run.end": "2021-06-30", "payload_sample": 0})
    b = short_run({"run.end": "2021-06-30", "payload_sample": 50})
    assert a.manifest["payloads"]["sampled"] == 0 and not a.extra_files
    assert b.manifest["payloads"]["sampled"] > 0
    pd.testing.assert_frame_equal(a.to_df("documents"), b.to_df("documents"))  # own random stream
    again = short_run({"run.end": "2021-06-30", "payload_sample": 50})
    assert again.extra_files[BUNDLES] == b.extra_files[BUNDLES]  # reproducible


# -- fault injection ----------------------------------------------------------------------------


def test_vendor_defects_are_rejected_at_the_injected_rate(monkeypatch):
    judged: list[tuple[int, np.ndarray, np.ndarray]] = []
    book = dmp.DmpService._book

    def spy(self, batch, judgement):  # every judged batch passes here, in order, with its verdicts
        judged.append((batch.sector, batch.facility.copy(), judgement.outcomes.copy()))
        return book(self, batch, judgement)

    monkeypatch.setattr(dmp.DmpService, "_book", spy)
    sc = load_scenario(REPO / "scenarios" / "vendor_defects.toml", overrides=SHORT)
    sim = Simulation(sc, seed=6, scale=0.003)
    res = sim.run()
    gp = sim.world.sector("gp")
    rows = [(f, o) for s, f, o in judged if s == gp.index]
    vendor = np.array(gp.vendor_names)[gp.vendor[np.concatenate([f for f, _ in rows])]]
    out = np.concatenate([o for _, o in rows])
    # a defect shows where the document itself is judged (it has an INS, the software is accepted)
    judged_doc = ~np.isin(out, [oc.REJECT_INS_MISSING, oc.REJECT_SOFTWARE])
    bad = out == oc.REJECT_BAD_INS
    lgc_b = (vendor == "LGC-B") & judged_doc
    share, n = bad[lgc_b].mean(), int(lgc_b.sum())
    assert n > 2_000
    assert abs(share - 0.05) < 5 * math.sqrt(0.05 * 0.95 / n) + 0.002
    assert not bad[vendor != "LGC-B"].any()
    # the reason is in the documents table: exactly the GP rejections counted above
    docs = res.to_df("documents").query("channel == 'dmp' and outcome == 'rejected'")
    per = docs.groupby(["sector", "reason"])["count"].sum()
    assert per.get(("gp", "bad_ins"), 0) == int(bad.sum())
    assert per.get(("radiology", "invalid_metadata"), 0) > 0 and per.get(("pharmacy", "bad_ins"), 0) > 0
    assert per.get(("hospital", "bad_ins"), 0) == 0 and per.get(("biology", "invalid_metadata"), 0) == 0
    # the sampled defective documents carry the same defect in their bundles
    v = verdicts(res)
    assert res.manifest["payloads"]["disagreements"] == 0
    wrong = v[v["defect"] == "wrong_oid"]
    assert len(wrong) and set(wrong["vendor"]) == {"LGC-B"} and set(wrong["sector"]) == {"gp"}
    assert wrong[wrong["ins"] != ""]["errors"].str.contains("INS-005").all()
    retired = v[v["defect"] == "retired_type_code"]
    assert len(retired) and set(retired["vendor"]) == {"RIS-C"}
    assert retired[retired["ins"] != ""]["errors"].str.contains("DOC-003").all()
    assert set(v[v["defect"] == "bad_nir_key"]["sector"]) == {"pharmacy"}


# -- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("require_qualified", [False, True])
@pytest.mark.parametrize("reject_legacy", [False, True])
def test_dmp_verdict_is_its_document_part_over_its_service_part(require_qualified, reject_legacy):
    rng = np.random.default_rng(11)
    n = 20_000
    status = rng.integers(0, 128, n).astype(np.uint8)
    batch = dmp.Batch(0, 0, np.zeros(n, np.int32), np.arange(n, dtype=np.int32), np.zeros(n, np.uint8),
                      rng.random(n) < 0.5, rng.random(n) < 0.5,
                      rng.integers(0, len(DEFECT_NAMES) + 1, n).astype(np.uint8))
    patients = type("P", (), {"status": status, "profile_version": 0})()
    rules = dmp.DmpRules(require_qualified, reject_legacy)
    out = dmp.dmp_verdict(batch, patients, rules)
    doc = dmp.document_verdict(status, batch.qualified, batch.defect, rules)
    svc = dmp.service_verdict(status, batch.installed, rules)
    assert (out == dmp.combine_verdicts(doc, svc)).all()
    assert set(np.unique(doc).tolist()) <= {oc.ACCEPTED, *dmp.DOCUMENT_REASONS}
    assert set(np.unique(svc).tolist()) <= {oc.ACCEPTED, *dmp.SERVICE_REASONS}
    has_ins = (status & HAS_INS) != 0
    assert (doc[~has_ins] == oc.REJECT_INS_MISSING).all()
    bad_key = has_ins & (batch.defect == defect_code("bad_nir_key"))
    assert (doc[bad_key] == oc.REJECT_BAD_INS).all()
    missing = has_ins & (batch.defect == defect_code("missing_ins"))
    assert (doc[missing] == oc.REJECT_INS_MISSING).all()
    clean = has_ins & (batch.defect == 0) & batch.qualified & ((status & INSI_OK) != 0)
    assert (doc[clean] == oc.ACCEPTED).all()
    opposed = (status & OPPOSED) != 0
    assert (svc[opposed & batch.installed] == oc.REJECT_OPPOSED).all()
    assert (svc[((status & CREATED) != 0) & ((status & (OPPOSED | CLOSED)) == 0) & batch.installed] == oc.ACCEPTED).all()


def test_identities_are_deterministic_valid_and_follow_the_patient():
    birth = np.datetime64("1984-07-09")
    nir = payloads.patient_identity(7, 123, int(HAS_INS | INSI_OK), 2, birth, "35")
    assert nir == payloads.patient_identity(7, 123, int(HAS_INS | INSI_OK), 2, birth, "35")
    assert nir != payloads.patient_identity(8, 123, int(HAS_INS | INSI_OK), 2, birth, "35")
    ins = nir["ins"]
    assert is_valid_nir(ins) and ins[0] == "2" and ins[1:5] == "8407" and ins[5:10] == nir["birth_place"] == "35238"
    assert nir["sex"] == "female" and nir["birth_date"] == "1984-07-09" and nir["ins_oid"] == "1.2.250.1.213.1.4.10"
    nia = payloads.patient_identity(7, 124, int(HAS_INS | IS_NIA), 1, birth, "35")
    assert is_valid_nir(nia["ins"]) and nia["ins"][0] == "7" and nia["ins"][5:7] == "99"
    assert payloads.patient_identity(7, 125, 0, 1, birth, "35")["ins"] is None
    fac = payloads.facility_identity(7, "gp", 3, "2A", "Médecins de ville")
    assert fac == payloads.facility_identity(7, "gp", 3, "2A", "Médecins de ville")
    assert check_id_nat_ps(fac["author_id_nat_ps"]).kind == "RPPS"
    assert check_id_nat_struct(fac["org_id_nat_struct"]).kind == "FINESS"
    assert fac["org_id_nat_struct"][1:5] == "0020"  # test range 00, then the département (2A → 20)


def test_identity_status_follows_insi_and_the_check():
    full = int(HAS_INS | INSI_OK)
    assert payloads.identity_status(full, True) == "QUAL"
    assert payloads.identity_status(full, False) == "RECUP"
    assert payloads.identity_status(int(HAS_INS), True) == "VALI"
    assert payloads.identity_status(int(HAS_INS), False) == "PROV"
    assert payloads.identity_status(int(INSI_OK), True) == "VALI"  # no INS: never QUAL


def test_fhir_verdict_depends_on_the_rule_context():
    from agents.fhir import synthetic_document

    doc = synthetic_document(3, identity_status="RECUP")
    assert payloads.judge_row(doc, require_qualified_identity=False).verdict == "accepted"
    judged = payloads.judge_row(doc, require_qualified_identity=True)
    assert judged.verdict == "identity_not_qualified" and "IDV-001" in judged.errors


@pytest.mark.slow
def test_a_disagreement_fails_segur_run_after_writing_its_folder(monkeypatch, tmp_path, capsys):
    from simulator.cli import main

    monkeypatch.setattr(payloads, "fhir_verdict", lambda findings, **_: "accepted")
    scenario = tmp_path / "short.toml"
    scenario.write_text(f'name = "short"\nextends = "{BASELINE}"\n[run]\nend = 2023-12-31\n'
                        '[sectors.gp.defects."*"]\nwrong_oid = 0.05\n')
    out = tmp_path / "run"
    code = main(["run", str(scenario), "--scale", "0.002", "--seed", "3", "--out", str(out), "--quiet"])
    assert code == 3
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failure"].startswith("payload verdicts: ") and manifest["payloads"]["disagreements"] > 0
    err = capsys.readouterr().err
    assert "payload verdicts" in err and "Traceback" not in err
