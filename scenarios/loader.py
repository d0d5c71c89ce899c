"""Load a scenario: read TOML, resolve `extends`, validate, and explain any error in one line.

Every problem becomes a ScenarioError naming the file, the key and what is allowed, so the
CLI can print it with exit code 2 and no traceback. The checks that need the agents'
catalogues (document types, départements, defects, registered producer modules) get them from
the caller as a ``Reference``: this package imports neither ``agents`` nor the engine
(``simulator.engine.scenario.load_scenario`` passes the agents' reference).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from scenarios import SCENARIO_DIR, schema
from scenarios.country import load_country
from scenarios.dynamic import check_parameter_path
from scenarios.schema import Scenario
from simulator.core.errors import ScenarioError

MAX_EXTENDS_DEPTH = 8
MAX_FILE_BYTES = 4 * 2**20  # shipped scenarios are ~20 kB; a larger file is not a scenario


def read_input_file(path: Path, what: str = "scenario", error: type[Exception] = ScenarioError,
                    max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a small input file, refused in one line when it is not a regular file (a
    folder, a FIFO, a device such as /dev/zero) or is larger than ``max_bytes``: checked on
    the open file before reading, so nothing hangs and nothing huge is read."""
    a = "an" if what[:1].lower() in "aeiou" else "a"  # "an observed figures file"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once instead of waiting
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not {a} {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{path}: is a folder, not {a} {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: not a regular file (a device, a pipe or a socket); give {a} {what} file")
        if st.st_size > max_bytes:
            raise error(f"{path}: {st.st_size / 2**20:,.1f} MB is too large for {a} {what} file "
                        f"(at most {max_bytes / 2**20:g} MB)")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:  # grew while being read
                raise error(f"{path}: too large for a {what} file (at most {max_bytes / 2**20:g} MB)")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Reference:
    """What a scenario is checked against, from the agents' catalogues (given by the caller)."""

    document_types: frozenset[str]  # LOINC codes of the catalogue
    departements: frozenset[str]  # INSEE codes of the territory
    defects: tuple[str, ...]  # injectable defects
    producers: tuple[str, ...]  # registered producer modules (a sector's ``model``)
    rules: tuple[str, ...] = ()  # the rules an intervention may switch on (the DMP rule table's switches…)


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_input_file(path)
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (scenarios are UTF-8 TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: not valid TOML: nested too deeply") from None


def deep_merge(base: dict[str, Any], overlay: dict[str, Any], where: str = "scenario") -> dict[str, Any]:
    """``overlay`` over ``base``: tables merge key by key, `interventions` are appended."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if key == "interventions":
            for side in (out.get(key, []), value):
                if not isinstance(side, list):
                    raise ScenarioError(f"{where}: interventions: must be a list of tables [[interventions]] "
                                        f"(got {type(side).__name__} {side!r:.40})")
            out[key] = list(out.get(key, [])) + list(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_path(name: str | Path) -> Path:
    """A scenario path as given, or a bare name looked up in the shipped scenarios folder."""
    p = Path(name)
    if p.exists() or p.suffix:
        return p
    shipped = SCENARIO_DIR / f"{p.name}.toml"
    return shipped if shipped.exists() else p


def load_raw(path: str | Path, _depth: int = 0) -> dict[str, Any]:
    """The scenario's data with every `extends` applied (not yet validated)."""
    path = resolve_path(path)
    if _depth > MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{path}: extends: chain longer than {MAX_EXTENDS_DEPTH} files (a loop?)")
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: must be a file name (string)")
    parent_path = (path.parent / parent).resolve()
    if not parent_path.exists():
        raise ScenarioError(f"{path}: extends: '{parent}' not found next to this file")
    base = load_raw(parent_path, _depth + 1)
    base.pop("extends", None)
    merged = deep_merge(base, data, str(path))
    merged["extends"] = parent
    return merged


def _loc(loc: tuple[Any, ...]) -> str:
    # a union's member ("list[str]", "literal['wave1','wave2']") is not a key of the file
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and "[" in p)) or "(top level)"


def _explain(err: dict[str, Any]) -> str:
    typ = err["type"]
    ctx = err.get("ctx", {})
    got = err.get("input")
    if typ == "extra_forbidden":
        return "unknown key"
    if typ == "missing":
        return "is required"
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {
            "greater_than_equal": f"at least {ctx.get('ge')}",
            "less_than_equal": f"at most {ctx.get('le')}",
            "greater_than": f"greater than {ctx.get('gt')}",
            "less_than": f"less than {ctx.get('lt')}",
        }[typ]
        return f"must be {bounds} (got {got!r})"
    if typ == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {got!r})"
    if typ.startswith("date"):
        return f"must be a date YYYY-MM-DD (got {got!r})"
    if typ == "value_error":
        return str(ctx.get("error", err["msg"]))
    if typ in ("float_type", "int_type", "int_from_float", "float_parsing", "int_parsing"):
        want = "an integer" if typ.startswith("int") else "a number"
        return f"must be {want}, written without quotes (got {got!r}; true/false and quoted numbers are not numbers)"
    if typ == "finite_number":
        return f"must be a finite number (got {got!r})"
    if typ in ("list_type", "dict_type", "model_type", "model_attributes_type", "string_type", "bool_type"):
        want = {"list_type": "a list", "dict_type": "a table", "model_type": "a table",
                "model_attributes_type": "a table", "string_type": "a text (quoted)", "bool_type": "true or false"}[typ]
        return f"must be {want} (got {got!r:.60})"
    return f"{err['msg'].lower()} (got {got!r})"


def _unregistered(name: str, ref: Reference) -> str:
    return (f"sectors.{name}: no producer module is registered under '{name}': give the sector a model "
            f"(model = one of {', '.join(ref.producers)}) or register a module (docs/extending.md)")


def _with_operator_shares(sectors: dict[str, Any], country: Any, path: Path) -> dict[str, Any]:
    """Sector blocks whose MSSanté operator shares default to the country's (a sector without
    either is an error: nothing falls back silently)."""
    if not isinstance(country, str):
        return sectors  # the schema reports the bad value
    shares = load_country(country).mssante.operators
    out = {}
    for name, block in sectors.items():
        mss = block.get("mssante") if isinstance(block, dict) else None
        if isinstance(mss, dict) and not mss.get("operators"):
            if name not in shares:
                raise ScenarioError(
                    f"{path}: sectors.{name}.mssante.operators: no MSSanté operator shares for this sector; give them "
                    f"in its block (e.g. operators = {{ mailiz = 0.6, vendor = 0.4 }}) or in scenarios/data/{country}.toml")
            block = {**block, "mssante": {**mss, "operators": dict(shares[name])}}
        out[name] = block
    return out


def validate(data: dict[str, Any], path: Path, ref: Reference) -> Scenario:
    """Validate merged scenario data; any error becomes one ScenarioError line."""
    sectors = data.get("sectors")
    if isinstance(sectors, dict):
        for name, block in sectors.items():
            if name not in ref.producers and not (isinstance(block, dict) and "model" in block):
                raise ScenarioError(f"{path}: {_unregistered(name, ref)}")
        data = {**data, "sectors": _with_operator_shares(sectors, data.get("country", "france"), path)}
    try:
        scenario = Scenario.model_validate(data, context={"rules": ref.rules})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        where = _loc(loc) if loc else "run.scale"  # the only whole-scenario check: what the scale asks
        msg = _explain(err)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_for(loc)
            if allowed:
                msg += f"; allowed keys here: {', '.join(allowed)}"
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ScenarioError(f"{path}: {where}: {msg}{tail}") from None
    _check_semantics(scenario, path, ref)
    return scenario


def _allowed_for(loc: tuple[Any, ...]) -> list[str]:
    """The keys of the schema's table at ``loc``'s parent (the table of an unknown key), found
    by walking the schema: a table's field, a key of a dict of tables, an index of a list."""
    if not loc:
        return []
    model: Any = schema.Scenario
    skip = 0  # loc parts naming a dict's key or a list's index
    for part in loc[:-1]:
        if skip:
            skip -= 1
            continue
        field = model.model_fields.get(str(part)) if model is not None else None
        if field is None:
            return []
        model, skip = _table_of(field.annotation)
    return sorted(model.model_fields) if model is not None and not skip else []


def _table_of(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The table (schema model) a field holds, and how many loc parts lead into it: 0 for a
    table, 1 for a dict or list of tables; (None, 0) for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (dict, list) and args:
        model, skip = _table_of(args[-1])
        return (model, skip + 1) if model is not None else (None, 0)
    for arg in args:  # an optional table, a union
        model, skip = _table_of(arg)
        if model is not None:
            return model, skip
    return None, 0


def _in_run(d: dt.date, sc: Scenario) -> bool:
    return sc.run.start <= d <= sc.run.end


def _check_semantics(sc: Scenario, path: Path, ref: Reference) -> None:
    """What the schema cannot check alone: names against the registries (the catalogues of the
    ``Reference``, the scenario's own sectors, targets and vendors), one check per part."""
    for check in _SEMANTIC_CHECKS:
        check(sc, path, ref)


def _check_departements(sc: Scenario, path: Path, ref: Reference) -> None:
    if not sc.run.departements:
        return
    for code in sc.run.departements:
        if code not in ref.departements:
            raise ScenarioError(f"{path}: run.departements: '{code}' is not a département INSEE code "
                                f"(see scenarios/data/departements.csv, e.g. 35, 2A, 971)")
    if len(set(sc.run.departements)) != len(sc.run.departements):
        raise ScenarioError(f"{path}: run.departements: a département is listed twice")


def _check_sectors(sc: Scenario, path: Path, ref: Reference) -> None:
    for name, sector in sc.sectors.items():
        model = sector.model or name
        if model not in ref.producers:
            raise ScenarioError(f"{path}: sectors.{name}.model: '{model}' is not a registered producer module; "
                                f"allowed: {', '.join(ref.producers)}")
        _check_sector_documents(name, sector, path, ref.document_types)
        _check_sector_defects(name, sector, path, ref.defects)


def _check_sector_documents(name: str, sector: Any, path: Path, known_types: frozenset[str]) -> None:
    """Its document types (own, of its flows) are catalogued; its ceilings are its own types."""
    catalogued = "not a catalogued document type (see scenarios/data/document_types.csv)"
    for code in sector.documents:
        if code not in known_types:
            raise ScenarioError(f"{path}: sectors.{name}.documents.{code}: {catalogued}")
    for flow_name, flow in sector.flows.items():
        for code in flow.documents:
            if code not in known_types:
                raise ScenarioError(f"{path}: sectors.{name}.flows.{flow_name}.documents.{code}: {catalogued}")
    for code in sector.learning.ceilings if sector.learning else ():
        if code not in sector.documents:
            raise ScenarioError(f"{path}: sectors.{name}.learning.ceilings.{code}: not a document type of the sector; "
                                f"allowed: {', '.join(sector.documents)}")


def _check_sector_defects(name: str, sector: Any, path: Path, defects: tuple[str, ...]) -> None:
    """Defects name a vendor of the sector (or '*'), a registered defect, rates up to 1."""
    for vendor, kinds in sector.defects.items():
        if vendor != "*" and vendor not in sector.vendors:
            raise ScenarioError(f"{path}: sectors.{name}.defects.{vendor}: unknown vendor; allowed: "
                                f"'*', {', '.join(sector.vendors)}")
        for kind in kinds:
            if kind not in defects:
                raise ScenarioError(f"{path}: sectors.{name}.defects.{vendor}.{kind}: unknown defect; "
                                    f"allowed: {', '.join(defects)}")
        # a named vendor's documents carry its own defects and those of '*' (all vendors)
        shared = sum(sector.defects.get("*", {}).values()) if vendor != "*" else 0.0
        if sum(kinds.values()) + shared > 1:
            also = " with those of '*'" if shared else ""
            raise ScenarioError(f"{path}: sectors.{name}.defects.{vendor}: rates add up to more than 1{also}")


def _check_targets(sc: Scenario, path: Path, ref: Reference) -> None:
    for key, target in sc.targets.items():
        for code in target.doc_types:
            if code not in ref.document_types:
                raise ScenarioError(f"{path}: targets.{key}.doc_types: '{code}' is not a catalogued document type "
                                    f"(LOINC codes in scenarios/data/document_types.csv, column code)")
        if target.start is not None and not _in_run(target.start, sc):
            raise ScenarioError(f"{path}: targets.{key}.start: {target.start} is outside the run ({sc.run.start} to {sc.run.end})")
        for s in target.sectors:
            if s not in ref.producers and s not in sc.sectors:
                raise ScenarioError(
                    f"{path}: targets.{key}.sectors: unknown sector '{s}'; allowed: "
                    f"{', '.join(dict.fromkeys([*sc.sectors, *ref.producers]))}"
                )


def _check_recipients(sc: Scenario, path: Path, ref: Reference) -> None:
    rec = sc.mssante.patient_recipients
    if set(rec) - set(sc.sectors) or sum(rec.values()) > 1.0 + 1e-6:
        raise ScenarioError(f"{path}: mssante.patient_recipients: shares adding up to at most 1, keyed by sectors "
                            f"of this scenario ({', '.join(sc.sectors)}) (got {rec})")


def _check_interventions(sc: Scenario, path: Path, ref: Reference) -> None:
    """Each intervention is dated inside the run and names what its kind acts on."""
    for i, iv in enumerate(sc.interventions):
        where = f"{path}: interventions[{i}]"
        if not _in_run(iv.date, sc):
            raise ScenarioError(f"{where}.date: {iv.date} is outside the run ({sc.run.start} to {sc.run.end})")
        check = _INTERVENTION_CHECKS.get(iv.kind)
        if check is not None:
            check(sc, iv, where, ref)


def _sector_of_scenario(sc: Scenario, iv: Any, where: str) -> None:
    if iv.sector not in sc.sectors:
        raise ScenarioError(f"{where}.sector: '{iv.sector}' is not a sector of this scenario; "
                            f"allowed: {', '.join(sc.sectors)}")


def _check_equipment_lever(sc: Scenario, iv: Any, where: str, ref: Reference) -> None:
    problem = equipment_lever_problem(sc, iv, ref.departements)
    if problem:
        raise ScenarioError(f"{where}.{problem}")


def _check_launch(sc: Scenario, iv: Any, where: str, ref: Reference) -> None:
    _sector_of_scenario(sc, iv, where)


def _check_obligation(sc: Scenario, iv: Any, where: str, ref: Reference) -> None:
    _sector_of_scenario(sc, iv, where)
    if iv.doc_type != "*" and iv.doc_type not in sc.sectors[iv.sector].documents:
        raise ScenarioError(f"{where}.doc_type: '{iv.doc_type}' is not a document type of sector "
                            f"{iv.sector}; allowed: *, {', '.join(sc.sectors[iv.sector].documents)}")


def _check_parameter_path(sc: Scenario, iv: Any, where: str, ref: Reference) -> None:
    problem = check_parameter_path(sc, iv.path or "", iv.value if iv.kind == "parameter" else None)
    if problem:
        raise ScenarioError(f"{where}.path: {problem}")


def _check_named_lever(sc: Scenario, iv: Any, where: str, ref: Reference) -> None:
    _check_lever(sc, iv, where, ref.document_types)


#: what each kind of intervention is checked against (kinds absent here: the schema's checks suffice)
_INTERVENTION_CHECKS: dict[str, Callable[[Scenario, Any, str, Reference], None]] = {
    "funding": _check_equipment_lever, "deadline": _check_equipment_lever, "rollout": _check_equipment_lever,
    "launch": _check_launch, "obligation": _check_obligation,
    "vendor_failure": _check_named_lever, "new_document_type": _check_named_lever, "target": _check_named_lever,
    "parameter": _check_parameter_path, "campaign": _check_parameter_path,
}


def equipment_lever_problem(sc: Scenario, iv: Any, departements: frozenset[str]) -> str | None:
    """What is wrong with a funding, deadline or roll-out intervention ("field: why"), or None."""
    if iv.sector not in sc.sectors:
        return f"sector: '{iv.sector}' is not a sector of this scenario; allowed: {', '.join(sc.sectors)}"
    ins = sc.sectors[iv.sector].install
    if iv.kind == "rollout":
        for code in iv.departements:
            if code not in departements:
                return (f"departements: '{code}' is not a département INSEE code "
                        f"(see scenarios/data/departements.csv, e.g. 35, 2A, 971)")
        if len(set(iv.departements)) != len(iv.departements):
            return "departements: a département is listed twice"
        return None
    if not ins.orders:
        return (f"kind: '{iv.kind}' moves orders and installs, but sectors.{iv.sector}.install is a direct curve; "
                f"give it order_share and the other order fields")
    if iv.kind == "deadline" and ins.deadline is None:
        return f"kind: sectors.{iv.sector}.install has no deadline to extend"
    if iv.kind == "funding" and ins.order_per_keuro == 0:
        return f"kind: sectors.{iv.sector}.install.order_per_keuro is 0, so funding would change nothing; give the response"
    if sc.sectors[iv.sector].wave == 2:
        launches = [i.date for i in sc.interventions if i.kind == "launch" and i.sector == iv.sector]
        if not launches or min(launches) > iv.date:
            return (f"date: the wave 2 sector '{iv.sector}' is not launched by {iv.date}; date a '{iv.kind}' "
                    f"on or after its launch intervention")
    return None
def _check_lever(sc: Scenario, iv: Any, where: str, known_types: frozenset[str]) -> None:
    """A vendor failure names a sector and one of its vendors; a new document type a sector and a
    catalogued code; a target change a target of the scenario."""
    if iv.kind == "target":
        if iv.target not in sc.targets:
            raise ScenarioError(f"{where}.target: '{iv.target}' is not a target of this scenario; "
                                f"allowed: {', '.join(sc.targets) or '(none)'}")
        return
    if iv.sector not in sc.sectors:
        raise ScenarioError(f"{where}.sector: '{iv.sector}' is not a sector of this scenario; allowed: {', '.join(sc.sectors)}")
    if iv.kind == "vendor_failure":
        vendors = list(sc.sectors[iv.sector].vendors) or ["(unknown)"]
        if iv.vendor not in vendors:
            raise ScenarioError(f"{where}.vendor: '{iv.vendor}' is not a vendor of sectors.{iv.sector}.vendors; "
                                f"allowed: {', '.join(vendors)}")
    elif iv.doc_type not in known_types:
        raise ScenarioError(f"{where}.doc_type: '{iv.doc_type}' is not a catalogued document type "
                            f"(LOINC codes in scenarios/data/document_types.csv, column code)")


def _check_wave2_sections(sc: Scenario, path: Path, ref: Reference | None = None) -> None:
    """The optional e-prescription and wave 2 flow sections name sectors of this scenario."""
    if sc.eprescription is not None:
        for needed in ("gp", "pharmacy"):
            if needed not in sc.sectors:
                raise ScenarioError(f"{path}: eprescription: needs the sector '{needed}' (prescriptions come from GPs, "
                                    f"dispensations from pharmacies); sectors here: {', '.join(sc.sectors)}")
    if sc.wave2_flows is not None:
        for table in ("software", "consultation", "drimbox", "integration"):
            for name in getattr(sc.wave2_flows, table):
                if name not in sc.sectors:
                    raise ScenarioError(f"{path}: wave2_flows.{table}.{name}: not a sector of this scenario; "
                                        f"allowed: {', '.join(sc.sectors)}")
                if table != "software" and sc.sectors[name].wave == 1 and name not in sc.wave2_flows.software:
                    raise ScenarioError(f"{path}: wave2_flows.{table}.{name}: a wave 1 sector takes part once its wave 2 "
                                        f"update is installed: add its campaign [wave2_flows.software.{name}]")


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None, *, reference: Reference) -> Scenario:
    """Read, merge and validate a scenario file against ``reference`` (the agents' catalogues:
    ``simulator.engine.scenario.load_scenario`` gives it); ``overrides`` are dotted keys set after merging."""
    path = resolve_path(path)
    data = load_raw(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    if overrides and any(k in ("run.start", "run.end") for k in overrides):
        _keep_interventions_inside_run(data)
    return validate(data, path, reference)


def _keep_interventions_inside_run(data: dict[str, Any]) -> None:
    """A run shortened by an override keeps only the interventions inside its new dates
    (the scenario file itself must still have every intervention inside its run)."""
    run = data.get("run", {})
    try:
        start = _as_date(run["start"])
        end = _as_date(run["end"])
    except (KeyError, ValueError, TypeError):
        return  # validation will report the bad dates
    kept = []
    for iv in data.get("interventions", []):
        try:
            d = _as_date(iv["date"])
        except (KeyError, ValueError, TypeError):
            kept.append(iv)
            continue
        if start <= d <= end:
            kept.append(iv)
    data["interventions"] = kept


def _as_date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating tables as needed (a NumPy scalar as its Python
    number: the schema's numbers are strict)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    parts = dotted.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


#: the scenario's parts checked against the registries, in the order their errors are reported
_SEMANTIC_CHECKS: tuple[Callable[[Scenario, Path, Reference], None], ...] = (
    _check_departements, _check_sectors, _check_targets,
    _check_wave2_sections, _check_recipients, _check_interventions,
)
