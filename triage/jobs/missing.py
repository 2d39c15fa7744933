"""Missing measurements: a scheduled measurement whose deadline passed with nothing measured.

For every followed-up patient with an approved plan, :func:`check_missing_measurements` asks the
domain (:func:`triage.domain.schedule.missing_findings`) about each scheduled kind's latest due
slot, in the patient's time zone, and applies the answer as alert changes: a missed slot opens
(or, for a later missed slot, attaches to) a yellow ``missing:<kind>`` alert; a reading that
arrives later marks it back in range. The same missed slot is never attached twice, so running
the job every five minutes changes nothing between deadlines.

Skipped: patients without an approved plan (trial patients usually have none yet), paused
patients until ``paused_until``, discharged patients. A slot counts only from when the schedule
applies: the later of the plan's approval, enrolment and the last activation/resumption.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import Alert
from triage.domain.findings import Finding
from triage.domain.plan import PlanVersion
from triage.domain.readings import Kind, Reading, Report
from triage.domain.schedule import missing_findings
from triage.jobs.common import apply_findings, followed_patient_ids, followed_since
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.storage import repositories
from triage.storage.models import PatientRow, ReadingRow, ReportRow

JOB = "missing_measurements"

#: How far back the domain looks for the latest due slot (it looks back 8 days), plus a margin
#: for the slot's window, which starts at local midnight of its day.
_LOOKBACK = timedelta(days=10)


def check_missing_measurements(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the missing-measurement check at ``now`` (aware); recorded in JobRunRow."""
    del settings  # no settings of its own: the plan's missing rule says colour and grace
    now = require_aware(now)

    def body(tally: Tally) -> None:
        with sessions() as session:
            patient_ids = followed_patient_ids(session)
        each_in_savepoint(
            sessions,
            patient_ids,
            tally,
            lambda session, patient_id: check_patient(session, patient_id, now),
            describe=lambda patient_id: f"patient {patient_id}",
            what="patients",
        )

    return run_job(JOB, sessions, now, body)


def check_patient(session: Session, patient_id: str, now: datetime) -> Counter[str]:
    """Missing-measurement findings for one patient, applied to their alerts."""
    patient = session.get(PatientRow, patient_id)
    if patient is None:
        return Counter(skipped_gone=1)
    since = followed_since(patient, now)
    if since is None:
        return Counter(skipped_not_followed=1)
    plan = repositories.active_plans(session, [patient_id]).get(patient_id)
    if plan is None:
        return Counter(skipped_no_plan=1)
    if plan.approval is not None:
        since = max(since, plan.approval.at)
    if since > now:
        return Counter(checked=1)
    plan = in_zone(plan, patient.timezone)
    start = max(since, now - _LOOKBACK) - timedelta(days=2)
    readings, reports = _measured(session, patient_id, start)
    findings = missing_findings(plan, readings, reports, since, now)
    done = apply_findings(session, patient_id, findings, _same_slot)
    done["checked"] += 1
    return done


def in_zone(plan: PlanVersion, timezone: str) -> PlanVersion:
    """``plan`` with its schedule read in the patient's zone (deadlines are local wall times)."""
    if plan.schedule.timezone == timezone:
        return plan
    schedule = type(plan.schedule).model_validate(
        {**plan.schedule.model_dump(), "timezone": timezone}
    )
    return plan.model_copy(update={"schedule": schedule})


def _same_slot(alert: Alert, finding: Finding) -> bool:
    """The open alert already records this missed slot (or a later one)."""
    return alert.back_in_range_at is None and alert.last_breach_at >= finding.at


def _measured(
    session: Session, patient_id: str, start: datetime
) -> tuple[list[Reading], list[Report]]:
    """The patient's readings (kind and time only) and reports since ``start``."""
    readings = [
        Reading(id=row.id, kind=Kind(row.kind), measured_at=row.classified_at, values={})
        for row in session.execute(
            select(ReadingRow.id, ReadingRow.kind, ReadingRow.classified_at).where(
                ReadingRow.patient_id == patient_id, ReadingRow.classified_at >= start
            )
        )
    ]
    reports = [
        Report(id=row.id, questionnaire=row.questionnaire, answered_at=row.answered_at, answers={})
        for row in session.execute(
            select(ReportRow.id, ReportRow.questionnaire, ReportRow.answered_at).where(
                ReportRow.patient_id == patient_id, ReportRow.answered_at >= start
            )
        )
    ]
    return readings, reports
