"""Profile rules: say when no national profile was recognised (PRF-001), and check the
cardinalities of the vendored national profiles a resource declares in ``meta.profile`` (PRF-002).
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.guides import profiles as vendored_profiles
from agents.fhir.rules.base import INFORMATION, WARNING, Context, as_dict, profiles, rule


@rule(
    "PRF-001", INFORMATION, "profile", "(resource)",
    "No national profile was recognised (meta.profile, Bundle type, SubmissionSet): only the "
    "generic FHIR checks and the rules of each resource kind were applied.",
    issue_code="informational",
)
def no_national_profile(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
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


@rule(
    "PRF-002", WARNING, "top", "(elements of a declared national profile)",
    "The elements a declared national profile requires (min ≥ 1) are present and those it "
    "forbids (max 0) are absent, as read from the profile's vendored cardinalities (the "
    "PDSm guide's own DMP examples omit `custodian`, hence a warning).",
)
def declared_cardinalities(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
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
                    yield f"{where}.{last}", f"{name} requires {path} ({low}..{high})"
                elif high == "0" and count:
                    yield f"{where}.{last}", f"{name} forbids {path} (0..0)"


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
