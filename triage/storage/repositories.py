"""Queries and writes the service needs, in bulk per batch. Repositories never commit: the
caller owns the transaction (ingest commits once per batch, then acknowledges)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Label,
    Row,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    null,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from triage.domain.alerts import (
    Alert,
    AlertCategory,
    AlertChange,
    AlertEvent,
    AlertState,
    AttachBreach,
    MarkBackInRange,
    OpenAlert,
    apply,
    open_alert,
)
from triage.domain.classify import History
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.notification import NotificationKind, NotificationStatus
from triage.domain.plan import PlanStatus, PlanVersion
from triage.domain.readings import Kind, Reading, Report
from triage.domain.service_hours import ServiceCalendar
from triage.storage.models import (
    AlertEventRow,
    AlertRow,
    CentreRow,
    DeadLetterRow,
    GatewayRow,
    JSONType,
    NotificationRow,
    NotificationTargetRow,
    PatientRow,
    PlanRow,
    PlanVersionRow,
    ReadingRow,
    ReportRow,
    TabletOutboxRow,
)


def new_id() -> str:
    """A time-ordered UUID (version 7 layout): 48-bit milliseconds, then randomness.

    Time-ordered keys insert faster than random uuid4 keys as tables grow (measured ~20 %).
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


# ----------------------------------------------------------------------------- the tablet


def request_tablet_publish(session: Session, patient_id: str, cause: str, now: datetime) -> None:
    """Ask for ``patient_id``'s tablet state (``dho.tablet/1``) to be published again, in
    ``session``'s transaction: a row in the tablet outbox, drained by the process that holds a
    broker connection (:mod:`triage.ingest.tablet_publisher`)."""
    session.execute(
        insert(TabletOutboxRow).values(patient_id=patient_id, cause=cause[:32], requested_at=now)
    )


# ----------------------------------------------------------------------------- notification targets


def add_notification_target(
    session: Session,
    centre_id: str,
    role: str,
    label: str,
    url: str,
    now: datetime,
    *,
    secure: bool = False,
    active: bool = True,
    by: str | None = None,
    target_id: str | None = None,
) -> NotificationTargetRow:
    """Add a receiver of the centre's escalation messages (``role``: a
    :class:`~triage.domain.notification.TargetRole` value) with its Apprise ``url``; the caller
    checks the URL and audits the change."""
    row = NotificationTargetRow(
        id=target_id or new_id(),
        centre_id=centre_id,
        role=role,
        label=label,
        url=url,
        secure=secure,
        active=active,
        created_at=now,
        updated_at=now,
        updated_by=by,
    )
    session.add(row)
    return row


def pending_notification(
    kind: NotificationKind,
    dedupe_key: str,
    recipient: str,
    channel: str,
    title: str,
    body: str,
    now: datetime,
    *,
    centre_id: str | None = None,
    alert_id: str | None = None,
    escalation_id: int | None = None,
    target_id: str | None = None,
    user_id: str | None = None,
    receipt_token_hash: str | None = None,
) -> NotificationRow:
    """A new outbox row waiting for its first attempt (pending, due ``now``); the caller adds it
    in the transaction of its cause, and ``dedupe_key`` keeps it to one row per cause."""
    return NotificationRow(
        id=new_id(),
        kind=kind.value,
        dedupe_key=dedupe_key,
        centre_id=centre_id,
        alert_id=alert_id,
        escalation_id=escalation_id,
        target_id=target_id,
        user_id=user_id,
        recipient=recipient[:200],
        channel=channel,
        title=title,
        body=body,
        created_at=now,
        due_at=now,
        attempts=0,
        status=NotificationStatus.PENDING.value,
        receipt_token_hash=receipt_token_hash,
    )


# ----------------------------------------------------------------------------- look-ups


def gateways_by_id(session: Session, ids: Iterable[str]) -> dict[str, GatewayRow]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(GatewayRow).where(GatewayRow.id.in_(wanted)))
    return {row.id: row for row in rows}


def centre_calendar(centre: CentreRow) -> ServiceCalendar:
    """The centre's service calendar: its stored fields over the defaults, in the centre's time
    zone. Raises ``ValueError`` (pydantic's ``ValidationError``) when the stored fields are not
    a valid calendar; callers decide what to do then."""
    return ServiceCalendar.model_validate({"timezone": centre.timezone, **(centre.calendar or {})})


def patients_by_id(session: Session, ids: Iterable[str]) -> dict[str, PatientRow]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(PatientRow).where(PatientRow.id.in_(wanted)))
    return {row.id: row for row in rows}


def active_plans(
    session: Session,
    patient_ids: Iterable[str],
    cache: MutableMapping[tuple[str, int], PlanVersion] | None = None,
) -> dict[str, PlanVersion]:
    """Each patient's approved (not retired) plan version with the highest version number.

    With ``cache`` (keyed by plan id and version), a document is fetched and parsed only the
    first time: an approved version never changes (ingest keeps one cache per worker)."""
    wanted = set(patient_ids)
    if not wanted:
        return {}
    if cache is not None:
        return _active_plans_cached(session, wanted, cache)
    rows = session.execute(
        select(PlanRow.patient_id, PlanVersionRow.document)
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(PlanRow.patient_id.in_(wanted), PlanVersionRow.status == PlanStatus.APPROVED.value)
        .order_by(PlanRow.patient_id, PlanVersionRow.version)
    )
    plans: dict[str, PlanVersion] = {}
    for patient_id, document in rows:
        plans[patient_id] = PlanVersion.model_validate(document)  # the last one wins
    return plans


def _active_plans_cached(
    session: Session, wanted: set[str], cache: MutableMapping[tuple[str, int], PlanVersion]
) -> dict[str, PlanVersion]:
    latest: dict[str, tuple[int, str, int]] = {}
    for patient_id, row_id, plan_id, version in session.execute(
        select(
            PlanRow.patient_id, PlanVersionRow.id, PlanVersionRow.plan_id, PlanVersionRow.version
        )
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(
            among(session, PlanRow.patient_id, wanted),
            PlanVersionRow.status == PlanStatus.APPROVED.value,
        )
        .order_by(PlanRow.patient_id, PlanVersionRow.version)
    ):
        latest[patient_id] = (row_id, plan_id, version)  # the last one wins
    found: dict[tuple[str, int], PlanVersion] = {}
    missing: dict[int, tuple[str, int]] = {}
    for row_id, plan_id, version in latest.values():
        cached = cache.get((plan_id, version))
        if cached is None:
            missing[row_id] = (plan_id, version)
        else:
            found[(plan_id, version)] = cached
    if missing:
        documents = session.execute(
            select(PlanVersionRow.id, PlanVersionRow.document).where(PlanVersionRow.id.in_(missing))
        )
        for row_id, document in documents:
            plan = PlanVersion.model_validate(document)
            found[missing[row_id]] = cache[missing[row_id]] = plan
    return {patient_id: found[(key[1], key[2])] for patient_id, key in latest.items()}


def existing_ids(
    session: Session, table: type[ReadingRow] | type[ReportRow], ids: Iterable[str]
) -> set[str]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(session.scalars(select(table.id).where(table.id.in_(wanted))))


def load_history(
    session: Session,
    patient_ids: Iterable[str],
    since: datetime,
    per_patient: int = 200,
    *,
    until: datetime | None = None,
) -> dict[str, History]:
    """Each patient's readings and reports since ``since`` (and before ``until``, if given; the
    newest ``per_patient`` of each), with the findings they were given, as the domain's
    :class:`History` (in no particular order)."""
    wanted = set(patient_ids)
    result: dict[str, History] = {}
    if not wanted:
        return result
    readings: dict[str, list[Reading]] = defaultdict(list)
    reports: dict[str, list[Report]] = defaultdict(list)
    findings: dict[str, list[Finding]] = defaultdict(list)

    ranked = (
        select(
            ReadingRow.id,
            ReadingRow.patient_id,
            ReadingRow.kind,
            ReadingRow.classified_at,
            ReadingRow.values,
            _breach_findings(ReadingRow),
            func.row_number()
            .over(partition_by=ReadingRow.patient_id, order_by=ReadingRow.classified_at.desc())
            .label("rank"),
        )
        .where(
            among(session, ReadingRow.patient_id, wanted),
            ReadingRow.measured_at >= since,  # implied (classified ≤ measured): uses the index
            ReadingRow.classified_at >= since,
            *([] if until is None else [ReadingRow.classified_at < until]),
        )
        .subquery()
    )
    for row in session.execute(select(ranked).where(ranked.c.rank <= per_patient)):
        readings[row.patient_id].append(  # stored by ingest after validation: not re-checked
            Reading.model_construct(
                id=row.id, kind=Kind(row.kind), measured_at=row.classified_at, values=row.values
            )
        )
        findings[row.patient_id].extend(_findings(row.findings))

    ranked_reports = (
        select(
            ReportRow.id,
            ReportRow.patient_id,
            ReportRow.questionnaire,
            ReportRow.answered_at,
            ReportRow.answers,
            _breach_findings(ReportRow),
            func.row_number()
            .over(partition_by=ReportRow.patient_id, order_by=ReportRow.answered_at.desc())
            .label("rank"),
        )
        .where(
            among(session, ReportRow.patient_id, wanted),
            ReportRow.answered_at >= since,
            *([] if until is None else [ReportRow.answered_at < until]),
        )
        .subquery()
    )
    for row in session.execute(select(ranked_reports).where(ranked_reports.c.rank <= per_patient)):
        reports[row.patient_id].append(
            Report.model_construct(
                id=row.id,
                questionnaire=row.questionnaire,
                answered_at=row.answered_at,
                answers=row.answers,
            )
        )
        findings[row.patient_id].extend(_findings(row.findings))

    for patient_id in wanted:
        result[patient_id] = History(
            readings=tuple(readings[patient_id]),
            reports=tuple(reports[patient_id]),
            findings=tuple(f for f in findings[patient_id] if f.is_breach),
        )
    return result


def history_counts(session: Session, since: Mapping[str, datetime]) -> dict[str, tuple[int, int]]:
    """For each patient, how many readings and reports :func:`load_history` would find from
    ``since[patient]`` on (without the per-patient limit): ``(readings, reports)``, patients
    with none left out. A cache of history checks itself against these (rows are only ever
    added, so equal counts mean the same rows)."""
    if not since:
        return {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if session.get_bind().dialect.name == "postgresql":
        ids = list(since)
        joined = _ID_SEPARATOR.join(ids)
        if "" not in since and joined.count(_ID_SEPARATOR) == len(ids) - 1:
            # both tables in one statement, the windows as two text parameters (psycopg dumps
            # lists of strings and datetimes as arrays in Python, a string in C)
            params = {
                "ids": joined,
                "sep": _ID_SEPARATOR,
                "times": ",".join([since[p].isoformat() for p in ids]),
            }
            for index, patient_id, count in session.execute(_HISTORY_COUNTS_ONE, params):
                counts[patient_id][index] = count
            return {p: (c[0], c[1]) for p, c in counts.items()}
        times = [since[p] for p in ids]
        for index, sql in enumerate(_HISTORY_COUNTS_POSTGRESQL):
            for patient_id, count in session.execute(text(sql), {"ids": ids, "times": times}):
                counts[patient_id][index] = count
        return {p: (c[0], c[1]) for p, c in counts.items()}
    reading_window = or_(
        *(
            and_(
                ReadingRow.patient_id == p,
                ReadingRow.measured_at >= t,
                ReadingRow.classified_at >= t,
            )
            for p, t in since.items()
        )
    )
    report_window = or_(
        *(and_(ReportRow.patient_id == p, ReportRow.answered_at >= t) for p, t in since.items())
    )
    for index, (column, window) in enumerate(
        ((ReadingRow.patient_id, reading_window), (ReportRow.patient_id, report_window))
    ):
        for patient_id, count in session.execute(
            select(column, func.count()).where(window).group_by(column)
        ):
            counts[patient_id][index] = count
    return {p: (c[0], c[1]) for p, c in counts.items()}


#: One round trip per table on PostgreSQL, each patient with its own lower bound (``unnest`` of
#: two arrays), on the (patient_id, measured_at) and (patient_id, answered_at) indexes.
_HISTORY_COUNTS_POSTGRESQL = (
    """SELECT r.patient_id, count(*) FROM readings r
    JOIN unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[])) AS w(patient_id, since)
      ON r.patient_id = w.patient_id AND r.measured_at >= w.since AND r.classified_at >= w.since
    GROUP BY r.patient_id""",
    """SELECT r.patient_id, count(*) FROM reports r
    JOIN unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[])) AS w(patient_id, since)
      ON r.patient_id = w.patient_id AND r.answered_at >= w.since
    GROUP BY r.patient_id""",
)


#: :data:`_HISTORY_COUNTS_POSTGRESQL` in one statement: ``(0 readings | 1 reports, patient,
#: count)``, the windows given as a separator-joined text of ids and a comma-joined text of
#: ISO 8601 times.
_HISTORY_COUNTS_ONE = text(
    """WITH w AS (
      SELECT * FROM unnest(
        string_to_array(CAST(:ids AS text), CAST(:sep AS text)),
        CAST(string_to_array(CAST(:times AS text), ',') AS timestamptz[])
      ) AS w(patient_id, since)
    )
    SELECT 0, r.patient_id, count(*) FROM readings r
      JOIN w ON r.patient_id = w.patient_id AND r.measured_at >= w.since
        AND r.classified_at >= w.since
      GROUP BY r.patient_id
    UNION ALL
    SELECT 1, r.patient_id, count(*) FROM reports r
      JOIN w ON r.patient_id = w.patient_id AND r.answered_at >= w.since
      GROUP BY r.patient_id"""
)


class HistoryDelta:
    """A patient's newest rows in a window (by ``stored_at``) and how many rows the window
    holds, read in one statement (so in one snapshot): :func:`load_history_delta`."""

    __slots__ = ("findings", "reading_total", "readings", "report_total", "reports")

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.reports: list[Report] = []
        #: the yellow and red findings of each row, by row id
        self.findings: dict[str, list[Finding]] = {}
        self.reading_total = 0
        self.report_total = 0


def load_history_delta(
    session: Session, since: Mapping[str, datetime], newest: Mapping[str, int]
) -> dict[str, HistoryDelta]:
    """For each patient, the ``newest[patient]`` readings and reports stored last (by ``stored_at``)
    among those :func:`load_history` would find from ``since[patient]`` on, with their yellow
    and red findings, and the number of rows in that window (``reading_total``,
    ``report_total``: what :func:`history_counts` says), each table read in one statement. A
    cache that lacks a few rows another worker stored adds these instead of loading the
    whole window again (:mod:`triage.ingest.history_cache`)."""
    found: dict[str, HistoryDelta] = {p: HistoryDelta() for p in since}
    if not since:
        return found
    if session.get_bind().dialect.name == "postgresql":
        ids, times = list(since), [since[p] for p in since]
        params = {"ids": ids, "times": times, "newest": [newest[p] for p in ids]}
        reading_rows: Iterable[Any] = session.execute(text(_DELTA_READINGS_POSTGRESQL), params)
        report_rows: Iterable[Any] = session.execute(text(_DELTA_REPORTS_POSTGRESQL), params)
    else:
        reading_rows, report_rows = _history_delta_generic(session, since, newest)
    for row in reading_rows:
        delta = found[row.patient_id]
        delta.reading_total = row.total
        delta.readings.append(
            Reading.model_construct(
                id=row.id, kind=Kind(row.kind), measured_at=row.classified_at, values=row.values
            )
        )
        delta.findings[row.id] = _findings(row.findings)
    for row in report_rows:
        delta = found[row.patient_id]
        delta.report_total = row.total
        delta.reports.append(
            Report.model_construct(
                id=row.id,
                questionnaire=row.questionnaire,
                answered_at=row.answered_at,
                answers=row.answers,
            )
        )
        delta.findings[row.id] = _findings(row.findings)
    return found


def _history_delta_generic(
    session: Session, since: Mapping[str, datetime], newest: Mapping[str, int]
) -> tuple[Iterable[Any], Iterable[Any]]:
    reading_window = or_(
        *(
            and_(
                ReadingRow.patient_id == p,
                ReadingRow.measured_at >= t,
                ReadingRow.classified_at >= t,
            )
            for p, t in since.items()
        )
    )
    report_window = or_(
        *(and_(ReportRow.patient_id == p, ReportRow.answered_at >= t) for p, t in since.items())
    )
    readings = (
        select(
            ReadingRow.id,
            ReadingRow.patient_id,
            ReadingRow.kind,
            ReadingRow.classified_at,
            ReadingRow.values,
            _breach_findings(ReadingRow),
            func.row_number()
            .over(
                partition_by=ReadingRow.patient_id,
                order_by=(ReadingRow.stored_at.desc(), ReadingRow.id.desc()),
            )
            .label("rank"),
            func.count().over(partition_by=ReadingRow.patient_id).label("total"),
        )
        .where(reading_window)
        .subquery()
    )
    reports = (
        select(
            ReportRow.id,
            ReportRow.patient_id,
            ReportRow.questionnaire,
            ReportRow.answered_at,
            ReportRow.answers,
            _breach_findings(ReportRow),
            func.row_number()
            .over(
                partition_by=ReportRow.patient_id,
                order_by=(ReportRow.stored_at.desc(), ReportRow.id.desc()),
            )
            .label("rank"),
            func.count().over(partition_by=ReportRow.patient_id).label("total"),
        )
        .where(report_window)
        .subquery()
    )
    return (
        [r for r in session.execute(select(readings)) if r.rank <= newest[r.patient_id]],
        [r for r in session.execute(select(reports)) if r.rank <= newest[r.patient_id]],
    )


#: :func:`load_history_delta` on PostgreSQL: each patient with its own lower bound (``unnest``
#: of two arrays) on the (patient_id, measured_at) index; the window's row count in the same
#: statement, so it and the rows come from one snapshot.
_DELTA_READINGS_POSTGRESQL = """SELECT * FROM (
  SELECT r.id, r.patient_id, r.kind, r.classified_at, r."values",
    CASE WHEN r.colour = 'green' THEN NULL ELSE r.findings END AS findings,
    row_number() OVER (PARTITION BY r.patient_id ORDER BY r.stored_at DESC, r.id DESC) AS rank,
    count(*) OVER (PARTITION BY r.patient_id) AS total, w.newest
  FROM readings r
  JOIN unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[]), CAST(:newest AS int[]))
    AS w(patient_id, since, newest)
    ON r.patient_id = w.patient_id AND r.measured_at >= w.since AND r.classified_at >= w.since
) ranked WHERE rank <= newest"""
_DELTA_REPORTS_POSTGRESQL = """SELECT * FROM (
  SELECT r.id, r.patient_id, r.questionnaire, r.answered_at, r.answers,
    CASE WHEN r.colour = 'green' THEN NULL ELSE r.findings END AS findings,
    row_number() OVER (PARTITION BY r.patient_id ORDER BY r.stored_at DESC, r.id DESC) AS rank,
    count(*) OVER (PARTITION BY r.patient_id) AS total, w.newest
  FROM reports r
  JOIN unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[]), CAST(:newest AS int[]))
    AS w(patient_id, since, newest)
    ON r.patient_id = w.patient_id AND r.answered_at >= w.since
) ranked WHERE rank <= newest"""


def _breach_findings(table: type[ReadingRow] | type[ReportRow]) -> Label[Any]:
    """The row's findings, or NULL when it is green (then none of them is a breach): most rows
    are green, and their findings need not be fetched or parsed for history."""
    return type_coerce(
        case((table.colour == "green", null()), else_=table.findings), JSONType
    ).label("findings")


def _findings(stored: Sequence[dict[str, Any]] | None) -> list[Finding]:
    """The yellow and red findings of a stored row (history keeps only breaches)."""
    return [finding_from_stored(f) for f in stored or () if f.get("colour") != "green"]


def finding_from_stored(stored: dict[str, Any]) -> Finding:
    """A finding as stored by ingest (``Finding.model_dump(mode="json")``), built without
    pydantic's validation (~6x faster on the history load path): equal to
    ``Finding.model_validate(stored)``; anything unexpected is validated after all."""
    try:
        if stored.keys() - _FINDING_FIELDS:
            raise KeyError("extra")
        value = stored.get("value")
        text_ = stored.get("text")
        return Finding.model_construct(
            rule_id=stored["rule_id"],
            rule_type=RuleType(stored["rule_type"]),
            colour=Colour(stored["colour"]),
            at=_aware(datetime.fromisoformat(stored["at"])),
            plan_id=stored.get("plan_id"),
            plan_version=stored.get("plan_version"),
            parameter=stored.get("parameter"),
            value=None if value is None else float(value),
            bound=stored.get("bound"),
            message=stored.get("message"),
            args=stored.get("args"),
            text=None if text_ is None else Text.model_construct(nb=text_["nb"], en=text_["en"]),
        )
    except (KeyError, TypeError, ValueError):
        return Finding.model_validate(stored)


_FINDING_FIELDS = frozenset(Finding.model_fields)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive")
    return at


# ----------------------------------------------------------------------------- alerts


def alert_from_row(row: AlertRow | Row[Any]) -> Alert:
    """The domain alert of an ORM row or a Core row of the alerts table."""
    return Alert(
        id=row.id,
        patient_id=row.patient_id,
        rule_id=row.rule_id,
        rule_type=RuleType(row.rule_type),
        category=AlertCategory(row.category),
        colour=Colour(row.colour),
        state=AlertState(row.state),
        opened_at=row.opened_at,
        last_breach_at=row.last_breach_at,
        breaches=row.breaches,
        reason=Finding.model_validate(row.reason),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        back_in_range_at=row.back_in_range_at,
        escalated_at=row.escalated_at,
        escalated_to=row.escalated_to,
        raised_at=row.raised_at,
    )


def _alert_values(alert: Alert) -> dict[str, Any]:
    data = alert.model_dump(mode="python")
    data["reason"] = alert.reason.model_dump(mode="json")
    for key in ("rule_type", "category", "colour", "state"):
        data[key] = str(data[key])
    return data


def event_values(event: AlertEvent) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "event": event.event,
        "at": event.at,
        "by": event.by,
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value,
        "colour": event.colour.value,
        "note": event.note,
    }


def open_alerts(session: Session, patient_ids: Iterable[str]) -> dict[str, list[Alert]]:
    """Each patient's unresolved alerts (acknowledged ones included), patients without any
    left out."""
    wanted = set(patient_ids)
    found: dict[str, list[Alert]] = defaultdict(list)
    if not wanted:
        return found
    rows = session.execute(
        select(ALERTS).where(
            among(session, ALERTS.c.patient_id, wanted), ALERTS.c.state != "resolved"
        )
    )
    for row in rows:
        found[row.patient_id].append(alert_from_row(row))
    return found


def open_alert_rules(session: Session, patient_ids: Iterable[str]) -> dict[str, dict[str, bool]]:
    """Each patient's unresolved alerts as ``{rule_id: back in range}``, patients without any
    left out: three narrow columns, no :class:`Alert` built — enough to tell which patients'
    findings can change an alert (ingest loads those patients' alerts in full)."""
    wanted = set(patient_ids)
    found: dict[str, dict[str, bool]] = defaultdict(dict)
    if not wanted:
        return found
    rows = session.execute(
        select(ALERTS.c.patient_id, ALERTS.c.rule_id, ALERTS.c.back_in_range_at).where(
            among(session, ALERTS.c.patient_id, wanted), ALERTS.c.state != "resolved"
        )
    )
    for patient_id, rule_id, back_in_range_at in rows:
        found[patient_id][rule_id] = back_in_range_at is not None
    return found


def save_alert_event(session: Session, event: AlertEvent) -> None:
    session.add(AlertEventRow(**event_values(event)))


def apply_alert_changes(
    session: Session,
    alerts: Sequence[Alert],
    changes: Sequence[AlertChange],
    make_id: Callable[[], str] = new_id,
) -> list[Alert]:
    """Write ``changes`` (from :func:`triage.domain.alerts.decide` over ``alerts``, the
    patients' unresolved alerts) and their events; returns each changed alert as it now is.

    Core statements, one per kind (insert the opened alerts, update the changed ones, insert the
    events) whatever the number of patients: ingest writes a whole batch's alert changes at
    once. Two workers opening an alert for the same patient and rule both reach the database;
    its one-open-alert-per-rule index refuses the second (``IntegrityError``)."""
    latest = {alert.id: alert for alert in alerts}
    opened: list[Alert] = []
    updated: dict[str, Alert] = {}
    events: list[AlertEvent] = []
    changed: list[Alert] = []
    for change in changes:
        if isinstance(change, OpenAlert):
            alert, event = open_alert(change, make_id())
            opened.append(alert)
        else:
            assert isinstance(change, AttachBreach | MarkBackInRange)  # noqa: S101 - the union
            alert, event = apply(latest[change.alert_id], change)
            updated[alert.id] = alert
        latest[alert.id] = alert
        events.append(event)
        changed.append(alert)
    if opened:  # the alerts before their events (foreign key)
        session.execute(insert(ALERTS), [_alert_values(alert) for alert in opened])
    if updated:
        values = [
            {f"b_{key}": value for key, value in _alert_values(alert).items()}
            for alert in updated.values()
        ]
        session.execute(_UPDATE_ALERT, values)
    if events:
        session.execute(insert(ALERT_EVENTS), [event_values(event) for event in events])
    return changed


ALERTS = cast(Table, AlertRow.__table__)
ALERT_EVENTS = cast(Table, AlertEventRow.__table__)
_UPDATE_ALERT = (
    update(ALERTS)
    .where(ALERTS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in Alert.model_fields if name != "id"})
)


def among(session: Session, column: Any, ids: Iterable[str]) -> Any:
    """``column IN ids``; on PostgreSQL ``= ANY(array)``: one parameter, so the driver does not
    parse a 500-placeholder statement anew for every batch size."""
    if session.get_bind().dialect.name == "postgresql":
        unique = set(ids)
        text_ = _ID_SEPARATOR.join(sorted(unique))
        if "" not in unique and text_.count(_ID_SEPARATOR) == len(unique) - 1:
            # one text parameter split by the server: psycopg dumps a list of 500 strings as an
            # array in Python (~15 µs per reading in the ingest profile), a string in C
            return column == any_(
                func.string_to_array(bindparam(None, text_, type_=String), _ID_SEPARATOR)
            )
        return column == any_(bindparam(None, sorted(unique), type_=ARRAY(String)))
    return column.in_(set(ids))


#: Joins the ids of :func:`among` into one parameter (an id that holds it, or an empty id, goes
#: as an array instead).
_ID_SEPARATOR = "\x1f"


# ----------------------------------------------------------------------------- dead letters


def add_dead_letter(
    session: Session,
    *,
    received_at: datetime,
    source: str,
    topic: str | None,
    gateway_id: str | None,
    message_id: str | None,
    reason_code: str,
    reason: str,
    payload: bytes,
) -> None:
    """Keep a refused message: its raw bytes as they came, and its text fields made storable
    whatever the message held (:func:`storable_text`), so a dead letter can always be written."""
    session.add(
        DeadLetterRow(
            received_at=received_at,
            source=storable_text(source, 8) or "?",
            topic=storable_text(topic, 255),
            gateway_id=storable_text(gateway_id, 64),
            message_id=storable_text(message_id, 64),
            reason_code=storable_text(reason_code, 40) or "internal_error",
            reason=storable_text(reason, MAX_REASON) or "",
            payload=payload,
        )
    )


#: A dead letter's reason is cut at this many characters.
MAX_REASON = 2000


#: Characters no database stores in text: NUL (PostgreSQL refuses it) and UTF-16 surrogates
#: (only ever unpaired in a str; UTF-8 cannot hold them). The API refuses them (422) with this.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str | None, limit: int) -> str | None:
    """``text`` as every database stores it: characters of :data:`UNSTORABLE_TEXT` replaced by
    U+FFFD, cut to ``limit`` characters (ending in "…" when cut)."""
    if text is None:
        return None
    text = UNSTORABLE_TEXT.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
