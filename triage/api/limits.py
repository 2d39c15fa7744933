"""Request bodies limited before anyone reads them: a pure ASGI middleware.

A request whose ``Content-Length`` is over the limit gets 413 at once, unread; any other body
(chunked, or a ``Content-Length`` that lies) is read and counted chunk by chunk, and the
reading stops with 413 as soon as it passes the limit — so a client can make the service hold
at most one limit's worth of bytes per request. A body within the limit is handed to the
application unchanged. Limits: ``DHO_API_MAX_BODY_BYTES`` for every request,
``DHO_API_MAX_INGEST_BODY_BYTES`` for the ingest paths.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.api.errors import ErrorFormat, error_format, problem

log = logging.getLogger(__name__)


class BodyLimit:
    """Answers 413 (problem details) to a request body over ``max_bytes`` — over
    ``ingest_max_bytes`` for a path in ``ingest_paths`` — without reading more of it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        ingest_max_bytes: int,
        ingest_paths: Collection[str],
        formats: Mapping[str, ErrorFormat] | None = None,
    ) -> None:
        self.app = app
        self.formats = dict(formats or {})
        self.max_bytes = max_bytes
        self.ingest_max_bytes = ingest_max_bytes
        self.ingest_paths = frozenset(ingest_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.ingest_max_bytes if scope["path"] in self.ingest_paths else self.max_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            seen = f"Content-Length {int(declared)}"
            await _too_large(scope, receive, send, limit, seen, self.formats)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                seen = f"more than {limit} bytes sent"
                await _too_large(scope, receive, send, limit, seen, self.formats)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next (its
    disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
    seen: str,
    formats: Mapping[str, ErrorFormat],
) -> None:
    log.warning(
        "request body refused with 413 on %s %s: %s, the limit is %d bytes",
        scope["method"],
        scope["path"],
        seen,
        limit,
    )
    detail = (
        f"the request body is larger than this endpoint accepts ({limit} bytes); nothing was "
        "read or stored — send less per request"
    )
    headers = {"Connection": "close"}
    render = error_format(formats, scope["path"])
    response = (
        render(413, detail, headers, None) if render else problem(413, detail, headers=headers)
    )
    await response(scope, receive, send)
