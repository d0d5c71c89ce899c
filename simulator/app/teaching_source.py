"""THE adapter between the teaching view and the engine: the only module of the page that
knows how the demo's documents are obtained.

Today it calls ``simulator.engine.territory.build_territory`` (a small-world run that taps the
services, every document rendered: what ``segur demo`` shows too) and turns the finished
``Territory`` into plain data: actors, patients, and every DMP document,
MSSanté message and e-prescription with its day. When the engine publishes module events to
observers, re-point ``build_world`` at them; the rest of the page reads only the dict below.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from base64 import b64decode
from pathlib import Path
from typing import Any

from agents.catalogue import by_code

WORLD = "world.json"
CDA = "{urn:hl7-org:v3}"


def _content(bundle_path: Path) -> str:
    """The readable text of a DMP document: the CDA body's text, from the bundle's Binary."""
    try:
        bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
        binary = next(e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "Binary")
        root = ET.fromstring(b64decode(binary["data"]))
    except (OSError, ValueError, StopIteration, KeyError, ET.ParseError):
        return ""
    parts = []
    for sec in root.iter(f"{CDA}section"):
        for tag in ("title", "text"):
            el = sec.find(f"{CDA}{tag}")
            if el is not None:
                parts.append(" ".join("".join(el.itertext()).split()))
    if not parts:
        body = root.find(f"{CDA}component")
        if body is not None:
            parts.append(" ".join("".join(body.itertext()).split()))
    return "\n".join(p for p in parts if p)[:2000]


def build_world(out: Path, *, patients: int | None = None, days: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Run the demo territory into ``out`` and return the teaching view's data (also written
    to ``out/world.json``); FHIR files stay under ``out/demo`` and are named by ``path``."""
    # the demo territory (the engine, the agents) loads only in the process that builds it (start-up time)
    from agents.services.mssante_operators import OPERATORS
    from simulator.engine.territory import build_territory

    out = Path(out)
    demo = build_territory("demo", out / "demo", patients=patients, days=days, seed=seed)
    r, cast, w = demo.rendered, demo.cast, demo.world

    def type_label(code: str) -> str:
        try:
            return by_code(code).label_fr
        except KeyError:
            return code

    actors = []
    for s in w.sectors:
        for f in cast.facilities[s.name]:
            actors.append({"id": f"{s.name}:{f.index}", "sector": s.name, "sector_label": s.cfg.label,
                           "name": f.name, "author": f.author, "address": f.address,
                           "operator": OPERATORS[f.operator].label})
    seen: set[int] = set()
    documents = []
    for d in r.documents:
        seen.add(int(d.patient))
        documents.append({"id": d.doc_id, "day": int(d.day), "judged": int(d.judged), "sector": d.sector,
                          "from": f"{d.sector}:{d.facility}", "patient": int(d.patient), "type": d.type_code,
                          "type_label": type_label(d.type_code), "outcome": d.outcome, "reason": d.reason,
                          "identity_status": d.identity_status, "errors": list(d.errors),
                          "path": f"demo/{d.path}", "content": _content(out / "demo" / d.path)})
    messages = []
    for m in r.messages:
        seen.add(int(m.patient))
        messages.append({"id": m.msg_id, "day": int(m.day), "booked": int(m.booked), "sector": m.sector,
                         "from": f"{m.sector}:{m.facility}", "patient": int(m.patient), "channel": m.channel,
                         "type": m.type_code, "type_label": type_label(m.type_code), "outcome": m.outcome,
                         "to": f"{m.recipient_node[0]}:{m.recipient_node[1]}" if m.recipient_node else None,
                         "recipient": m.recipient, "doc": m.doc_id, "path": f"demo/{m.path}"})
    prescriptions = [{"number": int(p.number), "patient": int(p.patient), "day": int(p.day), "gp": f"gp:{p.gp}",
                      "doc": p.doc_id, "dispensed": None if p.dispensed is None else int(p.dispensed),
                      "pharmacy": None if p.pharmacy is None else f"pharmacy:{p.pharmacy}"}
                     for p in r.prescriptions]
    people = {}
    for p in sorted(seen):
        person = cast.person(p)
        people[str(p)] = {"id": p, "name": f"{person.given} {person.family}", "short": person.short_name,
                          "sex": person.sex, "birth": person.birth_date, "ins": person.ins or ""}
    terr = ", ".join(f"{name} ({code})" for code, name in zip(w.territory.codes, w.territory.names, strict=True))
    world = {"scenario": demo.scenario.name, "seed": int(demo.scenario.run.seed), "territory": terr,
             "patients_total": int(w.patients.n), "dates": demo.dates, "actors": actors, "patients": people,
             "documents": documents, "messages": messages, "prescriptions": prescriptions}
    tmp = out / f".{WORLD}.{os.getpid()}"
    tmp.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out / WORLD)
    return world


def child(out: str, conn) -> None:
    """Worker-process entry: build the world, then say 'done' (or 'failed' with one line)."""
    try:
        build_world(Path(out))
        conn.send(("done", None))
    except BaseException as exc:  # reported to the page as one line
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
