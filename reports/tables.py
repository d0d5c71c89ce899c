"""The target table as the programme presents it, computed from the run's ``documents`` table.

One row per sector (its own target, if any) and one per target over several sectors: target,
published figure, the simulated total of the 12 months up to a chosen month and its share of the
target, the same at the run's end, the month the target is reached (``REACHED_RULE``: the first
month whose trailing 12-month total of accepted DMP documents reaches it), documents in each
later calendar year, key document; for a target over several sectors, the reading that adds the
MSSanté messages delivered (the programme's wave 1 wording counts both).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from reports.plotdata import monthly_documents
from simulator.core.errors import UsageError
from simulator.run_output import (
    Results,
    first_month_reached,
    is_plain_target,
    target_monthly,
    trailing_12,
)

DEFAULT_AT = "2023-09"  # the programme's COSUI figures (13 Sept 2023)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FIXED_COLUMNS = ["row", "kind", "sectors", "target_key", "target", "assumption", "key_document", "source",
                 "at", "observed", "achieved", "share", "reached", "end", "achieved_end", "share_end",
                 "with_mssante_end"]


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
    docs = res.tables["documents"]
    mss = docs[docs["channel"].isin(["mssante_pro", "mssante_patient"]) & (docs["outcome"] == "delivered")]
    mss_wide = (mss.groupby(["month", "sector"])["documents"].sum().unstack("sector")
                .reindex(index=months, columns=sectors).fillna(0.0))
    years = _full_years(months, int(at[:4]))

    own = {}
    groups = []
    for key, t in tgts.items():
        # a target counting some document types, a channel or from a date gets a row of its own
        if (len(t["sectors"]) == 1 and t["sectors"][0] in sectors and t["sectors"][0] not in own
                and is_plain_target(t)):
            own[t["sectors"][0]] = (key, t)
        else:
            groups.append((key, t))

    rows = []
    for s in sectors:
        key, t = own.get(s, (None, None))
        rows.append(_row(s, "sector", (s,), t, wide, at, years, observed, obs_sector=s, mss=mss_wide, key=key,
                         series=target_monthly(res, key) if key else None))
    for key, t in groups:
        group = tuple(t["sectors"])
        obs_sector = "all" if set(group) == set(sectors) else key
        rows.append(_row(key, "group", group, t, wide, at, years, observed, obs_sector=obs_sector, mss=mss_wide, key=key,
                         series=target_monthly(res, key)))
    return pd.DataFrame(rows, columns=FIXED_COLUMNS + [str(y) for y in years])


def _full_years(months: list[str], first: int) -> list[int]:
    count = pd.Series([m[:4] for m in months]).value_counts()
    return sorted(int(y) for y, n in count.items() if n == 12 and int(y) >= first)


def _row(row: str, kind: str, group: tuple[str, ...], t: dict | None, wide: pd.DataFrame, at: str,
         years: list[int], observed: pd.DataFrame | None, obs_sector: str, mss: pd.DataFrame,
         key: str | None = None, series: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    cols = [s for s in group if s in wide.columns]
    monthly = wide[cols].sum(axis=1) if cols else pd.Series(0.0, index=wide.index)
    values = None
    if series is not None:  # the target's own documents (types, channel) and value in force each month
        monthly = pd.Series(series[0], index=wide.index)
        values = series[1]
    total = pd.Series(trailing_12(monthly.to_numpy())[0], index=monthly.index)  # the 12 months up to each month
    target = float(values[-1]) if values is not None else float(t["value"]) if t else np.nan
    achieved = float(total.loc[at])
    end = str(monthly.index[-1])
    reached = ""
    if t:  # REACHED_RULE, as everywhere (summary, compare, sweeps, ensembles)
        first = int(first_month_reached(monthly.to_numpy(), values if values is not None else target)[0])
        reached = str(monthly.index[first]) if first < len(monthly) else ""
    with_mss = np.nan
    if len(group) > 1 and (t is None or is_plain_target(t)):
        both = monthly + (mss[cols].sum(axis=1) if cols else 0.0)
        with_mss = float(trailing_12(both.to_numpy())[0][-1])
    out = {
        "row": row,
        "kind": kind,
        "sectors": group,
        "target_key": key or "",
        "target": target,
        "assumption": bool(t.get("assumption", False)) if t else False,
        "key_document": t.get("key_document", "") if t else "",
        "source": t.get("source", "") if t else "",
        "at": at,
        "observed": _observed_rate(observed, obs_sector, at),
        "achieved": achieved,
        "share": achieved / (float(values[list(monthly.index).index(at)]) if values is not None else target) if t else np.nan,
        "reached": reached,
        "end": end,
        "achieved_end": float(total.iloc[-1]),
        "share_end": float(total.iloc[-1]) / target if t else np.nan,
        "with_mssante_end": with_mss,
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
