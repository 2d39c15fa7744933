"""The worklist keeps its alert summary between requests only while no alert changed: what a
nurse does, and what ingest opens, shows on her next refresh."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from tests.integration.api.test_alerts import red_alert


def _top(http: httpx.Client, headers: dict[str, str]) -> dict[str, object]:
    response = http.get("/api/v1/worklist", headers=headers, params={"limit": 5})
    assert response.status_code == 200, response.text
    top: dict[str, object] = response.json()["items"][0]
    return top


def test_a_new_red_and_its_handling_show_on_the_next_refresh(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    nurse = login(http, "nurse-a")
    copd = api_world.patients["a-copd"]
    assert _top(http, nurse)["colour"] == "green"  # the summary is now cached: no alerts

    alert_id = red_alert(sessions, api_world)  # ingest opens a red between two refreshes
    top = _top(http, nurse)
    assert (top["patient_id"], top["colour"]) == (copd.id, "red")
    assert top["waiting_since"] is not None

    assert http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=nurse).status_code == 200
    assert _top(http, nurse)["waiting_since"] is None  # acknowledged: no longer waiting

    resolved = http.post(
        f"/api/v1/alerts/{alert_id}/resolve",
        headers=nurse,
        json={"outcome": "advised_per_plan", "note": "Ringt pasienten."},
    )
    assert resolved.status_code == 200, resolved.text
    assert _top(http, nurse)["colour"] == "green"

    ingest(
        sessions,
        api_world.patients["a-hf"].gateway_id,
        [("hf-red", "spo2", {"spo2": 85, "pulse": 90}, NOW - timedelta(minutes=1))],
    )
    assert _top(http, nurse)["patient_id"] == api_world.patients["a-hf"].id
