"""Which readings and reports an alert implicates: the patient's readings and reports whose
stored findings carry the alert's rule with a yellow or red colour, at a time between the
alert's opening and its last breach — the values that opened it and kept it open. At most
:data:`MAX_IMPLICATED` of each, the latest (an alert open for weeks does not journal hundreds).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.storage.models import AlertRow, ReadingRow, ReportRow

#: The most readings (and, apart, reports) one journal Bundle carries: the latest ones.
MAX_IMPLICATED = 20
#: How far outside the alert's window a reading's stored time may lie and still hold a finding
#: inside it (a reading is classified at its measuring time, or its arrival when the clock ran
#: ahead; a report at its answering time): the exact test is on each finding's own time.
_SLACK = timedelta(hours=1)
_BREACH_COLOURS = ("yellow", "red")
Row = TypeVar("Row", ReadingRow, ReportRow)


def implicated(
    session: Session, alert: AlertRow, limit: int = MAX_IMPLICATED
) -> tuple[list[ReadingRow], list[ReportRow]]:
    """The readings and reports behind ``alert``, oldest first (at most ``limit`` of each)."""
    start, end = alert.opened_at - _SLACK, alert.last_breach_at + _SLACK
    readings = session.scalars(
        select(ReadingRow)
        .where(
            ReadingRow.patient_id == alert.patient_id,
            ReadingRow.colour.in_(_BREACH_COLOURS),
            ReadingRow.classified_at >= start,
            ReadingRow.classified_at <= end,
        )
        .order_by(ReadingRow.classified_at.desc(), ReadingRow.id)
    )
    reports = session.scalars(
        select(ReportRow)
        .where(
            ReportRow.patient_id == alert.patient_id,
            ReportRow.colour.in_(_BREACH_COLOURS),
            ReportRow.answered_at >= start,
            ReportRow.answered_at <= end,
        )
        .order_by(ReportRow.answered_at.desc(), ReportRow.id)
    )
    found_readings = _carrying(readings, alert, limit)
    found_reports = _carrying(reports, alert, limit)
    found_readings.sort(key=lambda r: (r.measured_at, r.id))
    found_reports.sort(key=lambda r: (r.answered_at, r.id))
    return found_readings, found_reports


def _carrying(rows: Iterable[Row], alert: AlertRow, limit: int) -> list[Row]:
    kept: list[Row] = []
    for row in rows:
        if any(_is_breach_of(finding, alert) for finding in row.findings):
            kept.append(row)
            if len(kept) >= limit:
                break
    return kept


def _is_breach_of(finding: Any, alert: AlertRow) -> bool:
    """A stored finding (a dict) of the alert's rule, not green, inside the alert's window."""
    if not isinstance(finding, dict) or finding.get("rule_id") != alert.rule_id:
        return False
    if finding.get("colour") not in _BREACH_COLOURS:
        return False
    at = _aware(finding.get("at"))
    return at is None or alert.opened_at <= at <= alert.last_breach_at


def _aware(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None
