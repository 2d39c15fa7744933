"""The audit log is append-only in the database itself, on SQLite and PostgreSQL: whoever gets
SQL access with the service's credentials can add rows but not change or remove one."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from triage.api.people import add_audit
from triage.storage.models import AuditRow

REFUSED = "audit_log is append-only"


@pytest.fixture
def audited(sessions: sessionmaker[Session]) -> int:
    """One audit row; its id."""
    with sessions.begin() as session:
        add_audit(
            session,
            at=NOW,
            actor="nurse-a",
            action="read",
            object_type="patient",
            object_id="p-1",
            patient_id="p-1",
        )
    with sessions() as session:
        return session.scalars(select(AuditRow.id)).one()


def unchanged(sessions: sessionmaker[Session], row_id: int) -> tuple[str, str]:
    with sessions() as session:
        row = session.get_one(AuditRow, row_id)
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 1
        return row.actor, row.action


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone-else'",
        "UPDATE audit_log SET outcome = 'allowed' WHERE outcome = 'allowed'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE actor = 'nurse-a'",
    ],
)
def test_sql_cannot_change_or_remove_an_audit_row(
    engine: Engine, sessions: sessionmaker[Session], audited: int, statement: str
) -> None:
    """UPDATE and DELETE on audit_log fail with the reason, and the row is as it was."""
    with pytest.raises(DBAPIError, match=REFUSED), engine.begin() as connection:
        connection.execute(text(statement))
    assert unchanged(sessions, audited) == ("nurse-a", "read")


def test_the_orm_cannot_change_or_remove_an_audit_row(
    sessions: sessionmaker[Session], audited: int
) -> None:
    """The same through SQLAlchemy's ORM and Core statements, as service code would try."""
    with pytest.raises(DBAPIError, match=REFUSED), sessions.begin() as session:
        session.get_one(AuditRow, audited).reason = "edited afterwards"
    with pytest.raises(DBAPIError, match=REFUSED), sessions.begin() as session:
        session.delete(session.get_one(AuditRow, audited))
    with pytest.raises(DBAPIError, match=REFUSED), sessions.begin() as session:
        session.execute(update(AuditRow).values(actor="x"))
    with pytest.raises(DBAPIError, match=REFUSED), sessions.begin() as session:
        session.execute(delete(AuditRow))
    assert unchanged(sessions, audited) == ("nurse-a", "read")


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_postgresql_refuses_truncate_of_the_audit_log(
    engine: Engine, sessions: sessionmaker[Session], audited: int
) -> None:
    """TRUNCATE (alone, or swept along by a TRUNCATE of several tables) is refused too."""
    for statement in ("TRUNCATE audit_log", "TRUNCATE users, audit_log CASCADE"):
        with pytest.raises(DBAPIError, match=REFUSED), engine.begin() as connection:
            connection.execute(text(statement))
    assert unchanged(sessions, audited) == ("nurse-a", "read")
