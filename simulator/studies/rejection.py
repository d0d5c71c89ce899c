"""ABC rejection on the calibration's surrogate, vectorised.

A surrogate draw costs microseconds, so the posterior can be had without sequential importance
weights: draw the uniform priors many times, draw the surrogate (with its residual noise) for
each, keep the ``accept`` draws nearest the observed rows (the weighted, one-sided relative
distance of ``posterior.weighted_distance``), all equally weighted. In 20-odd dimensions
pyabc's SMC weights collapsed (an effective sample size of 4 in 1,000 by its fourth generation,
2026-12-07), which this avoids; pyabc's SMC stays for particles that are simulator runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulator.studies.observed_match import MORE_THAN_MARGIN
from simulator.studies.surrogate import Surrogate


def distances(sims: np.ndarray, x0: np.ndarray, bounds: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """The weighted distance of each row of ``sims`` [draw, row] to ``x0`` (one-sided for bounds)."""
    e = (sims - x0) / x0
    lower = np.array([b == "lower" for b in bounds])
    upper = np.array([b == "upper" for b in bounds])
    e = np.where(lower, np.minimum(e, 0.0) + np.maximum(e - MORE_THAN_MARGIN, 0.0), e)
    e = np.where(upper, np.maximum(e, 0.0), e)
    return np.sqrt((weights * e * e).sum(axis=1) / weights.sum())


def abc_rejection(surrogate: Surrogate, priors: Sequence[tuple[str, float, float]], x0: dict[str, float],
                  bounds: dict[str, str], weights: dict[str, float], draws: int, accept: int, seed: int,
                  chunk: int = 100_000) -> tuple[pd.DataFrame, np.ndarray, float]:
    """The ``accept`` prior draws (of ``draws``) nearest the observed rows: their parameters (by
    pyabc name), their surrogate values [accept, row] in the order of ``surrogate.keys``, and the
    largest accepted distance (the tolerance reached)."""
    rng = np.random.default_rng(seed)
    keys = surrogate.keys
    obs = np.array([x0[k] for k in keys], dtype=float)
    w = np.array([weights[k] if obs[j] else 0.0 for j, k in enumerate(keys)], dtype=float)
    b = [bounds[k] for k in keys]
    lo = np.array([p[1] for p in priors], dtype=float)
    hi = np.array([p[2] for p in priors], dtype=float)
    best_x = np.empty((0, len(priors)))
    best_y = np.empty((0, len(keys)))
    best_d = np.empty(0)
    done = 0
    while done < draws:
        n = min(chunk, draws - done)
        x = lo + (hi - lo) * rng.random((n, len(priors)))
        u = (x - surrogate.lo) / surrogate.span
        z = np.column_stack([np.ones(n), u]) @ surrogate.coef + rng.standard_normal((n, len(keys))) * surrogate.sd
        y = np.exp(z)
        d = distances(y, np.where(obs == 0, 1.0, obs), b, w)
        best_x, best_y, best_d = (np.concatenate([best_x, x]), np.concatenate([best_y, y]), np.concatenate([best_d, d]))
        if len(best_d) > accept:
            keep = np.argpartition(best_d, accept - 1)[:accept]
            best_x, best_y, best_d = best_x[keep], best_y[keep], best_d[keep]
        done += n
    order = np.argsort(best_d)
    params = pd.DataFrame(best_x[order], columns=[p[0] for p in priors])
    return params, best_y[order], float(best_d.max())
