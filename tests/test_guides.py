"""The vendored guide artefacts: provenance, value sets, profiles, and the verdict on every
official example the project ships (CLI exit code and error rule ids, file by file)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from agents.fhir import validate_resource
from agents.fhir.guides import (
    GUIDES_DIR,
    example_files,
    example_path,
    fixed_value,
    manifest,
    profile,
    required_paths,
    value_set,
)
from agents.fhir.guides.refresh import SOURCES
from agents.fhir.guides.refresh import main as refresh_main
from agents.fhir.profiles import recognise
from tests.support_fhir import run_cli

#: Every official example shipped, with the exit code `segur validate` must give, the error rule
#: ids, and the profile recognised. The PDSm examples all use the placeholder INS 123456789012345
#: whose NIR key is wrong (INS-004): that stays an error; nothing else they publish may be one.
EXPECTED = {
    "Bundle-example-annexe-fhir-document.json": (1, {"INS-004"}, "bundle"),
    "Bundle-example-annexe-searchset-documentreferences.json": (1, {"INS-004"}, "pdsm-searchset"),
    "Bundle-example-td2-1-remplacement.json": (1, {"INS-004"}, "pdsm-replacement"),
    "Bundle-example-td2-iti65-lot-soumission.json": (1, {"INS-004"}, "dmp-iti65"),
    "DocumentReference-doc-x-id.json": (1, {"INS-004"}, "pdsm-document-reference"),
    "DocumentReference-example-td2-iti105-publication-simplifiee.json": (
        1, {"INS-004"}, "pdsm-simplified-publish",
    ),
    # Cahier de liaison (published IG): placeholder INS 123456789012244, wrong key as well, a
    # warning outside DMP payloads (INS-011): the guide fixes the INS's system and type, not its key
    "Bundle-cdl-bundle-creation-note.json": (0, set(), "cdl-transaction"),
    "Patient-0d920958-b596-4b91-af67-9bafc707820b.json": (0, set(), "fr-core-patient-ins"),
    # Annuaire Santé (built guide, gh-pages): fictitious RPPS / FINESS numbers fail their
    # check digit, a warning (PS-003, ORG-002), never an error
    "Organization-158480.json": (0, set(), "annuaire-organization"),
    "Organization-158480DP.json": (0, set(), "annuaire-organization"),
    "Organization-481677.json": (0, set(), "annuaire-organization"),
    "Organization-481677DP.json": (0, set(), "annuaire-organization"),
    "Organization-548812.json": (0, set(), "annuaire-organization"),
    "Organization-548812DP.json": (0, set(), "annuaire-organization"),
    "Organization-example-organization-fictive.json": (0, set(), "annuaire-organization"),
    "Organization-example-organization-nancy.json": (0, set(), "annuaire-organization"),
    "Person-pp16dr-person.json": (0, set(), "ans-guide"),
    "Person-pp19dr-person.json": (0, set(), "ans-guide"),
    "Practitioner-334081.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-334081DP.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-3719500.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-3719500DP.json": (0, set(), "annuaire-practitioner"),
    "PractitionerRole-1578230.json": (0, set(), "annuaire-practitionerrole"),
    "PractitionerRole-1578230DP.json": (0, set(), "annuaire-practitionerrole"),
    "PractitionerRole-1738459.json": (0, set(), "annuaire-practitionerrole"),
    "PractitionerRole-1738459DP.json": (0, set(), "annuaire-practitionerrole"),
    "PractitionerRole-5015602.json": (0, set(), "annuaire-practitionerrole"),
    "PractitionerRole-5015602DP.json": (0, set(), "annuaire-practitionerrole"),
    # Service d'accès aux soins: searchsets of slots are not PDSm results; a regulation
    # assistant's structure-internal idNat_PS (prefix 3) is not reported outside DMP payloads
    "Bundle-ExampleBundleAgregateurSOS.json": (0, set(), "ans-guide"),
    "Bundle-ExampleBundleCPTS1.json": (0, set(), "ans-guide"),
    "Bundle-ExampleBundleCPTS2.json": (0, set(), "ans-guide"),
    "Bundle-ExampleBundlePSIndiv.json": (0, set(), "ans-guide"),
    "Organization-ExampleOrgaCPTS1.json": (0, set(), "annuaire-organization"),
    "Organization-ExampleOrgaCPTS2.json": (0, set(), "annuaire-organization"),
    "Organization-ExampleOrgaSOS1.json": (0, set(), "annuaire-organization"),
    "Organization-ExampleOrgaSOS2.json": (0, set(), "annuaire-organization"),
    "Practitioner-ExamplePractitioner.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitioner2.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitioner3.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitionerRegul1.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitionerRegul2.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitionerRegul3.json": (0, set(), "annuaire-practitioner"),
    "Practitioner-ExamplePractitionerRegul4.json": (0, set(), "ans-guide"),
    "PractitionerRole-ExamplePractitionerRoleAgregateur.json": (0, set(), "ans-guide"),
    "PractitionerRole-ExamplePractitionerRoleAgregateur2.json": (0, set(), "ans-guide"),
    "PractitionerRole-ExamplePractitionerRoleAgregateur3.json": (0, set(), "ans-guide"),
    "PractitionerRole-ExamplePractitionerRoleAgregateur4.json": (0, set(), "ans-guide"),
    # Cercle de soins: placeholder INS (INS-011, a warning outside DMP payloads); a VALI identity status is a warning (IDV-007),
    # not the DMP's IDV-001: a care-team transaction is not a DMP payload
    "Bundle-cds-bundle-transaction-creation-example.json": (0, set(), "cds-transaction"),
    "CareTeam-cds-careteam-example.json": (0, set(), "ans-guide"),
    "Organization-cds-organization-example.json": (0, set(), "ans-guide"),
    "Patient-cds-patient-example.json": (0, set(), "fr-core-patient-ins"),
    "RelatedPerson-cds-relatedperson-example.json": (0, set(), "ans-guide"),
    # Télésurveillance: observations and device; its FR Core INS Patient has the placeholder INS
    "Device-phd-74E8FFFEFF051C00.json": (0, set(), "resource"),
    "Observation-TLSVObservationExample01.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExample02.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExample03.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExample04.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExample05.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExampleDAS28-01.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExampleDAS28-02.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExampleDAS28-03.json": (0, set(), "ans-guide"),
    "Observation-TLSVObservationExampleDAS28-04.json": (0, set(), "ans-guide"),
    "Patient-ExamplefrCorePatient001.json": (0, set(), "fr-core-patient-ins"),
    # Entrepôts de données de santé (socle commun): a patient with no INS
    "Patient-patient-example-1.json": (0, set(), "ans-guide"),
    # Gestion d'agendas partagés
    "Appointment-example-req-appointment.json": (0, set(), "ans-guide"),
    "Schedule-example.json": (0, set(), "ans-guide"),
    "Slot-example.json": (0, set(), "ans-guide"),
    # Guides whose StructureDefinitions are compiled (PRF-003..PRF-005): their official examples
    # meet their profiles' cardinalities, fixed values and required bindings, and FHIR R4's
    "Bundle-HAS-01-Presc-Pantoprazole-MV.json": (0, set(), "eprescription-bundle"),
    "Bundle-HAS-04a-Presc-Paracetamol.json": (0, set(), "eprescription-bundle"),
    # its `#patient-…` references name entries of the searchset, not contained resources (REF-004)
    # and its INS's NIR key is wrong (INS-011): warnings outside DMP payloads
    "Bundle-TradPN13FHIR-Presc-Morphine-PCA.json": (0, set(), "eprescription-bundle"),
    "ResearchStudy-2022-500014-26-00-example.json": (0, set(), "ans-guide"),
    "ResearchStudy-fake-study-example.json": (0, set(), "ans-guide"),
    "AuditEvent-TDEAuditEventExample.json": (0, set(), "ans-guide"),
    "AuditEvent-TDEAuditEventExample-2.json": (0, set(), "ans-guide"),
    "CommunicationRequest-com1.json": (0, set(), "ans-guide"),
    "CommunicationRequest-com2.json": (0, set(), "ans-guide"),
    "Subscription-sub1.json": (0, set(), "ans-guide"),
    "SupplyDelivery-dmi-supplydelivery-ligne-example.json": (0, set(), "ans-guide"),
    "Procedure-dmi-procedure-example.json": (0, set(), "ans-guide"),
    # request.url names the DMI profiles (BDL-011); an illustrative idNat_Struct (ORG-003): warnings
    "Bundle-dmi-bundle-delivery-example.json": (0, set(), "ans-guide"),
    "Organization-dmi-organization-ej-example.json": (0, set(), "annuaire-organization"),
    # Transfert de données DUI (TDDUI): its transaction names profiles in request.url, a
    # warning outside DMP payloads (BDL-011)
    "Bundle-TDDUIBundleExample.json": (0, set(), "ans-guide"),
    "DocumentReference-TDDUIDocumentReferenceExample.json": (0, set(), "ans-guide"),
    # IHE MHD's own ITI-65 bundles (4.2.2) declare MHD's provide-bundle profiles: judged as MHD
    # (cardinalities, fixed values, bindings of the declared profiles): guide-valid, no error.
    # The simulated DMP judges them as DMP submissions (`--as iti65`): refused (no INS…;
    # tests/test_validate_as.py, tests/test_server_validator.py)
    "Bundle-ex-comprehensiveProvideDocumentBundleSimple.json": (0, set(), "mhd-iti65"),
    # the two-document ITI-65 (both DocumentReferences share one masterIdentifier: DOC-021, a warning)
    "Bundle-ex-comprehensiveProvideDocumentBundleMultiple.json": (0, set(), "mhd-iti65"),
    # the addToFolder ITI-65 (a Folder updated by PUT List)
    "Bundle-ex-ProvideDocumentBundle-addToFolder.json": (0, set(), "mhd-iti65"),
}


def test_every_shipped_example_is_listed() -> None:
    assert {p.name for p in example_files()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_example_verdict(name: str, capsys, monkeypatch) -> None:
    exit_code, error_ids, key = EXPECTED[name]
    path = example_path(name)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert recognise(data).key == key
    findings = validate_resource(data, structural=True)
    assert {f.rule_id for f in findings if f.severity == "error"} == error_ids
    assert all("1234567890122" in f.message or "123456789012345" in f.message
               for f in findings if f.rule_id == "INS-004")
    code, out, err = run_cli(["validate", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == exit_code, err
    outcome = json.loads(out)
    codes = {i["details"]["coding"][0]["code"] for i in outcome["issue"] if i["severity"] == "error"}
    assert codes == error_ids


# --- provenance -----------------------------------------------------------------------------------


def test_manifest_names_repository_path_and_commit_of_every_vendored_file() -> None:
    rows = manifest()["files"]
    listed = {r["file"] for r in rows}
    for row in rows:
        if row["guide"] == "fhir-core":  # the R4 definitions, from an npm package (no git commit)
            assert row["repository"].startswith("npm package ") and row["commit"].startswith("4.0.1-")
            assert row["date"] and row["licence"]
            continue
        assert row["repository"].startswith(
            ("https://github.com/ansforge/IG-", "https://github.com/ansforge/interop-ig-", "https://github.com/IHE/")
        )
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]) and row["path"] and row["transform"]
        if row["file"].startswith("structure/"):
            assert row["date"] and row["licence"]
        assert (GUIDES_DIR / row["file"]).is_file()
    vendored = {
        str(p.relative_to(GUIDES_DIR)) for p in GUIDES_DIR.rglob("*.json") if p.name != "manifest.json"
    }
    assert vendored == listed
    assert sum(p.stat().st_size for p in GUIDES_DIR.rglob("*") if p.is_file()) < 2_000_000


def test_value_sets_are_the_guides() -> None:
    j57 = value_set("J57")["https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"]
    assert {"10", "11", "52", "90"} <= set(j57)  # 52: certificates, refused by the old list
    j02 = value_set("J02")["https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"]
    assert "SA01" in j02 and "SA11" not in j02
    j66 = value_set("J66")["https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc"]
    assert {"11488-4", "34112-3", "11369-6"} <= set(j66) and "11493-4" not in j66  # retired
    assert "ETABLISSEMENT" in value_set("J04")["https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice"]


def test_profiles_read_from_the_guides() -> None:
    assert "custodian" in required_paths("pdsm-comprehensive-document-reference")
    assert "content.attachment.hash" in required_paths("pdsm-comprehensive-document-reference")
    assert fixed_value("cdl-bundle-creation-note", "type") == "transaction"
    assert fixed_value("cdl-bundle-maj-note", "entry[DocumentReference].request.method") == "PUT"
    assert profile("pdsm-simplified-publish")["canonical"].startswith("https://interop.esante.gouv.fr/ig/fhir/pdsm/")


def test_refresh_rebuilds_examples_and_profiles_from_a_clone(tmp_path: Path, monkeypatch) -> None:
    """The refresh script reads a git repository at HEAD and records its commit."""
    repo = tmp_path / "guide"
    (repo / "input" / "fsh" / "profiles").mkdir(parents=True)
    (repo / "sushi-config.yaml").write_text("id: x\ncanonical: https://example.org/ig\n", encoding="utf-8")
    (repo / "input" / "fsh" / "profiles" / "P.fsh").write_text(
        "Profile: P\nParent: Bundle\nId: p-bundle\n* type = #transaction\n* entry 1..\n"
        "* entry.fullUrl 0..0\n",
        encoding="utf-8",
    )
    run = {"cwd": repo, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "-A"], **run)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "x"], **run
    )
    commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.decode().strip()
    out_dir = tmp_path / "vendored"
    monkeypatch.setattr("agents.fhir.guides.refresh.GUIDES_DIR", out_dir)
    monkeypatch.setattr("agents.fhir.guides.refresh.MANIFEST_PATH", out_dir / "manifest.json")
    out_dir.mkdir()
    assert refresh_main(["--source", f"cdl={repo}"]) == 0
    written = json.loads((out_dir / SOURCES["cdl"].target).read_text(encoding="utf-8"))
    assert written["p-bundle"]["canonical"] == "https://example.org/ig/StructureDefinition/p-bundle"
    assert written["p-bundle"]["fixed"] == [{"path": "type", "value": "transaction"}]
    assert {"path": "entry.fullUrl", "min": 0, "max": "0"} in written["p-bundle"]["cardinality"]
    rows = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert rows and all(r["commit"] == commit for r in rows)


def test_refresh_takes_built_examples_from_gh_pages_without_generated_parts(tmp_path: Path, monkeypatch) -> None:
    """A built guide's examples are read on its ``gh-pages`` branch; the refresh drops the
    generated narrative and the empty translations, and keeps everything the author wrote."""
    repo = tmp_path / "annuaire"
    (repo / "main" / "ig").mkdir(parents=True)
    translation = "http://hl7.org/fhir/StructureDefinition/translation"
    built = {
        "resourceType": "Practitioner", "id": "p1",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810003461033"}],
        "name": [{"family": "Dupont"}],
        "_gender": {"extension": [{"url": translation, "extension": [
            {"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": ""}]}]},
        "_birthDate": {"extension": [{"url": translation, "extension": [
            {"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": "kept"}]}]},
        "gender": "male", "birthDate": "1970-01-01",
    }
    (repo / "main" / "ig" / "Practitioner-p1.json").write_text(json.dumps(built), encoding="utf-8")
    (repo / "main" / "ig" / "StructureDefinition-x.json").write_text("{}", encoding="utf-8")
    for other in ("PractitionerRole", "Organization", "Person"):  # every pattern must match
        (repo / "main" / "ig" / f"{other}-o.json").write_text(json.dumps({"resourceType": other}), encoding="utf-8")
    run = {"cwd": repo, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q", "-b", "gh-pages"], **run)
    subprocess.run(["git", "add", "-A"], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "x"], **run)
    commit = subprocess.run(["git", "rev-parse", "gh-pages"], **run).stdout.decode().strip()
    out_dir = tmp_path / "vendored"
    out_dir.mkdir()
    monkeypatch.setattr("agents.fhir.guides.refresh.GUIDES_DIR", out_dir)
    monkeypatch.setattr("agents.fhir.guides.refresh.MANIFEST_PATH", out_dir / "manifest.json")
    assert refresh_main(["--source", f"annuaire={repo}"]) == 0
    written = json.loads((out_dir / "annuaire" / "examples" / "Practitioner-p1.json").read_text(encoding="utf-8"))
    assert "text" not in written and "_gender" not in written
    assert written["_birthDate"] == built["_birthDate"]
    assert {k: v for k, v in written.items() if k != "_birthDate"} == {
        k: v for k, v in built.items() if k not in ("text", "_gender", "_birthDate")
    }
    assert not (out_dir / "annuaire" / "examples" / "StructureDefinition-x.json").exists()
    rows = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert len(rows) == 4 and all(r["commit"] == commit for r in rows)
    row = next(r for r in rows if r["file"] == "annuaire/examples/Practitioner-p1.json")
    assert row["commit"] == commit and row["path"] == "main/ig/Practitioner-p1.json"
    assert row["repository"] == "https://github.com/ansforge/IG-fhir-annuaire"


def test_every_vendored_example_has_its_guide_source() -> None:
    """Each shipped example's manifest row names a source the refresh script knows."""
    rows = {r["file"]: r for r in manifest()["files"]}
    for path in example_files():
        row = rows[str(path.relative_to(GUIDES_DIR))]
        assert row["guide"] in SOURCES, row
        assert row["repository"] == f"https://github.com/{SOURCES[row['guide']].repository}"
