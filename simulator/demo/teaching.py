"""The teaching demo: run a small world, render every document, then tell what happened day by
day, following a few patients — each line naming the file to open.

``build_demo`` builds the small territory with the engine (``simulator.engine.territory``: the
run and every document rendered, as the page's teaching tab has it) and adds to its folder,
written atomically: ``network/`` (the facility-level flow graph), ``results/`` (the run's
results folder) and ``demo.json``; the documents are under ``dmp/`` (ITI-65 bundles) and
``mssante/`` (messages). ``narrate`` then tells the story from what the simulation did: nothing
in the narration is scripted but the choice of whom to follow.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.catalogue import by_code
from agents.services.mssante_operators import OPERATORS
from simulator.demo.words import (
    LANGS,
    RULES,
    SERVICE_REASONS,
    STATUS_EXPLAINED,
    STORIES,
    long_date,
    number,
    say,
)
from simulator.engine.small_world_documents import (
    DmpDocument,
    Message,
    Prescription,
    Rendered,
)
from simulator.engine.territory import Territory, build_territory

MARKER = "demo.json"


@dataclass
class Demo(Territory):
    """A finished demo: the small territory (``simulator.engine.territory``) and its network."""

    graph: Any = None


def build_demo(scenario: str | Path = "demo", out: str | Path = "demo-output", *, patients: int | None = None,
               days: int | None = None, seed: int | None = None) -> Demo:
    """Run the small world and write every file into ``out`` (replaced atomically): the
    territory's documents, its network (graph, tables, figure), the results and ``demo.json``."""
    # the demo's network and figure modules load when the demo runs (start-up time of `segur demo`)
    from reports.network import write_graph, write_tables
    from reports.network_figure import draw_network
    from simulator.demo.network import demo_graph

    graphs = []

    def finish(t: Territory, tmp: Path) -> None:
        sc, w, rendered = t.scenario, t.world, t.rendered
        G = demo_graph(rendered, t.cast, w, sc.name, sc.run.seed)
        net = tmp / "network"
        write_graph(G, net)
        write_tables(G, net)
        draw_network(G, net / "network.png", title=f"Flux de documents — {sc.name}, {len(w.territory)} département(s), "
                                                   f"{w.patients.n:,} patients (documents simulés)")
        t.results.save(tmp / "results")
        manifest = {
            "kind": "segur-testbed demo", "scenario": sc.name, "seed": sc.run.seed, "patients": int(w.patients.n),
            "start": str(sc.run.start), "end": str(sc.run.end), "departements": list(w.territory.codes),
            "dmp_documents": len(rendered.documents), "mssante_messages": len(rendered.messages),
            "prescriptions": len(rendered.prescriptions),
            "agreements": sum(d.agrees for d in rendered.documents),
        }
        (tmp / MARKER).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        graphs.append(G)

    t = build_territory(scenario, out, patients=patients, days=days, seed=seed, finish=finish)
    return Demo(t.scenario, t.results, t.world, t.cast, t.rendered, t.out, graphs[0])


# -- whom to follow -----------------------------------------------------------------------
@dataclass(frozen=True)
class Story:
    """A patient the narration follows, and why."""

    kind: str
    patient: int
    title: str


def choose_stories(r: Rendered) -> list[Story]:
    """A few patients whose week shows the main flows (earliest first, one story each)."""
    stories: list[Story] = []
    taken: set[int] = set()
    docs = {d.doc_id: d for d in r.documents}
    delivered_pro = {m.doc_id for m in r.messages if m.channel == "mssante_pro" and m.outcome == "delivered" and m.doc_id}

    def take(kind: str, title: str, candidates: list[tuple[Any, int]]) -> None:
        for _, patient in sorted(candidates, key=lambda c: c[0]):
            if patient not in taken:
                taken.add(patient)
                stories.append(Story(kind, patient, title))
                return

    rx = [((p.day, p.number), p.patient) for p in r.prescriptions
          if p.doc_id and docs[p.doc_id].outcome == "accepted" and p.dispensed is not None and p.pharmacy is not None]
    if rx:
        take("prescription", "prescription_rx", rx)
    else:
        take("prescription", "prescription",
             [((d.day, d.doc_id), d.patient) for d in r.documents
              if d.sector == "gp" and d.type_code == "57833-6" and d.outcome == "accepted"])
    take("lab", "lab",
         [((d.type_code != "11502-2", d.day, d.doc_id), d.patient) for d in r.documents
          if d.sector == "biology" and d.outcome == "accepted" and d.doc_id in delivered_pro])
    take("discharge", "discharge",
         [((d.outcome != "accepted", d.doc_id not in delivered_pro, d.day, d.doc_id), d.patient)
          for d in r.documents if d.sector == "hospital" and d.type_code == "11490-0"])
    take("rejection", "rejection",
         [((d.day, d.doc_id), d.patient) for d in r.documents if d.reason == "identity_not_qualified"])
    return stories


# -- lines --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One line of narration and its style (day, info, ok, reject, message, note)."""

    style: str
    text: str


class Narrator:
    """Writes lines as rich text on a terminal, plain text otherwise."""

    STYLES = {"title": "bold", "day": "bold cyan", "info": "dim", "ok": "green", "reject": "bold red",
              "message": "magenta", "rx": "yellow", "note": "", "story": "bold"}

    def __init__(self, rich: bool, write: Callable[[str], None] | None = None):
        self.write = write or print
        self.console = None
        if rich:
            from rich.console import Console

            self.console = Console(highlight=False, soft_wrap=True)

    def __call__(self, line: Line) -> None:
        if self.console is not None:
            from rich.text import Text

            self.console.print(Text(line.text, style=self.STYLES.get(line.style, "")))
        else:
            self.write(line.text)


def _label(code: str) -> str:
    try:
        return by_code(code).label_fr
    except KeyError:
        return code


def _validate_clause(d: DmpDocument, lang: str) -> str:
    return say("validate_errors", lang, errors=", ".join(d.errors)) if d.errors else say("validate_ok", lang)


def _rule_text(rule: str, label: str, lang: str) -> str:
    """A rule in force, said established or a modelling assumption from its label's mark ([V] / [I])."""
    key = "rule_assumed" if "[I]" in label or not label else "rule_established"
    return say(key, lang, rule=rule, name=RULES[lang].get(rule, rule))


class Teller:
    """Builds the narration of a demo, day by day, in ``lang`` (fr or en)."""

    def __init__(self, demo: Demo, root: str, lang: str = "fr"):
        self.demo = demo
        self.root = root.rstrip("/")
        self.lang = lang if lang in LANGS else "fr"
        r = demo.rendered
        self.docs = {d.doc_id: d for d in r.documents}
        self.stories = choose_stories(r)
        self.followed = {s.patient: s for s in self.stories}
        self.names = {p: demo.cast.person(p).short_name for p in self.followed}

    def say(self, key: str, **fmt: Any) -> str:
        return say(key, self.lang, **fmt)

    def clause(self, d: DmpDocument) -> str:
        return _validate_clause(d, self.lang)

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def where(self, rel: str) -> str:
        return self.say("open", path=self.path(rel))

    def facility(self, sector: str, index: int) -> str:
        return self.demo.cast.facility(sector, index).name

    def intro(self) -> list[Line]:
        d = self.demo
        w = d.world
        lang = self.lang
        terr = ", ".join(f"{name} ({code})" for code, name in zip(w.territory.codes, w.territory.names, strict=True))
        first, last = (long_date(dt.date.fromisoformat(x), lang) for x in (d.dates[0], d.dates[-1]))
        lines = [Line("title", self.say("title", terr=terr, n=number(w.patients.n, lang), first=first, last=last,
                                        scenario=d.scenario.name, seed=d.scenario.run.seed))]
        rules = [_rule_text(iv.rule, iv.label or "", lang) for iv in d.scenario.interventions
                 if iv.kind == "rule" and str(iv.date) <= d.dates[0]]
        ep = d.scenario.eprescription  # the e-prescription mandate is a date of its section
        if ep is not None and ep.mandate_date is not None and str(ep.mandate_date) <= d.dates[0]:
            rules.append(_rule_text("eprescription_mandatory", "[V]", lang))
        if rules:
            lines.append(Line("info", self.say("rules", rules="; ".join(rules))))
        for s in w.sectors:
            names = "; ".join(f"{f.name} [{OPERATORS[f.operator].label}]" for f in d.cast.facilities[s.name])
            lines.append(Line("info", f"{s.cfg.label}{' :' if lang == 'fr' else ':'} {names}"))
        lines.append(Line("info", self.say("files", root=self.root)))
        lines.append(Line("story", self.say("following")))
        for s in self.stories:
            p = d.cast.person(s.patient)
            lines.append(Line("story", self.say("person", name=p.short_name, sex=self.say("female" if p.sex == "female" else "male"),
                                                year=p.birth_date[:4], title=STORIES[lang][s.title])))
        return lines

    def day_summary(self, day: int) -> list[Line]:
        r = self.demo.rendered
        date = dt.date.fromisoformat(self.demo.dates[day])
        docs = [x for x in r.documents if x.day == day]
        rejected = Counter(x.reason for x in docs if x.outcome == "rejected")
        acc = sum(x.outcome == "accepted" for x in docs)
        msgs = Counter(m.outcome for m in r.messages if m.day == day)
        reg = sum(p.day == day for p in r.prescriptions)
        disp = sum(p.dispensed == day for p in r.prescriptions)
        rej = self.say("rejected_part", n=sum(rejected.values()),
                       reasons=", ".join(f"{k} {v}" for k, v in sorted(rejected.items()))) if rejected else ""
        text = self.say("summary", docs=len(docs), acc=acc, rej=rej, msgs=sum(msgs.values()),
                        delivered=msgs.get("delivered", 0), reg=reg, disp=disp)
        return [Line("day", self.say("day", n=day + 1, when=long_date(date, self.lang, weekday=True))), Line("info", text)]

    def _doc_line(self, d: DmpDocument) -> Line:
        who = self.names[d.patient]
        f = self.demo.cast.facility(d.sector, d.facility)
        label = _label(d.type_code)
        head = self.say("sends", who=who, facility=f.name, author=f.author, label=label, code=d.type_code)
        where, clause = self.where(d.path), self.clause(d)
        if d.outcome == "accepted":
            return Line("ok", self.say("accepted", head=head, who=who, clause=clause, where=where))
        if d.outcome == "not_sent":
            return Line("info", self.say("not_sent", who=who, facility=f.name, author=f.author, label=label,
                                         code=d.type_code, where=where))
        if d.reason == "identity_not_qualified":
            why = STATUS_EXPLAINED[self.lang].get(d.identity_status, d.identity_status)
            return Line("reject", self.say("rejected_identity", head=head, status=d.identity_status, why=why,
                                           clause=clause, where=where))
        if d.reason in SERVICE_REASONS[self.lang]:
            return Line("reject", self.say("rejected_service", head=head, reason=d.reason,
                                           why=SERVICE_REASONS[self.lang][d.reason], clause=clause, where=where))
        outcome = self.say(f"outcome_{d.outcome}") if d.outcome in ("rejected", "dropped") else d.outcome.upper()
        return Line("reject", self.say("rejected_other", head=head, outcome=outcome, reason=d.reason, clause=clause,
                                       where=where))

    def _state(self, m: Message) -> str:
        return self.say(f"msg_{m.outcome}") if m.outcome in ("delivered", "bounced", "in_transit") else m.outcome

    def _message_line(self, m: Message) -> Line:
        who = self.names[m.patient]
        f = self.demo.cast.facility(m.sector, m.facility)
        clause = self.say("mss_ok") if not m.errors else self.say("mss_errors", errors=", ".join(m.errors))
        if m.channel == "mssante_from_patient":
            return Line("message", self.say("from_patient", who=who, facility=f.name, recipient=m.recipient,
                                            label=_label(m.type_code), state=self._state(m), clause=clause,
                                            where=self.where(m.path)))
        if m.channel == "mssante_patient":
            to = self.say("to_patient", who=who, recipient=m.recipient)
        elif m.recipient_node is not None:
            to = f"{self.facility(*m.recipient_node)} ({m.recipient})"
        else:
            to = m.recipient
        text = self.say("message", who=who, operator=OPERATORS[m.operator].label, facility=f.name, address=f.address,
                        to=to, label=_label(m.type_code), state=self._state(m), clause=clause, where=self.where(m.path))
        if m.doc_id and m.doc_id in self.docs:
            d = self.docs[m.doc_id]
            text += self.say("same_document", clause=self.clause(d), path=self.path(d.path))
        return Line("message", text)

    def _prescription_lines(self, p: Prescription, day: int) -> list[Line]:
        who = self.names[p.patient]
        d = self.docs.get(p.doc_id) if p.doc_id else None
        lines = []
        number_ = f"{p.number + 1:06d}"
        if p.day == day:
            gp = self.demo.cast.facility("gp", p.gp) if p.gp >= 0 else None
            by = self.say("rx_by", author=gp.author) if gp else self.say("rx_by_anyone")
            copy = self.say("rx_copy", clause=self.clause(d), path=self.path(d.path)) if d else ""
            lines.append(Line("rx", self.say("rx_registered", who=who, by=by, number=number_, copy=copy)))
        if p.dispensed == day:
            ph = self.facility("pharmacy", p.pharmacy) if p.pharmacy is not None else self.say("a_pharmacy")
            copy = self.say("rx_dispensed_copy", clause=self.clause(d), path=self.path(d.path)) if d else ""
            lines.append(Line("rx", self.say("rx_dispensed", who=who, pharmacy=ph, number=number_, copy=copy)))
        return lines

    def day_events(self, day: int) -> list[Line]:
        r = self.demo.rendered
        lines: list[Line] = []
        for d in r.documents:
            if d.day == day and d.patient in self.followed:
                lines.append(self._doc_line(d))
        for p in r.prescriptions:
            if p.patient in self.followed and day in (p.day, p.dispensed):
                lines.extend(self._prescription_lines(p, day))
        for m in r.messages:
            if m.day == day and m.patient in self.followed:
                lines.append(self._message_line(m))
        return lines

    def outro(self) -> list[Line]:
        r = self.demo.rendered
        agree = sum(d.agrees for d in r.documents)
        G = self.demo.graph
        return [
            Line("day", self.say("end")),
            Line("note", self.say("end_files", docs=len(r.documents), root=self.root, msgs=len(r.messages),
                                  rx=len(r.prescriptions))),
            Line("note", self.say("end_rules", agree=agree, docs=len(r.documents))),
            Line("note", self.say("end_graph", nodes=G.number_of_nodes(), edges=G.number_of_edges(), root=self.root)),
            Line("note", self.say("end_validate", root=self.root)),
        ]


def narrate(demo: Demo, out: Callable[[Line], None], *, root: str | None = None, pace: float = 0.0,
            step: bool = False, ask: Callable[[], None] | None = None, lang: str = "fr") -> None:
    """Tell the demo day by day through ``out`` in ``lang`` (fr, the default, or en); ``pace``
    seconds between days, or wait for ``ask()`` (Enter) when ``step``."""
    teller = Teller(demo, root if root is not None else str(demo.out), lang)
    prompt = say("prompt", teller.lang)
    for line in teller.intro():
        out(line)
    n_days = len(demo.dates)
    for day in range(n_days):
        if step:
            (ask or (lambda: _wait_enter(prompt)))()
        elif pace > 0 and day > 0:
            time.sleep(pace)
        for line in teller.day_summary(day) + teller.day_events(day):
            out(line)
    for line in teller.outro():
        out(line)


def _wait_enter(prompt: str = "(Enter: next day) ") -> None:
    """Wait for Enter (the prompt goes to stderr, so that stdout holds only the narration)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    sys.stdin.readline()  # "" at end of input: go on without waiting


__all__ = ["Demo", "Line", "Narrator", "Story", "build_demo", "choose_stories", "narrate"]
