"""`segur validate`: official examples, broken variants, unusable inputs (exit 2), JSON output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from agents.fhir import render_bundle, synthetic_document, synthetic_documents
from agents.fhir.profiles import recognise
from tests.support_fhir import (
    ITI65,
    REPO,
    example_files,
    load_example,
    placeholder_ins_examples,
    run_cli,
    segur_command,
)

MiB = 1024 * 1024


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    def run(*argv: object) -> tuple[int, str, str]:
        code, out, err = run_cli(["validate", *map(str, argv)], capsys, monkeypatch)
        assert "Traceback" not in out + err
        return code, out, err

    return run


def write_json(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- official examples -------------------------------------------------------------------------


@pytest.mark.parametrize("path", placeholder_ins_examples(), ids=lambda p: p.name)
def test_official_example_reports_the_placeholder_nir_key(cli, path: Path) -> None:
    recognised = recognise(json.loads(path.read_text(encoding="utf-8")))
    dmp = recognised.key.startswith(("dmp-", "pdsm-")) or not recognised.national
    key_rule = "INS-004" if dmp else "INS-011"  # the DMP's error; a warning in other guides
    code, out, err = cli(path)
    assert code == (1 if dmp else 0), err
    assert key_rule in out and "bad NIR key" in out and "123456789012" in out
    error_lines = [line.split()[0] for line in out.splitlines() if " error " in f" {line} " and line.startswith("  ")]
    assert set(error_lines) == ({"INS-004"} if dmp else set())  # the shape is accepted
    assert err == ""


def test_valid_rendered_bundle_exits_0(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "valid.json", render_bundle(synthetic_document(21)))
    code, out, _ = cli(path)
    assert code == 0
    assert "0 error(s)" in out and "DMP verdict: accepted" in out
    assert "INS-006" in out  # test OID: not a production identity


def test_text_output_lists_rule_severity_path_message(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "bad.json", render_bundle(synthetic_document(22), defect="bad_author_id"))
    code, out, _ = cli(path)
    assert code == 1
    line = next(line for line in out.splitlines() if "PS-001" in line)
    assert "error" in line and ".resource.contained[1].identifier[0].value" in line
    assert "8 + RPPS" in out


def _codes(outcome: dict, severity: str = "error") -> set[str]:
    return {
        i["details"]["coding"][0]["code"]
        for i in outcome["issue"]
        if i["severity"] == severity and "coding" in i.get("details", {})
    }


def _file_of(outcome: dict) -> str:
    return next(e["valueString"] for e in outcome["extension"] if e["url"].endswith("validated-file"))


def test_json_one_file_is_its_operation_outcome(cli, tmp_path: Path) -> None:
    bad = write_json(tmp_path, "bad.json", render_bundle(synthetic_document(23), defect="missing_ins"))
    code, out, _ = cli("--format", "json", bad)
    assert code == 1
    outcome = json.loads(out)
    OperationOutcome.model_validate(outcome)
    assert _file_of(outcome) == str(bad)
    assert "INS-001" in _codes(outcome)


def test_json_several_files_is_a_collection_bundle(cli, tmp_path: Path) -> None:
    good = write_json(tmp_path, "good.json", render_bundle(synthetic_document(23)))
    bad = write_json(tmp_path, "bad.json", render_bundle(synthetic_document(23), defect="missing_ins"))
    code, out, _ = cli("--format", "json", good, bad)
    assert code == 1
    report = json.loads(out)
    Bundle.model_validate(report)
    assert report["type"] == "collection"
    outcomes = [e["resource"] for e in report["entry"]]
    assert [_file_of(o) for o in outcomes] == [str(good), str(bad)]
    assert [e["fullUrl"] for e in report["entry"]] == [good.resolve().as_uri(), bad.resolve().as_uri()]
    assert "INS-001" in _codes(outcomes[1]) and not _codes(outcomes[0])


def test_ndjson_one_outcome_per_line(cli, tmp_path: Path) -> None:
    files = [write_json(tmp_path, f"d{i}.json", render_bundle(synthetic_document(30 + i))) for i in range(3)]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{", encoding="utf-8")
    code, out, err = cli("--format", "ndjson", *files, garbage)
    lines = out.splitlines()
    assert len(lines) == 4 and code == 1
    outcomes = [json.loads(line) for line in lines]
    for o in outcomes:
        OperationOutcome.model_validate(o)
    assert [_file_of(o) for o in outcomes] == [str(f) for f in [*files, garbage]]
    assert _codes(outcomes[3]) == {"INP-001"} and str(garbage) in err


def test_batch_goes_on_past_unusable_files(cli, tmp_path: Path) -> None:
    good = write_json(tmp_path, "good.json", render_bundle(synthetic_document(25)))
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    missing = tmp_path / "missing.json"
    code, out, err = cli(bad, good, missing)
    assert code == 1  # some files judged, some unusable
    assert f"{good}: 0 error(s)" in out and "DMP verdict: accepted" in out
    assert f"{bad}: 1 error(s)" in out and f"{missing}: 1 error(s)" in out and "INP-001" in out
    assert len(err.strip().splitlines()) == 2 and "not JSON" in err and "no such file" in err


def test_json_is_printed_even_when_nothing_could_be_judged(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    code, out, err = cli("--format", "json", bad)
    assert code == 2
    assert _codes(json.loads(out)) == {"INP-001"} and "not JSON" in err


def test_non_string_resource_type_inside_a_bundle_is_a_finding(cli, tmp_path: Path) -> None:
    bundle = load_example(ITI65)
    for odd in ({"x": 1}, ["List"], 7, None):
        bundle["entry"][0]["resource"]["resourceType"] = odd
        code, out, _ = cli(write_json(tmp_path, "odd.json", bundle))
        assert code == 1 and ("STR-00" in out)


def test_patient_and_document_reference_inputs(cli, tmp_path: Path) -> None:
    bundle = render_bundle(synthetic_document(24))
    docref = bundle["entry"][1]["resource"]
    patient = docref["contained"][0]
    assert cli(write_json(tmp_path, "patient.json", patient))[0] == 0
    # a standalone DocumentReference whose attachment points to a Binary elsewhere is fine
    assert cli(write_json(tmp_path, "docref.json", docref))[0] == 0


# --- broken variants of the official example --------------------------------------------------


def _docref(bundle: dict) -> dict:
    return bundle["entry"][1]["resource"]


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda b: _docref(b).pop("subject"), "INS-001"),
        (lambda b: _docref(b).__setitem__(
            "subject", {"reference": "Patient?identifier=urn:oid:1.2.250.1.213.1.4.2|123456789012345"}
        ), "INS-005"),
        (lambda b: _docref(b)["type"]["coding"][0].__setitem__("code", "00000-0"), "DOC-002"),
        (lambda b: b["entry"][0]["resource"]["entry"][0]["item"].__setitem__(
            "reference", "urn:uuid:12345678-0000-0000-0000-000000000000"
        ), "REF-001"),
        (lambda b: _docref(b).__setitem__("status", 5), "STR-001"),
        (lambda b: _docref(b).__setitem__("unknownElement", True), "STR-001"),
    ],
    ids=["missing-subject", "wrong-oid", "unknown-type", "dangling-reference", "bad-type", "unknown-element"],
)
def test_broken_variants(cli, tmp_path: Path, mutate, rule: str) -> None:
    bundle = load_example(ITI65)
    mutate(bundle)
    code, out, err = cli(write_json(tmp_path, "broken.json", bundle))
    assert code == 1, err
    assert rule in out


# --- unusable inputs: exit 2, one line naming the file ------------------------------------------


def _assert_usage_error(result: tuple[int, str, str], path: Path, why: str) -> None:
    code, out, err = result
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and why in lines[0]
    assert out == ""


def test_not_json(cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("this is { not json", encoding="utf-8")
    _assert_usage_error(cli(path), path, "not JSON")


def test_empty_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("   \n", encoding="utf-8")
    _assert_usage_error(cli(path), path, "empty")


def test_too_big_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as f:  # sparse: 50 MiB on paper, nothing on disk
        f.truncate(50 * MiB)
    _assert_usage_error(cli(path), path, "20 MiB limit")


def test_json_array(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "array.json", [load_example(ITI65)])
    _assert_usage_error(cli(path), path, "not a FHIR resource")


def test_non_fhir_object(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "object.json", {"name": "not fhir"})
    _assert_usage_error(cli(path), path, "no resourceType")


def test_unknown_resource_type(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "foo.json", {"resourceType": "Foo"})
    _assert_usage_error(cli(path), path, "not a FHIR R4B resource type")


def test_any_r4b_resource_is_judged(cli, tmp_path: Path) -> None:
    path = write_json(tmp_path, "obs.json", {"resourceType": "Observation", "status": "final"})
    code, out, err = cli(path)
    assert code == 1 and "STR-001" in out  # Observation.code is required (1..1) in R4B
    assert "PRF-001" in out and err == ""
    path = write_json(tmp_path, "obs.json", {
        "resourceType": "Observation", "status": "final", "code": {"text": "poids"},
    })
    code, out, _ = cli(path)
    assert code == 0 and "PRF-001" in out


def test_missing_file_and_directory(cli, tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    _assert_usage_error(cli(missing), missing, "no such file")
    _assert_usage_error(cli(tmp_path), tmp_path, "not a regular file")


def test_binary_garbage(cli, tmp_path: Path) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    _assert_usage_error(cli(path), path, "not UTF-8")


# --- the installed entry point -----------------------------------------------------------------


def test_subprocess_entry_point(tmp_path: Path) -> None:
    files = [p for p in example_files() if p.name == ITI65]
    command = [*segur_command(), "validate", str(files[0])]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "INS-004" in done.stdout
    assert "Traceback" not in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    done = subprocess.run([*command[:-1], str(bad)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not JSON" in done.stderr
    assert "Traceback" not in done.stderr


# --- bounded memory: files are judged one at a time -----------------------------------------------


#: Runs ``segur`` and prints the process's own peak RSS (VmHWM, reset by exec unlike ru_maxrss).
_MEASURED = (
    "import sys, simulator.cli as c\n"
    "code = c.main(sys.argv[1:])\n"
    "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "print(hwm.split()[1], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_rss_kib(args: list[str]) -> int:
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    return int(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_does_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    """Several large files cost the memory of one (issue: 6 × 13.6 MB reached 3.9 GB)."""
    entries = []
    for doc in synthetic_documents(5, 250):
        docref = render_bundle(doc)["entry"][1]["resource"]
        entries.append({"fullUrl": f"DocumentReference/{docref['id']}", "resource": docref})
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    files = [write_json(tmp_path, f"s{i}.json", bundle) for i in range(4)]
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc/self/status (Linux) to read the peak memory")
    command = ["validate", "--format", "ndjson"]
    tiny = write_json(tmp_path, "tiny.json", {"resourceType": "Basic", "code": {"text": "x"}})
    base = _peak_rss_kib([*command, str(tiny)])  # interpreter, fhir.resources, rules
    one = _peak_rss_kib([*command, str(files[0])])
    four = _peak_rss_kib([*command, *map(str, files)])
    per_file = one - base
    assert per_file > 4 * 1024, (base, one)  # a 1 MB searchset costs megabytes: measurable
    assert four < one + max(per_file // 2, 8 * 1024), (one, four, per_file)
