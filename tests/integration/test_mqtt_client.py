"""The ingest worker's paho subclass (triage/ingest/mqtt_client.py) against the real Mosquitto:
packets split into 1–7 byte pieces, payloads larger than the read buffer, a broker that drops
the connection, session takeover, batch acknowledgements, and the broker's Receive Maximum.

Each test uses its own topic prefix and client ids (the ``prefix`` fixture)."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_ingest_mqtt import (
    DEADLINE_S,
    Gateways,
    WatchedCounters,
    gateways,
    poll_until,
    reading,
    stored_count,
)
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, Incoming, IngestConsumer
from triage.ingest.mqtt_client import FastClient

pytestmark = pytest.mark.mosquitto

__all__ = ["gateways"]  # the fixture, shared with test_ingest_mqtt.py

#: Mosquitto sends a client at most 20 unacknowledged QoS 1 messages (its max_inflight_messages).
BROKER_WINDOW = 20


class Proxy:
    """A TCP proxy between a client and the broker. ``chunked``: what the broker sends reaches
    the client in pieces of 1–7 bytes, each its own ``send``, with a pause between. ``drop()``
    closes every connection through it, as a broker that drops a client would."""

    def __init__(self, broker: ServiceAddress, *, chunked: bool = False, seed: int = 21) -> None:
        self.broker = broker
        self.chunked = chunked
        self.random = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.broker.host, self.broker.port))
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += [client, upstream]
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.chunked), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, chunked: bool) -> None:
        try:
            while data := source.recv(65536):
                if not chunked:
                    sink.sendall(data)
                    continue
                at = 0
                while at < len(data):
                    size = self.random.randint(1, 7)
                    sink.sendall(data[at : at + size])
                    at += size
                    time.sleep(0.00005)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        with self._lock:
            connections, self.connections = self.connections, []
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.drop()


class Receiver:
    """A FastClient subscriber with manual acknowledgement that records what arrives."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        topic: str,
        *,
        read_size: int = 64 * 1024,
        reconnect: bool = True,
        ack_every: int = 0,
    ) -> None:
        self.topic = topic
        self.ack_every = ack_every
        self._unacked: list[tuple[int, int]] = []
        self.messages: list[mqtt.MQTTMessage] = []
        self.disconnects: list[Any] = []
        self._arrived = threading.Condition()
        self.subscribed = threading.Event()
        self.client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
            read_size=read_size,
            reconnect_on_failure=reconnect,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda _c, _u, _f, reason, _p: self.disconnects.append(reason)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 120
        self.client.connect(host, port, clean_start=False, properties=properties)
        self.client.loop_start()
        assert self.subscribed.wait(DEADLINE_S), "not subscribed"

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        if self.ack_every:  # acknowledge in batches, as the worker does (in the order received)
            self._unacked.append((message.mid, message.qos))
            if len(self._unacked) >= self.ack_every:
                self.client.ack_many(self._unacked)
                self._unacked = []

    def wait_for(self, count: int, timeout: float = DEADLINE_S) -> list[mqtt.MQTTMessage]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def ack_all(self) -> None:
        with self._arrived:
            received = [(m.mid, m.qos) for m in self.messages]
        self.client.ack_many(received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    """Stock paho, straight to the broker."""

    def __init__(self, address: ServiceAddress, client_id: str) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.connect(address.host, address.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, properties: Properties | None = None) -> None:
        info = self.client.publish(topic, payload, qos=1, properties=properties)
        info.wait_for_publish(DEADLINE_S)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto_address: ServiceAddress, prefix: str) -> Iterator[Publisher]:
    side = Publisher(mosquitto_address, f"{prefix}publisher")
    yield side
    side.close()


def payloads(count: int) -> list[bytes]:
    """Sizes around the remaining-length boundaries (1, 2 and 3 bytes), different bytes."""
    sizes = [0, 1, 100, 110, 111, 127, 128, 129, 300, 16_250, 16_384, 20_000]
    rng = random.Random(7)
    return [rng.randbytes(sizes[i % len(sizes)]) for i in range(count)]


def user_properties(i: int) -> Properties:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.UserProperty = ("n", str(i))
    return properties


def test_packets_split_into_1_to_7_byte_pieces_arrive_intact(
    mosquitto_address: ServiceAddress, prefix: str, publisher: Publisher
) -> None:
    """Every PUBLISH reaches the subscriber in pieces of 1–7 bytes, the fixed header split too:
    every message arrives whole, in order, with its properties when it had some."""
    proxy = Proxy(mosquitto_address, chunked=True)
    receiver = Receiver("127.0.0.1", proxy.port, f"{prefix}split", f"{prefix}split/#", ack_every=1)
    try:
        sent = payloads(30)
        for i, payload in enumerate(sent):
            properties = user_properties(i) if i % 5 == 0 else None
            publisher.publish(f"{prefix}split/{i}", payload, properties)
        got = receiver.wait_for(len(sent), timeout=60)
        assert [m.topic for m in got] == [f"{prefix}split/{i}" for i in range(len(sent))]
        assert [m.payload for m in got] == sent
        assert [m.properties is not None for m in got] == [i % 5 == 0 for i in range(len(sent))]
        assert got[5].properties is not None
        assert got[5].properties.UserProperty == [("n", "5")]  # type: ignore[attr-defined]
        assert receiver.client.reads > receiver.client.packets  # packets did come in pieces
    finally:
        receiver.close()
        proxy.close()


def test_payloads_larger_than_the_read_buffer(
    mosquitto_address: ServiceAddress, prefix: str, publisher: Publisher
) -> None:
    """With a 1,000-byte read buffer, payloads of 999 bytes to 200 KB arrive intact; small
    ones after a large one are not held back."""
    receiver = Receiver(
        mosquitto_address.host,
        mosquitto_address.port,
        f"{prefix}large",
        f"{prefix}large/#",
        read_size=1000,
        ack_every=1,
    )
    try:
        rng = random.Random(3)
        sent = [rng.randbytes(n) for n in (999, 1000, 1001, 5000, 200_000, 10, 65_536, 3)]
        for i, payload in enumerate(sent):
            publisher.publish(f"{prefix}large/{i}", payload)
        got = receiver.wait_for(len(sent))
        assert [m.payload for m in got] == sent
    finally:
        receiver.close()


def test_many_small_packets_are_handled_in_few_reads(
    mosquitto_address: ServiceAddress, prefix: str, publisher: Publisher
) -> None:
    """Messages that waited in the broker for a subscriber that comes back arrive in bursts of
    the broker's window: every complete packet in the buffer is handled per wake-up, not one
    per select() (which would leave the rest of a burst unhandled until more bytes come: no
    more come until they are acknowledged)."""
    client_id = f"{prefix}drain"
    first = Receiver(mosquitto_address.host, mosquitto_address.port, client_id, f"{prefix}d/#")
    first.close()  # the session stays (expiry 120 s) and collects the messages
    total = 10 * BROKER_WINDOW
    for i in range(total):
        publisher.publish(f"{prefix}d/{i}", b"x" * 200)
    second = Receiver(mosquitto_address.host, mosquitto_address.port, client_id, f"{prefix}d/#")
    try:
        acked = 0
        while acked < total:  # each burst whole within 3 s, then acknowledged as a batch
            expected = min(total, acked + BROKER_WINDOW)
            got = second.wait_for(expected, timeout=3)
            assert len(got) >= expected, f"{len(got)} arrived, {acked} acknowledged"
            second.client.ack_many((m.mid, m.qos) for m in got[acked:])
            acked = len(got)
        assert [m.topic for m in got] == [f"{prefix}d/{i}" for i in range(total)]
        # stock paho makes 3 recv() per packet (600 here)
        assert second.client.reads <= 3 * 10, (second.client.reads, second.client.packets)
    finally:
        second.close()


def test_acknowledgements_of_a_batch_are_one_write_in_order(
    mosquitto_address: ServiceAddress, prefix: str, publisher: Publisher
) -> None:
    """ack_many queues one buffer with the PUBACKs in the order given; after it, a new
    connection with the same session gets nothing again (the broker took every ack)."""
    client_id = f"{prefix}acks"
    receiver = Receiver(mosquitto_address.host, mosquitto_address.port, client_id, f"{prefix}a/#")
    for i in range(BROKER_WINDOW):
        publisher.publish(f"{prefix}a/{i}", f"m{i}".encode())
    got = receiver.wait_for(BROKER_WINDOW)
    assert len(got) == BROKER_WINDOW
    queued: list[bytes] = []
    original = receiver.client._packet_queue

    def spy(command: int, packet: bytes, *args: Any, **kwargs: Any) -> Any:
        queued.append(bytes(packet))
        return original(command, packet, *args, **kwargs)

    receiver.client._packet_queue = spy  # type: ignore[method-assign,assignment]
    receiver.client.ack_many((m.mid, m.qos) for m in got)
    assert queued == [b"".join(struct.pack("!BBH", 0x40, 2, m.mid) for m in got)]
    receiver.client._packet_queue = original  # type: ignore[method-assign]
    time.sleep(0.2)
    receiver.close()

    again = Receiver(mosquitto_address.host, mosquitto_address.port, client_id, f"{prefix}a/#")
    try:
        publisher.publish(f"{prefix}a/marker", b"marker")
        assert [m.payload for m in again.wait_for(1)] == [b"marker"]
    finally:
        again.close()


def test_session_takeover_hands_unacknowledged_messages_over_intact(
    mosquitto_address: ServiceAddress, prefix: str, publisher: Publisher
) -> None:
    """A second client with the same id takes the session over: the first is disconnected,
    the second gets what the first had not acknowledged, whole, then what follows."""
    client_id = f"{prefix}takeover"
    host, port = mosquitto_address.host, mosquitto_address.port
    first = Receiver(host, port, client_id, f"{prefix}t/#", reconnect=False)
    sent = payloads(12)
    for i, payload in enumerate(sent):
        publisher.publish(f"{prefix}t/{i}", payload)
    assert len(first.wait_for(len(sent))) == len(sent)  # received, never acknowledged

    second = Receiver(host, port, client_id, f"{prefix}t/#", read_size=4096)
    try:
        assert poll_until(lambda: bool(first.disconnects)), "the first client was not dropped"
        got = second.wait_for(len(sent))
        assert [m.payload for m in got[: len(sent)]] == sent
        assert all(m.dup for m in got[: len(sent)])
        publisher.publish(f"{prefix}t/after", b"after")
        got = second.wait_for(len(sent) + 1)
        assert got[-1].payload == b"after"
        second.ack_all()
    finally:
        first.client.loop_stop()
        second.close()


class WindowBroker:
    """A fake MQTT 5 broker that announces a Receive Maximum and acknowledges nothing until
    told: it counts the PUBLISH packets it gets."""

    def __init__(self, receive_maximum: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.receive_maximum = receive_maximum
        self.published: list[int] = []
        self.changed = threading.Condition()
        self.conn: socket.socket | None = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _read_packet(self, conn: socket.socket) -> tuple[int, bytes]:
        def exactly(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise ConnectionError
                data += chunk
            return data

        command = exactly(1)[0]
        length, shift = 0, 0
        while True:
            byte = exactly(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return command, exactly(length)

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self.conn = conn
        try:
            self._read_packet(conn)  # CONNECT
            rm = struct.pack("!BH", 0x21, self.receive_maximum)
            conn.sendall(bytes([0x20, 3 + len(rm), 0, 0, len(rm)]) + rm)
            while True:
                command, body = self._read_packet(conn)
                if command & 0xF0 == 0x30:
                    topic_length = struct.unpack("!H", body[:2])[0]
                    (mid,) = struct.unpack("!H", body[2 + topic_length : 4 + topic_length])
                    with self.changed:
                        self.published.append(mid)
                        self.changed.notify_all()
        except (ConnectionError, OSError):
            pass

    def puback(self, mid: int) -> None:
        assert self.conn is not None
        self.conn.sendall(struct.pack("!BBH", 0x40, 2, mid))

    def wait_published(self, count: int, timeout: float = DEADLINE_S) -> list[int]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.published) >= count, timeout=timeout)
            return list(self.published)

    def close(self) -> None:
        self.listener.close()
        if self.conn is not None:
            self.conn.close()


def test_the_brokers_receive_maximum_is_honoured() -> None:
    """The broker says 3: the client has at most 3 QoS 1 messages unacknowledged; each PUBACK
    lets the next one go, in publish order."""
    broker = WindowBroker(receive_maximum=3)
    client = FastClient(
        CallbackAPIVersion.VERSION2, client_id="window", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert poll_until(client.is_connected)
        infos = [client.publish(f"w/{i}", b"x", qos=1) for i in range(10)]
        first = broker.wait_published(3)
        time.sleep(0.3)  # would more come?
        assert broker.published == first
        assert len(first) == 3
        assert client.server_receive_maximum == 3
        broker.puback(first[0])
        assert len(broker.wait_published(4)) == 4
        time.sleep(0.2)
        assert len(broker.published) == 4
        assert broker.published == [info.mid for info in infos[:4]]  # in publish order
        assert infos[0].is_published()
        assert not infos[1].is_published()
    finally:
        client.disconnect()
        broker.close()
        client.loop_stop()


# ----------------------------------------------------------------------------- the consumer


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_consumer_loses_nothing_when_the_broker_drops_it_mid_batch(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    mosquitto_address: ServiceAddress,
    prefix: str,
) -> None:
    """The broker drops the worker's connection while a batch is being committed: the batch
    is committed but not acknowledged on the new connection (its ids belong to the old one);
    the broker redelivers it (answered duplicate), and what follows is stored: nothing lost,
    each reading stored once, and a later session has nothing left to deliver."""
    proxy = Proxy(mosquitto_address)
    gw = world.patients[Condition.COPD].gateway_id
    reached = threading.Event()
    release = threading.Event()

    def hold_first(_messages: Sequence[Incoming]) -> None:
        if not reached.is_set():
            reached.set()
            assert release.wait(DEADLINE_S)

    def consumer(port: int, hook: Callable[[Sequence[Incoming]], None] | None = None) -> Any:
        counters = WatchedCounters()
        made = IngestConsumer(
            Settings(demo=True, ingest_batch_ms=20, mqtt_session_expiry_s=120),
            sessions,
            BrokerAddress("127.0.0.1", port),
            client_id=f"{prefix}triage",
            topic_prefix=prefix,
            counters=counters,
            before_commit=hook,
        )
        acked: list[list[tuple[int, int]]] = []
        original = made.client.ack_many

        def spy(received: Any) -> Any:
            pairs = list(received)
            acked.append(pairs)
            return original(pairs)

        made.client.ack_many = spy  # type: ignore[method-assign]
        made.start()
        assert made.wait_until_subscribed(DEADLINE_S)
        return made, counters, acked

    first, counters, acked = consumer(proxy.port, hold_first)
    try:
        gateways.publish(gw, reading("drop-1", spo2=89))
        assert reached.wait(DEADLINE_S)
        proxy.drop()
        assert poll_until(lambda: first.stats().get("mqtt.connects", 0) >= 2), "no reconnect"
        release.set()
        gateways.publish(gw, reading("drop-2", spo2=95))
        items = gateways.wait_for_items(3)
        assert sorted(items) == [
            ("drop-1", "duplicate"),
            ("drop-1", "stored"),
            ("drop-2", "stored"),
        ]
        assert acked[0] == []  # the held batch: its ids were the old connection's
        assert sum(len(a) for a in acked) >= 2  # the redelivered copy and drop-2
        assert stored_count(sessions, "drop-1") == stored_count(sessions, "drop-2") == 1
    finally:
        release.set()
        first.stop(timeout=5)
        proxy.close()

    second, counters, _ = consumer(mosquitto_address.port)
    try:
        gateways.publish(gw, reading("drop-3"))
        assert counters.wait_for("stored", 1)
        assert counters.snapshot()["received"] == 1  # nothing of the first session came back
    finally:
        second.stop(timeout=5)
