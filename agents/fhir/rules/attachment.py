"""Attachment rules: what a DocumentReference says about its document (size, SHA-1 hash, MIME
type) must match the document itself, inline (``attachment.data``) or in the bundle's Binary.

Nothing is checked when the content is not in the payload (a URL to a server or an external
repository): the DMP computes these from the bytes it receives, and refuses a mismatch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator

from agents.fhir.rules.base import ERROR, WARNING, Context, as_dict, as_list, rule
from agents.fhir.verdict import INVALID_METADATA


class Content:
    """The decoded bytes of one attachment and where they came from (``None``: not decodable)."""

    __slots__ = ("raw", "where", "binary_type", "problem")

    def __init__(self, raw: bytes | None, where: str, binary_type: object = None, problem: str = ""):
        self.raw = raw
        self.where = where
        self.binary_type = binary_type
        self.problem = problem


def _decode(data: str, where: str, binary_type: object = None) -> Content:
    try:
        return Content(base64.b64decode(data, validate=True), where, binary_type)
    except (binascii.Error, ValueError):
        try:  # line breaks and spaces are tolerated in base64Binary
            return Content(base64.b64decode("".join(data.split()), validate=True), where, binary_type)
        except (binascii.Error, ValueError) as exc:
            return Content(None, where, binary_type, f"{where} is not valid base64 ({exc})")


def attachment_content(att: dict, ctx: Context) -> Content | None:
    """The attachment's bytes: inline data, or the data of the Binary its url points to."""
    data = att.get("data")
    if isinstance(data, str):
        return _decode(data, "attachment.data")
    url = att.get("url")
    if isinstance(url, str) and ctx.bundle is not None:
        target = ctx.bundle.resolve(url)
        if target is not None and target.get("resourceType") == "Binary":
            bdata = target.get("data")
            if isinstance(bdata, str):
                return _decode(bdata, f"Binary {url}", target.get("contentType"))
    return None


def _attachments(res: dict, ctx: Context) -> Iterator[tuple[str, dict, Content]]:
    for i, content in enumerate(as_list(res.get("content"))):
        att = as_dict(as_dict(content).get("attachment"))
        if not att:
            continue
        found = ctx.memo(attachment_content, att, ctx)
        if found is not None:
            yield f".content[{i}].attachment", att, found


@rule("ATT-001", ERROR, "DocumentReference", "DocumentReference.content.attachment.size",
      reason=INVALID_METADATA, issue_code="value")
def size_matches(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The attachment's size is the number of bytes of the document (inline data or the bundle's
    Binary), and that content is valid base64. A wrong size outside a DMP payload: ATT-005."""
    for path, att, content in _attachments(res, ctx):
        if content.raw is None:
            yield path, content.problem
            continue
        size = att.get("size")
        if ctx.dmp and isinstance(size, int) and not isinstance(size, bool) and size != len(content.raw):
            yield f"{path}.size", f"size is {size} but the document ({content.where}) has {len(content.raw)} bytes"


@rule("ATT-005", WARNING, "DocumentReference", "DocumentReference.content.attachment.size", issue_code="value")
def size_matches_outside_dmp(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload (`--as mhd`, other guides), a size that is not the document's byte
    count is a warning: IHE MHD 4.2.2's own replacement ITI-65 example announces 24 bytes for its
    23-byte document; the DMP, which stores the size, keeps ATT-001's error."""
    if ctx.dmp:
        return
    for path, att, content in _attachments(res, ctx):
        size = att.get("size")
        if content.raw is not None and isinstance(size, int) and not isinstance(size, bool) and size != len(content.raw):
            yield f"{path}.size", f"size is {size} but the document ({content.where}) has {len(content.raw)} bytes"


@rule("ATT-002", ERROR, "DocumentReference", "DocumentReference.content.attachment.hash",
      reason=INVALID_METADATA, issue_code="value")
def hash_matches(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The attachment's hash is the base64 SHA-1 of the document's bytes (outside DMP payloads, the
    base64 of the XDS hexadecimal SHA-1, as IHE MHD's own examples carry it, is accepted)."""
    for path, att, content in _attachments(res, ctx):
        given = att.get("hash")
        if content.raw is None or not isinstance(given, str):
            continue
        digest = hashlib.sha1(content.raw).digest()
        try:
            declared = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            yield f"{path}.hash", f"hash {given!r} is not base64"
            continue
        if declared != digest and not (not ctx.dmp and declared == hashlib.sha1(content.raw).hexdigest().encode()):
            expected = base64.b64encode(digest).decode("ascii")
            yield f"{path}.hash", (
                f"hash {given} is not the SHA-1 of the document ({content.where}): expected {expected}"
            )


def sniff(raw: bytes) -> str:
    """The family of a document's bytes: pdf, png, jpeg, tiff, xml, json, text or binary."""
    head = raw[:2048]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip(b" \t\r\n")
    for magic, family in (
        (b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"),
        (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    ):
        if head.startswith(magic):
            return family
    if stripped.startswith(b"<"):
        return "xml"
    if stripped.startswith((b"{", b"[")):
        return "json"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 2 KiB boundary
            controls = sum(b < 0x20 and b not in (9, 10, 12, 13) for b in head)
            if controls > len(head) // 100:  # an 8-bit text (Latin-1…) has almost none
                return "binary"
    return "text"


def expected_families(content_type: str) -> frozenset[str] | None:
    """Families a MIME type allows (None: a type this rule does not judge)."""
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/pdf":
        return frozenset({"pdf"})
    if mime in ("image/png", "image/jpeg", "image/tiff"):
        return frozenset({mime.split("/")[1]})
    if mime in ("application/xml", "text/xml", "text/html") or mime.endswith("+xml"):
        return frozenset({"xml"})
    if mime == "application/json" or mime.endswith("+json"):
        return frozenset({"json"})
    if mime in ("text/plain", "text/rtf", "text/csv"):
        return frozenset({"text", "xml", "json"})
    return None


def _same_type(a: str, b: str) -> bool:
    return a.split(";")[0].strip().lower() == b.split(";")[0].strip().lower()


@rule("ATT-003", ERROR, "DocumentReference", "DocumentReference.content.attachment.contentType",
      reason=INVALID_METADATA, issue_code="value")
def mime_matches(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The attachment's MIME type matches the document's bytes (PDF, PNG, JPEG, TIFF, XML, JSON,
    text) and the Binary's contentType."""
    for path, att, content in _attachments(res, ctx):
        declared = att.get("contentType")
        if not isinstance(declared, str) or content.raw is None:
            continue
        binary_type = content.binary_type
        if isinstance(binary_type, str) and not _same_type(binary_type, declared):
            yield f"{path}.contentType", (
                f"contentType {declared} differs from the Binary's contentType {binary_type}"
            )
        allowed = expected_families(declared)
        family = sniff(content.raw)
        if allowed is not None and family not in allowed:
            yield f"{path}.contentType", (
                f"contentType is {declared} but the document ({content.where}) looks like {family}"
            )


@rule("ATT-004", ERROR, "DocumentReference", "DocumentReference.content.attachment.url → Binary.data",
      reason=INVALID_METADATA, issue_code="required")
def binary_has_data(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An attachment that points to a Binary of the same payload finds the document there: a Binary
    without `data` (size and hash announced, no bytes) is refused (FHIR R4 Binary: the content is
    `data`; the Document Recipient stores what it receives)."""
    if ctx.bundle is None:
        return
    for i, content in enumerate(as_list(res.get("content"))):
        att = as_dict(as_dict(content).get("attachment"))
        url = att.get("url")
        if not isinstance(url, str) or "data" in att:
            continue
        target = ctx.bundle.resolve(url)
        if target is not None and target.get("resourceType") == "Binary" and not target.get("data"):
            announced = [k for k in ("size", "hash") if k in att]
            said = f" ({' and '.join(announced)} announced)" if announced else ""
            yield f".content[{i}].attachment.url", f"the Binary {url} carries no data{said}"
