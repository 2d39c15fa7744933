"""The people named in a response, looked up in one query: by username (alert events, plan
versions) or by user id (actions, assignment)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage.api.schemas_people import PersonRead
from triage.domain.access import Role
from triage.storage.models import UserRow


@dataclass(frozen=True)
class People:
    """The people found, by username and by user id."""

    by_name: dict[str, PersonRead] = field(default_factory=dict)
    by_id: dict[str, PersonRead] = field(default_factory=dict)

    def named(self, username: str | None) -> PersonRead | None:
        return self.by_name.get(username) if username else None

    def with_id(self, user_id: str | None) -> PersonRead | None:
        return self.by_id.get(user_id) if user_id else None


def people(
    session: Session, usernames: Iterable[str | None] = (), user_ids: Iterable[str | None] = ()
) -> People:
    """The users with these usernames or ids (None and unknown ones are skipped)."""
    names = {name for name in usernames if name}
    ids = {user_id for user_id in user_ids if user_id}
    if not names and not ids:
        return People()
    rows = session.scalars(
        select(UserRow).where(or_(UserRow.username.in_(names), UserRow.id.in_(ids)))
    ).all()
    found = [
        PersonRead(
            user_id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=Role(row.role),
        )
        for row in rows
    ]
    return People(
        by_name={person.username: person for person in found},
        by_id={person.user_id: person for person in found},
    )
