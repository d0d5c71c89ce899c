"""ASGI middleware that answers an unexpected error instead of raising it on to the server: the
server would log it and close the client's keep-alive connection, so that the client's next,
valid request failed too. Used by the simulated DMP server and by the page (`segur app`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

#: renders an error as (status, content type, body)
Render = Callable[[BaseException], tuple[int, str, bytes]]


class ContainErrors:
    """Wraps an ASGI app: an exception is logged and answered with ``render`` (when no answer
    has started), never re-raised."""

    def __init__(self, app: Any, render: Render, logger: str = "segur"):
        self.app, self.render, self.log = app, render, logging.getLogger(logger)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the last line: logged, answered, not re-raised
            self.log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return
            status, ctype, body = self.render(exc)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


__all__ = ["ContainErrors", "Render"]
