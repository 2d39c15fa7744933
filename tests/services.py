"""Where the tests find PostgreSQL and Mosquitto, and what happens when they are not there.

A test that needs a service asks for the ``postgres_url`` or ``mosquitto_address`` fixture
(see ``tests/conftest.py``). When the service does not answer on its TCP port the test is
skipped on a developer's machine but fails under CI (``CI=true`` or ``CI=1``): CI must never
go green by skipping the integration tests.

Addresses come from the environment:

* ``DHO_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
* ``DHO_TEST_MQTT_HOST`` / ``DHO_TEST_MQTT_PORT`` (default ``127.0.0.1`` / ``1883``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Literal, NamedTuple, NoReturn
from urllib.parse import urlsplit

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_MQTT_HOST = "127.0.0.1"
DEFAULT_MQTT_PORT = 1883
PROBE_TIMEOUT_SECONDS = 1.0

POSTGRES_START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
MOSQUITTO_START_COMMAND = "mosquitto -d -c /etc/mosquitto/mosquitto.conf"


class ServiceAddress(NamedTuple):
    """A TCP host and port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def service_unavailable_action(ci_env: str | None) -> Literal["fail", "skip"]:
    """What to do when a service is down: ``"fail"`` under CI (``true``/``1``), else ``"skip"``."""
    if ci_env is not None and ci_env.strip().lower() in {"true", "1"}:
        return "fail"
    return "skip"


def is_reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether something accepts a TCP connection on ``host:port`` within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_url(env: Mapping[str, str]) -> str:
    """The PostgreSQL URL the tests use."""
    return env.get("DHO_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def postgres_address(url: str) -> ServiceAddress:
    """The host and port of a ``postgresql://`` URL (port 5432 when it names none)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"DHO_TEST_POSTGRES_URL has a bad port: {url!r}") from error
    return ServiceAddress(parts.hostname or "127.0.0.1", port or 5432)


def mosquitto_address(env: Mapping[str, str]) -> ServiceAddress:
    """The MQTT broker's address the tests use."""
    host = env.get("DHO_TEST_MQTT_HOST") or DEFAULT_MQTT_HOST
    raw_port = env.get("DHO_TEST_MQTT_PORT") or str(DEFAULT_MQTT_PORT)
    try:
        port = int(raw_port)
    except ValueError as error:
        raise ValueError(f"DHO_TEST_MQTT_PORT is not a port number: {raw_port!r}") from error
    return ServiceAddress(host, port)


def unavailable_message(service: str, address: ServiceAddress, start_command: str) -> str:
    """The message for a test that needs ``service`` while it does not answer."""
    return (
        f"{service} is not reachable at {address}. Start it with: {start_command} "
        f"(`bash scripts/ensure_services.sh` starts both PostgreSQL and Mosquitto)"
    )


def service_unavailable(message: str, ci_env: str | None) -> NoReturn:
    """Fail (under CI) or skip (elsewhere) the requesting test with ``message``."""
    if service_unavailable_action(ci_env) == "fail":
        pytest.fail(f"{message} [CI is set, so this is a failure, not a skip]", pytrace=False)
    pytest.skip(message)


def require_service(service: str, address: ServiceAddress, start_command: str) -> None:
    """Return when ``address`` answers; otherwise fail or skip the requesting test."""
    if not is_reachable(address.host, address.port):
        service_unavailable(
            unavailable_message(service, address, start_command), os.environ.get("CI")
        )
