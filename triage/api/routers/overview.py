"""The GP's "since you last looked", kept on the server per person (``/me/overview-seen``), so it
follows the GP from the surgery's computer to the laptop at home.

It moves only when the GP says so (``POST``): a GP called away in the middle of the overview
finds the same deviations when they come back. What the GP saw is ``through`` — the moment the
overview was fetched — so a deviation that arrived while they read is shown next time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from triage.api.errors import ApiError
from triage.api.people import CallerDep, require_role
from triage.api.schemas_alerts import MarkSeenRequest, OverviewLook
from triage.domain.access import Role
from triage.storage.models import OverviewLookRow

router = APIRouter(tags=["overview"])

#: a dashboard's clock may run this far ahead of the service's: its `through` counts as now
CLOCK_SKEW = timedelta(minutes=2)

_GPS_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only GPs have the overview (audited)."},
}


@router.get(
    "/me/overview-seen",
    response_model=OverviewLook,
    summary="When you last marked your overview seen",
    responses=_GPS_ONLY,
)
def read_overview_seen(caller: CallerDep) -> OverviewLook:
    """`seen_through`: show the deviations opened since then (`GET /alerts?opened_since=…`);
    null when never marked. GPs only."""
    require_role(caller, Role.GP, action="read", object_type="overview")
    with caller.sessions() as session:
        row = session.get(OverviewLookRow, caller.user_id)
        if row is None:
            return OverviewLook(seen_through=None, marked_at=None)
        return OverviewLook(seen_through=row.seen_through, marked_at=row.marked_at)


@router.post(
    "/me/overview-seen",
    response_model=OverviewLook,
    summary="Mark your overview seen",
    responses={**_GPS_ONLY, 422: {"description": "`through` is in the future."}},
)
def mark_overview_seen(caller: CallerDep, body: MarkSeenRequest | None = None) -> OverviewLook:
    """The deviations opened before `through` (the moment the overview you read was fetched;
    default now) count as seen. An earlier `through` than the stored one is kept too (another
    window showed less): it shows more next time, never less. A `through` up to two minutes
    ahead of the service's clock counts as now (clock skew); further ahead is refused. GPs
    only."""
    require_role(caller, Role.GP, action="mark_seen", object_type="overview")
    through = (body.through if body else None) or caller.now
    if through > caller.now + CLOCK_SKEW:
        raise ApiError(
            422,
            f"`through` ({through.isoformat()}) is in the future: mark seen only what was "
            "shown (check the clock of the computer that sent it)",
        )
    through = min(through, caller.now)
    with caller.sessions.begin() as session:
        row = session.get(OverviewLookRow, caller.user_id)
        if row is None:
            row = OverviewLookRow(
                user_id=caller.user_id, seen_through=through, marked_at=caller.now
            )
            session.add(row)
        else:
            row.seen_through, row.marked_at = through, caller.now
        caller.audit(
            session,
            "mark_seen",
            "overview",
            caller.user_id,
            None,
            details={"through": through.isoformat()},
        )
        return OverviewLook(seen_through=through, marked_at=caller.now)
