"""Checks every request passes before its handler runs (dependencies of every router, mounted by
:func:`triage.api.app.create_app`):

- a request with a body sends it as JSON (``Content-Type: application/json`` or ``…+json``),
  else 415;
- no text in the path, the query or the JSON body (keys and values, at any depth) holds NUL
  (U+0000) or an unpaired surrogate (U+D800–U+DFFF): no database stores them (PostgreSQL
  refuses NUL in text and JSON, and neither encodes a lone surrogate as UTF-8), so they are
  refused with 422 naming the field, before any handler sees them;
- no number in the JSON body is NaN or infinite (Python's JSON parser accepts ``NaN``,
  ``Infinity`` and turns ``1e400`` into infinity; JSON columns cannot hold them).

Ingest bodies are the exception: their items are judged one by one by the ingest pipeline,
which rejects a bad item (with a receipt and a dead letter) and keeps the good ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from email.message import Message
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from triage.api.errors import UnsupportedMediaTypeError
from triage.storage.repositories import UNSTORABLE_TEXT

#: The largest value of an INTEGER column (PostgreSQL's int4): every integer that reaches one
#: (a plan version, an id) is bounded by it in the request schema, so it is a 422, never a 500.
INT32_MAX = 2**31 - 1

UNSAFE_TEXT_MESSAGE = "text must not contain NUL (U+0000) or unpaired surrogates (U+D800–U+DFFF)"
UNSAFE_TEXT_TYPE = "string_unsafe_character"
NOT_FINITE_MESSAGE = "numbers must be finite: no NaN, Infinity or beyond ±1.8e308"
NOT_FINITE_TYPE = "finite_number"

Location = tuple[str | int, ...]


def is_json(content_type: str | None) -> bool:
    """True for ``application/json`` and ``application/<anything>+json`` (any parameters)."""
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def unstorable(value: Any, location: Location) -> Iterator[dict[str, Any]]:
    """A validation error for each string in ``value`` (nested dicts and lists, keys included)
    that holds a character of :data:`UNSTORABLE_TEXT`, and each number that is not finite.
    Iterative: a deeply nested body cannot exhaust the stack."""
    pending: list[tuple[Any, Location]] = [(value, location)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE_TEXT.search(item):
                yield {"loc": where, "msg": UNSAFE_TEXT_MESSAGE, "type": UNSAFE_TEXT_TYPE}
        elif isinstance(item, float):
            if not math.isfinite(item):
                yield {"loc": where, "msg": NOT_FINITE_MESSAGE, "type": NOT_FINITE_TYPE}
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and UNSTORABLE_TEXT.search(key):
                    yield {
                        "loc": (*where, key),
                        "msg": UNSAFE_TEXT_MESSAGE,
                        "type": UNSAFE_TEXT_TYPE,
                    }
                pending.append((child, (*where, key)))
        elif isinstance(item, list):
            pending.extend((child, (*where, index)) for index, child in enumerate(item))


#: At most this many errors are listed (a body can hold thousands of bad strings).
MAX_ERRORS = 20


async def checked_form_request(request: Request) -> None:
    """For the endpoints a provider calls with a form body (OpenID Connect back-channel logout):
    path and query as :func:`checked_request`; a form body is left to the endpoint (its one
    field is a signed token, validated there; FastAPI has read the form already), any other body
    is checked as :func:`checked_request` does."""
    content_type = request.headers.get("content-type") or ""
    form = content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
    await _check(request, body=not form, read_body=not form)


async def _check(request: Request, *, body: bool, read_body: bool = True) -> None:
    route = request.scope.get("route")
    has_body_field = isinstance(route, APIRoute) and route.body_field is not None
    raw_body = await request.body() if has_body_field and read_body else b""
    content_type = request.headers.get("content-type")
    if raw_body and not is_json(content_type):
        raise UnsupportedMediaTypeError(content_type)
    errors: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        errors.extend(unstorable(value, ("path", name)))
    for name, value in request.query_params.multi_items():
        errors.extend(unstorable(name, ("query",)))
        errors.extend(unstorable(value, ("query", name)))
    if body and raw_body:
        errors.extend(unstorable(await request.json(), ("body",)))
    if errors:
        errors.sort(key=lambda error: [str(part) for part in error["loc"]])
        raise RequestValidationError(errors[:MAX_ERRORS])


async def checked_request(request: Request) -> None:
    """415 for a body that is not JSON; 422 for NUL or an unpaired surrogate anywhere in the
    path, the query or the body, or a number in the body that is not finite."""
    await _check(request, body=True)


async def checked_ingest_request(request: Request) -> None:
    """As :func:`checked_request`, but the body's items are left to the ingest pipeline, which
    rejects bad ones one by one (receipt and dead letter) and stores the rest."""
    await _check(request, body=False)
