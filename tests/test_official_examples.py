"""Every official example the project vendors is guide-valid: no error on any of them (the DMP's
own PDSm examples excepted, whose placeholder INS the DMP refuses), IHE MHD's own ITI-65 judged
`--as mhd`; and one-defect variants of each newly compiled guide's examples are refused with the
rule the guide's text requires (a required element removed, a wrong fixed value, a code outside a
required binding, a wrong INS OID or type)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agents.fhir import validate_resource
from agents.fhir.guides import GUIDES_DIR, example_files, example_path, manifest
from agents.fhir.profiles import recognise
from tests.support_fhir import ITI65, PLACEHOLDER_INS, load_example, run_cli

GUIDE = {GUIDES_DIR / r["file"]: r["guide"] for r in manifest()["files"]}


def errors(resource: dict, as_profile: str | None = None) -> set[str]:
    findings = validate_resource(resource, structural=True, as_profile=as_profile)
    return {f.rule_id for f in findings if f.severity == "error"}


def is_dmp_payload(resource: dict) -> bool:
    """A DMP payload (ITI-65, PDSm resource, shape with no national profile): the DMP's rules."""
    recognised = recognise(resource)
    return recognised.key.startswith(("dmp-", "pdsm-")) or not recognised.national


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_no_official_example_has_an_error(path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if GUIDE[path] == "mhd-examples":
        assert errors(data, as_profile="mhd") == set()  # IHE MHD alone: not a DMP submission
        return
    findings = validate_resource(data, structural=True)
    bad = [f for f in findings if f.severity == "error"]
    if is_dmp_payload(data):
        # the DMP guide's examples carry the placeholder INS whose NIR key the DMP refuses
        assert {f.rule_id for f in bad} <= {"INS-004"}, bad
        assert all(any(i in f.message for i in PLACEHOLDER_INS) for f in bad)
    else:
        assert bad == [], bad


#: IHE MHD's ITI-65 examples published only as FSH, compiled by hand (tests/fixtures/ihe-mhd/README.md)
MHD_FIXTURES = sorted((Path(__file__).parent / "fixtures" / "ihe-mhd").glob("*.json"))
MHD_EXAMPLES = [p for p in example_files() if GUIDE[p] == "mhd-examples"] + MHD_FIXTURES


@pytest.mark.parametrize("path", MHD_EXAMPLES, ids=lambda p: p.name)
def test_segur_validate_as_mhd_accepts_ihe_mhds_own_examples(path, capsys, monkeypatch) -> None:
    code, out, err = run_cli(["validate", "--as", "mhd", "--format", "json", str(path)], capsys, monkeypatch)
    assert code == 0, out + err
    assert not [i for i in json.loads(out)["issue"] if i["severity"] == "error"]


def test_the_warnings_that_replace_false_errors_are_reported() -> None:
    """The official examples keep their findings, as warnings: nothing is silently dropped."""
    def warnings(name: str, as_profile: str | None = None) -> set[str]:
        data = json.loads(example_path(name).read_text(encoding="utf-8"))
        findings = validate_resource(data, structural=True, as_profile=as_profile)
        return {f.rule_id for f in findings if f.severity == "warning"}

    assert {"REF-004", "INS-011"} <= warnings("Bundle-TradPN13FHIR-Presc-Morphine-PCA.json")
    assert "BDL-011" in warnings("Bundle-dmi-bundle-delivery-example.json")
    assert "BDL-011" in warnings("Bundle-TDDUIBundleExample.json")
    assert "ORG-003" in warnings("Organization-dmi-organization-ej-example.json")
    assert "BDL-011" in warnings("Bundle-ex-ProvideDocumentBundle-addToFolder.json", "mhd")
    assert "DOC-021" in warnings("Bundle-ex-comprehensiveProvideDocumentBundleMultiple.json", "mhd")
    replace = json.loads((Path(__file__).parent / "fixtures" / "ihe-mhd" /
                          "Bundle-ex-comprehensiveProvideDocumentBundleReplace.json").read_text(encoding="utf-8"))
    assert "ATT-005" in {f.rule_id for f in validate_resource(replace, as_profile="mhd")}
    assert errors(replace) == set()  # it declares MHD: judged as MHD by default
    assert "ATT-001" in errors(replace, "iti65")  # judged as a DMP submission, the wrong size is refused


# --- one-defect variants ----------------------------------------------------------------------------


def _drop(*keys: str) -> Callable[[dict], None]:
    def mutate(res: dict) -> None:
        node = res
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return mutate


def _set(value: object, *keys: str) -> Callable[[dict], None]:
    def mutate(res: dict) -> None:
        node = res
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return mutate


def _drop_extension(suffix: str) -> Callable[[dict], None]:
    def mutate(res: dict) -> None:
        res["extension"] = [e for e in res["extension"] if not e["url"].endswith(suffix)]
    return mutate


def _patient_ins(**changes: object) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        ins = patient["identifier"][0]
        for key, value in changes.items():
            ins[key] = value
    return mutate


def _entry(index: int, mutate: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda bundle: mutate(bundle["entry"][index])


def _dangling_in_collection(bundle: dict) -> None:
    bundle["type"] = "collection"  # not a search result: a `#id` must name a contained resource
    bundle["entry"][1]["resource"]["subject"]["reference"] = "#nobody"
    for entry in bundle["entry"]:
        entry.pop("search", None)


INS_NIA = {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "INS-NIA"}]}

#: (example, what is broken, how, the error rule it must raise, judged as)
VARIANTS = [
    # traçabilité des DMI
    ("Procedure-dmi-procedure-example.json", "bodySite removed (1..1)", _drop("bodySite"), "PRF-003", None),
    ("Procedure-dmi-procedure-example.json", "status outside its required binding",
     _set("bogus", "status"), "PRF-006", None),
    ("SupplyDelivery-dmi-supplydelivery-ligne-example.json", "basedOn removed (1..1)", _drop("basedOn"),
     "PRF-003", None),
    ("Bundle-dmi-bundle-delivery-example.json", "POST url names another resource type",
     _entry(0, _set("Patient", "request", "url")), "BDL-009", None),
    # traçabilité des événements
    ("AuditEvent-TDEAuditEventExample.json", "action outside its required binding",
     _set("Z", "action"), "PRF-006", None),
    ("AuditEvent-TDEAuditEventExample.json", "recorded removed (1..1)", _drop("recorded"), "PRF-003", None),
    # notifications
    ("CommunicationRequest-com1.json", "medium removed (1..1)", _drop("medium"), "PRF-003", None),
    ("CommunicationRequest-com1.json", "status outside its required binding",
     _set("bogus", "status"), "PRF-006", None),
    ("Subscription-sub1.json", "event-type extension removed (1..1)", _drop_extension("/event-type"),
     "PRF-003", None),
    ("Subscription-sub1.json", "channel.type outside its required binding",
     _set("bogus", "channel", "type"), "PRF-006", None),
    # essais cliniques
    ("ResearchStudy-fake-study-example.json", "status outside its required binding",
     _set("bogus", "status"), "PRF-006", None),
    ("ResearchStudy-fake-study-example.json", "status removed (1..1)", _drop("status"), "PRF-003", None),
    # transfert de données DUI
    ("DocumentReference-TDDUIDocumentReferenceExample.json", "status not the fixed 'current'",
     _set("superseded", "status"), "PRF-004", None),
    ("DocumentReference-TDDUIDocumentReferenceExample.json", "masterIdentifier removed (1..1)",
     _drop("masterIdentifier"), "PRF-003", None),
    ("Bundle-TDDUIBundleExample.json", "type not the fixed 'transaction'", _set("batch", "type"), "PRF-004", None),
    # ePrescription
    ("Bundle-TradPN13FHIR-Presc-Morphine-PCA.json", "INS under an unknown OID",
     _patient_ins(system="urn:oid:1.2.3.4"), "INS-005", None),
    ("Bundle-TradPN13FHIR-Presc-Morphine-PCA.json", "INS typed INS-NIA under the NIR OID",
     _patient_ins(type=INS_NIA), "INS-010", None),
    ("Bundle-TradPN13FHIR-Presc-Morphine-PCA.json", "`#id` naming nothing outside a searchset",
     _dangling_in_collection, "REF-002", None),
    # IHE MHD alone
    ("Bundle-ex-comprehensiveProvideDocumentBundleSimple.json", "SubmissionSet mode not 'working'",
     _entry(0, _set("snapshot", "resource", "mode")), "PRF-004", "mhd"),
    ("Bundle-ex-ProvideDocumentBundle-addToFolder.json", "PUT url naming another Folder id",
     _entry(2, _set("List/another-folder", "request", "url")), "BDL-009", "mhd"),
    ("Bundle-ex-comprehensiveProvideDocumentBundleSimple.json", "DocumentReference type removed (1..1)",
     _entry(1, _drop("resource", "type")), "PRF-003", "mhd"),
    ("Bundle-ex-ProvideDocumentBundle-addToFolder.json", "Folder code removed (1..1)",
     _entry(2, _drop("resource", "code")), "PRF-003", "mhd"),
]


@pytest.mark.parametrize(("name", "defect", "mutate", "rule_id", "as_profile"), VARIANTS,
                         ids=[f"{v[0].split('.')[0]}: {v[1]}" for v in VARIANTS])
def test_one_defect_variant_is_refused(name: str, defect: str, mutate, rule_id: str, as_profile) -> None:
    data = load_example(name)
    assert errors(data, as_profile) == set()
    mutate(data)
    assert rule_id in errors(data, as_profile), defect


def test_a_fhir_document_entry_is_the_document_outside_the_dmp() -> None:
    """IHE MHD 4.2's FhirDocuments slice: the attachment may point to a document Bundle entry
    (its ex-comprehensiveProvideDocumentBundleDocument); the DMP wants a Binary (BDL-004)."""
    bundle = load_example("Bundle-ex-comprehensiveProvideDocumentBundleSimple.json")
    at = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Binary")
    document = {"resourceType": "Bundle", "type": "document", "timestamp": "2013-05-28T22:12:21Z",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
                "entry": [{"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e1", "resource": {
                    "resourceType": "Composition", "status": "final", "title": "Discharge summary",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "28655-9"}]},
                    "date": "2013-05-28T22:12:21Z", "author": [{"display": "Dr Who"}]}}]}
    bundle["entry"][at] = {"fullUrl": bundle["entry"][at]["fullUrl"], "resource": document,
                           "request": {"method": "POST", "url": "Bundle"}}
    docref = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    attachment = docref["content"][0]["attachment"]
    attachment.pop("size"), attachment.pop("hash")
    attachment["contentType"] = "application/fhir+json"
    assert errors(bundle, "mhd") == set()
    assert "BDL-004" in errors(bundle, "iti65")  # judged as a DMP submission (as the simulated DMP does)


# --- what stays an error in a DMP payload -------------------------------------------------------------


def test_the_dmp_keeps_its_errors() -> None:
    """The warnings above are for other guides: a DMP ITI-65 keeps BDL-009, REF-002 and INS-004."""
    bundle = load_example(ITI65)
    docref = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "DocumentReference")
    profile_named = copy.deepcopy(bundle)
    profile_named["entry"][docref]["request"]["url"] = "PDSmDocumentReference"
    found = validate_resource(profile_named, structural=True)
    assert "BDL-009" in {f.rule_id for f in found if f.severity == "error"}
    assert "BDL-011" not in {f.rule_id for f in found}
    to_entry = copy.deepcopy(bundle)
    target = next(e["resource"]["id"] for e in to_entry["entry"] if e["resource"].get("id"))
    to_entry["entry"][docref]["resource"]["context"] = {"related": [{"reference": f"#{target}"}]}
    found = validate_resource(to_entry, structural=True)
    assert "REF-002" in {f.rule_id for f in found if f.severity == "error"}
    assert "REF-004" not in {f.rule_id for f in found}
    assert "INS-004" in errors(bundle) and "INS-011" not in {f.rule_id for f in validate_resource(bundle)}
