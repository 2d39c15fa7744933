"""Alert episodes: a patient's alerts, one alert with its history, and what nurses do with them —
acknowledge, assign, record an action, resolve — plus the day's "acknowledge all green".

State changes go through the domain's transition table (:mod:`triage.domain.alerts`): a change
it does not allow (resolving a resolved alert, resolving before acknowledging) is a 409 with the
reason. Handling is for the nurses of the patient's follow-up centre (``HANDLE``); GPs and
admins may read but not handle. Every read and change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ConflictError, NotFoundError
from triage.api.pages import (
    DEFAULT_LIMIT,
    CursorQuery,
    InvalidCursorError,
    LimitQuery,
    Page,
    decode_cursor,
    encode_cursor,
)
from triage.api.people import Caller, CallerDep, require_role
from triage.api.queries import alerts as queries
from triage.api.queries.notifications import escalation_steps
from triage.api.queries.people import People, people
from triage.api.schemas_alerts import (
    AcknowledgeRequest,
    ActionOutcome,
    ActionRequest,
    AlertActionRead,
    AlertDetail,
    AlertEventRead,
    AlertListItem,
    AlertRead,
    AlertStateFilter,
    AssignRequest,
    GreensAcknowledged,
    GreensCovered,
    GreensRequest,
    ResolveRequest,
)
from triage.domain.access import Permission, Role
from triage.domain.alerts import (
    AlertEvent,
    AlertState,
    ForbiddenTransitionError,
    acknowledge,
    resolve,
)
from triage.domain.colours import Colour
from triage.journal.writer import write_journal_entry
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    GreenAcknowledgementRow,
    PatientRow,
)
from triage.storage.repositories import alert_from_row, patients_by_id, save_alert_event

router = APIRouter(tags=["alerts"])

T = TypeVar("T")

AlertId = Annotated[str, Path(description="the alert's id")]
_CHANGE_RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "not a nurse of the patient's centre"},
    404: {"description": "no such alert"},
    409: {"description": "the alert's state does not allow it (the reason is given)"},
}


StateQuery = Annotated[
    AlertStateFilter, Query(description="open, acknowledged, resolved, unresolved or all")
]
OpenedSinceQuery = Annotated[
    AwareDatetime | None,
    Query(description="only alerts opened at or after this instant (with a zone)"),
]
HistoryQuery = Annotated[
    bool,
    Query(
        description="also each alert's history and the actions recorded on it (what the "
        "centre did), in the same answer"
    ),
]


@router.get(
    "/patients/{patient_id}/alerts",
    response_model=Page[AlertListItem],
    summary="A patient's alerts, newest first",
    responses={403: {}, 404: {}},
)
def list_alerts(
    patient_id: Annotated[str, Path(description="the patient's id")],
    caller: CallerDep,
    state: StateQuery = AlertStateFilter.ALL,
    opened_since: OpenedSinceQuery = None,
    history: HistoryQuery = False,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[AlertListItem]:
    """The patient's alert episodes in `state` (default all), the most recently opened first;
    with `opened_since`, only those opened since then; with `history=true`, each with its
    history and actions. Anyone who may read the patient."""
    after = _position(cursor)
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.READ,
            "read_alerts",
            object_type="alert",
            details=_list_details(state, opened_since, history),
        )
        rows = queries.patient_alerts(
            session, patient_id, state, limit, after, opened_since=opened_since
        )
        return _page(session, rows, limit, history=history)


@router.get(
    "/alerts",
    response_model=Page[AlertListItem],
    summary="The alerts of every patient you may see, newest first",
    responses={403: {"description": "An admin without a reason (audited)."}},
)
def list_scoped_alerts(
    caller: CallerDep,
    state: StateQuery = AlertStateFilter.ALL,
    opened_since: OpenedSinceQuery = None,
    history: HistoryQuery = False,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[AlertListItem]:
    """The alert episodes of the patients in your scope (a nurse: her centres'; a GP: his own;
    an admin: all, with a reason), the most recently opened first; filtered as the patient's
    list. The GP's "deviations since I last looked, and what the centre did" is one request:
    `opened_since` = the last look, `history=true`. One audit row names every patient shown."""
    scope = caller.scope("list", "alerts")
    after = _position(cursor)
    with caller.sessions.begin() as session:
        rows = queries.scoped_alerts(
            session, caller.scope_filter(scope), state, limit, after, opened_since=opened_since
        )
        page = _page(session, rows, limit, history=history)
        caller.audit(
            session,
            "list",
            "alerts",
            None,
            None,
            details={
                **_list_details(state, opened_since, history),
                "count": len(page.items),
                "patients": sorted({item.patient_id for item in page.items}),
            },
        )
        return page


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetail,
    summary="One alert with its history and actions",
    responses={403: {}, 404: {}},
)
def read_alert(alert_id: AlertId, caller: CallerDep) -> AlertDetail:
    """The alert, every event of its history (opened, breaches, acknowledged, …) and every
    action recorded on it. Anyone who may read the patient."""
    with caller.sessions.begin() as session:
        row = _find(session, caller, alert_id, "read_alert", lock=False)
        caller.patient(
            session,
            row.patient_id,
            Permission.READ,
            "read_alert",
            object_type="alert",
            object_id=alert_id,
        )
        return _detail(session, row)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertDetail,
    summary="Acknowledge an alert: a nurse takes it on",
    responses=_CHANGE_RESPONSES,
)
def acknowledge_alert(
    alert_id: AlertId, caller: CallerDep, body: AcknowledgeRequest | None = None
) -> AlertDetail:
    """The alert moves from `open` to `acknowledged` (and stops escalating). A nurse of the
    patient's follow-up centre."""
    note = body.note if body else ""
    with caller.sessions.begin() as session:
        row = _handle(session, caller, alert_id, "acknowledge_alert")
        alert, event = _transition(
            lambda: acknowledge(
                alert_from_row(row), by=caller.principal.username, at=caller.now, note=note
            )
        )
        queries.write_alert(row, alert)
        save_alert_event(session, event)
        session.flush()
        return _detail(session, row)


@router.post(
    "/alerts/{alert_id}/assign",
    response_model=AlertDetail,
    summary="Assign an alert to a nurse",
    responses={**_CHANGE_RESPONSES, 422: {"description": "not a nurse of the patient's centre"}},
)
def assign_alert(alert_id: AlertId, body: AssignRequest, caller: CallerDep) -> AlertDetail:
    """The alert is given to `user_id`, who must be a nurse of the patient's follow-up centre
    (else 422). A resolved alert is not assigned (409). A nurse of the patient's centre."""
    try:
        return _assign(caller, alert_id, body.user_id)
    except _NotAssignableError as refused:
        # audited once this request's transaction is gone (it held the alert's lock)
        caller.refuse("assign_alert", "alert", alert_id, refused.patient_id, refused.why)
        raise ApiError(422, f"{refused.why}: assign the alert to one of them") from refused


class _NotAssignableError(Exception):
    def __init__(self, patient_id: str, why: str) -> None:
        super().__init__(why)
        self.patient_id = patient_id
        self.why = why


def _assign(caller: Caller, alert_id: str, user_id: str) -> AlertDetail:
    with caller.sessions.begin() as session:
        row = _handle(session, caller, alert_id, "assign_alert")
        patient = session.get(PatientRow, row.patient_id)
        nurse = queries.centre_nurse(session, user_id, patient.centre_id) if patient else None
        if nurse is None:
            raise _NotAssignableError(
                row.patient_id,
                f"user {user_id} is not an active nurse of the patient's follow-up centre",
            )
        if row.state == "resolved":
            raise ConflictError(f"alert {alert_id} is resolved; a resolved alert is not assigned")
        row.assigned_to = nurse.id
        alert = alert_from_row(row)
        save_alert_event(
            session,
            AlertEvent(
                alert_id=alert.id,
                event="assigned",
                at=caller.now,
                by=caller.principal.username,
                from_state=alert.state,
                to_state=alert.state,
                colour=alert.colour,
                note=f"assigned to {nurse.username}",
            ),
        )
        session.flush()
        return _detail(session, row)


@router.post(
    "/alerts/{alert_id}/actions",
    response_model=AlertDetail,
    status_code=201,
    summary="Record what was done about an alert",
    responses=_CHANGE_RESPONSES,
)
def record_action(alert_id: AlertId, body: ActionRequest, caller: CallerDep) -> AlertDetail:
    """A structured outcome (phoned the patient, advised per plan, contacted the GP, home care
    visit requested, sent to emergency care, no action needed, admitted to hospital), a note,
    and whether the handling saved a home-care visit (`home_visit_avoided`). Not on a resolved
    alert (409). A nurse of the patient's centre."""
    with caller.sessions.begin() as session:
        row = _handle(
            session, caller, alert_id, "record_alert_action", details={"outcome": body.outcome}
        )
        if row.state == "resolved":
            raise ConflictError(f"alert {alert_id} is resolved; record actions before resolving it")
        _add_action(session, caller, row, body.outcome.value, body.note, body.home_visit_avoided)
        session.flush()
        return _detail(session, row)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertDetail,
    summary="Resolve an alert: the episode is closed",
    responses=_CHANGE_RESPONSES,
)
def resolve_alert(
    alert_id: AlertId, caller: CallerDep, body: ResolveRequest | None = None
) -> AlertDetail:
    """The alert moves from `acknowledged` to `resolved`; with `outcome`, the action is recorded
    too (with `home_visit_avoided`, which needs an outcome: 422 without one). An alert that is
    not acknowledged, or already resolved, gives 409 with the reason. A new breach of the rule
    afterwards opens a new alert. A nurse of the patient's centre. With the journal write-back
    configured, the closing (DetectedIssue, the readings behind it, the note) is queued for the
    patient's record in the same transaction."""
    request = body or ResolveRequest()
    with caller.sessions.begin() as session:
        row = _handle(
            session,
            caller,
            alert_id,
            "resolve_alert",
            details={"outcome": request.outcome} if request.outcome else None,
        )
        alert, event = _transition(
            lambda: resolve(
                alert_from_row(row), by=caller.principal.username, at=caller.now, note=request.note
            )
        )
        if request.outcome is not None:
            _add_action(
                session,
                caller,
                row,
                request.outcome.value,
                request.note,
                request.home_visit_avoided,
            )
        queries.write_alert(row, alert)
        save_alert_event(session, event)
        session.flush()
        # issue 19: the closing goes to the municipal record (journal outbox) in this same
        # transaction; nothing when DHO_FHIR_JOURNAL_URL is unset
        write_journal_entry(session, caller.settings, row, caller.now)
        session.flush()
        return _detail(session, row)


@router.post(
    "/greens/acknowledge",
    response_model=GreensAcknowledged,
    summary="Acknowledge the green readings",
    responses={403: {}, 404: {}, 422: {}},
)
def acknowledge_greens(caller: CallerDep, body: GreensRequest | None = None) -> GreensAcknowledged:
    """The day's "acknowledge all green": for each patient (by default every patient in your
    scope with green readings waiting), the green readings measured up to `through` (default
    now) are marked as seen; each later green waits for the next time. Returns how many readings
    each patient's acknowledgement covered. Nurses of the patients' centres; one patient you may
    not handle refuses the whole request."""
    request = body or GreensRequest()
    through = request.through or caller.now
    if through > caller.now:
        raise ApiError(422, "`through` is in the future: acknowledge only what has arrived")
    with caller.sessions.begin() as session:
        if request.patient_ids is None:
            require_role(caller, Role.NURSE, action="acknowledge_greens", object_type="readings")
            scope = caller.scope("acknowledge_greens", "readings")
            waiting = queries.greens_waiting(
                session, through, patient_ids=None, scope=caller.scope_filter(scope)
            )
            for patient_id in sorted(waiting):
                _check(session, caller, patient_id, through, waiting[patient_id][0])
        else:
            wanted = sorted(set(request.patient_ids))
            # Check the patients the caller may not handle first: a refusal is audited in its
            # own transaction, which must not wait behind this one's audit rows (SQLite).
            rows = patients_by_id(session, wanted)
            wanted.sort(key=lambda p: p in rows and caller.may(rows[p], Permission.HANDLE))
            for patient_id in wanted:
                caller.patient(
                    session,
                    patient_id,
                    Permission.HANDLE,
                    "acknowledge_greens",
                    object_type="readings",
                    details={"through": through.isoformat()},
                )
            waiting = queries.greens_waiting(
                session, through, patient_ids=wanted, scope=PatientRow.id.is_not(None)
            )
        covered = []
        for patient_id in sorted(waiting):
            count, _previous = waiting[patient_id]
            session.add(
                GreenAcknowledgementRow(
                    patient_id=patient_id,
                    through=through,
                    at=caller.now,
                    by=caller.user_id,
                    readings=count,
                )
            )
            covered.append(GreensCovered(patient_id=patient_id, readings=count))
        return GreensAcknowledged(
            through=through, patients=covered, readings=sum(c.readings for c in covered)
        )


# ----------------------------------------------------------------------------- helpers


def _check(session: Session, caller: Caller, patient_id: str, through: datetime, n: int) -> None:
    caller.patient(
        session,
        patient_id,
        Permission.HANDLE,
        "acknowledge_greens",
        object_type="readings",
        details={"through": through.isoformat(), "readings": n},
    )


def _find(session: Session, caller: Caller, alert_id: str, action: str, *, lock: bool) -> AlertRow:
    row = queries.alert_locked(session, alert_id) if lock else session.get(AlertRow, alert_id)
    if row is None:
        caller.refuse(action, "alert", alert_id, None, "no such alert")
        raise NotFoundError(f"no alert {alert_id}")
    return row


def _handle(
    session: Session,
    caller: Caller,
    alert_id: str,
    action: str,
    details: dict[str, str] | None = None,
) -> AlertRow:
    """The alert, locked, if the caller may handle its patient's alerts (audited)."""
    row = _find(session, caller, alert_id, action, lock=True)
    caller.patient(
        session,
        row.patient_id,
        Permission.HANDLE,
        action,
        object_type="alert",
        object_id=alert_id,
        details=details,
    )
    return row


def _transition(change: Callable[[], T]) -> T:
    try:
        return change()
    except ForbiddenTransitionError as err:
        raise ConflictError(str(err)) from err


def _add_action(
    session: Session,
    caller: Caller,
    row: AlertRow,
    outcome: str,
    note: str,
    home_visit_avoided: bool = False,
) -> None:
    session.add(
        AlertActionRow(
            alert_id=row.id,
            patient_id=row.patient_id,
            at=caller.now,
            by=caller.user_id,
            outcome=outcome,
            note=note,
            home_visit_avoided=home_visit_avoided,
        )
    )


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(str(position["at"])), str(position["id"])
    except (KeyError, ValueError) as err:
        raise InvalidCursorError from err


def _alert(row: AlertRow, found: People) -> AlertRead:
    return AlertRead.model_validate(row, from_attributes=True).model_copy(
        update={
            "acknowledged_by_person": found.named(row.acknowledged_by),
            "resolved_by_person": found.named(row.resolved_by),
            "assigned_to_person": found.with_id(row.assigned_to),
        }
    )


def _people(
    session: Session,
    rows: Sequence[AlertRow],
    usernames: Sequence[str | None] = (),
    user_ids: Sequence[str | None] = (),
) -> People:
    """Who acknowledged, resolved and has each alert, and the other ``usernames`` and
    ``user_ids`` (their history's people): one query for them all."""
    return people(
        session,
        usernames=[
            *usernames,
            *(n for row in rows for n in (row.acknowledged_by, row.resolved_by)),
        ],
        user_ids=[*user_ids, *(row.assigned_to for row in rows)],
    )


def _list_details(
    state: AlertStateFilter, opened_since: datetime | None, history: bool
) -> dict[str, Any]:
    details: dict[str, Any] = {"state": state.value}
    if opened_since is not None:
        details["opened_since"] = opened_since.isoformat()
    if history:
        details["history"] = True
    return details


def _page(
    session: Session, rows: Sequence[AlertRow], limit: int, *, history: bool
) -> Page[AlertListItem]:
    shown = list(rows[:limit])
    if history:
        items = _details(session, shown, AlertListItem)
    else:
        found = _people(session, shown)
        items = [AlertListItem(**_alert(row, found).model_dump()) for row in shown]
    next_cursor = (
        encode_cursor({"at": shown[-1].opened_at.isoformat(), "id": shown[-1].id})
        if len(rows) > limit
        else None
    )
    return Page[AlertListItem](items=items, next_cursor=next_cursor)


#: What :func:`_details` builds: the detail of one alert, or a list item with its history.
Detail = TypeVar("Detail", AlertDetail, AlertListItem)


def _detail(session: Session, row: AlertRow) -> AlertDetail:
    [detail] = _details(session, [row], AlertDetail)
    steps = escalation_steps(session, [row.id])[row.id]
    return detail.model_copy(update={"escalations": steps})


def _details(session: Session, rows: Sequence[AlertRow], cls: type[Detail]) -> list[Detail]:
    """Each alert with its history and actions (two queries for them all), as ``cls``."""
    ids = [row.id for row in rows]
    events, actions = queries.events(session, ids), queries.actions(session, ids)
    found = _people(
        session,
        rows,
        usernames=[e.by for row in rows for e in events[row.id]],
        user_ids=[a.by for row in rows for a, _ in actions[row.id]],
    )
    return [
        cls(
            **_alert(row, found).model_dump(),
            events=[
                AlertEventRead(
                    event=e.event,
                    at=e.at,
                    by=e.by,
                    by_person=found.named(e.by),
                    from_state=AlertState(e.from_state) if e.from_state else None,
                    to_state=AlertState(e.to_state),
                    colour=Colour(e.colour),
                    note=e.note,
                )
                for e in events[row.id]
            ],
            actions=[
                AlertActionRead(
                    id=a.id,
                    at=a.at,
                    by=a.by,
                    by_username=name,
                    by_person=found.with_id(a.by),
                    outcome=ActionOutcome(a.outcome),
                    note=a.note,
                    home_visit_avoided=a.home_visit_avoided,
                )
                for a, name in actions[row.id]
            ],
        )
        for row in rows
    ]
