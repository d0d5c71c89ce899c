"""FHIR payloads of the test-bed: rendering (FR Core INS Patient, PDSm ITI-65 bundle, CDA
Binary, MSSanté message), conformance rules, DMP verdicts and OperationOutcomes.

Engine entry points::

    from agents.fhir import render_bundle, validate_resource, dmp_verdict
    bundle = render_bundle(row, defect=None)        # row: DocumentSpec or mapping
    verdict = dmp_verdict(validate_resource(bundle))  # "accepted" or a rejection reason

Validator entry points (CLI, simulated DMP, live services)::

    findings = validate_resource(resource, structural=True, now=None)  # list[Finding]
    outcome = validate_outcome(resource)           # the same as a FHIR OperationOutcome dict
    profile = recognise(resource)                  # Recognised(key, label, national, canonical)
"""

from agents.fhir.defects import DEFECTS, Defect, defects_for_reason, get_defect
from agents.fhir.mssante import MSSanteMessage, XdmMetadata, build_message
from agents.fhir.outcome import operation_outcome, operation_outcome_model
from agents.fhir.profiles import Recognised, recognise
from agents.fhir.render import (
    render_bundle,
    render_cda,
    render_document_reference,
    render_patient,
    to_model,
)
from agents.fhir.rules import RULES, Finding, Rule
from agents.fhir.spec import DocumentSpec, as_spec, synthetic_document, synthetic_documents
from agents.fhir.validate import (
    Judgement,
    judge,
    structural_findings,
    validate_message,
    validate_outcome,
    validate_resource,
)
from agents.fhir.verdict import (
    ACCEPTED,
    BAD_INS,
    IDENTITY_NOT_QUALIFIED,
    INS_MISSING,
    INVALID_METADATA,
    REASON_PRECEDENCE,
    REASONS,
    dmp_verdict,
    rejection_reasons,
)

__all__ = [
    "ACCEPTED",
    "BAD_INS",
    "DEFECTS",
    "IDENTITY_NOT_QUALIFIED",
    "INS_MISSING",
    "INVALID_METADATA",
    "REASONS",
    "REASON_PRECEDENCE",
    "RULES",
    "Recognised",
    "Defect",
    "DocumentSpec",
    "Finding",
    "Judgement",
    "MSSanteMessage",
    "Rule",
    "XdmMetadata",
    "as_spec",
    "build_message",
    "defects_for_reason",
    "dmp_verdict",
    "get_defect",
    "judge",
    "operation_outcome",
    "operation_outcome_model",
    "recognise",
    "rejection_reasons",
    "render_bundle",
    "render_cda",
    "render_document_reference",
    "render_patient",
    "structural_findings",
    "synthetic_document",
    "synthetic_documents",
    "to_model",
    "validate_message",
    "validate_outcome",
    "validate_resource",
]
