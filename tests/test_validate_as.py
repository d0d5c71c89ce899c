"""`segur validate --as iti65|pdsm|mhd FILE`: a file is judged as that profile even when it
declares none; a resource type the profile does not cover is an unusable input."""

from __future__ import annotations

import json

from agents.identity import make_nir
from tests.support_fhir import ITI65, load_example, run_cli

NIR = make_nir("female", 1979, 3, "75056", 17)
RECOGNISED = "urn:segur-testbed:fhir:recognised-profile"


def undeclared_iti65(tmp_path, drop_date: bool = False):
    """The PDSm ITI-65 example with a valid INS and every meta.profile removed."""
    bundle = json.loads(json.dumps(load_example(ITI65)).replace("123456789012345", NIR))
    bundle.pop("meta", None)
    for e in bundle["entry"]:
        e["resource"].pop("meta", None)
        if drop_date and e["resource"]["resourceType"] == "List":
            e["resource"].pop("date")
    path = tmp_path / "iti65.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def issues(out: str) -> list[str]:
    return [i["details"]["coding"][0]["code"] for i in json.loads(out)["issue"] if i["severity"] == "error"]


def test_as_mhd_judges_an_undeclared_bundle_by_mhds_profiles(tmp_path, capsys, monkeypatch) -> None:
    path = undeclared_iti65(tmp_path)
    code, out, _ = run_cli(["validate", "--as", "mhd", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 0, out
    assert json.loads(out)["extension"][1] == {"url": RECOGNISED, "valueCode": "mhd-iti65"}
    path = undeclared_iti65(tmp_path, drop_date=True)
    code, out, _ = run_cli(["validate", "--as", "mhd", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 1 and "PRF-003" in issues(out)
    code, out, _ = run_cli(["validate", "--as", "mhd", str(path)], capsys, monkeypatch)
    assert "IHE.MHD.Comprehensive.ProvideBundle (--as mhd)" in out and "requires date" in out


def test_as_pdsm_and_iti65_agree_with_the_declared_profile(tmp_path, capsys, monkeypatch) -> None:
    path = undeclared_iti65(tmp_path, drop_date=True)
    for name in ("iti65", "pdsm"):
        code, out, _ = run_cli(["validate", "--as", name, "--format", "json", str(path)], capsys, monkeypatch)
        assert code == 1 and issues(out).count("PRF-003") == 1


def test_as_a_profile_that_does_not_cover_the_resource(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p"}), encoding="utf-8")
    code, out, err = run_cli(["validate", "--as", "iti65", str(path)], capsys, monkeypatch)
    assert code == 2
    assert str(path) in err and "--as iti65 judges Bundle, not Patient" in err and "Traceback" not in err
    code, _, err = run_cli(["validate", "--as", "fhir", str(path)], capsys, monkeypatch)
    assert code == 2 and "invalid choice" in err


def test_as_mhd_accepts_mhds_own_iti65_the_dmp_refuses(tmp_path, capsys, monkeypatch) -> None:
    from agents.fhir.guides import example_path

    path = example_path("Bundle-ex-comprehensiveProvideDocumentBundleSimple.json")
    code, out, _ = run_cli(["validate", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 0 and issues(out) == []  # it declares IHE MHD's profiles: judged as MHD by default
    code, out, _ = run_cli(["validate", "--as", "iti65", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 1 and "INS-002" in issues(out)  # as a DMP submission (what the simulated DMP does): no INS
    code, out, _ = run_cli(["validate", "--as", "mhd", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 0 and issues(out) == []
    broken = json.loads(path.read_text(encoding="utf-8"))
    broken["entry"][0]["resource"]["mode"] = "snapshot"  # one defect MHD forbids
    copy = tmp_path / "snapshot.json"
    copy.write_text(json.dumps(broken), encoding="utf-8")
    code, out, _ = run_cli(["validate", "--as", "mhd", "--format", "json", str(copy)], capsys, monkeypatch)
    assert code == 1 and issues(out) == ["PRF-004"]
