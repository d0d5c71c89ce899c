"""Rules on transaction Bundles of any profile (request method and URL of each entry, references
left to the server) and on the Cahier de liaison bundles (fixed values from its vendored profiles).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from agents.fhir.guides import fixed_value, profiles
from agents.fhir.rules.base import ERROR, INFORMATION, WARNING, Context, as_dict, rule
from agents.fhir.rules.base import profiles as declared_profiles
from agents.fhir.verdict import INVALID_METADATA

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
_TYPE = r"[A-Z][A-Za-z]+"
_ID = r"[A-Za-z0-9\-.]{1,64}"
_INSTANCE = re.compile(rf"(?P<type>{_TYPE})/(?P<id>{_ID})(?:/_history/{_ID})?")
_CONDITIONAL = re.compile(rf"(?P<type>{_TYPE})\?.+")
_TYPE_ONLY = re.compile(rf"(?P<type>{_TYPE})")
#: A single name (no "/" nor "?"): where the DMI and TDDUI transactions write a profile's name
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
RELATIVE = re.compile(rf"{_TYPE}/{_ID}(?:/_history/{_ID})?")


def _request_problem(method: object, url: object, resource: dict) -> str | None:
    """Why a transaction entry's request cannot be carried out as written (None: fine)."""
    if method not in METHODS:
        return f"request.method {method!r} is not one of {', '.join(sorted(METHODS))}"
    if not isinstance(url, str) or not url:
        return f"{method} has no request.url"
    if url.startswith(("http://", "https://")):
        return f"request.url {url} is absolute; a transaction entry's url is relative to the server"
    rtype = resource.get("resourceType") if resource else None
    instance, conditional = _INSTANCE.fullmatch(url), _CONDITIONAL.fullmatch(url)
    if method == "POST":
        named = _TYPE_ONLY.fullmatch(url) or instance
        if not named:
            return f"POST url {url!r} must be the resource type (e.g. {rtype or 'DocumentReference'})"
        if rtype and named["type"] != rtype:
            return f"POST url {url!r} does not match the entry's resource type {rtype}"
        return None  # POST Type/id: BDL-010 warns
    if method in ("PUT", "PATCH", "DELETE") and not (instance or conditional):
        return f"{method} url {url!r} must name Type/id (or Type?search)"
    if method == "PUT" and rtype and (instance or conditional):
        named = (instance or conditional)["type"]  # type: ignore[index]
        if named != rtype:
            return f"PUT url {url!r} names {named} but the entry holds a {rtype}"
        if instance and isinstance(resource.get("id"), str) and resource["id"] != instance["id"]:
            return f"PUT url {url!r} names id {instance['id']} but the resource's id is {resource['id']}"
    return None


def is_resource_type(name: str) -> bool:
    """True when ``name`` is a FHIR resource type (R4B's model classes, a superset of R4's)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        return issubclass(get_fhir_model_class(name), Resource)
    except (KeyError, ValueError, AttributeError):
        return False


def _request_problems(bundle: dict, ctx: Context) -> list[tuple[str, str, bool]]:
    """Each entry whose request cannot be carried out as written: (path, why, lenient?).

    Lenient (BDL-011, a warning) only outside DMP payloads, for a POST whose url is a single
    name that is no FHIR resource type (the DMI and TDDUI guides' official transactions write
    their profiles' names there) and a PUT of the bare resource type whose resource has an id
    (IHE MHD 4.2.2's addToFolder example: PUT List); every other problem, and any problem in a DMP payload, is
    strict (BDL-009, an error).
    """
    if bundle.get("type") not in ("transaction", "batch") or ctx.bundle is None:
        return []
    out = []
    for i, entry, resource in ctx.bundle.entries:
        request = as_dict(entry.get("request"))
        if not request:
            continue  # BDL-006 (ITI-65) / STR-001 say it is missing
        method, url = request.get("method"), request.get("url")
        problem = _request_problem(method, url, resource)
        if problem:
            lenient = (
                not ctx.dmp and method == "POST" and isinstance(url, str)
                and _NAME.fullmatch(url) is not None and not is_resource_type(url)
            )
            if lenient:
                problem += " (a profile's name is no resource type: a FHIR server answers 404)"
            elif (
                not ctx.dmp and method == "PUT" and url == resource.get("resourceType")
                and isinstance(resource.get("id"), str)
            ):
                lenient = True  # IHE MHD's own addToFolder example: PUT List (the Folder's id in it)
                problem += f" (the resource's id {resource['id']} is meant)"
            out.append((f".entry[{i}].request", problem, lenient))
    return out


@rule("BDL-009", ERROR, "Bundle", "Bundle.entry.request", reason=INVALID_METADATA, issue_code="structure")
def request_urls(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """In a transaction or batch, each request has a FHIR method and a relative url that fits it:
    POST `Type` (or `Type/id`, BDL-010) of the resource's type; PUT / PATCH / DELETE `Type/id`
    (or `Type?search`), PUT naming the resource's own type and id (FHIR R4
    http.html#transaction). Outside a DMP payload, a POST url that names no resource type at all
    is BDL-011."""
    for path, problem, lenient in ctx.memo(_request_problems, bundle, ctx):
        if not lenient:
            yield path, problem


@rule("BDL-011", WARNING, "Bundle", "Bundle.entry.request.url", issue_code="structure")
def request_url_names_profile(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload, a POST whose url is a name that is no FHIR resource type (a profile's
    name, as in the DMI and TDDUI guides' official transactions), or a PUT of the bare resource
    type whose resource carries its id (IHE MHD's addToFolder example), is a warning: those
    guides publish it so, while FHIR R4 (http.html#transaction) wants `Type` / `Type/id`. The
    DMP's ITI-65 keeps BDL-009's error."""
    if ctx.dmp:
        return
    for path, problem, lenient in ctx.memo(_request_problems, bundle, ctx):
        if lenient:
            yield path, problem


@rule("BDL-010", WARNING, "Bundle", "Bundle.entry.request.url")
def post_without_id(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A POST names only the resource type: a `Type/id` url is ignored by a FHIR server, which
    assigns its own id (PUT `Type/id` chooses it)."""
    if bundle.get("type") not in ("transaction", "batch") or ctx.bundle is None:
        return
    for i, entry, _ in ctx.bundle.entries:
        request = as_dict(entry.get("request"))
        url = request.get("url")
        if request.get("method") == "POST" and isinstance(url, str) and _INSTANCE.fullmatch(url):
            yield f".entry[{i}].request.url", (
                f"POST {url}: the server assigns its own id; use POST {url.split('/')[0]} "
                "(or PUT to choose the id)"
            )


@rule("REF-003", INFORMATION, "top", "Bundle.entry.resource…reference", issue_code="informational")
def server_references(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A relative reference (`Type/id`) in a transaction that names no entry points to a resource
    already on the server: accepted, and reported so that it can be checked."""
    if ctx.bundle is None or ctx.bundle.bundle.get("type") != "transaction":
        return
    for path, ref in ctx.references(res):
        if RELATIVE.fullmatch(ref) and ctx.bundle.resolve(ref) is None:
            yield path, f"{ref} is not in the transaction: expected to exist on the server"


# --- Cahier de liaison ----------------------------------------------------------------------------


def _cdl_profile(bundle: dict) -> str | None:
    for url in declared_profiles(bundle):
        pid = url.rsplit("/", 1)[-1]
        if url.startswith("https://interop.esante.gouv.fr/ig/fhir/cdl/") and pid in profiles():
            return pid
    return None


@rule("CDL-001", ERROR, "Bundle", "Bundle.type", reason=INVALID_METADATA, issue_code="value")
def cdl_type(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A Cahier de liaison Bundle has the type its profile fixes (transaction for a note's creation
    or update, searchset for a search result)."""
    pid = _cdl_profile(bundle)
    expected = fixed_value(pid, "type") if pid else None
    if expected and bundle.get("type") != expected:
        yield ".type", f"{pid} fixes Bundle.type to {expected!r}, found {bundle.get('type')!r}"


@rule("CDL-002", ERROR, "Bundle", "Bundle.entry.request.method", reason=INVALID_METADATA, issue_code="value")
def cdl_method(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """In a Cahier de liaison transaction, the note (DocumentReference) is sent with the method its
    profile fixes (POST to create, PUT to update), and there is exactly one note."""
    pid = _cdl_profile(bundle)
    if pid is None or ctx.bundle is None:
        return
    method = fixed_value(pid, "entry[DocumentReference].request.method")
    if method is None:
        return
    notes = ctx.bundle.of_type("DocumentReference")
    if len(notes) != 1:
        yield ".entry", f"{pid} carries exactly one DocumentReference (the note), found {len(notes)}"
    for i, entry, _ in notes:
        found = as_dict(entry.get("request")).get("method")
        if found != method:
            yield f".entry[{i}].request.method", f"{pid} sends the note with {method}, found {found!r}"
