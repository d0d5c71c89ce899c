"""Synthetic means synthetic everywhere: test OIDs (NIA included), FINESS and RPPS in test ranges,
MSSanté addresses under the reserved .test domain, never a valid-key NIR under a real domain."""

from __future__ import annotations

import re

import numpy as np
import pytest

from agents.identity import (
    INS_NIA_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    IdentityFactory,
    check_id_nat_struct,
    generate_finess,
    generate_rpps,
    id_nat_struct_from_finess,
    is_valid_mss_address,
    is_valid_nir,
    nominative_address,
    operator_domain,
    patient_address,
)
from agents.identity.professionals import TEST_FINESS_PREFIX, TEST_RPPS_PREFIX

ADDRESS = re.compile(r"([A-Za-z0-9._+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]+)")


def test_nia_identities_use_the_test_oid_by_default():
    for ident in IdentityFactory(5).identities(20, nia=True):
        assert ident.oid == INS_NIR_TEST_OID and ident.is_nia
    for ident in IdentityFactory(5).identities(20):
        assert ident.oid == INS_NIR_TEST_OID and not ident.is_nia
    prod = IdentityFactory(5, oid=INS_NIR_OID).identity(nia=True)  # only when asked for production
    assert prod.oid == INS_NIA_OID and prod.is_nia


@pytest.mark.parametrize("dept", ["35", "2A", "971"])
def test_finess_and_rpps_are_in_test_ranges(dept):
    rng = np.random.default_rng(1)
    for finess in generate_finess(rng, 200, departement=dept):
        assert finess.startswith(TEST_FINESS_PREFIX)  # no département 00: no real establishment
        assert check_id_nat_struct(id_nat_struct_from_finess(finess)) == ("FINESS", None, None)
    assert all(r.startswith(TEST_RPPS_PREFIX) for r in generate_rpps(rng, 200))


def test_generated_addresses_are_under_the_test_domain():
    nir = IdentityFactory(3).identity().matricule
    assert is_valid_nir(nir)
    for address in (patient_address(nir), nominative_address("Anne", "Dupont"), f"x@{operator_domain('CH Test')}"):
        assert address.endswith(".mssante.test") and is_valid_mss_address(address)


def _real_domain_problems(text: str) -> list[str]:
    bad = []
    for local, domain in ADDRESS.findall(text):
        if not domain.endswith(".test") and not domain.endswith(".invalid"):
            bad.append(f"{local}@{domain}")
    return bad


@pytest.mark.slow
def test_demo_files_hold_only_test_addresses(tmp_path):
    from simulator.demo.teaching import build_demo

    out = tmp_path / "demo"
    build_demo("demo", out, days=2)
    seen = 0
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ndjson", ".csv", ".txt", ".eml", ".xml", ".md", ".html"):
            text = path.read_text(encoding="utf-8", errors="replace")
            seen += len(ADDRESS.findall(text))
            assert not _real_domain_problems(text), (path, _real_domain_problems(text)[:3])
    assert seen > 0, "the demo wrote no address at all"
