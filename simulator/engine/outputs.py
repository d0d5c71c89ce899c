"""Named scalar outputs of a run, computed from its Results: what sweeps and sensitivity rank.

Each output has a name, arguments with defaults, a unit and a one-line meaning (``OUTPUTS``).
Scenario files and sweep / sensitivity files name them either as a string (``"dmp_last_12_months"``)
or as a table with arguments (``{ name = "dmp_accepted_year", year = 2025, sector = "gp" }``).
All document counts are national estimates (simulated documents / scale).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.engine.monthly import monthly_frame

if TYPE_CHECKING:
    from scenarios.schema import Scenario
    from simulator.engine.results import Results

REQUIRED = object()


@dataclass(frozen=True)
class OutputDef:
    """One named output: its arguments (name → default, or REQUIRED), unit and meaning."""

    name: str
    unit: str
    doc: str
    args: dict[str, Any]
    label: str  # column name template, e.g. "dmp_accepted_{year}_{sector}"
    fn: Callable[..., float] = field(repr=False)


@dataclass(frozen=True)
class OutputSpec:
    """A named output with its arguments fixed: what a worker evaluates on each run."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def definition(self) -> OutputDef:
        return OUTPUTS[self.name]

    @property
    def label(self) -> str:
        """Column name in the tables (e.g. ``dmp_accepted_2025_gp``)."""
        return self.definition.label.format(**dict(self.args))

    @property
    def unit(self) -> str:
        return self.definition.unit

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.name}({args}): {self.definition.doc} [{self.unit}]"

    def evaluate(self, res: Results) -> float:
        return float(self.definition.fn(res, **dict(self.args)))


# -- helpers on Results -----------------------------------------------------------------
def _dmp_monthly(res: Results) -> pd.DataFrame:
    """Accepted DMP documents, national, month (rows ``YYYY-MM``, every month of the run) × sector."""
    return monthly_frame(res, "dmp", "accepted")


def _sectors(res: Results, sector: str) -> list[str]:
    return list(res.manifest["sectors"]) if sector == "all" else [sector]


def month_to_decimal(month: str) -> float:
    """'2025-03' → 2025.1667 (the month's start as a decimal year)."""
    y, m = month.split("-")
    return int(y) + (int(m) - 1) / 12


def decimal_to_month(x: float) -> str:
    """2025.1667 → '2025-03' (inverse of ``month_to_decimal``)."""
    k = int(round(x * 12))
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


# -- the outputs ------------------------------------------------------------------------
def dmp_accepted_year(res: Results, year: int, sector: str = "all") -> float:
    wide = _dmp_monthly(res)
    rows = [m for m in wide.index if m.startswith(f"{int(year):04d}-")]
    return float(wide.loc[rows, _sectors(res, sector)].to_numpy().sum())


def dmp_last_12_months(res: Results, sector: str = "all") -> float:
    wide = _dmp_monthly(res)
    return float(wide.iloc[-12:][_sectors(res, sector)].to_numpy().sum())


def _target(res: Results, target: str) -> dict[str, Any]:
    return res.manifest["scenario"]["targets"][target]


# -- "target reached": the one definition -------------------------------------------------
# + a target's key: the replications column of the month it is reached once the structural
# discrepancy multiplies the volumes (decimal years; ``simulator.engine.ensemble.discrepancy_columns``)
WITH_DISCREPANCY = "target_reached_with_discrepancy_"
REACHED_RULE = ("a target of N documents a year is reached in the first month whose trailing 12-month total "
                "of accepted DMP documents is at least N")
SHARE_RULE = "% of target = accepted DMP documents of the last 12 months / N"
#: where a target's documents count (``[targets.X] channel``): channels of the documents table and the outcome
TARGET_CHANNELS: dict[str, tuple[tuple[str, ...], str]] = {
    "dmp": (("dmp",), "accepted"),
    "mssante_pro": (("mssante_pro",), "delivered"),
    "mssante_patient": (("mssante_patient",), "delivered"),
    "mssante": (("mssante_pro", "mssante_patient"), "delivered"),
}


def trailing_12(monthly: np.ndarray) -> np.ndarray:
    """Per row (replication), the total of each month and the 11 before it ([rep, month]).

    The run's first 11 months sum the months the run has: documents are never negative, so a
    partial window that reaches a target is one the full window reaches too."""
    m = np.atleast_2d(np.asarray(monthly, dtype=float))
    c = np.cumsum(m, axis=1)
    out = c.copy()
    out[:, 12:] -= c[:, :-12]
    return out


def first_month_reached(monthly: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """Per row (replication), the index of the first month whose trailing 12-month total of
    ``monthly`` (documents of each month that count towards a target, national) reaches ``value``
    (documents a year; or one value per month, ``target_values``: infinite before the target's
    start); the number of months when it never does. The one definition of "reached"
    (``REACHED_RULE``) used by the summary, the report, ``compare``, sweeps and ensembles: honest
    to "documents a year" and immune to a seasonal peak month."""
    total = trailing_12(monthly)
    hit = total >= np.asarray(value, dtype=float)
    return np.where(hit.any(axis=1), hit.argmax(axis=1), total.shape[1])


def share_at(monthly: np.ndarray, value: float | np.ndarray, month_index: int = -1) -> np.ndarray:
    """Per row, the trailing 12-month total at ``month_index`` over ``value`` (``SHARE_RULE``;
    the value in force that month when ``value`` is one per month)."""
    v = np.asarray(value, dtype=float)
    v = v[month_index] if v.ndim else v
    return trailing_12(monthly)[:, month_index] / float(v)


def is_plain_target(t: dict[str, Any]) -> bool:
    """Whether a target counts every accepted DMP document of its sectors, from the start, at one
    value (then the sector-by-month DMP table is all it needs)."""
    return not t.get("doc_types") and t.get("channel", "dmp") == "dmp" and not t.get("start")


def target_scope(t: dict[str, Any]) -> str:
    """'57833-6 · mssante · from 2024-01': what a target counts beyond its sectors' DMP documents
    ('' for a plain target)."""
    parts = [" ".join(t.get("doc_types") or [])]
    if t.get("channel", "dmp") != "dmp":
        parts.append(str(t["channel"]))
    if t.get("start"):
        parts.append(f"from {str(t['start'])[:7]}")
    return " · ".join(p for p in parts if p)


def target_counts(documents: pd.DataFrame, months: list[str], t: dict[str, Any]) -> np.ndarray:
    """National documents of each month (``months``) that count towards target ``t`` (a target's
    fields as in the manifest): its sectors, its doc_types (all if empty), on its channel."""
    channels, outcome = TARGET_CHANNELS[t.get("channel", "dmp")]
    sel = (documents["outcome"] == outcome) & documents["channel"].isin(channels) & documents["sector"].isin(t["sectors"])
    if t.get("doc_types"):
        sel &= documents["doc_type"].astype(str).isin([str(c) for c in t["doc_types"]])
    got = documents.loc[sel].groupby(documents.loc[sel, "month"].astype(str))["documents"].sum()
    return got.reindex(months, fill_value=0.0).to_numpy(dtype=float)


def target_values(key: str, t: dict[str, Any], months: list[str], interventions: list[Any]) -> np.ndarray:
    """The value of target ``key`` in force each month (documents a year): its value, changed from
    the month of each ``target`` intervention naming it; infinite before its ``start`` month."""
    values = np.full(len(months), float(t["value"]))
    changes = [(str(iv["date"])[:7], float(iv["value"])) for iv in interventions
               if isinstance(iv, dict) and iv.get("kind") == "target" and iv.get("target") == key]
    for month, value in sorted(changes):
        values[[i for i, m in enumerate(months) if m >= month]] = value
    if t.get("start"):
        values[[i for i, m in enumerate(months) if m < str(t["start"])[:7]]] = np.inf
    return values


def target_monthly(res: Results, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Target ``target`` of a run: national documents counting towards it each month, and its value
    in force each month (what ``first_month_reached`` and ``share_at`` take)."""
    man = res.manifest
    t = _target(res, target)
    months = list(man["months"])
    return (target_counts(res.tables["documents"], months, t),
            target_values(target, t, months, man["scenario"].get("interventions", []) or []))


def _target_monthly(res: Results, target: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    monthly, values = target_monthly(res, target)
    return monthly, list(res.manifest["months"]), values


def share_of_target(res: Results, target: str) -> float:
    monthly, _, value = _target_monthly(res, target)
    return float(share_at(monthly, value)[0])


def reached_month(res: Results, target: str) -> str | None:
    """The month ``YYYY-MM`` a target is reached (``REACHED_RULE``), or None if not by the run's end."""
    monthly, months, value = _target_monthly(res, target)
    first = int(first_month_reached(monthly, value)[0])
    return months[first] if first < len(months) else None


def target_reached(res: Results, target: str) -> float:
    _, months, _ = _target_monthly(res, target)
    month = reached_month(res, target)
    if month is not None:
        return month_to_decimal(month)
    return month_to_decimal(months[-1]) + 1 / 12  # censored: not reached by the end of the run


def attainment_quantiles(reached: np.ndarray, last: str) -> tuple[list[str | None], float]:
    """The months (``YYYY-MM``, None = not by the end of the run) of p5, p50, p95 of the month a
    target is reached over the replications (``target_reached`` values, decimal years; a censored
    one counts as later than any month), and the share of replications that reach it by ``last``.
    Quantiles by numpy's 'inverted_cdf' (a month some replication reached, never an average)."""
    reached = np.asarray(reached, dtype=float)
    end = month_to_decimal(last) + 1e-9
    q = [float(np.quantile(reached, p, method="inverted_cdf")) for p in (0.05, 0.5, 0.95)]
    return [None if v > end else decimal_to_month(v) for v in q], float(np.mean(reached <= end))


def feeding(res: Results, sector: str, month: str) -> float:
    df = res.tables["adoption"]
    sel = (df["month"].astype(str) == month) & (df["sector"].isin(_sectors(res, sector)))
    return float(df.loc[sel, "feeding"].sum())


def profiles_activated(res: Results, month: str) -> float:
    df = res.tables["profiles"]
    sel = (df["month"].astype(str) == month) & (df["state"] == "activated")
    return float(df.loc[sel, "persons"].sum())


OUTPUTS: dict[str, OutputDef] = {d.name: d for d in (
    OutputDef("dmp_accepted_year", "documents/year",
              "documents accepted by the DMP in calendar year `year` (wholly inside the run), for `sector` or all",
              {"year": REQUIRED, "sector": "all"}, "dmp_accepted_{year}_{sector}", dmp_accepted_year),
    OutputDef("dmp_last_12_months", "documents/year",
              "documents accepted by the DMP in the last 12 months of the run, for `sector` or all (the summary's figure)",
              {"sector": "all"}, "dmp_last12_{sector}", dmp_last_12_months),
    OutputDef("share_of_target", "ratio",
              "DMP documents accepted in the last 12 months of the run over the annual value of target `target`",
              {"target": REQUIRED}, "share_of_target_{target}", share_of_target),
    OutputDef("target_reached", "decimal year",
              "first month whose trailing 12-month total of accepted DMP documents reaches target `target` "
              "(2025.25 = April 2025); never reached = the month after the run's end (censored)",
              {"target": REQUIRED}, "target_reached_{target}", target_reached),
    OutputDef("feeding", "facilities",
              "facilities of `sector` (or all) feeding the DMP at the end of `month` (YYYY-MM)",
              {"sector": "all", "month": REQUIRED}, "feeding_{sector}_{month}", feeding),
    OutputDef("profiles_activated", "persons",
              "Mon espace santé profiles activated at the end of `month` (YYYY-MM)",
              {"month": REQUIRED}, "profiles_activated_{month}", profiles_activated),
)}


# -- parsing and checking against a scenario --------------------------------------------
def run_months(sc: Scenario) -> list[str]:
    """The months 'YYYY-MM' of a scenario's run."""
    out = []
    y, m = sc.run.start.year, sc.run.start.month
    while (y, m) <= (sc.run.end.year, sc.run.end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _check_arg(sc: Scenario, key: str, value: Any, where: str) -> Any:
    if key == "sector":
        allowed = ["all", *sc.sectors]
        if value not in allowed:
            raise UsageError(f"{where}: sector '{value}' is not in the scenario; allowed: {', '.join(allowed)}")
        return value
    if key == "target":
        if value not in sc.targets:
            raise UsageError(f"{where}: target '{value}' is not in the scenario; allowed: {', '.join(sc.targets) or '(none)'}")
        return value
    if key == "year":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{where}: year must be an integer (got {value!r})")
        if not (sc.run.start <= dt.date(value, 1, 1) and dt.date(value, 12, 31) <= sc.run.end):
            raise UsageError(f"{where}: year {value} is not wholly inside the run ({sc.run.start} to {sc.run.end})")
        return value
    if key == "month":
        months = run_months(sc)
        if str(value) not in months:
            raise UsageError(f"{where}: month must be YYYY-MM within the run ({months[0]} to {months[-1]}), got {value!r}")
        return str(value)
    return value  # pragma: no cover - every argument kind is handled above


def parse_output(value: Any, sc: Scenario, where: str) -> OutputSpec:
    """An output named in a file (string or table with ``name``), checked against ``sc``."""
    if isinstance(value, str):
        name, given = value, {}
    elif isinstance(value, dict):
        given = dict(value)
        name = given.pop("name", None)
        if not isinstance(name, str):
            raise UsageError(f"{where}: a table naming an output needs name = \"…\"; allowed names: {', '.join(OUTPUTS)}")
    else:
        raise UsageError(f"{where}: must be an output name or a table {{ name = …, arguments… }} (got {value!r})")
    if name not in OUTPUTS:
        raise UsageError(f"{where}: unknown output '{name}'; allowed: {', '.join(OUTPUTS)}")
    d = OUTPUTS[name]
    for key in given:
        if key not in d.args:
            raise UsageError(f"{where}: output '{name}' has no argument '{key}'; allowed: {', '.join(d.args) or '(none)'}")
    args = []
    for key, default in d.args.items():
        if key not in given and default is REQUIRED:
            raise UsageError(f"{where}: output '{name}' needs argument '{key}'")
        args.append((key, _check_arg(sc, key, given.get(key, default), where)))
    return OutputSpec(name, tuple(args))


def headline_outputs(sc: Scenario) -> list[OutputSpec]:
    """The outputs every replication reports: last-12-month DMP volume (all, each sector),
    each target's share and the month it is reached."""
    specs = [OutputSpec("dmp_last_12_months", (("sector", "all"),))]
    specs += [OutputSpec("dmp_last_12_months", (("sector", s),)) for s in sc.sectors]
    specs += [OutputSpec("share_of_target", (("target", t),)) for t in sc.targets]
    specs += [OutputSpec("target_reached", (("target", t),)) for t in sc.targets]
    return specs


def evaluate(specs: list[OutputSpec], res: Results) -> dict[str, float]:
    """Each output's value on one run, by label."""
    return {s.label: s.evaluate(res) for s in specs}
