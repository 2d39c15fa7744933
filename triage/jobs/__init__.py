"""Scheduled jobs of the triage service (APScheduler 3): missing measurements, escalation of
unacknowledged red alerts, lost contact with the home gateway, and the notification sender.

Each job is a function ``job(session_factory, settings, now) -> JobResult`` that does one run at
the instant ``now`` (aware UTC) and records it in ``job_runs``; tests call them directly with a
fixed ``now``. :func:`build_scheduler` runs them in production::

    scheduler = build_scheduler(session_factory(engine), settings)  # clock: datetime.now(UTC)
    scheduler.start()
    ...
    scheduler.shutdown()

Every job is idempotent (database constraints decide: one unresolved alert per patient and rule,
one escalation per alert), isolates each patient or alert in a SAVEPOINT so that one failure
never stops the others, and writes a JobRunRow (``ok`` / ``partial`` / ``failed``, counts, error
summaries) so an operator can see that it ran and how it went.

Escalations are **recorded and shown** (worklist, API, dashboard) with the plan's red-zone
instruction for the patient, and each step writes its messages to the outbox in the same
transaction; the sender (:mod:`triage.jobs.notify`) delivers them to the receivers' e-mail, SMS
or webhook through Apprise, retrying, and opens a technical alert when one never gets through.
The journal sender (:mod:`triage.jobs.journal`) delivers each resolved alert's FHIR Bundle to
the municipal record the same way.
"""

from triage.jobs.escalation import escalate_red_alerts
from triage.jobs.journal import send_journal
from triage.jobs.lost_contact import check_lost_contact
from triage.jobs.missing import check_missing_measurements
from triage.jobs.notify import send_notifications
from triage.jobs.programme_days import compute_programme_days
from triage.jobs.runs import JobFailedError, JobResult
from triage.jobs.scheduler import JOBS, ScheduledJob, build_scheduler, run_guarded, utc_now

__all__ = [
    "JOBS",
    "JobFailedError",
    "JobResult",
    "ScheduledJob",
    "build_scheduler",
    "check_lost_contact",
    "check_missing_measurements",
    "compute_programme_days",
    "escalate_red_alerts",
    "run_guarded",
    "send_journal",
    "send_notifications",
    "utc_now",
]
