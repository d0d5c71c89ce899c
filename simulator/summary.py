"""The short summary a run prints: last 12 months by sector and channel, against the targets."""

from __future__ import annotations

import pandas as pd

from simulator.results import Results

SENT_OUTCOMES = {"dmp": "accepted", "mssante_pro": "delivered", "mssante_patient": "delivered"}


def last_12_months(res: Results) -> pd.DataFrame:
    """National documents of the last 12 simulated months, sector × channel (accepted / delivered)."""
    df = res.tables["documents"]
    months = res.manifest["months"][-12:]
    sel = df["month"].isin(months) & (df["outcome"] == df["channel"].map(SENT_OUTCOMES))
    wide = df[sel].pivot_table(index="sector", columns="channel", values="documents", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(index=res.manifest["sectors"], columns=list(SENT_OUTCOMES), fill_value=0.0)
    wide["total"] = wide.sum(axis=1)
    return wide


def target_status(res: Results) -> pd.DataFrame:
    """Each target against the DMP documents accepted in the last 12 months (annual volume)."""
    dmp = last_12_months(res)["dmp"]
    rows = []
    for key, t in res.manifest["scenario"].get("targets", {}).items():
        achieved = float(dmp.reindex(t["sectors"], fill_value=0.0).sum())
        rows.append({
            "target": key,
            "sectors": ", ".join(t["sectors"]),
            "target_per_year": t["value"],
            "last_12_months": achieved,
            "share_of_target": achieved / t["value"],
            "assumption": t.get("assumption", False),
        })
    return pd.DataFrame(rows)


def _m(x: float) -> str:
    return f"{x / 1e6:,.1f}M"


def format_summary(res: Results) -> str:
    """Plain-text summary (used on terminals and in pipes alike)."""
    man = res.manifest
    months = man["months"]
    lines = [
        f"scenario {man['scenario_name']} · seed {man['seed']} · scale {man['scale']} · "
        f"{months[0]} → {months[-1]} · {man['timings'].get('total_s', 0):.1f} s",
        f"Documents in the last 12 months ({months[-12]} → {months[-1]}), national estimates:",
        f"  {'sector':<12}{'DMP':>10}{'MSS pro':>10}{'MSS pat.':>10}{'total':>10}",
    ]
    tab = last_12_months(res)
    for sector, row in tab.iterrows():
        lines.append(f"  {sector:<12}{_m(row['dmp']):>10}{_m(row['mssante_pro']):>10}{_m(row['mssante_patient']):>10}{_m(row['total']):>10}")
    tot = tab.sum()
    lines.append(f"  {'all':<12}{_m(tot['dmp']):>10}{_m(tot['mssante_pro']):>10}{_m(tot['mssante_patient']):>10}{_m(tot['total']):>10}")
    ts = target_status(res)
    if len(ts):
        lines.append("Targets (DMP documents accepted, last 12 months):")
        for _, r in ts.iterrows():
            flag = " (assumption)" if r["assumption"] else ""
            lines.append(f"  {r['target']:<12}{_m(r['last_12_months']):>10} of {_m(r['target_per_year'])}/yr = {r['share_of_target']:.0%}{flag}")
    payloads = man.get("payloads") or {}
    if payloads.get("disagreements"):
        lines.append(f"FHIR payload tier: {payloads['disagreements']} of {payloads['sampled']} sampled documents "
                     "get a different verdict from the vectorised DMP (a bug; see payloads/verdicts.csv)")
    return "\n".join(lines)
