"""the programme view (issue 18): the centre lead's role, a coded discharge reason, the home-care
flag, home visits avoided, each municipality's population and minutes per home visit, each
centre's nurse FTE, and the daily per-patient aggregates the figures are computed from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``patients.discharge_code`` holds the coded reason beside the words in ``state_reason``;
``patients.home_care`` says the patient also receives home-care nursing;
``alert_actions.home_visit_avoided`` is the nurse's judgement that the handling saved a visit.
``municipality_population`` holds the inhabitants by sex and age band (entered by the admin);
``municipalities.minutes_per_home_visit`` and ``centres.nurse_fte`` are the settings behind the
benefit and workload figures. ``patient_days`` is kept by the daily programme job.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("discharge_code", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("home_care", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("alert_actions") as batch:
        batch.add_column(
            sa.Column("home_visit_avoided", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("municipalities") as batch:
        batch.add_column(sa.Column("minutes_per_home_visit", sa.Integer(), nullable=True))
    with op.batch_alter_table("centres") as batch:
        batch.add_column(sa.Column("nurse_fte", sa.Float(), nullable=True))
    op.create_table(
        "municipality_population",
        sa.Column("municipality_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name="fk_municipality_population_municipality_id_municipalities",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name="fk_municipality_population_updated_by_users"
        ),
        sa.PrimaryKeyConstraint(
            "municipality_id", "year", "sex", "age_band", name="pk_municipality_population"
        ),
    )
    op.create_table(
        "patient_days",
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("centre_id", sa.String(64), nullable=False),
        sa.Column("municipality_id", sa.String(64), nullable=False),
        sa.Column("condition", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("home_care", sa.Boolean(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("red", sa.Integer(), nullable=False),
        sa.Column("yellow", sa.Integer(), nullable=False),
        sa.Column("green", sa.Integer(), nullable=False),
        sa.Column("slots_due", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_patient_days_patient_id_patients"
        ),
        sa.PrimaryKeyConstraint("patient_id", "day", name="pk_patient_days"),
    )
    op.create_index("ix_patient_days_day", "patient_days", ["day"])
    op.create_index("ix_patient_days_centre_day", "patient_days", ["centre_id", "day"])
    op.create_index("ix_patient_days_municipality_day", "patient_days", ["municipality_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_patient_days_municipality_day", table_name="patient_days")
    op.drop_index("ix_patient_days_centre_day", table_name="patient_days")
    op.drop_index("ix_patient_days_day", table_name="patient_days")
    op.drop_table("patient_days")
    op.drop_table("municipality_population")
    with op.batch_alter_table("centres") as batch:
        batch.drop_column("nurse_fte")
    with op.batch_alter_table("municipalities") as batch:
        batch.drop_column("minutes_per_home_visit")
    with op.batch_alter_table("alert_actions") as batch:
        batch.drop_column("home_visit_avoided")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("home_care")
        batch.drop_column("discharge_code")
