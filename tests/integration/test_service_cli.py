"""``dho serve``, ``dho jobs`` and ``dho broker run`` as an operator runs them: real processes,
real signals, a real database in a temporary data folder and the embedded broker."""

from __future__ import annotations

import json
import os
import queue
import re
import select as io_select
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from tests.prometheus import scrape
from triage.broker import find_mosquitto, probe_broker
from triage.broker.embedded import free_port
from triage.domain.plan import Condition
from triage.jobs import JOBS
from triage.storage import seed
from triage.storage.database import make_engine, migrate, session_factory
from triage.storage.models import JobRunRow, ReadingRow

DHO = str(Path(sys.executable).with_name("dho"))
START_S = 60.0
STOP_S = 30.0


@pytest.fixture(scope="module", autouse=True)
def _mosquitto() -> None:
    if find_mosquitto("mosquitto") is None:
        from tests import services

        services.service_unavailable("Mosquitto is not installed", os.environ.get("CI"))


def dho_env(**settings: str) -> dict[str, str]:
    """The environment without any DHO_ setting of the developer's, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DHO_")}
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return {**env, **settings}


def start(
    processes: list[subprocess.Popen[str]], args: list[str], env: dict[str, str]
) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own command
        [DHO, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(process)
    return process


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    """Send ``sig`` and wait (with a deadline) for a clean exit."""
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=STOP_S)
    return process.returncode, stdout, stderr


def wait_for_health(process: subprocess.Popen[str], base_url: str) -> dict[str, object]:
    deadline = time.monotonic() + START_S
    while True:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"dho exited with {process.returncode} while starting:\n{err}")
        try:
            response = httpx.get(f"{base_url}/api/v1/health", timeout=2)
            body: dict[str, object] = response.json()
            if response.status_code == 200 and body["status"] == "ok":
                return body
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            pytest.fail(f"dho serve did not become healthy within {START_S:.0f} s")
        time.sleep(0.1)


def register_patient(data_dir: Path, now: datetime) -> tuple[str, str, str]:
    """A COVID-19 patient with an approved plan and a gateway: (patient, gateway, secret).
    Registered before the service starts, the gateway is in its broker's password file at once
    (later registrations reach the embedded broker within 30 s)."""
    engine = make_engine(f"sqlite:///{(data_dir / 'dho.sqlite3').resolve()}")
    migrate(engine)
    try:
        with session_factory(engine).begin() as session:
            municipality = seed.add_municipality(session, "9901", "Testvik")
            centre = seed.add_centre(session, "Oppfølgingstjenesten Testvik", [municipality])
            patient = seed.add_patient(
                session,
                display_name="Testpasient",
                municipality=municipality,
                centre=centre,
                now=now - timedelta(days=10),
                condition=Condition.COVID19,
            )
            seed.add_approved_template_plan(
                session, patient, Condition.COVID19, "gp-test", now - timedelta(days=10)
            )
            gateway, secret = seed.register_gateway(session, patient, now, gateway_id="gw-serve")
            return patient.id, gateway.id, secret
    finally:
        engine.dispose()


def reading(spo2: float, now: datetime) -> dict[str, object]:
    at = (now - timedelta(minutes=1)).isoformat()
    return {
        "schema": "dho.reading/1",
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": spo2},
    }


def test_serve_runs_ingest_jobs_and_api_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`dho serve` in demo mode answers health, stores HTTP and MQTT readings, exits 0 on Ctrl-C."""
    now = datetime.now(UTC)
    patient_id, gateway_id, secret = register_patient(tmp_path, now)
    api_port, broker_port = free_port(), free_port()
    env = dho_env(DHO_DATA_DIR=str(tmp_path), DHO_DEMO="true", DHO_BROKER_PORT=str(broker_port))
    process = start(processes, ["serve", "--port", str(api_port)], env)
    base_url = f"http://127.0.0.1:{api_port}"
    health = wait_for_health(process, base_url)
    assert health["broker"] == {"ok": True, "detail": "ingest connected"}

    over_http = reading(97, now)
    response = httpx.post(
        f"{base_url}/api/v1/readings",
        json=over_http,
        headers={"Authorization": f"Bearer {gateway_id}:{secret}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["status"] == "stored"

    over_mqtt = reading(91, now)
    receipts: queue.Queue[bytes] = queue.Queue()
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5)
    gateway.username_pw_set(gateway_id, secret)  # the demo's broker has passwords too
    gateway.on_message = lambda _c, _u, m: receipts.put(bytes(m.payload))
    gateway.connect("127.0.0.1", broker_port)
    gateway.loop_start()
    try:
        gateway.subscribe(f"dho/v1/{gateway_id}/receipts", qos=1)
        gateway.publish(
            f"dho/v1/{gateway_id}/readings", json.dumps(over_mqtt), qos=1
        ).wait_for_publish(10)
        receipt = json.loads(receipts.get(timeout=30))
    finally:
        gateway.disconnect()
        gateway.loop_stop()
    assert [(i["id"], i["status"], i["colour"]) for i in receipt["items"]] == [
        (over_mqtt["id"], "stored", "red")
    ]

    code, _, stderr = stop(process, signal.SIGINT)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "SIGINT received: shutting down" in stderr
    assert "embedded MQTT broker (mosquitto) stopped" in stderr
    engine = make_engine(f"sqlite:///{(tmp_path / 'dho.sqlite3').resolve()}")
    try:
        with session_factory(engine)() as session:
            rows = session.execute(select(ReadingRow.id, ReadingRow.patient_id)).all()
            jobs = set(session.scalars(select(JobRunRow.job)))
    finally:
        engine.dispose()
    assert sorted(rows) == sorted([(over_http["id"], patient_id), (over_mqtt["id"], patient_id)])
    assert jobs == {job.name for job in JOBS}


def test_serve_outside_demo_mode_lets_only_registered_gateways_in(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """Outside demo mode the embedded broker takes a registered gateway's id and secret only."""
    now = datetime.now(UTC)
    _, gateway_id, secret = register_patient(tmp_path, now)
    api_port, broker_port = free_port(), free_port()
    env = dho_env(
        DHO_DATA_DIR=str(tmp_path), DHO_SECRET_KEY="k" * 32, DHO_BROKER_PORT=str(broker_port)
    )
    process = start(processes, ["serve", "--port", str(api_port)], env)
    wait_for_health(process, f"http://127.0.0.1:{api_port}")
    broker = f"127.0.0.1:{broker_port}"
    assert str(probe_broker(f"mqtt://{broker}")) == "Not authorized"
    assert str(probe_broker(f"mqtt://{gateway_id}:wrong@{broker}")) == "Not authorized"

    over_mqtt = reading(93, now)
    receipts: queue.Queue[bytes] = queue.Queue()
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5)
    gateway.username_pw_set(gateway_id, secret)
    gateway.on_message = lambda _c, _u, m: receipts.put(bytes(m.payload))
    gateway.connect("127.0.0.1", broker_port)
    gateway.loop_start()
    try:
        gateway.subscribe(f"dho/v1/{gateway_id}/receipts", qos=1)
        gateway.publish(
            f"dho/v1/{gateway_id}/readings", json.dumps(over_mqtt), qos=1
        ).wait_for_publish(10)
        receipt = json.loads(receipts.get(timeout=30))
    finally:
        gateway.disconnect()
        gateway.loop_stop()
    assert [(i["id"], i["status"], i["colour"]) for i in receipt["items"]] == [
        (over_mqtt["id"], "stored", "yellow")
    ]
    code, _, stderr = stop(process, signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_serve_refuses_the_demo_secret_outside_demo_mode(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """Without DHO_DEMO and DHO_SECRET_KEY, `dho serve` says what to set and exits 2."""
    process = start(processes, ["serve"], dho_env(DHO_DATA_DIR=str(tmp_path)))
    _, stderr = process.communicate(timeout=START_S)
    assert process.returncode == 2
    assert stderr == (
        "dho cannot start: the settings are not valid:\n"
        "  DHO_SECRET_KEY is the demo default: set a secret (e.g. `openssl rand -hex 32`) or "
        "run in demo mode (DHO_DEMO=true)\n"
    )
    assert not (tmp_path / "dho.sqlite3").exists()


def test_jobs_alone_run_once_at_start_and_stop_on_sigterm(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`dho jobs` migrates the database, runs every job at start, logs each run by name with
    its outcome, and exits 0 on SIGTERM."""
    env = dho_env(DHO_DATA_DIR=str(tmp_path), DHO_SECRET_KEY="k" * 32)
    process = start(processes, ["jobs"], env)
    database = tmp_path / "dho.sqlite3"
    deadline = time.monotonic() + START_S
    jobs: set[str] = set()
    while jobs != {job.name for job in JOBS}:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"jobs seen: {jobs}"
        if database.exists():
            engine = make_engine(f"sqlite:///{database.resolve()}")
            try:
                with session_factory(engine)() as session:
                    jobs = set(
                        session.scalars(select(JobRunRow.job).where(JobRunRow.status == "ok"))
                    )
            except Exception:  # noqa: S110 - the schema is still being created
                pass
            finally:
                engine.dispose()
        time.sleep(0.1)
    code, _, stderr = stop(process, signal.SIGTERM)
    assert code == 0, stderr
    assert "SIGTERM received: shutting down" in stderr
    for job in jobs:
        assert re.search(
            rf"INFO triage\.jobs\.runs: job run finished job={job} run_id=\d+ status=ok "
            r"processed=0 failures=0 duration_ms=\d+",
            stderr,
        ), stderr
    assert not (tmp_path / "broker").exists()  # jobs need no broker


def test_broker_run_prints_where_it_listens(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`dho broker run` starts the embedded broker, says its address, and stops on SIGTERM."""
    port = free_port()
    env = dho_env(DHO_DATA_DIR=str(tmp_path), DHO_SECRET_KEY="k" * 32, DHO_BROKER_PORT=str(port))
    process = start(processes, ["broker", "run"], env)
    assert process.stdout is not None
    ready, _, _ = io_select.select([process.stdout], [], [], START_S)
    assert ready, "dho broker run printed nothing"
    line = process.stdout.readline()
    assert line == f"MQTT broker running: mqtt://dho-service:***@127.0.0.1:{port}\n"
    password = (tmp_path / "broker" / "service-password").read_text().strip()
    assert str(probe_broker(f"mqtt://dho-service:{password}@127.0.0.1:{port}")) == "Success"
    code, _, stderr = stop(process, signal.SIGTERM)
    assert code == 0, stderr


def test_a_bad_broker_url_is_reported_plainly(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """A DHO_MQTT_URL that is not mqtt:// stops `dho ingest` with what is expected, exit 1."""
    env = dho_env(
        DHO_DATA_DIR=str(tmp_path),
        DHO_SECRET_KEY="k" * 32,
        DHO_MQTT_URL="http://dho-service:hunter2@broker.example",
    )
    process = start(processes, ["ingest"], env)
    _, stderr = process.communicate(timeout=START_S)
    assert process.returncode == 1
    assert stderr.endswith(
        "dho: DHO_MQTT_URL 'http://dho-service:***@broker.example': expected "
        "mqtt://[user:password@]host[:port] (or mqtts:// for TLS)\n"
    )
    assert "hunter2" not in stderr
    assert "Traceback" not in stderr


def test_ingest_alone_serves_its_metrics_for_the_operator(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`dho ingest` with DHO_INGEST_METRICS_PORT: its connection and counters are scrapeable,
    a stored MQTT reading shows up in them, nothing else is served, SIGTERM still exits 0."""
    now = datetime.now(UTC)
    _, gateway_id, secret = register_patient(tmp_path, now)
    metrics_port, broker_port = free_port(), free_port()
    env = dho_env(
        DHO_DATA_DIR=str(tmp_path),
        DHO_DEMO="true",
        DHO_BROKER_PORT=str(broker_port),
        DHO_INGEST_METRICS_PORT=str(metrics_port),
    )
    process = start(processes, ["ingest"], env)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    deadline = time.monotonic() + START_S
    samples: dict[str, float] = {}
    while samples.get("dho_ingest_connected") != 1:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dho ingest did not report itself connected: {process.poll()}")
        try:
            samples = scrape(metrics_url)
        except httpx.HTTPError:
            time.sleep(0.2)
    assert samples['dho_ingest_messages_total{outcome="stored"}'] == 0

    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5)
    gateway.username_pw_set(gateway_id, secret)
    gateway.connect("127.0.0.1", broker_port)
    gateway.loop_start()
    try:
        gateway.publish(
            f"dho/v1/{gateway_id}/readings", json.dumps(reading(91, now)), qos=1
        ).wait_for_publish(10)
    finally:
        gateway.disconnect()
        gateway.loop_stop()
    while samples.get('dho_ingest_messages_total{outcome="stored"}') != 1:
        if time.monotonic() > deadline:
            pytest.fail(f"the stored reading never showed in the metrics: {samples}")
        time.sleep(0.2)
        samples = scrape(metrics_url)
    assert samples["dho_ingest_received_total"] == 1
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/", timeout=2).status_code == 404

    code, _, stderr = stop(process, signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr
