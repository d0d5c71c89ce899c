"""The target table as the programme presents it, computed from the run's ``documents`` table.

One row per sector (its own target, if any) and one per target over several sectors: target,
published figure, simulated annualised rate at a chosen month, share of target, the month the
target is first reached (annualised rate: month × 12), documents in each later calendar year, key document.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from reports.plotdata import monthly_documents
from simulator.core.errors import UsageError
from simulator.outputs import first_month_reached
from simulator.results import Results

DEFAULT_AT = "2023-09"  # the programme's COSUI figures (13 Sept 2023)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FIXED_COLUMNS = ["row", "kind", "sectors", "target", "assumption", "key_document", "source",
                 "at", "observed", "achieved", "share", "reached"]


def report_month(res: Results, at: str | None = None) -> str:
    """The month the table reports on: ``at`` if given, else Sept 2023 if in the run, else the last month."""
    months = res.manifest["months"]
    if at is None:
        return DEFAULT_AT if DEFAULT_AT in months else months[-1]
    if not _MONTH.match(at):
        raise UsageError(f"--at: must be a month YYYY-MM (got {at!r})")
    if at not in months:
        raise UsageError(f"--at: {at} is not in the run ({months[0]} … {months[-1]})")
    return at


def year_columns(table: pd.DataFrame) -> list[str]:
    """The calendar-year columns of a target table (``'2024'``…), in order."""
    return [c for c in table.columns if c not in FIXED_COLUMNS]


def target_table(res: Results, at: str | None = None, observed: pd.DataFrame | None = None) -> pd.DataFrame:
    """The target table of one run (see the module docstring); numbers are national documents."""
    at = report_month(res, at)
    months = res.manifest["months"]
    sectors = list(res.manifest["sectors"])
    tgts = res.manifest["scenario"].get("targets", {})
    wide = (monthly_documents(res).pivot(index="month", columns="sector", values="documents")
            .reindex(index=months, columns=sectors, fill_value=0.0))
    years = _full_years(months, int(at[:4]))

    own = {}
    groups = []
    for key, t in tgts.items():
        if len(t["sectors"]) == 1 and t["sectors"][0] in sectors and t["sectors"][0] not in own:
            own[t["sectors"][0]] = (key, t)
        else:
            groups.append((key, t))

    rows = []
    for s in sectors:
        key, t = own.get(s, (None, None))
        rows.append(_row(s, "sector", (s,), t, wide, at, years, observed, obs_sector=s))
    for key, t in groups:
        group = tuple(t["sectors"])
        obs_sector = "all" if set(group) == set(sectors) else key
        rows.append(_row(key, "group", group, t, wide, at, years, observed, obs_sector=obs_sector))
    return pd.DataFrame(rows, columns=FIXED_COLUMNS + [str(y) for y in years])


def _full_years(months: list[str], first: int) -> list[int]:
    count = pd.Series([m[:4] for m in months]).value_counts()
    return sorted(int(y) for y, n in count.items() if n == 12 and int(y) >= first)


def _row(row: str, kind: str, group: tuple[str, ...], t: dict | None, wide: pd.DataFrame, at: str,
         years: list[int], observed: pd.DataFrame | None, obs_sector: str) -> dict:
    cols = [s for s in group if s in wide.columns]
    monthly = wide[cols].sum(axis=1) if cols else pd.Series(0.0, index=wide.index)
    target = float(t["value"]) if t else np.nan
    achieved = float(monthly.loc[at]) * 12
    reached = ""
    if t:  # first month whose annualised rate (month × 12) reaches the target, as in `segur compare`
        first = int(first_month_reached(monthly.to_numpy() * 12, target)[0])
        reached = str(monthly.index[first]) if first < len(monthly) else ""
    out = {
        "row": row,
        "kind": kind,
        "sectors": group,
        "target": target,
        "assumption": bool(t.get("assumption", False)) if t else False,
        "key_document": t.get("key_document", "") if t else "",
        "source": t.get("source", "") if t else "",
        "at": at,
        "observed": _observed_rate(observed, obs_sector, at),
        "achieved": achieved,
        "share": achieved / target if t else np.nan,
        "reached": reached,
    }
    for y in years:
        out[str(y)] = float(monthly[monthly.index.str.startswith(f"{y}-")].sum())
    return out


def _observed_rate(observed: pd.DataFrame | None, sector: str, at: str) -> float:
    """The published annualised rate of a sector at a month, if the programme gave one."""
    if observed is None or observed.empty:
        return np.nan
    hit = observed[(observed["metric"] == "documents_annual_rate") & (observed["sector"] == sector)
                   & (observed["date"] == at)]
    return float(hit["value"].iloc[0]) if len(hit) else np.nan
