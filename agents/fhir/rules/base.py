"""The rule machinery: ``Rule`` (id, severity, scope, FHIR path, summary, DMP reason),
the registry filled by the ``@rule`` decorator, and the ``Context`` a rule reads.

A rule's check takes (resource, context) and yields (path suffix, message) pairs; the walker in
``agents.fhir.validate`` turns them into findings with the resource's path in front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agents import dmp_rules
from agents.fhir.constants import CS_MHD_LIST_TYPES, PROFILE_SUBMISSION_SET

ERROR = "error"
WARNING = "warning"
INFORMATION = "information"
SEVERITIES = (ERROR, WARNING, INFORMATION)

Check = Callable[[Any, "Context"], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    """A conformance rule with a stable id; ``reason`` is the DMP rejection it causes."""

    id: str
    severity: str
    scopes: tuple[str, ...]
    path: str
    summary: str
    reason: str | None
    issue_code: str
    check: Check


RULES: dict[str, Rule] = {}
_BY_SCOPE: dict[str, list[Rule]] = {}


def rule(
    rule_id: str,
    severity: str,
    scopes: str | tuple[str, ...],
    path: str,
    summary: str | None = None,
    *,
    reason: str | None = None,
    issue_code: str = "invalid",
) -> Callable[[Check], Check]:
    """Register a check as rule ``rule_id``; errors must name their DMP reason. The rule's
    summary (docs/rules.md) is ``summary`` or, without one, the check's docstring on one line."""
    scopes = (scopes,) if isinstance(scopes, str) else scopes
    if severity not in SEVERITIES:
        raise ValueError(f"{rule_id}: severity {severity!r}")
    if severity == ERROR and (reason not in dmp_rules.BY_NAME or dmp_rules.BY_NAME[reason].part != dmp_rules.DOCUMENT):
        raise ValueError(f"{rule_id}: an error rule needs a document reason of agents/dmp_rules.py, got {reason!r}")
    if severity != ERROR and reason is not None:
        raise ValueError(f"{rule_id}: only error rules carry a DMP reason")

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        said = summary if summary is not None else " ".join((check.__doc__ or "").split())
        if not said:
            raise ValueError(f"{rule_id}: a rule says what it checks (a summary or a docstring)")
        r = Rule(rule_id, severity, scopes, path, said, reason, issue_code, check)
        RULES[rule_id] = r
        for scope in scopes:
            _BY_SCOPE.setdefault(scope, []).append(r)
        return check

    return register


def unregister(rule_id: str) -> None:
    """Remove rule ``rule_id`` (a rule tried in a scratch table, then taken away)."""
    r = RULES.pop(rule_id)
    for scope in r.scopes:
        _BY_SCOPE[scope].remove(r)


def rules_for(scope: str) -> list[Rule]:
    """Rules that apply to a scope (a resource type, ``ins``, ``mssante``…)."""
    return _BY_SCOPE.get(scope, [])


# --- tolerant accessors: inputs from outside may hold any JSON shape ----------------------------


def as_list(value: object) -> list:
    """``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict:
    """``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def codings(concept: object) -> list[dict]:
    """The codings of a CodeableConcept (dicts only)."""
    return [c for c in as_list(as_dict(concept).get("coding")) if isinstance(c, dict)]


def profiles(resource: dict) -> list[str]:
    """``meta.profile`` canonicals of a resource (a ``|version`` suffix dropped)."""
    return [
        p.split("|", 1)[0] for p in as_list(as_dict(resource.get("meta")).get("profile")) if isinstance(p, str)
    ]


def is_submission_set(resource: dict) -> bool:
    """True for a List that is an MHD SubmissionSet (by code or profile)."""
    if resource.get("resourceType") != "List":
        return False
    if PROFILE_SUBMISSION_SET in profiles(resource):
        return True
    return any(
        c.get("code") == "submissionset" and c.get("system") in (CS_MHD_LIST_TYPES, None)
        for c in codings(resource.get("code"))
    )


def is_folder(resource: dict) -> bool:
    """True for a List that is an MHD Folder (by its list-type code)."""
    return resource.get("resourceType") == "List" and any(
        c.get("code") == "folder" and c.get("system") in (CS_MHD_LIST_TYPES, None)
        for c in codings(resource.get("code"))
    )


# --- context -----------------------------------------------------------------------------------


class BundleIndex:
    """Entries of a Bundle by fullUrl and by ``Type/id``, for reference resolution."""

    def __init__(self, bundle: dict):
        self.bundle = bundle
        self.entries: list[tuple[int, dict, dict]] = []
        self.by_full_url: dict[str, dict] = {}
        self.by_type_id: dict[str, dict] = {}
        for i, entry in enumerate(as_list(bundle.get("entry"))):
            entry = as_dict(entry)
            resource = as_dict(entry.get("resource"))
            self.entries.append((i, entry, resource))
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and resource:
                self.by_full_url[full_url] = resource
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                self.by_type_id[f"{rtype}/{rid}"] = resource

    def resolve(self, reference: str) -> dict | None:
        """The bundle resource a urn:uuid, absolute or relative reference points to."""
        found = self.by_full_url.get(reference)
        if found is not None:
            return found
        if "/" in reference and not reference.startswith("urn:"):
            return self.by_type_id.get("/".join(reference.rstrip("/").split("/")[-2:]))
        return None

    def of_type(self, resource_type: str) -> list[tuple[int, dict, dict]]:
        """(index, entry, resource) of the entries holding a resource of that type."""
        return [e for e in self.entries if e[2].get("resourceType") == resource_type]


class Context:
    """What a rule may look up: the enclosing bundle, the container, the submission flag."""

    __slots__ = ("bundle", "container", "submission", "profile", "now", "_refs", "_memo")

    def __init__(
        self,
        bundle: BundleIndex | None,
        container: dict | None,
        submission: bool,
        *,
        profile: Any = None,
        now: Any = None,
    ):
        self.bundle = bundle
        self.container = container
        self.submission = submission
        #: ``agents.fhir.profiles.Recognised`` of the validated resource (None: not computed).
        self.profile = profile
        #: Reference time for "not in the future" checks (aware datetime; None: the clock).
        self.now = now
        self._refs: dict[int, list[tuple[str, str]]] = {}
        self._memo: dict[tuple[object, int], Any] = {}

    @property
    def dmp(self) -> bool:
        """True when the resource goes to (or comes from) the DMP: an ITI-65, a PDSm resource,
        or a shape with no national profile (judged by the DMP's rules, as before profiles)."""
        if self.profile is None:
            return True
        key = self.profile.key
        return key.startswith(("dmp-", "pdsm-")) or not self.profile.national

    @property
    def profile_key(self) -> str:
        """The recognised profile's key ("" when none was computed)."""
        return self.profile.key if self.profile is not None else ""

    def child(self, container: dict) -> Context:
        """Context for a resource contained in ``container`` (sharing the caches)."""
        ctx = Context(self.bundle, container, self.submission, profile=self.profile, now=self.now)
        ctx._refs = self._refs
        ctx._memo = self._memo
        return ctx

    def memo(self, fn: Callable[..., Any], resource: dict, *args: Any) -> Any:
        """``fn(resource, *args)``, computed once per (fn, resource) during one validation."""
        key = (fn, id(resource))
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = fn(resource, *args)
            return value

    def resolve(self, reference: object, owner: dict) -> dict | None:
        """Resolve a reference string made inside ``owner`` (contained ``#id`` or bundle)."""
        if not isinstance(reference, str) or not reference:
            return None
        if reference.startswith("#"):
            rid = reference[1:]
            for holder in (owner, self.container):
                for c in as_list(as_dict(holder).get("contained")):
                    if isinstance(c, dict) and c.get("id") == rid:
                        return c
            return None
        if self.bundle is not None:
            return self.bundle.resolve(reference)
        return None

    def references(self, resource: dict) -> list[tuple[str, str]]:
        """Every ``reference`` string inside ``resource`` with its path suffix (cached)."""
        key = id(resource)
        found = self._refs.get(key)
        if found is None:
            found = _walk_references(resource, "")
            self._refs[key] = found
        return found


def _walk_references(node: object, path: str) -> list[tuple[str, str]]:
    """Every ``reference`` string under ``node`` with its path (iterative: a hot path).

    Paths are rebuilt only for the references found: each visited container records its
    parent and its key or index, which is cheaper than formatting a path per node.
    """
    hits: list[tuple[int, str]] = []
    links: list[tuple[int, object]] = []
    stack: list[tuple[object, int]] = [(node, -1)]
    while stack:
        current, me = stack.pop()
        if type(current) is dict:
            for key, value in current.items():
                kind = type(value)
                if kind is str:
                    if key == "reference":
                        hits.append((me, value))
                elif kind is dict or kind is list:
                    links.append((me, key))
                    stack.append((value, len(links) - 1))
        else:
            for i, value in enumerate(current):  # type: ignore[arg-type]
                kind = type(value)
                if kind is dict or kind is list:
                    links.append((me, i))
                    stack.append((value, len(links) - 1))
    found = []
    for me, value in reversed(hits):
        parts = []
        while me >= 0:
            me, segment = links[me]
            parts.append(f"[{segment}]" if type(segment) is int else f".{segment}")
        found.append((path + "".join(reversed(parts)) + ".reference", value))
    return found
