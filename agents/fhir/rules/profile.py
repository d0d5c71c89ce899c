"""Profile rules: say when no national profile was recognised (PRF-001), and check the
cardinalities of the vendored national profiles a resource declares in ``meta.profile`` (PRF-002).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache

from agents.fhir import structure
from agents.fhir.constants import PROFILE_PATIENT_INS, PROFILE_PROVIDE_BUNDLE
from agents.fhir.guides import EXAMPLES_DIR
from agents.fhir.guides import profiles as vendored_profiles
from agents.fhir.rules.base import (
    ERROR,
    INFORMATION,
    WARNING,
    Context,
    as_dict,
    is_folder,
    profiles,
    rule,
)
from agents.fhir.verdict import INVALID_METADATA

#: profiles the rules know by name (agents/fhir/profiles.py), with no vendored StructureDefinition
KNOWN_BY_NAME = frozenset({PROFILE_PATIENT_INS})
#: guides whose profiles the rules know by their canonical base (Annuaire Santé, Cahier de
#: liaison, Cercle de soins: rules of their own in agents/fhir/rules/)
KNOWN_PREFIXES = (
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/",
    "https://interop.esante.gouv.fr/ig/fhir/cdl/",
    "https://interop.esante.gouv.fr/ig/fhir/cds/",
)


@rule("PRF-001", INFORMATION, "profile", "(resource)", issue_code="informational")
def no_national_profile(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """No national profile was recognised (meta.profile, Bundle type, SubmissionSet): only the
    generic FHIR checks and the rules of each resource kind were applied."""
    if ctx.profile is not None and not ctx.profile.national:
        yield "", (
            f"no national profile recognised ({ctx.profile.label}); declare one in meta.profile "
            "(e.g. PDSm, FR Core, Annuaire Santé) to get its rules"
        )


def _values(node: object, segments: list[str], path: str) -> list[tuple[str, object]]:
    """(indexed path, value) of every element at ``segments`` under ``node``."""
    found: list[tuple[str, object]] = [(path, node)]
    for seg in segments:
        nxt: list[tuple[str, object]] = []
        for p, n in found:
            value = as_dict(n).get(seg)
            if isinstance(value, list):
                nxt.extend((f"{p}.{seg}[{k}]", v) for k, v in enumerate(value))
            elif value is not None:
                nxt.append((f"{p}.{seg}", value))
        found = nxt
    return found


def _declared_failures(res: dict) -> list[tuple[str, str, str, str]]:
    """(profile url, row path, element path, message) of the vendored FSH cardinalities
    (PDSm, Cahier de liaison) a resource's declared profiles do not meet."""
    out = []
    for url in profiles(res):
        checks = _checks(url)
        if not checks:
            continue
        name = url.rsplit("/", 1)[-1]
        for path, parents, last, low, high in checks:
            for where, parent in _values(res, parents, ""):
                value = as_dict(parent).get(last)
                count = len(value) if isinstance(value, list) else (0 if value is None else 1)
                if count < low:
                    out.append((url, path, f"{where}.{last}", f"{name} requires {path} ({low}..{high})"))
                elif high == "0" and count:
                    out.append((url, path, f"{where}.{last}", f"{name} forbids {path} (0..0)"))
    return out


@cache
def relaxed_rows() -> frozenset[tuple[str, str]]:
    """(profile, element) rows the DMP's own guide (PDSM4DMP) does not meet in its official
    examples: the DMP does not enforce them (PDSm's `custodian`), so they stay warnings."""
    found = set()
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        resources = [data, *(as_dict(e).get("resource") for e in data.get("entry", []))]
        for res in resources:
            if isinstance(res, dict):
                found.update((url, row) for url, row, _, _ in _declared_failures(res))
    return frozenset(found)


@rule("PRF-002", WARNING, "top", "(elements of a declared national profile)")
def declared_cardinalities(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An element a declared PDSm profile requires (min ≥ 1) but that the DMP's own guide (PDSM4DMP)
    omits in its official examples (PDSm's `custodian`) is reported, not refused: the DMP does
    not enforce it (PRF-008 refuses the others)."""
    for url, row, where, message in ctx.memo(_declared_failures, res):
        if (url, row) in relaxed_rows():
            yield where, message


@rule("PRF-008", ERROR, "top", "(elements of a declared national profile)",
      reason=INVALID_METADATA, issue_code="structure")
def declared_cardinalities_enforced(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The elements a declared national profile whose StructureDefinition is vendored as FHIR
    Shorthand (PDSm, Cahier de liaison) requires (min ≥ 1) are present and those it forbids (max
    0) absent, as read from its vendored cardinalities."""
    for url, row, where, message in ctx.memo(_declared_failures, res):
        if (url, row) not in relaxed_rows():
            yield where, message


_CHECKS: dict[str, tuple[tuple[str, list[str], str, int, str], ...]] = {}


def _checks(url: str) -> tuple[tuple[str, list[str], str, int, str], ...]:
    """(path, parent segments, last segment, min, max) to check for a declared profile URL."""
    found = _CHECKS.get(url)
    if found is None:
        prof = vendored_profiles().get(url.rsplit("/", 1)[-1])
        rows = []
        if prof is not None and prof.get("canonical") == url:
            for row in prof["cardinality"]:
                path = row["path"]
                if "[" in path or (row["min"] < 1 and row["max"] != "0"):
                    continue
                *parents, last = path.split(".")
                rows.append((path, parents, last, row["min"], row["max"]))
        found = _CHECKS[url] = tuple(rows)
    return found


# --- checks compiled from the StructureDefinitions (agents/fhir/structure.py) ------------------


def _once(res: dict, ctx: Context, rule_id: str) -> bool:
    """True the first time a rule meets ``res`` in one validation: a root resource that is not a
    Bundle is visited by both the ``profile`` and the ``top`` scope."""
    key = (rule_id, id(res))
    if key in ctx._memo:
        return False
    ctx._memo[key] = True
    return True


def _is_root(res: dict, ctx: Context) -> bool:
    return ctx.bundle is None or res is ctx.bundle.bundle


_MHD_PREFIXES = ("https://profiles.ihe.net/ITI/MHD/", "http://profiles.ihe.net/ITI/MHD/")


def _declares_its_mhd_option(res: dict, ctx: Context, recognised: str | None) -> bool:
    """True when ``--as mhd`` meets a bundle that declares an IHE MHD profile of its own
    (Minimal, UnContained…): `--as mhd` names the actor, the bundle its option (IHE MHD
    2:3.65.4.1.2: a Document Source declares the option it follows), so the declared one rules."""
    if not (recognised or "").startswith(_MHD_PREFIXES):
        return False
    root = res if ctx.bundle is None else ctx.bundle.bundle
    return any(u.startswith(_MHD_PREFIXES) and structure.known(u) for u in profiles(root))


def applicable_profiles(res: dict, ctx: Context) -> list[tuple[str, bool]]:
    """(profile canonical, declared?) whose compiled checks apply to ``res``: the profiles it
    declares, and the one it is judged as with ``--as``; else the one it was recognised as; an
    entry of a provide bundle also gets the profile the bundle's entry slices give its type."""
    declared = [(u, True) for u in profiles(res) if structure.known(u)]
    forced = ctx.profile is not None and ctx.profile.forced
    recognised = ctx.profile.canonical if ctx.profile is not None else None
    if forced and _declares_its_mhd_option(res, ctx, recognised):
        forced = False
    if _is_root(res, ctx):
        if recognised and structure.known(recognised) and recognised not in profiles(res) and (forced or not declared):
            declared.append((recognised, False))
        return declared
    if (declared and not forced) or ctx.bundle is None:
        return declared
    if forced:
        bundle_profiles = [recognised]
    else:
        bundle_profiles = [u for u in profiles(ctx.bundle.bundle) if structure.known(u)]
        if not bundle_profiles and ctx.profile is not None and ctx.profile.submission:
            bundle_profiles = [recognised or PROFILE_PROVIDE_BUNDLE]
    rtype = res.get("resourceType")
    if is_folder(res):
        return declared  # a Folder: the provide bundle's List slice is the SubmissionSet's
    for url in bundle_profiles:
        target = structure.entry_profiles(url).get(rtype) if isinstance(rtype, str) and url else None
        if target and all(target != u for u, _ in declared):
            return [*declared, (target, False)]
    return declared


def _profile_failures(res: dict, ctx: Context) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for url, declared in applicable_profiles(res, ctx):
        out.extend(structure.run(res, structure.checks_for(url, declared)))
    return out


#: elements a more specific rule judges, with its own DMP reason: the profile checks leave them
#: to it (one defect, one reason): the subject of a DMP payload (INS-001, ins_missing) and a
#: transaction entry's request method (BDL-009)
COVERED = {"subject": "INS-001", "method": "BDL-009"}


def _covered(path: str, ctx: Context) -> bool:
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if last == "subject":
        return ctx.dmp
    return last == "method" and ".request" in path


def _failures(res: dict, ctx: Context, kind: str, rule_id: str) -> Iterator[tuple[str, str]]:
    """The profile failures of ``kind`` on ``res`` for rule ``rule_id`` (once per resource, each
    (path, message) once, the elements a more specific rule judges left out)."""
    if not _once(res, ctx, rule_id):
        return
    seen = set()
    for k, path, message in ctx.memo(_profile_failures, res, ctx):
        if _covered(path, ctx):
            continue
        if k == kind and (path, message) not in seen:
            seen.add((path, message))
            yield path, message


@rule("PRF-003", ERROR, ("top", "profile"), "(elements of a declared or recognised profile)",
      reason=INVALID_METADATA, issue_code="structure")
def profile_cardinalities(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The cardinalities of the profile a resource declares (meta.profile) or is recognised as (an
    ITI-65's entries by the provide bundle's entry slices; `segur validate --as`) hold: min and
    max of each element and extension slice, read from the vendored StructureDefinitions (IHE
    MHD, ePrescription, traçabilité DMI and événements, notifications, essais cliniques) and
    checked over the parents' (a PDSm profile inherits its MHD parent's)."""
    yield from _failures(res, ctx, structure.CARDINALITY, "PRF-003")


@rule("PRF-004", ERROR, ("top", "profile"), "(fixed and pattern values of a profile)",
      reason=INVALID_METADATA, issue_code="value")
def profile_fixed_values(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The fixed[x] and pattern[x] values of the declared or recognised profile hold (e.g. an MHD
    SubmissionSet's `mode` is `working`, its `code` `submissionset`; an MHD provide bundle's
    `type` is `transaction`)."""
    yield from _failures(res, ctx, structure.FIXED, "PRF-004")


@rule("PRF-005", ERROR, ("top", "profile"), "(required bindings of a profile)",
      reason=INVALID_METADATA, issue_code="code-invalid")
def profile_required_bindings(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A coded element under a required binding of the declared or recognised profile takes a code
    of its value set (value sets expanded from the guide's and FHIR R4's definitions; a value set
    that cannot be enumerated here is not judged)."""
    yield from _failures(res, ctx, structure.BINDING, "PRF-005")


@rule("PRF-006", ERROR, ("top", "profile"), "(required bindings of FHIR R4)",
      reason=INVALID_METADATA, issue_code="code-invalid")
def core_required_bindings(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Every resource's coded elements under a FHIR R4 required binding (ResearchStudy.status,
    AuditEvent.action, List.mode, DocumentReference.status, Bundle.type…) take a code of the
    bound value set, whatever profile it declares (R4 4.0.1 definitions, vendored)."""
    rtype = res.get("resourceType")
    if not isinstance(rtype, str) or not _once(res, ctx, "PRF-006"):
        return
    for _, path, message in structure.run(res, structure.core_checks(rtype)):
        if not _covered(path, ctx):
            yield path, message


@rule("PRF-007", INFORMATION, ("top", "profile"), "Resource.meta.profile", issue_code="informational")
def unknown_declared_profile(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A declared profile whose StructureDefinition is not vendored (nor one of the guides the rules
    know by name) is reported: the resource gets the FHIR R4 core checks and the rules of its
    kind only."""
    if not _once(res, ctx, "PRF-007"):
        return
    for i, url in enumerate(profiles(res)):
        if structure.known(url) or url.rsplit("/", 1)[-1] in vendored_profiles() or url in KNOWN_BY_NAME:
            continue
        if url.startswith(KNOWN_PREFIXES):
            continue
        yield f".meta.profile[{i}]", f"profile {url} is not vendored here: FHIR R4 core checks only"
