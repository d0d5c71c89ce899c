"""The plain description of one document that the renderer turns into FHIR (``DocumentSpec``).

The engine samples document rows (patient, producer, type, outcome) and maps each to a
``DocumentSpec`` or to a plain mapping with the same keys; ``render_bundle`` accepts both.
``synthetic_document`` makes a valid one from a seed, for tests, benchmarks and teaching.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
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
from agents.identity.nir import nir_format_problems


@dataclass(frozen=True)
class DocumentSpec:
    """Everything needed to render one document submission (ITI-65) or MSSanté message.

    Dates are ISO strings (``YYYY-MM-DD`` or a dateTime with offset) or ``date``/``datetime``.
    ``ins=None`` renders a patient without INS (the DMP answers ``ins_missing``). Traits left
    empty are completed by ``complete_traits`` (from the NIR, and seeded French names), so an
    engine row needs only doc_id, type_code, ins, author/org ids and created.
    ``defect`` names an injectable defect (see ``agents.fhir.defects.DEFECTS``).
    """

    doc_id: str
    type_code: str
    ins: str | None
    author_id_nat_ps: str
    org_id_nat_struct: str
    created: str
    family: str = ""  # "" : drawn from Faker's fr_FR names (see complete_traits)
    given: tuple[str, ...] = ()
    birth_date: str = ""  # "" : read from the NIR
    sex: str = ""  # male | female | unknown; "" : read from the NIR
    birth_place: str = ""  # INSEE code (commune or 99xxx); "" : read from the NIR
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

    def __post_init__(self) -> None:
        # Accept date/datetime objects and bare strings from engine rows; store FHIR strings.
        set_ = object.__setattr__
        set_(self, "created", fhir_datetime(self.created))
        if self.submitted is not None:
            set_(self, "submitted", fhir_datetime(self.submitted))
        if isinstance(self.birth_date, date):
            set_(self, "birth_date", self.birth_date.isoformat())
        for key in ("given", "confidentiality"):
            value = getattr(self, key)
            if isinstance(value, str):
                set_(self, key, (value,))
            elif not isinstance(value, tuple):
                set_(self, key, tuple(value))

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


_HAS_ZONE = re.compile(r"(?:Z|[+-]\d\d:\d\d)$")


def fhir_datetime(value: object) -> str:
    """A FHIR dateTime string: dates stay dates; a time without zone gets ``Z`` (UTC)."""
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds")
        return text if value.tzinfo is not None else text + "Z"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text + "Z" if "T" in text and not _HAS_ZONE.search(text) else text


def fhir_instant(value: str) -> str:
    """A FHIR instant (full time and zone) from a dateTime: a bare date becomes midnight UTC."""
    return f"{value}T00:00:00Z" if len(value) == 10 else value


def as_spec(doc: DocumentSpec | Mapping[str, object], **overrides: object) -> DocumentSpec:
    """A ``DocumentSpec`` from a spec or a mapping (unknown keys go to ``extra``)."""
    if isinstance(doc, DocumentSpec):
        return dataclasses.replace(doc, **overrides) if overrides else doc
    data = {**doc, **overrides}
    known = {k: v for k, v in data.items() if k in _FIELDS and k != "extra"}
    extra = {k: v for k, v in data.items() if k not in _FIELDS}
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


def _pick(options: tuple[str, ...], key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def _traits_from_nir(ins: str | None) -> tuple[str, str, str]:
    """(sex, birth date, birth place) a NIR encodes; neutral values when it cannot be read."""
    if ins is None or nir_format_problems(ins):
        return "unknown", "1970-01-01", "75056"
    sex = "female" if ins[0] in "28" else "male"
    yy, mm = int(ins[1:3]), int(ins[3:5])
    century = 1900 if yy > date.today().year % 100 else 2000
    birth = f"{century + yy:04d}-{mm if 1 <= mm <= 12 else 1:02d}-01"
    place = ins[5:10] if ins[5:7] != "20" else "2A" + ins[7:10]
    return sex, birth, place


def complete_traits(spec: DocumentSpec) -> DocumentSpec:
    """Fill missing traits: sex, birth month and place read from the NIR, names drawn by doc_id.

    Names come from Faker's fr_FR lists, picked by a hash of ``doc_id`` (same row, same
    name); nothing depends on a real person. Complete specs are returned unchanged.
    """
    if spec.family and spec.given and spec.birth_date and spec.sex and spec.birth_place:
        return spec
    from faker.providers.person.fr_FR import Provider as FrenchNames

    sex, birth, place = _traits_from_nir(spec.ins)
    sex = spec.sex or sex
    firsts = FrenchNames.first_names_female if sex == "female" else FrenchNames.first_names_male
    return dataclasses.replace(
        spec,
        family=spec.family or _pick(FrenchNames.last_names, spec.doc_id),
        given=spec.given or (_pick(firsts, spec.doc_id + "/given"),),
        birth_date=spec.birth_date or birth,
        sex=sex,
        birth_place=spec.birth_place or place,
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
    "complete_traits",
    "catalogue_type_codes",
    "synthetic_document",
    "synthetic_documents",
]
