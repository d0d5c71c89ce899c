"""MSSanté message rules: addresses in the trust space, professionals start threads, the patient
mailbox matches the INS of the XDM metadata, the message carries a document and recipients.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.rules.base import ERROR, Context, as_dict, as_list, rule
from agents.fhir.verdict import BAD_INS, INS_MISSING, INVALID_METADATA
from agents.identity import (
    OidKind,
    address_kind,
    is_valid_nir,
    mss_address_problems,
    oid_kind,
)


@rule("MSS-001", ERROR, "mssante", "MSSanteMessage.sender", reason=INVALID_METADATA, issue_code="value")
def sender_valid(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The sender is a valid MSSanté address (*.mssante.fr, or *.mssante.test for synthetic data).
    """
    problems = mss_address_problems(msg.get("sender"))
    if problems:
        yield ".sender", f"sender address: {'; '.join(problems)}"


@rule("MSS-002", ERROR, "mssante", "MSSanteMessage.recipients", reason=INVALID_METADATA, issue_code="value")
def recipients_valid(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """There is at least one recipient and every recipient is a valid MSSanté address."""
    recipients = as_list(msg.get("recipients"))
    if not recipients:
        yield ".recipients", "message has no recipient"
    for i, address in enumerate(recipients):
        problems = mss_address_problems(address)
        if problems:
            yield f".recipients[{i}]", f"recipient address: {'; '.join(problems)}"


@rule("MSS-003", ERROR, "mssante", "MSSanteMessage.sender", reason=INVALID_METADATA, issue_code="business-rule")
def sender_not_patient(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Only professionals and organisations start a thread: a patient mailbox only replies
    (`in_reply_to` set)."""
    sender = msg.get("sender")
    if isinstance(sender, str) and address_kind(sender) == "patient" and not msg.get("in_reply_to"):
        yield ".sender", "a patient mailbox cannot start an MSSanté thread"


@rule("MSS-004", ERROR, "mssante", "MSSanteMessage.recipients", reason=INVALID_METADATA, issue_code="business-rule")
def patient_mailbox_matches(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A patient recipient mailbox is `<INS of the XDM patientId>@patient.mssante.fr`
    (`@patient.mssante.test` for synthetic data)."""
    ins = as_dict(msg.get("metadata")).get("patient_id")
    for i, address in enumerate(as_list(msg.get("recipients"))):
        if isinstance(address, str) and address_kind(address) == "patient":
            local = address.split("@", 1)[0]
            if local != ins:
                yield f".recipients[{i}]", (
                    f"patient mailbox {address} does not match the document's INS {ins}"
                )


@rule("MSS-005", ERROR, "mssante", "MSSanteMessage.metadata.patient_id", reason=INS_MISSING, issue_code="required")
def metadata_patient(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The XDM metadata names the patient by INS (patientId)."""
    if not as_dict(msg.get("metadata")).get("patient_id"):
        yield ".metadata.patient_id", "METADATA.XML has no patientId (INS)"


@rule("MSS-006", ERROR, "mssante", "MSSanteMessage.metadata.patient_id", reason=BAD_INS, issue_code="value")
def metadata_ins_valid(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The XDM patientId is a valid NIR/NIA under an INS authority OID."""
    meta = as_dict(msg.get("metadata"))
    ins = meta.get("patient_id")
    if not ins:
        return
    if not is_valid_nir(ins):
        yield ".metadata.patient_id", f"patientId {ins!r} is not a valid NIR/NIA"
    if oid_kind(str(meta.get("patient_oid"))) in (OidKind.LEGACY, OidKind.UNKNOWN):
        yield ".metadata.patient_oid", f"patientId OID {meta.get('patient_oid')!r} is not an INS authority"


@rule("MSS-007", ERROR, "mssante", "MSSanteMessage.attachment_name", reason=INVALID_METADATA, issue_code="required")
def carries_document(msg: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The message carries the document as IHE_XDM.ZIP."""
    if msg.get("attachment_name") != "IHE_XDM.ZIP" or not msg.get("document_size"):
        yield ".attachment_name", "message does not carry an IHE_XDM.ZIP with the document"
