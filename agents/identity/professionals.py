"""Professional and organisation identifiers: RPPS, ADELI, idNat_PS, FINESS, idNat_Struct.

idNat_PS = 8 + RPPS (11 digits) or 0 + ADELI (9 digits); other prefixes (1, 3, 4, 5, 6 +
structure/internal id) name staff inside a structure (PDSm ``PSIdNat``). idNat_Struct = 1 + FINESS,
2 + SIREN, 3 + SIRET, 4 + RPPS-rang, 0 + cabinet ADELI (domain.md §6). Check digits: the RPPS
key is said to be Luhn and FINESS has a Luhn-type last digit — both inferences [I], so a wrong
key is reported as a warning by the rules, never as a rejection.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

ID_NAT_PS_OID = "1.2.250.1.71.4.2.1"
ID_NAT_STRUCT_OID = "1.2.250.1.71.4.2.2"
ID_NAT_PS_SYSTEM = "urn:oid:" + ID_NAT_PS_OID
ID_NAT_STRUCT_SYSTEM = "urn:oid:" + ID_NAT_STRUCT_OID
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
#: RPPS numbers of ANS test cards start with 997 (e.g. idNat_PS 899700218896); synthetic
#: professionals are drawn there so that none matches a real practitioner [I].
TEST_RPPS_PREFIX = "997"
#: FINESS numbers begin with their département (01–95, 2A/2B, 97x): ``00`` is none, so
#: synthetic establishments are numbered there and cannot match a real one.
TEST_FINESS_PREFIX = "00"

_RPPS = re.compile(r"\d{11}")
_ADELI = re.compile(r"\d{9}")
_FINESS = re.compile(r"(?:\d{2}|2[AB])\d{7}")
_INTERNAL_PS = re.compile(r"[13456][0-9A-Za-z][0-9A-Za-z/._-]*")


def luhn_check_digit(body: str) -> int:
    """Luhn check digit for a string of digits (letters count as 0) [I for RPPS/FINESS]."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) if ch.isdigit() else 0
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_is_valid(number: str) -> bool:
    """True when the last digit of ``number`` is the Luhn check digit of the rest."""
    return len(number) > 1 and number[-1].isdigit() and luhn_check_digit(number[:-1]) == int(
        number[-1]
    )


# --- professionals -----------------------------------------------------------------------------


def make_rpps(body10: str) -> str:
    """An 11-digit RPPS from 10 digits plus the Luhn key [I]."""
    if not (len(body10) == 10 and body10.isdigit()):
        raise ValueError(f"RPPS body {body10!r} must be 10 digits")
    return body10 + str(luhn_check_digit(body10))


def generate_rpps(rng: np.random.Generator, n: int, *, test_range: bool = True) -> list[str]:
    """``n`` RPPS numbers with a Luhn key, in the test range (997…) by default."""
    prefix = TEST_RPPS_PREFIX if test_range else "10"
    width = 10 - len(prefix)
    draws = rng.integers(0, 10**width, n)
    return [make_rpps(f"{prefix}{int(d):0{width}d}") for d in draws]


def generate_adeli(rng: np.random.Generator, n: int, *, departement: str = "75") -> list[str]:
    """``n`` 9-digit ADELI numbers: département (2 digits) + 6 digits + Luhn digit [I]."""
    dept = "20" if departement in ("2A", "2B") else departement[:2]
    return [
        body + str(luhn_check_digit(body))
        for body in (f"{dept}{int(d):06d}" for d in rng.integers(0, 10**6, n))
    ]


def id_nat_ps_from_rpps(rpps: str) -> str:
    """idNat_PS of a professional registered in RPPS: ``8`` + RPPS."""
    return "8" + rpps


def id_nat_ps_from_adeli(adeli: str) -> str:
    """idNat_PS of a professional registered in ADELI only: ``0`` + ADELI."""
    return "0" + adeli


class IdCheck(NamedTuple):
    """Outcome of an identifier check: its kind, an error (reject) and/or a warning."""

    kind: str | None
    error: str | None = None
    warning: str | None = None


def check_id_nat_ps(value: object) -> IdCheck:
    """Check an idNat_PS: 8+RPPS (11 digits) or 0+ADELI (9 digits); others are warned about."""
    if not isinstance(value, str) or not value:
        return IdCheck(None, "idNat_PS is empty")
    return _check_id_nat_ps(value)


@lru_cache(maxsize=4096)
def _check_id_nat_ps(value: str) -> IdCheck:
    if value[0] == "8":
        rpps = value[1:]
        if not _RPPS.fullmatch(rpps):
            return IdCheck(None, f"8 + RPPS must be 8 and 11 digits, got {value!r}")
        if not luhn_is_valid(rpps):
            return IdCheck("RPPS", None, f"RPPS {rpps} fails the Luhn check digit [I]")
        return IdCheck("RPPS")
    if value[0] == "0":
        if not _ADELI.fullmatch(value[1:]):
            return IdCheck(None, f"0 + ADELI must be 0 and 9 digits, got {value!r}")
        return IdCheck("ADELI")
    if _INTERNAL_PS.fullmatch(value):
        return IdCheck(
            "internal",
            None,
            f"{value!r} is a structure-internal identifier (prefix {value[0]}), not a "
            "practitioner's national id (8 + RPPS or 0 + ADELI)",
        )
    return IdCheck(
        None, f"{value!r} is not an idNat_PS (8 + RPPS 11 digits, or 0 + ADELI 9 digits)"
    )


# --- organisations ----------------------------------------------------------------------------


def make_finess(departement: str, body6: str) -> str:
    """A 9-character FINESS: département (2 characters) + 6 digits + Luhn-type key [I]."""
    dept = departement[:2]
    if not (len(body6) == 6 and body6.isdigit()):
        raise ValueError(f"FINESS body {body6!r} must be 6 digits")
    head = dept + body6
    return head + str(luhn_check_digit(head))


def generate_finess(rng: np.random.Generator, n: int, *, departement: str = "75",
                    test_range: bool = True) -> list[str]:
    """``n`` FINESS numbers with the Luhn-type key [I]. In the test range by default: ``00`` (no
    such département, so no real establishment) + the département's two digits + 4 digits."""
    if test_range:
        dept = "20" if departement in ("2A", "2B") else departement[:2]
        return [make_finess(TEST_FINESS_PREFIX, f"{dept}{int(d):04d}") for d in rng.integers(0, 10**4, n)]
    return [make_finess(departement, f"{int(d):06d}") for d in rng.integers(0, 10**6, n)]


def is_test_finess(finess: str) -> bool:
    """True for a FINESS of the synthetic range (département ``00``, which does not exist)."""
    return finess.startswith(TEST_FINESS_PREFIX)


def id_nat_struct_from_finess(finess: str) -> str:
    """idNat_Struct of an establishment: ``1`` + FINESS."""
    return "1" + finess


def check_id_nat_struct(value: object) -> IdCheck:
    """Check an idNat_Struct: 1+FINESS, 2+SIREN, 3+SIRET, 4+RPPS-rang or 0+cabinet ADELI."""
    if not isinstance(value, str) or not value:
        return IdCheck(None, "idNat_Struct is empty")
    return _check_id_nat_struct(value)


@lru_cache(maxsize=4096)
def _check_id_nat_struct(value: str) -> IdCheck:
    head, rest = value[0], value[1:]
    if head == "1":
        if not _FINESS.fullmatch(rest):
            return IdCheck(None, f"1 + FINESS must be 1 and 9 characters, got {value!r}")
        if not luhn_is_valid(rest):
            return IdCheck("FINESS", None, f"FINESS {rest} fails the Luhn-type check digit [I]")
        return IdCheck("FINESS")
    if head == "2" and re.fullmatch(r"\d{9}", rest):
        return IdCheck("SIREN")
    if head == "3" and re.fullmatch(r"\d{14}", rest):
        return IdCheck("SIRET")
    if head == "4" and re.fullmatch(r"\d{12,}", rest):
        return IdCheck("RPPS-rang")
    if head == "0" and re.fullmatch(r"\d{9,}", rest):
        return IdCheck("cabinet ADELI")
    return IdCheck(
        None,
        f"{value!r} is not an idNat_Struct (1 + FINESS, 2 + SIREN, 3 + SIRET, 4 + RPPS-rang)",
    )
