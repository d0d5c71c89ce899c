"""Generate docs/parameters.md: every scenario parameter with its unit and meaning, from the schema.

    python -m scenarios.docs            # rewrite docs/parameters.md
    python -m scenarios.docs --check    # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from scenarios import schema as s

DOC = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("run", s.RunConfig),
    ("population", s.PopulationConfig),
    ("profiles", s.ProfilesConfig),
    ("dmp", s.DmpConfig),
    ("mssante", s.MssanteConfig),
    ("sectors.<name>", s.SectorConfig),
    ("sectors.<name>.install", s.InstallConfig),
    ("sectors.<name>.qualification", s.QualificationConfig),
    ("sectors.<name>.mssante", s.MssanteUse),
    ("identity", s.IdentityConfig),
    ("targets.<name>", s.TargetConfig),
    ("[[interventions]]", s.Intervention),
    ("eprescription", s.EprescriptionConfig),
    ("eprescription.prescribers, eprescription.pharmacies", s.InstallConfig),
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


def render() -> str:
    """The Markdown text of docs/parameters.md."""
    lines = [
        "# Scenario parameters",
        "",
        "Generated from `scenarios/schema.py` by `python -m scenarios.docs`; do not edit by hand.",
        "Values and their sources are in the shipped scenario files (`scenarios/*.toml`).",
        "Parameters that interventions may change during a run are listed in",
        "`simulator/interventions.py` (`DYNAMIC_SECTOR_PARAMS`, `DYNAMIC_GLOBAL_PARAMS`).",
        "",
    ]
    for title, model in SECTIONS:
        lines += [f"## `{title}`", "", "| key | unit | meaning |", "|---|---|---|", *_rows(model), ""]
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
