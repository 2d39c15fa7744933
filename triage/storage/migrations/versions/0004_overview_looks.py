"""overview looks: when each person last marked the GP overview seen

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "overview_looks",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("seen_through", UTCDateTime(), nullable=False),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_overview_looks_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_overview_looks")),
    )


def downgrade() -> None:
    op.drop_table("overview_looks")
