"""Storage fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL uses the test database (``DHO_TEST_POSTGRES_URL``): the schema is migrated once per
session and the tables are emptied before each test. Under CI an unreachable PostgreSQL fails
the test (see tests/services.py).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.world import World, build_world
from tests.services import ServiceAddress
from triage.config import Settings
from triage.ingest import BrokerAddress, IngestConsumer
from triage.storage import seed
from triage.storage.database import make_engine, migrate, session_factory
from triage.storage.models import Base

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
SERVICE_DEADLINE_S = 15.0


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(autouse=True)
def cheap_secret_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at production cost takes ~0.3 s per secret; tests hash at the lowest cost (the
    hashes still verify, so login and broker tests behave as in production)."""
    monkeypatch.setattr(seed, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(_psycopg_url(postgres_url))
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'dho.sqlite3'}")
        migrate(sqlite)
        yield sqlite
        sqlite.dispose()
        return
    pg: Engine = request.getfixturevalue("postgres_engine")
    empty_postgres(pg)
    yield pg


def empty_postgres(pg: Engine) -> None:
    """Empty every table. The audit log is append-only (a trigger refuses TRUNCATE), so its
    trigger is disabled for this one transaction, as the tables' owner — the only way past it,
    and the same one an operator has (docs/operator.md)."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with pg.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """A centre serving two municipalities, a GP, a nurse, and one patient per condition with an
    approved template plan and a registered gateway (synthetic identities)."""
    with sessions.begin() as session:
        return build_world(session, NOW)


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own, so tests sharing one broker never see each other."""
    return f"t{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def service(
    mosquitto_address: ServiceAddress, sessions: sessionmaker[Session], prefix: str
) -> Iterator[IngestConsumer]:
    """The real MQTT ingest of the triage service, on ``sessions``' database, below ``prefix``."""
    consumer = start_ingest(
        sessions, BrokerAddress(mosquitto_address.host, mosquitto_address.port), prefix
    )
    yield consumer
    consumer.stop(timeout=5)


def start_ingest(
    sessions: sessionmaker[Session], broker: BrokerAddress, prefix: str
) -> IngestConsumer:
    """Start the triage service's MQTT ingest (client id ``{prefix}triage``, a persistent
    session kept 10 minutes) and wait until it is subscribed."""
    consumer = IngestConsumer(
        Settings(demo=True, ingest_batch_ms=20, mqtt_session_expiry_s=600),
        sessions,
        broker,
        client_id=f"{prefix}triage",
        topic_prefix=prefix,
    )
    consumer.start()
    assert consumer.wait_until_subscribed(SERVICE_DEADLINE_S)
    return consumer


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """`dho` processes a test starts; any still running at its end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(30)
