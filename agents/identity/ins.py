"""INS issuing-authority OIDs and what each one means (production, test, demo, legacy).

FR Core ``fr-core-patient-ins`` slices (domain.md §3): INS-NIR 1.4.8 (use official), INS-NIA 1.4.9
(use temp), INS-NIR-TEST 1.4.10, INS-NIR-DEMO 1.4.11; legacy INS-C 1.4.2 still appears in old code.
Synthetic identities use the TEST OID so that none can pass for a real person's INS.
"""

from __future__ import annotations

from enum import StrEnum

INS_NIR_OID = "1.2.250.1.213.1.4.8"
INS_NIA_OID = "1.2.250.1.213.1.4.9"
INS_NIR_TEST_OID = "1.2.250.1.213.1.4.10"
INS_NIR_DEMO_OID = "1.2.250.1.213.1.4.11"
INS_C_OID = "1.2.250.1.213.1.4.2"

#: OID given to every generated identity unless a caller asks otherwise.
DEFAULT_INS_OID = INS_NIR_TEST_OID

URN_OID = "urn:oid:"

#: FR Core identifier-type codes (CodeSystem fr-core-cs-v2-0203) for each INS OID.
IDENTIFIER_TYPE_BY_OID = {
    INS_NIR_OID: "INS-NIR",
    INS_NIA_OID: "INS-NIA",
    INS_NIR_TEST_OID: "INS-NIR-TEST",
    INS_NIR_DEMO_OID: "INS-NIR-DEMO",
    INS_C_OID: "INS-C",
}
INS_TYPE_CODES = frozenset(IDENTIFIER_TYPE_BY_OID.values())


class OidKind(StrEnum):
    """What an INS system OID stands for, as far as a DMP is concerned."""

    PRODUCTION = "production"  # INS-NIR, INS-NIA: real identities
    TEST = "test"  # INS-NIR-TEST: fictitious patients for test platforms
    DEMO = "demo"  # INS-NIR-DEMO: fictitious patients for demonstrations
    LEGACY = "legacy"  # INS-C: computed INS, withdrawn
    UNKNOWN = "unknown"  # anything else (e.g. 1.2.250.1.213.1.4.5 seen in third-party code)


_KIND_BY_OID = {
    INS_NIR_OID: OidKind.PRODUCTION,
    INS_NIA_OID: OidKind.PRODUCTION,
    INS_NIR_TEST_OID: OidKind.TEST,
    INS_NIR_DEMO_OID: OidKind.DEMO,
    INS_C_OID: OidKind.LEGACY,
}


def strip_urn(system: str) -> str:
    """The bare OID of a ``urn:oid:`` system (the input unchanged when it has no prefix)."""
    return system[len(URN_OID) :] if system.startswith(URN_OID) else system


def oid_kind(oid_or_system: str) -> OidKind:
    """Classify an INS OID, given bare or as a ``urn:oid:`` system."""
    return _KIND_BY_OID.get(strip_urn(oid_or_system), OidKind.UNKNOWN)


def ins_system(oid: str = DEFAULT_INS_OID) -> str:
    """The FHIR ``Identifier.system`` for an INS OID (``urn:oid:<oid>``)."""
    return oid if oid.startswith(URN_OID) else URN_OID + oid


def identifier_use(oid: str) -> str:
    """FR Core ``Identifier.use`` for an INS: ``temp`` for an NIA, ``official`` otherwise."""
    return "temp" if strip_urn(oid) == INS_NIA_OID else "official"
