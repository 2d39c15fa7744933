"""The wire checks before any schema: strict JSON, the id of a refused message, HTTP items as
sent; and log lines that carry their context."""

from __future__ import annotations

import json
import logging

import pytest

from triage.ingest.wire import MAX_DEPTH, WireError, decode, recover_id, split_items
from triage.log_format import FieldsFormatter

READING = b'{"schema": "dho.reading/1", "id": "3f1c9a52-6a3e", "kind": "spo2"}'


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (READING, "3f1c9a52-6a3e"),
        (READING[:50], "3f1c9a52-6a3e"),  # cut off after the id: still named
        (READING[:40], None),  # cut off inside the id
        (b'{"device": {"id": "inner"}, "values": [{"id": 1}], "id": "outer"}', "outer"),
        (b'{"note": "a \\"quoted\\" \\\\ \\"id\\": \\"fake\\"", "id": "real"}', "real"),
        (b'{"id": "caf\\u00e9-1"}', "caf\u00e9-1"),
        (b'{"id": "x\\u0000y"}', "x\x00y"),  # JSON can carry it back in the receipt
        (b'{"id": "\\ud800"}', None),  # cannot be written as UTF-8
        (b'{"id": "\xff\xfe"}', None),  # not UTF-8
        (b'{"id": 42}', None),
        (b'{"id": "' + b"x" * 65 + b'"}', None),
        (b'["id", "x"]', None),
        (b'{"schema": "dho.reading/1", "blob": "' + b"x" * 5000 + b'", "id": "late"}', None),
        (b'{"id": "big-1", "device": {"blob": "' + b"x" * 70_000 + b'"}}', "big-1"),
        (b"", None),
    ],
    ids=lambda value: None if isinstance(value, bytes) and len(value) < 80 else "long",
)
def test_the_id_of_a_refused_message_is_recovered_when_it_can_be(
    payload: bytes, expected: str | None
) -> None:
    """A message too large to read, or cut off, still names its id in the receipt when the
    top-level "id" is near its start; ids in nested objects, or inside strings, never count."""
    assert recover_id(payload) == expected


@pytest.mark.parametrize(
    ("payload", "kind", "message"),
    [
        (b'{"a": 1, "a": 2}', "schema", 'duplicate key "a"'),
        (b'{"a": {"b": 1, "b": 1}}', "schema", 'duplicate key "b"'),
        (b'{"a": 1e400}', "schema", '"1e400" is not a finite number (JSON has no NaN or infinity)'),
        (b'{"a": -Infinity}', "schema", '"-Infinity" is not a finite number'),
        (b'{"a": ["x\\u0000"]}', "schema", "a[0]: contains a NUL character (\\u0000)"),
        (b'{"a\\u0000": 1}', "schema", "a key contains a NUL character"),
        (b'{"a": "\\udc00"}', "schema", "a: contains a lone surrogate"),
        (b'{"a": "\xff"}', "malformed_json", "not JSON: not UTF-8 (byte 0xff at 7)"),
        (b"[" * 10_000 + b"]" * 10_000, "malformed_json", "nested more than 32 levels deep"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "schema", "nested more than 32"),
        (b'{"a": ' + b"1" * 5000 + b"}", "malformed_json", "not JSON: Exceeds the limit"),
        (b'{"a": 1', "malformed_json", "not JSON: Expecting"),
    ],
)
def test_what_the_contract_refuses_is_named(payload: bytes, kind: str, message: str) -> None:
    """Each thing a JSON parser would let through and the contract refuses gets its own
    reason: duplicate keys, numbers that are not finite, NUL, lone surrogates, bytes that are
    not UTF-8, nesting deeper than 32 levels."""
    with pytest.raises(WireError) as caught:
        decode(payload)
    assert caught.value.kind == kind
    assert message in str(caught.value)


def test_nesting_to_the_limit_and_plain_payloads_pass() -> None:
    """32 levels, Unicode text and big whole numbers are fine."""
    deep = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert decode(deep) is not None
    assert decode('{"model": "Blodtrykksmåler", "n": 123456789012345678901}'.encode()) == {
        "model": "Blodtrykksmåler",
        "n": 123456789012345678901,
    }


def test_http_items_are_split_as_sent() -> None:
    """An HTTP array body is split into the items' own bytes (so duplicate keys and 1e400
    reach the checks); a single payload is itself; bytes that are not JSON give None."""
    assert split_items(b' [ {"a": 1, "a": 2} , {"b": 1e400} ] ') == [
        b'{"a": 1, "a": 2}',
        b'{"b": 1e400}',
    ]
    assert split_items(b'{"a": 1}') == [b'{"a": 1}']
    assert split_items(b"[]") == []
    assert split_items(b"[1, 2") is None
    assert split_items(b"[1] 2") is None
    assert split_items(b"[\xff]") is None


def test_log_lines_carry_their_context_safely() -> None:
    """An operator grepping the log at 3 a.m. finds the reason code, topic, gateway and
    message id on the line itself; a value with spaces, quotes, newlines or NUL is quoted
    and escaped, so it cannot forge another line."""
    record = logging.LogRecord(
        "triage.ingest.pipeline", logging.INFO, "", 0, "message rejected", None, None
    )
    record.__dict__.update(
        reason_code="schema",
        topic="dho/v1/gw-1/readings",
        gateway_id="gw-1",
        message_id='x\x00y\n2026 ERROR forged "line"',
        source=None,
    )
    line = FieldsFormatter().format(record)
    assert "\n" not in line
    assert line.endswith(
        " INFO triage.ingest.pipeline: message rejected reason_code=schema "
        "topic=dho/v1/gw-1/readings gateway_id=gw-1 "
        + "message_id="
        + json.dumps('x\x00y\n2026 ERROR forged "line"')
        + " source=None"
    )


def _reference(payload: bytes) -> object:
    """``decode`` as it was: ``json.loads`` with the hooks on every call."""
    from triage.ingest import wire

    text = payload.decode("utf-8")
    return json.loads(
        text,
        object_pairs_hook=wire._object,
        parse_float=wire._finite,
        parse_constant=wire._constant,
    )


@pytest.mark.parametrize(
    "payload",
    [
        b'\xef\xbb\xbf{"id": "a"}',  # a BOM: json.loads refuses it, so does decode
        b'{"a": 1, "b": [1.5, -0, 2e3, "x"], "c": {"d": null, "e": true}}',
        b'  {"a": "\\u00e6\\ud83d\\ude00"}  ',
        b'{"a": 1} trailing',
        b"",
        b'{"a": 1, "a": 2}',
        b"[NaN]",
        b"[1e400]",
        b'{"a": [}',
    ],
)
def test_decode_reads_as_json_loads_with_the_hooks(payload: bytes) -> None:
    """The decoder is kept per thread (building one per call cost ~2/3 of decoding a reading):
    the same values, the same errors as ``json.loads`` with the hooks."""
    try:
        expected: object = ("ok", _reference(payload))
    except (ValueError, RecursionError) as err:
        expected = ("error", type(err).__name__, str(err))
    try:
        got: object = ("ok", decode(payload))
    except WireError as err:
        cause = err.__cause__
        got = ("error", type(cause).__name__, str(cause))
    assert got == expected


def test_decode_from_several_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    payloads = [json.dumps({"id": f"r-{i}", "values": {"v": i + 0.5}}).encode() for i in range(400)]
    with ThreadPoolExecutor(4) as pool:
        decoded = list(pool.map(decode, payloads))
    assert decoded == [json.loads(p) for p in payloads]
