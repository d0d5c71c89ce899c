"""The teaching view's answers, read from the world the adapter built: a day, a patient's
Mon espace santé, a professional's documents, one document's FHIR."""

from __future__ import annotations

import json
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Any

from simulator.app import i18n
from simulator.app.teaching_source import WORLD


class World:
    """The demo territory, loaded from ``folder/world.json`` and indexed."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.data = json.loads((self.folder / WORLD).read_text(encoding="utf-8"))
        self.actors = {a["id"]: a for a in self.data["actors"]}
        self.docs = {d["id"]: d for d in self.data["documents"]}
        self.msgs = {m["id"]: m for m in self.data["messages"]}

    @property
    def n_days(self) -> int:
        return len(self.data["dates"])

    @cached_property
    def by_day(self) -> dict[int, tuple[list[dict], list[dict]]]:
        out: dict[int, tuple[list[dict], list[dict]]] = {d: ([], []) for d in range(self.n_days)}
        for d in self.data["documents"]:
            out.setdefault(d["day"], ([], []))[0].append(d)
        for m in self.data["messages"]:
            out.setdefault(m["day"], ([], []))[1].append(m)
        return out

    def _doc(self, d: dict, lang: str) -> dict[str, Any]:
        a = self.actors.get(d["from"], {})
        p = self.data["patients"].get(str(d["patient"]), {})
        return {**{k: v for k, v in d.items() if k != "content"}, "from_name": a.get("name", d["from"]),
                "author": a.get("author", ""), "patient_name": p.get("name", ""),
                "date": self.data["dates"][d["day"]], "outcome_label": i18n.text("out_" + d["outcome"], lang),
                "why": i18n.plain_reason(d["reason"], lang) if d["reason"] else ""}

    def _msg(self, m: dict, lang: str) -> dict[str, Any]:
        a = self.actors.get(m["from"], {})
        to = self.actors.get(m["to"] or "", {})
        p = self.data["patients"].get(str(m["patient"]), {})
        to_name = to.get("name") or (i18n.text("patient_space", lang, name=p.get("name", "")) if m["channel"] == "mssante_patient" else m["recipient"])
        return {**m, "from_name": a.get("name", m["from"]), "to_name": to_name, "patient_name": p.get("name", ""),
                "date": self.data["dates"][m["day"]], "outcome_label": i18n.text("out_" + m["outcome"], lang)}

    def day(self, n: int, lang: str) -> dict[str, Any]:
        """One day: counts per actor and every document and message sent that day."""
        docs, msgs = self.by_day.get(n, ([], []))
        per_actor: dict[str, Counter] = {}
        for d in docs:
            per_actor.setdefault(d["from"], Counter())["dmp_" + ("ok" if d["outcome"] == "accepted" else "ko")] += 1
        for m in msgs:
            per_actor.setdefault(m["from"], Counter())["mss"] += 1
        acc = sum(d["outcome"] == "accepted" for d in docs)
        rej = sum(d["outcome"] == "rejected" for d in docs)
        return {"day": n, "date": self.data["dates"][n], "n_days": self.n_days,
                "summary": i18n.text("summary_day", lang, docs=len(docs), acc=acc, rej=rej, msgs=len(msgs)),
                "actors": {k: dict(v) for k, v in per_actor.items()},
                "documents": [self._doc(d, lang) for d in docs], "messages": [self._msg(m, lang) for m in msgs]}

    def patient(self, pid: int, upto: int, lang: str) -> dict[str, Any] | None:
        """A patient's Mon espace santé up to a day: the accepted documents (newest first), the
        messages in their MES mailbox, and what did not reach it, with the reason."""
        p = self.data["patients"].get(str(pid))
        if p is None:
            return None
        docs = [d for d in self.data["documents"] if d["patient"] == pid and d["day"] <= upto]
        shown = [{**self._doc(d, lang), "content": d["content"]} for d in docs if d["outcome"] == "accepted"]
        missing = [self._doc(d, lang) for d in docs if d["outcome"] != "accepted"]
        mailbox = [self._msg(m, lang) for m in self.data["messages"]
                   if m["patient"] == pid and m["channel"] == "mssante_patient" and m["day"] <= upto]
        key = lambda x: (x["day"], x["id"])  # noqa: E731 - a sort key
        return {**p, "title": i18n.text("patient_space", lang, name=p["name"]),
                "documents": sorted(shown, key=key, reverse=True), "not_shown": sorted(missing, key=key),
                "mailbox": sorted(mailbox, key=key, reverse=True)}

    def actor(self, actor_id: str, upto: int, lang: str) -> dict[str, Any] | None:
        """What a professional sent (DMP and MSSanté) and received (MSSanté) up to a day."""
        a = self.actors.get(actor_id)
        if a is None:
            return None
        sent_docs = [self._doc(d, lang) for d in self.data["documents"] if d["from"] == actor_id and d["day"] <= upto]
        sent_msgs = [self._msg(m, lang) for m in self.data["messages"] if m["from"] == actor_id and m["day"] <= upto]
        received = [self._msg(m, lang) for m in self.data["messages"] if m["to"] == actor_id and m["day"] <= upto]
        return {**a, "sent_documents": sent_docs, "sent_messages": sent_msgs, "received": received}

    def fhir(self, item_id: str) -> dict[str, Any] | None:
        """The FHIR (ITI-65 bundle) of a DMP document, or the MSSanté message, as JSON."""
        item = self.docs.get(item_id) or self.msgs.get(item_id)
        if item is None:
            return None
        path = (self.folder / item["path"]).resolve()
        if self.folder.resolve() not in path.parents or not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def overview(self, lang: str) -> dict[str, Any]:
        """What the page needs first: territory, dates, actors."""
        return {k: self.data[k] for k in ("scenario", "seed", "territory", "patients_total", "dates", "actors")}
