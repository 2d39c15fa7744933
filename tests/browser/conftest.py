"""Browser tests: the real dashboard (``streamlit run`` as a subprocess) against the real API
(uvicorn, clock fixed at NOW, SQLite), driven by Playwright through Debian's Chromium
(``/usr/bin/chromium``, installed by ``.ci/run``; never ``playwright install``).

Screenshots of each step go to ``tests/browser/artifacts/`` (not committed): look at them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.integration import conftest as storage_tests
from tests.integration.api import conftest as api_tests
from tests.integration.api.conftest import NOW
from tests.integration.dashboard import conftest as dashboard_tests
from tests.services import service_unavailable
from triage.broker.embedded import free_port
from triage.storage.database import make_engine, migrate, session_factory

# the fixtures of the API and dashboard page tests, reused as they are
cheap_secret_hashing = storage_tests.cheap_secret_hashing
api_world = api_tests.api_world
http = api_tests.http
login = api_tests.login
ward = dashboard_tests.ward

CHROMIUM = Path("/usr/bin/chromium")
APP = Path(__file__).parents[2] / "dashboard" / "streamlit_app.py"
ARTIFACTS = Path(__file__).parent / "artifacts"
#: Chromium on a closed network stalls without the background-networking switches
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_SECONDS = 60.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The browser test runs on SQLite (the page tests cover PostgreSQL)."""
    sqlite = make_engine(f"sqlite:///{tmp_path / 'dho.sqlite3'}")
    migrate(sqlite)
    yield sqlite
    sqlite.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll Streamlit's health endpoint until it answers, with a deadline (no sleeps)."""
    give_up = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < give_up:
            if process.poll() is not None:
                raise AssertionError(f"streamlit exited early:\n{log.read_text()}")
            try:
                if client.get(f"{url}/_stcore/health").status_code == 200:
                    return
            except httpx.TransportError:
                continue  # not listening yet
    raise AssertionError(
        f"streamlit did not answer in {START_TIMEOUT_SECONDS} s:\n{log.read_text()}"
    )


@contextmanager
def running_dashboard(api_url: str, log_dir: Path, port: int | None = None) -> Iterator[str]:
    """``streamlit run dashboard/streamlit_app.py`` on ``port`` (a free one when None), pointed
    at the API at ``api_url``; yields the dashboard's URL."""
    port = port or free_port()
    env = {
        **os.environ,
        "DHO_DASHBOARD_API_URL": api_url,
        "DHO_DASHBOARD_FIXED_NOW": NOW.isoformat(),
        "DHO_DASHBOARD_REFRESH_SECONDS": "3600",  # the test drives every refresh itself
        "DHO_DASHBOARD_LANGUAGE": "nb",
    }
    log = log_dir / "streamlit.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.headless=true",
                f"--server.port={port}",
                "--server.address=127.0.0.1",
                "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false",
                "--global.developmentMode=false",
                "--client.toolbarMode=viewer",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def dashboard_url(http: httpx.Client, tmp_path: Path) -> Iterator[str]:
    """``streamlit run dashboard/streamlit_app.py`` on a free port, pointed at the test API."""
    with running_dashboard(str(http.base_url), tmp_path) as url:
        yield url


@contextmanager
def chromium_page(width: int, height: int, timeout_ms: int = 30_000) -> Iterator[Page]:
    """A Chromium page (Debian's binary, a fresh profile), Norwegian locale and Oslo time; fails
    under CI (skips elsewhere) when Chromium is not installed."""
    if not CHROMIUM.exists():
        service_unavailable(
            "Chromium is not installed at /usr/bin/chromium. Install it with: "
            "apt-get install -y chromium chromium-driver",
            os.environ.get("CI"),
        )
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
            locale="nb-NO",
            timezone_id="Europe/Oslo",
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            context.close()


@pytest.fixture
def page() -> Iterator[Page]:
    """The dashboard's page: 1400×2000."""
    with chromium_page(1400, 2000) as page:
        yield page


@pytest.fixture
def shots() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
