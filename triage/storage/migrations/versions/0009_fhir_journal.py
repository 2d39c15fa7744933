"""the FHIR journal write-back (issue 19): the journal outbox and its delivery attempts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``journal_outbox`` holds one FHIR transaction Bundle per resolved alert (unique ``alert_id``),
written in the transaction that resolves the alert and delivered at least once by the journal
sender (status pending → sent, or dead after the last attempt); ``answer`` keeps the server's
transaction-response in short. ``journal_attempts`` keeps every attempt with the HTTP status and
the server's answer (cut).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import JSONType, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal_outbox",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("centre_id", sa.String(64), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("bundle", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("dead_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("answer", JSONType, nullable=True),
        sa.UniqueConstraint("alert_id", name="uq_journal_outbox_alert_id"),
    )
    op.create_index("ix_journal_outbox_status_due", "journal_outbox", ["status", "due_at"])
    op.create_index("ix_journal_outbox_patient_id", "journal_outbox", ["patient_id"])
    op.create_table(
        "journal_attempts",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("entry_id", sa.String(64), sa.ForeignKey("journal_outbox.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_journal_attempts_entry_id", "journal_attempts", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_journal_attempts_entry_id", "journal_attempts")
    op.drop_table("journal_attempts")
    op.drop_index("ix_journal_outbox_patient_id", "journal_outbox")
    op.drop_index("ix_journal_outbox_status_due", "journal_outbox")
    op.drop_table("journal_outbox")
