"""`segur validate FILE [FILE…]`: judge FHIR resources against the national guides' rules.

Any FHIR R4B resource is judged: the profile it says it follows (``meta.profile``, Bundle type,
SubmissionSet) selects its rules, an unrecognised one gets the generic checks. Files are read
and judged one at a time (memory stays that of the largest file); every file gets a verdict, an
unusable one (not JSON, not FHIR…) as an INP-001 error finding. Output: text; ``--format json``
(one file: its OperationOutcome; several: a FHIR Bundle of type collection whose entries are
the files' OperationOutcomes); ``--format ndjson`` (one OperationOutcome per line). Exit 0: no
error finding; 1: an error finding in a file, or some files unusable; 2: no file could be judged.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.core.errors import UsageError

#: Inputs above this size are refused (an INP-001 finding) rather than parsed.
MAX_INPUT_BYTES = 20 * 1024 * 1024
#: Extension naming the file an OperationOutcome judges (``valueString``: the name as given).
EXT_SOURCE_FILE = "urn:segur-testbed:fhir:validated-file"
#: Extension naming the profile the rules followed (``valueCode``: agents.fhir.profiles key).
EXT_RECOGNISED = "urn:segur-testbed:fhir:recognised-profile"


HELP = ("judge FHIR resources (DMP submissions, bundles, DocumentReference, Patient…) "
        "against the national guides' rules")
DESCRIPTION = ("Judge FHIR R4B JSON files against the test-bed's conformance rules (docs/rules.md): "
               "the profile each resource declares selects its rules. Every file gets a verdict. "
               "Exit 0 when no file has an error finding, 1 when one has (an unusable file counts "
               "as an error), 2 when no file could be judged.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `segur validate`."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="FHIR JSON file(s); - reads standard input")
    parser.add_argument(
        "--format",
        choices=("text", "json", "ndjson"),
        default="text",
        help="text (default): one line per finding; json: one file's OperationOutcome, or a "
        "Bundle (type collection) of OperationOutcomes for several files; ndjson: one "
        "OperationOutcome per line",
    )
    parser.add_argument(
        "--as",
        dest="as_profile",
        choices=("iti65", "pdsm", "mhd"),
        default=None,
        help="judge every file as that profile even when it declares none: iti65 (a PDSm ITI-65 "
        "Bundle), pdsm (PDSm Bundle, DocumentReference or SubmissionSet List), mhd (IHE MHD "
        "Comprehensive provide bundle, DocumentReference or SubmissionSet); its cardinalities, "
        "fixed values and bindings become errors",
    )


def load_resource(path: Path) -> dict[str, Any]:
    """Read one input file as a FHIR resource; UsageError (one line naming why) otherwise."""
    from fhir.resources.R4B import get_fhir_model_class

    if str(path) == "-":  # standard input, under the same size limit
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(raw) > MAX_INPUT_BYTES:
            raise UsageError(f"-: standard input is above the {MAX_INPUT_BYTES // 1024 // 1024} MiB limit of "
                             "segur validate")
        return _as_resource(path, raw, get_fhir_model_class)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise UsageError(
                f"{path}: file is {size / 1024 / 1024:.1f} MiB, above the "
                f"{MAX_INPUT_BYTES // 1024 // 1024} MiB limit of segur validate"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _as_resource(path, raw, get_fhir_model_class)


#: JSON's names for what a document holds instead of an object
_JSON_KINDS = {type(None): "null", bool: "true or false", int: "a number", float: "a number", str: "a string",
               list: "an array"}


def _as_resource(path: Path, raw: bytes, get_fhir_model_class: Any) -> dict[str, Any]:
    """The bytes of one input as a FHIR resource; UsageError (one line naming why) otherwise."""
    if not raw.strip():
        raise UsageError(f"{path}: {'standard input' if str(path) == '-' else 'file'} is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    del raw
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{path}: the JSON is {_JSON_KINDS.get(type(data), 'not an object')}, not a FHIR resource "
            "(expected an object with a resourceType)"
        )
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise UsageError(f"{path}: not a FHIR resource (no resourceType)")
    try:
        get_fhir_model_class(rtype)
    except (ValueError, KeyError):
        raise UsageError(f"{path}: resourceType {rtype!r} is not a FHIR R4B resource type") from None
    return data


def judge_file(name: str, as_profile: str | None = None) -> tuple[list[Any], Any, str | None]:
    """(findings, recognised profile or None, unusable reason or None) for one file, judged
    as ``as_profile`` (iti65, pdsm, mhd) when given."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from agents.fhir import Finding, validate_resource
    from agents.fhir.profiles import recognise
    from agents.fhir.verdict import INVALID_METADATA

    try:
        resource = load_resource(Path(name))
    except UsageError as exc:
        reason = exc.message.removeprefix(f"{name}: ")
        return [Finding("INP-001", "error", "(file)", f"unusable input: {reason}", INVALID_METADATA)], None, exc.message
    try:
        profile = recognise(resource, as_profile)
    except ValueError as exc:  # --as names a profile with nothing for this resource type
        message = f"{name}: {exc}"
        return [Finding("INP-001", "error", "(file)", f"unusable input: {exc}", INVALID_METADATA)], None, message
    try:
        findings = validate_resource(resource, structural=True, as_profile=as_profile)
    except RecursionError:
        return [Finding("STR-002", "error", "(resource)", "resource nested too deeply to validate", INVALID_METADATA)], None, None
    except Exception as exc:  # the rules tolerate odd shapes; this is the last safety net
        message = f"the validator could not read this resource ({type(exc).__name__}: {exc})"
        return [Finding("STR-002", "error", "(resource)", message, INVALID_METADATA)], None, None
    return findings, profile, None


def _outcome(name: str, findings: list[Any], profile: Any) -> dict[str, Any]:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from agents.fhir import operation_outcome

    outcome = operation_outcome(findings)
    extension = [{"url": EXT_SOURCE_FILE, "valueString": name}]
    if profile is not None:
        extension.append({"url": EXT_RECOGNISED, "valueCode": profile.key})
    return {"resourceType": "OperationOutcome", "extension": extension, "issue": outcome["issue"]}


def collection(outcomes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A FHIR Bundle (type collection) holding one OperationOutcome per file."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": Path(name).resolve().as_uri(), "resource": outcome} for name, outcome in outcomes
        ],
    }


def _text_report(name: str, findings: list[Any], profile: Any, unusable: str | None) -> str:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from agents.fhir import dmp_verdict

    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "information")}
    head = (
        f"{name}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['information']} information"
    )
    if unusable is not None:
        head += " — unusable input"
    elif profile is not None:
        head += f" — recognised as: {profile.label}"
        if profile.submission or profile.key in ("pdsm-document-reference", "pdsm-simplified-publish"):
            head += f" — DMP verdict: {dmp_verdict(findings)}"
    lines = [head]
    for f in findings:
        lines.append(f"  {f.rule_id:<8} {f.severity:<11} {f.path}")
        lines.append(f"           {f.message}")
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    """Judge each file in turn; print the report; 0, 1 (errors found) or 2 (nothing judged)."""
    names = list(dict.fromkeys(args.files))
    judged = any_error = False
    outcomes: list[tuple[str, dict[str, Any]]] = []
    reports: list[str] = []
    for name in names:
        findings, profile, unusable = judge_file(name, getattr(args, "as_profile", None))  # freed before the next
        if unusable is not None:
            print(f"segur: error: {unusable}", file=sys.stderr)
        else:
            judged = True
        any_error |= any(f.severity == "error" for f in findings)
        if args.format == "text":
            reports.append(_text_report(name, findings, profile, unusable))
        elif args.format == "ndjson":
            sys.stdout.write(json.dumps(_outcome(name, findings, profile), ensure_ascii=False) + "\n")
        else:
            outcomes.append((name, _outcome(name, findings, profile)))
    if args.format == "json":
        document = outcomes[0][1] if len(outcomes) == 1 else collection(outcomes)
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.format == "text" and judged:
        print("\n".join(reports))
    if not judged:
        return 2
    return 1 if any_error else 0
