"""Fixtures of the fault suite (``pytest tests/faults``, or ``-m faults``): a migrated, empty
PostgreSQL test database with the integration tests' world, and a folder whose processes are
stopped (or killed) when the test ends, whatever happened."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.harness import (
    Broker,
    GatewayClient,
    GatewayProcess,
    IngestProcess,
    PostgresCluster,
)
from tests.integration.conftest import cheap_secret_hashing, empty_postgres, postgres_engine
from tests.integration.world import World, build_world
from triage.storage.database import make_engine, migrate, session_factory

__all__ = ["cheap_secret_hashing", "postgres_engine"]

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


class Parts:
    """The processes a test starts, stopped at its end (killed if they do not stop)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.brokers: list[Broker] = []
        self.ingests: list[IngestProcess] = []
        self.gateways: list[GatewayProcess] = []
        self.clients: list[GatewayClient] = []

    def close(self) -> None:
        for client in self.clients:
            client.close()
        processes = [p.process for p in self.gateways] + [p.process for p in self.ingests]
        for process in processes:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(30)
        for broker in self.brokers:
            broker.stop()


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    started = Parts(tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def database(postgres_engine: Engine, postgres_url: str) -> tuple[str, sessionmaker[Session]]:
    """The test database (``DHO_TEST_POSTGRES_URL``), emptied; its URL and sessions."""
    empty_postgres(postgres_engine)
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url, session_factory(postgres_engine)


@pytest.fixture
def world(database: tuple[str, sessionmaker[Session]]) -> World:
    """One patient per condition, each with an approved plan and a registered gateway."""
    with database[1].begin() as session:
        return build_world(session, NOW)


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster for the tests that crash or reconfigure the server (the
    machine's shared PostgreSQL is never touched)."""
    cluster = PostgresCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


_DATABASES = itertools.count(1)


@dataclass
class PrivateDatabase:
    url: str
    sessions: sessionmaker[Session]
    world: World


@pytest.fixture
def private_database(cluster: PostgresCluster) -> Iterator[PrivateDatabase]:
    """A fresh, migrated database in the private cluster, with the integration tests' world."""
    url = cluster.create_database(f"faults_{next(_DATABASES)}")
    engine = make_engine(url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            world = build_world(session, NOW)
        yield PrivateDatabase(url, sessions, world)
    finally:
        engine.dispose()
