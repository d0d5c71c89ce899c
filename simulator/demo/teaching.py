"""The teaching demo: run a small world, render every document, then tell what happened day by
day, following a few patients — each line naming the file to open.

``build_demo`` runs the engine (``simulator.demo.world``), renders every document
(``simulator.demo.documents``) and writes the output folder atomically: ``dmp/`` (ITI-65
bundles), ``mssante/`` (messages), ``network/`` (the facility-level flow graph), ``results/``
(the run's results folder) and ``demo.json``. ``narrate`` then tells the story from what the
simulation did: nothing in the narration is scripted but the choice of whom to follow.
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
from agents.small_world import Cast
from simulator.atomic import atomic_folder, check_output
from simulator.core.errors import UsageError
from simulator.demo.documents import DmpDocument, Message, Prescription, Rendered, Renderer

MARKER = "demo.json"
MAX_PATIENTS = 50_000
MAX_DAYS = 366
STATUS_EXPLAINED = {
    "PROV": "provisional: not retrieved through INSi, not checked against an ID document",
    "VALI": "validated against an ID document, but never retrieved through INSi",
    "RECUP": "retrieved through INSi, but never checked against an ID document",
    "QUAL": "qualified",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
SERVICE_REASONS = {
    "software_not_installed": "the sender still runs pre-Ségur software, which the DMP no longer accepts",
    "no_profile": "the patient has no Mon espace santé profile yet",
    "profile_opposed": "the patient opposed the creation of a Mon espace santé profile",
    "profile_closed": "the patient closed their Mon espace santé profile",
}


@dataclass
class Demo:
    """A finished demo: what the run did, its files and where they are."""

    scenario: Any
    results: Any
    world: Any
    cast: Cast
    rendered: Rendered
    out: Path
    graph: Any

    @property
    def dates(self) -> list[str]:
        return [str(d) for d in self.world.calendar.dates]


def overrides(sc: Any, patients: int | None, days: int | None, seed: int | None,
              min_days: int = 2) -> dict[str, Any]:
    """Scenario overrides of a small territory's ``--patients`` / ``--days`` / ``--seed`` (the
    demo, and the live server's seeding, which accepts a single day): every document rendered."""
    out: dict[str, Any] = {"payload_sample": 0}  # every document is rendered here
    if patients is not None:
        if not 100 <= patients <= MAX_PATIENTS:
            raise UsageError(f"--patients: must be between 100 and {MAX_PATIENTS:,} for a demo (got {patients})")
        scale = patients / sc.population.size
        if scale > 1:
            raise UsageError(f"--patients: the scenario's territory has only {sc.population.size:,} inhabitants")
        out["run.scale"] = scale
    if days is not None:
        if not min_days <= days <= MAX_DAYS:
            raise UsageError(f"--days: must be between {min_days} and {MAX_DAYS} (got {days})")
        out["run.end"] = sc.run.start + dt.timedelta(days=days - 1)
    if seed is not None:
        if seed < 0:
            raise UsageError(f"--seed: must be a non-negative integer (got {seed})")
        out["run.seed"] = seed
    return out


def _check_out(out: Path) -> None:
    check_output(out, "demo")  # before the run: a bad or foreign --out fails at once


def build_demo(scenario: str | Path = "demo", out: str | Path = "demo-output", *, patients: int | None = None,
               days: int | None = None, seed: int | None = None) -> Demo:
    """Run the small world and write every file into ``out`` (replaced atomically)."""
    # the demo's engine, network and figure modules load when the demo runs (start-up time of `segur demo`)
    from reports.network import write_graph, write_tables
    from reports.network_figure import draw_network
    from simulator.demo.network import demo_graph
    from simulator.demo.world import DemoSimulation
    from simulator.scenario import load_scenario

    sc = load_scenario(scenario)
    if not sc.run.departements:
        raise UsageError(f"{scenario}: a demo needs a small territory (run.departements), e.g. scenarios/demo.toml")
    sc = load_scenario(scenario, overrides(sc, patients, days, seed))
    out = Path(out)
    _check_out(out)
    sim = DemoSimulation(sc)
    results = sim.run()
    w = sim.world
    cast = Cast(w.patients, w.sectors, w.territory.codes, sc.run.seed)
    with atomic_folder(out, kind="demo") as tmp:
        rendered = Renderer(sim, cast, tmp, sc.run.seed).render()
        G = demo_graph(rendered, cast, w, sc.name, sc.run.seed)
        net = tmp / "network"
        write_graph(G, net)
        write_tables(G, net)
        draw_network(G, net / "network.png", title=f"Flux de documents — {sc.name}, {len(w.territory)} département(s), "
                                                   f"{w.patients.n:,} patients (documents simulés)")
        results.save(tmp / "results")
        manifest = {
            "kind": "segur-testbed demo", "scenario": sc.name, "seed": sc.run.seed, "patients": int(w.patients.n),
            "start": str(sc.run.start), "end": str(sc.run.end), "departements": list(w.territory.codes),
            "dmp_documents": len(rendered.documents), "mssante_messages": len(rendered.messages),
            "prescriptions": len(rendered.prescriptions),
            "agreements": sum(d.agrees for d in rendered.documents),
        }
        (tmp / MARKER).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return Demo(sc, results, w, cast, rendered, out, G)


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
        take("prescription", "a GP consultation, its e-prescription and the pharmacy's dispensation", rx)
    else:
        take("prescription", "a GP consultation and its prescription",
             [((d.day, d.doc_id), d.patient) for d in r.documents
              if d.sector == "gp" and d.type_code == "57833-6" and d.outcome == "accepted"])
    take("lab", "a lab report to the GP over MSSanté and to the DMP",
         [((d.type_code != "11502-2", d.day, d.doc_id), d.patient) for d in r.documents
          if d.sector == "biology" and d.outcome == "accepted" and d.doc_id in delivered_pro])
    take("discharge", "a hospital discharge letter",
         [((d.outcome != "accepted", d.doc_id not in delivered_pro, d.day, d.doc_id), d.patient)
          for d in r.documents if d.sector == "hospital" and d.type_code == "11490-0"])
    take("rejection", "a document refused because the identity was not qualified",
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


def _validate_clause(d: DmpDocument) -> str:
    return f"segur validate: {', '.join(d.errors)}" if d.errors else "segur validate: no error"


class Teller:
    """Builds the narration of a demo, day by day."""

    def __init__(self, demo: Demo, root: str):
        self.demo = demo
        self.root = root.rstrip("/")
        r = demo.rendered
        self.docs = {d.doc_id: d for d in r.documents}
        self.stories = choose_stories(r)
        self.followed = {s.patient: s for s in self.stories}
        self.names = {p: demo.cast.person(p).short_name for p in self.followed}

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def facility(self, sector: str, index: int) -> str:
        return self.demo.cast.facility(sector, index).name

    def intro(self) -> list[Line]:
        d = self.demo
        w = d.world
        terr = ", ".join(f"{name} ({code})" for code, name in zip(w.territory.codes, w.territory.names, strict=True))
        lines = [Line("title", f"segur demo — {terr}, {w.patients.n:,} patients, "
                               f"{d.dates[0]} to {d.dates[-1]} (scenario {d.scenario.name}, seed {d.scenario.run.seed})")]
        rules = [iv.rule for iv in d.scenario.interventions if iv.kind == "rule" and str(iv.date) <= d.dates[0]]
        ep = d.scenario.eprescription  # the e-prescription mandate is a date of its section
        if ep is not None and ep.mandate_date is not None and str(ep.mandate_date) <= d.dates[0]:
            rules.append("eprescription_mandatory")
        if rules:
            lines.append(Line("info", f"Rules in force from the first day: {', '.join(rules)}."))
        for s in w.sectors:
            names = "; ".join(f"{f.name} [{OPERATORS[f.operator].label}]" for f in d.cast.facilities[s.name])
            lines.append(Line("info", f"{s.cfg.label}: {names}"))
        lines.append(Line("info", f"Every document is a file under {self.root}/: dmp/ (FHIR ITI-65 bundles), "
                                  f"mssante/ (MSSanté messages), network/ (the flow graph)."))
        lines.append(Line("story", "Following:"))
        for s in self.stories:
            p = d.cast.person(s.patient)
            lines.append(Line("story", f"  {p.short_name} ({'F' if p.sex == 'female' else 'M'}, born {p.birth_date[:4]}): "
                                       f"{s.title}"))
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
        rej = f", {sum(rejected.values())} rejected ({', '.join(f'{k} {v}' for k, v in sorted(rejected.items()))})" if rejected else ""
        text = (f"  DMP: {len(docs)} documents sent — {acc} accepted{rej} · MSSanté: {sum(msgs.values())} messages sent"
                f" ({msgs.get('delivered', 0)} delivered) · e-prescriptions: {reg} registered, {disp} dispensed")
        when = f"{WEEKDAYS[date.weekday()]} {date.day} {MONTHS[date.month - 1]} {date.year}"
        return [Line("day", f"── Day {day + 1} · {when} ──"), Line("info", text)]

    def _doc_line(self, d: DmpDocument) -> Line:
        who = self.names[d.patient]
        f = self.demo.cast.facility(d.sector, d.facility)
        head = f"  [{who}] {f.name} ({f.author}) sends « {_label(d.type_code)} » ({d.type_code}) to the DMP"
        where = f"open: {self.path(d.path)}"
        if d.outcome == "accepted":
            return Line("ok", f"{head}: accepted, now in {who}'s Mon espace santé. {_validate_clause(d)}. {where}")
        if d.outcome == "not_sent":
            return Line("info", f"  [{who}] {f.name} ({f.author}) checks {who}'s Mon espace santé before sending "
                                f"« {_label(d.type_code)} » ({d.type_code}): no open profile (none, opposed or closed), "
                                f"so the software does not send it. {where}")
        if d.reason == "identity_not_qualified":
            why = STATUS_EXPLAINED.get(d.identity_status, d.identity_status)
            return Line("reject", f"{head}: REJECTED — identity_not_qualified: the identity is {d.identity_status} "
                                  f"({why}); only QUAL may feed the DMP. {_validate_clause(d)}. {where}")
        if d.reason in SERVICE_REASONS:
            return Line("reject", f"{head}: REJECTED — {d.reason}: {SERVICE_REASONS[d.reason]}; the payload itself "
                                  f"is not at fault. {_validate_clause(d)}. {where}")
        return Line("reject", f"{head}: {d.outcome.upper()} {d.reason}. {_validate_clause(d)}. {where}")

    def _message_line(self, m: Message) -> Line:
        who = self.names[m.patient]
        f = self.demo.cast.facility(m.sector, m.facility)
        if m.channel == "mssante_from_patient":
            state = {"delivered": "delivered", "bounced": "BOUNCED", "in_transit": "still in transit at the end"}.get(m.outcome, m.outcome)
            clause = "MSSanté rules: no error" if not m.errors else f"MSSanté rules: {', '.join(m.errors)}"
            return Line("message", f"  [{who}] MSSanté from {who}'s Mon espace santé mailbox (a reply) → {f.name} "
                                   f"({m.recipient}): « {_label(m.type_code)} », {state}; {clause}. open: {self.path(m.path)}")
        if m.channel == "mssante_patient":
            to = f"{who}'s Mon espace santé mailbox ({m.recipient})"
        elif m.recipient_node is not None:
            to = f"{self.facility(*m.recipient_node)} ({m.recipient})"
        else:
            to = m.recipient
        state = {"delivered": "delivered", "bounced": "BOUNCED", "in_transit": "still in transit at the end"}.get(m.outcome, m.outcome)
        clause = "MSSanté rules: no error" if not m.errors else f"MSSanté rules: {', '.join(m.errors)}"
        text = (f"  [{who}] MSSanté via {OPERATORS[m.operator].label}: {f.name} ({f.address}) → {to}: "
                f"« {_label(m.type_code)} », {state}; {clause}. open: {self.path(m.path)}")
        if m.doc_id and m.doc_id in self.docs:
            d = self.docs[m.doc_id]
            text += f" — the same document as in the DMP ({_validate_clause(d)}: {self.path(d.path)})"
        return Line("message", text)

    def _prescription_lines(self, p: Prescription, day: int) -> list[Line]:
        who = self.names[p.patient]
        d = self.docs.get(p.doc_id) if p.doc_id else None
        lines = []
        copy = f" Its copy in the DMP ({_validate_clause(d)}): open: {self.path(d.path)}" if d else ""
        if p.day == day:
            gp = self.demo.cast.facility("gp", p.gp) if p.gp >= 0 else None
            by = f"{gp.author} registers" if gp else "The prescriber registers"
            lines.append(Line("rx", f"  [{who}] {by} e-prescription n° {p.number + 1:06d} in the national base (a single-use "
                                    f"QR code on the patient's copy).{copy}"))
        if p.dispensed == day:
            ph = self.facility("pharmacy", p.pharmacy) if p.pharmacy is not None else "A pharmacy"
            lines.append(Line("rx", f"  [{who}] {ph} scans the QR code of e-prescription n° {p.number + 1:06d} and dispenses: "
                                    f"the base accepts and marks it consumed (a second scan would be refused)."
                                    + (f" The prescription dispensed ({_validate_clause(d)}): open: {self.path(d.path)}" if d else "")))
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
            Line("day", "── End of the run ──"),
            Line("note", f"{len(r.documents)} DMP submissions rendered as FHIR ITI-65 bundles in {self.root}/dmp/, "
                         f"{len(r.messages)} MSSanté messages in {self.root}/mssante/, "
                         f"{len(r.prescriptions)} e-prescriptions registered."),
            Line("note", f"The conformance rules give the simulated DMP's verdict for {agree} of {len(r.documents)} "
                         f"documents (the rest would be a bug)."),
            Line("note", f"Flow graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges in {self.root}/network/ "
                         f"(network.graphml, network.json, network.png, top_flows.csv, critical_nodes.csv); "
                         f"results tables in {self.root}/results/."),
            Line("note", f"Check any bundle yourself with segur validate FILE (a bundle under {self.root}/dmp/)."),
        ]


def narrate(demo: Demo, out: Callable[[Line], None], *, root: str | None = None, pace: float = 0.0,
            step: bool = False, ask: Callable[[], None] | None = None) -> None:
    """Tell the demo day by day through ``out``; ``pace`` seconds between days, or wait for
    ``ask()`` (Enter) when ``step``."""
    teller = Teller(demo, root if root is not None else str(demo.out))
    for line in teller.intro():
        out(line)
    n_days = len(demo.dates)
    for day in range(n_days):
        if step:
            (ask or _wait_enter)()
        elif pace > 0 and day > 0:
            time.sleep(pace)
        for line in teller.day_summary(day) + teller.day_events(day):
            out(line)
    for line in teller.outro():
        out(line)


def _wait_enter() -> None:
    """Wait for Enter (the prompt goes to stderr, so that stdout holds only the narration)."""
    sys.stderr.write("(Enter: next day) ")
    sys.stderr.flush()
    sys.stdin.readline()  # "" at end of input: go on without waiting


__all__ = ["Demo", "Line", "Narrator", "Story", "build_demo", "choose_stories", "narrate"]
