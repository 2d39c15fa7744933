"""The MQTT ingest worker: paho-mqtt 2.x, MQTT 5 (or 3.1.1), a persistent session, QoS 1,
acknowledged only after the database commit.

Messages are collected into batches (flushed at ``ingest_batch_size`` messages or
``ingest_batch_ms`` after the first one), stored with :func:`triage.ingest.pipeline.store` in one
transaction, then acknowledged (``FastClient.ack_many``: one write, in the order received), then
the gateways get their receipts (serialised directly, ``receipts.receipt_json``). The client is
paho's with a lean receive path (triage/ingest/mqtt_client.py); the process's garbage
collection follows triage/ingest/gc_policy.py (frozen after warm-up, a short pass per batch).
The worker announces a Receive Maximum of twice the batch size, so
the broker keeps the next batch flowing while one is committed; without it the broker's
in-flight window (Mosquitto: 20) would cap throughput at window ÷ flush interval.

Threads: paho's network loop (``loop_start``) receives and queues; one worker thread batches,
commits, acknowledges and publishes receipts. A crash at any point loses nothing: what was not
acknowledged is redelivered to the same client id (persistent session), and what was committed
but not acknowledged comes back as a duplicate, is stored once and receipted again.

Several workers may share the load with ``mqtt_shared_group`` (``$share/<group>/…``);
correctness never depends on which worker gets a message (the database decides).

MQTT 3.1.1 is spoken only to a broker that speaks nothing newer (the amqtt broker of a demo
without Mosquitto): the same flow with ``clean_session=False`` for the persistent session, no
properties (no session expiry, no Receive Maximum) and no shared subscription.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.orm import Session, sessionmaker

from triage.broker.endpoint import MqttProtocol
from triage.config import Settings
from triage.ingest.gc_policy import GcPolicy
from triage.ingest.history_cache import HistoryCache
from triage.ingest.mqtt_client import FastClient
from triage.ingest.pipeline import (
    COUNTERS,
    Channel,
    Counters,
    DatabaseUnavailableError,
    Incoming,
    Outcome,
    PlanCache,
    store,
)
from triage.ingest.receipts import receipt_json, receipt_topic
from triage.ingest.tablet_publisher import TabletPublisher

log = logging.getLogger(__name__)

#: MQTT 5 DISCONNECT reason 0x8E: a client with the same client id connected.
SESSION_TAKEN_OVER = 142
#: This many connections in a row that end within SHORT_CONNECTION_S look like a takeover.
SHORT_CONNECTIONS = 3
SHORT_CONNECTION_S = 10.0

#: The consumers running in this process (for the metrics' queue lag).
RUNNING: weakref.WeakSet[IngestConsumer] = weakref.WeakSet()

#: The largest Receive Maximum MQTT 5 allows.
MAX_RECEIVE_MAXIMUM = 65535


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is and how to log in (from ``DHO_MQTT_URL``)."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """``mqtt://user:password@host:port`` (``mqtts://`` for TLS, port 8883 by default)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"not an mqtt:// or mqtts:// URL with a host: {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


@dataclass(frozen=True, slots=True)
class _Received:
    mid: int
    qos: int
    topic: str
    payload: bytes
    retained: bool
    generation: int
    at: float  # time.monotonic() on arrival


class IngestConsumer:
    """Consume readings, reports and gateway status from the broker into the database.

    ``start()`` connects (retrying in the background until the broker answers) and returns;
    ``stop()`` drains the batch in flight — commit, acknowledge, receipts — and disconnects.
    ``topic_prefix`` is put before every ``dho/v1/…`` topic (for tests sharing a broker);
    ``protocol`` is the MQTT version the broker speaks (5 unless it speaks only 3.1.1). A shared
    subscription (``mqtt_shared_group``) needs MQTT 5: with 3.1.1 it is refused (ValueError).
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        broker: BrokerAddress,
        *,
        client_id: str | None = None,
        topic_prefix: str = "",
        counters: Counters = COUNTERS,
        before_commit: Callable[[Sequence[Incoming]], None] | None = None,
        protocol: MqttProtocol = MqttProtocol.V5,
    ) -> None:
        if protocol is MqttProtocol.V311 and settings.mqtt_shared_group:
            raise ValueError(
                f"DHO_MQTT_SHARED_GROUP={settings.mqtt_shared_group!r} needs MQTT 5 shared "
                "subscriptions, but the broker speaks MQTT 3.1.1 only (the amqtt demo broker): "
                "unset DHO_MQTT_SHARED_GROUP and run one ingest worker, or install Mosquitto "
                "(apt-get install mosquitto) or set DHO_MQTT_URL to an MQTT 5 broker"
            )
        self.settings = settings
        self.protocol = protocol
        self.sessions = sessions
        self.broker = broker
        # DHO's brokers use the login as the client id: default to it, so logs, metrics and
        # the session the broker keeps all carry the same name
        self.client_id = client_id or settings.mqtt_client_id or broker.username or "dho-triage-1"
        self.topic_prefix = topic_prefix
        self.counters = counters
        self.before_commit = before_commit
        self.plans = PlanCache()
        self.histories = HistoryCache()
        self.batch_size = settings.ingest_batch_size
        self.batch_s = settings.ingest_batch_ms / 1000
        self.receive_maximum = min(MAX_RECEIVE_MAXIMUM, max(2 * self.batch_size, 20))

        self._queue: deque[_Received] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._stop_deadline = 0.0
        self._aborted = False
        self._generation = 0
        self._connected = threading.Event()
        self._connected_at = 0.0
        self._short_connections = 0
        self._subscribed = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_receipts: list[mqtt.MQTTMessageInfo] = []
        self._local = Counters()
        #: time.monotonic() of the last commit (or of the start); the arrival of the first
        #: message of the batch in hand. Together: :meth:`seconds_since_progress`.
        self._last_progress = time.monotonic()
        self._in_hand_since: float | None = None
        self.gc = GcPolicy()
        self.client = self._make_client()
        self.tablet = TabletPublisher(sessions, self._publish_retained, topic_prefix)
        self._tablet_thread: threading.Thread | None = None
        self._tablet_stop = threading.Event()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: sessionmaker[Session], **kwargs: Any
    ) -> IngestConsumer:
        """A consumer of the broker at ``settings.mqtt_url``."""
        if not settings.mqtt_url:
            raise ValueError("DHO_MQTT_URL is not set: give the broker's mqtt:// URL")
        return cls(settings, sessions, BrokerAddress.from_url(settings.mqtt_url), **kwargs)

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        """Connect in the background (reconnecting by itself) and start the worker."""
        self._worker = threading.Thread(target=self._run, name="dho-ingest", daemon=True)
        self._worker.start()
        self._tablet_thread = threading.Thread(
            target=self._publish_tablets, name="dho-tablet", daemon=True
        )
        self._tablet_thread.start()
        if self.protocol is MqttProtocol.V5:
            self.client.connect_async(
                self.broker.host,
                self.broker.port,
                keepalive=30,
                clean_start=False,
                properties=self._connect_properties(),
            )
        else:  # the session is kept by clean_session=False (see _make_client)
            self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        self.gc.install()
        RUNNING.add(self)
        log.info(
            "ingest consumer started",
            extra={
                "broker": f"{self.broker.host}:{self.broker.port}",
                "client_id": self.client_id,
                "mqtt": self.protocol.value,
            },
        )

    def backlog(self) -> tuple[int, float]:
        """Messages received and waiting for the worker, and how long the oldest has waited
        (seconds; 0 when none): the ingest queue lag an operator watches."""
        with self._cond:
            depth = len(self._queue)
            oldest = self._queue[0].at if self._queue else None
        return depth, (time.monotonic() - oldest) if oldest is not None else 0.0

    def seconds_since_progress(self) -> float:
        """How long messages have waited without a commit: 0 when nothing waits, else the time
        since the later of the last commit and the arrival of the oldest waiting message."""
        with self._cond:
            waiting = [t for t in (self._in_hand_since,) if t is not None]
            if self._queue:
                waiting.append(self._queue[0].at)
            last = self._last_progress
        if not waiting:
            return 0.0
        return max(0.0, time.monotonic() - max(last, min(waiting)))

    def stalled(self) -> tuple[bool, str]:
        """Whether messages have waited ``ingest_stall_after_s`` without a commit, and what to
        say about it (for health and metrics)."""
        since = self.seconds_since_progress()
        if since < self.settings.ingest_stall_after_s:
            return False, "ingest committing"
        depth, _ = self.backlog()
        return True, (
            f"ingest has committed nothing for {since:.0f} s while {depth} message(s) wait "
            f"(DHO_INGEST_STALL_AFTER_S={self.settings.ingest_stall_after_s:g}): see the log "
            "for 'database unavailable' or 'ingest batch failed'"
        )

    def wait_until_subscribed(self, timeout: float) -> bool:
        """Whether the subscriptions were acknowledged within ``timeout`` seconds."""
        return self._subscribed.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 30.0) -> None:
        """Drain: commit, acknowledge and receipt what was received, then disconnect. What
        arrives after the drain stays unacknowledged in the session and comes back on restart.
        If the database is down for longer than ``timeout``, nothing more is acknowledged."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            self._tablet_stop.set()
            self._stop_deadline = deadline
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(max(0.0, deadline - time.monotonic()))
            if self._worker.is_alive():
                log.error("ingest worker did not drain in time; stopping without acknowledging")
                self._aborted = True
        for info in self._last_receipts:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            info.wait_for_publish(remaining)
        self.client.disconnect()
        self.client.loop_stop()
        self.gc.uninstall()
        RUNNING.discard(self)
        log.info("ingest consumer stopped", extra={"client_id": self.client_id})

    def abort(self) -> None:
        """Drop the connection at once, as a crash would: no drain, no acknowledgement, no
        DISCONNECT (the broker keeps the session and redelivers what was not acknowledged)."""
        self._aborted = True
        with self._cond:
            self._stopping = True
            self._tablet_stop.set()
            self._stop_deadline = time.monotonic()
            self._cond.notify_all()
        self.client.loop_stop()
        self.gc.uninstall()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def stats(self) -> dict[str, int]:
        """The ingest counters of this process plus this consumer's own (``mqtt.*``) and the
        garbage collector's pauses since it started (``gc.*``, triage/ingest/gc_policy.py), and its
        history cache's (``history.*``: hits, delta and full loads, evictions)."""
        with self._cond:
            queued = len(self._queue)
        return {
            **self.counters.snapshot(),
            **self._local.snapshot(),
            "mqtt.queued": queued,
            **self.gc.stats(),
            **{f"history.{key}": value for key, value in self.histories.stats().items()},
        }

    # ------------------------------------------------------------------ paho

    def _make_client(self) -> FastClient:
        v5 = self.protocol is MqttProtocol.V5
        client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set_context(ssl.create_default_context())
        # our receipts: FastClient takes the broker's Receive Maximum (at most 64) as the
        # in-flight window at each CONNACK; this is the window until the first one
        client.max_inflight_messages_set(20)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_socket_open = _no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
        properties.ReceiveMaximum = self.receive_maximum
        return properties

    def subscriptions(self) -> list[str]:
        """The topic filters: readings, reports and status of every gateway."""
        share = self.settings.mqtt_shared_group
        head = f"$share/{share}/" if share else ""
        return [f"{head}{self.topic_prefix}dho/v1/+/{channel}" for channel in Channel]

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection", extra={"reason": str(reason)})
            return
        with self._cond:
            self._generation += 1
        self._connected_at = time.monotonic()
        self._connected.set()
        self._local.add("mqtt.connects")
        # Re-subscribe on every connect: a broker that lost the session must not leave us deaf.
        if self.protocol is MqttProtocol.V5:
            options = SubscribeOptions(qos=1)
            client.subscribe([(topic, options) for topic in self.subscriptions()])
        else:
            client.subscribe([(topic, 1) for topic in self.subscriptions()])
        log.info("connected to the broker", extra={"client_id": self.client_id})

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error(
                "the broker refused the subscriptions (%s): check the ACL gives %s read access "
                "to dho/v1/+/readings, reports and status",
                ", ".join(failed),
                self.broker.username or "this client",
                extra={"reasons": failed},
            )
            return
        if not self._subscribed.is_set():
            log.info("subscribed as %s: ingest is ready", self.client_id)
        self._subscribed.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._cond:  # what was received on this connection is acknowledged on none other
            self._generation += 1
        self._connected.clear()
        if self._stopping:
            return
        # MQTT 5 brokers may say why (0x8E); Mosquitto 2.0.11 just closes the socket, so
        # connections that keep ending within seconds count as the same symptom.
        lasted = time.monotonic() - self._connected_at
        self._short_connections = self._short_connections + 1 if lasted < SHORT_CONNECTION_S else 0
        if reason.value == SESSION_TAKEN_OVER or self._short_connections == SHORT_CONNECTIONS:
            self._local.add("mqtt.session_taken_over")
            log.error(
                "the broker keeps ending this worker's connection (client id %r, last: %s): most "
                "often another client connected with the same client id and took the session "
                "over. Every ingest worker needs its own broker login (DHO_MQTT_URL's user; "
                "DHO's broker uses the login as the client id) and DHO_MQTT_CLIENT_ID.",
                self.client_id,
                reason,
            )
            return
        log.warning("disconnected from the broker: %s", reason, extra={"reason": str(reason)})

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = _Received(
            mid=message.mid,
            qos=message.qos,
            topic=message.topic,
            payload=bytes(message.payload),
            retained=bool(message.retain),
            generation=self._generation,
            at=time.monotonic(),
        )
        with self._cond:
            self._queue.append(item)
            size = len(self._queue)
            if size == 1 or size >= self.batch_size:
                self._cond.notify()

    # ------------------------------------------------------------------ the worker

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                self._handle(batch)
        except BaseException:
            if not self._aborted:
                log.exception("ingest worker stopped by an error")
                raise

    def _next_batch(self) -> list[_Received] | None:
        """Up to ``batch_size`` messages, once that many are queued or ``batch_ms`` after the
        first one arrived; None when stopping with nothing left (or when aborted)."""
        with self._cond:
            while True:
                if self._aborted:
                    return None
                if self._queue:
                    first = self._queue[0].at
                    wait = first + self.batch_s - time.monotonic()
                    if len(self._queue) >= self.batch_size or wait <= 0 or self._stopping:
                        count = min(self.batch_size, len(self._queue))
                        return [self._queue.popleft() for _ in range(count)]
                    self._cond.wait(wait)
                elif self._stopping:
                    return None
                else:
                    self._cond.wait()

    def _publish_retained(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1, retain=True)

    def _publish_tablets(self) -> None:
        """The tablet publisher's loop (triage/ingest/tablet_publisher.py): a round every
        ``tablet_publish_interval_s`` while connected; a failed round is logged and tried again."""
        interval = self.settings.tablet_publish_interval_s
        while not self._tablet_stop.wait(interval):
            if not self._subscribed.is_set() or not self._connected.is_set():
                continue
            try:
                self.tablet.run_once(datetime.now(UTC))
            except Exception:
                self._local.add("mqtt.tablet_errors")
                log.exception("tablet states not published; will try again")

    def _handle(self, batch: list[_Received]) -> None:
        with self._cond:
            self._in_hand_since = batch[0].at
        try:
            self._store_and_ack(batch)
        finally:
            with self._cond:
                self._in_hand_since = None

    def _store_and_ack(self, batch: list[_Received]) -> None:
        prefix = len(self.topic_prefix)
        messages = [
            Incoming(topic=r.topic[prefix:], payload=r.payload, retained=r.retained) for r in batch
        ]
        outcomes = None
        delay = 0.5
        while outcomes is None:
            now = datetime.now(UTC)
            try:
                outcomes = store(
                    self.sessions,
                    messages,
                    self.settings,
                    now,
                    plans=self.plans,
                    histories=self.histories,
                    before_commit=self.before_commit,
                    counters=self.counters,
                )
            except Exception as err:  # the database is down (or a fault): retry, never ack
                if isinstance(err, DatabaseUnavailableError):
                    self._local.add("mqtt.database_waits")
                    log.error("database unavailable; will retry", extra={"error": str(err)})
                else:
                    self._local.add("mqtt.batch_errors")
                    log.exception("ingest batch failed; will retry")
                with self._cond:
                    give_up = self._stopping and time.monotonic() >= self._stop_deadline
                    if self._aborted or give_up:
                        return  # nothing committed, nothing acknowledged: redelivered later
                    self._cond.wait(delay)
                delay = min(delay * 2, 10.0)
        with self._cond:
            self._last_progress = time.monotonic()
        if self._aborted:
            return
        # in the order received (MQTT 5, 4.6), as one write; none received on an earlier
        # connection (their ids mean nothing to this one: the broker redelivers those). Under
        # the lock, so a disconnect (which moves the generation on) cannot come in between.
        with self._cond:
            generation = self._generation
            self.client.ack_many((r.mid, r.qos) for r in batch if r.generation == generation)
        self._local.add("mqtt.batches")
        self._local.add("mqtt.acked", len(batch))
        self._send_receipts(outcomes, now)
        with self._cond:
            queue_empty = not self._queue
        self.gc.after_batch(queue_empty)

    def _send_receipts(self, outcomes: list[Outcome], now: datetime) -> None:
        """Publish each gateway's receipt. One that cannot be built or sent is logged and
        skipped: the batch is committed and acknowledged, and the gateway's resend is answered
        ``duplicate`` (or ``rejected``) with a receipt then."""
        infos = []
        for gateway_id, outcomes_of_one in _by_gateway(outcomes).items():
            try:
                payload = receipt_json(gateway_id, outcomes_of_one, now)
                topic = f"{self.topic_prefix}{receipt_topic(gateway_id)}"
                infos.append(self.client.publish(topic, payload, qos=1))
            except Exception:
                self._local.add("mqtt.receipt_errors")
                log.exception("receipt not sent", extra={"gateway_id": gateway_id})
        self._last_receipts = infos
        self._local.add("mqtt.receipts", len(infos))


def _by_gateway(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """The outcomes owed a receipt, by gateway, in batch order."""
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.receipt and outcome.gateway_id is not None:
            grouped.setdefault(outcome.gateway_id, []).append(outcome)
    return grouped


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """TCP_NODELAY: acknowledgements and receipts go out now, not after Nagle's ~5 ms wait."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
