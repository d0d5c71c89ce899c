"""The short summary a run prints: last 12 months by sector and channel, against the targets
(share of target and the month each is reached, ``simulator.engine.outputs.REACHED_RULE``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from simulator.engine.outputs import (
    REACHED_RULE,
    is_plain_target,
    reached_month,
    target_monthly,
    target_scope,
    trailing_12,
)

if TYPE_CHECKING:
    from simulator.engine.results import Results

SENT_OUTCOMES = {"dmp": "accepted", "mssante_pro": "delivered", "mssante_patient": "delivered",
                 "mssante_from_patient": "delivered"}


def last_12_months(res: Results) -> pd.DataFrame:
    """National documents of the last 12 simulated months, sector × channel (accepted / delivered)."""
    df = res.tables["documents"]
    months = res.manifest["months"][-12:]
    sel = df["month"].isin(months) & (df["outcome"] == df["channel"].map(SENT_OUTCOMES))
    wide = df[sel].pivot_table(index="sector", columns="channel", values="documents", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(index=res.manifest["sectors"], columns=list(SENT_OUTCOMES), fill_value=0.0)
    # a patient's message is not a document the sector sent: shown apart, not in the total
    wide["total"] = wide[["dmp", "mssante_pro", "mssante_patient"]].sum(axis=1)
    return wide


def target_status(res: Results) -> pd.DataFrame:
    """Each target against the DMP documents accepted in the last 12 months (annual volume), the
    month it is reached (``REACHED_RULE``; empty when not by the end of the run), and for a target
    over several sectors the reading "DMP + MSSanté" (messages delivered added; the programme's
    wave 1 wording counts documents sent "via Mon espace santé et MSSanté")."""
    tab = last_12_months(res)
    rows = []
    for key, t in res.manifest["scenario"].get("targets", {}).items():
        mine = tab.reindex(t["sectors"], fill_value=0.0)
        monthly, values = target_monthly(res, key)  # its documents (types, channel) and value in force
        achieved = float(trailing_12(monthly)[0, -1])
        plain = is_plain_target(t)
        with_mss = (float(mine[["dmp", "mssante_pro", "mssante_patient"]].to_numpy().sum())
                    if len(t["sectors"]) > 1 and plain else None)
        rows.append({
            "target": key,
            "sectors": ", ".join(t["sectors"]),
            "counts": target_scope(t),
            "target_per_year": float(values[-1]),
            "last_12_months": achieved,
            "share_of_target": achieved / float(values[-1]),
            "reached": reached_month(res, key) or "",
            "with_mssante": with_mss,
            "assumption": t.get("assumption", False),
        })
    return pd.DataFrame(rows, columns=["target", "sectors", "counts", "target_per_year", "last_12_months", "share_of_target",
                                       "reached", "with_mssante", "assumption"])


def _m(x: float) -> str:
    return f"{x / 1e6:,.1f}M"


def format_summary(res: Results) -> str:
    """Plain-text summary (used on terminals and in pipes alike)."""
    man = res.manifest
    months = man["months"]
    lines = [
        f"scenario {man['scenario_name']} · seed {man['seed']} · scale {man['scale']} · "
        f"{months[0]} → {months[-1]} · {man['timings'].get('total_s', 0):.1f} s",
        f"Documents in the last {min(12, len(months))} months ({months[-min(12, len(months))]} → {months[-1]}), "
        "national estimates:",
        f"  {'sector':<12}{'DMP':>10}{'MSS pro':>10}{'MSS pat.':>10}{'total':>10}",
    ]
    tab = last_12_months(res)
    for sector, row in tab.iterrows():
        lines.append(f"  {sector:<12}{_m(row['dmp']):>10}{_m(row['mssante_pro']):>10}{_m(row['mssante_patient']):>10}{_m(row['total']):>10}")
    tot = tab.sum()
    lines.append(f"  {'all':<12}{_m(tot['dmp']):>10}{_m(tot['mssante_pro']):>10}{_m(tot['mssante_patient']):>10}{_m(tot['total']):>10}")
    if tot["mssante_from_patient"] > 0:
        lines.append(f"  MSSanté messages from patients to professionals (not in the total): {_m(tot['mssante_from_patient'])}")
    ts = target_status(res)
    if len(ts):
        lines.append(f"Targets: DMP documents accepted in the last 12 months, against N a year ({REACHED_RULE}):")
        last = months[-1][:4]
        for _, r in ts.iterrows():
            flag = " (assumption)" if r["assumption"] else ""
            when = f"reached {r['reached']}" if r["reached"] else f"not reached by {last}"
            what = f" (counting {r['counts']})" if r["counts"] else ""
            lines.append(f"  {r['target']:<12}{_m(r['last_12_months']):>10} of {_m(r['target_per_year'])}/yr = "
                         f"{r['share_of_target']:>4.0%} · {when}{flag}{what}")
            if r["with_mssante"] is not None and not pd.isna(r["with_mssante"]):
                lines.append(f"  {'':<12}{_m(r['with_mssante']):>10} counting MSSanté messages delivered too = "
                             f"{r['with_mssante'] / r['target_per_year']:.0%} (reading DMP + MSSanté)")
    payloads = man.get("payloads") or {}
    if payloads.get("disagreements"):
        lines.append(f"FHIR payload tier: {payloads['disagreements']} of {payloads['sampled']} sampled documents "
                     "get a different verdict from the vectorised DMP (a bug; see payloads/verdicts.csv)")
    return "\n".join(lines)
