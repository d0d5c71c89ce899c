"""Bundle-shape rules for the PDSm / MHD ITI-65 submission: transaction, one SubmissionSet,
DocumentReferences with their Binary, entries with fullUrl and request, references that resolve
(urn:uuid and relative inside the bundle, ``#id`` inside the container), replacement entries.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.rules.base import (
    ERROR,
    INFORMATION,
    WARNING,
    BundleIndex,
    Context,
    as_dict,
    as_list,
    is_folder,
    is_submission_set,
    rule,
)
from agents.fhir.rules.ins import subject_of
from agents.fhir.verdict import INVALID_METADATA


def is_submission(bundle: dict, index: BundleIndex | None = None) -> bool:
    """True when a Bundle says it is an ITI-65 document submission (profile or SubmissionSet).

    A transaction that merely holds a DocumentReference is not one (Cahier de liaison notes,
    ePrescription…): see ``agents.fhir.profiles.recognise``.
    """
    from agents.fhir.profiles import recognise  # profiles imports this package

    return recognise(bundle).submission


@rule("BDL-008", INFORMATION, "Bundle", "Bundle", issue_code="informational")
def not_a_submission(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A Bundle that is not an ITI-65 submission is checked resource by resource, with the rules of
    the profile it was recognised as."""
    if not ctx.submission:
        label = ctx.profile.label if ctx.profile is not None else "a Bundle"
        yield "", (
            f"Bundle of type {bundle.get('type')!r} is not an ITI-65 submission (recognised as: "
            f"{label}); its resources were checked one by one"
        )


@rule("BDL-001", ERROR, "Bundle", "Bundle.type", reason=INVALID_METADATA, issue_code="structure")
def transaction(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An ITI-65 submission is a `transaction` Bundle (IHE MHD ITI-65 §2:3.65.4.1.2: the Provide
    Document Bundle is processed atomically); a `batch` holding a SubmissionSet is refused."""
    if ctx.submission and bundle.get("type") != "transaction":
        yield ".type", f"ITI-65 Bundle.type is {bundle.get('type')!r}, expected 'transaction'"


@rule("BDL-002", ERROR, "Bundle", "Bundle.entry.resource.ofType(List)",
      reason=INVALID_METADATA, issue_code="structure")
def one_submission_set(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The submission holds exactly one SubmissionSet List."""
    if not ctx.submission or ctx.bundle is None:
        return
    count = sum(is_submission_set(r) for _, _, r in ctx.bundle.entries)
    if count != 1:
        yield ".entry", f"ITI-65 submission holds {count} SubmissionSet Lists, expected exactly 1"


@rule("BDL-003", ERROR, "Bundle", "Bundle.entry.resource.ofType(DocumentReference)",
      reason=INVALID_METADATA, issue_code="structure")
def has_document(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The submission holds at least one DocumentReference."""
    if ctx.submission and ctx.bundle is not None and not ctx.bundle.of_type("DocumentReference"):
        yield ".entry", "ITI-65 submission holds no DocumentReference"


def _is_fhir_document(resource: dict) -> bool:
    """True for a FHIR document (a Bundle of type document)."""
    return resource.get("resourceType") == "Bundle" and resource.get("type") == "document"


@rule("BDL-004", ERROR, "Bundle", "Bundle.entry.resource.content.attachment.url",
      reason=INVALID_METADATA, issue_code="not-found")
def binary_per_attachment(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Each attachment url of a submitted DocumentReference points to a Binary in the bundle
    (outside a DMP payload, or to a FHIR document Bundle entry: IHE MHD 4.2's FhirDocuments
    slice)."""
    if not ctx.submission or ctx.bundle is None:
        return
    for i, _, docref in ctx.bundle.of_type("DocumentReference"):
        for j, content in enumerate(as_list(docref.get("content"))):
            att = as_dict(as_dict(content).get("attachment"))
            url = att.get("url")
            if not isinstance(url, str) or att.get("data"):
                continue
            target = ctx.bundle.resolve(url)
            if target is not None and not ctx.dmp and _is_fhir_document(target):
                continue  # IHE MHD 4.2 ProvideBundle slice FhirDocuments: a document Bundle entry
            if target is None or target.get("resourceType") != "Binary":
                yield f".entry[{i}].resource.content[{j}].attachment.url", (
                    f"attachment url {url} does not point to a Binary in the bundle"
                )


@rule("BDL-005", ERROR, "Bundle", "List.entry.item", reason=INVALID_METADATA, issue_code="structure")
def submission_set_entries(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The SubmissionSet lists every DocumentReference of the bundle, and only those (outside a DMP
    payload, IHE MHD 2:3.65.4.1.2.1 also lets it list the Folders of the bundle)."""
    if not ctx.submission or ctx.bundle is None:
        return
    index = ctx.bundle
    lists = [(i, r) for i, _, r in index.entries if is_submission_set(r)]
    if len(lists) != 1:
        return
    li, lst = lists[0]
    listed = set()
    for k, item in enumerate(as_list(lst.get("entry"))):
        ref = as_dict(as_dict(item).get("item")).get("reference")
        target = index.resolve(ref) if isinstance(ref, str) else None
        if target is not None and not ctx.dmp and is_folder(target):
            continue  # IHE MHD: a SubmissionSet also lists the Folders it creates or updates
        if target is None or target.get("resourceType") != "DocumentReference":
            yield f".entry[{li}].resource.entry[{k}].item", (
                f"SubmissionSet entry {ref!r} is not a DocumentReference of the bundle"
            )
        else:
            listed.add(id(target))
    for i, entry, docref in index.of_type("DocumentReference"):
        method = as_dict(entry.get("request")).get("method")
        if method in (None, "POST") and id(docref) not in listed:
            yield f".entry[{i}]", "DocumentReference is not listed in the SubmissionSet"


@rule("BDL-006", ERROR, "Bundle", "Bundle.entry", reason=INVALID_METADATA, issue_code="structure")
def entry_shape(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Each transaction entry has a fullUrl, a request (method and url) and, unless it is a DELETE,
    a resource."""
    if not ctx.submission or ctx.bundle is None:
        return
    if not ctx.bundle.entries:
        yield ".entry", "ITI-65 submission has no entry"
    for i, entry, resource in ctx.bundle.entries:
        request = as_dict(entry.get("request"))
        if not entry.get("fullUrl"):
            yield f".entry[{i}].fullUrl", "entry has no fullUrl"
        if not (request.get("method") and request.get("url")):
            yield f".entry[{i}].request", "transaction entry has no request method and url"
        if not resource and request.get("method") != "DELETE":
            yield f".entry[{i}].resource", "entry has no resource"


def _subject_key(resource: dict, ctx: Context) -> object:
    value = subject_of(resource, ctx)
    if value is not None:
        return (value.system, value.value)
    return as_dict(resource.get("subject")).get("reference")


@rule("BDL-007", ERROR, "Bundle", "List.subject | DocumentReference.subject",
      reason=INVALID_METADATA, issue_code="business-rule")
def same_patient(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The SubmissionSet and its DocumentReferences designate the same patient."""
    if not ctx.submission or ctx.bundle is None:
        return
    lists = [r for _, _, r in ctx.bundle.entries if is_submission_set(r)]
    if len(lists) != 1 or not as_dict(lists[0].get("subject")):
        return
    expected = _subject_key(lists[0], ctx)
    for i, _, docref in ctx.bundle.of_type("DocumentReference"):
        if as_dict(docref.get("subject")) and _subject_key(docref, ctx) != expected:
            yield f".entry[{i}].resource.subject", (
                "DocumentReference subject differs from the SubmissionSet subject"
            )


def _sets_superseded(entry: dict) -> bool:
    resource = as_dict(entry.get("resource"))
    if resource.get("resourceType") == "DocumentReference":
        return resource.get("status") == "superseded"
    if resource.get("resourceType") != "Parameters":
        return False
    for param in as_list(resource.get("parameter")):
        parts = {
            as_dict(p).get("name"): as_dict(p) for p in as_list(as_dict(param).get("part"))
        }
        path = parts.get("path", {}).get("valueString")
        value = parts.get("value", {})
        if path == "DocumentReference.status" and "superseded" in (
            value.get("valueCode"), value.get("valueString")
        ):
            return True
    return False


@rule("REP-003", ERROR, "Bundle", "Bundle.entry.request", reason=INVALID_METADATA, issue_code="business-rule")
def supersede_entries(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A PATCH or PUT entry targets `DocumentReference/<id>` and sets its status to superseded (the
    replaced version, as in the ANS TD2.1 replacement example); outside a DMP payload, IHE MHD
    may also update a Folder (List)."""
    if not ctx.submission or ctx.bundle is None:
        return
    for i, entry, _ in ctx.bundle.entries:
        request = as_dict(entry.get("request"))
        if request.get("method") not in ("PATCH", "PUT"):
            continue
        url = request.get("url")
        if not ctx.dmp and is_folder(as_dict(entry.get("resource"))):
            continue  # IHE MHD (outside the DMP) updates a Folder with PUT List
        if not (isinstance(url, str) and url.startswith("DocumentReference/")):
            yield f".entry[{i}].request.url", (
                f"{request.get('method')} {url!r}: only DocumentReference/<id> may be updated"
            )
        elif not _sets_superseded(entry):
            yield f".entry[{i}].resource", (
                f"{request.get('method')} {url} does not set the status to superseded"
            )


@rule("REP-004", WARNING, "Bundle", "Bundle.entry.request.url")
def superseded_is_replaced(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A DocumentReference set to superseded is the target of a relatesTo `replaces`."""
    if not ctx.submission or ctx.bundle is None:
        return
    targets = set()
    for _, _, docref in ctx.bundle.of_type("DocumentReference"):
        for rel in as_list(docref.get("relatesTo")):
            rel = as_dict(rel)
            if rel.get("code") == "replaces":
                targets.add(as_dict(rel.get("target")).get("reference"))
    for i, entry, _ in ctx.bundle.entries:
        request = as_dict(entry.get("request"))
        url = request.get("url")
        if request.get("method") in ("PATCH", "PUT") and isinstance(url, str):
            if url.startswith("DocumentReference/") and url not in targets:
                yield f".entry[{i}].request.url", f"{url} is updated but no DocumentReference replaces it"


# --- references (run on every top-level resource) -----------------------------------------------


@rule("REF-001", ERROR, "top", "Bundle.entry.resource…reference", reason=INVALID_METADATA, issue_code="not-found")
def bundle_references(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Every urn:uuid / urn:oid reference resolves to an entry of the bundle (relatesTo targets
    excepted). Relative references may name a resource on the server (REF-003), and a searchset
    may leave references unresolved."""
    if ctx.bundle is None or ctx.bundle.bundle.get("type") == "searchset":
        return
    for path, ref in ctx.references(res):
        if ref.startswith(("urn:uuid:", "urn:oid:")) and ".relatesTo[" not in path:
            if ctx.bundle.resolve(ref) is None:
                yield path, f"reference {ref} does not resolve inside the bundle"


def _entry_ids(bundle: dict, index: BundleIndex) -> frozenset[str]:
    """Ids of the resources the bundle's entries hold."""
    return frozenset(r["id"] for _, _, r in index.entries if isinstance(r.get("id"), str))


def _dangling_local(res: dict, ctx: Context) -> list[tuple[str, str, bool]]:
    """Each ``#id`` naming no contained resource: (path, message, lenient?).

    Lenient (REF-004, a warning) only outside DMP payloads, when the id names a resource of
    the same bundle or the bundle is a searchset (FHIR R4 bundle.html#searchset: a result may
    leave its references unresolved); strict (REF-002, an error) otherwise.
    """
    found = []
    for path, ref in ctx.references(res):
        if ref.startswith("#") and ref != "#" and ctx.resolve(ref, res) is None:
            found.append((path, ref))
    if not found:
        return []
    if ctx.dmp or ctx.bundle is None:
        return [(path, f"local reference {ref} names no contained resource", False) for path, ref in found]
    ids = ctx.memo(_entry_ids, ctx.bundle.bundle, ctx.bundle)
    searchset = ctx.bundle.bundle.get("type") == "searchset"
    out = []
    for path, ref in found:
        if ref[1:] in ids:
            out.append((path, f"local reference {ref} names no contained resource but an entry of the "
                              "bundle: write the entry's fullUrl (or contain the resource)", True))
        elif searchset:
            out.append((path, f"local reference {ref} resolves neither to a contained resource nor to "
                              "an entry of this search result", True))
        else:
            out.append((path, f"local reference {ref} names no contained resource", False))
    return out


@rule("REF-002", ERROR, "top", "….reference ('#id')", reason=INVALID_METADATA, issue_code="not-found")
def contained_references(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Every local reference `#id` names a resource contained in the same resource (FHIR R4
    references.html#contained). Always an error in a DMP payload; outside one, see REF-004."""
    for path, message, lenient in ctx.memo(_dangling_local, res, ctx):
        if not lenient:
            yield path, message


@rule("REF-004", WARNING, "top", "….reference ('#id')", issue_code="not-found")
def local_references_to_entries(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload, a `#id` that names a resource of the same Bundle instead of a
    contained one, or that a searchset leaves unresolved, is a warning: the IG publisher accepts
    it and the ePrescription guide's official searchsets use it, while FHIR R4
    (references.html#contained) reserves `#id` for contained resources."""
    if ctx.dmp:
        return
    for path, message, lenient in ctx.memo(_dangling_local, res, ctx):
        if lenient:
            yield path, message
