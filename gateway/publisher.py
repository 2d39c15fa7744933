"""The gateway's MQTT side: drains the outbox to the broker and prunes it on receipts.

paho-mqtt 2.x, QoS 1, a persistent session so receipts sent while the link was down still
arrive, TLS and username/password when configured. MQTT 5 by default (``clean_start=False`` and a
session expiry of 7 days); MQTT 3.1.1 for a broker that speaks nothing newer (the amqtt demo
broker): ``clean_session=False``, no properties, the broker's own session lifetime. On connect it
subscribes to its receipts and publishes a retained ``status`` (online); its last will sets the
retained status to offline. Publishing never removes anything from the outbox: only a receipt
does (:meth:`gateway.outbox.Outbox.receipt`), so a lost PUBACK, a broker restart or a service
outage costs a republish, never a reading.

Republishing: a message without a receipt is published again after its back-off (5 s doubling to
15 min). After every (re)connect, everything pending is republished once at once, due or not, in
measurement order and in batches, because a broker that was away may have lost what it had
queued; then the back-off applies again. At most one batch is in flight: the next is published
only once the broker has acknowledged the last message of the previous one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.contract import ContractError, check_size
from gateway.outbox import Outbox, OutboxMessage, ReceiptDetail
from gateway.payloads import status_payload

log = logging.getLogger(__name__)

TOPIC_ROOT = "dho/v1"
#: How long the broker keeps the gateway's session (and its receipts) while it is away (MQTT 5).
SESSION_EXPIRY_S = 7 * 24 * 3600
#: Longest wait in one drain for the broker to acknowledge the previous batch.
BATCH_ACK_WAIT_S = 5.0
_ACK_POLL_S = 0.05


class MqttVersion(StrEnum):
    """The MQTT version the gateway speaks: 5 (the default), or 3.1.1 for a broker that speaks
    nothing newer (the amqtt broker of a demo without Mosquitto)."""

    V5 = "5"
    V311 = "3.1.1"

    @property
    def paho(self) -> MQTTProtocolVersion:
        return (
            MQTTProtocolVersion.MQTTv5 if self is MqttVersion.V5 else MQTTProtocolVersion.MQTTv311
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Publisher:
    """Publishes ``outbox``'s messages as gateway ``gateway_id`` and applies its receipts.

    ``protocol`` is the MQTT version to speak (5 unless the broker speaks only 3.1.1);
    ``topic_prefix`` is for tests sharing one broker (prepended to every topic)."""

    def __init__(
        self,
        outbox: Outbox,
        gateway_id: str,
        host: str,
        port: int = 1883,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        protocol: MqttVersion = MqttVersion.V5,
        topic_prefix: str = "",
        clock: Callable[[], datetime] = utc_now,
        batch: int = 100,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        on_tablet: Callable[[bytes], object] | None = None,
    ) -> None:
        self.outbox = outbox
        self.gateway_id = gateway_id
        self.host = host
        self.port = port
        self.prefix = topic_prefix
        self.clock = clock
        self.batch = batch
        self.status_extra = status_extra
        self.on_tablet = on_tablet
        self.protocol = protocol
        self.receipts = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connects = 0
        # After a (re)connect: the seq after which the republish of everything pending goes on
        # (None once it is done); and the last message of the batch published before.
        self._resend_after: int | None = None
        self._last_of_batch: mqtt.MQTTMessageInfo | None = None
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=gateway_id,  # DHO's broker binds the client id to the login (its id)
            protocol=protocol.paho,
            # MQTT 3.1.1 keeps the session with clean_session=False; MQTT 5 with clean_start=False
            clean_session=False if protocol is MqttVersion.V311 else None,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set()
        self.client.will_set(self._topic("status"), self._status(online=False), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _topic(self, channel: str) -> str:
        return f"{self.prefix}{TOPIC_ROOT}/{self.gateway_id}/{channel}"

    def _status(self, *, online: bool) -> bytes:
        if not online:
            return json.dumps(status_payload(online=False)).encode()
        details = self.status_extra() if self.status_extra is not None else None
        status = status_payload(online=True, depth=self.outbox.depth(), details=details)
        return json.dumps(status).encode()

    def publish_status(self) -> bool:
        """Refresh the retained status (online, outbox depth, devices); False when offline."""
        if not self._connected.is_set():
            return False
        info = self.client.publish(
            self._topic("status"), self._status(online=True), qos=1, retain=True
        )
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # --- lifecycle

    def start(self) -> None:
        if self.protocol is MqttVersion.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            self.client.connect_async(
                self.host, self.port, keepalive=30, clean_start=False, properties=properties
            )
        else:
            self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def wait_until_ready(self, timeout: float) -> bool:
        """Whether it is connected and subscribed to its receipts within ``timeout`` s."""
        return self._connected.wait(timeout) and self._subscribed.wait(timeout)

    def interrupt(self) -> None:
        """Stop waiting for the broker's acknowledgements: the gateway is shutting down."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._connected.is_set():
            info = self.client.publish(
                self._topic("status"), self._status(online=False), qos=1, retain=True
            )
            info.wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    # --- draining

    def drain_once(self) -> int:
        """Publish the next batch (at most ``batch`` messages, oldest first): after a (re)connect
        everything pending, due or not, until all was republished once; otherwise what is due.
        Returns how many were published: 0 when offline, or when the broker has not acknowledged
        the previous batch within :data:`BATCH_ACK_WAIT_S`."""
        if not self._connected.is_set() or not self._previous_batch_acknowledged():
            return 0
        now = self.clock()
        with self._lock:
            connects, after = self._connects, self._resend_after
        if after is None:
            messages = self.outbox.due(now, self.batch)
        else:
            messages = self.outbox.pending_after(after, self.batch)
        sent: list[str] = []
        handled = 0  # published or refused, in order: where a republish goes on
        last: mqtt.MQTTMessageInfo | None = None
        for message in messages:
            try:  # kept before the gateway checked sizes: the broker would drop it unanswered
                check_size(message.payload)
            except ContractError as err:
                self.outbox.refuse(message.id, err.reason_code, err.reason)
                log.error(
                    "message %s not published: the service would refuse it (%s: %s); kept as "
                    "rejected in the outbox",
                    message.id,
                    err.reason_code,
                    err.reason,
                    extra={"id": message.id, "reason_code": err.reason_code},
                )
                handled += 1
                continue
            info = self.client.publish(self._topic(message.channel), message.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("publish failed; the outbox keeps it", extra={"id": message.id})
                break
            sent.append(message.id)
            handled += 1
            last = info
        self.outbox.published(sent, now)
        caught_up = False
        with self._lock:
            if connects == self._connects:  # no reconnect meanwhile (that starts over)
                self._last_of_batch = last
                if after is not None:
                    self._resend_after = _next_resend(after, messages, handled, self.batch)
                    caught_up = self._resend_after is None
        if caught_up:
            log.info("every pending message was republished after the connect")
        return len(sent)

    def _previous_batch_acknowledged(self) -> bool:
        """Wait (up to :data:`BATCH_ACK_WAIT_S`, less when stopping or disconnected) until the
        broker acknowledged the last message of the previous batch; whether it did."""
        with self._lock:
            info = self._last_of_batch
        waited = 0.0
        while info is not None and not info.is_published():
            if waited >= BATCH_ACK_WAIT_S or self._stopping.is_set():
                return False
            if not self._connected.is_set():
                return False
            try:
                info.wait_for_publish(_ACK_POLL_S)
            except (RuntimeError, ValueError):  # it was never sent: nothing to wait for
                return True
            waited += _ACK_POLL_S
        return True

    # --- paho callbacks

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("the broker refused the gateway", extra={"reason": str(reason)})
            return
        with self._lock:
            # the broker may have lost what it held while we were away: republish all pending
            self._connects += 1
            self._resend_after = 0
            self._last_of_batch = None
        client.subscribe(self._topic("receipts"), qos=1)
        if self.on_tablet is not None:  # the service's retained dho.tablet/1 for the tablet pages
            client.subscribe(self._topic("tablet"), qos=1)
        client.publish(self._topic("status"), self._status(online=True), qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_subscribe(self, *_args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self.on_tablet is not None and message.topic == self._topic("tablet"):
            try:
                self.on_tablet(bytes(message.payload))
            except Exception:  # a bad state must never stop the receipts
                log.exception("the tablet state could not be kept")
            return
        if message.topic != self._topic("receipts"):
            # amqtt sends a reconnecting client the retained messages of every subscription on
            # the broker (other gateways' status): not ours to read
            log.debug("ignored a message on %s", message.topic)
            return
        try:
            receipt = json.loads(message.payload)
            items = [
                (
                    str(item["id"]),
                    str(item["status"]),
                    item.get("reason_code"),
                    item.get("reason"),
                )
                for item in receipt["items"]
            ]
            details = {
                str(item["id"]): _detail(item)
                for item in receipt["items"]
                if item.get("status") in ("stored", "duplicate")
            }
        except (ValueError, KeyError, TypeError):
            log.warning("not a dho.receipt/1 message; ignored", extra={"topic": message.topic})
            return
        self.outbox.receipt(items, self.clock(), details=details)
        self.receipts += 1


def _detail(item: dict[str, Any]) -> ReceiptDetail:
    """The colour, advice and flags of a receipt item, as the tablet shows them; what is not of
    the contract's shape (a colour not green/yellow/red, advice without nb and en) is left out,
    so the tablet shows no colour rather than a wrong one."""
    colour = item.get("colour")
    advice: Any = item.get("advice")
    flags = item.get("flags") or []
    good_advice = (
        isinstance(advice, dict)
        and isinstance(advice.get("nb"), str)
        and isinstance(advice.get("en"), str)
    )
    return ReceiptDetail(
        colour=colour if colour in ("green", "yellow", "red") else None,
        advice={"nb": advice["nb"], "en": advice["en"]} if good_advice else None,
        flags=tuple(str(f) for f in flags) if isinstance(flags, list) else (),
    )


def _next_resend(after: int, batch: list[OutboxMessage], sent: int, size: int) -> int | None:
    """Where the republish after a connect goes on: after the last message ``sent`` (published,
    or refused for the contract), or None when the batch was the last one (fewer than ``size``
    pending) and all of it went out."""
    if sent < len(batch):  # a publish failed: go on after the last one that went out
        return batch[sent - 1].seq if sent else after
    if len(batch) < size:
        return None
    return batch[-1].seq
