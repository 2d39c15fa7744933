"""Shared fixtures. Keep this file light: everything here runs for every test session."""

from __future__ import annotations

import os

import pytest

from tests import services

#: real SMTP and webhook receivers for notification tests (fixtures smtp_sink, webhook)
pytest_plugins = ["tests.notify_receivers", "tests.fhir_server", "tests.oidc_provider"]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test database's URL; skips the test (fails it under CI) when PostgreSQL is down."""
    url = services.postgres_url(os.environ)
    services.require_service(
        "PostgreSQL", services.postgres_address(url), services.POSTGRES_START_COMMAND
    )
    return url


@pytest.fixture(scope="session")
def mosquitto_address() -> services.ServiceAddress:
    """The MQTT broker's (host, port); skips the test (fails it under CI) when it is down."""
    address = services.mosquitto_address(os.environ)
    services.require_service("Mosquitto", address, services.MOSQUITTO_START_COMMAND)
    return address
