"""the patient's tablet: the centre's phone number, nurse-to-patient messages, "ring meg" call
requests, message read receipts, and the tablet outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

``centres.phone`` is shown to the centre's patients on their tablets. ``patient_messages``
holds a nurse's short text to a patient (``read_at`` set by the first ``dho.message-read/1``);
``message_reads`` keeps each read receipt once by its id (dedupe, like readings);
``call_requests`` holds each ``dho.call-request/1`` once by its id, with who marked it done.
``tablet_outbox`` says "publish this patient's tablet state again": written in the transaction
of the change, drained by the process that holds a broker connection (docs/operator.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("centres") as batch:
        batch.add_column(sa.Column("phone", sa.String(32), nullable=True))
    op.create_table(
        "patient_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("sent_by", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_patient_messages_patient", "patient_messages", ["patient_id", "sent_at"])
    op.create_table(
        "message_reads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "call_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("handled_by", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_call_requests_patient", "call_requests", ["patient_id", "asked_at"])
    op.create_table(
        "tablet_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tablet_outbox")
    op.drop_index("ix_call_requests_patient", "call_requests")
    op.drop_table("call_requests")
    op.drop_table("message_reads")
    op.drop_index("ix_patient_messages_patient", "patient_messages")
    op.drop_table("patient_messages")
    with op.batch_alter_table("centres") as batch:
        batch.drop_column("phone")
