"""API tests: the real FastAPI app behind a real uvicorn, on SQLite and PostgreSQL, with a world
of two follow-up centres, their nurses, two GPs, an admin and patients (synthetic identities).

``http`` is an HTTP client for the running API; ``login(http, "nurse-a")`` returns the headers
of a logged-in user. Every user's password is :data:`PASSWORD`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.plan import Condition, PlanVersion
from triage.ingest import Incoming, Outcome, PlanCache, store
from triage.storage import seed

#: The API's clock in these tests (a Monday morning in November, 09:30 Oslo time).
NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
PASSWORD = "Testpassord-1!"  # noqa: S105 - synthetic test users only
SETTINGS = Settings(demo=True)


@dataclass
class ApiPatient:
    id: str
    name: str
    condition: Condition
    centre_id: str
    gp_user_id: str
    gateway_id: str
    gateway_secret: str
    plan: PlanVersion


@dataclass
class ApiWorld:
    """Centre A (Testvik: serves two municipalities) and centre B (Prøvestad).

    nurse-a works at A, nurse-b at B, nurse-ab at both; gp-1 and gp-2 are GPs; admin manages.
    Patients: ``a-copd`` (A, gp-1), ``a-hf`` (A, gp-1), ``a-diabetes`` (A, gp-2),
    ``b-hypertension`` (B, gp-2), ``b-covid`` (B, gp-1).
    """

    centre_a: str
    centre_b: str
    municipalities: dict[str, str]
    users: dict[str, str]  # username → user id
    patients: dict[str, ApiPatient] = field(default_factory=dict)


def build_api_world(session: Session, now: datetime) -> ApiWorld:
    testvik = seed.add_municipality(session, "9901", "Testvik")
    oyvik = seed.add_municipality(session, "9903", "Øyvik")
    provestad = seed.add_municipality(session, "9902", "Prøvestad")
    centre_a = seed.add_centre(session, "Oppfølgingstjenesten Testvik", [testvik, oyvik])
    centre_b = seed.add_centre(session, "Oppfølgingstjenesten Prøvestad", [provestad])
    users = {
        "nurse-a": seed.add_user(
            session,
            username="nurse-a",
            display_name="Sykepleier A",
            role="nurse",
            now=now,
            password=PASSWORD,
            centres=[centre_a],
        ),
        "nurse-b": seed.add_user(
            session,
            username="nurse-b",
            display_name="Sykepleier B",
            role="nurse",
            now=now,
            password=PASSWORD,
            centres=[centre_b],
        ),
        "nurse-ab": seed.add_user(
            session,
            username="nurse-ab",
            display_name="Sykepleier AB",
            role="nurse",
            now=now,
            password=PASSWORD,
            centres=[centre_a, centre_b],
        ),
        "gp-1": seed.add_user(
            session,
            username="gp-1",
            display_name="Fastlege En",
            role="gp",
            now=now,
            password=PASSWORD,
        ),
        "gp-2": seed.add_user(
            session,
            username="gp-2",
            display_name="Fastlege To",
            role="gp",
            now=now,
            password=PASSWORD,
        ),
        "admin": seed.add_user(
            session,
            username="admin",
            display_name="Administrator",
            role="admin",
            now=now,
            password=PASSWORD,
        ),
    }
    world = ApiWorld(
        centre_a=centre_a.id,
        centre_b=centre_b.id,
        municipalities={"testvik": testvik.id, "oyvik": oyvik.id, "provestad": provestad.id},
        users={name: row.id for name, row in users.items()},
    )
    layout = [
        ("a-copd", Condition.COPD, centre_a, testvik, "gp-1"),
        ("a-hf", Condition.HEART_FAILURE, centre_a, oyvik, "gp-1"),
        ("a-diabetes", Condition.DIABETES, centre_a, testvik, "gp-2"),
        ("b-hypertension", Condition.HYPERTENSION, centre_b, provestad, "gp-2"),
        ("b-covid", Condition.COVID19, centre_b, provestad, "gp-1"),
    ]
    for serial, (name, condition, centre, municipality, gp) in enumerate(layout, start=1):
        patient = seed.add_patient(
            session,
            display_name=f"Testpasient {name}",
            municipality=municipality,
            centre=centre,
            now=now - timedelta(days=30),
            condition=condition,
            gp=users[gp],
            national_id=seed.synthetic_national_id(date(1946, 3, serial), serial),
        )
        plan = seed.add_approved_template_plan(
            session, patient, condition, gp, now - timedelta(days=30)
        )
        gateway, secret = seed.register_gateway(
            session, patient, now - timedelta(days=30), gateway_id=f"gw-{name}"
        )
        world.patients[name] = ApiPatient(
            id=patient.id,
            name=name,
            condition=condition,
            centre_id=centre.id,
            gp_user_id=users[gp].id,
            gateway_id=gateway.id,
            gateway_secret=secret,
            plan=plan,
        )
    return world


@pytest.fixture
def api_world(sessions: sessionmaker[Session]) -> ApiWorld:
    with sessions.begin() as session:
        return build_api_world(session, NOW)


@pytest.fixture
def http(sessions: sessionmaker[Session], api_world: ApiWorld) -> Iterator[httpx.Client]:
    """The API (clock fixed at NOW) behind a real uvicorn, over the test database."""
    with serving(create_app(SETTINGS, sessions, clock=lambda: NOW)) as client:
        yield client


Login = Callable[..., dict[str, str]]


@pytest.fixture
def login() -> Login:
    """``login(http, username, reason=None)`` → request headers with the user's access token
    (and the admin's ``X-DHO-Reason`` when given)."""

    def _login(client: httpx.Client, username: str, reason: str | None = None) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        if reason is not None:
            headers["X-DHO-Reason"] = reason
        return headers

    return _login


def ingest(
    sessions: sessionmaker[Session],
    gateway_id: str,
    readings: Iterable[tuple[str, str, dict[str, float], datetime]],
) -> list[Outcome]:
    """Store ``(id, kind, values, measured_at)`` readings from ``gateway_id`` as ingest does."""
    messages = [
        Incoming(
            topic=f"dho/v1/{gateway_id}/readings",
            payload=json.dumps(
                {
                    "schema": "dho.reading/1",
                    "id": id_,
                    "kind": kind,
                    "measured_at": measured_at.isoformat(),
                    "values": values,
                }
            ).encode(),
        )
        for id_, kind, values, measured_at in readings
    ]
    return store(sessions, messages, SETTINGS, NOW, plans=PlanCache())
