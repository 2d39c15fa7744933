"""``GET /worklist``: the patients a nurse (or GP) should look at, most urgent first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Row

from triage.api.pages import CursorQuery, LimitQuery, Page, cursor_offset, encode_cursor
from triage.api.people import CallerDep
from triage.api.queries.patients import PatientNames, patients_with_names
from triage.api.queries.people import People, people
from triage.api.queries.worklist import (
    LatestReading,
    WorklistFilters,
    page_alerts,
    recent_readings,
    worklist_order_of,
)
from triage.api.routers.contact import open_call_requests
from triage.api.schemas_contact import CallRequestRead
from triage.api.schemas_patients import AlertBrief, FindingRead, LastReading, WorklistItem
from triage.domain.colours import Colour
from triage.domain.plan import Condition
from triage.domain.worklist import WorklistEntry

router = APIRouter(tags=["worklist"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "An admin without a reason (X-DHO-Reason); the refusal is audited."},
}


@router.get("/worklist", response_model=Page[WorklistItem], responses=_REFUSALS)
def worklist(
    caller: CallerDep,
    request: Request,
    centre: Annotated[str | None, Query(description="a follow-up centre's id")] = None,
    municipality: Annotated[str | None, Query(description="a municipality's id")] = None,
    colour: Annotated[Colour | None, Query(description="only patients of this colour")] = None,
    nurse: Annotated[str | None, Query(description="the assigned nurse's user id")] = None,
    condition: Annotated[Condition | None, Query()] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[WorklistItem]:
    """The followed-up patients in the caller's scope (a nurse: her centres' patients; a GP:
    his own; an admin: all, with a reason) in triage order — red, yellow, lost contact only,
    green; within a colour, the longest-waiting unacknowledged alert first. Paused patients
    are shown with their state; discharged ones are not. Each entry carries the open alerts
    with their reasons, the latest reading of each kind, the missing-data and lost-contact
    markers and the green readings waiting to be acknowledged. The read is audited."""
    scope = caller.scope("list", "worklist")
    filters = WorklistFilters(
        centre=centre,
        municipality=municipality,
        colour=colour,
        nurse=nurse,
        condition=condition.value if condition else None,
    )
    offset = cursor_offset(cursor)
    with caller.sessions.begin() as session:
        order = worklist_order_of(
            session, caller.scope_filter(scope), filters, request.app.state.worklist_cache
        )
        page_ids = order.page(session, offset, limit + 1)
        shown = page_ids[:limit]
        names = patients_with_names(session, shown)
        recent = recent_readings(session, shown, caller.now)
        alerts = page_alerts(session, shown)
        calls = open_call_requests(session, shown)
        rows = [row for pid in shown for row in alerts.get(pid, [])]
        found = people(
            session,
            usernames=[row.acknowledged_by for row in rows],
            user_ids=[row.assigned_to for row in rows],
        )
        items = [
            _item(
                names[pid],
                order.entries.get(pid),
                [_alert(row, found) for row in alerts.get(pid, [])],
                recent.latest.get(pid, []),
                recent.greens_waiting.get(pid, 0),
                calls.get(pid, []),
            )
            for pid in shown
        ]
        caller.audit(
            session,
            "list",
            "worklist",
            None,
            None,
            details={
                "count": len(items),
                "offset": offset,
                "filters": filters.as_details(),
                "patients": shown,
            },
        )
    more = len(page_ids) > limit
    return Page[WorklistItem](
        items=items, next_cursor=encode_cursor({"offset": offset + limit}) if more else None
    )


def _item(
    names: PatientNames,
    entry: WorklistEntry | None,
    alert_briefs: list[AlertBrief],
    latest: list[LatestReading],
    waiting: int,
    calls: list[CallRequestRead],
) -> WorklistItem:
    patient = names.patient
    return WorklistItem(
        patient_id=patient.id,
        display_name=patient.display_name,
        condition=Condition(patient.condition) if patient.condition else None,
        centre_id=patient.centre_id,
        centre_name=names.centre_name,
        municipality_id=patient.municipality_id,
        municipality_name=names.municipality_name,
        assigned_nurse_id=patient.assigned_nurse_id,
        assigned_nurse_name=names.nurse_name,
        gp_user_id=patient.gp_user_id,
        gp_name=names.gp_name,
        state=patient.state,
        colour=entry.colour if entry else Colour.GREEN,
        waiting_since=entry.oldest_unacknowledged_at if entry else None,
        missing_data=entry.missing_data if entry else False,
        lost_contact=entry.lost_contact if entry else False,
        lost_contact_since=entry.lost_contact_since if entry else None,
        alerts=alert_briefs,
        last_readings=[
            LastReading(
                id=r.id,
                kind=r.kind,
                values=r.values,
                colour=Colour(r.colour) if r.colour else None,
                measured_at=r.measured_at,
            )
            for r in latest
        ],
        greens_waiting=waiting,
        call_requests=calls,
    )


def _alert(row: Row[Any], found: People) -> AlertBrief:
    return AlertBrief(
        id=row.id,
        rule_id=row.rule_id,
        rule_type=row.rule_type,
        category=row.category,
        colour=row.colour,
        state=row.state,
        opened_at=row.opened_at,
        last_breach_at=row.last_breach_at,
        breaches=row.breaches,
        acknowledged=row.state == "acknowledged",
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_person=found.named(row.acknowledged_by),
        assigned_to=row.assigned_to,
        assigned_to_person=found.with_id(row.assigned_to),
        back_in_range_at=row.back_in_range_at,
        escalated_at=row.escalated_at,
        reason=FindingRead.model_validate(row.reason),
    )
