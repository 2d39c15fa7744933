"""End-to-end fixtures: the integration tests' databases, world and real ingest service, shared.

Emulated device → bleak → gateway → outbox → real Mosquitto → real triage ingest → database.
"""

from tests.integration.conftest import (
    cheap_secret_hashing,
    engine,
    postgres_engine,
    prefix,
    service,
    sessions,
    world,
)

__all__ = [
    "cheap_secret_hashing",
    "engine",
    "postgres_engine",
    "prefix",
    "service",
    "sessions",
    "world",
]
