"""Post ITI-65 bundles to any FHIR endpoint at a given rate and concurrency (httpx, asyncio),
bounded in count and time, with a retry policy for a failing endpoint: refused connections,
timeouts, 5xx and 429 are counted and retried with backoff; nothing escapes as a traceback.
Each document ends with the endpoint's verdict, or the failure that stopped it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.server.emit_documents import Emission


@dataclass
class Policy:
    """How to post: rate (documents/s, 0 = as fast as possible), concurrency, bounds, retries."""

    rate: float = 200.0
    concurrency: int = 16
    max_documents: int | None = None
    max_seconds: float | None = None
    retries: int = 3
    timeout_s: float = 10.0
    backoff_s: float = 0.25


@dataclass
class Result:
    """What happened to one document."""

    emission: Emission
    observed: str  # the endpoint's verdict, or failed:<kind>, or not_sent
    http_status: int | None = None
    attempts: int = 0
    latency_ms: float | None = None  # of the attempt that gave the verdict


@dataclass
class Run:
    """All results, the failures met on the way (retried or not) and the wall time."""

    results: list[Result] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    wall_s: float = 0.0


def verdict_of(status: int, headers: Any, body: bytes) -> str:
    """The DMP verdict an answer carries: accepted for 2xx; for a refusal, the X-DMP-Verdict
    header, else the OperationOutcome's "DMP verdict:" or first "DMP reason:" by precedence,
    else ``refused_<status>``."""
    if 200 <= status < 300:
        return "accepted"
    header = headers.get("x-dmp-verdict") if headers is not None else None
    if header:
        return str(header)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    reasons = set()
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        for issue in data.get("issue") or []:
            diag = str(issue.get("diagnostics", "")) if isinstance(issue, dict) else ""
            if diag.startswith("DMP verdict: "):
                return diag[len("DMP verdict: "):]
            if diag.startswith("DMP reason: "):
                reasons.add(diag[len("DMP reason: "):])
    from agents.dmp_rules import precedence  # the one rule table, read at each answer

    for r in precedence():
        if r in reasons:
            return r
    return f"refused_{status}"


def is_fhir(body: bytes) -> bool:
    """Whether an answer's body is a FHIR resource (a JSON object with a resourceType)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("resourceType"), str) and bool(data["resourceType"])


def _headers(token: str | None) -> dict[str, str]:
    """A FHIR POST's headers, with the bearer token if any."""
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _wait_for_slot(next_slot: list[float], interval: float) -> None:
    """Wait for the next sending slot at the policy's rate (slots ``interval`` seconds apart)."""
    slot = max(next_slot[0], time.monotonic())
    next_slot[0] = slot + interval
    wait = slot - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


async def _post_once(client: Any, url: str, body: bytes, headers: dict[str, str]) -> tuple[str | None, Any]:
    """One POST: (None, the answer), or (what went wrong on the way, None)."""
    import httpx  # with the client (start-up time)

    try:
        return None, await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return "timeout", None
    except httpx.ConnectError:
        return "connection_refused", None
    except (httpx.HTTPError, OSError) as exc:
        return type(exc).__name__, None


async def post_all(url: str, items: list[Emission], policy: Policy,
                   token_for: Callable[[Emission], str | None],
                   progress: Callable[[int, int], None] | None = None) -> Run:
    """Post every emission (in order, within the policy's bounds); never raises for the
    endpoint's behaviour."""
    import httpx

    run = Run()
    todo = items[: policy.max_documents] if policy.max_documents is not None else list(items)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(todo)):
        queue.put_nowait(i)
    results: list[Result | None] = [None] * len(todo)
    t0 = time.monotonic()
    deadline = t0 + policy.max_seconds if policy.max_seconds else None
    interval = 1.0 / policy.rate if policy.rate > 0 else 0.0
    next_slot = [t0]
    done = [0]
    limits = httpx.Limits(max_connections=policy.concurrency, max_keepalive_connections=policy.concurrency)
    timeout = httpx.Timeout(policy.timeout_s)

    async def one(client: httpx.AsyncClient, e: Emission) -> Result:
        body = json.dumps(e.bundle(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = _headers(token_for(e))
        res = Result(e, "not_sent")
        for attempt in range(policy.retries + 1):
            if deadline is not None and time.monotonic() > deadline:
                break
            res.attempts = attempt + 1
            start = time.perf_counter()
            kind, r = await _post_once(client, url, body, headers)
            if r is not None:
                if r.status_code >= 500 or r.status_code == 429:
                    kind = f"http_{r.status_code}"
                    res.http_status = r.status_code
                elif 200 <= r.status_code < 300 and not is_fhir(r.content):
                    res.http_status = r.status_code  # "accepted" without a FHIR answer is no verdict
                    run.failures["not_fhir"] += 1
                    res.observed = "failed:not_fhir"
                    return res
                else:
                    res.latency_ms = (time.perf_counter() - start) * 1000
                    res.http_status = r.status_code
                    res.observed = verdict_of(r.status_code, r.headers, r.content)
                    return res
            run.failures[kind] += 1
            res.observed = f"failed:{kind}"
            if attempt < policy.retries:
                await asyncio.sleep(min(policy.backoff_s * 2 ** attempt, 2.0))
        return res

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if deadline is not None and time.monotonic() > deadline:
                results[i] = Result(todo[i], "not_sent")
                continue
            if interval:
                await _wait_for_slot(next_slot, interval)
            results[i] = await one(client, todo[i])
            done[0] += 1
            if progress is not None:
                progress(done[0], len(todo))

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        await asyncio.gather(*(worker(client) for _ in range(max(1, policy.concurrency))))
    run.wall_s = time.monotonic() - t0
    run.results = [r if r is not None else Result(todo[i], "not_sent") for i, r in enumerate(results)]
    return run
