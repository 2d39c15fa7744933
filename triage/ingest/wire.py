"""What arrives on the wire, before any schema: strict JSON, and a message id found in bytes
that are not (or not entirely) a valid payload.

:func:`decode` reads a payload as the contract's JSON and nothing looser: UTF-8, no duplicate
keys, finite numbers only (no ``NaN``, ``Infinity`` or ``1e400``), no NUL character and no lone
surrogate in any string (PostgreSQL cannot store either in text, and a surrogate cannot be
written back as UTF-8), and at most :data:`MAX_DEPTH` levels of nesting. Anything else raises
:class:`WireError`, saying whether the bytes were not JSON at all or JSON the contract refuses.

:func:`recover_id` finds the top-level ``"id"`` near the start of a payload that was refused
unread (too large) or did not parse, so the gateway's receipt can name the message.

Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any, Literal

#: Nesting deeper than this is refused: a payload is an object of values and small objects
#: (``device``, ``values``, ``answers``, a status's ``devices`` list); 32 is far beyond any.
MAX_DEPTH = 32
#: How far into a payload :func:`recover_id` looks for the id (the gateway puts it second).
ID_SCAN_BYTES = 4096
#: The longest id a receipt echoes (the contract's ids are 1–64 characters).
MAX_ECHOED_ID = 64


class WireError(ValueError):
    """The payload is not the contract's JSON: ``kind`` says whether it was not JSON at all
    (``malformed_json``) or JSON the contract refuses (``schema``); the message says why."""

    def __init__(self, kind: Literal["malformed_json", "schema"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NotFiniteError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFiniteError(text)
    return value


def _constant(text: str) -> Any:
    raise _NotFiniteError(text)


_DECODERS = threading.local()


def _decoder() -> json.JSONDecoder:
    """This thread's decoder with the contract's hooks: ``json.loads(text, **hooks)`` builds a
    decoder and its scanner on every call (~2/3 of the cost of decoding a reading)."""
    decoder: json.JSONDecoder | None = getattr(_DECODERS, "decoder", None)
    if decoder is None:
        decoder = _DECODERS.decoder = json.JSONDecoder(
            object_pairs_hook=_object, parse_float=_finite, parse_constant=_constant
        )
    return decoder


def decode(payload: bytes) -> Any:
    """The JSON value of ``payload`` under the contract's rules (see the module); raises
    :class:`WireError` otherwise."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise WireError(
            "malformed_json",
            f"not JSON: not UTF-8 (byte 0x{payload[err.start]:02x} at {err.start})",
        ) from err
    try:
        if text.startswith("\ufeff"):  # as json.loads says it (decode() alone does not check)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _decoder().decode(text)
    except _DuplicateKeyError as err:
        raise WireError("schema", f"duplicate key {_shown(err.key)}") from err
    except _NotFiniteError as err:
        raise WireError(
            "schema", f"{_shown(err.text)} is not a finite number (JSON has no NaN or infinity)"
        ) from err
    except RecursionError as err:
        raise WireError("malformed_json", f"nested more than {MAX_DEPTH} levels deep") from err
    except ValueError as err:  # json.JSONDecodeError, or an integer of over 4,300 digits
        raise WireError("malformed_json", f"not JSON: {str(err)[:200]}") from err
    if _may_hold_refused_text(text):  # the walk costs as much as the parse: only when needed
        problem = _refused_text(value)
        if problem is not None:
            raise WireError("schema", problem)
    return value


#: A NUL or a surrogate can only come in as a \\u escape (strict UTF-8 and strict JSON refuse
#: them raw); a false match (an escaped backslash before "u0000") only costs the walk.
_NUL_OR_SURROGATE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _may_hold_refused_text(text: str) -> bool:
    """Whether ``text`` could hold a NUL, a lone surrogate or nesting beyond MAX_DEPTH (cheap
    checks in C; True sends the decoded value through :func:`_refused_text`)."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        return True
    return _NUL_OR_SURROGATE_ESCAPE.search(text) is not None


def _refused_text(value: Any) -> str | None:
    """Why ``value`` (decoded JSON) holds something the contract refuses, or None."""
    stack: list[tuple[Any, str, int]] = [(value, "(payload)", 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            for key, inner in item.items():
                here = key if where == "(payload)" else f"{where}.{key}"
                problem = _string_problem(key)
                if problem is not None:
                    return f"a key {problem}"
                stack.append((inner, here, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            stack.extend((inner, f"{where}[{i}]", depth + 1) for i, inner in enumerate(item))
        elif isinstance(item, str):
            problem = _string_problem(item)
            if problem is not None:
                return f"{_shown_path(where)}: {problem}"
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if not is_utf8(text):
        return "contains a lone surrogate (\\ud800–\\udfff): not a Unicode character"
    return None


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a reason, bounded, with anything unprintable escaped."""
    shown = json.dumps(text[:limit])
    return shown if len(text) <= limit else shown[:-1] + '…"'


def _shown_path(where: str) -> str:
    return _shown(where, 80)[1:-1]


# ----------------------------------------------------------------------------- the id


def recover_id(payload: bytes, scan: int = ID_SCAN_BYTES) -> str | None:
    """The top-level ``"id"`` string of a JSON object in the first ``scan`` bytes of
    ``payload``, when the payload is too large, truncated or otherwise refused; None when there
    is none there, or it could not be echoed in a receipt (longer than 64 characters, or not
    writable as UTF-8). Keys inside nested objects (``"device": {"id": …}``) do not count."""
    text = payload[:scan].decode("utf-8", errors="replace")
    n = len(text)
    i = _skip_space(text, 0)
    if i >= n or text[i] != "{":
        return None
    depth = 0
    key_next = False
    while i < n:
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            if end < 0:
                return None
            if depth == 1 and key_next:
                key_next = False
                colon = _skip_space(text, end)
                if colon >= n or text[colon] != ":":
                    return None
                value = _skip_space(text, colon + 1)
                if _string_value(text, i, end) == "id":
                    if value >= n or text[value] != '"':
                        return None
                    value_end = _string_end(text, value)
                    if value_end < 0:
                        return None
                    return _echoable(_string_value(text, value, value_end))
                i = value
                continue
            i = end
            continue
        if char in "{[":
            depth += 1
            key_next = depth == 1
        elif char in "}]":
            depth -= 1
            if depth <= 0:
                return None
        elif char == "," and depth == 1:
            key_next = True
        i += 1
    return None


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _string_end(text: str, start: int) -> int:
    """The index after the closing quote of the JSON string that opens at ``start``; -1 when it
    does not close within ``text``."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        i += 1
    return -1


def _string_value(text: str, start: int, end: int) -> str | None:
    try:
        value = json.loads(text[start:end])
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _echoable(value: str | None) -> str | None:
    if value is None or not 0 < len(value) <= MAX_ECHOED_ID or not is_utf8(value):
        return None
    if "\ufffd" in value:  # bytes that were not UTF-8 (decoded with replacement above)
        return None
    return value


def echoable_id(value: Any) -> str | None:
    """``value`` when it can stand in a receipt as the message's id: a string of 1–64
    characters writable as UTF-8 (it may break the contract's id pattern — the gateway still
    needs it to match its message); else None."""
    return _echoable(value) if isinstance(value, str) else None


# ----------------------------------------------------------------------------- HTTP bodies


def split_items(body: bytes) -> list[bytes] | None:
    """The bytes of each item of a JSON array ``body``, as sent; ``[body]`` when it is not an
    array; None when it is not UTF-8 JSON. (HTTP ingest takes one payload or an array of them:
    each item is then checked like an MQTT message, duplicate keys and all.)"""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    i = _skip_space(text, 0)
    if i >= len(text) or text[i] != "[":
        return [body]
    decoder = json.JSONDecoder()
    items: list[bytes] = []
    i = _skip_space(text, i + 1)
    if i < len(text) and text[i] == "]":
        return items if _skip_space(text, i + 1) == len(text) else None
    while True:
        try:
            _, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            return None
        items.append(text[i:end].encode("utf-8"))
        i = _skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_space(text, i + 1)
            continue
        if i < len(text) and text[i] == "]" and _skip_space(text, i + 1) == len(text):
            return items
        return None
