"""The levers a planner moves on the page, derived from a scenario and its schema.

Each lever is one input of the form: a sector's uptake speed (a factor on the Bass hazards),
its intensity ceiling, its funded equipment (the share that installs the Ségur update), its
identity qualification, a rule's (mandate's) date, a wave 2 launch date, a DMP outage. Bounds
and units come from ``scenarios.schema`` (pydantic field metadata) and the run's dates; sources
from the comments of the scenario files. A form is validated by a pydantic model built from
the levers (one message per field), then the changed scenario by the scenario loader itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from scenarios.loader import SCENARIO_DIR, load_raw
from scenarios.schema import InstallConfig, QualificationConfig, Scenario, SectorConfig
from simulator.app import french, i18n
from simulator.app.sources import source_of
from simulator.core.errors import SegurError
from simulator.engine.scenario import validate

HIDDEN = ("demo", "calibration", "calibration_check", "wave2_base")  # not what-if scenarios
MAX_FACTOR = 10.0
MAX_OUTAGE_DAYS = 90
MAX_REPLICATIONS = 10
DEFAULT_REPLICATIONS = 8  # the page's default: enough for a p5–p95 band (docs/app.md gives the time it takes)
MAX_SCALE = 0.05  # a page run stays small: one simulated patient for at least 20


@dataclass(frozen=True)
class Lever:
    """One input of the planner's form."""

    id: str  # form name, e.g. "gp.uptake"
    group: str  # a sector, or "rules" / "services"
    kind: str  # factor | share | date | days
    label: dict[str, str]
    unit: str
    source: str
    default: Any
    bounds: dict[str, Any] = field(default_factory=dict)  # ge / le / gt / lt
    path: str = ""  # what it changes, for the reader

    def public(self, lang: str) -> dict[str, Any]:
        """What the page needs to draw the input."""
        b = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in self.bounds.items()}
        source, whole = french.source(self.source) if lang == "fr" else (french.spell_out_en(self.source), True)
        return {"id": self.id, "group": self.group, "kind": self.kind, "label": self.label[lang],
                "unit": i18n.unit(self.unit, lang), "source": source, "source_translated": whole, "path": self.path,
                "default": str(self.default) if isinstance(self.default, dt.date) else self.default,
                "min": b.get("ge", b.get("gt")), "max": b.get("le", b.get("lt")),
                "step": {"factor": 0.05, "share": 0.01, "days": 1}.get(self.kind)}


def library(lang: str = "en") -> list[dict[str, str]]:
    """The scenarios a planner can pick: name and the question each answers (in ``lang``)."""
    out = []
    for p in sorted(SCENARIO_DIR.glob("*.toml")):
        if p.stem in HIDDEN:
            continue
        with p.open("rb") as fh:
            desc = tomllib.load(fh).get("description", "")
        out.append({"name": p.stem, "description": french.description(p.stem, desc) if lang == "fr" else desc})
    first = [s for s in out if s["name"] == "baseline"]
    return first + [s for s in out if s["name"] != "baseline"]


def scenario_path(name: str) -> Path:
    """The file of a library scenario; a name outside the library is a SegurError."""
    if name not in {s["name"] for s in library()}:
        raise SegurError(f"scenario: unknown scenario '{name}'; allowed: {', '.join(s['name'] for s in library())}")
    return SCENARIO_DIR / f"{name}.toml"


def _bounds(model: type[BaseModel], name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in model.model_fields[name].metadata:
        for cls, key in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
            if isinstance(m, cls):
                out[key] = getattr(m, key)
    return out


def _unit(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def _funding_key(install: dict[str, Any]) -> str:
    """The share a funding lever sets: facilities that order (orders then installs), or that
    install (a direct install curve)."""
    return "order_share" if "order_share" in install else "final_share"


@lru_cache(maxsize=32)
def levers_for(name: str) -> tuple[Lever, ...]:
    """Every lever of a library scenario, in form order."""
    path = scenario_path(name)
    data = load_raw(path)
    start, end = _date(data["run"]["start"]), _date(data["run"]["end"])
    in_run = {"ge": start, "le": end}
    out: list[Lever] = []
    for s, cfg in data["sectors"].items():
        out.append(Lever(f"{s}.uptake", s, "factor", i18n.lever_label("uptake", s), "factor",
                         source_of(path, f"sectors.{s}.uptake_q"), 1.0, {"gt": 0.0, "le": MAX_FACTOR},
                         f"sectors.{s}.uptake_p, uptake_q × f ({_unit(SectorConfig, 'uptake_q')})"))
        out.append(Lever(f"{s}.intensity", s, "share", i18n.lever_label("intensity", s),
                         _unit(SectorConfig, "intensity_mean"), source_of(path, f"sectors.{s}.intensity_mean"),
                         float(cfg["intensity_mean"]), _bounds(SectorConfig, "intensity_mean"),
                         f"sectors.{s}.intensity_mean"))
        fk = _funding_key(cfg["install"])
        out.append(Lever(f"{s}.funding", s, "share", i18n.lever_label("funding", s),
                         _unit(InstallConfig, fk), source_of(path, f"sectors.{s}.install.{fk}"),
                         float(cfg["install"][fk]), _bounds(InstallConfig, fk),
                         f"sectors.{s}.install.{fk}"))
        out.append(Lever(f"{s}.qualification", s, "share", i18n.lever_label("qualification", s),
                         _unit(QualificationConfig, "end_share"),
                         source_of(path, f"sectors.{s}.qualification.end_share"),
                         float(cfg["qualification"]["end_share"]), _bounds(QualificationConfig, "end_share"),
                         f"sectors.{s}.qualification.end_share"))
    seen: set[str] = set()
    for iv in data.get("interventions", []):
        if iv.get("kind") == "rule" and iv.get("rule") not in seen:
            seen.add(iv["rule"])
            out.append(Lever(f"rule.{iv['rule']}", "rules", "date", i18n.lever_label("rule", iv["rule"]), "date",
                             iv.get("label", ""), _date(iv["date"]), in_run, f"interventions: rule {iv['rule']}"))
        if iv.get("kind") == "launch" and f"launch.{iv.get('sector')}" not in seen:
            seen.add(f"launch.{iv['sector']}")
            out.append(Lever(f"launch.{iv['sector']}", "rules", "date", i18n.lever_label("launch", iv["sector"]),
                             "date", iv.get("label", ""), _date(iv["date"]), in_run,
                             f"interventions: launch {iv['sector']}"))
    outage = next((iv for iv in data.get("interventions", []) if iv.get("kind") == "outage"
                   and iv.get("service") == "dmp"), None)
    mid = start + (end - start) * 3 // 4
    out.append(Lever("outage.date", "services", "date", i18n.lever_label("outage_date", ""), "date",
                     outage.get("label", "") if outage else "", _date(outage["date"]) if outage else mid, in_run,
                     "interventions: outage dmp (date)"))
    out.append(Lever("outage.days", "services", "days", i18n.lever_label("outage_days", ""), "days",
                     outage.get("label", "") if outage else "", int(outage["days"]) if outage else 0,
                     {"ge": 0, "le": MAX_OUTAGE_DAYS}, "interventions: outage dmp (days; 0 = none)"))
    return tuple(out)


def _field_name(lever_id: str) -> str:
    return "f_" + lever_id.replace(".", "__")


@lru_cache(maxsize=32)
def lever_model(name: str) -> type[BaseModel]:
    """A pydantic model of the form's levers: types and bounds from the scenario schema."""
    fields: dict[str, Any] = {}
    for lv in levers_for(name):
        typ = {"factor": float, "share": float, "date": dt.date, "days": int}[lv.kind]
        fields[_field_name(lv.id)] = (typ, Field(default=lv.default, alias=lv.id, **lv.bounds))
    return create_model(f"Levers_{name}", __config__=ConfigDict(extra="forbid", populate_by_name=False), **fields)


class RunRequest(BaseModel):
    """One run asked by the page: scenario, levers, seed, scale, replications."""

    model_config = ConfigDict(extra="forbid")
    scenario: str
    levers: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    scale: float = Field(default=0.01, gt=0, le=MAX_SCALE)
    replications: int = Field(default=1, ge=1, le=MAX_REPLICATIONS)
    lang: str = "fr"


class FormErrors(Exception):
    """Field id → message, for a 422 answer."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _message(err: dict[str, Any], lang: str) -> str:
    ctx = err.get("ctx", {}) or {}
    typ = err["type"]
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        key = {"greater_than_equal": "ge", "less_than_equal": "le", "greater_than": "gt", "less_than": "lt"}[typ]
        return i18n.text(f"err_{key}", lang, bound=ctx.get(key), got=err.get("input"))
    if typ.startswith("date") or typ.startswith("datetime"):
        return i18n.text("err_date", lang, got=err.get("input"))
    if typ in ("float_parsing", "int_parsing", "int_from_float", "float_type", "int_type"):
        return i18n.text("err_number", lang, got=err.get("input"))
    if typ == "extra_forbidden":
        return i18n.text("err_unknown", lang)
    return err.get("msg", typ)


def check(req: RunRequest) -> tuple[Scenario, dict[str, Any]]:
    """Validate a request's levers and build its scenario; FormErrors names each bad field."""
    lang = i18n.check_lang(req.lang)
    try:
        path = scenario_path(req.scenario)
    except SegurError as exc:
        raise FormErrors({"scenario": exc.message}) from None
    model = lever_model(req.scenario)
    try:
        values = model.model_validate(req.levers)
    except ValidationError as exc:
        errors = {}
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else "levers"
            errors.setdefault(loc, _message(err, lang))
        raise FormErrors(errors) from None
    chosen = {lv.id: getattr(values, _field_name(lv.id)) for lv in levers_for(req.scenario)}
    data = apply(load_raw(path), chosen)
    data.setdefault("run", {})["seed"] = req.seed
    data["run"]["scale"] = req.scale
    try:
        scenario = validate(data, path)
    except SegurError as exc:
        raise FormErrors({_blame(exc.message, chosen): exc.message}) from None
    return scenario, {k: (str(v) if isinstance(v, dt.date) else v) for k, v in chosen.items()}


def _blame(message: str, chosen: dict[str, Any]) -> str:
    """The lever a scenario error names (``sectors.gp.uptake_p`` → ``gp.uptake``), or the form."""
    for lever_id in chosen:
        s, what = lever_id.split(".", 1)
        key = {"uptake": "uptake_", "intensity": "intensity_mean", "funding": "install.",
               "qualification": "qualification.end_share"}.get(what)
        if key and f"sectors.{s}.{key}" in message:
            return lever_id
    return "levers"


def apply(data: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    """The scenario data with the levers' values written in (a copy)."""
    data = copy.deepcopy(data)
    ivs = data.setdefault("interventions", [])
    for lever_id, v in chosen.items():
        head, what = lever_id.split(".", 1)
        if head in data.get("sectors", {}):
            _apply_sector_lever(data["sectors"][head], head, what, v, ivs)
        elif head in ("rule", "launch"):  # the date of the rule's, the sector's launch intervention
            field = "rule" if head == "rule" else "sector"
            for iv in ivs:
                if iv.get("kind") == head and iv.get(field) == what:
                    iv["date"] = v
    days = chosen.get("outage.days", 0)
    rest = [iv for iv in ivs if not (iv.get("kind") == "outage" and iv.get("service") == "dmp")]
    old = next((iv for iv in ivs if iv.get("kind") == "outage" and iv.get("service") == "dmp"), {})
    if days:
        rest.append({**old, "kind": "outage", "service": "dmp", "date": chosen["outage.date"], "days": days,
                     "label": old.get("label", "DMP outage (page lever)")})
    data["interventions"] = rest
    return data


def _apply_sector_lever(sec: dict[str, Any], sector: str, what: str, v: Any, ivs: list[dict[str, Any]]) -> None:
    """A sector's lever (uptake, intensity, funding, qualification) written into its block;
    a dated change of the same parameter keeps its relative size."""
    if what == "uptake":
        for key in ("uptake_p", "uptake_q"):
            sec[key] = float(sec[key]) * v
            _follow(ivs, sector, key, v)
    elif what == "intensity":
        old = float(sec["intensity_mean"])
        sec["intensity_mean"] = v
        _follow(ivs, sector, "intensity_mean", v / old if old else 1.0)
    elif what == "funding":
        sec["install"][_funding_key(sec["install"])] = v
    elif what == "qualification":
        old = float(sec["qualification"]["end_share"])
        sec["qualification"]["end_share"] = v
        _follow(ivs, sector, "qualification.end_share", v / old if old else 1.0)


def _follow(ivs: list[dict[str, Any]], sector: str, key: str, ratio: float) -> None:
    """A dated change of the same share parameter keeps its relative size (and stays <= 1)."""
    for iv in ivs:
        if iv.get("kind") == "parameter" and iv.get("path") == f"sectors.{sector}.{key}" and iv.get("value") is not None:
            iv["value"] = min(1.0, float(iv["value"]) * ratio)


def defaults(name: str) -> dict[str, Any]:
    """The levers' values as the scenario file has them."""
    return {lv.id: (str(lv.default) if isinstance(lv.default, dt.date) else lv.default) for lv in levers_for(name)}


__all__ = ["FormErrors", "Lever", "RunRequest", "check", "defaults", "levers_for", "library"]
