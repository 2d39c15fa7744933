"""Errors mapped to HTTP in one place, as RFC 9457 problem details
(``application/problem+json``): ``type``, ``title``, ``status``, ``detail`` (what to do) and, for
validation errors, ``errors`` — each with the field's location and what is wrong with it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.ingest.pipeline import DatabaseUnavailableError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 30


class ApiError(Exception):
    """An error the client can act on: an HTTP status and a message saying what to do."""

    def __init__(
        self, status_code: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}


class UnauthorizedError(ApiError):
    """401 with the bearer challenge."""

    def __init__(self, detail: str, realm: str = "dho-gateway") -> None:
        super().__init__(401, detail, {"WWW-Authenticate": f'Bearer realm="{realm}"'})


class ForbiddenError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class NotFoundError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


class ConflictError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)


class TooManyRequestsError(ApiError):
    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(429, detail, {"Retry-After": str(max(1, retry_after_s))})


class UnsupportedMediaTypeError(ApiError):
    def __init__(self, content_type: str | None) -> None:
        sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        super().__init__(
            415,
            f"request bodies are JSON: send 'Content-Type: application/json' ({sent} was sent)",
            {"Accept": "application/json"},
        )


class TooManyItemsError(ApiError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(413, f"{count} items in one request; send at most {limit} per request")


#: An error response in another format than problem details, for the paths under a prefix
#: (the FHIR API answers an OperationOutcome): ``(status, detail, headers, error)`` → response,
#: where ``error`` is the exception that was mapped (None for an unexpected one).
ErrorFormat = Callable[[int, str, Mapping[str, str], Exception | None], Response]


def error_format(formats: Mapping[str, ErrorFormat], path: str) -> ErrorFormat | None:
    """The format for ``path``: the one whose prefix is the path or a parent of it."""
    for prefix, render in formats.items():
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return render
    return None


def install_error_handlers(app: FastAPI, formats: Mapping[str, ErrorFormat] | None = None) -> None:
    """Map our errors and an unreachable database to HTTP responses: problem details, or
    ``formats``' answer on the paths under one of its prefixes."""
    other_formats = dict(formats or {})

    def answer(
        request: Request,
        status: int,
        detail: str,
        headers: Mapping[str, str] | None,
        err: Exception,
        errors: list[dict[str, Any]] | None = None,
    ) -> Response:
        render = error_format(other_formats, request.url.path)
        if render is not None:
            return render(status, detail, dict(headers or {}), err)
        return problem(status, detail, headers=dict(headers or {}), errors=errors)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> Response:
        return answer(request, err.status_code, err.detail, err.headers, err)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> Response:
        return answer(request, err.status_code, str(err.detail), err.headers, err)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(part) for part in error["loc"]),
                "message": error["msg"],
                "type": error["type"],
            }
            for error in err.errors()
        ]
        where = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return answer(request, 422, f"the request is not valid — {where}", None, err, errors)

    @app.exception_handler(DatabaseUnavailableError)
    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, err: Exception) -> Response:
        log.error("database unavailable", extra={"error": str(err).splitlines()[0][:300]})
        return answer(
            request,
            503,
            "the database is not reachable; nothing was stored — try again shortly",
            {"Retry-After": str(RETRY_AFTER_S)},
            err,
        )


PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


class ProblemResponse(JSONResponse):
    """``application/problem+json``; text that cannot be UTF-8 (an unpaired surrogate echoed
    from a request) is written as a JSON escape instead of failing the response."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


class UnexpectedErrors:
    """Pure ASGI middleware: an exception no handler mapped becomes a 500 problem-details
    response with a reference that is also in the log line (with the traceback), instead of
    Starlette's plain-text "Internal Server Error" (in ``formats``' format on its paths)."""

    def __init__(self, app: ASGIApp, formats: Mapping[str, ErrorFormat] | None = None) -> None:
        self.app = app
        self.formats = dict(formats or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            log.exception(
                "unexpected error on %s %s (reference %s)",
                scope["method"],
                scope["path"],
                reference,
            )
            if started:  # too late for a problem response; the server closes the connection
                raise
            detail = (
                f"an unexpected error stopped this request (reference {reference}, in the "
                "service's log); try again, and tell the operator the reference if it persists"
            )
            render = error_format(self.formats, scope["path"])
            response = render(500, detail, {}, None) if render else problem(500, detail)
            await response(scope, receive, send)


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem-details response."""
    body: dict[str, Any] = {
        "type": f"https://dho.example/problems/{PROBLEM_TYPES.get(status, 'error')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status, headers=headers)
