"""Identities: NIR/NIA keys and checks, INS OIDs, RNIV statuses, traits, professionals, MSSanté."""

from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.identity import (
    DEFAULT_INS_OID,
    INS_C_OID,
    INS_NIA_OID,
    INS_NIR_DEMO_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    STATUS_ORDER,
    IdentityFactory,
    IdentityStatus,
    OidKind,
    address_kind,
    check_id_nat_ps,
    check_id_nat_struct,
    explain_nir,
    generate_adeli,
    generate_finess,
    generate_nias,
    generate_nirs,
    generate_rpps,
    id_nat_ps_from_adeli,
    id_nat_ps_from_rpps,
    id_nat_struct_from_finess,
    identity_status,
    identity_status_codes,
    ins_system,
    is_valid_birth_place,
    is_valid_mss_address,
    is_valid_nir,
    load_birth_places,
    luhn_is_valid,
    make_nir,
    mss_address_problems,
    nir_key,
    nir_problems,
    nominative_address,
    oid_kind,
    organisational_address,
    patient_address,
    synthetic_identities,
    trait_problems,
    valid_nir_mask,
)
from scenarios import DATA_DIR

PLACES = [p.code for p in load_birth_places()]
seeds = st.integers(min_value=0, max_value=2**32 - 1)


# --- NIR key and checks ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n=st.integers(min_value=1, max_value=200))
def test_every_generated_nir_has_a_valid_key(seed: int, n: int) -> None:
    nirs = generate_nirs(np.random.default_rng(seed), n)
    assert len(nirs) == n
    assert all(is_valid_nir(str(v)) for v in nirs)
    assert valid_nir_mask(nirs).all()
    assert all(int(v[13:]) == nir_key(v[:13]) for v in nirs)


@settings(max_examples=80, deadline=None)
@given(
    sex=st.sampled_from(["male", "female"]),
    year=st.integers(min_value=1900, max_value=2025),
    month=st.integers(min_value=1, max_value=12),
    place=st.sampled_from(PLACES),
    order=st.integers(min_value=1, max_value=999),
    provisional=st.booleans(),
)
def test_make_nir_encodes_the_traits(
    sex: str, year: int, month: int, place: str, order: int, provisional: bool
) -> None:
    nir = make_nir(sex, year, month, place, order, provisional=provisional)
    assert is_valid_nir(nir), explain_nir(nir)
    assert nir[0] == {"male": "17", "female": "28"}[sex][int(provisional)]
    assert nir[1:5] == f"{year % 100:02d}{month:02d}"
    corsica_before_1976 = place[:2] in ("2A", "2B") and year < 1976
    assert nir[5:10] == ("20" + place[2:] if corsica_before_1976 else place)
    assert nir[10:13] == f"{order:03d}"


def _one_change(nir: str, position: int, replacement: str) -> str:
    return nir[:position] + replacement + nir[position + 1 :]


@settings(max_examples=60, deadline=None)
@given(seed=seeds, position=st.integers(min_value=0, max_value=14), shift=st.integers(1, 9))
def test_any_one_digit_change_is_caught(seed: int, position: int, shift: int) -> None:
    nir = str(generate_nirs(np.random.default_rng(seed), 1)[0])
    original = nir[position]
    if original.isdigit():
        changed = _one_change(nir, position, str((int(original) + shift) % 10))
    else:  # the A/B of a Corsican département
        changed = _one_change(nir, position, "B" if original == "A" else "A")
    assert changed != nir
    assert not is_valid_nir(changed)
    assert nir_problems(changed)


@pytest.mark.parametrize("dept", ["2A", "2B"])
@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_corsica_2a_2b_use_19_and_18_for_the_key(dept: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    place = next(p for p in PLACES if p.startswith(dept))
    nir = str(generate_nirs(rng, 1, birth_place=np.array([place]), birth_year=np.array([1990]))[0])
    assert nir[5:7] == dept
    numeric = int(nir[:13].replace(dept, "19" if dept == "2A" else "18"))
    assert int(nir[13:]) == 97 - numeric % 97
    assert is_valid_nir(nir)
    other = "2B" if dept == "2A" else "2A"
    assert not is_valid_nir(nir.replace(dept, other))


def test_published_nir_examples() -> None:
    # Test vectors documented by python-stdnum (stdnum/fr/nir.py).
    assert is_valid_nir("295109912611193")
    assert is_valid_nir("253072B07300470")
    assert is_valid_nir("253072A07300443")
    assert not is_valid_nir("295109912611199")
    assert not is_valid_nir("253072C07300443")


def test_overseas_and_abroad_layouts() -> None:
    overseas = make_nir("female", 1988, 3, "97411", 12)
    assert overseas[5:8] == "974" and overseas[8:10] == "11" and is_valid_nir(overseas)
    abroad = make_nir("male", 1975, 11, "99352", 7)
    assert abroad[5:7] == "99" and abroad[7:10] == "352" and is_valid_nir(abroad)
    provisional = make_nir("female", 2001, 6, "75056", 1, provisional=True)
    assert provisional[0] == "8" and is_valid_nir(provisional)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(min_value=1, max_value=50))
def test_nias_are_born_abroad_provisional_numbers(seed: int, n: int) -> None:
    nias = generate_nias(np.random.default_rng(seed), n)
    for nia in map(str, nias):
        assert nia[0] in "78" and nia[5:7] == "99"
        assert is_valid_nir(nia)


def test_explanations_name_the_problem() -> None:
    assert explain_nir(make_nir("male", 1980, 1, "75056", 1)) is None
    assert "15" in explain_nir("12345")
    assert "key" in explain_nir("123456789012345")
    assert "not all digits" in explain_nir("1234567890X2345")
    assert "sex digit" in explain_nir("523456789012345")
    assert "not a string" in explain_nir(123456789012345)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.text(alphabet="0123456789AB", min_size=13, max_size=16), max_size=30))
def test_vectorised_check_agrees_with_scalar(values: list[str]) -> None:
    assert valid_nir_mask(np.array(values, dtype=object)).tolist() == [
        is_valid_nir(v) for v in values
    ]


# --- OIDs and statuses -------------------------------------------------------------------------


def test_ins_oids() -> None:
    assert INS_NIR_OID == "1.2.250.1.213.1.4.8"
    assert INS_NIA_OID == "1.2.250.1.213.1.4.9"
    assert INS_NIR_TEST_OID == "1.2.250.1.213.1.4.10"
    assert INS_NIR_DEMO_OID == "1.2.250.1.213.1.4.11"
    assert INS_C_OID == "1.2.250.1.213.1.4.2"
    assert DEFAULT_INS_OID == INS_NIR_TEST_OID
    assert oid_kind(ins_system(INS_NIR_OID)) is OidKind.PRODUCTION
    assert oid_kind(INS_NIR_TEST_OID) is OidKind.TEST
    assert oid_kind(INS_NIR_DEMO_OID) is OidKind.DEMO
    assert oid_kind(INS_C_OID) is OidKind.LEGACY
    assert oid_kind("1.2.250.1.213.1.4.5") is OidKind.UNKNOWN


@pytest.mark.parametrize(
    ("retrieved", "checked", "status"),
    [(False, False, "PROV"), (False, True, "VALI"), (True, False, "RECUP"), (True, True, "QUAL")],
)
def test_status_from_the_two_questions(retrieved: bool, checked: bool, status: str) -> None:
    assert identity_status(retrieved, checked) == status
    code = identity_status_codes(np.array([retrieved]), np.array([checked]))[0]
    assert STATUS_ORDER[code] == status


# --- traits and synthetic identities -------------------------------------------------------------


def test_birth_places_cover_every_departement() -> None:
    with (DATA_DIR / "departements.csv").open(encoding="utf-8") as f:
        departements = {row["code"] for row in csv.DictReader(f)}
    places = load_birth_places()
    prefectures = {p.departement: p.code for p in places if p.kind == "prefecture"}
    assert set(prefectures) == departements
    assert all(code.startswith(dept) for dept, code in prefectures.items())
    assert all(is_valid_birth_place(p.code) for p in places)
    assert any(p.kind == "country" and p.code.startswith("99") for p in places)


def test_synthetic_identities_are_reproducible_and_test_only() -> None:
    first = synthetic_identities(20, seed=5)
    assert first == synthetic_identities(20, seed=5)
    assert first != synthetic_identities(20, seed=6)
    for person in first:
        assert person.oid == INS_NIR_TEST_OID
        assert person.status == IdentityStatus.QUAL
        assert is_valid_nir(person.matricule)
        assert not trait_problems(person.traits)
        t = person.traits
        assert person.matricule[0] == ("1" if t.sex == "male" else "2")
        assert person.matricule[1:5] == t.birth_date.strftime("%y%m")
        assert person.matricule[5:10] in (t.birth_place, "20" + t.birth_place[2:])


def test_identity_factory_variants() -> None:
    factory = IdentityFactory(3)
    nia = factory.identity(nia=True)
    assert nia.is_nia and nia.matricule[0] in "78" and nia.traits.birth_place.startswith("99")
    none = factory.identity(with_ins=False, status="PROV")
    assert not none.has_ins and none.status == IdentityStatus.PROV
    assert trait_problems(
        type(none.traits)("", (), date(2000, 1, 1), "other", "123")
    )


# --- professionals and organisations -----------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(min_value=1, max_value=30))
def test_generated_professional_and_structure_ids_are_valid(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    for rpps in generate_rpps(rng, n):
        assert len(rpps) == 11 and luhn_is_valid(rpps)
        assert check_id_nat_ps(id_nat_ps_from_rpps(rpps)) == ("RPPS", None, None)
    for adeli in generate_adeli(rng, n):
        assert check_id_nat_ps(id_nat_ps_from_adeli(adeli)) == ("ADELI", None, None)
    for dept in ("01", "2A", "97"):
        for finess in generate_finess(rng, n, departement=dept):
            assert check_id_nat_struct(id_nat_struct_from_finess(finess)) == ("FINESS", None, None)


def test_malformed_ids_are_errors_and_bad_keys_warnings() -> None:
    assert check_id_nat_ps("81234").error
    assert check_id_nat_ps("0123").error
    assert check_id_nat_ps("9123456789").error
    assert check_id_nat_ps(None).error
    internal = check_id_nat_ps("3123456789/ABC")
    assert internal.error is None and internal.warning
    bad_luhn = check_id_nat_ps("899700218897")
    assert bad_luhn.error is None and "Luhn" in bad_luhn.warning
    assert check_id_nat_ps("899700218896") == ("RPPS", None, None)  # ANS example author
    assert check_id_nat_struct("112345678").error
    assert check_id_nat_struct("2123456789") == ("SIREN", None, None)
    assert check_id_nat_struct("21234567890").error
    assert check_id_nat_struct("312345678901234").kind == "SIRET"


# --- MSSanté addresses -------------------------------------------------------------------------


def test_mssante_addresses() -> None:
    ins = make_nir("female", 1990, 4, "69123", 3)
    patient = patient_address(ins)
    assert patient == f"{ins}@patient.mssante.test"
    assert is_valid_mss_address(patient) and address_kind(patient) == "patient"
    doctor = nominative_address("Hélène-Marie", "Le Bœuf d'Orée")
    assert doctor.isascii() and doctor.endswith("@medecin.mssante.test")
    assert is_valid_mss_address(doctor) and address_kind(doctor) == "professional"
    assert is_valid_mss_address(organisational_address("Cardiologie", "ch-test.mssante.fr"))
    assert mss_address_problems("someone@gmail.com")
    assert mss_address_problems("123456789012345@patient.mssante.fr")  # placeholder: bad key
    assert mss_address_problems("a@b@mssante.fr")
    assert mss_address_problems("")
