"""A calibration blind to what was published after a cut-off (``scenarios/data/knowledge.csv``).

``blind_spec`` turns a calibration into the one a forecaster could have set up at date D: each
value known later takes its documented earlier default, and is fitted with its wide earlier
prior when the registry gives one; a calibrated parameter whose prior range was set from later
figures gets its earlier range; mechanisms added later stay and are listed. ``check_blind``
fails when the calibration still reads something known after D.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from scenarios.knowledge import (
    KNOWLEDGE_CSV,
    Entry,
    KnownAt,
    at_cutoff,
    calibration_key,
    entry_for,
    later_values,
    load_knowledge,
    scenario_path,
    typed,
)
from simulator.core.errors import SegurError
from simulator.studies.calibration import CalibrationSpec, _parameter


def blind_spec(spec: CalibrationSpec, cutoff: dt.date,
               entries: list[Entry] | None = None) -> tuple[CalibrationSpec, KnownAt]:
    """The calibration restricted to what was known at ``cutoff``, and what was changed."""
    entries = load_knowledge(KNOWLEDGE_CSV) if entries is None else entries
    keys = [p.key for p in spec.parameters]
    known = at_cutoff(spec.base_data, entries, cutoff, keys)
    out = copy.copy(spec)
    out.base_data = known.data
    where = f"{KNOWLEDGE_CSV.name} at {cutoff}"
    params = []
    fitted_paths = set()
    for p in spec.parameters:
        path = scenario_path(spec.base_data, p.key)
        fitted_paths.add(path)
        lo, hi = known.priors.get(path, (p.value(p.low), p.value(p.high)))
        params.append(_parameter(f"{where}: {p.key}", p.key, [lo, hi], known.data))
    for path, (lo, hi) in known.priors.items():
        if path not in fitted_paths:
            key = calibration_key(known.data, path)
            params.append(_parameter(f"{where}: {path}", key, [lo, hi], known.data))
    out.parameters = params
    check_blind(out, known, entries)
    return out, known


def check_blind(spec: CalibrationSpec, known: KnownAt, entries: list[Entry]) -> None:
    """A bug (exit 3) if the blind calibration reads a value known after its cut-off, or fits a
    parameter whose prior range was set after it with that later range."""
    bad = later_values(spec.base_data, entries, known.cutoff, [p.key for p in spec.parameters])
    for p in spec.parameters:
        path = scenario_path(spec.base_data, p.key)
        e = entry_for(path, entries, prior=True)
        if e is not None and e.path == path and e.known_since > known.cutoff and e.before_prior:
            like = p.value(p.low)
            lo, hi = (typed(v, like) for v in e.before_prior)
            if (p.value(p.low), p.value(p.high)) != (lo, hi):
                bad.append(f"prior of {p.key} = [{p.show(p.low)}, {p.show(p.high)}] (set {e.known_since}; before it: "
                           f"[{e.before_prior[0]}, {e.before_prior[1]}])")
    if bad:
        raise SegurError(f"the backtest at {known.cutoff} reads what was known only later: " + "; ".join(bad),
                         exit_code=3)


def registry_path() -> Path:
    """The registry the backtest reads."""
    return KNOWLEDGE_CSV


__all__ = ["blind_spec", "check_blind", "registry_path"]
