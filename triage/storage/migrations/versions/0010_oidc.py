"""OpenID Connect sign-in (issue 20): login attempts, handoff codes, logout-token jtis, and the
provider's subject and session on users and auth_sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``oidc_login_attempts`` keeps each sign-in started at a provider (state, nonce, PKCE verifier,
where to go next, the EPJ launch context; single use, 10 minutes). ``oidc_handoffs`` keeps the
one-time codes (SHA-256 only) that hand a finished sign-in to the dashboard. ``oidc_logout_tokens``
keeps the jti of every back-channel logout token accepted (each works once). ``users`` gets the
admin-registered (provider, subject); ``auth_sessions`` the provider's sid, sub, auth_time and
when re-authentication is due.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN and a unique index (no batch: SQLite would copy users, which other
    # tables reference)
    op.add_column("users", sa.Column("oidc_provider", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("oidc_subject", sa.String(255), nullable=True))
    op.create_index(
        "uq_users_oidc_subject", "users", ["oidc_provider", "oidc_subject"], unique=True
    )
    op.add_column("auth_sessions", sa.Column("oidc_provider", sa.String(64), nullable=True))
    op.add_column("auth_sessions", sa.Column("oidc_sid", sa.String(255), nullable=True))
    op.add_column("auth_sessions", sa.Column("oidc_sub", sa.String(255), nullable=True))
    op.add_column("auth_sessions", sa.Column("auth_time", UTCDateTime(), nullable=True))
    op.add_column("auth_sessions", sa.Column("reauth_after", UTCDateTime(), nullable=True))
    op.create_index("ix_auth_sessions_oidc_sid", "auth_sessions", ["oidc_sid"])
    op.create_index("ix_auth_sessions_oidc_sub", "auth_sessions", ["oidc_sub"])
    op.create_table(
        "oidc_login_attempts",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next", sa.String(200), nullable=True),
        sa.Column("launch_patient", sa.String(200), nullable=True),
        sa.Column("launch_iss", sa.String(500), nullable=True),
        sa.Column("launch", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_oidc_login_attempts_created_at", "oidc_login_attempts", ["created_at"])
    op.create_table(
        "oidc_handoffs",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("auth_sessions.id"), nullable=False),
        sa.Column("next", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "oidc_logout_tokens",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oidc_logout_tokens")
    op.drop_table("oidc_handoffs")
    op.drop_index("ix_oidc_login_attempts_created_at", "oidc_login_attempts")
    op.drop_table("oidc_login_attempts")
    op.drop_index("ix_auth_sessions_oidc_sub", "auth_sessions")
    op.drop_index("ix_auth_sessions_oidc_sid", "auth_sessions")
    for column in ("reauth_after", "auth_time", "oidc_sub", "oidc_sid", "oidc_provider"):
        op.drop_column("auth_sessions", column)
    op.drop_index("uq_users_oidc_subject", "users")
    op.drop_column("users", "oidc_subject")
    op.drop_column("users", "oidc_provider")
