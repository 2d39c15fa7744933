"""The fault suite's parts, each a real process: a private Mosquitto (the configuration
``dho broker config`` writes), ``dho ingest`` workers, home gateways (``python -m gateway run``)
draining an outbox on disk, a private PostgreSQL cluster, and plain MQTT clients that publish as
a gateway and collect its receipts.

Nothing here is a fake: faults are real signals (SIGKILL, ``pg_ctl stop -m immediate``) to real
processes. Waiting is polling with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.outbox import Channel, Outbox
from tests.integration.world import World
from tests.services import is_reachable
from triage.broker import SERVICE_USER, BrokerCredential, MosquittoOptions, find_mosquitto
from triage.broker.credentials import gateway_credentials
from triage.broker.embedded import free_port
from triage.broker.endpoint import MqttEndpoint
from triage.broker.mosquitto_config import write_broker_files
from triage.broker.passwords import mosquitto_password_hash
from triage.domain.plan import Condition
from triage.storage.models import DeadLetterRow, ReadingRow

#: How long a part may take to come up, or a fault to heal, on a loaded two-core machine.
START_S = 60.0
HEAL_S = 120.0
SERVICE_PASSWORD = "faults-service-" + "p" * 24
#: The broker's service logins: the service's own and one per ingest worker (client id = login).
SERVICE_LOGINS = (SERVICE_USER, *(f"dho-ingest-{n}" for n in range(1, 5)))
SECRET_KEY = "faults-secret-key-" + "k" * 32


def poll_until(predicate: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Check ``predicate`` every ``every`` seconds until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(every)
    return True


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return f"({path} does not exist)"


# ----------------------------------------------------------------------------- payloads


def reading(reading_id: str, measured_at: datetime, received_at: datetime, spo2: int = 96) -> bytes:
    """A ``dho.reading/1`` SpO2 reading as a gateway publishes it."""
    return json.dumps(
        {
            "schema": "dho.reading/1",
            "id": reading_id,
            "kind": "spo2",
            "measured_at": measured_at.isoformat(),
            "received_at": received_at.isoformat(),
            "values": {"spo2": spo2, "pulse": 72},
            "device": {"profile": "pulse_oximeter", "model": "NONIN 3230"},
        },
        separators=(",", ":"),
    ).encode()


def new_ids(count: int, tag: str) -> list[str]:
    return [f"{tag}-{i:05d}-{uuid.uuid4().hex[:8]}" for i in range(count)]


# ----------------------------------------------------------------------------- the database


def stored_ids(sessions: sessionmaker[Session]) -> list[str]:
    """Every stored reading's id (a list: an id stored twice would show twice)."""
    with sessions() as session:
        return list(session.scalars(select(ReadingRow.id)))


def stored_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ReadingRow)) or 0


def dead_letters(sessions: sessionmaker[Session]) -> list[tuple[str | None, str]]:
    with sessions() as session:
        return [
            (row.message_id, f"{row.reason_code}: {row.reason}")
            for row in session.scalars(select(DeadLetterRow))
        ]


def lost_and_doubled(
    published: Iterable[str], stored: Sequence[str]
) -> tuple[set[str], dict[str, int]]:
    """(ids published but not stored, {id: times stored} for ids stored more than once or never
    published)."""
    wanted = set(published)
    counts = Counter(stored)
    lost = wanted - set(counts)
    doubled = {i: n for i, n in counts.items() if n != 1 or i not in wanted}
    return lost, doubled


def assert_exactly_once(
    published: Iterable[str], sessions: sessionmaker[Session], context: str = ""
) -> None:
    """Stored ids == published ids, each exactly once; and no dead letter."""
    published = list(published)
    lost, doubled = lost_and_doubled(published, stored_ids(sessions))
    summary = (
        f"{len(lost)} lost (e.g. {sorted(lost)[:5]}), {len(doubled)} doubled or unknown "
        f"(e.g. {sorted(doubled.items())[:5]}) of {len(set(published))} published\n{context}"
    )
    assert not lost, summary
    assert not doubled, summary
    assert dead_letters(sessions) == [], context


# ----------------------------------------------------------------------------- Mosquitto


class Broker:
    """A private Mosquitto on a free port with the configuration ``dho broker config`` writes
    (per-gateway logins, the ACL, the queue settings), persistence on or off."""

    def __init__(
        self, folder: Path, sessions: sessionmaker[Session], *, persistence: bool = True
    ) -> None:
        executable = find_mosquitto("mosquitto")
        assert executable is not None, "Mosquitto is not installed (apt-get install mosquitto)"
        self.executable = executable
        self.folder = folder
        self.port = free_port()
        self.persistence = persistence
        with sessions() as session:
            gateways = gateway_credentials(session)
        # one login per service process, shared password (the login is the client id)
        password_hash = mosquitto_password_hash(SERVICE_PASSWORD)
        services = [BrokerCredential(name, password_hash) for name in SERVICE_LOGINS]
        options = MosquittoOptions(
            port=self.port,
            persistence_dir=folder / "persistence" if persistence else None,
            max_inflight_messages=1000,
            run_as_user=getpass.getuser(),
        )
        if persistence:
            (folder / "persistence").mkdir(parents=True, exist_ok=True)
        self.conf = write_broker_files(folder, options, gateways, services).conf
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.service_url = MqttEndpoint("127.0.0.1", self.port, SERVICE_USER, SERVICE_PASSWORD)

    @property
    def url(self) -> str:
        return self.service_url.url()

    def url_for(self, login: str) -> str:
        """The broker's URL with one of :data:`SERVICE_LOGINS` (each worker needs its own)."""
        assert login in SERVICE_LOGINS, f"{login} has no login on the test broker"
        return MqttEndpoint("127.0.0.1", self.port, login, SERVICE_PASSWORD).url()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own executable and config
                [str(self.executable), "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert poll_until(self._answers, START_S, 0.05), (
            f"Mosquitto did not start:\n{self.output()}"
        )

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"Mosquitto exited:\n{self.output()}"
        return is_reachable("127.0.0.1", self.port, 0.5)

    def save(self) -> None:
        """SIGUSR1: Mosquitto writes its persistence file now, as its autosave would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved since the last save."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)

    def output(self) -> str:
        return tail(self.log)


# ----------------------------------------------------------------------------- dho ingest


class IngestProcess:
    """``dho ingest`` (``python -m triage ingest``) with its own client id, on ``broker``."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        broker: Broker,
        client_id: str,
        *,
        shared_group: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.client_id = client_id
        self.log = folder / f"ingest-{client_id}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DHO_")} | {
            "DHO_DATABASE_URL": database_url,
            "DHO_MQTT_URL": broker.url_for(client_id),
            "DHO_SECRET_KEY": SECRET_KEY,
            "DHO_DATA_DIR": str(folder / f"data-{client_id}"),
            "DHO_MQTT_CLIENT_ID": client_id,
            **({"DHO_MQTT_SHARED_GROUP": shared_group} if shared_group else {}),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, wait: bool = True) -> None:
        """Start it; with ``wait``, until it says its subscriptions are acknowledged."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "triage", "ingest"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        if wait:
            assert poll_until(lambda: self._ready_since(offset), START_S), self.output()

    def _ready_since(self, offset: int) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"dho ingest exited:\n{self.output()}"
        with self.log.open("rb") as log:
            log.seek(offset)
            return b"ingest is ready" in log.read()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        """SIGTERM: drain and stop; the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return tail(self.log)

    def logged(self, text: str) -> int:
        """How many of its log lines (over every start) contain ``text``."""
        return sum(text in line for line in self.log.read_text(errors="replace").splitlines())


# ----------------------------------------------------------------------------- gateways


class GatewayProcess:
    """A home gateway, ``python -m gateway run``, with no paired devices: it publishes what is
    in its outbox (filled by the test, as its devices would) and prunes it on receipts."""

    def __init__(self, folder: Path, gateway_id: str, secret: str, broker: Broker) -> None:
        self.gateway_id = gateway_id
        self.data_dir = folder / f"gateway-{gateway_id}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = folder / f"gateway-{gateway_id}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DHO_")} | {
            "DHO_GATEWAY_GATEWAY_ID": gateway_id,
            "DHO_GATEWAY_SECRET": secret,
            "DHO_GATEWAY_MQTT_PORT": str(broker.port),
            "DHO_GATEWAY_DATA_DIR": str(self.data_dir),
            "DHO_GATEWAY_DRAIN_EVERY_S": "0.1",
            "DHO_GATEWAY_STATUS_EVERY_S": "5",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    def keep(self, messages: Sequence[tuple[str, bytes]], now: datetime) -> None:
        """Put readings into the outbox as the gateway's recorder does (durably, before any
        publish); works while the gateway runs (``dho gateway report`` does the same)."""
        outbox = Outbox(self.outbox_path)
        try:
            for message_id, payload in messages:
                assert outbox.add(Channel.READINGS, message_id, payload, now)
        finally:
            outbox.close()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def waiting(self) -> int | None:
        """Messages in the outbox (pending or rejected); None when it cannot be read now."""
        try:
            with sqlite3.connect(f"file:{self.outbox_path}?mode=ro", uri=True, timeout=5) as db:
                return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:
            return None

    def drained(self) -> bool:
        return self.waiting() == 0

    def last_kept(self) -> int:
        """The outbox's newest message number (0 when empty)."""
        with sqlite3.connect(f"file:{self.outbox_path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])

    def published_up_to(self, seq: int) -> bool:
        """Whether every message up to number ``seq`` still in the outbox was published."""
        try:
            with sqlite3.connect(f"file:{self.outbox_path}?mode=ro", uri=True, timeout=5) as db:
                query = "SELECT count(*) FROM outbox WHERE seq <= ? AND attempts = 0"
                return int(db.execute(query, (seq,)).fetchone()[0]) == 0
        except sqlite3.OperationalError:
            return False

    def output(self) -> str:
        return tail(self.log)


# ----------------------------------------------------------------------------- plain clients


class GatewayClient:
    """A gateway's login as a bare MQTT client: publishes QoS 1 with no outbox behind it (what
    is lost after its PUBACK stays lost) and records every receipt item it gets."""

    def __init__(self, gateway_id: str, secret: str, broker: Broker) -> None:
        self.gateway_id = gateway_id
        self.statuses: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"faults-{gateway_id}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set(gateway_id, secret)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        topic = f"dho/v1/{gateway_id}/receipts"
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(START_S), "the receipt subscription was not acknowledged"

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        items = json.loads(message.payload)["items"]
        with self._lock:
            for item in items:
                self.statuses[str(item["id"])].append(str(item["status"]))

    def publish(self, messages: Sequence[tuple[str, bytes]], per_second: float = 0) -> None:
        """Publish every message at QoS 1 (paced at ``per_second`` when above 0) and wait for
        the broker's PUBACKs."""
        topic = f"dho/v1/{self.gateway_id}/readings"
        infos = []
        started = time.monotonic()
        pause = threading.Event()
        for n, (_, payload) in enumerate(messages):
            if per_second > 0:
                ahead = started + n / per_second - time.monotonic()
                if ahead > 0:
                    pause.wait(ahead)
            infos.append(self.client.publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(HEAL_S)
            assert info.is_published()

    def receipted(self) -> dict[str, list[str]]:
        with self._lock:
            return {k: list(v) for k, v in self.statuses.items()}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ----------------------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresCluster:
    """A private PostgreSQL cluster in a temporary folder on a free port (never the machine's
    shared server): ``initdb`` as the ``postgres`` user when we are root (initdb refuses root)."""

    folder: Path
    port: int
    bindir: Path
    owner: str | None  # run the server's commands as this user (None: as ourselves)

    @classmethod
    def create(cls) -> PostgresCluster:
        bindir = _postgres_bindir()
        owner = "postgres" if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="dho-faults-pg-"))
        if owner is not None:
            shutil.chown(folder, owner, owner)
        cluster = cls(folder, free_port(), bindir, owner)
        cluster._run(
            "initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        return cluster

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database in the cluster; its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools
            command, capture_output=True, text=True, timeout=120, check=False, cwd=self.folder
        )
        assert result.returncode == 0, f"{tool} failed:\n{result.stdout}\n{result.stderr}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder}"
            " -c fsync=on -c max_connections=40"
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.folder / "data"),
            "-l", str(self.folder / "server.log"), "-o", options,
        )  # fmt: skip

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every server process quits at once, no checkpoint (a
        crash for the data: the next start recovers from the write-ahead log)."""
        self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.folder / "data"))

    def destroy(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.folder / "data"))
        shutil.rmtree(self.folder, ignore_errors=True)

    def output(self) -> str:
        return tail(self.folder / "server.log")


def _postgres_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    assert initdb is not None, "PostgreSQL's initdb is not installed"
    return Path(initdb).parent


@dataclass
class Stream:
    """Fresh readings from several gateways' bare clients, published at a pace on threads."""

    clients: list[GatewayClient]
    batches: dict[GatewayClient, list[tuple[str, bytes]]]
    publishers: list[threading.Thread]


def start_stream(
    world: World,
    broker: Broker,
    conditions: Sequence[Condition],
    per_gateway: int,
    per_second: float,
) -> Stream:
    """Start publishing ``per_gateway`` new readings from each condition's gateway, at
    ``per_second`` each (the caller closes ``Stream.clients``)."""
    clients = [
        GatewayClient(world.patients[c].gateway_id, world.patients[c].gateway_secret, broker)
        for c in conditions
    ]
    now = datetime.now(UTC)
    batches = {
        client: [
            (i, reading(i, now - timedelta(seconds=20), now))
            for i in new_ids(per_gateway, client.gateway_id)
        ]
        for client in clients
    }
    publishers = [
        threading.Thread(target=client.publish, args=(messages, per_second), daemon=True)
        for client, messages in batches.items()
    ]
    for publisher in publishers:
        publisher.start()
    return Stream(clients, batches, publishers)
