"""Operations: ``GET /metrics`` (Prometheus text format) and ``GET /ready`` (readiness).

``/metrics`` needs no login: operators scrape it from the internal network, so expose the API
to the internet only through a proxy that blocks ``/api/v1/metrics``. It carries no patient
data — only counts by outcome, colour, state, job and reason code. The text format is written by
:mod:`triage.metrics_text`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import DBAPIError

from triage.api.deps import ClockDep, SessionsDep
from triage.api.queries import admin as queries
from triage.api.routers.health import BrokerCheck, get_ingest_check, ingest_health
from triage.api.schemas_admin import Readiness
from triage.domain.alerts import AlertState
from triage.domain.colours import Colour
from triage.domain.notification import NotificationStatus
from triage.ingest.pipeline import stats
from triage.metrics_text import CONTENT_TYPE, Family, exposition, ingest_families

router = APIRouter(tags=["metrics"])


def database_families(sessions: SessionsDep, now_s: float) -> list[Family]:
    """Alerts, job runs and dead letters, counted in the database."""
    database_up = Family(
        "dho_database_up", "gauge", "1 when the database answered this scrape, else 0."
    )
    try:
        with sessions() as session:
            alerts = queries.alert_counts(session)
            runs = queries.job_run_counts(session)
            last_runs = queries.last_job_runs(session)
            dead_letters = queries.dead_letter_counts(session)
            notifications = queries.notification_counts(session)
            oldest_pending = queries.oldest_pending_notification(session)
            journal = queries.journal_counts(session)
            oldest_journal = queries.oldest_pending_journal(session)
    except DBAPIError:
        return [database_up.add(0)]
    open_alerts = Family(
        "dho_alerts_open", "gauge", "Unresolved alert episodes (open or acknowledged), by colour."
    )
    by_state = Family("dho_alerts", "gauge", "Alert episodes by colour and state.")
    unresolved: dict[str, int] = {Colour.YELLOW.value: 0, Colour.RED.value: 0}
    for colour, state, count in alerts:
        if state != AlertState.RESOLVED.value:
            unresolved[colour] = unresolved.get(colour, 0) + count
        by_state.add(count, colour=colour, state=state)
    for colour, count in sorted(unresolved.items()):
        open_alerts.add(count, colour=colour)
    job_runs = Family("dho_job_runs_total", "counter", "Runs of scheduled jobs by job and status.")
    for run in runs:
        job_runs.add(run.runs, job=run.job, status=run.status)
    last = Family(
        "dho_job_last_run_timestamp_seconds", "gauge", "When each job last started (Unix time)."
    )
    since = Family(
        "dho_job_seconds_since_last_run", "gauge", "Seconds since each job last started a run."
    )
    for last_run in last_runs:
        started = last_run.started_at.timestamp()
        last.add(started, job=last_run.job)
        since.add(max(0.0, now_s - started), job=last_run.job)
    letters = Family(
        "dho_dead_letters", "gauge", "Dead letters kept in the database, by reason code."
    )
    for reason_code, count in dead_letters:
        letters.add(count, reason_code=reason_code)
    return [
        database_up.add(1),
        open_alerts,
        by_state,
        job_runs,
        last,
        since,
        letters,
        *notification_families(notifications, oldest_pending, now_s),
        *journal_families(journal, oldest_journal, now_s),
    ]


def notification_families(
    counts: list[tuple[str, int]], oldest_pending: datetime | None, now_s: float
) -> list[Family]:
    """The outbox: messages by status, how long the oldest pending one has waited, and how many
    were given up on (dead) since the start."""
    by_status = Family(
        "dho_notifications", "gauge", "Notifications (escalation messages, GP digests) by status."
    )
    seen = dict(counts)
    for status in NotificationStatus:
        by_status.add(seen.pop(status.value, 0), status=status.value)
    for other, count in sorted(seen.items()):
        by_status.add(count, status=other)
    oldest = Family(
        "dho_notification_oldest_pending_seconds",
        "gauge",
        "Seconds since the oldest notification still waiting to be sent was written (0: none).",
    )
    oldest.add(max(0.0, now_s - oldest_pending.timestamp()) if oldest_pending else 0.0)
    dead = Family(
        "dho_notifications_dead_total",
        "counter",
        "Notifications given up on after DHO_NOTIFY_MAX_ATTEMPTS failed attempts (all time).",
    )
    dead.add(counts_of(counts, NotificationStatus.DEAD.value))
    return [by_status, oldest, dead]


def journal_families(
    counts: list[tuple[str, int]], oldest_pending: datetime | None, now_s: float
) -> list[Family]:
    """The journal outbox (issue 19): Bundles by status, how long the oldest pending one has
    waited, and how many were given up on (dead) since the start."""
    by_status = Family(
        "dho_journal_entries", "gauge", "Journal Bundles (resolved alerts to the record) by status."
    )
    seen = dict(counts)
    for status in ("pending", "sent", "dead"):
        by_status.add(seen.pop(status, 0), status=status)
    for other, count in sorted(seen.items()):
        by_status.add(count, status=other)
    oldest = Family(
        "dho_journal_oldest_pending_seconds",
        "gauge",
        "Seconds since the oldest journal Bundle still waiting to be sent was written (0: none).",
    )
    oldest.add(max(0.0, now_s - oldest_pending.timestamp()) if oldest_pending else 0.0)
    dead = Family(
        "dho_journal_dead_total",
        "counter",
        "Journal Bundles given up on after DHO_FHIR_JOURNAL_MAX_ATTEMPTS failed attempts "
        "(all time).",
    )
    dead.add(counts_of(counts, "dead"))
    return [by_status, oldest, dead]


def counts_of(counts: list[tuple[str, int]], status: str) -> int:
    return sum(count for name, count in counts if name == status)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (no login; internal network only)",
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(sessions: SessionsDep, clock: ClockDep) -> PlainTextResponse:
    """Counters and gauges for Prometheus: ingest messages by outcome (this process), open
    alerts by colour, alerts by colour and state, job runs by job and status and the time since
    each job's last run, dead letters by reason code, and notifications and journal Bundles by
    status (with the oldest pending one's wait and the dead ones). No login is required — operators
    scrape it from the internal network; do not expose it publicly. It holds no patient data."""
    families = ingest_families(stats()) + database_families(sessions, clock().timestamp())
    return PlainTextResponse(exposition(families), media_type=CONTENT_TYPE)


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "Not ready: see `reason`."}},
)
def ready(
    request: Request,
    response: Response,
    sessions: SessionsDep,
    ingest_check: Annotated[BrokerCheck | None, Depends(get_ingest_check)],
) -> Readiness:
    """200 `ready` when the database answers and its schema is at the migrations' head (the
    load balancer may send traffic); 503 `not_ready` with the reason otherwise. `ingest`
    reports this process's MQTT ingest (stalled or not) without changing readiness: the API
    still serves while ingest waits."""
    ingest = ingest_health(ingest_check)
    try:
        with sessions() as session:
            current, head = queries.schema_revisions(session)
    except DBAPIError as err:
        response.status_code = 503
        first_line = str(err.orig).splitlines()[0][:200] if str(err.orig) else type(err).__name__
        return Readiness(
            status="not_ready",
            reason=f"the database does not answer: {first_line}",
            ingest=ingest,
        )
    if current != head:
        response.status_code = 503
        return Readiness(
            status="not_ready",
            reason=f"the database schema is at {', '.join(current) or 'no revision'} but this "
            f"version needs {', '.join(head)}: restart the service (it migrates at start)",
            database_revision=current,
            head_revision=head,
            ingest=ingest,
        )
    return Readiness(status="ready", database_revision=current, head_revision=head, ingest=ingest)
