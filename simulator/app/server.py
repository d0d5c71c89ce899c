"""The web page's HTTP side (FastAPI): two server-rendered pages, a JSON API, files to download.

Pages: ``/`` (planner) and ``/teaching``; ``?lang=en`` switches the language (French by
default). Every script and style is served from ``/static`` (no network needed). A bad form
value is answered 422 with ``{"errors": {field: message}}``; nothing reaches the page as a
traceback.
"""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.app import i18n, lever_effects, levers
from simulator.app.jobs import JobQueue, QueueFull, cache_key
from simulator.app.planner_run import RESULTS
from simulator.app.teaching import World
from simulator.app.teaching_source import WORLD, child
from simulator.core import strict_json
from simulator.core.contain_errors import ContainErrors
from simulator.core.errors import SegurError

HERE = Path(__file__).resolve().parent
#: a run form's JSON: at most this many bytes (413 beyond), levels (422) and items an array (413)
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_DEPTH = 16
MAX_FORM_ITEMS = 200
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "segur-testbed" / "app"


class Teaching:
    """The demo territory, built once in a worker process and then served from memory."""

    def __init__(self, folder: Path, ctx: Any):
        self.folder = folder
        self.ctx = ctx
        self.world: World | None = None
        self.error = ""
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.proc: Any = None

    def start(self) -> None:
        with self.lock:
            if self.world is not None or self.thread is not None:
                return
            if (self.folder / WORLD).exists():
                self.world = World(self.folder)
                return
            self.thread = threading.Thread(target=self._build, name="segur-app-teaching", daemon=True)
            self.thread.start()

    def _build(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        parent, end = self.ctx.Pipe(duplex=False)
        self.proc = self.ctx.Process(target=child, args=(str(self.folder), end), name="segur-teaching")
        self.proc.start()
        end.close()
        try:
            kind, value = parent.recv()
        except EOFError:
            kind, value = "failed", f"the demo process ended (exit code {self.proc.exitcode})"
        self.proc.join()
        if kind == "done":
            self.world = World(self.folder)
        else:
            self.error = str(value)

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()

    def state(self) -> str:
        return "ready" if self.world is not None else ("failed" if self.error else "building")


def _lang(request: Request) -> str:
    return i18n.check_lang(request.query_params.get("lang", "fr"))


def _errors(errors: dict[str, str], lang: str) -> JSONResponse:
    return JSONResponse({"errors": errors, "message": i18n.text("form_error", lang)}, status_code=422)


def create_app(cache_dir: Path | None = None, workers: int = 2, max_waiting: int = 8, stale_s: float = 20.0,
               start_method: str = "forkserver", teaching: bool = True,
               replications: int = levers.DEFAULT_REPLICATIONS) -> FastAPI:
    """The application; runs go to ``workers`` processes, results are cached in ``cache_dir``;
    ``replications``: the form's default (a band needs more than one)."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.jobs = JobQueue(cache / "runs", workers=workers, max_waiting=max_waiting, stale_s=stale_s,
                                  start_method=start_method)
        app.state.teaching = Teaching(cache / "teaching", app.state.jobs.ctx)
        if teaching:
            app.state.teaching.start()
        yield
        app.state.jobs.close()
        app.state.teaching.close()

    app = FastAPI(title="segur app", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.default_replications = replications
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    def crash(exc: BaseException) -> tuple[int, str, bytes]:  # never a traceback to the page
        return 500, "application/json", json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()

    # answered, not raised on: the client's keep-alive connection stays usable
    app.add_middleware(ContainErrors, render=crash, logger="segur.app")

    app.include_router(pages)
    app.include_router(planner)
    app.include_router(teaching_api)
    return app


pages = APIRouter()  # the two pages
planner = APIRouter()  # the planner's API: scenarios, levers, runs and their files
teaching_api = APIRouter()  # the teaching territory's API


# -- pages ----------------------------------------------------------------------------
def page(request: Request, name: str, view: str) -> HTMLResponse:
    lang = _lang(request)
    other = "en" if lang == "fr" else "fr"
    return TEMPLATES.TemplateResponse(request, name, {
        "lang": lang, "other": other, "t": i18n.all_text(lang), "view": view,
        "texts_json": json.dumps(i18n.all_text(lang), ensure_ascii=False),
        "library": levers.library(lang), "default_replications": request.app.state.default_replications,
    })


@pages.get("/", response_class=HTMLResponse)
def planner_page(request: Request) -> HTMLResponse:
    return page(request, "planner.html", "planner")


@pages.get("/teaching", response_class=HTMLResponse)
def teaching_page(request: Request) -> HTMLResponse:
    request.app.state.teaching.start()
    return page(request, "teaching.html", "teaching")


@pages.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


# -- planner API ----------------------------------------------------------------------
@planner.get("/api/scenarios")
def scenarios(request: Request) -> list[dict[str, str]]:
    return levers.library(_lang(request))


@planner.get("/api/scenarios/{name}/levers")
def scenario_levers(name: str, request: Request) -> JSONResponse:
    lang = _lang(request)
    try:
        lv = levers.levers_for(name)
    except SegurError as exc:
        return JSONResponse({"error": exc.message}, status_code=404)
    shipped = lever_effects.read(name)
    return JSONResponse({"scenario": name, "levers": [x.public(lang) for x in lv],
                         "effects": shipped[0] if shipped else None, "effects_meta": shipped[1] if shipped else None,
                         "limits": {"scale_max": levers.MAX_SCALE, "replications_max": levers.MAX_REPLICATIONS}})


@planner.post("/api/runs")
async def submit(request: Request) -> JSONResponse:
    lang = _lang(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return JSONResponse({"errors": {"body": f"above {MAX_FORM_BYTES:,} bytes"}}, status_code=413)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return JSONResponse({"errors": {"body": f"above {MAX_FORM_BYTES:,} bytes"}}, status_code=413)
    try:  # strict: no duplicate key, NaN, huge number, control character; bounded depth and size
        body = strict_json.loads(raw, max_depth=MAX_FORM_DEPTH, max_items=MAX_FORM_ITEMS)
    except strict_json.JsonRefused as exc:
        if exc.status == 413:
            return JSONResponse({"errors": {"body": exc.message}}, status_code=413)
        return _errors({"body": exc.message}, lang)
    if not isinstance(body, dict):
        return _errors({"body": "a JSON object is expected"}, lang)
    lang = i18n.check_lang(str(body.get("lang", lang)))
    body["lang"] = lang
    errors: dict[str, str] = {}
    try:
        req = levers.RunRequest.model_validate(body)
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e["loc"] else "body": levers._message(e, lang) for e in exc.errors()}
        try:  # the levers too, so that every bad field gets its message at once
            req = levers.RunRequest(scenario=str(body.get("scenario", "")), levers=body.get("levers") or {}, lang=lang)
        except (ValidationError, TypeError):
            return _errors(errors, lang)
    try:
        scenario, chosen = levers.check(req)
    except levers.FormErrors as exc:
        return _errors({**errors, **exc.errors}, lang)
    if errors:
        return _errors(errors, lang)
    key = cache_key(req.scenario, chosen, req.seed, req.scale, req.replications)
    meta = {"scenario": req.scenario, "levers": chosen, "seed": req.seed, "scale": req.scale,
            "replications": req.replications, "key": key, "lang": lang}
    spec = {"scenario": scenario.model_dump(mode="json"), "replications": req.replications, "meta": meta}
    try:
        job = request.app.state.jobs.submit(key, spec)
    except QueueFull as exc:
        return JSONResponse({"error": str(exc)}, status_code=503)
    return JSONResponse(request.app.state.jobs.status(job.id), status_code=202)


@planner.get("/api/jobs/{job_id}")
def job_status(job_id: str, request: Request) -> JSONResponse:
    st = request.app.state.jobs.status(job_id)
    if st is None:
        return JSONResponse({"error": f"no job {job_id}"}, status_code=404)
    return JSONResponse(st)


@planner.post("/api/jobs/{job_id}/cancel")
def job_cancel(job_id: str, request: Request) -> JSONResponse:
    ok = request.app.state.jobs.cancel(job_id)
    return JSONResponse({"cancelled": ok}, status_code=200 if ok else 409)


def _folder(request: Request, key: str) -> Path | None:
    if not key.isalnum():
        return None
    return request.app.state.jobs.results_path(key)


@planner.get("/api/runs/{key}/summary")
def run_summary(key: str, request: Request) -> Response:
    p = request.app.state.jobs.summary_path(key) if key.isalnum() else None
    if p is None:
        return JSONResponse({"error": f"no finished run {key}"}, status_code=404)
    return FileResponse(p, media_type="application/json")


@planner.get("/api/runs/{key}/results.zip")
def run_zip(key: str, request: Request) -> Response:
    folder = _folder(request, key)
    if folder is None:
        return JSONResponse({"error": f"no results folder for {key} (yet)"}, status_code=404)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{key}/{p.relative_to(folder)}")
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="segur-{key}.zip"'})


@planner.get("/api/runs/{key}/tables/{name}.csv")
def run_csv(key: str, name: str, request: Request) -> Response:
    folder = _folder(request, key)
    if folder is None or not name.replace("_", "").isalnum() or not (folder / f"{name}.csv").exists():
        return JSONResponse({"error": f"no table {name} for {key}"}, status_code=404)
    return FileResponse(folder / f"{name}.csv", media_type="text/csv", filename=f"{name}.csv")


@planner.get("/api/runs/{key}/tables")
def run_tables(key: str, request: Request) -> JSONResponse:
    folder = _folder(request, key)
    if folder is None:  # not an error: the page asks while the folder is being written
        return JSONResponse({"ready": False, "tables": []})
    return JSONResponse({"ready": True, "tables": sorted(p.stem for p in folder.glob("*.csv"))})


@planner.get("/api/runs/{key}/report.html")
def run_report(key: str, request: Request) -> Response:
    lang = _lang(request)
    folder = _folder(request, key)
    if folder is None:
        return JSONResponse({"error": f"no results folder for {key} (yet)"}, status_code=404)
    if lang == "fr" and (folder / "report.html").exists():
        return FileResponse(folder / "report.html", media_type="text/html")
    target = folder.parent / f"report_{lang}"
    built = sorted(target.glob("report*.html"))
    if built:
        page = built[0]
    else:  # built once, here (a few seconds), then kept
        from reports import build_report
        from simulator.engine.results import Results

        page = build_report(Results.load(folder), target, lang=lang)
    return FileResponse(page, media_type="text/html")


# -- teaching API ---------------------------------------------------------------------
def world(request: Request) -> World | None:
    t = request.app.state.teaching
    t.start()
    return t.world


def _teaching_answer(request: Request, what: str, find: Any) -> JSONResponse:
    """The demo territory's answer ``find(world)``: 503 while it is being built, 404 when
    ``find`` finds nothing (``what`` names it)."""
    w = world(request)
    if w is None:
        return JSONResponse({"error": "the demo territory is still being built"}, status_code=503)
    out = find(w)
    return JSONResponse(out) if out is not None else JSONResponse({"error": f"no {what}"}, status_code=404)


@teaching_api.get("/api/teaching/world")
def teaching_world(request: Request) -> JSONResponse:
    t = request.app.state.teaching
    w = world(request)
    if w is None:
        return JSONResponse({"state": t.state(), "error": t.error}, status_code=200 if not t.error else 500)
    return JSONResponse({"state": "ready", **w.overview(_lang(request))})


def _day(request: Request, w: World) -> int:
    try:
        n = int(request.query_params.get("day", w.n_days - 1))
    except ValueError:
        n = -1
    return n


@teaching_api.get("/api/teaching/day/{n}")
def teaching_day(n: int, request: Request) -> JSONResponse:
    w = world(request)
    if w is None:
        return JSONResponse({"error": "the demo territory is still being built"}, status_code=503)
    if not 0 <= n < w.n_days:
        return JSONResponse({"errors": {"day": f"must be between 0 and {w.n_days - 1}"}}, status_code=422)
    return JSONResponse(w.day(n, _lang(request)))


@teaching_api.get("/api/teaching/patient/{pid}")
def teaching_patient(pid: int, request: Request) -> JSONResponse:
    return _teaching_answer(request, f"patient {pid}", lambda w: w.patient(pid, _day(request, w), _lang(request)))


@teaching_api.get("/api/teaching/actor/{actor_id}")
def teaching_actor(actor_id: str, request: Request) -> JSONResponse:
    return _teaching_answer(request, f"actor {actor_id}", lambda w: w.actor(actor_id, _day(request, w), _lang(request)))


@teaching_api.get("/api/teaching/fhir/{item_id}")
def teaching_fhir(item_id: str, request: Request) -> JSONResponse:
    return _teaching_answer(request, f"document {item_id}", lambda w: w.fhir(item_id))


@pages.get("/planner")
def planner_alias(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/?lang={_lang(request)}")


__all__ = ["create_app", "default_cache", "RESULTS"]
