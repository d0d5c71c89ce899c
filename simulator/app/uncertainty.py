"""What the page says of its bands, from the committed discrepancy file (nothing fitted at request time).

The page's scenarios all extend a calibrated one; the structural discrepancy estimated with that
calibration (``<name>.discrepancy.csv`` beside it, ``simulator.engine.discrepancy.inherited``)
multiplies the replications' volumes, and its rows say how far the model's posterior-predictive
median was from the published volume figures it was fitted to (in sample): the median absolute
error, the root mean square of the log gap, and each sector's mean gap.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from reports import i18n as rep
from simulator.engine.discrepancy import inherited, load, read_discrepancy


def discrepancy_for(scenario: str) -> dict[str, Any] | None:
    """{table, cutoff, file} of the discrepancy the page's replications of ``scenario`` carry; None: none."""
    file = inherited(scenario)
    return None if file is None else load(file)


def number_or_none(x: Any) -> float | None:
    """``x`` as a float; None when it is not a number or is NaN (JSON has no NaN)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


# groups of the observed rows that are not sectors (scenarios/data/observed.csv)
GROUP_LABELS = {"all": {"fr": "tous secteurs", "en": "all sectors"},
                "prescription_medication": {"fr": "ordonnances de médicaments", "en": "medication prescriptions"}}


def _group(name: str, r: Any) -> dict[str, Any]:
    """A group's name in both languages, rows, mean gap (model over observed) and median absolute error."""
    mean_log = number_or_none(r.get("mean_log_residual"))
    label = GROUP_LABELS.get(name) or {lang: rep.sector_label(name, lang) for lang in rep.LANGS}
    return {"group": name, "label": label, "rows": int(r["rows"]),
            "model_vs_observed": None if mean_log is None else math.exp(-mean_log) - 1,
            "median_abs_error": number_or_none(r.get("median_abs_error"))}


def in_sample(scenario: str) -> dict[str, Any] | None:
    """How far the calibrated model was from the published volume figures it was fitted to:
    file, posterior, data cut-off, rows, median absolute error and root mean square of the log
    gap over all rows, and per group (sector, "all") the model-over-observed gap of its mean
    (exp(−mean log residual) − 1: negative = the model below the figures). None without a file."""
    file = inherited(scenario)
    if file is None:
        return None
    table, prov = read_discrepancy(file)
    rows = {str(r["group"]): r for _, r in table.iterrows()}
    pooled = rows.get("pooled")
    if pooled is None:
        return None
    groups = [_group(g, r) for g, r in rows.items() if g != "pooled" and (number_or_none(r.get("rows")) or 0) > 0]
    return {"file": Path(file).name, "posterior": prov.get("posterior", ""), "data_cutoff": prov.get("data_cutoff", ""),
            "rows": int(pooled["rows"]) if "rows" in pooled else None,
            "median_abs_error": number_or_none(pooled.get("median_abs_error")), "rms_log": number_or_none(pooled["level_sd"]),
            "drift_sd": number_or_none(pooled["drift_sd"]), "groups": groups}


__all__ = ["discrepancy_for", "in_sample"]
