"""Lost contact: a patient's home gateway(s) silent for ``lost_contact_after_h`` hours or more.

:func:`check_lost_contact` looks at every followed-up patient (trial, active, and paused ones
after ``paused_until``; never discharged) with at least one registered, unrevoked gateway. The
patient is in contact when *any* of their gateways was heard: the silence runs from the latest
``last_seen_at`` among them, or — for gateways never heard — from their registration, and never
from before the patient was enrolled, activated or resumed. The domain
(:func:`triage.domain.lost_contact.lost_contact_finding`) turns the silence into a yellow
*technical* finding (rule ``lost_contact``), which opens one technical alert per patient; a
technical alert never changes the patient's clinical colour. When a gateway is heard again the
alert is marked back in range (a person resolves it). While the silence goes on, the open alert
is left as it is (no new breach every run).

``last_seen_at`` is kept by the ingest path: a status message sets it exactly; readings and
reports move it once per gateway and batch, and only when it is more than a minute old
(``triage.ingest.sql.LAST_SEEN_GRANULARITY``: one row update per gateway per minute instead of
per message), so it may lag the newest reading by up to a minute — nothing against silences
counted in hours. This job only reads it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import Alert
from triage.domain.findings import Finding
from triage.domain.lost_contact import lost_contact_finding
from triage.jobs.common import apply_findings, followed_patient_ids, followed_since
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.storage.models import GatewayRow, PatientRow

JOB = "lost_contact"


def check_lost_contact(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the lost-contact check at ``now`` (aware); recorded in JobRunRow."""
    now = require_aware(now)
    after = timedelta(hours=settings.lost_contact_after_h)

    def body(tally: Tally) -> None:
        with sessions() as session:
            patient_ids = followed_patient_ids(session)
        each_in_savepoint(
            sessions,
            patient_ids,
            tally,
            lambda session, patient_id: check_patient(session, patient_id, now, after),
            describe=lambda patient_id: f"patient {patient_id}",
            what="patients",
        )

    return run_job(JOB, sessions, now, body)


def check_patient(
    session: Session, patient_id: str, now: datetime, after: timedelta
) -> Counter[str]:
    """The lost-contact finding for one patient, applied to their alerts."""
    patient = session.get(PatientRow, patient_id)
    if patient is None:
        return Counter(skipped_gone=1)
    floor = followed_since(patient, now)
    if floor is None:
        return Counter(skipped_not_followed=1)
    gateways = list(
        session.scalars(
            select(GatewayRow).where(
                GatewayRow.patient_id == patient_id, GatewayRow.revoked_at.is_(None)
            )
        )
    )
    if not gateways:
        return Counter(skipped_no_gateway=1)
    heard = [g.last_seen_at for g in gateways if g.last_seen_at is not None]
    registered = [g.created_at for g in gateways if g.last_seen_at is None]
    last_seen = max(heard, default=None)
    if last_seen is not None and last_seen >= max([floor, *registered]):
        finding = lost_contact_finding(last_seen, last_seen, now, after, patient.timezone)
    else:
        since = max([floor, *registered, *heard])
        finding = lost_contact_finding(None, since, now, after, patient.timezone)
    done = apply_findings(session, patient_id, [finding], _still_silent)
    done["checked"] += 1
    return done


def _still_silent(alert: Alert, finding: Finding) -> bool:
    """The open alert already records this silence (it was not heard from since)."""
    del finding
    return alert.back_in_range_at is None
