"""The APScheduler 3 scheduler that runs the jobs, and the guard around each run.

Intervals: missing measurements every 5 minutes, escalation every minute, lost contact every
15 minutes, the notification sender every ``DHO_NOTIFY_INTERVAL_S`` (20 s), the journal sender
every ``DHO_FHIR_JOURNAL_INTERVAL_S`` (30 s). Each job has
``coalesce=True`` (runs missed while the process was busy or asleep collapse into one),
``max_instances=1`` (a slow run is never overlapped by the next one in this process) and a
misfire grace of one interval (a late run still happens rather than being
dropped). The jobs are idempotent and compute everything from the database at the time they
run, so a skipped or coalesced run loses nothing; several processes may run schedulers at once
(the database constraints decide, see :mod:`triage.jobs.escalation`).

:func:`run_guarded` is what the scheduler calls: it reads the clock, runs the job and catches
every exception, so one failing run never stops the scheduler; a run that broke before it could
record itself gets a ``failed`` JobRunRow from the guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.jobs import (
    escalation,
    gp_digest,
    journal,
    lost_contact,
    missing,
    notify,
    programme_days,
)
from triage.jobs.runs import (
    JobFailedError,
    JobResult,
    record_failed_run,
    require_aware,
    summarise,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
JobFunction = Callable[[sessionmaker[Session], Settings, datetime], JobResult]


def utc_now() -> datetime:
    """The production clock: aware UTC now."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScheduledJob:
    """A job function, its name (JobRunRow.job, the scheduler's job id) and its interval (a
    fixed one, or one read from the settings)."""

    name: str
    function: JobFunction
    every: timedelta | Callable[[Settings], timedelta]

    def interval(self, settings: Settings) -> timedelta:
        return self.every(settings) if callable(self.every) else self.every


def notify_every(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.notify_interval_s)


def journal_every(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.fhir_journal_interval_s)


JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(missing.JOB, missing.check_missing_measurements, timedelta(minutes=5)),
    ScheduledJob(escalation.JOB, escalation.escalate_red_alerts, timedelta(minutes=1)),
    ScheduledJob(lost_contact.JOB, lost_contact.check_lost_contact, timedelta(minutes=15)),
    ScheduledJob(gp_digest.JOB, gp_digest.write_gp_digests, timedelta(minutes=15)),
    ScheduledJob(notify.JOB, notify.send_notifications, notify_every),
    # issue 18: the daily programme aggregates (computes nothing until a day has ended)
    ScheduledJob(programme_days.JOB, programme_days.compute_programme_days, timedelta(hours=1)),
    # issue 19: the journal write-back's sender (sends nothing while DHO_FHIR_JOURNAL_URL is unset)
    ScheduledJob(journal.JOB, journal.send_journal, journal_every),
)


def run_guarded(
    job: ScheduledJob, sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> JobResult | None:
    """Run ``job`` once at ``clock()``; never raises (an ``Exception``), returns None on failure."""
    now: datetime | None = None
    try:
        now = require_aware(clock())
        return job.function(sessions, settings, now)
    except JobFailedError as error:
        log.error(
            "scheduled job failed",
            extra={"job": job.name, "run_id": error.run_id, "error": error.reason},
        )
    except Exception as error:
        log.exception(
            "scheduled job failed before recording its run",
            extra={"job": job.name, "error": summarise(error)},
        )
        try:
            record_failed_run(sessions, job.name, now or utc_now(), error)
        except Exception as unrecorded:
            log.exception(
                "could not record the failed run",
                extra={"job": job.name, "error": summarise(unrecorded)},
            )
    return None


def build_scheduler(
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock = utc_now,
    *,
    run_at_start: bool = True,
) -> BackgroundScheduler:
    """A BackgroundScheduler with the jobs; the caller starts and shuts it down.

    ``clock`` gives each run its ``now`` (aware UTC). With ``run_at_start`` every job runs once
    as soon as the scheduler starts (catching up after downtime), or ``DHO_JOBS_START_DELAY_S``
    later, then at its interval.
    """
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    for job in JOBS:
        every = job.interval(settings)
        # next_run_time=None would add the job paused: leave it out to use the trigger's time.
        start = utc_now() + timedelta(seconds=settings.jobs_start_delay_s)
        first = {"next_run_time": start} if run_at_start else {}
        scheduler.add_job(
            run_guarded,
            trigger=IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
            args=(job, session_factory, settings, clock),
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(every.total_seconds())),
            replace_existing=True,
            **first,
        )
    return scheduler
