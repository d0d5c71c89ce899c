"""The document-type catalogue: LOINC type codes, class codes and DMP (J66) membership.

One table (``scenarios/data/document_types.csv``, with provenance) shared by the engine, the
FHIR renderer and the conformance rules, so that the vectorised DMP and the FHIR validator
agree on what a valid type code is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from scenarios import DATA_DIR

LOINC_SYSTEM = "http://loinc.org"
CLASS_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
CLASS_CODES = {
    "10": "Compte rendu",
    "11": "Synthèse",
    "31": "Imagerie médicale",
    "42": "Prescription",
    "43": "Dispensation",
    "44": "Plan de soins / protocole de soins",
    "45": "Traitement administré",
}


@dataclass(frozen=True)
class DocumentType:
    """One catalogued document type (a row of document_types.csv)."""

    index: int
    code: str
    system: str
    label_fr: str
    label_en: str
    class_code: str
    class_label_fr: str
    in_j66: bool
    status: str
    provenance: str

    @property
    def label(self) -> str:
        return self.label_fr


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[DocumentType, ...]:
    """Read the catalogue once; row order gives each type a stable integer index."""
    path = DATA_DIR / "document_types.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return tuple(
        DocumentType(
            index=i,
            code=r["code"],
            system=r["system"],
            label_fr=r["label_fr"],
            label_en=r["label_en"],
            class_code=r["class_code"],
            class_label_fr=r["class_label_fr"],
            in_j66=r["in_j66"].strip().lower() == "true",
            status=r["status"],
            provenance=r["provenance"],
        )
        for i, r in enumerate(rows)
    )


def type_codes() -> list[str]:
    """All catalogued type codes, in index order."""
    return [t.code for t in load_catalogue()]


def by_code(code: str) -> DocumentType:
    """The catalogue entry for a LOINC code; KeyError if it is not catalogued."""
    for t in load_catalogue():
        if t.code == code:
            return t
    raise KeyError(code)


def j66_codes() -> frozenset[str]:
    """Type codes the DMP accepts (the J66 subset)."""
    return frozenset(t.code for t in load_catalogue() if t.in_j66)
