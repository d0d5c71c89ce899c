"""What ``segur emit`` prints and writes: the endpoint's verdicts against the simulation's
(agreement by reason), failures, throughput and latency percentiles — as text and CSV files
(``agreement.csv``, ``documents.csv``, ``summary.csv``) written atomically."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from simulator.atomic import atomic_folder
from simulator.server.emit_client import Run


def summary(run: Run) -> dict[str, float | int | str]:
    """Counts, agreement, throughput and latency of a run."""
    res = run.results
    judged = [r for r in res if not r.observed.startswith(("failed:", "not_sent"))]
    agreed = sum(r.observed == r.emission.expected for r in judged)
    lat = np.array([r.latency_ms for r in judged if r.latency_ms is not None], dtype=float)
    # no verdict, no latency: '' (an empty CSV cell, "n/a" when printed), never NaN
    pct = (lambda q: round(float(np.percentile(lat, q)), 1)) if lat.size else (lambda q: "")
    out: dict[str, float | int | str] = {
        "documents": len(res),
        "with_verdict": len(judged),
        "agreed": agreed,
        "disagreed": len(judged) - agreed,
        "agreement_pct": round(100.0 * agreed / len(judged), 2) if judged else "",
        "failed": sum(r.observed.startswith("failed:") for r in res),
        "not_sent": sum(r.observed == "not_sent" for r in res),
        "attempts": sum(r.attempts for r in res),
        "wall_s": round(run.wall_s, 3),
        "throughput_per_s": round(len(judged) / run.wall_s, 1) if run.wall_s > 0 else 0.0,
        "latency_p50_ms": pct(50),
        "latency_p95_ms": pct(95),
        "latency_p99_ms": pct(99),
    }
    for kind, n in sorted(run.failures.items()):
        out[f"failures_{kind}"] = n
    return out


def agreement(run: Run) -> list[tuple[str, str, int]]:
    """(expected, observed, documents), most frequent first within each expected reason."""
    c = Counter((r.emission.expected, r.observed) for r in run.results)
    return sorted(((e, o, n) for (e, o), n in c.items()), key=lambda t: (t[0] != "accepted", t[0], -t[2]))


def text(run: Run, url: str) -> str:
    """The printed report."""
    s = {k: ("n/a" if v == "" else v) for k, v in summary(run).items()}
    lines = [f"segur emit → {url}", "", f"{'expected (simulation)':<26} {'endpoint said':<28} {'documents':>9}  agree"]
    for e, o, n in agreement(run):
        lines.append(f"{e:<26} {o:<28} {n:>9}  {'yes' if e == o else 'NO'}")
    lines.append("")
    share = f"{s['agreement_pct']}% " if s["with_verdict"] else ""
    lines.append(f"documents {s['documents']}, with a verdict {s['with_verdict']}, agreement "
                 f"{share}({s['agreed']} of {s['with_verdict']}); failed {s['failed']}, "
                 f"not sent {s['not_sent']} (time or count bound)")
    fails = ", ".join(f"{k[9:]} {v}" for k, v in s.items() if k.startswith("failures_")) or "none"
    lines.append(f"failed attempts (retried per policy): {fails}")
    lines.append(f"throughput {s['throughput_per_s']} documents/s over {s['wall_s']} s; latency p50 "
                 f"{s['latency_p50_ms']} ms, p95 {s['latency_p95_ms']} ms, p99 {s['latency_p99_ms']} ms")
    return "\n".join(lines)


def problems(run: Run, allow_disagreement: bool = False) -> str | None:
    """Why the run is a failure, in one line (None when every document got a verdict and, unless
    allowed, every verdict agrees with the simulation's): ``segur emit`` then exits 1."""
    s = summary(run)
    no_verdict = int(s["documents"]) - int(s["with_verdict"])
    out = []
    if no_verdict:
        out.append(f"{no_verdict} of {s['documents']} documents got no verdict (failed {s['failed']}, "
                   f"not sent {s['not_sent']})")
    if s["disagreed"] and not allow_disagreement:
        out.append(f"the endpoint disagreed with the simulation on {s['disagreed']} of {s['with_verdict']} "
                   "(--allow-disagreement to accept)")
    return "; ".join(out) or None


def write(run: Run, out: Path, url: str) -> None:
    """agreement.csv, documents.csv and summary.csv into ``out`` (replaced atomically)."""
    with atomic_folder(out) as tmp:
        with open(tmp / "agreement.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["expected", "observed", "documents", "agree"])
            for e, o, n in agreement(run):
                w.writerow([e, o, n, int(e == o)])
        with open(tmp / "documents.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["doc_id", "day", "submitted", "sector", "author", "expected", "observed", "http_status",
                        "attempts", "latency_ms"])
            for r in run.results:
                e = r.emission
                w.writerow([e.doc_id, e.day, e.submitted, e.sector, e.author, e.expected, r.observed,
                            r.http_status if r.http_status is not None else "", r.attempts,
                            "" if r.latency_ms is None else round(r.latency_ms, 2)])
        with open(tmp / "summary.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["metric", "value"])
            w.writerow(["endpoint", url])
            for k, v in summary(run).items():
                w.writerow([k, v])
