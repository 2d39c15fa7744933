"""The tablet publisher's rounds on SQLite and PostgreSQL: every active gateway at start and
once a day, otherwise only the patients in the tablet outbox, whose rows go only once the
broker acknowledged. (The broker itself is tested in tests/integration/api/test_tablet.py; here
the publish function records what would be sent and says whether the broker acknowledged.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.world import World
from triage.domain.plan import Condition
from triage.ingest.tablet_publisher import TabletPublisher
from triage.storage.models import GatewayRow, TabletOutboxRow
from triage.storage.repositories import request_tablet_publish


@dataclass
class _Acknowledged:
    published: bool

    def wait_for_publish(self, timeout: float) -> None:
        return None

    def is_published(self) -> bool:
        return self.published


@dataclass
class Broker:
    """What was published (topic → the state's JSON), and whether the broker acknowledges."""

    acknowledges: bool = True
    sent: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes) -> _Acknowledged:
        self.sent.append((topic, json.loads(payload)))
        return _Acknowledged(self.acknowledges)

    def topics(self) -> list[str]:
        topics = [t for t, _ in self.sent]
        self.sent.clear()
        return topics


def _outbox(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(TabletOutboxRow.patient_id)))


def test_every_gateway_at_start_and_daily_only_the_changed_ones_between(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The first round publishes every active gateway (not the unbound one); a round with an
    empty outbox publishes nothing; a patient in the outbox is published and its rows go;
    24 hours after the full round, every gateway again."""
    broker = Broker()
    publisher = TabletPublisher(sessions, broker.publish, "site/")
    everyone = sorted(f"site/dho/v1/{p.gateway_id}/tablet" for p in world.patients.values())
    assert publisher.run_once(NOW) == len(everyone)
    assert sorted(broker.topics()) == everyone

    assert publisher.run_once(NOW + timedelta(minutes=1)) == 0
    assert broker.topics() == []

    copd = world.patients[Condition.COPD]
    with sessions.begin() as session:
        request_tablet_publish(session, copd.id, "message_sent", NOW)
        request_tablet_publish(session, copd.id, "call_handled", NOW)
    assert publisher.run_once(NOW + timedelta(minutes=2)) == 1
    assert broker.topics() == [f"site/dho/v1/{copd.gateway_id}/tablet"]
    assert _outbox(sessions) == []

    assert publisher.run_once(NOW + timedelta(hours=24)) == len(everyone)
    assert sorted(broker.topics()) == everyone


def test_a_state_the_broker_did_not_acknowledge_is_published_again(
    sessions: sessionmaker[Session], world: World
) -> None:
    """While the broker does not acknowledge, the outbox rows stay and the next round tries
    again; a revoked gateway gets nothing."""
    broker = Broker()
    publisher = TabletPublisher(sessions, broker.publish)
    publisher.run_once(NOW)
    broker.topics()
    hf = world.patients[Condition.HEART_FAILURE]
    with sessions.begin() as session:
        request_tablet_publish(session, hf.id, "plan_approved", NOW)
    broker.acknowledges = False
    assert publisher.run_once(NOW + timedelta(minutes=1)) == 0
    assert _outbox(sessions) == [hf.id]
    broker.acknowledges = True
    assert publisher.run_once(NOW + timedelta(minutes=2)) == 1
    assert _outbox(sessions) == []
    broker.topics()

    with sessions.begin() as session:
        gateway = session.get(GatewayRow, hf.gateway_id)
        assert gateway is not None
        gateway.revoked_at = NOW
        request_tablet_publish(session, hf.id, "plan_approved", NOW)
    assert publisher.run_once(NOW + timedelta(minutes=3)) == 0
    assert broker.topics() == []
    assert _outbox(sessions) == []
