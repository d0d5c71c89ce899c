"""Plot data: each figure's numbers, computed from the run's tables only (no second model).

Every function takes a Results (or its tables) and returns a tidy DataFrame that one draw
function in ``reports.figures`` plots as it is; tests check these frames against the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulator.run_output import Results, is_plain_target, target_monthly, trailing_12

ALL = "all"  # panel key of the sum of every sector of the run
GP_THRESHOLDS = (1, 10, 50, 100, 200)
ROUTES = ("mssante_pro", "mssante_patient", "mssante_from_patient")
PROFILE_STATES = ("open_all", "activated", "opposed", "closed")
FAILURE_OUTCOMES = ("rejected", "dropped")


@dataclass(frozen=True)
class Panel:
    """One panel of the annualised-rate figure: a sector, or a sum of sectors."""

    key: str
    sectors: tuple[str, ...]
    target: str | None = None  # a target counting some document types or a channel: its own series


def panels(res: Results) -> list[Panel]:
    """Each sector, then the sum of all sectors, then any target over another group of sectors."""
    sectors = tuple(res.manifest["sectors"])
    out = [Panel(s, (s,)) for s in sectors] + [Panel(ALL, sectors)]
    for key, t in res.manifest["scenario"].get("targets", {}).items():
        group = tuple(t["sectors"])
        if not is_plain_target(t) and key not in {p.key for p in out}:
            out.append(Panel(key, group, key))
        elif len(group) > 1 and set(group) != set(sectors) and key not in {p.key for p in out}:
            out.append(Panel(key, group))
    return out


def panel_of_target(res: Results, key: str) -> str:
    """The panel a target is drawn on (its sector, ``all``, or its own key)."""
    t = res.manifest["scenario"]["targets"][key]
    group = set(t["sectors"])
    if not is_plain_target(t):
        return key
    if len(group) == 1:
        return next(iter(group))
    return ALL if group == set(res.manifest["sectors"]) else key


def interventions(res: Results) -> pd.DataFrame:
    """The scenario's interventions inside the run, numbered in date order: number, date, month,
    kind and the scenario's fields (rule, service, path, sector, value, factor, days, label, vendor,
    doc_type, target)."""
    cols = ["number", "date", "month", "kind", "rule", "service", "path", "sector", "value", "factor", "days", "label",
            "vendor", "doc_type", "target"]
    months = set(res.manifest["months"])
    rows = [dict(iv) for iv in res.manifest["scenario"].get("interventions", []) or []
            if isinstance(iv, dict) and str(iv.get("date", ""))[:7] in months]
    rows.sort(key=lambda iv: str(iv["date"]))
    out = pd.DataFrame([{c: iv.get(c) for c in cols} for iv in rows], columns=cols)
    out["number"] = range(1, len(out) + 1)
    out["date"] = out["date"].astype(str).str[:10]
    out["month"] = out["date"].str[:7]
    return out


def months_frame(res: Results) -> pd.DataFrame:
    return pd.DataFrame({"month": res.manifest["months"]})


def monthly_documents(res: Results) -> pd.DataFrame:
    """DMP documents accepted per month and sector (national): month, sector, documents."""
    df = res.tables["documents"]
    sel = df[(df["channel"] == "dmp") & (df["outcome"] == "accepted")]
    got = sel.groupby(["month", "sector"], sort=False)["documents"].sum()
    idx = pd.MultiIndex.from_product([res.manifest["months"], res.manifest["sectors"]], names=["month", "sector"])
    return got.reindex(idx, fill_value=0.0).astype(float).reset_index()


def annualised(res: Results) -> pd.DataFrame:
    """Annualised DMP rate (documents accepted in the month × 12) per panel: month, panel, documents, annualised."""
    mon = monthly_documents(res)
    wide = mon.pivot(index="month", columns="sector", values="documents").reindex(res.manifest["months"])
    frames = []
    for p in panels(res):
        cols = [s for s in p.sectors if s in wide.columns]
        docs = wide[cols].sum(axis=1) if cols else pd.Series(0.0, index=wide.index)
        if p.target is not None:
            docs = pd.Series(target_monthly(res, p.target)[0], index=wide.index)
        frames.append(pd.DataFrame({"month": wide.index, "panel": p.key, "documents": docs.to_numpy(float)}))
    out = pd.concat(frames, ignore_index=True)
    out["annualised"] = out["documents"] * 12
    # the total of the 12 months up to each month: what a target is reached by (REACHED_RULE)
    out["trailing_12"] = out.groupby("panel", sort=False)["documents"].transform(
        lambda s: pd.Series(trailing_12(s.to_numpy())[0], index=s.index))
    return out


def targets(res: Results) -> pd.DataFrame:
    """The scenario's targets with the panel each is drawn on: key, panel, value, assumption, sectors."""
    rows = []
    for key, t in res.manifest["scenario"].get("targets", {}).items():
        rows.append({
            "key": key,
            "panel": panel_of_target(res, key),
            "value": float(t["value"]),
            "assumption": bool(t.get("assumption", False)),
            "sectors": tuple(t["sectors"]),
            "key_document": t.get("key_document", ""),
            "source": t.get("source", ""),
        })
    return pd.DataFrame(rows, columns=["key", "panel", "value", "assumption", "sectors", "key_document", "source"])


def quantile_band(res: Results) -> pd.DataFrame:
    """The p5–p95 band of replications, annualised, per panel: month, panel, p5, p50, p95.

    Read from a ``documents_quantiles`` table when the results have one: rows month × sector
    with monthly documents quantiles p5, p50, p95 (optionally ``channel``/``outcome`` columns,
    of which dmp/accepted is kept; sector ``all`` is the sum over sectors). Quantiles cannot be
    summed, so rows split further (e.g. by doc_type) give no band. Empty when no table.
    """
    cols = ["month", "panel", "p5", "p50", "p95"]
    q = res.tables.get("documents_quantiles")
    if q is None or not {"month", "sector", "p5", "p50", "p95"} <= set(q.columns):
        return pd.DataFrame(columns=cols)
    if "channel" in q.columns:
        q = q[q["channel"] == "dmp"]
    if "outcome" in q.columns:
        q = q[q["outcome"] == "accepted"]
    if q.duplicated(["month", "sector"]).any():
        return pd.DataFrame(columns=cols)
    out = q.rename(columns={"sector": "panel"})[cols].copy()
    for c in ("p5", "p50", "p95"):
        out[c] = out[c].astype(float) * 12
    return out.reset_index(drop=True)


def observed_points(res: Results, observed: pd.DataFrame | None) -> pd.DataFrame:
    """Published document volumes as annualised rates on the panels: month, panel, value, lower_bound, source.

    ``documents_annual_rate`` as is, ``documents_per_month`` × 12, ``documents_per_year`` at
    mid-year; sector ``all`` goes on the all-sector panel. Points outside the run are left out.
    """
    cols = ["month", "panel", "value", "lower_bound", "metric", "source"]
    if observed is None or observed.empty:
        return pd.DataFrame(columns=cols)
    factor = {"documents_annual_rate": 1.0, "documents_per_month": 12.0, "documents_per_year": 1.0}
    obs = observed[observed["metric"].isin(factor)].copy()
    keys = {p.key for p in panels(res)}
    rows = []
    for _, r in obs.iterrows():
        month = r["date"] if len(r["date"]) == 7 else f"{r['date']}-07"
        if r["sector"] not in keys or month not in res.manifest["months"]:
            continue
        rows.append({
            "month": month,
            "panel": r["sector"],
            "value": float(r["value"]) * factor[r["metric"]],
            "lower_bound": _is_lower(r),
            "metric": r["metric"],
            "source": r.get("source", ""),
        })
    return pd.DataFrame(rows, columns=cols)


def _is_lower(row: pd.Series) -> bool:
    if "bound" in row.index:
        return row["bound"] == "lower"
    note = str(row.get("note", "")).lower()
    return "lower bound" in note or "more than" in note


def gp_activity_shares(res: Results, thresholds: tuple[int, ...] = GP_THRESHOLDS) -> pd.DataFrame:
    """Share of equipped GPs with at least N accepted DMP documents in the month: month, threshold, share, equipped."""
    g = res.tables["gp_activity"]
    cols = ["month", "threshold", "share", "equipped"]
    if g.empty:
        return pd.DataFrame(columns=cols)
    docs = g["documents"].astype(float)
    frames = []
    equipped = g.groupby("month", sort=False).size()
    for n in thresholds:
        above = (docs >= n).groupby(g["month"], sort=False).sum()
        frames.append(pd.DataFrame({
            "month": equipped.index,
            "threshold": n,
            "share": (above.reindex(equipped.index) / equipped).to_numpy(float),
            "equipped": equipped.to_numpy(int),
        }))
    return pd.concat(frames, ignore_index=True).sort_values(["threshold", "month"]).reset_index(drop=True)


def dmp_failures(res: Results) -> pd.DataFrame:
    """DMP documents rejected (by reason) or dropped, per month: month, outcome, reason, documents."""
    df = res.tables["documents"]
    sel = df[(df["channel"] == "dmp") & df["outcome"].isin(FAILURE_OUTCOMES)]
    cols = ["month", "outcome", "reason", "documents"]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    got = sel.groupby(["outcome", "reason", "month"])["documents"].sum()
    pairs = got.index.droplevel("month").unique()
    idx = pd.MultiIndex.from_tuples(
        [(o, r, m) for o, r in pairs for m in res.manifest["months"]], names=["outcome", "reason", "month"])
    return got.reindex(idx, fill_value=0.0).astype(float).reset_index()[cols]


def profile_states(res: Results) -> pd.DataFrame:
    """Mon espace santé profiles at month end: month, state, persons.

    ``open_all`` = open + activated (the programme's "profiles open"), then activated,
    opposed and closed as in the ``profiles`` table.
    """
    p = res.tables["profiles"]
    wide = p.pivot_table(index="month", columns="state", values="persons", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(res.manifest["months"], fill_value=0.0)
    for s in ("open", "activated", "opposed", "closed"):
        if s not in wide.columns:
            wide[s] = 0.0
    wide["open_all"] = wide["open"] + wide["activated"]
    out = wide[list(PROFILE_STATES)].reset_index().melt(id_vars="month", var_name="state", value_name="persons")
    return out[["month", "state", "persons"]]


def profile_observed(res: Results, observed: pd.DataFrame | None) -> pd.DataFrame:
    """Published profile counts on the same states: month, state, persons."""
    cols = ["month", "state", "persons"]
    if observed is None or observed.empty:
        return pd.DataFrame(columns=cols)
    metric = {"mes_profiles_open": "open_all", "mes_profiles_activated": "activated"}
    obs = observed[observed["metric"].isin(metric) & observed["date"].isin(res.manifest["months"])]
    return pd.DataFrame({"month": obs["date"], "state": obs["metric"].map(metric), "persons": obs["value"].astype(float)},
                        columns=cols).reset_index(drop=True)


def mssante_routes(res: Results) -> pd.DataFrame:
    """MSSanté messages per month and route: month, route, sent (every outcome), delivered, bounced."""
    df = res.tables["documents"]
    sel = df[df["channel"].isin(ROUTES)]
    idx = pd.MultiIndex.from_product([res.manifest["months"], list(ROUTES)], names=["month", "route"])
    sent = sel.groupby(["month", "channel"])["documents"].sum()
    out = pd.DataFrame(index=idx)
    out["sent"] = sent.rename_axis(["month", "route"]).reindex(idx, fill_value=0.0)
    for outcome in ("delivered", "bounced"):
        s = sel[sel["outcome"] == outcome].groupby(["month", "channel"])["documents"].sum()
        out[outcome] = s.rename_axis(["month", "route"]).reindex(idx, fill_value=0.0)
    return out.astype(float).reset_index()


def mssante_observed(res: Results, observed: pd.DataFrame | None) -> pd.DataFrame:
    """Published MSSanté message counts (all routes): month, messages, lower_bound."""
    cols = ["month", "messages", "lower_bound"]
    if observed is None or observed.empty:
        return pd.DataFrame(columns=cols)
    obs = observed[(observed["metric"] == "mssante_messages_per_month") & observed["date"].isin(res.manifest["months"])]
    return pd.DataFrame({"month": obs["date"], "messages": obs["value"].astype(float),
                         "lower_bound": [_is_lower(r) for _, r in obs.iterrows()]}, columns=cols).reset_index(drop=True)


def comparison_annualised(results_by_name: dict[str, Results]) -> pd.DataFrame:
    """Annualised DMP rate of several runs on shared panels: scenario, month, panel, annualised."""
    frames = []
    for name, res in results_by_name.items():
        a = annualised(res)
        a.insert(0, "scenario", name)
        frames.append(a[["scenario", "month", "panel", "annualised"]])
    return pd.concat(frames, ignore_index=True)
