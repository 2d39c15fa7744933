"""The gateway's MQTT side: drains the outbox to the broker and prunes it on receipts.

paho-mqtt 2.x, MQTT v5, QoS 1, a persistent session (``clean_start=False``) so receipts sent
while the link was down still arrive, TLS and username/password when configured. On connect it
subscribes to its receipts and publishes a retained ``status`` (online); its last will sets the
retained status to offline. Publishing never removes anything from the outbox: only a receipt
does (:meth:`gateway.outbox.Outbox.receipt`), so a lost PUBACK, a broker restart or a service
outage costs a republish after the back-off, never a reading.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.outbox import Outbox
from gateway.payloads import status_payload

log = logging.getLogger(__name__)

TOPIC_ROOT = "dho/v1"
#: How long the broker keeps the gateway's session (and its receipts) while it is away.
SESSION_EXPIRY_S = 7 * 24 * 3600


def utc_now() -> datetime:
    return datetime.now(UTC)


class Publisher:
    """Publishes ``outbox``'s due messages as gateway ``gateway_id`` and applies its receipts.

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
        topic_prefix: str = "",
        clock: Callable[[], datetime] = utc_now,
        batch: int = 100,
        status_extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.gateway_id = gateway_id
        self.host = host
        self.port = port
        self.prefix = topic_prefix
        self.clock = clock
        self.batch = batch
        self.status_extra = status_extra
        self.receipts = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"dho-gateway-{gateway_id}",
            protocol=MQTTProtocolVersion.MQTTv5,
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
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def wait_until_ready(self, timeout: float) -> bool:
        """Whether it is connected and subscribed to its receipts within ``timeout`` s."""
        return self._connected.wait(timeout) and self._subscribed.wait(timeout)

    def stop(self) -> None:
        if self._connected.is_set():
            info = self.client.publish(
                self._topic("status"), self._status(online=False), qos=1, retain=True
            )
            info.wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    # --- draining

    def drain_once(self) -> int:
        """Publish what is due now (oldest first); how many were published."""
        if not self._connected.is_set():
            return 0
        now = self.clock()
        due = self.outbox.due(now, self.batch)
        sent = []
        for message in due:
            info = self.client.publish(self._topic(message.channel), message.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("publish failed; the outbox keeps it", extra={"id": message.id})
                break
            sent.append(message.id)
        self.outbox.published(sent, now)
        return len(sent)

    # --- paho callbacks

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("the broker refused the gateway", extra={"reason": str(reason)})
            return
        client.subscribe(self._topic("receipts"), qos=1)
        client.publish(self._topic("status"), self._status(online=True), qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_subscribe(self, *_args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
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
        except (ValueError, KeyError, TypeError):
            log.warning("not a dho.receipt/1 message; ignored", extra={"topic": message.topic})
            return
        self.outbox.receipt(items, self.clock())
        self.receipts += 1
