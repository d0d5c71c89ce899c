"""`segur validate FILE [FILE…]`: check FHIR payloads against the simulated DMP's rules.

Accepts an ITI-65 transaction Bundle, any other Bundle, a DocumentReference or a Patient (JSON).
Text output lists, per file, each finding (rule id, severity, FHIR path, message); ``--format
json`` prints one JSON object keyed by file name, each value an OperationOutcome. Exit 0: no
error finding; 1: at least one error; 2: an input cannot be used (one line naming the file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulator.core.errors import UsageError

#: Inputs above this size are refused (exit 2) rather than parsed.
MAX_INPUT_BYTES = 20 * 1024 * 1024
SUPPORTED_TYPES = ("Bundle", "DocumentReference", "Patient")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser(
        "validate",
        help="check FHIR bundles / DocumentReferences / Patients against the DMP rules",
        description=(
            "Check FHIR R4B JSON files (ITI-65 transaction Bundle, other Bundle, "
            "DocumentReference or Patient) against the test-bed's conformance rules. "
            "Exit 0 when no file has an error finding, 1 when one has, 2 when an input "
            "cannot be used. See docs/rules.md for the rules."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="FHIR JSON file(s)")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): one line per finding; json: an object keyed by file name whose "
        "values are FHIR OperationOutcomes",
    )
    parser.set_defaults(func=handler)


def load_resource(path: Path) -> dict[str, Any]:
    """Read one input file as a FHIR resource; UsageError (exit 2) with the reason otherwise."""
    from fhir.resources.R4B import get_fhir_model_class

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
    if not raw.strip():
        raise UsageError(f"{path}: file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{path}: a JSON {type(data).__name__} is not a FHIR resource (expected an object "
            "with a resourceType)"
        )
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise UsageError(f"{path}: not a FHIR resource (no resourceType)")
    try:
        get_fhir_model_class(rtype)
    except (ValueError, KeyError):
        raise UsageError(f"{path}: resourceType {rtype!r} is not a FHIR R4B resource type") from None
    if rtype not in SUPPORTED_TYPES:
        raise UsageError(
            f"{path}: resourceType {rtype!r} is not supported by segur validate "
            f"(expected {', '.join(SUPPORTED_TYPES)})"
        )
    return data


def _text_report(name: str, findings: list[Any], verdict: str | None) -> str:
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "information")}
    head = (
        f"{name}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['information']} information"
    )
    if verdict is not None:
        head += f" — DMP verdict: {verdict}"
    lines = [head]
    for f in findings:
        lines.append(f"  {f.rule_id:<8} {f.severity:<11} {f.path}")
        lines.append(f"           {f.message}")
    return "\n".join(lines)


def handler(args: argparse.Namespace) -> int:
    """Validate each file; print the report; return 0, 1 (errors found) or raise UsageError."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from agents.fhir import dmp_verdict, operation_outcome, validate_resource

    names = list(dict.fromkeys(args.files))
    resources = [(name, load_resource(Path(name))) for name in names]
    any_error = False
    outcomes: dict[str, dict] = {}
    reports = []
    for name, resource in resources:
        try:
            findings = validate_resource(resource, structural=True)
        except RecursionError:
            raise UsageError(f"{name}: resource nested too deeply to validate") from None
        any_error |= any(f.severity == "error" for f in findings)
        if args.format == "json":
            outcomes[name] = operation_outcome(findings)
        else:
            documents = resource.get("resourceType") != "Patient"
            reports.append(_text_report(name, findings, dmp_verdict(findings) if documents else None))
    if args.format == "json":
        json.dump(outcomes, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(reports))
    return 1 if any_error else 0
