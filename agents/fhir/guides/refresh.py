"""Refresh the vendored national-guide artefacts from local clones or mirrors of the guides.

    python -m agents.fhir.guides.refresh --source pdsm4dmp=/path/to/IG-FHIR-PDSM4DMP-EEDS \\
        --source pdsm=/path/to/IG-fhir-partage-de-documents-de-sante \\
        --source cdl=/path/to/IG-fhir-cahier-de-liaison \\
        --source terminology=/path/to/IG-terminologie-de-sante \\
        --source annuaire=/path/to/IG-fhir-annuaire --source cds=… --source tlsv=… --source eds=… --source gap=… --source sas=…

Each PATH is a git work tree or a bare git directory; files are read at its HEAD commit
(``git show HEAD:path``), or for a guide's built website at its ``gh-pages`` branch, so nothing
outside the listed files is copied. Source examples are copied unchanged; built examples and
value sets lose only their generated ``text`` narratives; FHIR Shorthand profiles
are reduced to their cardinalities and fixed values (``profiles/<guide>.json``). The manifest
records, for every file, the repository, path and commit it came from. Sources not given keep
their current files and manifest rows.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agents.fhir.guides import GUIDES_DIR, MANIFEST_PATH


@dataclass(frozen=True)
class Source:
    """One guide repository and what is taken from it."""

    name: str
    repository: str
    kind: str  # examples | published-examples | valuesets | fsh-profiles
    patterns: tuple[str, ...]
    target: str  # folder (examples, valuesets) or file (profiles) under agents/fhir/guides
    ref: str = "HEAD"  # the commit-ish read (``gh-pages`` for a guide's built website)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "pdsm4dmp", "ansforge/IG-FHIR-PDSM4DMP-EEDS", "examples",
            ("input/examples/*.json",), "pdsm4dmp/examples",
        ),
        Source(
            "pdsm", "ansforge/IG-fhir-partage-de-documents-de-sante", "fsh-profiles",
            ("input/fsh/profiles/*.fsh",), "profiles/pdsm.json",
        ),
        Source(
            "cdl", "ansforge/IG-fhir-cahier-de-liaison", "fsh-profiles",
            ("input/fsh/profiles/*.fsh",), "profiles/cdl.json",
        ),
        # Built guides: their websites (``gh-pages``, folder ``main/ig``) carry the JSON of
        # examples the source repositories hold only as FHIR Shorthand.
        Source(
            "annuaire", "ansforge/IG-fhir-annuaire", "published-examples",
            tuple(f"main/ig/{t}-*.json" for t in ("Practitioner", "PractitionerRole", "Organization", "Person")),
            "annuaire/examples", "gh-pages",
        ),
        Source(
            "cds", "ansforge/IG-fhir-cercle-de-soins", "published-examples",
            tuple(f"main/ig/{t}-*.json" for t in ("Bundle", "CareTeam", "Organization", "Patient", "RelatedPerson")),
            "cds/examples", "gh-pages",
        ),
        Source(
            "tlsv", "ansforge/IG-fhir-telesurveillance", "published-examples",
            tuple(f"main/ig/{t}-*.json" for t in ("Device", "Observation", "Patient")),
            "tlsv/examples", "gh-pages",
        ),
        Source(
            "eds", "ansforge/IG-FHIR-EDS-SOCLE-COMMUN", "published-examples",
            ("main/ig/Patient-*.json",), "eds/examples", "gh-pages",
        ),
        Source(
            "gap", "ansforge/IG-fhir-gestion-agendas-partages", "published-examples",
            tuple(f"main/ig/{t}-*.json" for t in ("Appointment", "Schedule", "Slot")),
            "gap/examples", "gh-pages",
        ),
        Source(
            "sas", "ansforge/IG-fhir-service-acces-aux-soins", "published-examples",
            tuple(f"main/ig/{t}-*.json" for t in ("Bundle", "Practitioner", "PractitionerRole", "Organization")),
            "sas/examples", "gh-pages",
        ),
        Source(
            "cdl-published", "ansforge/IG-website-release", "published-examples",
            (
                "www/ig/fhir/cdl/3.0.0-ballot/Bundle-cdl-bundle-creation-note.json",
                "www/ig/fhir/cdl/3.0.1/fr/Patient-0d920958-b596-4b91-af67-9bafc707820b.json",
            ),
            "cdl/examples",
        ),
        Source(
            "terminology", "ansforge/IG-terminologie-de-sante", "valuesets",
            (
                "ig/*/ValueSet-JDV-J57-ClassCode-DMP.json",
                "ig/*/ValueSet-JDV-J02-XdsHealthcareFacilityTypeCode-CISIS.json",
                "ig/*/ValueSet-JDV-J04-XdsPracticeSettingCode-CISIS.json",
                "ig/*/ValueSet-JDV-J66-TypeCode-DMP.json",
            ),
            "terminology",
        ),
    )
}


def _git(repo: Path, *args: str) -> str:
    bare = (repo / "HEAD").is_file() and (repo / "objects").is_dir()
    prefix = ["git", f"--git-dir={repo}"] if bare else ["git", "-C", str(repo)]
    done = subprocess.run([*prefix, *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{repo}: git {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8")


def _matching(repo: Path, patterns: tuple[str, ...], *, one_each: bool, ref: str = "HEAD") -> list[str]:
    """Files at ``ref`` matching each pattern (the last in name order when ``one_each``)."""
    files = _git(repo, "ls-tree", "-r", "--name-only", ref).splitlines()
    found: list[str] = []
    for pattern in patterns:
        hits = sorted(f for f in files if fnmatch.fnmatch(f, pattern))
        if not hits:
            raise SystemExit(f"{repo}: no file matches {pattern}")
        found.extend(hits[-1:] if one_each else hits)
    return found


_RULE = re.compile(r"^\*\s+(?P<path>[A-Za-z][\w.\[\]\-:]*)\s+(?P<rest>.*)$")
_CARD = re.compile(r"^(?P<min>\d+)?\.\.(?P<max>\d+|\*)?(?:\s|$)")


def parse_fsh_profiles(text: str, canonical: str) -> dict[str, dict]:
    """Cardinalities (``* path min..max``) and fixed values (``* path = value``) per profile."""
    profiles: dict[str, dict] = {}
    current: dict | None = None
    for raw in text.splitlines():
        line = raw.split(" //")[0].rstrip()
        if line.startswith("Profile:"):
            current = {"name": line.split(":", 1)[1].strip(), "cardinality": [], "fixed": []}
            continue
        if current is None:
            continue
        if line.startswith("Id:"):
            pid = line.split(":", 1)[1].strip()
            current["canonical"] = f"{canonical}/StructureDefinition/{pid}"
            profiles[pid] = current
        elif line.startswith("Parent:"):
            current["parent"] = line.split(":", 1)[1].strip()
        elif line.startswith(("Invariant:", "Mapping:", "Extension:", "Instance:", "ValueSet:")):
            current = None
            continue
        match = _RULE.match(line)
        if not match:
            continue
        path, rest = match["path"], match["rest"].strip()
        card = _CARD.match(rest)
        if card and (card["min"] is not None or card["max"] is not None):
            current["cardinality"].append(
                {"path": path, "min": int(card["min"] or 0), "max": card["max"] or "*"}
            )
        elif rest.startswith("= "):
            value = rest[2:].strip()
            current["fixed"].append({"path": path, "value": value.split("#")[-1].strip('"')})
    return profiles


TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def _empty_translation(ext: object) -> bool:
    """A translation extension the publisher generated with no translated content."""
    if not isinstance(ext, dict) or ext.get("url") != TRANSLATION:
        return False
    parts = {e.get("url"): e for e in ext.get("extension", []) if isinstance(e, dict)}
    return not (parts.get("content") or {}).get("valueString")


def strip_narrative(resource: object) -> object:
    """``resource`` without what the IG publisher generates: ``text`` narratives (its own,
    contained, entries') and translation extensions left empty (``"valueString": ""``, which
    FHIR forbids) on the ``_element`` of a primitive; an ``_element`` left empty goes too."""
    if isinstance(resource, dict):
        out = {}
        for key, value in resource.items():
            if key == "text" and isinstance(value, dict):
                continue
            if key.startswith("_"):
                value = _strip_primitive_extension(value)
                if value in ({}, [], None):
                    continue
            out[key] = strip_narrative(value)
        return out
    if isinstance(resource, list):
        return [strip_narrative(v) for v in resource]
    return resource


def _strip_primitive_extension(value: object) -> object:
    if isinstance(value, list):
        kept = [_strip_primitive_extension(v) for v in value]
        return [] if all(v in ({}, None) for v in kept) else kept
    if isinstance(value, dict):
        exts = [e for e in value.get("extension", []) if not _empty_translation(e)]
        out = {k: v for k, v in value.items() if k != "extension"}
        if exts:
            out["extension"] = exts
        return out
    return value


def _canonical(repo: Path) -> str:
    config = _git(repo, "show", "HEAD:sushi-config.yaml")
    for line in config.splitlines():
        if line.startswith("canonical:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    raise SystemExit(f"{repo}: sushi-config.yaml has no canonical")


def refresh(source: Source, repo: Path, out_dir: Path | None = None) -> list[dict]:
    """Copy or extract one source's files; return their manifest rows."""
    out_dir = GUIDES_DIR if out_dir is None else out_dir
    commit = _git(repo, "rev-parse", source.ref).strip()
    rows = []
    paths = _matching(repo, source.patterns, one_each=source.kind == "valuesets", ref=source.ref)
    if source.kind == "fsh-profiles":
        canonical = _canonical(repo)
        profiles: dict[str, dict] = {}
        for path in paths:
            for pid, prof in parse_fsh_profiles(_git(repo, "show", f"HEAD:{path}"), canonical).items():
                prof["source_path"] = path
                profiles[pid] = prof
        target = out_dir / source.target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(profiles, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for path in paths:
            rows.append(_row(source, path, commit, source.target, "cardinalities and fixed values extracted"))
        return rows
    folder = out_dir / source.target
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        text = _git(repo, "show", f"{commit}:{path}")
        name = path.rsplit("/", 1)[-1]
        if source.kind == "published-examples":
            text = json.dumps(strip_narrative(json.loads(text)), ensure_ascii=False, indent=1) + "\n"
            how = (
                f"generated text narratives and empty translation extensions removed "
                f"(the guide's built example, {source.ref})"
            )
        elif source.kind == "valuesets":
            data = json.loads(text)
            data.pop("text", None)
            text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            how = "generated text narrative removed"
        else:
            how = "unchanged copy"
        (folder / name).write_text(text, encoding="utf-8")
        rows.append(_row(source, path, commit, f"{source.target}/{name}", how))
    return rows


def _row(source: Source, path: str, commit: str, vendored: str, how: str) -> dict:
    return {
        "file": vendored,
        "guide": source.name,
        "repository": f"https://github.com/{source.repository}",
        "path": path,
        "commit": commit,
        "transform": how,
    }


def main(argv: list[str] | None = None) -> int:
    """Refresh the sources given as NAME=PATH and rewrite the manifest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", action="append", default=[], metavar="NAME=PATH",
        help=f"a local clone or mirror of a guide; NAME is one of {', '.join(SOURCES)}",
    )
    args = parser.parse_args(argv)
    if not args.source:
        parser.error("give at least one --source NAME=PATH")
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8")) if MANIFEST_PATH.exists() else {"files": []}
    for item in args.source:
        name, sep, path = item.partition("=")
        if not sep or name not in SOURCES:
            parser.error(f"--source {item!r}: expected NAME=PATH with NAME in {', '.join(SOURCES)}")
        repo = Path(path)
        if not repo.is_dir():
            parser.error(f"--source {item!r}: {path} is not a folder")
        rows = refresh(SOURCES[name], repo)
        manifest["files"] = [r for r in manifest["files"] if r["guide"] != name] + rows
        print(f"{name}: {len(rows)} file(s) from {SOURCES[name].repository} at {rows[0]['commit'][:12]}")
    manifest["files"].sort(key=lambda r: (r["guide"], r["file"], r["path"]))
    MANIFEST_PATH.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
