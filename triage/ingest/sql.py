"""The ingest pipeline's reads and writes of its own tables, per batch: the gateways' bindings,
the dedupe look-up of ids already stored, the bulk insert of readings and reports (COPY on
PostgreSQL), and the gateways' ``last_seen_at``. Alerts, plans and history go through
:mod:`triage.storage.repositories`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Table, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from triage.storage import repositories
from triage.storage.models import GatewayRow, PatientRow, ReadingRow, ReportRow

#: The tables written on the hot path, as Core tables (bulk executemany, no ORM unit of work).
READINGS = cast(Table, ReadingRow.__table__)
REPORTS = cast(Table, ReportRow.__table__)
GATEWAYS = cast(Table, GatewayRow.__table__)

#: ``last_seen_at`` moves only when it would move by more than this (one UPDATE per gateway
#: per minute at most, instead of one per batch): "last seen" is shown to the minute, and the
#: lost-contact rule (``DHO_LOST_CONTACT_H``, hours) cannot tell a minute apart.
LAST_SEEN_GRANULARITY = timedelta(seconds=60)


class Binding:
    """A gateway's registration as ingest needs it (one Core query per batch, no ORM)."""

    __slots__ = ("patient_id", "patient_state", "revoked", "timezone")

    def __init__(
        self, patient_id: str | None, revoked: bool, patient_state: str | None, timezone: str
    ) -> None:
        self.patient_id = patient_id
        self.revoked = revoked
        self.patient_state = patient_state
        self.timezone = timezone


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: COPY on PostgreSQL (~10x fewer client round trips and Python work than
    executemany), executemany elsewhere. Same transaction as everything else.

    COPY runs on the driver's own cursor, past SQLAlchemy, so its errors are wrapped here as
    SQLAlchemy wraps every other statement's (:class:`~sqlalchemy.exc.DBAPIError`, e.g. an
    ``IntegrityError`` when another worker stored the same id first): :func:`store` retries
    those, and a lost connection is marked invalid so the pool does not hand it out again."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    types = [table.c[name].type for name in columns]
    is_json = [isinstance(t, JSON) for t in types]
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    driver_error: type[Exception] = dialect.loaded_dbapi.Error
    plain = [name for name, json_ in zip(columns, is_json, strict=True) if not json_]
    as_json = [name for name, json_ in zip(columns, is_json, strict=True) if json_]
    order = [*plain, *as_json]
    names = ", ".join(f'"{name}"' for name in order)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                values = [row[name] for name in plain]
                for name in as_json:
                    value = row[name]
                    values.append(None if value is None else _json_text(value))
                write(values)
    except driver_error as err:
        lost = dialect.is_disconnect(cast(Any, err), driver, None)
        if lost:
            connection.invalidate(err)
        raise DBAPIError.instance(
            statement, None, err, driver_error, connection_invalidated=lost, dialect=dialect
        ) from err


def _json_text(value: Any) -> str:
    """``value`` as JSON text for a JSONB column: orjson (several times faster than
    :func:`json.dumps`; PostgreSQL parses either into the same jsonb), falling back to
    :func:`json.dumps` for what orjson refuses (an integer beyond 64 bits, a non-str key)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def bindings(session: Session, ids: set[str]) -> dict[str, Binding]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            GatewayRow.id,
            GatewayRow.patient_id,
            GatewayRow.revoked_at,
            PatientRow.state,
            PatientRow.timezone,
        )
        .outerjoin(PatientRow, PatientRow.id == GatewayRow.patient_id)
        .where(repositories.among(session, GatewayRow.id, ids))
    )
    return {
        gateway_id: Binding(patient_id, revoked_at is not None, state, timezone or "Europe/Oslo")
        for gateway_id, patient_id, revoked_at, state, timezone in rows
    }


def stored(
    session: Session, table: type[ReadingRow] | type[ReportRow], ids: set[str]
) -> dict[str, tuple[str, str | None, list[Any]]]:
    """Ids already stored: their gateway, colour and flags."""
    if not ids:
        return {}
    rows = session.execute(
        select(table.id, table.gateway_id, table.colour, table.flags).where(
            repositories.among(session, table.id, ids)
        )
    )
    return {id_: (gateway_id, colour, flags) for id_, gateway_id, colour, flags in rows}


def touch_last_seen(session: Session, gateway_ids: Iterable[str], now: datetime) -> None:
    """Set the gateways' ``last_seen_at`` to ``now`` — once per gateway per batch, and only
    where it is unset or older than ``now`` by more than :data:`LAST_SEEN_GRANULARITY`, so a
    gateway that sends every few seconds is written about once a minute (the row is not
    locked and rewritten per batch)."""
    ids = set(gateway_ids)
    if not ids:
        return
    session.execute(
        update(GATEWAYS)
        .where(
            repositories.among(session, GATEWAYS.c.id, ids),
            GATEWAYS.c.last_seen_at.is_(None)
            | (GATEWAYS.c.last_seen_at < now - LAST_SEEN_GRANULARITY),
        )
        .values(last_seen_at=now)
    )
