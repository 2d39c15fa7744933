"""HTTP ingest limits over real HTTP (SQLite and PostgreSQL): a gateway that sends too many
requests is told to wait, and nothing of the refused request is stored."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.storage.models import ReadingRow


def reading() -> dict[str, Any]:
    at = (NOW - timedelta(minutes=5)).isoformat()
    return {
        "schema": "dho.reading/1",
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": 97, "pulse": 80},
        "device": {"profile": "plx", "model": "test"},
    }


def test_a_gateway_over_its_request_rate_gets_429_with_retry_after(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    """With two requests a minute allowed, a gateway's third is refused with Retry-After and not
    stored, while another gateway is still served."""
    settings = Settings(demo=True, ingest_rate_per_minute=2)
    busy, calm = api_world.patients["a-copd"], api_world.patients["b-covid"]
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as http:

        def post(patient: Any) -> Any:
            token = f"{patient.gateway_id}:{patient.gateway_secret}"
            return http.post(
                "/api/v1/readings", json=reading(), headers={"Authorization": f"Bearer {token}"}
            )

        assert [post(busy).status_code for _ in range(2)] == [200, 200]
        refused = post(busy)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "nothing was stored" in refused.json()["detail"]
        reports = http.post(
            "/api/v1/reports",
            json=[],
            headers={"Authorization": f"Bearer {busy.gateway_id}:{busy.gateway_secret}"},
        )
        assert reports.status_code == 429
        assert post(calm).status_code == 200
    with sessions() as session:
        stored = session.scalar(
            select(func.count()).select_from(ReadingRow).where(ReadingRow.patient_id == busy.id)
        )
    assert stored == 2
