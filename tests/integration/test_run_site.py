"""``deploy/run-site.sh`` as an operator runs it: the production processes without containers,
against a fresh PostgreSQL database and the machine's Mosquitto executable, on free ports.

One walk through a site's first day: it comes up part by part; the first administrator is
created with ``dho users create-admin``; the administrator registers a gateway through the API;
SIGHUP gives Mosquitto the new login; the gateway publishes a reading (twice, as after a lost
receipt) and gets receipts; the nurse sees the reading once; the dashboard answers; SIGTERM
stops everything with nothing left running.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text

from tests import services
from tests.prometheus import scrape
from triage.broker import find_mosquitto
from triage.broker.embedded import free_port
from triage.domain.plan import Condition
from triage.storage import seed
from triage.storage.database import make_engine, session_factory

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto]

SCRIPT = Path(__file__).parents[2] / "deploy" / "run-site.sh"
DHO = str(Path(sys.executable).with_name("dho"))
START_S = 240.0  # the whole site, part after part, on a shared two-core machine
STOP_S = 60.0
NURSE_PASSWORD = "sykepleier-passord-2026"  # noqa: S105 - a test user in a throwaway database


@pytest.fixture(scope="module")
def mosquitto_path() -> str:
    path = find_mosquitto("mosquitto")
    if path is None:
        services.service_unavailable(
            "Mosquitto is not installed (apt-get install mosquitto)", os.environ.get("CI")
        )
    return str(path)


@pytest.fixture
def site_database(postgres_url: str) -> Iterator[str]:
    """A fresh database next to the test database (``<test db>_site``), dropped afterwards."""
    parts = urlsplit(postgres_url)
    name = f"{parts.path.lstrip('/') or 'test'}_site"
    admin = make_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    site = urlunsplit(parts._replace(scheme="postgresql+psycopg", path=f"/{name}"))
    try:
        yield site
    finally:
        drop()
        admin.dispose()


@dataclass
class Site:
    """The running script: its output line by line, and the parts' process ids it announced."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)

    eof: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.eof.set()

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            except queue.Empty:
                if self.eof.is_set() and self.lines.empty():
                    pytest.fail(f"run-site.sh exited ({self.process.returncode}):\n{self.text}")
                if time.monotonic() >= deadline:
                    pytest.fail(f"no {needle!r} from run-site.sh in {timeout:.0f} s:\n{self.text}")
                continue
            self.seen.append(line)
            started = re.search(r"started (\S+) \(pid (\d+),", line)
            if started:
                self.pids[started[1]] = int(started[2])
            if needle in line:
                return line

    @property
    def text(self) -> str:
        return "\n".join(self.seen)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def site_env(tmp_path: Path, site_database: str, mosquitto_path: str) -> dict[str, str]:
    """The script's environment: the fresh database, free ports, no DHO_ setting of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DHO_")}
    return env | {
        "DHO_DATABASE_URL": site_database,
        "DHO_SECRET_KEY": "site-test-" + "k" * 32,
        "DHO_SITE_DIR": str(tmp_path / "site"),
        "DHO_SITE_MQTT_PORT": str(free_port()),
        "DHO_SITE_API_PORT": str(free_port()),
        "DHO_SITE_DASHBOARD_PORT": str(free_port()),
        "DHO_SITE_INGEST_METRICS_PORT": str(two_free_ports()),
        "DHO_SITE_START_TIMEOUT": "120",
        "DHO_BIN": DHO,
        "DHO_MOSQUITTO_PATH": mosquitto_path,
    }


def _hangup_not_ignored() -> None:
    """In the child before exec: SIGHUP back to its default. A shell cannot trap a signal that
    was ignored when it started (POSIX), so under `nohup` (which this test runner may be)
    run-site.sh's SIGHUP reload would never run; the test is about the script, not that."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture
def run_site(site_env: dict[str, str]) -> Iterator[Site]:
    """run-site.sh running in the background (killed, with its parts, if the test fails)."""
    process = subprocess.Popen(  # noqa: S603 - our own script
        [str(SCRIPT)],
        env=site_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_hangup_not_ignored,  # one call to signal() before exec, no locks
    )
    site = Site(process)
    reader = threading.Thread(target=site.read, daemon=True)
    reader.start()
    try:
        yield site
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_S)
        for pid in site.pids.values():  # each part has its own process group
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        reader.join(STOP_S)
        assert process.stdout is not None
        process.stdout.close()


def seed_patient_and_nurse(database_url: str, now: datetime) -> str:
    """A COVID-19 patient with an approved plan, and a nurse of their centre; the patient id."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as session:
            municipality = seed.add_municipality(session, "9902", "Driftvik")
            centre = seed.add_centre(session, "Oppfølgingstjenesten Driftvik", [municipality])
            patient = seed.add_patient(
                session,
                display_name="Driftpasient",
                municipality=municipality,
                centre=centre,
                now=now - timedelta(days=10),
                condition=Condition.COVID19,
            )
            seed.add_approved_template_plan(
                session, patient, Condition.COVID19, "gp-test", now - timedelta(days=10)
            )
            seed.add_user(
                session,
                username="sykepleier",
                display_name="Sykepleier Test",
                role="nurse",
                now=now,
                password=NURSE_PASSWORD,
                centres=[centre],
            )
            return patient.id
    finally:
        engine.dispose()


def login(api: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(
        f"{api}/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def publish_twice(port: int, gateway_id: str, secret: str, body: dict[str, object]) -> list[str]:
    """Publish one reading twice as the gateway; the statuses of the two receipts."""
    receipts: queue.Queue[bytes] = queue.Queue()
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5)
    gateway.username_pw_set(gateway_id, secret)
    gateway.on_message = lambda _c, _u, m: receipts.put(bytes(m.payload))
    gateway.connect("127.0.0.1", port)
    gateway.loop_start()
    statuses: list[str] = []
    try:
        gateway.subscribe(f"dho/v1/{gateway_id}/receipts", qos=1)
        for _ in range(2):
            gateway.publish(
                f"dho/v1/{gateway_id}/readings", json.dumps(body), qos=1
            ).wait_for_publish(30)
            receipt = json.loads(receipts.get(timeout=60))
            statuses += [f"{i['id']} {i['status']}" for i in receipt["items"]]
    finally:
        gateway.disconnect()
        gateway.loop_stop()
    return statuses


def two_free_ports() -> int:
    """A port that is free together with the next one (the two workers' metrics)."""
    while True:
        port = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port


def test_run_site_brings_up_the_production_processes_and_stops_them_cleanly(
    run_site: Site, site_env: dict[str, str]
) -> None:
    """A site started by run-site.sh stores a gateway's MQTT reading once, shows it to the nurse,
    serves the dashboard, and stops on SIGTERM with exit 0 and no process left behind."""
    site, env = run_site, site_env
    site.wait_for("site running", START_S)
    for part in ("mosquitto", "api", "ingest-1", "ingest-2", "jobs", "dashboard"):
        assert f"{part} is ready" in site.text
    api = f"http://127.0.0.1:{env['DHO_SITE_API_PORT']}/api/v1"
    now = datetime.now(UTC)
    patient_id = seed_patient_and_nurse(env["DHO_DATABASE_URL"], now)

    created = subprocess.run(  # noqa: S603 - our own command
        [DHO, "users", "create-admin", "driftsansvarlig", "--display-name", "Drift Ansvarlig"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    password = re.search(r"password \(shown this once; give it in person\): (\S+)", created.stdout)
    assert password is not None, created.stdout
    admin = login(api, "driftsansvarlig", password[1])
    registered = httpx.post(f"{api}/patients/{patient_id}/gateways", headers=admin, timeout=30)
    assert registered.status_code == 201, registered.text
    gateway_id, secret = registered.json()["gateway_id"], registered.json()["secret"]

    site.process.send_signal(signal.SIGHUP)  # the new gateway's broker login
    site.wait_for("Mosquitto reloaded its logins", 120)

    at = (now - timedelta(minutes=1)).isoformat()
    reading_id = str(uuid.uuid4())
    body: dict[str, object] = {
        "schema": "dho.reading/1",
        "id": reading_id,
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": 91},
    }
    statuses = publish_twice(int(env["DHO_SITE_MQTT_PORT"]), gateway_id, secret, body)
    assert statuses == [f"{reading_id} stored", f"{reading_id} duplicate"]

    nurse = login(api, "sykepleier", NURSE_PASSWORD)
    readings = httpx.get(f"{api}/patients/{patient_id}/readings", headers=nurse, timeout=30)
    assert readings.status_code == 200, readings.text
    assert [(r["id"], r["colour"]) for r in readings.json()["items"]] == [(reading_id, "red")]

    dashboard = f"http://127.0.0.1:{env['DHO_SITE_DASHBOARD_PORT']}"
    health = httpx.get(f"{dashboard}/_stcore/health", timeout=30)
    assert (health.status_code, health.text) == (200, "ok")

    # each ingest worker's own metrics: both connected, and between them one stored, one duplicate
    first = int(env["DHO_SITE_INGEST_METRICS_PORT"])
    workers = [scrape(f"http://127.0.0.1:{port}/metrics") for port in (first, first + 1)]
    assert [w["dho_ingest_connected"] for w in workers] == [1, 1]
    handled = {
        outcome: sum(w[f'dho_ingest_messages_total{{outcome="{outcome}"}}'] for w in workers)
        for outcome in ("stored", "duplicate")
    }
    assert handled == {"stored": 1, "duplicate": 1}

    parts = dict(site.pids)
    assert set(parts) == {"mosquitto", "api", "ingest-1", "ingest-2", "jobs", "dashboard"}
    site.process.send_signal(signal.SIGTERM)
    assert site.process.wait(STOP_S) == 0, site.text
    site.wait_for("run-site: stopped", 10)
    assert "SIGTERM received: stopping in order" in site.text
    assert [line.split("stopping ")[1] for line in site.seen if "run-site: stopping " in line] == [
        "dashboard",
        "jobs",
        "ingest-2",
        "ingest-1",
        "api",
        "mosquitto",
    ]
    assert [part for part, pid in parts.items() if alive(pid)] == []
    logs = Path(env["DHO_SITE_DIR"]) / "logs"
    for part in ("api", "ingest-1", "ingest-2", "jobs"):
        log = (logs / f"{part}.log").read_text()
        assert "Traceback" not in log, log
        assert log.rstrip().endswith("triage.service: stopped"), log[-2000:]
    assert "mosquitto version 2" in (logs / "mosquitto.log").read_text()
    assert (logs / "mosquitto.log").read_text().rstrip().endswith("mosquitto.db.")


def test_run_site_fails_clearly_when_a_part_cannot_come_up(site_env: dict[str, str]) -> None:
    """When the API's port is taken, run-site.sh says the API did not come up, shows its log,
    stops what it had started and exits 1."""
    port = int(site_env["DHO_SITE_API_PORT"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(  # noqa: S603 - our own script
            [str(SCRIPT)],
            env=site_env,
            capture_output=True,
            text=True,
            timeout=START_S,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "api exited (status 1) before it was ready; its log ends:" in result.stderr
    assert f"the API could not listen on 127.0.0.1:{port}" in result.stderr
    started = {
        name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+),", result.stdout)
    }
    assert set(started) == {"mosquitto", "api"}
    assert "stopping mosquitto" in result.stdout
    assert [part for part, pid in started.items() if alive(pid)] == []
