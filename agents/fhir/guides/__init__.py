"""Vendored artefacts of the national FHIR guides (ANS ``ansforge/IG-…`` repositories).

What the rules read from the guides themselves rather than from hand-typed lists: value sets
(JDV_J57 class codes, JDV_J66 type codes, JDV_J02 facility types, JDV_J04 practice settings),
profile cardinalities and fixed values (PDSm, Cahier de liaison), and the official example
resources the tests judge (PDSm for the DMP, Cahier de liaison, Cercle de soins,
télésurveillance, Annuaire Santé, Service d'accès aux soins, EDS, agendas partagés).
``manifest.json`` gives each file's repository, path and commit;
``python -m agents.fhir.guides.refresh`` rebuilds them from local clones.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

GUIDES_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = GUIDES_DIR / "manifest.json"
EXAMPLES_DIR = GUIDES_DIR / "pdsm4dmp" / "examples"

#: Value sets the rules use, by short name → vendored file.
VALUE_SETS = {
    "J57": "terminology/ValueSet-JDV-J57-ClassCode-DMP.json",
    "J02": "terminology/ValueSet-JDV-J02-XdsHealthcareFacilityTypeCode-CISIS.json",
    "J04": "terminology/ValueSet-JDV-J04-XdsPracticeSettingCode-CISIS.json",
    "J66": "terminology/ValueSet-JDV-J66-TypeCode-DMP.json",
}


@cache
def manifest() -> dict:
    """The provenance manifest (``{"files": [{file, guide, repository, path, commit, …}]}``)."""
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


@cache
def value_set(name: str) -> dict[str, dict[str, str]]:
    """A vendored value set as ``{system: {code: display}}`` (its ``compose.include`` concepts)."""
    data = json.loads((GUIDES_DIR / VALUE_SETS[name]).read_text(encoding="utf-8"))
    codes: dict[str, dict[str, str]] = {}
    for include in data.get("compose", {}).get("include", []):
        bucket = codes.setdefault(include["system"], {})
        for concept in include.get("concept", []):
            bucket[concept["code"]] = concept.get("display", "")
    return codes


def value_set_url(name: str) -> str:
    """The canonical URL of a vendored value set."""
    data = json.loads((GUIDES_DIR / VALUE_SETS[name]).read_text(encoding="utf-8"))
    return str(data["url"])


@cache
def profiles() -> dict[str, dict]:
    """Every vendored profile by id: canonical, parent, cardinality and fixed rows."""
    found: dict[str, dict] = {}
    for path in sorted((GUIDES_DIR / "profiles").glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def profile(profile_id: str) -> dict:
    """One vendored profile (KeyError naming the known ids otherwise)."""
    try:
        return profiles()[profile_id]
    except KeyError:
        raise KeyError(f"profile {profile_id!r} not vendored; known: {', '.join(sorted(profiles()))}") from None


def required_paths(profile_id: str) -> list[str]:
    """Element paths the profile makes mandatory (min ≥ 1), slices and ``entry[…]`` excluded."""
    return [
        row["path"]
        for row in profile(profile_id)["cardinality"]
        if row["min"] >= 1 and "[" not in row["path"]
    ]


def fixed_value(profile_id: str, path: str) -> str | None:
    """The value a profile fixes for ``path`` (``* path = value``), or None."""
    for row in profile(profile_id)["fixed"]:
        if row["path"] == path:
            return str(row["value"])
    return None


def example_files() -> list[Path]:
    """The official example resources the project ships (every guide's ``examples`` folder)."""
    return sorted(GUIDES_DIR.glob("*/examples/*.json"), key=lambda p: p.name)


def example_path(name: str) -> Path:
    """The shipped official example called ``name`` (FileNotFoundError otherwise)."""
    for path in example_files():
        if path.name == name:
            return path
    raise FileNotFoundError(f"no shipped official example {name!r} under {GUIDES_DIR}")


__all__ = [
    "EXAMPLES_DIR",
    "GUIDES_DIR",
    "MANIFEST_PATH",
    "VALUE_SETS",
    "example_files",
    "example_path",
    "fixed_value",
    "manifest",
    "profile",
    "profiles",
    "required_paths",
    "value_set",
    "value_set_url",
]
