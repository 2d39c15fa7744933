"""Errors mapped to HTTP in one place: every error body is ``{"detail": "<what to do>"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

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

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, {"WWW-Authenticate": 'Bearer realm="dho-gateway"'})


class TooManyItemsError(ApiError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(413, f"{count} items in one request; send at most {limit} per request")


def install_error_handlers(app: FastAPI) -> None:
    """Map our errors and an unreachable database to HTTP responses."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"detail": err.detail}, err.status_code, headers=err.headers)

    @app.exception_handler(DatabaseUnavailableError)
    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, err: Exception) -> JSONResponse:
        log.error("database unavailable", extra={"error": str(err).splitlines()[0][:300]})
        return JSONResponse(
            {"detail": "the database is not reachable; nothing was stored — try again shortly"},
            503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
