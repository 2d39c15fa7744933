"""The audit log, for administrators: who read or changed what, when, why, and what was refused.

Reading the log is itself audited (``read``/``export`` of ``audit_log``): the log says who
looked at whose access.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from triage.api.errors import ApiError
from triage.api.pages import CursorQuery, LimitQuery, Page
from triage.api.people import CallerDep, require_role
from triage.api.queries import audit as queries
from triage.api.schemas_admin import AuditEntry, Outcome
from triage.domain.access import Role

router = APIRouter(tags=["audit"])

Since = Annotated[
    AwareDatetime | None, Query(description="from this time (inclusive; with a zone, e.g. Z)")
]
Until = Annotated[AwareDatetime | None, Query(description="before this time (exclusive)")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only administrators read the audit log (the refusal is audited)."},
}


def _check_period(since: AwareDatetime | None, until: AwareDatetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise ApiError(422, "`until` must be after `since`")


@router.get(
    "/audit",
    response_model=Page[AuditEntry],
    summary="Search the audit log",
    responses=_ERRORS,
)
def search_audit(
    caller: CallerDep,
    patient: Annotated[str | None, Query(description="patient id")] = None,
    actor: Annotated[str | None, Query(description="username of who did it")] = None,
    action: Annotated[str | None, Query(description="e.g. read, create, revoke, login")] = None,
    outcome: Annotated[Outcome | None, Query(description="allowed or refused")] = None,
    since: Since = None,
    until: Until = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AuditEntry]:
    """Audit entries matching every given filter, newest first (admins only)."""
    require_role(caller, Role.ADMIN, action="read", object_type="audit_log")
    _check_period(since, until)
    where = queries.AuditFilter(patient, actor, action, outcome, since, until)
    after = queries.position(cursor)
    with caller.sessions.begin() as session:
        items = queries.newest_first(session, where, after, limit + 1)
        caller.audit(session, "read", "audit_log", None, patient, details=where.as_details())
    more = len(items) > limit
    items = items[:limit]
    return Page[AuditEntry](
        items=items, next_cursor=queries.cursor_for(items[-1]) if more else None
    )


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    summary="Export the audit log as CSV",
    responses={
        **_ERRORS,
        200: {
            "description": "Every entry in the period, oldest first; `details` as JSON.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def export_audit(caller: CallerDep, since: Since = None, until: Until = None) -> StreamingResponse:
    """The audit entries from `since` to `until` as CSV (UTF-8, one header line; all columns),
    streamed. Cells that a spreadsheet would take for a formula start with an apostrophe. The
    export itself is audited."""
    require_role(caller, Role.ADMIN, action="export", object_type="audit_log")
    _check_period(since, until)
    where = queries.AuditFilter(since=since, until=until)
    with caller.sessions.begin() as session:
        caller.audit(session, "export", "audit_log", None, None, details=where.as_details())
    period = "-".join(
        value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if value else "all"
        for value in (since, until)
    )
    return StreamingResponse(
        queries.csv_chunks(queries.oldest_first(caller.sessions, where)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="dho-audit-{period}.csv"',
            "Cache-Control": "no-store",
        },
    )
