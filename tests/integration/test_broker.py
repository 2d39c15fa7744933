"""The embedded broker (Mosquitto, or amqtt for demos) and the generated Mosquitto configuration,
tested against real brokers on free ports (the system broker on 1883 is never touched)."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from tests import services
from triage.broker import (
    AMQTT_WARNING,
    BrokerCredential,
    BrokerStartError,
    MqttEndpoint,
    MqttProtocol,
    find_mosquitto,
    mosquitto_password_hash,
    probe_broker,
    start_broker,
    verify_mosquitto_password,
    wait_for_broker,
)
from triage.broker.embedded import free_port
from triage.broker.mosquitto_config import render_example
from triage.cli import app
from triage.config import Settings
from triage.storage.database import make_engine, migrate, session_factory
from triage.storage.models import GatewayRow
from triage.storage.seed import register_gateway

DEADLINE_S = 10.0
GATEWAY_SECRET = "gateway-demo-secret"  # noqa: S105 - a test broker's login
GATEWAY = BrokerCredential("gw-demo", mosquitto_password_hash(GATEWAY_SECRET))
NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mosquitto() -> Path:
    """The Mosquitto executable; skips (fails under CI) when it is not installed."""
    found = find_mosquitto("mosquitto")
    if found is None:
        services.service_unavailable(
            "Mosquitto is not installed (apt-get install mosquitto)", os.environ.get("CI")
        )
    return found


class Client:
    """A paho client that collects what it receives; every wait polls with a deadline."""

    def __init__(
        self,
        url: str,
        client_id: str,
        protocol: MqttProtocol = MqttProtocol.V5,
        *,
        clean: bool = True,
    ) -> None:
        endpoint = MqttEndpoint.parse(url)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[ReasonCode] = queue.Queue()
        self.subscribed: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol.paho,
            clean_session=None if protocol is MqttProtocol.V5 else clean,
        )
        if endpoint.username:
            self.client.username_pw_set(endpoint.username, endpoint.password)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(rc)
        self.client.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.subscribed.put(list(rcs))
        properties = None
        if protocol is MqttProtocol.V5 and not clean:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 3600
        self.client.connect(
            endpoint.host,
            endpoint.port,
            clean_start=clean if protocol is MqttProtocol.V5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self.client.loop_start()
        reason = self.connected.get(timeout=DEADLINE_S)
        assert not reason.is_failure, reason

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        granted = self.subscribed.get(timeout=DEADLINE_S)
        assert all(not rc.is_failure for rc in granted), granted

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(DEADLINE_S)

    def receive(self) -> tuple[str, bytes]:
        return self.messages.get(timeout=DEADLINE_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()


def gateway_login(service_url: str) -> str:
    """The URL of ``GATEWAY``'s login on the broker at ``service_url``."""
    endpoint = MqttEndpoint.parse(service_url)
    return f"mqtt://gw-demo:{GATEWAY_SECRET}@{endpoint.host}:{endpoint.port}"


# ----------------------------------------------------------------------------- embedded broker


def test_embedded_mosquitto_carries_qos1(
    mosquitto: Path, tmp_path: Path, clients: list[Client]
) -> None:
    """With no DHO_MQTT_URL, dho starts Mosquitto on localhost and QoS 1 messages go through."""
    settings = Settings(data_dir=tmp_path, demo=True)
    url, broker = start_broker(settings, [GATEWAY])
    assert broker is not None
    try:
        assert (broker.kind, broker.protocol) == ("mosquitto", MqttProtocol.V5)
        assert MqttEndpoint.parse(url).host == "127.0.0.1"
        conf = (tmp_path / "broker" / "mosquitto.conf").read_text()
        assert "max_queued_messages 100000\nmax_queued_bytes 0\n" in conf
        assert "max_inflight_messages 1000\n" in conf
        assert "persistence true\n" in conf
        assert "allow_anonymous false\n" in conf  # the demo too
        service = Client(url, "dho-service")
        clients.append(service)
        service.subscribe("$share/triage/dho/v1/+/readings")
        gateway = Client(gateway_login(url), "gw-demo")
        clients.append(gateway)
        gateway.publish("dho/v1/gw-demo/readings", b'{"id": "r1"}')
        assert service.receive() == ("dho/v1/gw-demo/readings", b'{"id": "r1"}')
    finally:
        broker.stop()
    assert isinstance(probe_broker(url, timeout_s=0.5), str)  # nobody listens any more


def test_embedded_mosquitto_keeps_queued_messages_across_a_restart(
    mosquitto: Path, tmp_path: Path, clients: list[Client]
) -> None:
    """Readings queued for a stopped service are still delivered after the broker restarts."""
    settings = Settings(data_dir=tmp_path, demo=True, broker_port=free_port())
    url, broker = start_broker(settings, [GATEWAY])
    assert broker is not None
    try:
        service = Client(url, "dho-service", clean=False)
        service.subscribe("dho/v1/+/readings")
        service.close()
        gateway = Client(gateway_login(url), "gw-demo")
        for n in range(50):
            gateway.publish("dho/v1/gw-demo/readings", f"r{n}".encode())
        gateway.close()
    finally:
        broker.stop()
    url, broker = start_broker(settings, [GATEWAY])
    assert broker is not None
    try:
        # the broker's own readiness check logged in as dho-probe: the session is intact
        service = Client(url, "dho-service", clean=False)
        clients.append(service)
        received = [service.receive()[1] for _ in range(50)]
        assert received == [f"r{n}".encode() for n in range(50)]
    finally:
        broker.stop()


def test_embedded_mosquitto_outside_demo_needs_passwords(
    mosquitto: Path, tmp_path: Path, clients: list[Client]
) -> None:
    """Outside demo mode the embedded broker takes only registered gateways and the service."""
    settings = Settings(data_dir=tmp_path, demo=False, secret_key="s" * 32)
    gateway_hash = mosquitto_password_hash("gateway-secret")
    url, broker = start_broker(settings, [BrokerCredential("gw-a", gateway_hash)])
    assert broker is not None
    try:
        endpoint = MqttEndpoint.parse(url)
        assert endpoint.username == "dho-service"
        plain = f"mqtt://127.0.0.1:{endpoint.port}"
        assert str(probe_broker(url)) == "Success"
        assert str(probe_broker(f"mqtt://gw-a:gateway-secret@127.0.0.1:{endpoint.port}")) == (
            "Success"
        )
        assert str(probe_broker(plain)) == "Not authorized"
        assert str(probe_broker(f"mqtt://gw-a:wrong@127.0.0.1:{endpoint.port}")) == (
            "Not authorized"
        )
        gateway = Client(f"mqtt://gw-a:gateway-secret@127.0.0.1:{endpoint.port}", "gw-a")
        clients.append(gateway)
        broker.update_credentials([])  # the gateway was revoked
        deadline = time.monotonic() + DEADLINE_S
        while gateway.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not gateway.client.is_connected()
        assert str(probe_broker(f"mqtt://gw-a:gateway-secret@127.0.0.1:{endpoint.port}")) == (
            "Not authorized"
        )
    finally:
        broker.stop()


def test_amqtt_fallback_when_mosquitto_is_missing(
    tmp_path: Path, clients: list[Client], caplog: pytest.LogCaptureFixture
) -> None:
    """Without Mosquitto, demo mode falls back to amqtt (with a warning) and carries a message."""
    settings = Settings(data_dir=tmp_path, demo=True, mosquitto_path=str(tmp_path / "none"))
    with caplog.at_level(logging.WARNING, logger="triage.broker"):
        url, broker = start_broker(settings, [GATEWAY])
    assert broker is not None
    try:
        assert (broker.kind, broker.protocol) == ("amqtt", MqttProtocol.V311)
        assert AMQTT_WARNING in caplog.messages
        service = Client(url, "dho-service", MqttProtocol.V311)
        clients.append(service)
        service.subscribe("dho/v1/+/readings")
        gateway = Client(gateway_login(url), "gw-demo", MqttProtocol.V311)
        clients.append(gateway)
        gateway.publish("dho/v1/gw-demo/readings", b"hello")
        assert service.receive() == ("dho/v1/gw-demo/readings", b"hello")
    finally:
        for client in clients:
            client.close()
        clients.clear()
        broker.stop()


def test_amqtt_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    """Outside demo mode, a missing Mosquitto stops the start with what to install."""
    settings = Settings(data_dir=tmp_path, secret_key="s" * 32, mosquitto_path="")
    with pytest.raises(BrokerStartError, match=r"Install Mosquitto .* or point DHO_MQTT_URL"):
        start_broker(settings)


def test_configured_broker_url_is_used_as_is(tmp_path: Path) -> None:
    """With DHO_MQTT_URL set, no broker is started and that URL is used."""
    settings = Settings(data_dir=tmp_path, demo=True, mqtt_url="mqtt://u:p@broker.example:1884")
    assert start_broker(settings) == ("mqtt://u:p@broker.example:1884", None)
    assert not (tmp_path / "broker").exists()


def test_waiting_for_an_absent_broker_gives_up_at_the_deadline() -> None:
    """An unreachable broker is reported after the deadline, naming where it was looked for."""
    url = f"mqtt://dho-service:secret@127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(Exception, match=r"127\.0\.0\.1:\d+ did not answer within 1 s") as err:
        wait_for_broker(url, timeout_s=1.0)
    assert "secret" not in str(err.value)
    assert time.monotonic() - started < 5


# ----------------------------------------------------------------------------- site configuration


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    """A database with three gateways (one revoked) and their secrets."""
    url = f"sqlite:///{tmp_path / 'dho.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    secrets: dict[str, str] = {}
    with session_factory(engine).begin() as session:
        for gateway_id in ("gw-one", "gw-two", "gw-gone"):
            _row, secret = register_gateway(session, None, NOW, gateway_id=gateway_id)
            secrets[gateway_id] = secret
        session.flush()
        gone = session.get(GatewayRow, "gw-gone")
        assert gone is not None
        gone.revoked_at = NOW
    engine.dispose()
    return {"database_url": url, "secrets": secrets}


def test_generated_site_config_enforces_passwords_and_acl(
    mosquitto: Path, tmp_path: Path, site: dict[str, Any], clients: list[Client]
) -> None:
    """`dho broker config` gives each gateway its own login, confined to its own topics."""
    out = tmp_path / "site"
    port = free_port()
    result = CliRunner().invoke(
        app,
        [
            "broker",
            "config",
            "--out",
            str(out),
            "--port",
            str(port),
            "--persistence-dir",
            str(tmp_path / "db"),
            "--user",
            _whoami(),
        ],
        env={"DHO_DATABASE_URL": site["database_url"], "DHO_SECRET_KEY": "k" * 32},
    )
    assert result.exit_code == 0, result.output
    assert "2 gateway login(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "acl",
        "mosquitto.conf",
        "passwd",
        "service-password",
    ]
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}["passwd"] == 0o600
    users = [line.split(":")[0] for line in (out / "passwd").read_text().splitlines()]
    # the revoked gateway is left out
    assert users == ["dho-service", "dho-probe", "gw-one", "gw-two"]
    (tmp_path / "db").mkdir()
    process = subprocess.Popen(  # noqa: S603 - the test's own broker
        [str(mosquitto), "-c", str(out / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        service_password = (out / "service-password").read_text().strip()
        service_url = f"mqtt://dho-service:{service_password}@127.0.0.1:{port}"
        wait_for_broker(service_url, DEADLINE_S, MqttProtocol.V5)

        def gateway_url(gateway_id: str, secret: str | None = None) -> str:
            return f"mqtt://{gateway_id}:{secret or site['secrets'][gateway_id]}@127.0.0.1:{port}"

        assert str(probe_broker(gateway_url("gw-one", "wrong-secret"))) == "Not authorized"
        assert str(probe_broker(gateway_url("gw-gone"))) == "Not authorized"
        assert str(probe_broker(f"mqtt://127.0.0.1:{port}")) == "Not authorized"

        service = Client(service_url, "dho-triage-1")
        clients.append(service)
        service.subscribe("$share/triage/dho/v1/+/readings")
        one = Client(gateway_url("gw-one"), "gw-one")
        clients.append(one)
        one.subscribe("dho/v1/+/receipts")  # asks for everyone's; gets only its own
        two = Client(gateway_url("gw-two"), "gw-two")
        clients.append(two)
        two.subscribe("dho/v1/gw-two/receipts")

        one.publish("dho/v1/gw-two/readings", b"forged")  # not its topic: dropped
        one.publish("dho/v1/gw-one/readings", b"own")
        assert service.receive() == ("dho/v1/gw-one/readings", b"own")
        assert service.messages.empty()  # the forged message came first and never arrived

        service.publish("dho/v1/gw-two/receipts", b"for two")
        service.publish("dho/v1/gw-one/receipts", b"for one")
        assert two.receive() == ("dho/v1/gw-two/receipts", b"for two")
        assert one.receive() == ("dho/v1/gw-one/receipts", b"for one")
        assert one.messages.empty()

        # issue 15: the tablet state, retained, reaches its own gateway only; a gateway writes
        # its call requests and message reads, and the service reads them
        for gateway_id in ("gw-one", "gw-two"):
            service.client.publish(
                f"dho/v1/{gateway_id}/tablet", f"tablet of {gateway_id}".encode(), 1, retain=True
            ).wait_for_publish(DEADLINE_S)
        three = Client(gateway_url("gw-two"), "gw-two")  # gw-two again, after the publishes
        clients.append(three)
        three.client.subscribe("dho/v1/gw-one/tablet", qos=1)  # another's: refused or empty
        three.subscribed.get(timeout=DEADLINE_S)
        three.subscribe("dho/v1/gw-two/tablet")
        assert three.receive() == ("dho/v1/gw-two/tablet", b"tablet of gw-two")
        assert three.messages.empty()  # gw-one's retained state never came, though asked first
        service.subscribe("dho/v1/+/calls")
        service.subscribe("dho/v1/+/message-reads")
        one.publish("dho/v1/gw-two/calls", b"forged call")
        one.publish("dho/v1/gw-one/calls", b"call")
        one.publish("dho/v1/gw-one/message-reads", b"read")
        assert service.receive() == ("dho/v1/gw-one/calls", b"call")
        assert service.receive() == ("dho/v1/gw-one/message-reads", b"read")
        assert service.messages.empty()
    finally:
        for client in clients:
            client.close()
        clients.clear()
        process.terminate()
        process.wait(DEADLINE_S)


def test_broker_config_keeps_the_service_password_on_reruns(
    tmp_path: Path, site: dict[str, Any]
) -> None:
    """Re-running `dho broker config` after new registrations keeps the service's login."""
    env = {"DHO_DATABASE_URL": site["database_url"], "DHO_SECRET_KEY": "k" * 32}
    out = tmp_path / "site"
    args = ["broker", "config", "--out", str(out)]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    password = (out / "service-password").read_text()
    second = CliRunner().invoke(app, args, env=env)
    assert second.exit_code == 0, second.output
    assert (out / "service-password").read_text() == password
    service_line = (out / "passwd").read_text().splitlines()[0]
    assert verify_mosquitto_password(service_line.split(":", 1)[1], password.strip())
    assert password.strip() not in first.output + second.output


def test_password_hashes_match_mosquitto_passwd(mosquitto: Path, tmp_path: Path) -> None:
    """Hashes made in Python use Mosquitto's own $7$ format (mosquitto_passwd agrees)."""
    tool = find_mosquitto("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    password_file = tmp_path / "passwd"
    subprocess.run(  # noqa: S603 - the test's own file
        [str(tool), "-b", "-c", str(password_file), "gw-x", "s3cret"], check=True
    )
    theirs = password_file.read_text().strip().split(":", 1)[1]
    assert theirs.startswith("$7$101$")
    assert verify_mosquitto_password(theirs, "s3cret")
    assert not verify_mosquitto_password(theirs, "s3cret!")
    ours = mosquitto_password_hash("s3cret", salt=b"\x00" * 12)
    assert ours.split("$")[:3] == theirs.split("$")[:3]
    assert len(ours) == len(theirs)


def test_shipped_example_matches_the_generator() -> None:
    """deploy/mosquitto/ is exactly what the generator writes (no drift from the docs)."""
    for name, text in render_example().items():
        shipped = (REPO / "deploy" / "mosquitto" / name).read_text(encoding="utf-8")
        assert shipped == text, (
            f"deploy/mosquitto/{name} is out of date: run .venv/bin/python -c "
            "'from triage.broker.mosquitto_config import write_example; write_example()'"
        )


def eventually(probe: Callable[[], str], expected: str) -> bool:
    """Whether ``probe()`` returns ``expected`` before the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while probe() != expected:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _whoami() -> str:
    import getpass

    return getpass.getuser()


def test_new_and_revoked_gateways_reach_the_running_embedded_broker(
    mosquitto: Path, tmp_path: Path, site: dict[str, Any]
) -> None:
    """A gateway registered while dho runs can log in, and a revoked one is shut out, no restart."""
    from triage.service import CredentialSync, open_broker

    settings = Settings(data_dir=tmp_path, database_url=site["database_url"], secret_key="s" * 32)
    engine = make_engine(site["database_url"])
    sessions = session_factory(engine)
    broker = open_broker(settings, sessions)
    assert broker.embedded is not None
    sync = CredentialSync(broker.embedded, sessions, interval_s=3600)
    sync.start()
    try:
        port = MqttEndpoint.parse(broker.url).port

        def login(gateway_id: str, secret: str) -> str:
            return str(probe_broker(f"mqtt://{gateway_id}:{secret}@127.0.0.1:{port}"))

        assert login("gw-one", site["secrets"]["gw-one"]) == "Success"
        with sessions.begin() as session:
            _row, new_secret = register_gateway(session, None, NOW, gateway_id="gw-new")
            gone = session.get(GatewayRow, "gw-one")
            assert gone is not None
            gone.revoked_at = NOW
        assert login("gw-new", new_secret) == "Not authorized"  # not yet synced
        assert sync.sync() is True
        assert sync.sync() is False  # nothing changed since
        # Mosquitto reloads on SIGHUP at its next loop turn: poll with a deadline.
        assert eventually(lambda: login("gw-new", new_secret), "Success")
        assert eventually(lambda: login("gw-one", site["secrets"]["gw-one"]), "Not authorized")
    finally:
        sync.stop()
        broker.stop()
        engine.dispose()


# ----------------------------------------------------------------------------- client ids


def broker_config(out: Path, port: int, database_url: str, *more: str) -> None:
    """Run `dho broker config` into ``out`` for a Mosquitto on ``port`` (as the operator does)."""
    result = CliRunner().invoke(
        app,
        ["broker", "config", "--out", str(out), "--port", str(port), *more],
        env={"DHO_DATABASE_URL": database_url, "DHO_SECRET_KEY": "k" * 32},
    )
    assert result.exit_code == 0, result.output


def test_a_gateway_cannot_take_over_the_ingest_workers_session(
    mosquitto: Path, tmp_path: Path, site: dict[str, Any], clients: list[Client]
) -> None:
    """A gateway's login connects with the ingest worker's client id (clean start, session
    expiry 0): with the generated configuration it gets a session of its own, and the 20
    readings the broker queued for the stopped worker are all delivered when it is back."""
    out, port = tmp_path / "site", free_port()
    (tmp_path / "db").mkdir()
    broker_config(
        out,
        port,
        site["database_url"],
        "--persistence-dir",
        str(tmp_path / "db"),
        "--user",
        _whoami(),
        "--worker-login",
        "dho-ingest-1",
    )
    assert "use_username_as_clientid true" in (out / "mosquitto.conf").read_text()
    process = subprocess.Popen(  # noqa: S603 - the test's own broker
        [str(mosquitto), "-c", str(out / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        password = (out / "service-password").read_text().strip()
        worker_url = f"mqtt://dho-ingest-1:{password}@127.0.0.1:{port}"
        wait_for_broker(f"mqtt://dho-probe:{password}@127.0.0.1:{port}", DEADLINE_S)
        worker = Client(worker_url, "dho-ingest-1", clean=False)
        worker.subscribe("$share/triage/dho/v1/+/readings")
        worker.close()  # stopped: the broker queues for its session

        def gateway_url(gateway_id: str) -> str:
            return f"mqtt://{gateway_id}:{site['secrets'][gateway_id]}@127.0.0.1:{port}"

        one = Client(gateway_url("gw-one"), "gw-one")
        clients.append(one)
        for n in range(20):
            one.publish("dho/v1/gw-one/readings", f"r{n}".encode())
        taker = Client(gateway_url("gw-two"), "dho-ingest-1", clean=True)  # expiry 0
        taker.close()

        worker = Client(worker_url, "dho-ingest-1", clean=False)
        clients.append(worker)
        received = [worker.receive()[1] for _ in range(20)]
        assert received == [f"r{n}".encode() for n in range(20)]
    finally:
        for client in clients:
            client.close()
        clients.clear()
        process.terminate()
        process.wait(DEADLINE_S)


def test_probing_the_embedded_broker_keeps_the_service_session(
    mosquitto: Path, tmp_path: Path
) -> None:
    """`dho probe mqtt` with the service's URL logs in as dho-probe: the broker uses the login
    as the client id, so probing as dho-service would end the running service's connection."""
    settings = Settings(data_dir=tmp_path, secret_key="s" * 32)
    url, broker = start_broker(settings)
    assert broker is not None
    try:
        service = Client(url, "dho-service")
        service.subscribe("dho/v1/+/status")
        result = CliRunner().invoke(app, ["probe", "mqtt", url])
        assert result.exit_code == 0, result.output
        assert "dho-probe:***@" in result.output
        time.sleep(0.5)  # a takeover would have closed it by now
        assert service.client.is_connected()
        service.close()
    finally:
        broker.stop()


# ----------------------------------------------------------------------------- reload (SIGHUP)


@pytest.mark.skipif(os.geteuid() != 0, reason="Mosquitto drops root only when started as root")
def test_a_new_gateway_can_log_in_after_broker_config_and_sighup(
    mosquitto: Path, site: dict[str, Any]
) -> None:
    """The operator's routine: Mosquitto started as root from `dho broker config`'s files (it
    switches to user mosquitto), a gateway registered, `dho broker config` again, SIGHUP. The
    reload reads the new files and the new gateway logs in ("Unable to open config file" before:
    the files were root's, owner-only)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dho-broker-reload-"))
    folder.chmod(0o755)  # Mosquitto's user must reach the files inside
    log = folder / "mosquitto.log"
    try:
        out, db, port = folder / "conf", folder / "db", free_port()
        out.mkdir(mode=0o755)
        db.mkdir()
        shutil.chown(db, "mosquitto", "mosquitto")
        broker_config(out, port, site["database_url"], "--persistence-dir", str(db))
        assert out.joinpath("mosquitto.conf").stat().st_uid == _uid("mosquitto")
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - the test's own broker
                [str(mosquitto), "-c", str(out / "mosquitto.conf")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            password = (out / "service-password").read_text().strip()
            wait_for_broker(f"mqtt://dho-probe:{password}@127.0.0.1:{port}", DEADLINE_S)
            engine = make_engine(site["database_url"])
            with session_factory(engine).begin() as session:
                _row, secret = register_gateway(session, None, NOW, gateway_id="gw-late")
            engine.dispose()
            new = f"mqtt://gw-late:{secret}@127.0.0.1:{port}"
            assert str(probe_broker(new)) == "Not authorized"
            broker_config(out, port, site["database_url"], "--persistence-dir", str(db))
            process.send_signal(signal.SIGHUP)
            assert eventually(lambda: str(probe_broker(new)), "Success"), log.read_text()
            assert "Unable to open" not in log.read_text()
        finally:
            process.terminate()
            process.wait(DEADLINE_S)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid
