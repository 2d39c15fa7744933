"""The person behind a username or user id in API responses: what the dashboard shows
("Kvittert av Kari Nordmann (sykepleier)") instead of a login name.

Every response field that names a person (``acknowledged_by``, ``resolved_by``, ``by``,
``assigned_to``) keeps its old value for compatibility and gets a sibling ``…_person`` (for
``by``: ``by_person``) of this one shape; null when nobody (the service) did it or the user is
gone.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from triage.domain.access import Role


class PersonRead(BaseModel):
    """A user as others see them: the name to show and their role."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    username: str
    display_name: str = Field(description="the full name, as shown in the dashboard")
    role: Role
