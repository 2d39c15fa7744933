"""The measurement schedule of a draft over real HTTP (SQLite and PostgreSQL): a changed schedule
becomes a draft whose diff says what moved; a measurement twice at the same time, or a time with
an offset, is refused naming the field and nothing is saved."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.api.conftest import ApiWorld, Login

API = "/api/v1"


def save(
    http: httpx.Client, headers: dict[str, str], plan: str, items: list[dict[str, Any]]
) -> httpx.Response:
    return http.post(
        f"{API}/plans/{plan}/versions",
        json={"changes": {"schedule": {"items": items}}, "note": "Ny måleplan"},
        headers=headers,
    )


def versions(http: httpx.Client, headers: dict[str, str], patient_id: str) -> list[int]:
    page = http.get(f"{API}/patients/{patient_id}/plans", headers=headers).json()
    return [v["version"] for v in page["items"]]


def test_a_changed_schedule_is_a_draft_whose_diff_says_what_moved(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """COPD's Mon/Thu 12:00 measurement moved to weekdays 09:30, and a daily weight added."""
    copd = api_world.patients["a-copd"]
    nurse = login(http, "nurse-a")
    plan = copd.plan.plan_id
    response = save(
        http,
        nurse,
        plan,
        [
            {
                "kinds": ["spo2", "body_temperature"],
                "questionnaire": "copd-daily",
                "days": [1, 2, 3, 4, 5],
                "due_by": "09:30",
            },
            {"kinds": ["body_weight"], "due_by": "08:00"},
        ],
    )
    assert response.status_code == 201, response.text
    schedule = response.json()["document"]["schedule"]
    assert schedule["timezone"] == "Europe/Oslo"
    assert [i["due_by"] for i in schedule["items"]] == ["09:30:00", "08:00:00"]

    diff = http.get(f"{API}/plans/{plan}/diff", params={"from": 1, "to": 2}, headers=nurse).json()
    assert [c["text"]["nb"] for c in diff["changes"]] == [
        "Måling endret: SpO2, temperatur, skjema copd-daily (man, tor) innen 12:00 → "
        "(man, tir, ons, tor, fre) innen 09:30",
        "Måling lagt til i planen: vekt (hver dag) innen 08:00",
    ]
    assert diff["changes"][0]["text"]["en"] == (
        "Measurement changed: SpO2, temperature, questionnaire copd-daily (Mon, Thu) by 12:00 "
        "→ (Mon, Tue, Wed, Thu, Fri) by 09:30"
    )


def test_the_same_measurement_twice_at_the_same_time_is_refused_naming_the_item(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """SpO2 at 12:00 on Monday in two items: 422 naming the second item's time and the first
    item, in the patient's zone; no version is saved."""
    copd = api_world.patients["a-copd"]
    nurse = login(http, "nurse-a")
    response = save(
        http,
        nurse,
        copd.plan.plan_id,
        [
            {"kinds": ["spo2", "body_temperature"], "days": [1, 4], "due_by": "12:00"},
            {"kinds": ["spo2"], "days": [1, 2], "due_by": "12:00"},
        ],
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body.changes.schedule.items.1.due_by"
    assert error["message"] == (
        "SpO2 is already scheduled at 12:00 (Europe/Oslo) on Monday in items[0]: a measurement "
        "cannot be scheduled twice at the same time — remove one, or move it to another time"
    )
    assert versions(http, nurse, copd.id) == [1]


def test_a_time_with_an_offset_or_no_days_is_refused_with_the_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A due time is a wall-clock time in the schedule's zone: "12:00+01:00" is refused, and
    so is an item with no weekdays; each error names its field."""
    copd = api_world.patients["a-copd"]
    gp = login(http, "gp-1")
    response = save(
        http,
        gp,
        copd.plan.plan_id,
        [
            {"kinds": ["spo2"], "due_by": "12:00+01:00"},
            {"kinds": ["body_temperature"], "days": [], "due_by": "18:00"},
        ],
    )
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "without a zone or offset" in errors["body.changes.schedule.items.0.due_by"]
    assert "at least one" in errors["body.changes.schedule.items.1.days"]
    assert versions(http, gp, copd.id) == [1]
