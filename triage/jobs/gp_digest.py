"""GP digests: one e-mail per period with the counts of a GP's patients' non-acute deviations.

:func:`write_gp_digests` runs every 15 minutes. For every active GP who chose a digest
(``digest_frequency`` daily or weekly) it asks the domain (:mod:`triage.domain.gp_digest`) which
period is due at ``now`` (daily: 07:00 Europe/Oslo for the previous day; weekly: Monday 07:00
for the previous week), counts the deviations of the GP's own patients opened in it and, when
there is at least one, writes **one** :class:`~triage.storage.models.NotificationRow` (kind
``gp_digest``) in the outbox. The sender job (``triage.jobs.notify``) delivers it to the GP's
``digest_email`` through the operator's ``DHO_NOTIFY_EMAIL_URL``.

**Idempotent.** The row's unique ``dedupe_key`` (GP, frequency, period start) decides: a period
already written is skipped (``already_written``), also when another scheduler wrote it at the
same moment. A run after downtime writes the latest due period (not the ones missed before).

**Nothing written, and counted so an operator sees why** (``job_runs.detail``):
``not_configured`` (``DHO_NOTIFY_EMAIL_URL`` unset: per GP who chose a digest),
``no_email`` (the GP gave no address), ``nothing_to_report`` (zero deviations: no message).
Nothing acute ever goes to the GP: an unhandled red alert is the centre's work and is not
counted (see the domain).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour
from triage.domain.gp_digest import (
    AlertFact,
    DigestPeriod,
    count_deviations,
    digest_key,
    digest_message,
    due_period,
)
from triage.domain.notification import DigestFrequency, NotificationKind
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.notify.channel import scheme_of
from triage.storage import repositories
from triage.storage.models import AlertRow, NotificationRow, PatientRow, UserRow

JOB = "gp_digest"

log = logging.getLogger(__name__)

_CHOSEN = (DigestFrequency.DAILY.value, DigestFrequency.WEEKLY.value)


def write_gp_digests(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the GP digests at ``now`` (aware); recorded in JobRunRow."""
    now = require_aware(now)
    email_url = settings.notify_email_url

    def body(tally: Tally) -> None:
        with sessions() as session:
            gp_ids = list(
                session.scalars(
                    select(UserRow.id)
                    .where(
                        UserRow.role == "gp",
                        UserRow.active.is_(True),
                        UserRow.digest_frequency.in_(_CHOSEN),
                    )
                    .order_by(UserRow.id)
                )
            )
        if not email_url:
            # counted even when zero, so job_runs always says why no digest went out
            tally.counts["not_configured"] += len(gp_ids)
            if gp_ids:
                log.warning(
                    "GP digests chosen but DHO_NOTIFY_EMAIL_URL is not set: none written",
                    extra={"job": JOB, "gps": len(gp_ids)},
                )
            return
        channel = scheme_of(email_url)
        each_in_savepoint(
            sessions,
            gp_ids,
            tally,
            lambda session, gp_id: write_digest(session, gp_id, now, settings, channel),
            describe=lambda gp_id: f"gp {gp_id}",
            what="gps",
        )

    return run_job(JOB, sessions, now, body)


def write_digest(
    session: Session, gp_id: str, now: datetime, settings: Settings, channel: str
) -> Counter[str]:
    """The due digest of one GP, written to the outbox unless written before or empty."""
    gp = session.get(UserRow, gp_id)
    if gp is None or not gp.active or gp.digest_frequency not in _CHOSEN:
        return Counter(skipped_changed=1)
    if not (gp.digest_email or "").strip():
        return Counter(no_email=1)
    period = due_period(DigestFrequency(gp.digest_frequency), now)
    if period is None:
        return Counter(skipped_changed=1)
    key = digest_key(gp.id, period)
    if session.scalar(select(NotificationRow.id).where(NotificationRow.dedupe_key == key)):
        return Counter(already_written=1)
    counts = count_deviations(_alert_facts(session, gp.id, period), gp.id, period)
    if counts.total == 0:
        return Counter(nothing_to_report=1)
    title, text = digest_message(counts, period, now, settings.dashboard_public_url)
    row = repositories.pending_notification(
        NotificationKind.GP_DIGEST, key, gp.display_name, channel, title, text, now, user_id=gp.id
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        log.info("digest already written by another run", extra={"job": JOB, "user_id": gp.id})
        return Counter(already_written=1)
    return Counter(digests_written=1)


def _alert_facts(session: Session, gp_id: str, period: DigestPeriod) -> list[AlertFact]:
    rows = session.execute(
        select(
            AlertRow.patient_id,
            PatientRow.gp_user_id,
            AlertRow.category,
            AlertRow.rule_type,
            AlertRow.colour,
            AlertRow.state,
            AlertRow.opened_at,
        )
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            PatientRow.gp_user_id == gp_id,
            AlertRow.opened_at >= period.start,
            AlertRow.opened_at < period.end,
        )
    )
    return [
        AlertFact(
            patient_id=patient_id,
            gp_user_id=gp_user_id,
            category=AlertCategory(category),
            rule_type=rule_type,
            colour=Colour(colour),
            state=AlertState(state),
            opened_at=opened_at,
        )
        for patient_id, gp_user_id, category, rule_type, colour, state, opened_at in rows
    ]
