"""Dashboard page tests: Streamlit's AppTest runs the real dashboard script against the real API
(uvicorn, clock fixed at NOW) on SQLite and PostgreSQL, with the API tests' world
(``tests/integration/api/conftest.py``: nurse-a, gp-1, patients a-copd, a-hf, …).

``ward`` adds what a Monday morning looks like: a red COPD patient (SpO2 86 %), a yellow heart
failure patient (SpO2 93 %) and green readings waiting for a diabetes patient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api import conftest as api_tests
from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld, ingest

# the API tests' fixtures, reused as they are: the world, the API over uvicorn, logins
api_world = api_tests.api_world
http = api_tests.http
login = api_tests.login

CLIENT_KEY = "dho_client"  # where dashboard.session keeps the API client
APP = Path(__file__).parents[3] / "dashboard" / "streamlit_app.py"
#: one script run against a real API and database; generous for a loaded CI machine
RUN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Ward:
    world: ApiWorld
    red: str  # patient ids
    yellow: str
    green: str


@pytest.fixture
def ward(sessions: sessionmaker[Session], api_world: ApiWorld) -> Ward:
    """Centre A on Monday morning: a-copd red (overnight), a-hf yellow, a-diabetes green."""
    ingest(
        sessions,
        "gw-a-hf",
        [("hf-1", "spo2", {"spo2": 93, "pulse": 80}, NOW - timedelta(hours=3))],
    )
    ingest(
        sessions,
        "gw-a-copd",
        [("copd-1", "spo2", {"spo2": 86, "pulse": 90}, NOW - timedelta(minutes=40))],
    )
    ingest(
        sessions,
        "gw-a-diabetes",
        [
            ("dia-1", "glucose", {"glucose": 6.2}, NOW - timedelta(hours=2)),
            ("dia-2", "glucose", {"glucose": 6.0}, NOW - timedelta(hours=1)),
        ],
    )
    patients = api_world.patients
    return Ward(api_world, patients["a-copd"].id, patients["a-hf"].id, patients["a-diabetes"].id)


@pytest.fixture
def dashboard_env(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dashboard's settings: the running API, and the API's fixed clock as 'now'."""
    url = str(http.base_url)
    monkeypatch.setenv("DHO_DASHBOARD_API_URL", url)
    monkeypatch.setenv("DHO_DASHBOARD_FIXED_NOW", NOW.isoformat())
    monkeypatch.setenv("DHO_DASHBOARD_LANGUAGE", "nb")
    return url


AppFactory = Callable[[], AppTest]


@pytest.fixture
def app(dashboard_env: str) -> Iterator[AppFactory]:
    """``app()`` → a fresh AppTest of the dashboard, not yet run; each one's API connection
    is closed after the test."""
    made: list[AppTest] = []

    def _new() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
        made.append(at)
        return at

    yield _new
    for at in made:
        if CLIENT_KEY in at.session_state:
            at.session_state[CLIENT_KEY].close()


def logged_in(app: AppFactory, username: str) -> AppTest:
    """The dashboard after ``username`` logged in through the login form."""
    at = app().run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, at.exception
    return at
