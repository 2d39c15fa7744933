"""The notification sender: delivers the outbox (``notifications``) at least once, with retries.

Every ``notify_interval_s`` (20 s) one run takes the due ``pending`` rows (``due_at <= now``),
oldest first, at most :data:`MAX_PER_RUN`, and for each one:

1. **claims** it with a lease: ``UPDATE … SET claimed_until = now + lease WHERE id = :id AND
   status = 'pending' AND (claimed_until IS NULL OR claimed_until < now)``. Only the sender
   whose update changed the row goes on (several senders — processes, schedulers — are safe on
   SQLite and PostgreSQL alike). The lease (:func:`lease_for`) outlasts one attempt; a sender
   that dies mid-way leaves a lease that simply runs out, and the row is tried again.
2. **cancels** an escalation message whose alert is no longer OPEN (a nurse acknowledged or
   resolved it) or whose alert already has a received message (someone confirmed the receipt
   link): status ``cancelled``, never sent.
3. **resolves the URL**: the target's current ``url`` (escalation and test messages); for a GP
   digest, :func:`~triage.notify.channel.digest_url` of ``DHO_NOTIFY_EMAIL_URL`` and the
   GP's ``digest_email``. No target, an inactive target, an unusable URL or a digest with
   nowhere to go is a failed attempt with that answer (it never breaks the run).
4. **delivers** it through Apprise (:func:`triage.notify.channel.deliver`) *outside* any
   database transaction, so a slow provider holds no lock;
5. **records** the attempt (:class:`~triage.storage.models.NotificationAttemptRow`: ok, the
   provider's answer, duration) and the outcome: ``sent``; or, after a failure, the next try at
   ``now + min(base · 2^(attempts-1), max)`` (``notify_retry_base_s``, ``notify_retry_max_s``);
   or, at ``notify_max_attempts``, ``dead``: an ERROR log line (the masked URL, never the body)
   and, for an escalation message, a red technical alert ``notification_undelivered`` on the
   patient ("… ring mottakeren", :mod:`triage.domain.undelivered`) so that the centre phones
   the receiver.

The escalation chain does not wait for delivery: its next step is due on time whatever
happened to this one (:mod:`triage.jobs.escalation`). Attempt times are the run's ``now``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import AlertState
from triage.domain.notification import NotificationKind, NotificationStatus
from triage.domain.undelivered import undelivered_finding
from triage.jobs.common import (
    apply_findings,
    claim_outbox_row,
    doubling_delay,
    due_outbox_ids,
)
from triage.jobs.runs import JobResult, Tally, require_aware, run_job, summarise, work_transaction
from triage.notify.channel import (
    Delivery,
    UnusableUrlError,
    check_url,
    deliver,
    digest_url,
    masked_url,
)
from triage.storage.models import (
    AlertRow,
    NotificationAttemptRow,
    NotificationRow,
    NotificationTargetRow,
    UserRow,
)

log = logging.getLogger(__name__)

JOB = "notify"
#: Notifications one run takes at most; the rest are taken by the next run.
MAX_PER_RUN = 100


def lease_for(settings: Settings) -> timedelta:
    """How long a claim holds: two attempts' worth of the send timeout, plus half a minute."""
    return timedelta(seconds=2 * settings.notify_send_timeout_s + 30)


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base · 2^(attempts-1), at most max."""
    return doubling_delay(settings.notify_retry_base_s, settings.notify_retry_max_s, attempts)


@dataclass(frozen=True)
class Outgoing:
    """One claimed notification, ready to deliver (``url``) or failing with ``problem``."""

    id: str
    kind: str
    recipient: str
    title: str
    body: str
    url: str | None
    problem: str | None
    lease_until: datetime


def send_notifications(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the sender at ``now`` (aware); recorded in JobRunRow."""
    now = require_aware(now)
    started = time.monotonic()

    def clock() -> datetime:
        # the run's ``now`` moved on by the time the run has taken: leases stay true in a
        # long run (a slow provider) without reading the wall clock
        return now + timedelta(seconds=time.monotonic() - started)

    def body(tally: Tally) -> None:
        with sessions() as session:
            due = due_ids(session, now)
        for notification_id in due:
            try:
                outcome = send_one(sessions, settings, notification_id, now, clock)
            except Exception as error:
                log.exception(
                    "job item failed",
                    extra={
                        "job": JOB,
                        "item_type": "notifications",
                        "item": f"notification {notification_id}",
                        "error": summarise(error),
                    },
                )
                tally.failed(f"notification {notification_id}", error)
                continue
            tally.processed += 1
            tally.counts.update(outcome)

    return run_job(JOB, sessions, now, body)


def due_ids(session: Session, now: datetime, limit: int = MAX_PER_RUN) -> list[str]:
    """Pending notifications due at ``now`` and not claimed by another sender, oldest first."""
    return due_outbox_ids(session, NotificationRow, NotificationStatus.PENDING.value, now, limit)


def send_one(
    sessions: sessionmaker[Session],
    settings: Settings,
    notification_id: str,
    now: datetime,
    clock: Callable[[], datetime],
) -> Counter[str]:
    """Claim, check, deliver and record one notification; returns what happened."""
    claimed_at = clock()
    lease_until = claimed_at + lease_for(settings)
    with sessions.begin() as session:
        if not claim_outbox_row(
            session,
            NotificationRow,
            notification_id,
            NotificationStatus.PENDING.value,
            now,
            claimed_at,
            lease_until,
        ):
            return Counter(claimed_elsewhere=1)
        row = session.get(NotificationRow, notification_id)
        if row is None:  # pragma: no cover - claimed a moment ago in this transaction
            return Counter(claimed_elsewhere=1)
        stale = _stale_escalation(session, row)
        if stale is not None:
            row.status = NotificationStatus.CANCELLED.value
            row.cancelled_at = now
            row.claimed_until = None
            log.info(
                "notification cancelled",
                extra={"notification_id": row.id, "alert_id": row.alert_id, "why": stale},
            )
            return Counter(cancelled=1)
        outgoing = _prepare(session, settings, row, lease_until)
    if outgoing.url is None:
        delivery = Delivery(ok=False, answer=outgoing.problem or "not sent", duration_ms=0)
    else:
        delivery = deliver(
            outgoing.url, outgoing.title, outgoing.body, timeout_s=settings.notify_send_timeout_s
        )
    return _record(sessions, settings, outgoing, delivery, now)


def _stale_escalation(session: Session, row: NotificationRow) -> str | None:
    """Why an escalation message must not be sent any more, or None to send it."""
    if row.kind != NotificationKind.ESCALATION.value:
        return None
    alert = session.get(AlertRow, row.alert_id) if row.alert_id is not None else None
    if alert is None:
        return "the alert is gone"
    if alert.state != AlertState.OPEN.value:
        return f"the alert is {alert.state}"
    received = session.scalar(
        select(NotificationRow.id)
        .where(NotificationRow.alert_id == row.alert_id, NotificationRow.received_at.is_not(None))
        .limit(1)
    )
    if received is not None:
        return "a message about the alert was received"
    return None


def _prepare(
    session: Session, settings: Settings, row: NotificationRow, lease_until: datetime
) -> Outgoing:
    url, problem = _resolve_url(session, settings, row)
    if url is not None:
        try:
            check_url(url)
        except UnusableUrlError as error:
            problem = f"unusable URL ({masked_url(url)}): {error}"
            url = None
    return Outgoing(
        id=row.id,
        kind=row.kind,
        recipient=row.recipient,
        title=row.title,
        body=row.body,
        url=url,
        problem=problem,
        lease_until=lease_until,
    )


def _resolve_url(
    session: Session, settings: Settings, row: NotificationRow
) -> tuple[str | None, str | None]:
    """(the URL to deliver to, None) or (None, why there is none)."""
    if row.kind == NotificationKind.GP_DIGEST.value:
        if not settings.notify_email_url:
            return None, "e-mail sending is not configured (DHO_NOTIFY_EMAIL_URL is unset)"
        user = session.get(UserRow, row.user_id) if row.user_id is not None else None
        if user is None:
            return None, "the GP of this digest is gone"
        if not user.digest_email:
            return None, "the GP has no digest e-mail address"
        return digest_url(settings.notify_email_url, user.digest_email), None
    target = session.get(NotificationTargetRow, row.target_id) if row.target_id else None
    if target is None:
        return None, "no receiver: the notification target is gone"
    if not target.active:
        return None, f"the receiver {target.label!r} has been deactivated"
    return target.url, None


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    outgoing: Outgoing,
    delivery: Delivery,
    now: datetime,
) -> Counter[str]:
    """The attempt, and the notification's next state, in one transaction."""
    with work_transaction(sessions) as session:
        session.add(
            NotificationAttemptRow(
                notification_id=outgoing.id,
                at=now,
                ok=delivery.ok,
                answer=delivery.answer,
                duration_ms=delivery.duration_ms,
            )
        )
        row = session.get(NotificationRow, outgoing.id, with_for_update=True)
        if (
            row is None
            or row.status != NotificationStatus.PENDING.value
            or row.claimed_until != outgoing.lease_until
        ):
            # our lease ran out and another sender took the row over: the attempt is kept,
            # the row is theirs
            log.warning(
                "notification lease lost during delivery",
                extra={"notification_id": outgoing.id, "ok": delivery.ok},
            )
            return Counter(lease_lost=1)
        row.attempts += 1
        row.claimed_until = None
        if delivery.ok:
            row.status = NotificationStatus.SENT.value
            row.sent_at = now
            row.last_error = None
            return Counter(sent=1)
        row.last_error = delivery.answer
        if row.attempts < settings.notify_max_attempts:
            row.due_at = now + retry_delay(settings, row.attempts)
            return Counter(failed_will_retry=1)
        row.status = NotificationStatus.DEAD.value
        row.dead_at = now
        url = _url_for_log(session, settings, row)
        log.error(
            "notification dead: not delivered after the last attempt",
            extra={
                "notification_id": row.id,
                "kind": row.kind,
                "recipient": row.recipient,
                "channel": row.channel,
                "url": url,
                "attempts": row.attempts,
                "last_answer": delivery.answer[:300],
            },
        )
        done = Counter(dead=1)
        if row.kind == NotificationKind.ESCALATION.value and row.alert_id is not None:
            done.update(_undelivered_alert(session, row, now))
        return done


def _url_for_log(session: Session, settings: Settings, row: NotificationRow) -> str:
    if row.kind == NotificationKind.GP_DIGEST.value:
        return masked_url(settings.notify_email_url) if settings.notify_email_url else "(none)"
    target = session.get(NotificationTargetRow, row.target_id) if row.target_id else None
    return masked_url(target.url) if target is not None else "(no target)"


def _undelivered_alert(session: Session, row: NotificationRow, now: datetime) -> Counter[str]:
    """Open (or add to) the patient's ``notification_undelivered`` technical alert."""
    alert = session.get(AlertRow, row.alert_id)
    if alert is None:
        return Counter(undelivered_no_alert=1)
    finding = undelivered_finding(row.recipient, row.attempts, now)
    for _ in range(2):  # a second sender may open the same patient's alert at the same moment
        try:
            with session.begin_nested():
                return apply_findings(session, alert.patient_id, [finding], _never_known)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not open the undelivered alert of patient {alert.patient_id}")


def _never_known(*_: object) -> bool:
    """Every dead message is a breach of its own (the alert counts them)."""
    return False
