"""Storage on SQLite and PostgreSQL: migrations, times in UTC, one open alert per rule."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.world import World
from triage.domain.alerts import decide
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import Condition, PlanStatus
from triage.storage import repositories, seed
from triage.storage.database import migrate
from triage.storage.models import AlertEventRow, AlertRow, GatewayRow, PatientRow, ReadingRow


def test_migrations_create_every_table_and_are_idempotent(sessions: sessionmaker[Session]) -> None:
    """Running the migrations again on a migrated database changes nothing."""
    engine = sessions.kw["bind"]
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"readings", "alerts", "dead_letters", "audit_log", "job_runs", "gateways"} <= tables


def test_times_come_back_aware_in_utc(sessions: sessionmaker[Session], world: World) -> None:
    """A reading measured at 08:14 Oslo time is stored in UTC and read back as the same instant."""
    patient = world.patients[Condition.COPD]
    local = datetime(2026, 11, 23, 8, 14, 5, tzinfo=ZoneInfo("Europe/Oslo"))
    with sessions.begin() as session:
        session.add(
            ReadingRow(
                id="r-utc",
                patient_id=patient.id,
                gateway_id=patient.gateway_id,
                kind="spo2",
                values={"spo2": 95},
                device={},
                measured_at=local,
                classified_at=local,
                received_at=local,
                stored_at=local,
                timezone="Europe/Oslo",
            )
        )
    with sessions() as session:
        row = session.get(ReadingRow, "r-utc")
        assert row is not None
        assert row.measured_at == local
        assert row.measured_at.tzinfo is UTC
        assert row.measured_at.hour == 7


def test_naive_times_are_refused(sessions: sessionmaker[Session], world: World) -> None:
    """A naive time is a bug and is never stored as if it were UTC."""
    patient = world.patients[Condition.COPD]
    naive = datetime(2026, 11, 23, 8, 14)  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        session.add(
            ReadingRow(
                id="r-naive",
                patient_id=patient.id,
                gateway_id=patient.gateway_id,
                kind="spo2",
                values={"spo2": 95},
                measured_at=naive,
                classified_at=naive,
                received_at=naive,
                stored_at=naive,
                timezone="Europe/Oslo",
            )
        )


def _finding(colour: Colour, minutes: int = 0) -> Finding:
    return Finding(
        rule_id="threshold:spo2",
        rule_type=RuleType.THRESHOLD,
        colour=colour,
        at=NOW + timedelta(minutes=minutes),
        text=Text(nb="SpO2", en="SpO2"),
    )


def test_alert_changes_round_trip_and_keep_history(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A red opens one alert; further breaches attach to it, each with an event."""
    patient = world.patients[Condition.COVID19]
    for minutes in range(0, 50, 5):
        with sessions.begin() as session:
            alerts = repositories.open_alerts(session, [patient.id]).get(patient.id, [])
            changes = decide(patient.id, alerts, [_finding(Colour.RED, minutes)])
            repositories.apply_alert_changes(session, alerts, changes)
    with sessions() as session:
        (row,) = session.scalars(select(AlertRow)).all()
        assert (row.colour, row.state, row.breaches) == ("red", "open", 10)
        events = session.scalars(select(AlertEventRow.event).order_by(AlertEventRow.id)).all()
        assert events == ["opened"] + ["breach"] * 9


def test_database_refuses_a_second_open_alert_for_one_rule(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Even two workers racing cannot open two alerts for one patient and rule."""
    patient = world.patients[Condition.COVID19]
    with sessions.begin() as session:
        changes = decide(patient.id, [], [_finding(Colour.YELLOW)])
        repositories.apply_alert_changes(session, [], changes)
    changes = decide(patient.id, [], [_finding(Colour.YELLOW, 1)])  # a worker that missed it
    with sessions() as session, pytest.raises(IntegrityError):
        repositories.apply_alert_changes(session, [], changes)


def test_active_plan_is_the_latest_approved_version(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The plan used for triage is the patient's approved version, not a newer draft."""
    patient = world.patients[Condition.HEART_FAILURE]
    with sessions.begin() as session:
        row = session.get(PatientRow, patient.id)
        assert row is not None
        draft = patient.plan.model_copy(
            update={"version": 2, "status": PlanStatus.DRAFT, "approval": None}
        )
        seed.add_plan_version(session, row, draft, NOW)
    with sessions() as session:
        plans = repositories.active_plans(session, [patient.id])
        assert plans[patient.id].version == 1


def test_synthetic_national_ids_are_d_numbers_with_valid_checksums() -> None:
    """Test identities can never be a real person's fødselsnummer (day + 40)."""
    number = seed.synthetic_national_id(datetime(1946, 3, 7, tzinfo=UTC).date(), 12)
    assert len(number) == 11
    assert int(number[:2]) > 40
    weights1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
    k1 = (11 - sum(int(d) * w for d, w in zip(number[:9], weights1, strict=True)) % 11) % 11
    assert int(number[9]) == k1


def test_gateway_secret_is_stored_hashed(sessions: sessionmaker[Session], world: World) -> None:
    """Only an argon2 hash of a gateway's secret is kept; the secret verifies against it."""
    patient = world.patients[Condition.COPD]
    with sessions() as session:
        gateway = session.get(GatewayRow, patient.gateway_id)
        assert gateway is not None
        assert gateway.secret_hash is not None
        assert patient.gateway_secret not in gateway.secret_hash
        assert seed.verify_secret(gateway.secret_hash, patient.gateway_secret)
        assert not seed.verify_secret(gateway.secret_hash, "wrong")


def test_the_migrations_build_exactly_the_models(sessions: sessionmaker[Session]) -> None:
    """Alembic finds nothing to change between the migrated database and the models: a column
    added to a model without a migration (or the other way round) fails here, not in
    production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from triage.storage.models import Base

    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrading_to_token_families_keeps_every_live_login(
    sessions: sessionmaker[Session],
) -> None:
    """Migration 0005 moves each live login's refresh token into refresh_tokens: after the
    upgrade it still works once, and nobody has to log in again; its downgrade puts the
    unused token back."""
    from alembic import command

    from triage.auth import logins
    from triage.auth.tokens import refresh_hash
    from triage.config import Settings
    from triage.storage.database import alembic_config

    engine = sessions.kw["bind"]
    with sessions.begin() as session:
        user = seed.add_user(session, username="gp-9", display_name="GP", role="gp", now=NOW)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
        connection.execute(
            text(
                "INSERT INTO auth_sessions (id, user_id, refresh_hash, created_at, expires_at, "
                "last_used_at) VALUES ('s-1', :user, :digest, :now, :later, :now)"
            ),
            {
                "user": user.id,
                "digest": refresh_hash("the-old-token"),
                "now": NOW.replace(tzinfo=None),
                "later": (NOW + timedelta(hours=8)).replace(tzinfo=None),
            },
        )
    migrate(engine)
    with sessions.begin() as session:
        issued = logins.refresh(session, Settings(demo=True), "the-old-token", NOW)
    assert issued.session_id == "s-1"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
        stored = connection.execute(text("SELECT refresh_hash FROM auth_sessions")).scalar_one()
    migrate(engine)
    assert stored == refresh_hash(issued.refresh_token)


def test_a_failing_statement_leaves_no_value_in_its_error_text(
    sessions: sessionmaker[Session],
) -> None:
    """What an operator finds in a log after a failed statement — the whole exception chain —
    names the statement and the constraint but holds no value: not a parameter (a username, a
    note's free text) and not PostgreSQL's DETAIL line ("Key (username)=(…) already exists")."""
    private = "kari.nordmann-fritekst"
    with sessions.begin() as session:
        seed.add_user(session, username=private, display_name="K", role="nurse", now=NOW)
    failing: list[Callable[[Session], object]] = [
        lambda s: seed.add_user(s, username=private, display_name="K", role="nurse", now=NOW),
        lambda s: s.execute(text("SELECT * FROM no_such_table WHERE note = :n"), {"n": private}),
    ]
    if sessions.kw["bind"].dialect.name == "postgresql":
        failing.append(lambda s: s.execute(text("SELECT CAST(:n AS integer)"), {"n": private}))

    def run(statement: Callable[[Session], object]) -> None:
        with sessions.begin() as session:
            statement(session)
            session.flush()

    for statement in failing:
        with pytest.raises(DBAPIError) as raised:
            run(statement)
        logged = "".join(traceback.format_exception(raised.value))
        assert "[SQL: " in logged
        assert private not in logged, logged
