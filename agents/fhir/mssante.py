"""The MSSanté message: a documented dataclass carrying IHE XDM-style metadata and the document.

An MSSanté mail carries ``IHE_XDM.ZIP`` (METADATA.XML + the CDA, usually a PDF too); the
receiver identifies the patient from ``patientId`` (the INS) in METADATA.XML. Read receipts go
through ``Disposition-Notification-To`` (domain.md §5). Rules in ``rules/mssante.py`` check it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.fhir.render import render_cda, unique_id
from agents.fhir.spec import DocumentSpec, as_spec, complete_traits
from agents.identity.ins import strip_urn

XDM_ARCHIVE = "IHE_XDM.ZIP"


@dataclass(frozen=True)
class XdmMetadata:
    """What METADATA.XML says about the attached document (XDS DocumentEntry subset)."""

    patient_id: str | None  # INS matricule; None when the patient has none
    patient_oid: str  # INS authority OID (bare)
    unique_id: str  # XDS uniqueId of the document
    type_code: str  # LOINC type code (J66)
    class_code: str  # JDV_J57 class code
    author_id_nat_ps: str
    creation_time: str
    confidentiality: tuple[str, ...] = ("N",)


@dataclass(frozen=True)
class MSSanteMessage:
    """One MSSanté mail: sender, recipients, XDM metadata and the CDA document bytes."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    metadata: XdmMetadata
    document: bytes = field(repr=False)
    attachment_name: str = XDM_ARCHIVE
    disposition_notification_to: str | None = None  # read-receipt address, if asked
    in_reply_to: str | None = None  # the thread a reply belongs to (a patient only ever replies, domain §5)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, the one the MSSanté rules read (``document`` as its size)."""
        data = asdict(self)
        data["recipients"] = list(self.recipients)
        data["metadata"]["confidentiality"] = list(self.metadata.confidentiality)
        data["document_size"] = len(self.document)
        del data["document"]
        return data


def build_message(
    doc: DocumentSpec | Mapping[str, Any],
    sender: str,
    recipients: Sequence[str],
    *,
    read_receipt: bool = False,
    in_reply_to: str | None = None,
) -> MSSanteMessage:
    """The MSSanté message sending a document (its CDA in IHE_XDM.ZIP) to ``recipients``."""
    s = complete_traits(as_spec(doc))
    metadata = XdmMetadata(
        patient_id=s.ins,
        patient_oid=strip_urn(s.ins_oid),
        unique_id=unique_id(s.doc_id),
        type_code=s.type_code,
        class_code=s.resolved_class_code,
        author_id_nat_ps=s.author_id_nat_ps,
        creation_time=s.created,
        confidentiality=s.confidentiality,
    )
    return MSSanteMessage(
        sender=sender,
        recipients=tuple(recipients),
        subject=s.title or f"Document {s.type_code}",
        metadata=metadata,
        document=render_cda(s),
        disposition_notification_to=sender if read_receipt else None,
        in_reply_to=in_reply_to,
    )
