"""NIR and NIA matricules: structure, control key, explanations of invalid values, generators.

Layout (domain.md §3): sex (1/2; 7/8 provisional) · YY · MM (01–12; 20–42 or 50+ when unknown) ·
département (01–95, 2A/2B, 20 for Corsica before 1976; 97x/98x take 3 characters; 99 = born
abroad) · commune or country (3; 2 after a 97x/98x département) · order (3) · key (2).
Key = 97 − (first 13 digits mod 97), with 2A → 19 and 2B → 18 before the modulo.
Characters 6–10 are therefore the INSEE code of the birth place (commune, or 99xxx country).
"""

from __future__ import annotations

import re

import numpy as np

from agents.identity.places import draw_birth_places, load_birth_places

NIR_LENGTH = 15
SEX_DIGITS = {"male": 1, "female": 2}
PROVISIONAL_SEX_DIGITS = {"male": 7, "female": 8}
_VALID_SEX = frozenset("1278")
_SHAPE = re.compile(r"[1278]\d{4}(?:\d\d|2[AB])\d{8}")
_CORSICA_KEY_DIGITS = {"2A": "19", "2B": "18"}


def _numeric13(nir13: str) -> int:
    """The 13 leading characters as the integer the key is computed on (2A → 19, 2B → 18)."""
    dept = nir13[5:7].upper()
    if dept in _CORSICA_KEY_DIGITS:
        nir13 = nir13[:5] + _CORSICA_KEY_DIGITS[dept] + nir13[7:]
    return int(nir13)


def nir_key(nir13: str | int) -> int:
    """Control key (1–97) of the first 13 characters of a NIR/NIA; Corsica 2A/2B handled."""
    n = nir13 if isinstance(nir13, int) else _numeric13(str(nir13)[:13])
    return 97 - (n % 97)


def _month_ok(mm: int) -> bool:
    return 1 <= mm <= 12 or 20 <= mm <= 42 or mm >= 50


def nir_format_problems(value: object) -> list[str]:
    """Why a matricule's layout is wrong: length, characters, sex digit (empty when right)."""
    if not isinstance(value, str):
        return [f"is a {type(value).__name__}, not a string"]
    s = value
    if len(s) != NIR_LENGTH:
        return [f"has {len(s)} characters, expected {NIR_LENGTH}"]
    problems: list[str] = []
    if s[0] not in _VALID_SEX:
        problems.append(f"sex digit {s[0]!r} is not 1 or 2 (7 or 8 for a provisional number)")
    if not s[:5].isdigit():
        problems.append(f"characters 1–5 {s[:5]!r} are not all digits")
    if not (s[5:7].isdigit() or s[5:7] in ("2A", "2B")):
        problems.append(f"département {s[5:7]!r} is not two digits, 2A or 2B")
    if not s[7:].isdigit():
        problems.append(f"characters 8–15 {s[7:]!r} are not all digits")
    return problems


def nir_key_problem(value: str) -> str | None:
    """The key mismatch of a well-laid-out matricule, or None when the key is right."""
    expected = nir_key(value[:13])
    if value[13:15] != f"{expected:02d}":
        return f"key {value[13:15]} does not match the computed key {expected:02d}"
    return None


def nir_plausibility_problems(value: str) -> list[str]:
    """Values a well-laid-out matricule should not hold (month 13, commune 000, order 000)."""
    s = value
    problems = []
    if not _month_ok(int(s[3:5])):
        problems.append(f"birth month {s[3:5]!r} is not 01–12, 20–42 or 50–99")
    dept = s[5:7]
    if dept == "00":
        problems.append("département '00' does not exist")
    place = s[8:10] if dept in ("97", "98") else s[7:10]
    if int(place) == 0:
        what = "country" if dept == "99" else "commune"
        problems.append(f"{what} code {s[5:10]!r} ends in zeros")
    if s[10:13] == "000":
        problems.append("order number '000' is not allowed (001–999)")
    return problems


def nir_problems(value: object) -> list[str]:
    """Every reason a matricule is invalid or implausible (empty list when it is fine)."""
    problems = nir_format_problems(value)
    if problems:
        return problems
    s = str(value)
    key = nir_key_problem(s)
    return ([key] if key else []) + nir_plausibility_problems(s)


def explain_nir(value: object) -> str | None:
    """One sentence saying why a matricule is invalid, or None when it is valid."""
    problems = nir_problems(value)
    return "; ".join(problems) if problems else None


def is_valid_nir(value: object) -> bool:
    """True when ``value`` is a well-laid-out 15-character NIR/NIA whose key matches."""
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        return False
    return int(value[13:15]) == nir_key(value[:13])


def make_nir(
    sex: str,
    birth_year: int,
    birth_month: int,
    birth_place: str,
    order: int,
    *,
    provisional: bool = False,
) -> str:
    """Compose a NIR with its key from traits; ``birth_place`` is a 5-character INSEE code.

    People born in Corsica before 1976 carry département 20, as INSEE assigned it then.
    """
    digits = (PROVISIONAL_SEX_DIGITS if provisional else SEX_DIGITS)[sex]
    place = birth_place.upper()
    if place[:2] in ("2A", "2B") and birth_year < 1976:
        place = "20" + place[2:]
    if not 1 <= order <= 999:
        raise ValueError(f"order {order} is outside 1–999")
    nir13 = f"{digits}{birth_year % 100:02d}{birth_month:02d}{place}{order:03d}"
    if len(nir13) != 13:
        raise ValueError(f"birth place {birth_place!r} is not a 5-character INSEE code")
    return f"{nir13}{nir_key(nir13):02d}"


# ---------------------------------------------------------------------------------------------
# Vectorised forms (NumPy): for patient columns at national scale.


def nir_keys(numeric13: np.ndarray) -> np.ndarray:
    """Keys of an int64 array of 13-digit numbers (Corsica already encoded as 19/18)."""
    return (97 - np.asarray(numeric13, dtype=np.int64) % 97).astype(np.int8)


def _place_numbers(places: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """INSEE place codes as the integers the key uses, and a 0/1/2 flag for 2A/2B display."""
    places = np.char.upper(np.asarray(places, dtype="U5"))
    if places.size and not (np.char.str_len(places) == 5).all():
        raise ValueError("every birth place must be a 5-character INSEE code")
    points = places.view(np.uint32).reshape(-1, 5).astype(np.int64)
    is_2 = points[:, 0] == ord("2")
    corsica = np.where(is_2 & (points[:, 1] == ord("A")), 1, 0)
    corsica = np.where(is_2 & (points[:, 1] == ord("B")), 2, corsica).astype(np.int8)
    digits = points - ord("0")
    digits[corsica > 0, 0] = 1
    digits[corsica == 1, 1] = 9
    digits[corsica == 2, 1] = 8
    before_1976 = (corsica > 0) & (np.asarray(years) < 1976)
    digits[before_1976, 0] = 2
    digits[before_1976, 1] = 0
    corsica[before_1976] = 0
    if ((digits < 0) | (digits > 9)).any():
        raise ValueError("birth places must be digits, with 2A/2B as the only letters")
    numbers = digits @ np.array([10_000, 1_000, 100, 10, 1], dtype=np.int64)
    return numbers, corsica


def format_nirs(numeric13: np.ndarray, corsica: np.ndarray | None = None) -> np.ndarray:
    """15-character strings from 13-digit numbers (+ key); ``corsica`` 1/2 writes 2A/2B."""
    numeric13 = np.asarray(numeric13, dtype=np.int64)
    n = numeric13.size
    chars = np.empty((n, NIR_LENGTH), dtype=np.uint8)
    rest = numeric13.copy()
    for col in range(12, -1, -1):
        chars[:, col] = rest % 10
        rest //= 10
    keys = nir_keys(numeric13)
    chars[:, 13] = keys // 10
    chars[:, 14] = keys % 10
    chars += ord("0")
    if corsica is not None:
        corsica = np.asarray(corsica)
        chars[corsica > 0, 5] = ord("2")
        chars[corsica == 1, 6] = ord("A")
        chars[corsica == 2, 6] = ord("B")
    return chars.view(f"S{NIR_LENGTH}").ravel().astype(f"U{NIR_LENGTH}")


def generate_nirs(
    rng: np.random.Generator,
    n: int,
    *,
    sex: np.ndarray | None = None,
    birth_year: np.ndarray | None = None,
    birth_month: np.ndarray | None = None,
    birth_place: np.ndarray | None = None,
    provisional: np.ndarray | bool = False,
) -> np.ndarray:
    """``n`` NIRs with valid keys, vectorised; missing traits are drawn from ``rng``.

    ``sex`` holds 1 (male) / 2 (female); ``birth_place`` 5-character INSEE codes (communes,
    2A/2B, 97x, or 99xxx countries); ``provisional`` turns the sex digit into 7/8.
    """
    if sex is None:
        sex = rng.integers(1, 3, n)
    if birth_year is None:
        birth_year = rng.integers(1930, 2024, n)
    if birth_month is None:
        birth_month = rng.integers(1, 13, n)
    if birth_place is None:
        birth_place = draw_birth_places(rng, n)
    sex = np.asarray(sex, dtype=np.int64)
    year = np.asarray(birth_year, dtype=np.int64)
    month = np.asarray(birth_month, dtype=np.int64)
    sex_digit = sex + np.where(np.asarray(provisional, dtype=bool), 6, 0)
    place, corsica = _place_numbers(np.asarray(birth_place), year)
    order = rng.integers(1, 1000, n, dtype=np.int64)
    numeric = (
        sex_digit * 10**12 + (year % 100) * 10**10 + month * 10**8 + place * 10**3 + order
    )
    return format_nirs(numeric, corsica)


def generate_nias(
    rng: np.random.Generator,
    n: int,
    *,
    sex: np.ndarray | None = None,
    birth_year: np.ndarray | None = None,
    birth_month: np.ndarray | None = None,
    country: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` NIAs (waiting numbers for people born abroad) with valid keys.

    Same layout and key as a NIR; sex digit 7/8 and département 99 + country code [I].
    """
    if country is None:
        codes = [p.code for p in load_birth_places() if p.kind == "country"]
        country = rng.choice(np.array(codes), n)
    return generate_nirs(
        rng,
        n,
        sex=sex,
        birth_year=birth_year,
        birth_month=birth_month,
        birth_place=country,
        provisional=True,
    )


def valid_nir_mask(values: np.ndarray) -> np.ndarray:
    """Vectorised ``is_valid_nir`` (layout and key) over an array of strings."""
    arr = np.asarray(values).astype(str)
    if arr.size == 0:
        return np.zeros(0, dtype=bool)
    ok = np.char.str_len(arr) == NIR_LENGTH
    try:
        raw = np.char.encode(np.where(ok, arr, "0" * NIR_LENGTH), "ascii")
    except UnicodeEncodeError:
        return np.array([is_valid_nir(v) for v in arr.tolist()], dtype=bool)
    chars = raw.astype(f"S{NIR_LENGTH}").view(np.uint8).reshape(-1, NIR_LENGTH)
    digit = (chars >= ord("0")) & (chars <= ord("9"))
    corsica = (chars[:, 5] == ord("2")) & ((chars[:, 6] == ord("A")) | (chars[:, 6] == ord("B")))
    ok &= np.isin(chars[:, 0], np.frombuffer(b"1278", dtype=np.uint8))
    ok &= digit[:, 1:5].all(axis=1) & digit[:, 7:].all(axis=1)
    ok &= digit[:, 5:7].all(axis=1) | corsica
    values_d = np.where(digit, chars - ord("0"), 0).astype(np.int64)
    dept_num = values_d[:, 5] * 10 + values_d[:, 6]
    dept_num = np.where(corsica & (chars[:, 6] == ord("A")), 19, dept_num)
    dept_num = np.where(corsica & (chars[:, 6] == ord("B")), 18, dept_num)
    numeric = np.zeros(arr.size, dtype=np.int64)
    for col in range(13):
        digit_val = dept_num // 10 if col == 5 else dept_num % 10 if col == 6 else values_d[:, col]
        numeric = numeric * 10 + digit_val
    key = values_d[:, 13] * 10 + values_d[:, 14]
    ok &= key == (97 - numeric % 97)
    return ok
