"""RNIV identity statuses (PROV / VALI / RECUP / QUAL) and how they follow from two questions.

Was the identity retrieved through INSi? Was it checked against a high-trust identity document?
Only QUAL lets health data be indexed with the INS matricule, so only QUAL feeds the DMP
(domain.md §3, FR Core CodeSystem ``fr-core-cs-identity-status``).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

IDENTITY_STATUS_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status"


class IdentityStatus(StrEnum):
    """RNIV trust status of a local identity (EXI SI 07)."""

    PROV = "PROV"  # not retrieved via INSi, not checked
    VALI = "VALI"  # not retrieved via INSi, checked against a high-trust ID
    RECUP = "RECUP"  # retrieved via INSi, not checked
    QUAL = "QUAL"  # retrieved via INSi and checked: the only status that feeds the DMP


#: Index = 2 × retrieved_via_insi + checked_high_trust_id (see ``identity_status_codes``).
STATUS_ORDER: tuple[IdentityStatus, ...] = (
    IdentityStatus.PROV,
    IdentityStatus.VALI,
    IdentityStatus.RECUP,
    IdentityStatus.QUAL,
)

STATUS_LABELS_FR = {
    IdentityStatus.PROV: "Identité provisoire",
    IdentityStatus.VALI: "Identité validée",
    IdentityStatus.RECUP: "Identité récupérée",
    IdentityStatus.QUAL: "Identité qualifiée",
}

#: Identity documents that count as high trust (RNIV): PA passport, CN national ID card;
#: for minors AN birth certificate extract and LE livret de famille.
HIGH_TRUST_DOCUMENTS = {
    "PA": "passeport",
    "CN": "carte nationale d'identité",
    "AN": "extrait d'acte de naissance (mineur)",
    "LE": "livret de famille (mineur)",
}


def identity_status(retrieved_via_insi: bool, checked_high_trust_id: bool) -> IdentityStatus:
    """The RNIV status that answers the two yes/no questions."""
    return STATUS_ORDER[2 * bool(retrieved_via_insi) + bool(checked_high_trust_id)]


def identity_status_codes(retrieved_via_insi: np.ndarray, checked: np.ndarray) -> np.ndarray:
    """Vectorised ``identity_status``: int8 indices into ``STATUS_ORDER`` (3 = QUAL)."""
    r = np.asarray(retrieved_via_insi, dtype=bool)
    c = np.asarray(checked, dtype=bool)
    return (2 * r.astype(np.int8) + c.astype(np.int8)).astype(np.int8)


def is_qualified(status: str | IdentityStatus) -> bool:
    """True only for QUAL, the status the DMP requires since October 2023."""
    return str(status) == IdentityStatus.QUAL
