"""Where a broker is (``mqtt://user:password@host:port``) and waiting until it answers."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


class MqttProtocol(StrEnum):
    """The MQTT version a broker speaks (amqtt speaks only 3.1.1)."""

    V5 = "5"
    V311 = "3.1.1"

    @property
    def paho(self) -> MQTTProtocolVersion:
        return mqtt.MQTTv5 if self is MqttProtocol.V5 else mqtt.MQTTv311


class BrokerUnavailableError(RuntimeError):
    """The broker did not answer (or refused us) before the deadline."""


@dataclass(frozen=True)
class MqttEndpoint:
    """A parsed ``mqtt://`` / ``mqtts://`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError(
                f"DHO_MQTT_URL {redact(url)!r}: expected mqtt://[user:password@]host[:port] "
                "(or mqtts:// for TLS)"
            )
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError as err:
            raise ValueError(f"DHO_MQTT_URL {redact(url)!r} has a bad port") from err
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme in {"mqtts", "ssl"},
        )

    def url(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        credentials = ""
        if self.username:
            credentials = quote(self.username, safe="")
            if self.password:
                credentials += ":" + quote(self.password, safe="")
            credentials += "@"
        return f"{scheme}://{credentials}{self.host}:{self.port}"


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs and messages)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def probe_broker(
    url: str, protocol: MqttProtocol = MqttProtocol.V311, timeout_s: float = 2.0
) -> ReasonCode | str:
    """Connect once: the broker's CONNACK reason code, or why no CONNACK came (a string)."""
    endpoint = MqttEndpoint.parse(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        # DHO's brokers bind the client id to the login (Mosquitto replaces it; amqtt refuses
        # any other), so a login probes under its own name
        client_id=endpoint.username or f"dho-probe-{secrets.token_hex(4)}",
        protocol=protocol.paho,
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set()
    answer: list[ReasonCode] = []

    def on_connect(
        _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        answer.append(reason)

    client.on_connect = on_connect
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=10)
    except OSError as err:
        return f"{type(err).__name__}: {err}"
    try:
        deadline = time.monotonic() + timeout_s
        while not answer and time.monotonic() < deadline:
            if client.loop(timeout=0.05) not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
                break
        if not answer:
            return "no CONNACK (connection closed or timed out)"
        return answer[0]
    finally:
        if answer and not answer[0].is_failure:
            client.disconnect()
        client.loop(timeout=0.01)
        sock = client.socket()
        if sock is not None:
            sock.close()


def wait_for_broker(
    url: str,
    timeout_s: float = 30.0,
    protocol: MqttProtocol = MqttProtocol.V311,
    is_alive: Callable[[], str | None] | None = None,
) -> None:
    """Block until the broker at ``url`` accepts a connection, or raise after ``timeout_s``.

    A broker that answers with a refusal (bad username or password) fails at once: waiting
    will not fix it. ``is_alive`` (a callable returning a reason string when the broker process
    has died, else None) stops the wait early.
    """
    deadline = time.monotonic() + timeout_s
    last = "not tried"
    while True:
        result = probe_broker(url, protocol, timeout_s=min(2.0, max(0.1, timeout_s)))
        if isinstance(result, ReasonCode):
            if not result.is_failure:
                return
            raise BrokerUnavailableError(
                f"the MQTT broker at {redact(url)} refused the connection: {result} — check the "
                "username and password in DHO_MQTT_URL"
            )
        last = result
        if is_alive is not None and (died := is_alive()) is not None:
            raise BrokerUnavailableError(f"the MQTT broker stopped while starting: {died}")
        if time.monotonic() >= deadline:
            raise BrokerUnavailableError(
                f"the MQTT broker at {redact(url)} did not answer within {timeout_s:.0f} s ({last})"
            )
        time.sleep(0.05)
