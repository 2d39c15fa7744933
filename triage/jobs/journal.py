"""The journal sender: delivers the journal outbox (``journal_outbox``) at least once.

Every ``DHO_FHIR_JOURNAL_INTERVAL_S`` one run takes the due ``pending`` Bundles (``due_at <=
now``), oldest first, at most :data:`MAX_PER_RUN`, and for each one, as the notification sender
does (:mod:`triage.jobs.notify`):

1. **claims** it with a lease (``UPDATE … SET claimed_until = now + lease WHERE … pending AND
   (claimed_until IS NULL OR claimed_until < now)``); only the sender whose update changed the
   row goes on, and a sender that dies leaves a lease that runs out;
2. **delivers** it *outside* any database transaction: POST of the transaction Bundle to
   ``DHO_FHIR_JOURNAL_URL`` with ``application/fhir+json`` and, with
   ``DHO_FHIR_JOURNAL_TOKEN_FILE``, a bearer token (:mod:`triage.journal.sender`); success is a
   transaction-response whose every entry is 2xx;
3. **records** the attempt (:class:`~triage.storage.models.JournalAttemptRow`: ok, HTTP status,
   the answer cut, duration) and the outcome in one transaction: ``sent`` with the server's
   answer in short and an audit row (actor ``system:journal``, action ``journal_delivered``);
   or, after a failure, the next try at ``now + min(base · 2^(attempts-1), max)``
   (``DHO_FHIR_JOURNAL_RETRY_BASE_S``, ``_RETRY_MAX_S``); or, at
   ``DHO_FHIR_JOURNAL_MAX_ATTEMPTS``, ``dead``: an ERROR log line, an audit row
   (``journal_dead``) and a yellow technical alert ``journal_undelivered`` on the patient, on
   the worklist of the patient's centre
   (:func:`triage.domain.undelivered.journal_undelivered_finding`).

At-least-once: a delivery whose answer is lost (a timeout after the server committed) is sent
again; each resource's conditional create (``ifNoneExist`` on its identifier) makes the
receiver answer "200 OK" for what it already holds, so nothing is created twice. Attempt times
are the run's ``now``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.undelivered import journal_undelivered_finding
from triage.jobs.common import (
    apply_findings,
    claim_outbox_row,
    doubling_delay,
    due_outbox_ids,
)
from triage.jobs.runs import JobResult, Tally, require_aware, run_job, summarise, work_transaction
from triage.journal.sender import Delivery, TokenUnreadableError, deliver, read_token
from triage.journal.writer import DEAD, PENDING, SENT
from triage.storage.models import AuditRow, JournalAttemptRow, JournalEntryRow

log = logging.getLogger(__name__)

JOB = "journal"
ACTOR = "system:journal"
#: Bundles one run takes at most; the rest are taken by the next run.
MAX_PER_RUN = 50


def lease_for(settings: Settings) -> timedelta:
    """How long a claim holds: two attempts' worth of the timeout, plus half a minute."""
    return timedelta(seconds=2 * settings.fhir_journal_timeout_s + 30)


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base · 2^(attempts-1), at most max."""
    return doubling_delay(
        settings.fhir_journal_retry_base_s, settings.fhir_journal_retry_max_s, attempts
    )


@dataclass(frozen=True)
class Outgoing:
    """One claimed Bundle, ready to deliver."""

    id: str
    alert_id: str
    patient_id: str
    bundle: dict[str, Any]
    lease_until: datetime


def send_journal(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> JobResult:
    """One run of the journal sender at ``now`` (aware); recorded in JobRunRow. With the journal
    off (no ``DHO_FHIR_JOURNAL_URL``) a run sends nothing (and says so in its detail)."""
    now = require_aware(now)
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    def body(tally: Tally) -> None:
        url = settings.fhir_journal_url
        if url is None:
            tally.counts.update(journal_off=1)
            return
        with sessions() as session:
            due = due_ids(session, now)
        for entry_id in due:
            try:
                outcome = send_one(sessions, settings, url, entry_id, now, clock)
            except Exception as error:
                log.exception(
                    "job item failed",
                    extra={
                        "job": JOB,
                        "item_type": "journal_outbox",
                        "item": f"journal entry {entry_id}",
                        "error": summarise(error),
                    },
                )
                tally.failed(f"journal entry {entry_id}", error)
                continue
            tally.processed += 1
            tally.counts.update(outcome)

    return run_job(JOB, sessions, now, body)


def due_ids(session: Session, now: datetime, limit: int = MAX_PER_RUN) -> list[str]:
    """Pending Bundles due at ``now`` and not claimed by another sender, oldest first."""
    return due_outbox_ids(session, JournalEntryRow, PENDING, now, limit)


def send_one(
    sessions: sessionmaker[Session],
    settings: Settings,
    url: str,
    entry_id: str,
    now: datetime,
    clock: Callable[[], datetime],
) -> Counter[str]:
    """Claim, deliver and record one Bundle; returns what happened."""
    claimed_at = clock()
    lease_until = claimed_at + lease_for(settings)
    with sessions.begin() as session:
        if not claim_outbox_row(
            session, JournalEntryRow, entry_id, PENDING, now, claimed_at, lease_until
        ):
            return Counter(claimed_elsewhere=1)
        row = session.get(JournalEntryRow, entry_id)
        if row is None:  # pragma: no cover - claimed a moment ago in this transaction
            return Counter(claimed_elsewhere=1)
        outgoing = Outgoing(row.id, row.alert_id, row.patient_id, dict(row.bundle), lease_until)
    try:
        token = read_token(settings.fhir_journal_token_file)
    except TokenUnreadableError as error:
        delivery = Delivery(ok=False, http_status=None, answer=str(error), duration_ms=0)
    else:
        delivery = deliver(
            url, outgoing.bundle, token=token, timeout_s=settings.fhir_journal_timeout_s
        )
    return _record(sessions, settings, outgoing, delivery, now)


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    outgoing: Outgoing,
    delivery: Delivery,
    now: datetime,
) -> Counter[str]:
    """The attempt, and the Bundle's next state, in one transaction."""
    with work_transaction(sessions) as session:
        session.add(
            JournalAttemptRow(
                entry_id=outgoing.id,
                at=now,
                ok=delivery.ok,
                http_status=delivery.http_status,
                answer=delivery.answer,
                duration_ms=delivery.duration_ms,
            )
        )
        row = session.get(JournalEntryRow, outgoing.id, with_for_update=True)
        if row is None or row.status != PENDING or row.claimed_until != outgoing.lease_until:
            log.warning(
                "journal lease lost during delivery",
                extra={"journal_entry_id": outgoing.id, "ok": delivery.ok},
            )
            return Counter(lease_lost=1)
        row.attempts += 1
        row.claimed_until = None
        if delivery.ok:
            row.status = SENT
            row.sent_at = now
            row.last_error = None
            row.answer = delivery.summary
            _audit(session, row, now, "journal_delivered", delivery)
            return Counter(sent=1)
        row.last_error = delivery.answer
        if row.attempts < settings.fhir_journal_max_attempts:
            row.due_at = now + retry_delay(settings, row.attempts)
            return Counter(failed_will_retry=1)
        row.status = DEAD
        row.dead_at = now
        log.error(
            "journal entry dead: not accepted after the last attempt",
            extra={
                "journal_entry_id": row.id,
                "alert_id": row.alert_id,
                "attempts": row.attempts,
                "http_status": delivery.http_status,
                "last_answer": delivery.answer[:300],
            },
        )
        _audit(session, row, now, "journal_dead", delivery)
        done = Counter(dead=1)
        done.update(_undelivered_alert(session, row, now))
        return done


def _audit(
    session: Session, row: JournalEntryRow, now: datetime, action: str, delivery: Delivery
) -> None:
    details: dict[str, Any] = {
        "alert_id": row.alert_id,
        "attempts": row.attempts,
        "http_status": delivery.http_status,
    }
    if delivery.summary is not None:
        details["entries"] = delivery.summary.get("entries", [])
    else:
        details["last_error"] = delivery.answer[:500]
    session.add(
        AuditRow(
            at=now,
            actor=ACTOR,
            action=action,
            object_type="journal_entry",
            object_id=row.id,
            patient_id=row.patient_id,
            reason="journal write-back of a resolved alert",
            details=details,
            outcome="allowed",
        )
    )


def _undelivered_alert(session: Session, row: JournalEntryRow, now: datetime) -> Counter[str]:
    """Open (or add to) the patient's ``journal_undelivered`` technical alert."""
    finding = journal_undelivered_finding(row.attempts, now)
    for _ in range(2):  # a second sender may open the same patient's alert at the same moment
        try:
            with session.begin_nested():
                return apply_findings(session, row.patient_id, [finding], _never_known)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not open the journal alert of patient {row.patient_id}")


def _never_known(*_: object) -> bool:
    """Every dead Bundle is a breach of its own (the alert counts them)."""
    return False
