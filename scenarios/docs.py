"""Generate docs/parameters.md: every scenario parameter with its unit and meaning, from the schema,
and the source of each value the shipped scenarios set, from their comments ("[V] …" checked in
a source, "[I]" assumption): the comment after the value, else its table's header comment.

    python -m scenarios.docs            # rewrite docs/parameters.md
    python -m scenarios.docs --check    # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from pydantic import BaseModel

from scenarios import schema as s

DOC = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"
SCENARIO_DIR = Path(__file__).resolve().parent
#: the scenarios whose values are the reference ones (the others overlay them with what-ifs)
SHIPPED = ("baseline.toml", "wave2_base.toml")
MARK = re.compile(r"\[(V|I)\]")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_VALUE = re.compile(r"^\s*(\"[^\"]+\"|[A-Za-z0-9_.-]+)\s*=\s*(.*)$")
#: keys that are not parameters (names, labels) or carry their source in a field of their own
NOT_PARAMETERS = ("name", "description", "extends", "label", "key_document", "source", "assumption")
#: settings, not parameters of the model: the run's window, scale and seed, a sector's wave and usual recipient
SETTINGS = re.compile(r"^run\.|\.wave$|\.recipient$|\.model$|^country$|^payload_sample$")

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("run", s.RunConfig),
    ("population", s.PopulationConfig),
    ("profiles", s.ProfilesConfig),
    ("[[profiles.campaigns]]", s.ActivationCampaign),
    ("dmp", s.DmpConfig),
    ("mssante", s.MssanteConfig),
    ("sectors.<name>", s.SectorConfig),
    ("sectors.<name>.install", s.InstallConfig),
    ("sectors.<name>.qualification", s.QualificationConfig),
    ("sectors.<name>.learning", s.LearningConfig),
    ("sectors.<name>.mssante", s.MssanteUse),
    ("identity", s.IdentityConfig),
    ("targets.<name>", s.TargetConfig),
    ("[[interventions]]", s.Intervention),
    ("eprescription", s.EprescriptionConfig),
    ("eprescription.software, eprescription.prescribers, eprescription.pharmacies", s.InstallConfig),
    ("wave2_flows", s.Wave2FlowsConfig),
    ("wave2_flows.software.<sector>", s.InstallConfig),
]


def _rows(model: type[BaseModel]) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        unit = extra.get("unit", "")
        if unit == "" and isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            unit = "table"
        desc = (field.description or "").replace("|", "\\|")
        out.append(f"| `{name}` | {unit} | {desc} |")
    return out


def _split_comment(value_text: str) -> tuple[str, str]:
    """A TOML value as written and the comment after it on its line ('' if none; '#' inside a
    string is not one)."""
    in_str = False
    for i, ch in enumerate(value_text):
        if ch == '"':
            in_str = not in_str
        elif ch == "#" and not in_str:
            return value_text[:i].strip(), value_text[i + 1:].strip()
    return value_text.strip(), ""


def value_sources(path: Path) -> list[tuple[str, str, str]]:
    """(dotted key, value as written, source comment) of each value a scenario file sets: the
    comment after the value if it has a mark [V] / [I], else its table's header comment if that
    has one, else the comment after the value ('' if none). Intervention and target tables count
    their label / source / assumption fields as the source of their values."""
    out: list[tuple[str, str, str]] = []
    table, header, counts = "", "", {}
    block: list[tuple[str, str, str]] = []
    block_note = ""

    def close() -> None:
        for key, value, note in block:
            out.append((key, value, note if MARK.search(note) else (block_note or note)))

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head = _HEADER.match(line)
        if head and not _VALUE.match(line):
            close()
            block, block_note = [], ""
            name = head.group(1)
            if line.lstrip().startswith("[["):
                counts[name] = counts.get(name, -1) + 1
                name = f"{name}[{counts[name]}]"
            table, header = name, (head.group(2) or "").lstrip("#").strip()
            block_note = header if MARK.search(header) else ""
            continue
        m = _VALUE.match(line)
        if not m:
            continue  # the rest of a value written on several lines
        key, rest = m.group(1).strip('"'), m.group(2)
        value, note = _split_comment(rest)
        if key in ("label", "source") or (key == "assumption" and value == "true"):
            # an intervention's label, a target's source: the source of the table's values
            text = value.strip('"') if key != "assumption" else "[I] assumption"
            if key == "source":  # a target's own source field names where its figure comes from
                text = f"source: {text}"
            block_note = block_note or (text if MARK.search(text) or key != "label" else block_note)
            if key == "label" and MARK.search(text):
                block_note = text
        if key in NOT_PARAMETERS:
            continue
        block.append((f"{table}.{key}" if table else key, value, note))
    close()
    return out


def missing_sources(paths: list[Path] | None = None) -> list[str]:
    """'file: key' of each value of the shipped scenarios without a source mark ([V] / [I])."""
    out = []
    for path in paths or [SCENARIO_DIR / n for n in SHIPPED]:
        for key, _value, note in value_sources(path):
            if SETTINGS.search(key):
                continue
            if not MARK.search(note) and "source" not in note.lower() and "assumption" not in note.lower():
                out.append(f"{path.name}: {key}")
    return out


def _shipped_keys() -> set[str]:
    """Every dotted key the shipped scenarios set (to mark schema fields that have values)."""
    keys: set[str] = set()

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                keys.add(f"{prefix}{k}")
    for n in SHIPPED:
        walk(tomllib.loads((SCENARIO_DIR / n).read_text(encoding="utf-8")), "")
    return keys


def _source_rows() -> list[str]:
    lines = []
    for n in SHIPPED:
        lines += [f"### `scenarios/{n}`", "", "| key | value | source |", "|---|---|---|"]
        for key, value, note in value_sources(SCENARIO_DIR / n):
            v = value if len(value) <= 40 else value[:37] + "…"
            lines.append(f"| `{key}` | `{v}` | {note.replace('|', chr(92) + '|') or '—'} |")
        lines.append("")
    return lines


def render() -> str:
    """The Markdown text of docs/parameters.md."""
    lines = [
        "# Scenario parameters",
        "",
        "Generated from `scenarios/schema.py` by `python -m scenarios.docs`; do not edit by hand.",
        "Values and their sources are in the shipped scenario files (`scenarios/*.toml`).",
        "Parameters that interventions may change during a run are listed in",
        "`simulator/engine/interventions.py` (`DYNAMIC_SECTOR_PARAMS`, `DYNAMIC_GLOBAL_PARAMS`).",
        "",
    ]
    for title, model in SECTIONS:
        lines += [f"## `{title}`", "", "| key | unit | meaning |", "|---|---|---|", *_rows(model), ""]
    lines += [
        "## Sources of the shipped values",
        "",
        "Each value the reference scenarios set, with its source as written beside it: `[V]` checked in",
        "the cited source, `[I]` a modelling assumption (../shared/domain.md). A value without a mark of",
        "its own takes its table's (the comment after the table's header, or an intervention's label).",
        "",
        *_source_rows(),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m scenarios.docs", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
