"""Errors over real HTTP (SQLite and PostgreSQL): text a database cannot store, integers beyond
the column type, bodies that are not JSON and unexpected failures all answer RFC 9457 problem
details (``application/problem+json``), never a plain-text 500."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, SETTINGS, ApiWorld, Login
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.api.input_checks import UNSAFE_TEXT_MESSAGE

API = "/api/v1"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem-details document with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["type"].startswith("https://dho.example/problems/")) == (
        status,
        True,
    )
    return body


def unsafe_fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"] if e["message"] == UNSAFE_TEXT_MESSAGE]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/worklist", {"nurse": "\x00x"}, "query.nurse"),
        ("/patients", {"centre": "a\x00"}, "query.centre"),
        ("/alerts", {"cursor": "\x00"}, "query.cursor"),
        ("/patients/%00p", {}, "path.patient_id"),
    ],
)
def test_nul_in_the_path_or_query_is_refused_with_422(
    http: httpx.Client, login: Login, path: str, params: dict[str, str], field: str
) -> None:
    """A NUL byte in a query parameter or a path segment is a 422 naming the parameter (it
    reached PostgreSQL and gave a plain-text 500)."""
    response = http.get(f"{API}{path}", params=params, headers=login(http, "nurse-a"))
    assert unsafe_fields(assert_problem(response, 422)) == [field]


def test_nul_or_a_lone_surrogate_in_a_login_is_refused_with_422(http: httpx.Client) -> None:
    """A username with NUL, or a password with an unpaired surrogate, is a 422 naming the
    field, not a 500."""
    nul = http.post(f"{API}/auth/login", json={"username": "a\x00b", "password": "x"})
    assert unsafe_fields(assert_problem(nul, 422)) == ["body.username"]
    surrogate = http.post(
        f"{API}/auth/login",
        content=b'{"username": "nurse-a", "password": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert unsafe_fields(assert_problem(surrogate, 422)) == ["body.password"]


def test_nul_anywhere_in_a_plan_draft_is_refused_and_nothing_is_saved(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """NUL in a draft's note, and in a key deep inside its changes, is refused naming both
    fields; the plan keeps its versions."""
    nurse = login(http, "nurse-a")
    plan = api_world.patients["a-copd"].plan.plan_id
    before = http.get(f"{API}/patients/{api_world.patients['a-copd'].id}/plans", headers=nurse)
    response = http.post(
        f"{API}/plans/{plan}/versions",
        json={"changes": {"goal": "ok", "zones": {"spo2\x00": {}}}, "note": "ny\x00plan"},
        headers=nurse,
    )
    assert unsafe_fields(assert_problem(response, 422)) == [
        "body.changes.zones.spo2\x00",
        "body.note",
    ]
    after = http.get(f"{API}/patients/{api_world.patients['a-copd'].id}/plans", headers=nurse)
    assert after.json() == before.json()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/versions/2147483648", {}, "path.version"),
        ("/versions/2147483648/replay", {}, "path.version"),
        ("/diff", {"from": 3200874593556707, "to": 1}, "query.from"),
        ("/diff", {"from": 1, "to": 2**63}, "query.to"),
    ],
)
def test_integers_beyond_the_column_type_are_refused_with_422(
    http: httpx.Client,
    api_world: ApiWorld,
    login: Login,
    path: str,
    params: dict[str, int],
    field: str,
) -> None:
    """A plan version beyond PostgreSQL's INTEGER is a 422 naming the parameter (it overflowed
    in the database and gave a 500)."""
    plan = api_world.patients["a-copd"].plan.plan_id
    response = http.get(f"{API}/plans/{plan}{path}", params=params, headers=login(http, "gp-1"))
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]


def test_the_largest_integer_version_is_simply_not_found(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """2**31 - 1 is still a version number: an unknown one is 404, not an error."""
    plan = api_world.patients["a-copd"].plan.plan_id
    response = http.get(f"{API}/plans/{plan}/versions/2147483647", headers=login(http, "gp-1"))
    assert_problem(response, 404)


@pytest.mark.parametrize("path", ["/readings", "/reports"])
@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_an_ingest_body_that_is_not_json_is_415(
    http: httpx.Client, api_world: ApiWorld, path: str, content_type: str | None
) -> None:
    """A gateway posting with `Content-Type: text/plain` (or none) gets 415 saying to send JSON
    (it was a TypeError and a plain-text 500)."""
    patient = api_world.patients["a-copd"]
    headers = {"Authorization": f"Bearer {patient.gateway_id}:{patient.gateway_secret}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = http.post(f"{API}{path}", content=b'{"schema": "dho.reading/1"}', headers=headers)
    body = assert_problem(response, 415)
    assert "Content-Type: application/json" in body["detail"]


def test_a_model_body_that_is_not_json_is_415(http: httpx.Client) -> None:
    """A login sent as a form is 415, not a confusing "not a valid dictionary"."""
    response = http.post(f"{API}/auth/login", data={"username": "nurse-a", "password": "x"})
    assert_problem(response, 415)


def test_unknown_paths_and_methods_are_problems(http: httpx.Client) -> None:
    """404 and 405 from the router are problem details too."""
    assert_problem(http.get(f"{API}/no-such-thing"), 404)
    assert_problem(http.delete(f"{API}/worklist"), 405)


@pytest.fixture
def failing_http(sessions: sessionmaker[Session], api_world: ApiWorld) -> Iterator[httpx.Client]:
    """The API with one more route whose handler fails as a bug would."""
    app = create_app(SETTINGS, sessions, clock=lambda: NOW)

    def broken() -> None:
        raise RuntimeError("a bug in a handler")

    app.add_api_route(f"{API}/broken", broken)
    with serving(app) as client:
        yield client


def test_an_unexpected_error_is_a_500_problem_with_a_reference_in_the_log(
    failing_http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler's bug answers 500 as problem details whose reference is in the logged error
    (with its traceback), not Starlette's plain-text "Internal Server Error"."""
    with caplog.at_level(logging.ERROR, logger="triage.api.errors"):
        response = failing_http.get(f"{API}/broken")
    body = assert_problem(response, 500)
    [record] = [r for r in caplog.records if r.name == "triage.api.errors"]
    reference = str(record.args[-1]) if isinstance(record.args, tuple) else ""
    assert len(reference) == 12
    assert f"reference {reference}" in body["detail"]
    assert record.exc_info is not None
    assert "a bug in a handler" not in body["detail"]


def test_numbers_that_are_not_finite_are_refused_in_a_plan_draft(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """`NaN` and `1e400` (infinity to Python's JSON parser) as plan bounds are a 422 naming
    each field (NaN reached PostgreSQL's JSON column and gave a 500)."""
    plan = api_world.patients["a-copd"].plan.plan_id
    response = http.post(
        f"{API}/plans/{plan}/versions",
        content=b'{"changes": {"zones": {"spo2": {"red_low": NaN, "yellow_low": 1e400}}}, '
        b'"note": "uendelig"}',
        headers={**login(http, "nurse-a"), "content-type": "application/json"},
    )
    errors = assert_problem(response, 422)["errors"]
    assert [(e["field"], e["type"]) for e in errors] == [
        ("body.changes.zones.spo2.red_low", "finite_number"),
        ("body.changes.zones.spo2.yellow_low", "finite_number"),
    ]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (
            {"type": "baseline", "id": "b", "parameter": "spo2", "direction": "below",
             "change": 3, "baseline_days": 10**12},
            "baseline_days",
        ),
        (
            {"type": "trend", "id": "t", "parameter": "weight", "window": "P9999999D",
             "rise": 2},
            "window",
        ),
        ({"type": "news2", "id": "n", "window": 10**15}, "window"),
    ],
)  # fmt: skip
def test_plan_rules_looking_back_beyond_a_year_are_refused(
    http: httpx.Client, api_world: ApiWorld, login: Login, rule: dict[str, Any], field: str
) -> None:
    """A rule that would look back over 10**12 days is a 422 when the draft is saved (it was
    stored, and replaying or classifying under it overflowed the date arithmetic: a 500)."""
    plan = api_world.patients["a-copd"].plan.plan_id
    response = http.post(
        f"{API}/plans/{plan}/versions",
        json={"changes": {"rules": [rule]}, "note": "for langt"},
        headers=login(http, "nurse-a"),
    )
    errors = assert_problem(response, 422)["errors"]
    assert any(e["field"].endswith(field) for e in errors), errors


def forged_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "who", "position"),
    [
        ("/alerts", "nurse-a", {"at": "2026-11-23T08:00:00+00:00", "id": "a\x00"}),
        ("/patients", "nurse-a", {"name": "a\x00", "id": "p"}),
        ("/colleagues", "nurse-a", {"offset": 2**64}),
        ("/dead-letters", "admin", {"id": 2**64}),
    ],
)
def test_a_forged_cursor_with_unstorable_values_is_400(
    http: httpx.Client, login: Login, path: str, who: str, position: dict[str, Any]
) -> None:
    """A cursor is the client's to send: one decoding to NUL text or an integer beyond BIGINT
    is an invalid cursor (400), not a database error (500)."""
    headers = login(http, who, reason="Checking forged cursors" if who == "admin" else None)
    response = http.get(f"{API}{path}", params={"cursor": forged_cursor(position)}, headers=headers)
    assert "invalid cursor" in assert_problem(response, 400)["detail"]
