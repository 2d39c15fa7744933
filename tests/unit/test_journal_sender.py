"""Judging a FHIR server's answer to a journal transaction (triage.journal.sender.judge): only a
transaction-response Bundle with a 2xx entry for every entry sent is a delivery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from triage.journal.sender import MAX_ANSWER, TokenUnreadableError, judge, read_token


def _answer(*statuses: str, kind: str = "transaction-response") -> bytes:
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"response": {"status": s, "location": f"Observation/{i}/_history/1"}}
            for i, s in enumerate(statuses)
        ],
    }
    return json.dumps(body).encode()


def test_every_entry_created_or_found_is_a_delivery_with_its_summary() -> None:
    ok, answer, summary = judge(200, _answer("201 Created", "200 OK"), sent=2)
    assert ok
    assert answer == "HTTP 200: 2 entries (200 OK, 201 Created)"
    assert summary == {
        "http_status": 200,
        "entries": [
            {"status": "201 Created", "location": "Observation/0/_history/1"},
            {"status": "200 OK", "location": "Observation/1/_history/1"},
        ],
    }


@pytest.mark.parametrize(
    ("status", "content", "sent", "starts"),
    [
        (200, _answer("201 Created", "412 Precondition Failed"), 2, "HTTP 200, entries failed"),
        (200, _answer("201 Created"), 2, "HTTP 200: the answer has 1 entries for 2 sent"),
        (200, _answer("201 Created", kind="batch-response"), 1, "HTTP 200, not a transaction-"),
        (503, b"Service Unavailable", 1, "HTTP 503, not FHIR JSON: Service Unavailable"),
        (500, b'{"resourceType":"Bundle"}', 1, "HTTP 500: "),
        (
            400,
            json.dumps(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "error", "code": "invalid", "diagnostics": "at /status"},
                        {"severity": "error", "code": "required", "details": {"text": "code"}},
                    ],
                }
            ).encode(),
            1,
            "HTTP 400: error invalid: at /status | error required: code",
        ),
    ],
)
def test_anything_else_fails_with_what_the_server_said(
    status: int, content: bytes, sent: int, starts: str
) -> None:
    ok, answer, summary = judge(status, content, sent)
    assert not ok
    assert summary is None
    assert answer.startswith(starts), answer


def test_a_long_answer_is_cut() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "x" * 5000}],
    }
    _, answer, _ = judge(400, json.dumps(outcome).encode(), 1)
    assert len(answer) == MAX_ANSWER
    assert answer.endswith("…")


def test_the_token_file(tmp_path: Path) -> None:
    assert read_token(None) is None
    token = tmp_path / "token"
    token.write_text("  abc.def\n", encoding="utf-8")
    assert read_token(token) == "abc.def"
    token.write_text("\n", encoding="utf-8")
    with pytest.raises(TokenUnreadableError, match="empty"):
        read_token(token)
    with pytest.raises(TokenUnreadableError, match="cannot be read"):
        read_token(tmp_path / "missing")
