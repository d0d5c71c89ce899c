"""Reference kernel: the least work a per-document simulation of France can do in NumPy.

Each simulated day draws every facility's document count (Poisson), materialises each document
as rows (facility, patient, type), and reduces them per type and per facility. Prints seconds for
YEARS simulated years at 250M documents a year (77,850 facilities, 68M patients).

A copy of the project's shared yardstick (``bench/refkernel.py`` beside the repository, as it
stood on 2026-12-07), unchanged but for this paragraph, so that the benchmarks can run it in the
same sitting (``benchmarks/command.py --kernel``). Its cost per row, seconds / (250M × YEARS),
is what a run's cost per DMP document is compared with.

    python benchmarks/refkernel.py 7
"""
# ruff: noqa  (the shared copy's lines, as they are)
import sys, time
import numpy as np

years = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
days = int(365 * years)
rng = np.random.default_rng(1)
sizes = {"gp": 51000, "hospital": 2000, "biology": 4000, "radiology": 850, "pharmacy": 20000}
share = {"gp": 120, "hospital": 20, "biology": 75, "radiology": 35, "pharmacy": 0.001}
rates, types = [], []
for t, (k, n) in enumerate(sizes.items()):
    per_day = share[k] * 1e6 / 365 / n if share[k] else 0.0
    rates.append(np.full(n, per_day)); types.append(np.full(n, t, dtype=np.int8))
rates = np.concatenate(rates); rates *= 250e6 / 365 / rates.sum(); types = np.concatenate(types)
nfac = rates.size; per_fac = np.zeros(nfac, np.int64); per_type = np.zeros(8, np.int64)
t0 = time.perf_counter()
for _ in range(days):
    c = rng.poisson(rates)
    fac = np.repeat(np.arange(nfac, dtype=np.int32), c)
    pat = rng.integers(0, 68_000_000, size=fac.size, dtype=np.int32)
    per_type += np.bincount(types[fac], minlength=8)
    per_fac += c
    _ = np.bitwise_xor.reduce(pat)
print(round(time.perf_counter() - t0, 2))
