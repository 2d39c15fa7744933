"""Operations: ``GET /metrics`` (Prometheus text format) and ``GET /ready`` (readiness).

``/metrics`` needs no login: operators scrape it from the internal network, so expose the API
to the internet only through a proxy that blocks ``/api/v1/metrics``. It carries no patient
data — only counts by outcome, colour, state, job and reason code. The exposition is written by
hand (format 0.0.4: ``# HELP``, ``# TYPE``, then ``name{label="value"} number`` lines); it is a
few lines, not worth a dependency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import DBAPIError

from triage.api.deps import ClockDep, SessionsDep
from triage.api.queries import admin as queries
from triage.api.schemas_admin import Readiness
from triage.domain.alerts import AlertState
from triage.domain.colours import Colour
from triage.ingest.mqtt_consumer import RUNNING
from triage.ingest.pipeline import OutcomeStatus, stats

router = APIRouter(tags=["metrics"])

#: The Prometheus text exposition format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str]


@dataclass
class Family:
    """One metric: its name, type, help text and samples."""

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def exposition(families: Iterable[Family]) -> str:
    """The families in the Prometheus text format (0.0.4)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            inner = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
            name = f"{family.name}{{{inner}}}" if inner else family.name
            lines.append(f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def ingest_families(counts: Mapping[str, int]) -> list[Family]:
    """This process's ingest counters (MQTT and HTTP) as metrics."""
    messages = Family(
        "dho_ingest_messages_total",
        "counter",
        "Ingest messages handled by this process since it started, by outcome.",
    )
    for outcome in OutcomeStatus:
        messages.add(counts.get(outcome.value, 0), outcome=outcome.value)
    received = Family(
        "dho_ingest_received_total", "counter", "Ingest messages received by this process."
    ).add(counts.get("received", 0))
    by_channel = Family(
        "dho_ingest_channel_messages_total",
        "counter",
        "Stored and duplicate ingest messages by channel (readings, reports).",
    )
    rejected = Family(
        "dho_ingest_rejected_total", "counter", "Rejected ingest messages by reason code."
    )
    flags = Family(
        "dho_ingest_flags_total", "counter", "Data-quality flags on stored messages, by flag."
    )
    for key, value in sorted(counts.items()):
        head, sep, tail = key.partition(".")
        if not sep:
            continue
        if head == "rejected":
            rejected.add(value, reason_code=tail)
        elif head == "flag":
            flags.add(value, flag=tail)
        else:
            by_channel.add(value, outcome=head, channel=tail)
    return [messages, received, by_channel, rejected, flags, *queue_families()]


def queue_families() -> list[Family]:
    """The ingest queue of each MQTT consumer running in this process (``dho serve``; absent
    when ingest runs in other processes — scrape those separately)."""
    depth = Family(
        "dho_ingest_queue_depth", "gauge", "Messages received and waiting for the ingest worker."
    )
    oldest = Family(
        "dho_ingest_queue_oldest_seconds",
        "gauge",
        "How long the oldest waiting message has waited (the ingest lag).",
    )
    for consumer in sorted(RUNNING, key=lambda c: c.client_id):
        waiting, age = consumer.backlog()
        depth.add(waiting, client_id=consumer.client_id)
        oldest.add(age, client_id=consumer.client_id)
    return [depth, oldest] if depth.samples else []


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
    return [database_up.add(1), open_alerts, by_state, job_runs, last, since, letters]


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
    each job's last run, and dead letters by reason code. No login is required — operators
    scrape it from the internal network; do not expose it publicly. It holds no patient data."""
    families = ingest_families(stats()) + database_families(sessions, clock().timestamp())
    return PlainTextResponse(exposition(families), media_type=CONTENT_TYPE)


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "Not ready: see `reason`."}},
)
def ready(response: Response, sessions: SessionsDep) -> Readiness:
    """200 `ready` when the database answers and its schema is at the migrations' head (the
    load balancer may send traffic); 503 `not_ready` with the reason otherwise."""
    try:
        with sessions() as session:
            current, head = queries.schema_revisions(session)
    except DBAPIError as err:
        response.status_code = 503
        first_line = str(err.orig).splitlines()[0][:200] if str(err.orig) else type(err).__name__
        return Readiness(status="not_ready", reason=f"the database does not answer: {first_line}")
    if current != head:
        response.status_code = 503
        return Readiness(
            status="not_ready",
            reason=f"the database schema is at {', '.join(current) or 'no revision'} but this "
            f"version needs {', '.join(head)}: restart the service (it migrates at start)",
            database_revision=current,
            head_revision=head,
        )
    return Readiness(status="ready", database_revision=current, head_revision=head)
