"""The ASGI application (Starlette): the routes of the simulated DMP's FHIR endpoint under
``/fhir``, bearer-token checks, and every error as a FHIR OperationOutcome — never a traceback.

Starlette rather than FastAPI: a FHIR endpoint reads raw bodies under its own content types and
answers FHIR resources whose schema is FHIR's (fhir.resources), so FastAPI's request models and
OpenAPI add a layer without use; Starlette is the well-kept core FastAPI itself runs on.
Handlers do their work (rules, database) in Starlette's thread pool, off the event loop — one
hop per request: a submission's parse, rules, store and answer's JSON go in one call.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator import __version__
from simulator.core.contain_errors import ContainErrors
from simulator.server.access import denied
from simulator.server.auth import Keys, Principal, TokenError, load_keys, load_or_create_keys
from simulator.server.capability import capability_statement
from simulator.server.config import ServerConfig
from simulator.server.fhir_http import (
    FHIR_JSON,
    HttpProblem,
    check_content_type,
    dumps,
    fhir_response,
    parse_resource,
    problem_response,
    read_body,
)
from simulator.server.judge import Rules
from simulator.server.negotiation import check_format
from simulator.server.provide import provide
from simulator.server.reads import binary_resource, read_document, retrieve, search
from simulator.server.refusals import AnonymousRefusals
from simulator.server.search import parse_query, strict_requested
from simulator.server.seed import seed_store
from simulator.server.store import Store, log_access
from simulator.server.submission import FHIR_ID

log = logging.getLogger("segur.server")
FORM = "application/x-www-form-urlencoded"


#: threads judging and storing submissions in one server process (see Context.submissions):
#: SQLite writes one at a time, PostgreSQL overlaps its commits' waits
SUBMISSION_THREADS = {"sqlite": 2, "postgresql": 8}
THREADS_ENV = "SEGUR_SUBMISSION_THREADS"  # an override, for measurements


class Context:
    """What the handlers share: settings, store, keys, rules in force, and the threads that
    judge and store submissions — a few, not one per request in flight: the work holds the GIL
    but for the database's waits, so more threads only take turns at a higher cost."""

    def __init__(self, config: ServerConfig, store: Store, keys: Keys):
        self.config, self.store, self.keys = config, store, keys
        info = store.info()
        self.rules = Rules.from_info(info)
        self.seeded = info.get("seeded", "nothing (no scenario)")
        threads = int(os.environ.get(THREADS_ENV) or SUBMISSION_THREADS[store.dialect])
        self.submissions = ThreadPoolExecutor(threads, thread_name_prefix="segur-provide")
        self.anonymous = AnonymousRefusals(store)


def prepare(config: ServerConfig) -> tuple[Store, Keys]:
    """First start: schema, seeding from the scenario when the store is new, signing key."""
    store = Store(config)
    store.create_schema()
    if config.scenario:
        seed_store(store, config)
    keys = load_or_create_keys(config.key_path)
    return store, keys


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def _principal(request: Request) -> Principal:
    """The caller of a bearer token (checked on the event loop: a known token is a dict look-up,
    a new one one ES256 verification); a refusal is logged, off the loop, and raised."""
    ctx: Context = request.app.state.ctx
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        if not header:
            raise denied("ACC-001", "no bearer token: send Authorization: Bearer <token> (segur token)")
        if scheme.lower() != "bearer" or not token.strip():
            raise denied("ACC-002", "the Authorization header is not 'Bearer <token>'")
        try:
            return ctx.keys.verify(token.strip())
        except TokenError as exc:
            raise denied("ACC-002", str(exc)) from None
    except HttpProblem as exc:
        await run_in_threadpool(_log_anonymous, ctx, request.method.lower(), request.url.path, exc)
        raise


def _log_anonymous(ctx: Context, method: str, path: str, exc: HttpProblem) -> None:
    ctx.anonymous.record(method, path, exc.status, exc.rule_id or exc.code)


def _negotiate(request: Request, document: bool = False) -> None:
    """406 unless the client takes FHIR JSON (``_format``, ``Accept``)."""
    check_format(request.query_params.get("_format"), request.headers.get("accept"), document)


async def metadata(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    _negotiate(request)
    return fhir_response(capability_statement(_base(request), __version__, ctx.seeded))


async def jwks(request: Request) -> Response:
    return JSONResponse(request.app.state.ctx.keys.jwks())


async def transaction(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    _negotiate(request)
    principal = await _principal(request)
    if not principal.is_professional:
        exc = denied("ACC-003", "patients read documents; only professionals submit them")
        await run_in_threadpool(_log_denied, ctx, principal, "provide", exc)
        raise exc
    try:
        check_content_type(request)
        body = await read_body(request, ctx.config.max_body)
    except HttpProblem as exc:  # refused at the door: counted in the access log too
        await run_in_threadpool(_log_denied, ctx, principal, "provide", exc)
        raise
    status, payload, headers = await asyncio.get_running_loop().run_in_executor(
        ctx.submissions, _provide, ctx, principal, body)
    return Response(payload, status_code=status, media_type=FHIR_JSON, headers=headers)


def _provide(ctx: Context, principal: Principal, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    """Parse, judge, store, and the answer's JSON (one call in the thread pool)."""
    try:
        resource = parse_resource(body)
    except HttpProblem as exc:
        _log_denied(ctx, principal, "provide", exc)
        raise
    answer = provide(ctx.store, ctx.rules, principal, resource)
    return answer.status, dumps(answer.body), answer.headers


def _log_denied(ctx: Context, principal: Principal, action: str, exc: HttpProblem) -> None:
    with ctx.store.transaction() as tx:
        log_access(tx, actor_kind=principal.kind, actor=principal.id, action=action, target="-",
                   patient_ins=None, status=exc.status, outcome=f"denied {exc.rule_id or exc.code}",
                   actor_structure=principal.structure)


async def find_documents(request: Request) -> Response:
    """ITI-67 by GET: the query string's parameters."""
    _negotiate(request)
    principal = await _principal(request)
    return await _find(request, principal, list(request.query_params.multi_items()))


async def find_documents_posted(request: Request) -> Response:
    """ITI-67 by POST ``DocumentReference/_search``: the form body's parameters and the query
    string's (the caller's token checked before the body is read)."""
    ctx: Context = request.app.state.ctx
    _negotiate(request)
    principal = await _principal(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM:
        raise HttpProblem(415, "not-supported", f"Content-Type {ctype or '(none)'} is not supported for "
                                                f"DocumentReference/_search: send {FORM}")
    body = await read_body(request, ctx.config.max_body)
    try:
        form = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise HttpProblem(400, "structure", "the _search body is not a UTF-8 form (name=value&…)") from None
    return await _find(request, principal, list(request.query_params.multi_items()) + form)


async def _find(request: Request, principal: Principal, items: list[tuple[str, str]]) -> Response:
    ctx: Context = request.app.state.ctx
    try:
        q = parse_query(items, strict=strict_requested(request.headers.get("prefer")))
    except HttpProblem as exc:  # a malformed search is counted in the access log too
        await run_in_threadpool(_log_denied, ctx, principal, "search", exc)
        raise
    query = urlencode(items, safe="|:,/")
    bundle = await run_in_threadpool(search, ctx.store, principal, q, _base(request), query)
    return fhir_response(bundle)


async def read_reference(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    _negotiate(request)
    principal = await _principal(request)
    res, validators, unchanged = await run_in_threadpool(read_document, ctx.store, principal,
                                                         await _logical_id(request, "read"), request.headers)
    if unchanged:
        return Response(status_code=304, headers=validators.headers())
    return fhir_response(res, headers=validators.headers())


async def read_binary(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    _negotiate(request, document=True)
    principal = await _principal(request)
    binary_id = await _logical_id(request, "retrieve")
    data, ctype, validators, unchanged = await run_in_threadpool(retrieve, ctx.store, principal, binary_id,
                                                                 request.headers)
    if unchanged:
        return Response(status_code=304, headers=validators.headers())
    accept = request.headers.get("accept", "")
    if "fhir+json" in accept or request.query_params.get("_format") is not None:
        return fhir_response(binary_resource(binary_id, data, ctype), headers=validators.headers())
    return Response(data, media_type=ctype, headers=validators.headers())


async def _logical_id(request: Request, action: str) -> str:
    """The path's logical id: a FHIR id (``[A-Za-z0-9-.]{1,64}``), else nothing by that id (404,
    counted in the access log)."""
    rid = request.path_params["id"]
    if not FHIR_ID.fullmatch(rid):
        exc = HttpProblem(404, "not-found", f"{rid[:70]!r} is not a FHIR logical id ([A-Za-z0-9-.]{{1,64}}): "
                                            "no such resource")
        await run_in_threadpool(_log_denied, request.app.state.ctx, await _principal(request), action, exc)
        raise exc
    return rid


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpProblem)
    return problem_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
    await run_in_threadpool(request.app.state.ctx.anonymous.record, request.method.lower(), "(no such endpoint)",
                            exc.status_code, code)
    text = {404: f"no such endpoint: {request.method} {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return problem_response(HttpProblem(exc.status_code, code, text, headers=dict(exc.headers or {})))


def _crash(exc: BaseException) -> tuple[int, str, bytes]:
    """The answer to an unexpected error (``ContainErrors``): a 500 OperationOutcome."""
    problem = HttpProblem(500, "exception", f"internal error ({type(exc).__name__}); nothing was stored")
    return 500, FHIR_JSON, dumps(problem.outcome())


ROUTES = [
    Route("/fhir/metadata", metadata, methods=["GET"]),
    Route("/fhir", transaction, methods=["POST"]),
    Route("/fhir/", transaction, methods=["POST"]),
    Route("/fhir/DocumentReference", find_documents, methods=["GET"]),
    Route("/fhir/DocumentReference/_search", find_documents_posted, methods=["POST"]),
    Route("/fhir/DocumentReference/{id}", read_reference, methods=["GET"]),
    Route("/fhir/Binary/{id}", read_binary, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]


def build_app(config: ServerConfig, store: Store | None = None, keys: Keys | None = None) -> Starlette:
    """The application for ``config`` (store and keys opened here when not given)."""
    if store is None:
        store = Store(config)
    if keys is None:
        keys = load_keys(config.key_path)
    handlers: dict[Any, Any] = {HttpProblem: _problem, HTTPException: _http_error}
    ctx = Context(config, store, keys)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the submission threads end with the server (tests start many in one process)
            ctx.submissions.shutdown(wait=False)

    app = Starlette(routes=ROUTES, exception_handlers=handlers, lifespan=lifespan,
                    middleware=[Middleware(ContainErrors, render=_crash, logger="segur.server")])
    app.state.ctx = ctx
    return app


def app_from_env() -> Starlette:
    """The application of a uvicorn worker process (settings from SEGUR_SERVER_CONFIG)."""
    return build_app(ServerConfig.from_env())
