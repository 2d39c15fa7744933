"""Publishing ``dho.tablet/1``: the tablet outbox drained, each patient's state built from the
database and published retained (QoS 1) on ``dho/v1/{gateway_id}/tablet`` for each of the
patient's active gateways.

Whatever changes what a tablet shows (a plan approved, the centre's hours or phone changed, a
message sent or read, a call request made or handled) writes a ``tablet_outbox`` row in its own
transaction (:func:`triage.storage.repositories.request_tablet_publish`), whether it happens in
the API process (which has no broker login) or in ingest. Each MQTT ingest worker, which has a
broker connection and a login that may write ``dho/v1/+/tablet``, runs a :class:`TabletPublisher`:
every ``tablet_publish_interval_s`` it builds the state of every patient with an outbox row and
publishes it, and deletes those rows (up to the last one it read) only after the broker
acknowledged every publish. At start, and again every 24 hours (the staffed-hours list moves
on), it publishes every active gateway's state. Several workers may publish the same state:
it is retained and whole, so the last one wins and nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from triage.ingest.pipeline import topic_for
from triage.ingest.tablet import (
    CALLS_HANDLED_WITHIN,
    MESSAGES_READ_WITHIN,
    CallFacts,
    CentreFacts,
    MessageFacts,
    TabletState,
    build_tablet_state,
)
from triage.storage import repositories
from triage.storage.models import (
    CallRequestRow,
    CentreRow,
    GatewayRow,
    PatientMessageRow,
    PatientRow,
    TabletOutboxRow,
    UserRow,
)

log = logging.getLogger(__name__)

#: Every active gateway's state is published again this often (and at start).
FULL_EVERY = timedelta(hours=24)
#: At most this many patients per drain (the rest wait for the next round).
DRAIN_LIMIT = 500
#: How long to wait for the broker to acknowledge the round's publishes.
PUBLISH_TIMEOUT_S = 30.0

#: ``publish(topic, payload)`` → something with ``wait_for_publish(timeout)`` and ``rc`` (paho's
#: MQTTMessageInfo), publishing retained at QoS 1.
Publish = Callable[[str, bytes], Any]


def tablet_topic(gateway_id: str) -> str:
    """``dho/v1/{gateway_id}/tablet``."""
    return topic_for(gateway_id, "tablet")


def tablet_states(
    session: Session, patient_ids: Iterable[str] | None, now: datetime
) -> list[TabletState]:
    """The state of each active gateway (registered, not revoked, bound to a patient who is
    not discharged) of ``patient_ids`` (None: of every patient)."""
    query = (
        select(GatewayRow.id, PatientRow, CentreRow)
        .join(PatientRow, PatientRow.id == GatewayRow.patient_id)
        .join(CentreRow, CentreRow.id == PatientRow.centre_id)
        .where(GatewayRow.revoked_at.is_(None), PatientRow.state != "discharged")
        .order_by(GatewayRow.id)
    )
    if patient_ids is not None:
        wanted = set(patient_ids)
        if not wanted:
            return []
        query = query.where(repositories.among(session, PatientRow.id, wanted))
    rows = session.execute(query).all()
    ids = {patient.id for _, patient, _ in rows}
    plans = repositories.active_plans(session, ids)
    messages = _messages(session, ids, now)
    calls = _calls(session, ids, now)
    states = []
    for gateway_id, patient, centre in rows:
        try:
            calendar = repositories.centre_calendar(centre)
        except ValueError:
            log.exception(
                "centre calendar invalid; tablet not published", extra={"centre": centre.id}
            )
            continue
        states.append(
            build_tablet_state(
                gateway_id=gateway_id,
                now=now,
                timezone=patient.timezone,
                patient_name=patient.display_name,
                centre=CentreFacts(name=centre.name, phone=centre.phone, calendar=calendar),
                plan=plans.get(patient.id),
                messages=messages.get(patient.id, []),
                calls=calls.get(patient.id, []),
            )
        )
    return states


def _messages(session: Session, ids: set[str], now: datetime) -> dict[str, list[MessageFacts]]:
    """The messages the tablet may show (unread, or read within the window): the builder
    picks the newest of these."""
    if not ids:
        return {}
    rows = session.execute(
        select(PatientMessageRow, UserRow.display_name)
        .join(UserRow, UserRow.id == PatientMessageRow.sent_by)
        .where(
            repositories.among(session, PatientMessageRow.patient_id, ids),
            PatientMessageRow.read_at.is_(None)
            | (PatientMessageRow.read_at >= now - MESSAGES_READ_WITHIN),
        )
    )
    found: dict[str, list[MessageFacts]] = {}
    for row, sender in rows:
        found.setdefault(row.patient_id, []).append(
            MessageFacts(row.id, row.sent_at, sender, row.text, row.read_at)
        )
    return found


def _calls(session: Session, ids: set[str], now: datetime) -> dict[str, list[CallFacts]]:
    """The call requests the tablet may show (open, or handled within the window)."""
    if not ids:
        return {}
    handler = aliased(UserRow)
    rows = session.execute(
        select(CallRequestRow, handler.display_name)
        .outerjoin(handler, handler.id == CallRequestRow.handled_by)
        .where(
            repositories.among(session, CallRequestRow.patient_id, ids),
            CallRequestRow.handled_at.is_(None)
            | (CallRequestRow.handled_at >= now - CALLS_HANDLED_WITHIN),
        )
    )
    found: dict[str, list[CallFacts]] = {}
    for row, handled_by in rows:
        found.setdefault(row.patient_id, []).append(
            CallFacts(row.id, row.asked_at, row.handled_at, handled_by)
        )
    return found


@dataclass
class TabletPublisher:
    """Drains the tablet outbox and publishes (see the module). Not thread-safe: one thread
    calls :meth:`run_once`."""

    sessions: sessionmaker[Session]
    publish: Publish
    topic_prefix: str = ""
    last_full: datetime | None = None

    def run_once(self, now: datetime) -> int:
        """One round: every active gateway when a full round is due, else the patients with
        outbox rows. Returns how many states were published (acknowledged by the broker)."""
        full = self.last_full is None or now - self.last_full >= FULL_EVERY
        with self.sessions() as session:
            pending = session.execute(
                select(TabletOutboxRow.patient_id, func.max(TabletOutboxRow.id))
                .group_by(TabletOutboxRow.patient_id)
                .limit(DRAIN_LIMIT)
            ).all()
            if not full and not pending:
                return 0
            states = tablet_states(session, None if full else [p for p, _ in pending], now)
        infos = [
            self.publish(f"{self.topic_prefix}{tablet_topic(state.gateway_id)}", state.to_json())
            for state in states
        ]
        for info in infos:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            if not info.is_published():
                log.warning("tablet state not acknowledged by the broker; will try again")
                return 0
        if pending:
            with self.sessions.begin() as session:
                for patient_id, last_id in pending:
                    session.execute(
                        delete(TabletOutboxRow).where(
                            TabletOutboxRow.patient_id == patient_id,
                            TabletOutboxRow.id <= last_id,
                        )
                    )
        if full:
            self.last_full = now
        if states:
            log.info("tablet states published", extra={"count": len(states), "full": full})
        return len(states)
