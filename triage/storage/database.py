"""Engines, start-up (wait for the database, run migrations) and sessions."""

from __future__ import annotations

import logging
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    Errors and logs never carry row values: statement parameters (free text, usernames, national
    ids) are hidden (``hide_parameters``), and PostgreSQL's DETAIL line, which repeats them
    ("Key (username)=(…) already exists", "Failing row contains (…)"), is withheld from the
    error's text (it stays on ``err.orig.diag`` for code that needs it)."""
    kwargs["hide_parameters"] = True
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "handle_error", _withhold_row_values)
    return engine


def _withhold_row_values(context: ExceptionContext) -> None:
    """Keep row values out of a PostgreSQL error's text: its DETAIL line is dropped, and for a
    data exception (SQLSTATE class 22, e.g. 'invalid input syntax for type integer: "…"') only
    the kind of error is kept. What went wrong (constraint, column, table) stays."""
    error = context.original_exception
    diag = getattr(error, "diag", None)
    sqlstate = getattr(diag, "sqlstate", None) or ""
    if diag is None or not (diag.message_detail or sqlstate.startswith("22")):
        return
    said = str(error)
    if sqlstate.startswith("22"):
        withheld = f"{type(error).__name__} (SQLSTATE {sqlstate}; the message is withheld: "
        withheld += "it may hold a value)"
    else:
        withheld = f"{diag.message_primary} (the detail is withheld: it may hold row values)"
    error.args = (withheld,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
        wrapped.args = (wrapped.args[0].replace(said, withheld), *wrapped.args[1:])


def wait_for_database(engine: Engine, timeout_s: float = 60.0) -> None:
    """Block until the database answers, or raise after ``timeout_s`` with the last error."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as err:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"the database at {engine.url.render_as_string(hide_password=True)} did not "
                    f"answer within {timeout_s:.0f} s: {err.orig}"
                ) from err
            log.warning("waiting for the database", extra={"error": str(err.orig)})
            time.sleep(1.0)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("triage.storage").joinpath("migrations")))
    return config


#: PostgreSQL advisory-lock key held while migrating ("DHO-MIGR"), so processes starting
#: together (the API, several ingest workers, the jobs) migrate one after the other.
MIGRATION_LOCK_KEY = 0x44484F2D4D494752


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the same migrations on SQLite and PostgreSQL).

    On PostgreSQL the upgrade holds a transaction-level advisory lock: a second process waits,
    then finds the schema at head and does nothing (SQLite serialises writers by itself).
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
