"""The ecosystem as a flow network (networkx): producers, services, MSSanté operators and the
patients' Mon espace santé, with edges weighted by the documents each flow carries.

A flow is a table row ``month, channel, leg, source, target, documents``. A document on a
document channel crosses two edges: leg 1 from its producer to the service that carries it
(the DMP, or the sender's MSSanté operator), leg 2 from that service to where it lands (the
patients' Mon espace santé of the département, or the recipient professionals). So, for each
document channel, the leg 1 edges and the leg 2 edges each add up to the run's volume: DMP
accepted, MSSanté delivered. Leg 0 edges are look-ups on which documents depend (INSi, for the
qualified identities the DMP requires); the ``eprescription`` channel carries prescriptions
(leg 1 registered in the base, leg 2 dispensed at pharmacies).

National graphs group producers by sector × département (``territory`` table); a small world
(``segur demo``) has one node per facility. Operators: ``agents.services.mssante_operators``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from agents.services.mssante_operators import OPERATORS
from agents.territory import load_territory
from reports.channels import LABELS
from scenarios.country import load_country

if TYPE_CHECKING:
    from simulator.run_output import Results

DOC_CHANNELS = ("dmp", "mssante_pro", "mssante_patient")
LOOKUP_CHANNELS = ("insi",)
PRESCRIPTION_CHANNEL = "eprescription"
FLOW_COLUMNS = ["month", "channel", "leg", "source", "target", "documents"]
SERVICE_LABELS = {
    "dmp": "DMP / Mon espace santé (dépôt)",
    "insi": "INSi (téléservice INS)",
    "eprescription": "Base ordonnance numérique",
    "outside": "Destinataires hors du territoire simulé",
}
CHANNEL_LABELS = LABELS  # one place for every channel's label and colour: reports/channels.py


# -- node ids and attributes --------------------------------------------------------------
def producer_node(sector: str, where: str) -> str:
    """Id of a producer node: ``sector:département`` (a group) or ``sector#facility`` (one facility)."""
    return f"{sector}:{where}"


def facility_node(sector: str, facility: int) -> str:
    """Id of one facility's node in a small world."""
    return f"{sector}#{facility}"


def mes_node(dept: str) -> str:
    """Id of the patients' Mon espace santé node of a département."""
    return f"mes:{dept}"


def operator_node(key: str) -> str:
    """Id of an MSSanté operator node."""
    return f"mss:{key}"


def default_attrs(node: str, dept_names: dict[str, str], sector_labels: dict[str, str]) -> dict[str, Any]:
    """Attributes of a node read from its id (kind, label, sector, département, operator)."""
    attrs: dict[str, Any] = {"kind": "", "label": node, "group": "", "sector": "", "departement": "", "operator": ""}
    if node in SERVICE_LABELS:
        attrs.update(kind="service", label=SERVICE_LABELS[node])
    elif node.startswith("mss:"):
        key = node[4:]
        attrs.update(kind="operator", operator=key, label=OPERATORS[key].label if key in OPERATORS else key)
    elif node.startswith("mes:"):
        dept = node[4:]
        attrs.update(kind="patients", departement=dept,
                     label=f"Mon espace santé, patients — {dept_names.get(dept, dept)} ({dept})")
    elif "#" in node:
        sector = node.split("#", 1)[0]
        attrs.update(kind="producer", sector=sector, group=sector_labels.get(sector, sector),
                     label=f"{sector_labels.get(sector, sector)} {node}")
    elif ":" in node:
        sector, dept = node.split(":", 1)
        attrs.update(kind="producer", sector=sector, departement=dept, group=sector_labels.get(sector, sector),
                     label=f"{sector_labels.get(sector, sector)} — {dept_names.get(dept, dept)} ({dept})")
    return attrs


# -- the graph ----------------------------------------------------------------------------
def build_graph(flows: pd.DataFrame, node_attrs: dict[str, dict[str, Any]] | None = None,
                dept_names: dict[str, str] | None = None, sector_labels: dict[str, str] | None = None,
                **graph_attrs: Any) -> nx.MultiDiGraph:
    """The flow graph of a flow table: one edge per (source, target, channel), keyed by channel,
    with ``channel``, ``leg``, ``total`` and ``monthly`` (a JSON string ``{month: volume}``)."""
    G = nx.MultiDiGraph(**{k: v for k, v in graph_attrs.items() if v is not None})
    flows = flows[flows["documents"] > 0]
    names = dept_names or {}
    labels = sector_labels or {}
    given = node_attrs or {}
    nodes = set(flows["source"].unique().tolist()) | set(flows["target"].unique().tolist()) | set(given)
    for node in sorted(nodes):
        attrs = default_attrs(node, names, labels)
        attrs.update(given.get(node, {}))
        G.add_node(node, **attrs)
    if flows.empty:
        return G
    key = ["source", "target", "channel", "leg"]
    wide = flows.pivot_table(index=key, columns="month", values="documents", aggfunc="sum", fill_value=0.0)
    months = np.array(wide.columns, dtype=object)
    values = wide.to_numpy()
    for (src, dst, channel, leg), row in zip(wide.index, values, strict=True):
        nz = row != 0
        monthly = dict(zip(months[nz].tolist(), np.round(row[nz], 3).tolist(), strict=True))
        G.add_edge(src, dst, key=channel, channel=channel, leg=int(leg), total=float(row.sum()),
                   monthly=json.dumps(monthly, sort_keys=True))
    return G


def _operator_shares(sc: dict, sector: str) -> dict[str, float]:
    """A sector's MSSanté operator shares: the run's resolved scenario's; results folders written
    before the shares were part of the scenario take the country's reference data."""
    block = sc.get("sectors", {}).get(sector, {}).get("mssante", {})
    return dict(block.get("operators") or load_country(sc.get("country", "france")).mssante.operators[sector])


def _rule_fraction(scenario: dict[str, Any], months: list[str], rule: str) -> dict[str, float]:
    """Share of each month's days on which ``rule`` is in force (0 before its date)."""
    dates = [pd.Timestamp(iv["date"]) for iv in scenario.get("interventions", [])
             if iv.get("kind") == "rule" and iv.get("rule") == rule]
    out = {}
    for month in months:
        start = pd.Timestamp(f"{month}-01")
        days = start.days_in_month
        if not dates:
            out[month] = 0.0
            continue
        first = min(dates)
        end = start + pd.Timedelta(days=days)
        out[month] = float(min(max((end - max(first, start)).days, 0), days)) / days
    return out


def results_flows(results: Results) -> pd.DataFrame:
    """The national flow table of a run, from its ``territory`` (and ``eprescription``) tables."""
    terr = results.tables["territory"].copy()  # the files' form (month text, national in "documents")
    terr["departement"] = terr["departement"].astype(str).str.zfill(2)
    sc = results.manifest["scenario"]
    sectors = sc["sectors"]
    frames: list[pd.DataFrame] = []

    def add(df: pd.DataFrame, channel: str, leg: int, source: Iterable[str] | str,
            target: Iterable[str] | str, docs: np.ndarray | pd.Series) -> None:
        def col(x: Iterable[str] | str) -> Any:
            return x if isinstance(x, str) else np.asarray(x, dtype=object)

        frames.append(pd.DataFrame({"month": df["month"].to_numpy(), "channel": channel, "leg": leg,
                                    "source": col(source), "target": col(target),
                                    "documents": np.asarray(docs, dtype=float)}))

    src = terr["sector"] + ":" + terr["departement"]
    mes = "mes:" + terr["departement"]
    dmp = terr["channel"] == "dmp"
    d = terr[dmp]
    add(d, "dmp", 1, src[dmp], "dmp", d["documents"])
    add(d, "dmp", 2, "dmp", mes[dmp], d["documents"])
    in_force = _rule_fraction(sc, results.manifest["months"], "require_qualified_identity")
    add(d, "insi", 0, src[dmp], "insi", d["documents"] * d["month"].map(in_force).fillna(0.0))
    for channel in ("mssante_pro", "mssante_patient"):
        sel = terr["channel"] == channel
        d = terr[sel]
        for sector, rows in d.groupby("sector"):
            recipient = sectors.get(sector, {}).get("mssante", {}).get("recipient", "none")
            if channel == "mssante_pro":
                target = recipient + ":" + rows["departement"] if recipient in sectors else "outside"
            else:
                target = "mes:" + rows["departement"]
            for op, share in _operator_shares(sc, str(sector)).items():
                add(rows, channel, 1, src[rows.index], operator_node(op), rows["documents"] * share)
                add(rows, channel, 2, operator_node(op), target, rows["documents"] * share)
    if "eprescription" in results.tables:
        frames.extend(_prescription_flows(results, terr))
    flows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLOW_COLUMNS)
    return flows[FLOW_COLUMNS]


def _prescription_flows(results: Results, terr: pd.DataFrame) -> list[pd.DataFrame]:
    """Registered prescriptions and dispensations split by population per département [I]:
    every GP registers a share of all its prescriptions, whether or not it feeds the DMP (see
    simulator/engine/eprescription_flow.py), and the flow draws pharmacies by size wherever they are."""
    ep = results.tables["eprescription"]
    value = "national" if "national" in ep.columns else "count"
    by_event = ep.groupby(["month", "event"])[value].sum()
    territory = load_territory()
    codes = results.manifest["scenario"].get("run", {}).get("departements") or list(territory.codes)
    if codes != list(territory.codes):
        territory = territory.subset(codes)
    pop = pd.Series(territory.weights, index=list(territory.codes))
    frames = []
    for month in results.manifest["months"]:
        for event, leg in (("registered", 1), ("dispensed", 2)):
            total = float(by_event.get((month, event), 0.0))
            if total <= 0:
                continue
            share = pop
            depts = list(share.index)
            if leg == 1:
                src, dst = [f"gp:{x}" for x in depts], "eprescription"
            else:
                src, dst = "eprescription", [f"pharmacy:{x}" for x in depts]
            frames.append(pd.DataFrame({"month": month, "channel": PRESCRIPTION_CHANNEL, "leg": leg,
                                        "source": src, "target": dst, "documents": total * share.to_numpy()}))
    return frames


def volume_unit(results: Results) -> str:
    """What the volumes of a run's graph are: national estimates, or the simulated territory's."""
    if results.manifest["scenario"]["run"].get("departements"):
        return "documents (estimate for the simulated territory)"
    return "documents (national estimate)"


def national_graph(results: Results) -> nx.MultiDiGraph:
    """The flow graph of a run at national scale (producers grouped by sector × département)."""
    terr = load_territory()
    names = dict(zip(terr.codes, terr.names, strict=True))
    labels = {k: v.get("label", k) for k, v in results.manifest["scenario"]["sectors"].items()}
    return build_graph(results_flows(results), dept_names=names, sector_labels=labels,
                       scenario=results.manifest.get("scenario_name"), seed=results.manifest.get("seed"),
                       scale=results.manifest.get("scale"), unit=volume_unit(results),
                       granularity="sector x departement")


# -- reading the graph --------------------------------------------------------------------
def channel_totals(G: nx.MultiDiGraph, leg: int = 1) -> dict[str, float]:
    """Total volume per channel over the edges of one leg."""
    out: dict[str, float] = {}
    for _, _, data in G.edges(data=True):
        if data["leg"] == leg:
            out[data["channel"]] = out.get(data["channel"], 0.0) + data["total"]
    return out


def top_flows(G: nx.MultiDiGraph, n: int = 10, legs: tuple[int, ...] = (1, 2)) -> pd.DataFrame:
    """For each leg, the ``n`` edges that carry the most (documents or prescriptions), with their
    share of their channel's volume on that leg: leg 1 from the producers into the services,
    leg 2 from the services to where the documents land."""
    totals = {leg: channel_totals(G, leg) for leg in (0, 1, 2)}
    rows = [{"source": u, "target": v, "channel": d["channel"], "leg": d["leg"], "volume": d["total"],
             "share": d["total"] / totals[d["leg"]][d["channel"]] if totals[d["leg"]][d["channel"]] else 0.0}
            for u, v, d in G.edges(data=True) if d["leg"] in legs]
    df = pd.DataFrame(rows, columns=["source", "target", "channel", "leg", "volume", "share"])
    df = df.sort_values(["leg", "volume", "source", "target"], ascending=[True, False, True, True], kind="stable")
    df = df.groupby("leg", sort=True).head(n)
    df.insert(0, "rank", df.groupby("leg").cumcount() + 1)
    df["source"] = [G.nodes[x]["label"] for x in df["source"]]
    df["target"] = [G.nodes[x]["label"] for x in df["target"]]
    return df.reset_index(drop=True)


def cut_volumes(G: nx.MultiDiGraph) -> pd.DataFrame:
    """For every node, the volume its loss cuts: the document paths (producer → service →
    destination) that go through it, since each sender has one route per channel in the model
    (one DMP, one operator) — plus, for INSi, the documents whose qualified identity it
    provided. Prescriptions (e-prescription base) are counted apart."""
    docs = {n: 0.0 for n in G}
    rx = {n: 0.0 for n in G}
    for u, v, d in G.edges(data=True):
        vol, leg, ch = d["total"], d["leg"], d["channel"]
        bucket = rx if ch == PRESCRIPTION_CHANNEL else docs
        if leg == 1:
            bucket[u] += vol  # the producer that sends it
            bucket[v] += vol  # the service that carries it
        elif leg == 2:
            bucket[v] += vol  # where it lands
        elif leg == 0:
            bucket[v] += vol  # the look-up service it depends on
    total_docs = sum(channel_totals(G, 1).get(c, 0.0) for c in DOC_CHANNELS)
    df = pd.DataFrame({
        "node": list(G),
        "label": [G.nodes[n]["label"] for n in G],
        "kind": [G.nodes[n]["kind"] for n in G],
        "documents_cut": [docs[n] for n in G],
        "prescriptions_cut": [rx[n] for n in G],
    })
    df["share_of_documents"] = df["documents_cut"] / total_docs if total_docs else 0.0
    return df


def critical_nodes(G: nx.MultiDiGraph, n: int = 10) -> pd.DataFrame:
    """The ``n`` nodes whose loss cuts the most documents (then prescriptions)."""
    df = cut_volumes(G).sort_values(["documents_cut", "prescriptions_cut", "node"],
                                    ascending=[False, False, True], kind="stable").head(n)
    df.insert(0, "rank", range(1, len(df) + 1))
    return df.reset_index(drop=True)


# -- files --------------------------------------------------------------------------------
def write_graph(G: nx.MultiDiGraph, out_dir: Path, stem: str = "network") -> list[Path]:
    """Write ``<stem>.graphml`` and ``<stem>.json`` (node-link) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    graphml = out_dir / f"{stem}.graphml"
    nx.write_graphml(G, graphml)
    data = nx.node_link_data(G, edges="edges")
    path = out_dir / f"{stem}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return [graphml, path]


def write_tables(G: nx.MultiDiGraph, out_dir: Path, n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``top_flows.csv`` and ``critical_nodes.csv``; return both tables."""
    flows, nodes = top_flows(G, n), critical_nodes(G, n)
    flows.to_csv(out_dir / "top_flows.csv", index=False)
    nodes.to_csv(out_dir / "critical_nodes.csv", index=False)
    return flows, nodes


def format_tables(flows: pd.DataFrame, nodes: pd.DataFrame, unit: str = "documents") -> str:
    """The tables as plain text, volumes rounded to whole units."""
    f = flows.assign(volume=flows["volume"].round().astype("int64"), share=(100 * flows["share"]).round(1))
    f = f.rename(columns={"share": "% of channel"})
    f["channel"] = f["channel"].map(lambda c: CHANNEL_LABELS.get(c, c))
    c = nodes.assign(documents_cut=nodes["documents_cut"].round().astype("int64"),
                     prescriptions_cut=nodes["prescriptions_cut"].round().astype("int64"),
                     share_of_documents=(100 * nodes["share_of_documents"]).round(1))
    c = c.drop(columns=["node"]).rename(columns={"share_of_documents": "% of documents"})
    parts = []
    titles = {1: "from the producers into the services", 2: "from the services to where documents land"}
    for leg, sub in f.groupby("leg", sort=True):
        title = titles.get(int(leg), f"leg {leg}")
        parts.append(f"Flows that carry the most {unit}, {title}:\n{sub.drop(columns=['leg']).to_string(index=False)}")
    parts.append(f"Nodes whose loss cuts the most {unit}:\n{c.to_string(index=False)}")
    return "\n\n".join(parts)


__all__ = ["DOC_CHANNELS", "build_graph", "channel_totals", "critical_nodes", "cut_volumes",
           "facility_node", "format_tables", "mes_node", "national_graph", "operator_node",
           "producer_node", "results_flows", "top_flows", "volume_unit", "write_graph", "write_tables"]
