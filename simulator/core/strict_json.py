"""Strict JSON for what clients send (the DMP server's bodies, the page's forms): the standard
library's parser with hooks that refuse what FHIR JSON forbids or what would cost the server
dearly later — duplicate keys, ``NaN``/``Infinity``, integers over 64 bits, floats that
overflow, control characters and lone surrogates in strings, nesting deeper than a cap, more
items in one array or keys in one object than a cap. Every refusal is a ``JsonRefused`` whose message says what and
where (a path), so that callers answer 400/413/422 instead of crashing later.

Rules followed: FHIR R4 JSON (http://hl7.org/fhir/R4/json.html): "a given property SHALL NOT
appear more than once"; strings "SHALL NOT contain Unicode character points below 32, except
for u0009 (horizontal tab), u000D (carriage return) and u000A (line feed)"; decimals are
numbers, never ``NaN`` or ``Infinity`` (RFC 8259 §6 has no such literals).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

#: the longest integer literal accepted (digits and sign): 2**64 has 20 digits
MAX_INT_DIGITS = 20
#: the longest decimal literal accepted (FHIR decimals carry at most 18 significant digits in
#: practice; a few more for exponents and signs)
MAX_FLOAT_CHARS = 64
#: bodies longer than this (characters) have their caps checked on a fast parse first
CAPS_FIRST_ABOVE = 64 * 1024
#: the JSON escapes that can make a control character or a surrogate (\u0000–\u001F, \uD800–\uDFFF)
_SUSPECT_ESCAPE = re.compile(r"\\u(?:00[01]|[dD][89a-fA-F])")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


class JsonRefused(ValueError):
    """A body refused by the strict parser; ``status`` is the HTTP status it deserves."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def _constant(name: str) -> Any:
    raise JsonRefused(f"the JSON literal {name} is not allowed (JSON numbers are finite; FHIR forbids NaN and "
                      "Infinity)")


def _int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise JsonRefused(f"an integer of {len(text):,} characters is not allowed (at most {MAX_INT_DIGITS}; "
                          "FHIR integers are 32-bit, integer64 64-bit)")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_FLOAT_CHARS:
        raise JsonRefused(f"a number of {len(text):,} characters is not allowed (at most {MAX_FLOAT_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text} is out of range (it is not a finite double)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise JsonRefused(f"the key {dup[:80]!r} appears twice in one object (FHIR JSON: a property SHALL NOT "
                          "appear more than once)")
    return out


def loads(text: str | bytes, *, max_depth: int = 64, max_items: int | None = None) -> Any:
    """``text`` parsed strictly; JsonRefused (a ValueError) for anything refused, including
    JSON that does not parse (message with line and column)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonRefused(f"the body is not UTF-8 text (byte {exc.start})") from None
    capped = False
    if len(text) > CAPS_FIRST_ABOVE:
        # the caps first, on orjson's parse (C): a 100,000-entry body is refused before the
        # strict parse below spends its time on it
        try:
            fast = orjson.loads(text)
        except orjson.JSONDecodeError:  # refused by orjson: the strict parse says why, precisely
            pass
        else:
            check_tree(fast, max_depth=max_depth, max_items=max_items, strings=False)
            capped = True
            del fast
    try:
        data = json.loads(text, object_pairs_hook=_object, parse_constant=_constant, parse_int=_int,
                          parse_float=_float)
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JsonRefused(f"the JSON is nested too deeply (at most {max_depth} levels)", 422) from None
    except ValueError as exc:  # anything else the parser's conversions refuse
        raise JsonRefused(f"not JSON ({exc})") from None
    # a control character or a surrogate can only come from a \u escape (JSON refuses raw control
    # characters): without such an escape in the text, no string needs looking at
    strings = _SUSPECT_ESCAPE.search(text) is not None
    if strings or not capped:
        check_tree(data, max_depth=max_depth, max_items=max_items, strings=strings)
    return data


def check_tree(data: Any, *, max_depth: int = 64, max_items: int | None = None, strings: bool = True) -> None:
    """Walk a parsed value without recursion: nesting depth, items per array and keys per
    object, and (``strings``) strings and keys free of control characters and lone surrogates."""
    stack: list[tuple[Any, int, Any]] = [(data, 1, None)]
    while stack:
        value, depth, where = stack.pop()
        kind = type(value)
        if kind is dict or kind is list:
            if depth > max_depth:
                raise JsonRefused(f"{_path(where)}: nested deeper than {max_depth} levels", 422)
            if max_items is not None and len(value) > max_items:
                what = "keys in one object" if kind is dict else "items in one array"
                raise JsonRefused(f"{_path(where)}: {len(value):,} {what}, above the limit of {max_items:,}", 413)
            pairs = value.items() if kind is dict else enumerate(value)
            for k, v in pairs:
                if strings and kind is dict and _BAD_CHAR.search(k):
                    raise JsonRefused(f"{_path(where)}: a key holds a control character or a lone surrogate")
                t = type(v)
                if t is dict or t is list:
                    stack.append((v, depth + 1, (where, k)))
                elif strings and t is str and _BAD_CHAR.search(v):
                    raise JsonRefused(f"{_path((where, k))}: {_char_problem(v)}")
        elif strings and kind is str and _BAD_CHAR.search(value):
            raise JsonRefused(f"{_path(where)}: {_char_problem(value)}")


def _path(where: Any) -> str:
    """``$.entry[3].resource`` from the chain of (parent, key) pairs."""
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key[:40]}")
    return "$" + "".join(reversed(parts))


def _char_problem(text: str) -> str:
    m = _BAD_CHAR.search(text)
    code = ord(m.group(0)) if m else 0
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone surrogate U+{code:04X} is not text"
    return (f"the control character U+{code:04X} is not allowed in a string (FHIR: no character below U+0020 "
            "but tab, CR and LF)")


def bad_text(text: str) -> str | None:
    """Why ``text`` (a query value, a path segment) cannot be used, or None."""
    return _char_problem(text) if _BAD_CHAR.search(text) else None


__all__ = ["JsonRefused", "MAX_FLOAT_CHARS", "MAX_INT_DIGITS", "bad_text", "check_tree", "loads"]
