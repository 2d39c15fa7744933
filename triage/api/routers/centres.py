"""The caller's own follow-up centres: the colleagues an alert may be assigned to
(``GET /colleagues``) and when the centres are staffed (``GET /service-hours``).

Neither holds patient data. Colleagues are for nurses only, and only of their own centres: a
nurse learns no more about other centres' staff than before (a refusal is audited).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from triage.api.errors import ForbiddenError
from triage.api.pages import CursorQuery, LimitQuery, Page, cursor_offset, offset_page
from triage.api.people import CallerDep, require_role
from triage.api.queries import centres as queries
from triage.api.schemas_centres import Colleague, ServiceHours
from triage.domain.access import Role

router = APIRouter(tags=["centres"])

_NURSES_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Not a nurse, or not a nurse of that centre (audited)."},
}


@router.get(
    "/colleagues",
    response_model=Page[Colleague],
    summary="The active nurses of your own centres",
    responses=_NURSES_ONLY,
)
def list_colleagues(
    caller: CallerDep,
    centre: Annotated[
        str | None,
        Query(description="only this centre's nurses (one of your centres); default: all yours"),
    ] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[Colleague]:
    """The active nurses of the centres you work for (you among them), by name: whom you may
    assign an alert to (`POST /alerts/{id}/assign` takes a nurse of the patient's centre, so
    pass the patient's `centre`). Only their id and name. Nurses only."""
    require_role(caller, Role.NURSE, action="list", object_type="colleagues")
    mine = caller.principal.centre_ids
    if centre is not None and centre not in mine:
        why = f"centre {centre} is not one of your centres"
        caller.refuse("list", "colleagues", centre, None, why)
        raise ForbiddenError(f"not allowed: {why}")
    offset = cursor_offset(cursor)
    with caller.sessions() as session:
        items = queries.colleagues(
            session, [centre] if centre else mine, offset=offset, limit=limit + 1
        )
    return offset_page(items, offset, limit)


@router.get(
    "/service-hours",
    response_model=list[ServiceHours],
    summary="When your centres are staffed",
    responses={401: {"description": "Not logged in."}},
)
def list_service_hours(caller: CallerDep) -> list[ServiceHours]:
    """For each centre you work for (none for someone who works for no centre): whether it is
    staffed now, today's opening and closing, the next opening, the last closing (what arrived
    since then came in while nobody was there), and the holidays and local closures on its
    usual weekdays for the coming year, from the centre's service calendar."""
    with caller.sessions() as session:
        return queries.service_hours(session, caller.principal.centre_ids, caller.now)
