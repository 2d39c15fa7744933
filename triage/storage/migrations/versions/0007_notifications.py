"""escalations that reach people: an escalation chain per alert, notification targets, the
notification outbox with its attempts, and the GP's digest choice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``escalations`` now holds one row per *step* of an alert's chain (``step`` 0 is the escalation
recorded before: on-call nurse or after-hours service), unique per (alert, step).
``notification_targets`` are a centre's receivers (an Apprise URL each, with its chain role).
``notifications`` is the outbox written in the transaction of the escalation step (or the GP
digest) and delivered at least once by the sender job; ``notification_attempts`` keeps every
attempt with the provider's answer. ``users.digest_frequency`` / ``digest_email`` hold a GP's
choice of digest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_constraint("uq_escalations_alert_id", type_="unique")
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.create_unique_constraint("uq_escalations_alert_id", ["alert_id", "step"])
        batch.create_index("ix_escalations_alert_id", ["alert_id"])
    with op.batch_alter_table("escalations") as batch:
        batch.alter_column("step", server_default=None)
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("digest_frequency", sa.String(8), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("digest_email", sa.String(254), nullable=True))
    op.create_table(
        "notification_targets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("centre_id", sa.String(64), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secure", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index(
        "ix_notification_targets_centre_role", "notification_targets", ["centre_id", "role"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        sa.Column("centre_id", sa.String(64), sa.ForeignKey("centres.id"), nullable=True),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("escalation_id", BIG_ID, sa.ForeignKey("escalations.id"), nullable=True),
        sa.Column(
            "target_id", sa.String(64), sa.ForeignKey("notification_targets.id"), nullable=True
        ),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("dead_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt_token_hash", sa.String(64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        sa.UniqueConstraint("receipt_token_hash", name="uq_notifications_receipt_token_hash"),
    )
    op.create_index("ix_notifications_status_due", "notifications", ["status", "due_at"])
    op.create_index("ix_notifications_centre_created", "notifications", ["centre_id", "created_at"])
    op.create_index("ix_notifications_alert_id", "notifications", ["alert_id"])
    op.create_table(
        "notification_attempts",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "notification_id", sa.String(64), sa.ForeignKey("notifications.id"), nullable=False
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_notification_attempts_notification_id", "notification_attempts", ["notification_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_notification_attempts_notification_id", "notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_alert_id", "notifications")
    op.drop_index("ix_notifications_centre_created", "notifications")
    op.drop_index("ix_notifications_status_due", "notifications")
    op.drop_table("notifications")
    op.drop_index("ix_notification_targets_centre_role", "notification_targets")
    op.drop_table("notification_targets")
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): recreating ``users`` in batch mode would
    # fight the foreign keys that point at it
    op.drop_column("users", "digest_email")
    op.drop_column("users", "digest_frequency")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_index("ix_escalations_alert_id")
        batch.drop_constraint("uq_escalations_alert_id", type_="unique")
        batch.drop_column("step")
        batch.create_unique_constraint("uq_escalations_alert_id", ["alert_id"])
