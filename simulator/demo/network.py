"""The flow graph of a small-world run, one node per facility (``reports.network`` schema).

Built from the rendered documents themselves: each DMP document accepted, each MSSanté message
delivered and each e-prescription is one unit on its edges, so the graph's leg totals equal
the run's simulated counts (DMP accepted, MSSanté delivered) exactly.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd

from reports.network import FLOW_COLUMNS, build_graph, facility_node, mes_node, operator_node
from simulator.engine.small_world_documents import Rendered


def demo_flows(rendered: Rendered, dates: list[str], dept: str) -> pd.DataFrame:
    """One flow row per document, message and prescription (documents = 1 each)."""
    month_of = {d: d[:7] for d in dates}
    rows: list[tuple[Any, ...]] = []
    for d in rendered.documents:
        if d.outcome != "accepted":
            continue
        m, src = month_of[dates[d.day]], facility_node(d.sector, d.facility)
        rows.append((m, "dmp", 1, src, "dmp", 1.0))
        rows.append((m, "dmp", 2, "dmp", mes_node(dept), 1.0))
        if d.rule:  # accepted under the rule: its identity was qualified through INSi
            rows.append((m, "insi", 0, src, "insi", 1.0))
    for msg in rendered.messages:
        if msg.outcome != "delivered":
            continue
        m, src = month_of[dates[msg.day]], facility_node(msg.sector, msg.facility)
        op = operator_node(msg.operator)
        if msg.channel == "mssante_from_patient":  # from the patient's Mon espace santé to the professional
            rows.append((m, msg.channel, 1, mes_node(dept), op, 1.0))
            rows.append((m, msg.channel, 2, op, src, 1.0))
            continue
        dst = mes_node(dept) if msg.channel == "mssante_patient" or msg.recipient_node is None \
            else facility_node(*msg.recipient_node)
        rows.append((m, msg.channel, 1, src, op, 1.0))
        rows.append((m, msg.channel, 2, op, dst, 1.0))
    for p in rendered.prescriptions:
        rows.append((month_of[dates[p.day]], "eprescription", 1, facility_node("gp", p.gp) if p.gp >= 0 else "outside",
                     "eprescription", 1.0))
        if p.dispensed is not None:
            dst = facility_node("pharmacy", p.pharmacy) if p.pharmacy is not None else "outside"
            rows.append((month_of[dates[p.dispensed]], "eprescription", 2, "eprescription", dst, 1.0))
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def demo_graph(rendered: Rendered, cast: Any, world: Any, scenario_name: str, seed: int) -> nx.MultiDiGraph:
    """The small world's flow graph: facilities named as in the narration."""
    dates = [str(d) for d in world.calendar.dates]
    dept = world.territory.codes[0]
    names = dict(zip(world.territory.codes, world.territory.names, strict=True))
    attrs: dict[str, dict[str, Any]] = {}
    for sector in world.sectors:
        for f in cast.facilities[sector.name]:
            attrs[facility_node(sector.name, f.index)] = {
                "kind": "producer", "sector": sector.name, "group": sector.cfg.label, "label": f.name,
                "departement": world.territory.codes[int(sector.dept[f.index])], "operator": f.operator,
            }
    flows = demo_flows(rendered, dates, dept)
    used = set(flows["source"]) | set(flows["target"]) if len(flows) else set()
    return build_graph(flows, {k: v for k, v in attrs.items() if k in used}, dept_names=names,
                       scenario=scenario_name, seed=seed, unit="simulated documents", granularity="facility")


__all__ = ["demo_flows", "demo_graph"]
