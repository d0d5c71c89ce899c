"""The plain description of one document that the renderer turns into FHIR (``DocumentSpec``).

The engine samples document rows (patient, producer, type, outcome) and maps each to a
``DocumentSpec`` or to a plain mapping with the same keys; ``render_bundle`` accepts both.
``synthetic_document`` makes a valid one from a seed, for tests, benchmarks and teaching.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from agents.catalogue import by_code, j66_codes, load_catalogue
from agents.identity import (
    DEFAULT_INS_OID,
    IdentityFactory,
    generate_finess,
    generate_rpps,
    id_nat_ps_from_rpps,
    id_nat_struct_from_finess,
)


@dataclass(frozen=True)
class DocumentSpec:
    """Everything needed to render one document submission (ITI-65) or MSSanté message.

    Dates are ISO strings (``YYYY-MM-DD`` or a dateTime with offset) or ``date``/``datetime``.
    ``ins=None`` renders a patient without INS (the DMP answers ``ins_missing``).
    ``defect`` names an injectable defect (see ``agents.fhir.defects.DEFECTS``).
    """

    doc_id: str
    type_code: str
    ins: str | None
    family: str
    given: tuple[str, ...]
    birth_date: str
    sex: str  # male | female | unknown
    birth_place: str  # INSEE code (commune or 99xxx)
    author_id_nat_ps: str
    org_id_nat_struct: str
    created: str
    ins_oid: str = DEFAULT_INS_OID
    identity_status: str = "QUAL"
    class_code: str | None = None  # None: the catalogue's class for type_code
    confidentiality: tuple[str, ...] = ("N",)
    author_family: str = "Praticien"
    author_given: str = "Test"
    org_name: str = "Structure de test"
    submitted: str | None = None  # None: same as created
    title: str | None = None  # None: the catalogue's French label
    replaces: str | None = None  # logical id of the DocumentReference this version replaces
    defect: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def resolved_class_code(self) -> str:
        """Class code to render: the given one, else the catalogue's, else 10 (Compte rendu)."""
        if self.class_code is not None:
            return self.class_code
        try:
            return by_code(self.type_code).class_code
        except KeyError:
            return "10"


_FIELDS = {f.name for f in dataclasses.fields(DocumentSpec)}


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def as_spec(doc: DocumentSpec | Mapping[str, object], **overrides: object) -> DocumentSpec:
    """A ``DocumentSpec`` from a spec or a mapping (unknown keys go to ``extra``)."""
    if isinstance(doc, DocumentSpec):
        return dataclasses.replace(doc, **overrides) if overrides else doc
    data = {**doc, **overrides}
    known = {k: v for k, v in data.items() if k in _FIELDS and k != "extra"}
    extra = {k: v for k, v in data.items() if k not in _FIELDS}
    for key in ("birth_date", "created", "submitted"):
        if known.get(key) is not None:
            known[key] = _iso(known[key])
    for key in ("given", "confidentiality"):
        value = known.get(key)
        if isinstance(value, str):
            known[key] = (value,)
        elif value is not None:
            known[key] = tuple(value)  # type: ignore[arg-type]
    return DocumentSpec(**known, extra=extra)  # type: ignore[arg-type]


def _document(factory: IdentityFactory, doc_id: str) -> DocumentSpec:
    rng = factory.rng
    person = factory.identity()
    types = sorted(j66_codes())
    type_code = types[int(rng.integers(0, len(types)))]
    rpps = generate_rpps(rng, 1)[0]
    finess = generate_finess(rng, 1, departement=person.traits.birth_place[:2])[0]
    created = datetime(2024, 1, 1, 9, 0) + timedelta(minutes=int(rng.integers(0, 525_600)))
    author = factory.traits()
    return DocumentSpec(
        doc_id=doc_id,
        type_code=type_code,
        ins=person.matricule,
        ins_oid=person.oid or DEFAULT_INS_OID,
        identity_status=str(person.status),
        family=person.traits.birth_name,
        given=person.traits.birth_given_names,
        birth_date=person.traits.birth_date.isoformat(),
        sex=person.traits.sex,
        birth_place=person.traits.birth_place,
        author_id_nat_ps=id_nat_ps_from_rpps(rpps),
        author_family=author.birth_name,
        author_given=author.first_given_name,
        org_id_nat_struct=id_nat_struct_from_finess(finess),
        org_name=f"Structure de test {finess}",
        created=created.strftime("%Y-%m-%dT%H:%M:00+01:00"),
    )


def synthetic_document(seed: int, index: int = 0, **overrides: object) -> DocumentSpec:
    """A valid synthetic document: qualified test identity, J66 type, test RPPS and FINESS.

    ``index`` varies the document within one seed; ``overrides`` replace any field.
    """
    base = _document(IdentityFactory(seed * 1_000_003 + index), f"doc-{seed}-{index}")
    return as_spec(base, **overrides) if overrides else base


def synthetic_documents(seed: int, n: int) -> list[DocumentSpec]:
    """``n`` valid synthetic documents for ``seed``, from one identity factory (fast)."""
    factory = IdentityFactory(seed)
    return [_document(factory, f"doc-{seed}-{i}") for i in range(n)]


def catalogue_type_codes(*, retired: bool = False) -> list[str]:
    """Catalogue codes: active J66 ones, or the retired ones when ``retired`` is True."""
    return [t.code for t in load_catalogue() if (t.status == "retired") == retired]


__all__ = [
    "DocumentSpec",
    "as_spec",
    "catalogue_type_codes",
    "synthetic_document",
    "synthetic_documents",
]
