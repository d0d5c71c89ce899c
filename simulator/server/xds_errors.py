"""The XDS error code (ITI TF-3 Table 4.2.4.1-2, "Error Codes") a refusal maps to, carried in each
OperationOutcome issue beside the project's rule id, as MHD's Document Recipient reports an XDS
outcome (ITI-65 §2:3.65.4.1.3: "If appropriate, it shall use error codes from ITI TF-3: Table
4.2.4.1-2"). MHD defines no FHIR code system for them (its open issue MHD_065), so they travel
under the project's own system, ``XDS_SYSTEM``. Rules with no XDS counterpart (the DMP's
policy: software, profile state, identity status) carry none.
"""

from __future__ import annotations

XDS_SYSTEM = "urn:segur-testbed:xds-error-code"

#: rule id → XDS error code, where the rule has an XDS counterpart
BY_RULE = {
    "BDL-007": "XDSPatientIdDoesNotMatch",  # SubmissionSet and DocumentEntry patients differ
    "DOC-017": "XDSPatientIdDoesNotMatch",  # sourcePatientInfo's INS is not the subject's
    "DOC-015": "XDSRegistryDuplicateUniqueIdInMessage",
    "ATT-001": "XDSRepositoryMetadataError",  # size does not match the document
    "ATT-002": "XDSRepositoryMetadataError",  # hash does not match the document
    "ATT-003": "XDSRepositoryMetadataError",
    "REF-001": "UnresolvedReferenceException",
    "DMP-004": "XDSUnknownPatientId",  # the INS has no record in this DMP
}
#: the project's refusal reason → XDS error code, for the rules BY_RULE does not name
BY_REASON = {
    "invalid_metadata": "XDSRegistryMetadataError",
    "ins_missing": "XDSRegistryMetadataError",  # the patient id is missing from the metadata
    "bad_ins": "XDSUnknownPatientId",  # not a valid INS: no patient it could name
}


def xds_code(rule_id: str, reason: str | None, message: str = "") -> str | None:
    """The XDS error code of a finding (None when XDS has no counterpart)."""
    if rule_id == "DMP-005":  # replacement: of what, and whose
        if "another patient" in message:
            return "XDSPatientIdDoesNotMatch"
        return "UnresolvedReferenceException" if "does not exist" in message else "XDSRegistryMetadataError"
    if rule_id == "DMP-006":  # a unique id already registered
        return "XDSNonIdenticalHash" if "other content" in message else "XDSDuplicateUniqueIdInRegistry"
    return BY_RULE.get(rule_id) or BY_REASON.get(reason or "")
