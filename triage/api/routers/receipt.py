"""The receipt link in escalation messages: ``/notifications/receipt/{token}``, no login.

``GET`` shows a small page (bokmål, then English) saying which centre's red alert it is and
when it was sent, with a button; it changes nothing, because mail scanners and SMS previews
fetch links. ``POST`` (the button) confirms receipt: the message's ``received_at`` is set, the
alert's other messages still waiting are cancelled (the chain stops: the escalation job and the
sender see the receipt), the alert's history gets an ``escalation_received`` event, and the
audit log a row (actor ``receipt:<notification id>``). It does not acknowledge the alert: a
nurse still does that in the dashboard.

The token is 256 random bits; only its SHA-256 is stored. It works for
:data:`RECEIPT_VALID_FOR` after the message was written. Requests are limited per client
address (``DHO_LOGIN_RATE_PER_MINUTE``, as logins: guessing tokens is guessing passwords).
Pages never show the patient's name or values. Errors are pages for browsers (``Accept:
text/html``) and problem details for everyone else.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from triage.api import receipt_pages as pages
from triage.api.deps import ClockDep, SessionsDep, SettingsDep
from triage.api.errors import problem
from triage.api.people import add_audit
from triage.api.ratelimit import RateLimiter
from triage.config import Settings
from triage.domain.alerts import AlertEvent, AlertState
from triage.domain.colours import Colour
from triage.domain.notification import NotificationStatus
from triage.storage.models import AlertRow, CentreRow, NotificationRow
from triage.storage.repositories import save_alert_event

router = APIRouter(tags=["receipt"])

#: How long a receipt link works after its message was written.
RECEIPT_VALID_FOR = timedelta(hours=48)
#: What a token from ``secrets.token_urlsafe`` can look like (anything else is unknown).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
#: Every receipt answer: not cached, not framed by another site (a hidden frame could make
#: someone press the button), and the token in the address is not sent on as a Referer.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: The note of the alert event a confirmation writes.
RECEIVED_NOTE = "mottatt via lenke"

TokenPath = Annotated[str, Path(description="the token from the message's receipt link")]

_PAGES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The page."},
    404: {
        "content": {"text/html": {}, "application/problem+json": {}},
        "description": "Unknown link.",
    },
    410: {
        "content": {"text/html": {}, "application/problem+json": {}},
        "description": "The link is older than 48 hours.",
    },
    429: {
        "content": {"text/html": {}, "application/problem+json": {}},
        "description": "Too many requests from this address.",
    },
}


def receipt_limiter(settings: Settings) -> RateLimiter:
    """The limiter :func:`triage.api.app.create_app` keeps on ``app.state.receipt_limiter``."""
    return RateLimiter(settings.login_rate_per_minute)


def token_hash(token: str) -> str:
    """What is stored of a receipt token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@router.get(
    "/notifications/receipt/{token}",
    response_class=HTMLResponse,
    summary="The receipt link's page (changes nothing)",
    responses=_PAGES,
)
def receipt_page(
    token: TokenPath,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """A page saying which centre's red alert the message was and when it was sent, with a
    button that confirms receipt (a POST to the same address). Fetching it changes nothing.
    No login."""
    limited = _limited(request)
    if limited is not None:
        return limited
    now = clock()
    with sessions() as session:
        row = _find(session, token, lock=False)
        if row is None:
            return _error(request, 404, pages.unknown_page(), "unknown receipt link")
        view = _view(session, row, settings)
    if row.received_at is not None:
        return _html(pages.received_page(view, just_now=False))
    if _expired(row, now):
        return _expired_answer(request, view)
    return _html(pages.confirm_page(view))


@router.post(
    "/notifications/receipt/{token}",
    response_class=HTMLResponse,
    summary="Confirm receipt of an escalation message (stops the chain)",
    responses=_PAGES,
)
def confirm_receipt(
    token: TokenPath,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """Confirm that the message reached someone: no further step of the alert's chain is sent
    and its messages still waiting are cancelled. The alert is not acknowledged (a nurse does
    that in DHO). Confirming again only says when it was confirmed. No login; the body (a form
    with no fields) is ignored."""
    limited = _limited(request)
    if limited is not None:
        return limited
    now = clock()
    with sessions.begin() as session:
        row = _find(session, token, lock=True)
        if row is None:
            return _error(request, 404, pages.unknown_page(), "unknown receipt link")
        if row.received_at is not None:
            view = _view(session, row, settings)
            return _html(pages.received_page(view, just_now=False))
        if _expired(row, now):
            return _expired_answer(request, _view(session, row, settings))
        row.received_at = now
        cancelled = _cancel_others(session, row, now)
        patient_id = _record_event(session, row, now)
        add_audit(
            session,
            at=now,
            actor=f"receipt:{row.id}",
            action="confirm_receipt",
            object_type="notification",
            object_id=row.id,
            patient_id=patient_id,
            details={"alert_id": row.alert_id, "cancelled": cancelled},
        )
        view = _view(session, row, settings)
    return _html(pages.received_page(view, just_now=True))


def _limited(request: Request) -> Response | None:
    limiter: RateLimiter = request.app.state.receipt_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.hit(client)
    if wait is None:
        return None
    seconds = int(wait) + 1
    answer = _error(
        request,
        429,
        pages.too_many_page(seconds),
        f"too many receipt requests from this address; try again in {seconds} s",
    )
    answer.headers["Retry-After"] = str(seconds)
    return answer


def _find(session: Session, token: str, *, lock: bool) -> NotificationRow | None:
    if not _TOKEN.fullmatch(token):
        return None
    query = select(NotificationRow).where(NotificationRow.receipt_token_hash == token_hash(token))
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def _expired(row: NotificationRow, now: datetime) -> bool:
    return now >= row.created_at + RECEIPT_VALID_FOR


def _view(session: Session, row: NotificationRow, settings: Settings) -> pages.ReceiptView:
    centre = session.get(CentreRow, row.centre_id) if row.centre_id else None
    try:
        zone = ZoneInfo(centre.timezone if centre is not None else "Europe/Oslo")
    except (ValueError, KeyError):
        zone = ZoneInfo("Europe/Oslo")
    link = (
        f"{settings.dashboard_public_url.rstrip('/')}/?alert={row.alert_id}"
        if row.alert_id
        else None
    )
    return pages.ReceiptView(
        centre_name=centre.name if centre is not None else "DHO",
        recipient=row.recipient,
        sent_at=row.created_at,
        zone=zone,
        received_at=row.received_at,
        dashboard_link=link,
    )


def _cancel_others(session: Session, row: NotificationRow, now: datetime) -> int:
    """Cancel the alert's other messages still waiting (not those a sender is delivering right
    now: it sees the receipt before its next attempt)."""
    if row.alert_id is None:
        return 0
    result = cast(
        CursorResult[Any],
        session.execute(
            update(NotificationRow)
            .where(
                NotificationRow.alert_id == row.alert_id,
                NotificationRow.id != row.id,
                NotificationRow.status == NotificationStatus.PENDING.value,
                or_(NotificationRow.claimed_until.is_(None), NotificationRow.claimed_until < now),
            )
            .values(status=NotificationStatus.CANCELLED.value, cancelled_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


def _record_event(session: Session, row: NotificationRow, now: datetime) -> str | None:
    """The ``escalation_received`` event in the alert's history; the alert's patient."""
    alert = session.get(AlertRow, row.alert_id) if row.alert_id else None
    if alert is None:
        return None
    state = AlertState(alert.state)
    save_alert_event(
        session,
        AlertEvent(
            alert_id=alert.id,
            event="escalation_received",
            at=now,
            by=row.recipient[:100],
            from_state=state,
            to_state=state,
            colour=Colour(alert.colour),
            note=RECEIVED_NOTE,
        ),
    )
    return alert.patient_id


def _html(page: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def _error(request: Request, status: int, page: str, detail: str) -> Response:
    """An HTML page for a browser, problem details for anyone else."""
    if "text/html" in request.headers.get("accept", ""):
        return _html(page, status)
    answer = problem(status, detail)
    answer.headers.update(PAGE_HEADERS)
    return answer


def _expired_answer(request: Request, view: pages.ReceiptView) -> Response:
    return _error(
        request,
        410,
        pages.expired_page(view),
        "this receipt link has expired (it works for 48 hours); open DHO to see the alert",
    )
