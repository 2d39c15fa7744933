"""token families and an append-only audit log: every refresh token of a login kept (used ones
marked), and triggers that refuse UPDATE, DELETE and TRUNCATE on audit_log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Refresh tokens move from ``auth_sessions.refresh_hash`` (overwritten on every refresh, so a
reused token could not be told from an unknown one) to ``refresh_tokens``: one row per token
issued in a login session, ``used_at`` set when it is exchanged. A login's current refresh
token is carried over, so nobody has to log in again.

The audit log's triggers: on PostgreSQL one statement-level trigger (``audit_log_append_only``)
raises on UPDATE, DELETE and TRUNCATE; on SQLite two row triggers ``RAISE(ABORT, …)`` on UPDATE
and DELETE (SQLite has no TRUNCATE). Only the database owner can get past them, by dropping or
disabling the trigger (docs/operator.md). Note for later migrations: a SQLite batch operation on
``audit_log`` rebuilds the table and loses its triggers — create them again afterwards
(:func:`create_audit_triggers`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: What the triggers say when they refuse a change (the SQLite one names the statement too).
REFUSED = "audit_log is append-only"

_POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSED}: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed; see docs/operator.md';
END
$$
"""
_POSTGRES_TRIGGER = """
CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
"""


def create_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
        return
    for statement in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{statement.lower()} BEFORE {statement} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: {statement} refused'); END"
        )


def drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    bind = op.get_bind()
    # read the current tokens first: on SQLite the batch below rebuilds auth_sessions, which
    # must not yet be referenced by refresh_tokens rows (foreign keys are enforced)
    current = bind.execute(
        sa.text(
            "SELECT id, refresh_hash, last_used_at FROM auth_sessions "
            "WHERE refresh_hash <> '' AND ended_at IS NULL"
        )
    ).all()
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_auth_sessions_refresh_hash", type_="unique")
        batch_op.drop_column("refresh_hash")
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_auth_sessions"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    if current:
        # raw values: last_used_at comes back as the database stores it (UTC)
        bind.execute(
            sa.text(
                "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) "
                "VALUES (:token_hash, :session_id, :issued_at)"
            ),
            [
                {"token_hash": digest, "session_id": sid, "issued_at": at}
                for sid, digest, at in current
            ],
        )
    create_audit_triggers()


def downgrade() -> None:
    drop_audit_triggers()
    bind = op.get_bind()
    latest = {
        row.session_id: row.token_hash
        for row in bind.execute(
            sa.text(
                "SELECT session_id, token_hash FROM refresh_tokens t WHERE used_at IS NULL "
                "AND issued_at = (SELECT max(issued_at) FROM refresh_tokens u "
                "WHERE u.session_id = t.session_id)"
            )
        )
    }
    op.drop_index("ix_refresh_tokens_session_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refresh_hash", sa.String(length=64), nullable=True))
    # a session without an unused token gets its own id: unique, and no token hashes to it
    bind.execute(sa.text("UPDATE auth_sessions SET refresh_hash = id"))
    for session_id, digest in latest.items():
        bind.execute(
            sa.text("UPDATE auth_sessions SET refresh_hash = :digest WHERE id = :sid"),
            {"digest": digest, "sid": session_id},
        )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.alter_column("refresh_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_auth_sessions_refresh_hash", ["refresh_hash"])
