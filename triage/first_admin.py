"""The first administrator of a new site (``dho users create-admin``).

Everything else about people is done through the API by an administrator; someone has to be
the first one. The password is generated (as the API does) and shown once; the creation is
written to the audit log with the command as the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.api.people import add_audit
from triage.api.queries.admin import generate_password, username_taken
from triage.storage.models import UserRow
from triage.storage.seed import add_user

ACTOR = "dho users create-admin"


class AdminExistsError(ValueError):
    """The username is taken; the message says what to do instead."""


@dataclass(frozen=True)
class CreatedAdmin:
    user_id: str
    username: str
    password: str
    admins_before: int


def create_admin(
    session: Session, *, username: str, display_name: str, now: datetime
) -> CreatedAdmin:
    """Add an active administrator with a generated password, in the caller's transaction."""
    username = username.strip()
    if not username:
        raise ValueError("the username is empty")
    if username_taken(session, username):
        raise AdminExistsError(
            f"the username {username!r} is taken: choose another, or reset that user's password "
            "through the API (POST /api/v1/admin/users/{id}/password) as an administrator"
        )
    admins_before = session.scalar(
        select(func.count()).select_from(UserRow).where(UserRow.role == "admin")
    )
    password = generate_password()
    row = add_user(
        session,
        username=username,
        display_name=display_name.strip() or username,
        role="admin",
        now=now,
        password=password,
    )
    add_audit(
        session,
        at=now,
        actor=ACTOR,
        action="create",
        object_type="user",
        object_id=row.id,
        details={"username": row.username, "role": "admin", "password": "generated"},
    )
    return CreatedAdmin(row.id, row.username, password, admins_before or 0)
