"""Small array helpers that the per-day code calls often."""

from __future__ import annotations

import numpy as np


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for integers, by a sort: the same sorted values, many times faster on
    the tens of thousands of random persons a day's events pick (NumPy's ``unique`` hashes
    first, then sorts)."""
    a = np.sort(a)
    if a.size > 1:
        keep = np.empty(a.size, dtype=bool)
        keep[0] = True
        np.not_equal(a[1:], a[:-1], out=keep[1:])
        a = a[keep]
    return a


_COMPILED: dict[str, object] = {}


def stable_order(keys: np.ndarray, compiled: bool = False) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for small integer keys (int16): with ``compiled``, a
    counting sort in two compiled passes, several times faster on tens of millions of keys
    (the order is the same: a stable order is unique)."""
    if not compiled:
        return np.argsort(keys, kind="stable")
    if "order" not in _COMPILED:
        import numba  # only runs that use the compiled kernels pay for importing Numba

        _COMPILED["order"] = numba.njit(nogil=True, cache=True)(_counting_order)
    return _COMPILED["order"](keys.astype(np.int32, copy=False))


def _counting_order(keys):  # pragma: no cover - compiled
    n = keys.size
    lo = keys.min() if n else 0
    hi = keys.max() if n else 0
    start = np.zeros(hi - lo + 2, np.int64)
    for i in range(n):
        start[keys[i] - lo + 1] += 1
    for k in range(1, start.size):
        start[k] += start[k - 1]
    out = np.empty(n, np.int64)
    for i in range(n):
        k = keys[i] - lo
        out[start[k]] = i
        start[k] += 1
    return out
