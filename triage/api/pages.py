"""Pagination for every list that can grow: ``limit`` and an opaque ``cursor``; the response
carries ``next_cursor`` (null on the last page)."""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from triage.api.errors import ApiError
from triage.api.input_checks import unstorable

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
]
CursorQuery = Annotated[
    str | None, Query(description="`next_cursor` of the previous page; omit for the first.")
]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class InvalidCursorError(ApiError):
    """400 for a cursor that is not the ``next_cursor`` of this list's previous page."""

    def __init__(self, detail: str = "pass `next_cursor` from the previous page as is") -> None:
        super().__init__(400, f"invalid cursor: {detail}")


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Longer than any cursor this API gives out (they hold an offset or a time and an id).
MAX_CURSOR_LENGTH = 500
#: The last offset an offset-paged list accepts (far beyond any list's length; keeps the
#: database's OFFSET within its integer type).
MAX_OFFSET = 2**31 - 1
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor holds; 400 for anything that is not a cursor this API gave out
    (wrong alphabet, not JSON, not an object, too long)."""
    if cursor is None:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        raise InvalidCursorError
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as err:
        raise InvalidCursorError from err
    if not isinstance(value, dict) or not _storable(value):
        raise InvalidCursorError
    return value


#: A cursor's integers (ids, offsets) reach the database: at most a BIGINT.
_MAX_CURSOR_INT = 2**63 - 1


def _storable(position: dict[str, Any]) -> bool:
    """A cursor is made by the client: its text and numbers are checked as a body's are."""
    if next(unstorable(position, ("cursor",)), None) is not None:
        return False
    pending: list[Any] = list(position.values())
    while pending:
        item = pending.pop()
        if isinstance(item, int) and abs(item) > _MAX_CURSOR_INT:
            return False
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def offset_page(items: list[T], offset: int, limit: int) -> Page[T]:
    """A page from ``limit + 1`` fetched items starting at ``offset``."""
    more = len(items) > limit
    return Page[T](
        items=items[:limit],
        next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
    )


def cursor_offset(cursor: str | None) -> int:
    """The offset an offset-paged list's ``next_cursor`` holds (0 without a cursor); 400 for a
    cursor of another list or any other value."""
    position = decode_cursor(cursor)
    if position is None:
        return 0
    offset = position.get("offset")
    if (
        position.keys() != {"offset"}
        or not isinstance(offset, int)
        or isinstance(offset, bool)
        or not 0 <= offset <= MAX_OFFSET
    ):
        raise InvalidCursorError
    return offset
