"""Identities of patients, professionals and organisations, as pure functions and generators.

- ``nir``: NIR / NIA matricules (key, checks, vectorised generators);
- ``ins``: INS OIDs (production, test, demo, legacy INS-C);
- ``status``: RNIV statuses PROV / VALI / RECUP / QUAL;
- ``traits``: the five traits, birth places, seeded synthetic identities (Faker fr_FR);
- ``professionals``: RPPS, ADELI, idNat_PS, FINESS, idNat_Struct;
- ``mssante``: MSSanté addresses.

Everything a caller needs is re-exported here: ``from agents.identity import is_valid_nir``.
"""

from agents.identity.ins import (
    DEFAULT_INS_OID,
    INS_C_OID,
    INS_NIA_OID,
    INS_NIR_DEMO_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    OidKind,
    identifier_use,
    ins_system,
    oid_kind,
)
from agents.identity.mssante import (
    PATIENT_DOMAIN,
    address_kind,
    is_valid_mss_address,
    mss_address_problems,
    nominative_address,
    operator_domain,
    organisational_address,
    patient_address,
)
from agents.identity.nir import (
    explain_nir,
    format_nirs,
    generate_nias,
    generate_nirs,
    is_valid_nir,
    make_nir,
    nir_key,
    nir_keys,
    nir_problems,
    valid_nir_mask,
)
from agents.identity.professionals import (
    ID_NAT_PS_SYSTEM,
    ID_NAT_STRUCT_SYSTEM,
    IdCheck,
    check_id_nat_ps,
    check_id_nat_struct,
    generate_adeli,
    generate_finess,
    generate_rpps,
    id_nat_ps_from_adeli,
    id_nat_ps_from_rpps,
    id_nat_struct_from_finess,
    luhn_check_digit,
    luhn_is_valid,
)
from agents.identity.status import (
    STATUS_ORDER,
    IdentityStatus,
    identity_status,
    identity_status_codes,
    is_qualified,
)
from agents.identity.traits import (
    Identity,
    IdentityFactory,
    Traits,
    draw_birth_places,
    is_valid_birth_place,
    load_birth_places,
    synthetic_identities,
    trait_problems,
)

__all__ = [
    "DEFAULT_INS_OID",
    "ID_NAT_PS_SYSTEM",
    "ID_NAT_STRUCT_SYSTEM",
    "INS_C_OID",
    "INS_NIA_OID",
    "INS_NIR_DEMO_OID",
    "INS_NIR_OID",
    "INS_NIR_TEST_OID",
    "PATIENT_DOMAIN",
    "STATUS_ORDER",
    "IdCheck",
    "Identity",
    "IdentityFactory",
    "IdentityStatus",
    "OidKind",
    "Traits",
    "address_kind",
    "check_id_nat_ps",
    "check_id_nat_struct",
    "draw_birth_places",
    "explain_nir",
    "format_nirs",
    "generate_adeli",
    "generate_finess",
    "generate_nias",
    "generate_nirs",
    "generate_rpps",
    "id_nat_ps_from_adeli",
    "id_nat_ps_from_rpps",
    "id_nat_struct_from_finess",
    "identifier_use",
    "identity_status",
    "identity_status_codes",
    "ins_system",
    "is_qualified",
    "is_valid_birth_place",
    "is_valid_mss_address",
    "is_valid_nir",
    "load_birth_places",
    "luhn_check_digit",
    "luhn_is_valid",
    "make_nir",
    "mss_address_problems",
    "nir_key",
    "nir_keys",
    "nir_problems",
    "nominative_address",
    "oid_kind",
    "operator_domain",
    "organisational_address",
    "patient_address",
    "synthetic_identities",
    "trait_problems",
    "valid_nir_mask",
]
