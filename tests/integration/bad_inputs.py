"""Hostile payloads for the ingest fuzz tests: byte-level poison (NUL, lone surrogates, bytes
that are not UTF-8, 10,000-deep nesting, ``1e400``, duplicate keys) and a bad value in every
field of every payload type (``dho.reading/1``, ``dho.report/1``, gateway status).

Each case is ``(channel, payload bytes, message id the receipt can name or None)``. Every one
must end rejected (``schema``, ``malformed_json``, or ``questionnaire`` for answers that are
no options) with a reason and a dead letter holding its
bytes, and must never stop ingest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Stands for a raw JSON value in a payload before it is written out.
_RAW = "\x01raw\x01"

#: Bad JSON values that no field may hold (written raw: json.dumps could not write most).
ANY_FIELD: dict[str, str] = {
    "nul": '"x\\u0000y"',
    "lone_surrogate": '"\\ud800"',
    "1e400": "1e400",
    "nan": "NaN",
    "minus_infinity": "-Infinity",
    "deep_10000": "[" * 10_000 + "]" * 10_000,
    "deep_40": "[" * 40 + "]" * 40,
}

#: Times the contract refuses: it says ISO 8601 with seconds and the UTC offset.
TIMES: dict[str, str] = {
    "epoch": "1700000000",
    "epoch_as_text": '"1700000000"',
    "epoch_float": "1700000000.5",
    "no_offset": '"2026-11-23T08:14:05"',
    "space_for_t": '"2026-11-23 08:14:05+01:00"',
    "no_seconds": '"2026-11-23T08:14+01:00"',
    "date_only": '"2026-11-23"',
    "year_1": '"0001-01-01T00:00:00+01:00"',
    "year_9999": '"9999-12-31T23:59:59-01:00"',
    "text": '"yesterday"',
}


@dataclass(frozen=True)
class BadInput:
    channel: str
    payload: bytes
    message_id: str | None  # what the receipt and the dead letter can name


def reading(id_: str, at: datetime) -> dict[str, Any]:
    return {
        "schema": "dho.reading/1",
        "id": id_,
        "kind": "spo2",
        "measured_at": at.isoformat(),
        "received_at": at.isoformat(),
        "values": {"spo2": 95, "pulse": 70},
        "device": {"profile": "plx", "model": "test oximeter"},
    }


def report(id_: str, at: datetime) -> dict[str, Any]:
    return {
        "schema": "dho.report/1",
        "id": id_,
        "questionnaire": "copd-daily",
        "answered_at": at.isoformat(),
        "received_at": at.isoformat(),
        "answers": {
            "breathlessness": "as_usual",
            "cough": "as_usual",
            "sputum_amount": "as_usual",
            "sputum_colour": "usual",
            "reliever_use": "as_usual",
            "sleep": "as_usual",
            "overall": "as_usual",
            "chest_pain": "no",
            "new_confusion": "no",
        },
    }


def status() -> dict[str, Any]:
    return {"online": True, "depth": 0, "devices": [{"address": "A4:C1:38:00:11:22"}]}


def _with(payload: dict[str, Any], path: str, raw: str) -> bytes:
    """``payload`` with the field at ``path`` (``values.spo2``) set to the raw JSON ``raw``."""
    copy = json.loads(json.dumps(payload))
    target = copy
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = _RAW
    return json.dumps(copy).replace(json.dumps(_RAW), raw).encode()


def _nameable_id(base: dict[str, Any], path: str, bad: str) -> str | None:
    """The id a receipt can name: the payload's own, unless the id itself is what is broken
    (a NUL is still nameable: JSON can carry it) or the broken field before it is too long to
    read past."""
    if "id" not in base:
        return None
    if path == "id":
        return "x\x00y" if bad == "nul" else None
    if path == "schema" and bad == "deep_10000":
        return None
    return str(base["id"])


def cases(at: datetime) -> dict[str, BadInput]:
    """Every hostile input, by a readable name."""
    found: dict[str, BadInput] = {}

    def add(channel: str, base: dict[str, Any], path: str, bad: dict[str, str]) -> None:
        for name, raw in bad.items():
            found[f"{channel}.{path}={name}"] = BadInput(
                channel, _with(base, path, raw), _nameable_id(base, path, name)
            )

    wrong_type = {"object": "{}", "list": "[]", "null": "null"}
    for n, path in enumerate(
        [
            "schema",
            "id",
            "kind",
            "measured_at",
            "received_at",
            "values",
            "values.spo2",
            "values.pulse",
            "device",
            "device.model",
        ]
    ):
        base = reading(f"fuzz-r{n}", at)
        add("readings", base, path, ANY_FIELD)
        if path == "device":  # free-form: any object will do
            add("readings", base, path, {k: v for k, v in wrong_type.items() if k != "object"})
        elif path != "device.model":
            add("readings", base, path, wrong_type)
        if path.endswith("_at"):
            add("readings", base, path, TIMES)
        if path == "received_at":  # optional: null is allowed
            del found["readings.received_at=null"]
    for n, path in enumerate(
        ["schema", "id", "questionnaire", "answered_at", "received_at", "answers", "answers.cough"]
    ):
        base = report(f"fuzz-q{n}", at)
        add("reports", base, path, ANY_FIELD)
        add("reports", base, path, wrong_type)
        if path.endswith("_at"):
            add("reports", base, path, TIMES)
        if path == "received_at":
            del found["reports.received_at=null"]
    for path in ["online", "depth", "devices"]:
        add("status", status(), path, ANY_FIELD)
    add("status", status(), "online", {"yes": '"yes"', "one": "1", **wrong_type})
    # byte level: the whole message
    good = json.dumps(reading("fuzz-bytes", at)).encode()
    found["readings=not_utf8"] = BadInput(
        "readings", good.replace(b"test oximeter", b"test \xff\xfe oximeter"), "fuzz-bytes"
    )
    found["readings=duplicate_key"] = BadInput(
        "readings",
        good.replace(b'"kind": "spo2"', b'"kind": "spo2", "kind": "pulse"'),
        "fuzz-bytes",
    )
    found["readings=duplicate_id"] = BadInput(
        "readings",
        good.replace(b'"id": "fuzz-bytes"', b'"id": "fuzz-bytes", "id": "other"'),
        "fuzz-bytes",
    )
    found["readings=deep_10000_alone"] = BadInput("readings", b"[" * 10_000 + b"]" * 10_000, None)
    found["readings=truncated"] = BadInput("readings", good[:60], "fuzz-bytes")
    found["readings=utf16"] = BadInput(
        "readings", json.dumps(reading("x", at)).encode("utf-16"), None
    )
    found["readings=bom"] = BadInput("readings", b"\xef\xbb\xbf" + good, None)
    found["readings=huge_integer"] = BadInput(
        "readings", good.replace(b'"spo2": 95', b'"spo2": ' + b"9" * 5000), "fuzz-bytes"
    )
    return found
