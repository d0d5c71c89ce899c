"""The flow network as one figure: producers (by sector) → services and MSSanté operators →
where documents land, edge widths by volume, colours by channel (matplotlib, Agg canvas).

Départements (or single facilities) are merged by sector so that the figure stays readable at
national scale; the GraphML / JSON files keep every node.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from reports.channels import order, style


def _group(G: nx.MultiDiGraph, node: str, side: str) -> tuple[str, str]:
    """(group id, label) of a node in the figure: producers merged by sector, one column each."""
    a = G.nodes[node]
    kind = a.get("kind", "")
    if kind == "producer":
        return f"{side}:{a['sector']}", a.get("group") or a["sector"]
    if kind == "patients":
        return "dest:mes", "Mon espace santé (patients)"
    return f"mid:{node}", a.get("label", node)


def collapsed_edges(G: nx.MultiDiGraph) -> tuple[dict[tuple[str, str, str], float], dict[str, str]]:
    """Edge volumes between figure groups, keyed (source group, target group, channel)."""
    edges: dict[tuple[str, str, str], float] = {}
    labels: dict[str, str] = {}
    for u, v, d in G.edges(data=True):
        gu, lu = _group(G, u, "src")
        gv, lv = _group(G, v, "dest")
        labels[gu], labels[gv] = lu, lv
        key = (gu, gv, d["channel"])
        edges[key] = edges.get(key, 0.0) + d["total"]
    return edges, labels


def draw_network(G: nx.MultiDiGraph, path: Path, title: str = "") -> Path:
    """Draw the collapsed flow graph of ``G`` to a PNG at ``path``."""
    edges, labels = collapsed_edges(G)
    through: dict[str, float] = {}
    for (a, b, _), vol in edges.items():
        through[a] = through.get(a, 0.0) + vol
        through[b] = through.get(b, 0.0) + vol
    columns = {"src": [], "mid": [], "dest": []}
    for g in sorted(labels, key=lambda g: (-through.get(g, 0.0), g)):
        columns[g.split(":", 1)[0]].append(g)
    pos: dict[str, tuple[float, float]] = {}
    for x, col in enumerate(("src", "mid", "dest")):
        names = columns[col]
        for i, g in enumerate(names):
            pos[g] = (float(x), 1.0 - (i + 0.5) / max(len(names), 1))
    fig = Figure(figsize=(11, 6.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.06, 0.98, 0.86))
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.02, 1.02)
    ax.axis("off")
    vmax = max(edges.values(), default=1.0) or 1.0
    for (a, b, ch), vol in sorted(edges.items(), key=lambda kv: kv[1]):
        if vol <= 0:
            continue
        width = 0.6 + 9.0 * np.sqrt(vol / vmax)
        look = style(ch)
        ax.add_patch(FancyArrowPatch(pos[a], pos[b], arrowstyle="-|>", mutation_scale=8, lw=width,
                                     color=look.colour, alpha=0.45, linestyle="--" if look.dashed else "-",
                                     connectionstyle="arc3,rad=0.04", shrinkA=14, shrinkB=14))
    tmax = max(through.values(), default=1.0) or 1.0
    for g, (x, y) in pos.items():
        size = 60 + 900 * np.sqrt(through.get(g, 0.0) / tmax)
        ax.scatter([x], [y], s=size, color="#f0f0f0", edgecolor="#333333", zorder=3)
        ha = "right" if x == 0 else ("left" if x == 2 else "center")
        dx = -0.05 if x == 0 else (0.05 if x == 2 else 0.0)
        dy = 0.0 if x != 1 else 0.035
        ax.text(x + dx, y + dy, labels[g], ha=ha, va="center", fontsize=8, zorder=4)
    for x, head in enumerate(("Producteurs", "Services et opérateurs", "Destinations")):
        ax.text(x, 1.03, head, ha="center", va="bottom", fontsize=9, fontweight="bold")
    used = order({ch for (_, _, ch) in edges})  # every channel drawn has its colour, label and entry
    handles = [Line2D([0], [0], color=style(c).colour, lw=3, linestyle="--" if style(c).dashed else "-")
               for c in used]
    ax.legend(handles, [style(c).label for c in used], loc="lower center", ncol=max(len(used), 1),
              frameon=False, fontsize=8, bbox_to_anchor=(0.5, -0.08))
    fig.suptitle(title or f"Flux de documents — {G.graph.get('scenario', '')}", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


__all__ = ["collapsed_edges", "draw_network"]
