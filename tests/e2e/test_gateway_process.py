"""The gateway as a process (``python -m gateway run --emulate``), killed with SIGKILL at the two
worst moments — after keeping readings but before publishing them, and after publishing but
before any receipt — then started again: every reading it kept is stored exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.gateway_harness import readings
from tests.e2e.test_gateway_ble import no_reading_twice
from tests.integration.conftest import start_ingest
from tests.integration.test_ingest_mqtt import poll_until
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.broker.embedded import free_port
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress

pytestmark = pytest.mark.mosquitto
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
DEADLINE_S = 60.0


def outbox_rows(data_dir: Path) -> list[tuple[str, int]]:
    """(id, attempts) of every message in the gateway's outbox file."""
    path = data_dir / "outbox.sqlite3"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return [(r[0], r[1]) for r in db.execute("SELECT id, attempts FROM outbox")]
    except sqlite3.OperationalError:  # created but not yet its table
        return []


class GatewayProcess:
    """``python -m gateway run --emulate`` for a COVID-19 patient with two days in the devices'
    memories; stderr goes to a log file shown when an assertion fails."""

    def __init__(self, data_dir: Path, gateway_id: str, port: int, prefix: str) -> None:
        env = {
            **os.environ,
            "DHO_GATEWAY_GATEWAY_ID": gateway_id,
            "DHO_GATEWAY_MQTT_PORT": str(port),
            "DHO_GATEWAY_TOPIC_PREFIX": prefix,
            "DHO_GATEWAY_DATA_DIR": str(data_dir),
            "DHO_GATEWAY_DRAIN_EVERY_S": "0.05",
            "DHO_GATEWAY_SCAN_S": "1",
            "DHO_GATEWAY_RETRY_MIN_S": "0.05",
            "DHO_GATEWAY_RETRY_MAX_S": "0.5",
        }
        self.log = data_dir.parent / f"{data_dir.name}-gateway-{port}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "run",
                    "--emulate",
                    "--condition",
                    "covid19",
                    "--seed",
                    "7",
                    "--backfill-days",
                    "2",
                    "--seconds-per-day",
                    "1000000",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def outbox_drained(data_dir: Path) -> bool:
    """The outbox file exists, can be read, and holds nothing: an outbox that cannot be read
    (a hot journal left by a killed gateway, a write in progress) is not taken for empty."""
    try:
        with sqlite3.connect(f"file:{data_dir / 'outbox.sqlite3'}?mode=ro", uri=True) as db:
            waiting: int = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            return waiting == 0
    except sqlite3.OperationalError:
        return False


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for gateway in started:
        if gateway.process.poll() is None:
            gateway.kill()


@SQLITE
def test_a_gateway_killed_before_publishing_and_before_receipts_loses_and_doubles_nothing(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    processes: list[GatewayProcess],
) -> None:
    gateway_id = world.patients[Condition.COVID19].gateway_id
    data_dir = tmp_path / "gateway"
    broker = BrokerAddress(mosquitto_address.host, mosquitto_address.port)
    start_ingest(sessions, broker, prefix).stop(timeout=5)  # its session exists; it is down

    # 1. no broker to publish to: readings are kept, then the process is killed
    first = GatewayProcess(data_dir, gateway_id, free_port(), prefix)
    processes.append(first)
    assert poll_until(lambda: len(outbox_rows(data_dir)) >= 5, DEADLINE_S), first.output()
    first.kill()
    kept = {message_id for message_id, _ in outbox_rows(data_dir)}
    assert all(attempts == 0 for _, attempts in outbox_rows(data_dir))

    # 2. the broker is there but the service is not: published, killed before any receipt
    second = GatewayProcess(data_dir, gateway_id, mosquitto_address.port, prefix)
    processes.append(second)
    assert poll_until(
        lambda: all(attempts > 0 for _, attempts in outbox_rows(data_dir)), DEADLINE_S
    ), second.output()
    second.kill()
    kept |= {message_id for message_id, _ in outbox_rows(data_dir)}
    assert readings(sessions) == []

    # 3. the service is back and the gateway starts again: all of it, once; a clean stop
    service = start_ingest(sessions, broker, prefix)
    try:
        third = GatewayProcess(data_dir, gateway_id, mosquitto_address.port, prefix)
        processes.append(third)
        assert poll_until(lambda: outbox_drained(data_dir), DEADLINE_S), third.output()
        assert third.stop() == 0, third.output()
    finally:
        service.stop(timeout=5)
    rows = readings(sessions)
    assert kept <= {row.id for row in rows}
    assert len(rows) == len(kept)
    no_reading_twice(rows)
