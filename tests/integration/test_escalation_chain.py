"""The escalation chain on SQLite and PostgreSQL: each step recorded once, with its outbox
messages, in one transaction; stepping while nobody acknowledges; stopping when someone does.

Every test calls the job with an explicit ``now``; nothing sleeps. Delivery is the sender's
(triage.jobs.notify): here the messages are only written.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_jobs import _add_target, _alerts, _escalations, _open_red
from tests.integration.world import World
from triage.api.queries.worklist import alert_summaries
from triage.config import Settings
from triage.domain.alerts import acknowledge
from triage.domain.plan import Condition
from triage.jobs import JobResult, escalate_red_alerts
from triage.jobs.escalation import NO_RECEIVER_RULE_ID
from triage.storage import repositories
from triage.storage.models import (
    AlertEventRow,
    AlertRow,
    CentreRow,
    EscalationRow,
    NotificationRow,
)
from triage.texts.findings import stored_reason

Sessions = sessionmaker[Session]
MINUTE = timedelta(minutes=1)
#: Friday 4 December 2026, 15:05 in Oslo (CET): five minutes after the centre closed.
FRIDAY_1505 = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
#: Monday 23 November 2026, 09:00 in Oslo: staffed.
MONDAY_0900 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ROLES = ("on_call_nurse", "second_nurse", "after_hours", "centre_lead")
LABELS = {
    "on_call_nurse": "Vakttelefon sykepleier",
    "second_nurse": "Sykepleier 2",
    "after_hours": "Legevakten i Testvik",
    "centre_lead": "Leder oppfølgingstjenesten",
    "fallback": "Sentralbordet",
}


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo=True,
        dashboard_public_url="https://dho.testvik.invalid",
        api_public_url="https://api.testvik.invalid",
    )


@pytest.fixture
def targets(sessions: Sessions, world: World) -> dict[str, str]:
    """One target per role of the chain (role → target id)."""
    return {role: _add_target(sessions, world, role, LABELS[role]) for role in ROLES}


def _notifications(sessions: Sessions, alert_id: str) -> list[NotificationRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(NotificationRow)
                .where(NotificationRow.alert_id == alert_id)
                .order_by(NotificationRow.created_at, NotificationRow.recipient)
            )
        )


def _events(sessions: Sessions, alert_id: str) -> list[AlertEventRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AlertEventRow)
                .where(AlertEventRow.alert_id == alert_id)
                .order_by(AlertEventRow.id)
            )
        )


def _alert(sessions: Sessions, alert_id: str) -> AlertRow:
    with sessions() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None
        return row


def _acknowledge(sessions: Sessions, alert_id: str, at: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None
        acked, event = acknowledge(repositories.alert_from_row(row), by="nurse-test", at=at)
        row.state, row.acknowledged_at, row.acknowledged_by = (
            acked.state.value,
            acked.acknowledged_at,
            acked.acknowledged_by,
        )
        repositories.save_alert_event(session, event)


def _run_every_minute(
    sessions: Sessions, settings: Settings, start: datetime, end: datetime
) -> list[JobResult]:
    results = []
    at = start
    while at <= end:
        results.append(escalate_red_alerts(sessions, settings, at))
        at += MINUTE
    return results


# ----------------------------------------------------------------------------- one step


def test_red_at_1505_on_friday_writes_the_step_its_message_and_the_alert_together(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Closed at 15:05 on a Friday: the after-hours service's message is in the outbox at once,
    with nothing about the patient, and the alert says where it went."""
    patient = world.patients[Condition.HYPERTENSION]
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    result = escalate_red_alerts(sessions, settings, FRIDAY_1505)
    assert (result.status, result.detail["escalated_after_hours"]) == ("ok", 1)

    [step] = _escalations(sessions)
    assert (step.alert_id, step.step, step.target) == (alert_id, 0, "after_hours")
    assert step.due_since == step.created_at == FRIDAY_1505
    [message] = _notifications(sessions, alert_id)
    assert message.dedupe_key == f"esc:{alert_id}:0:{targets['after_hours']}"
    assert (message.kind, message.status, message.attempts) == ("escalation", "pending", 0)
    assert message.due_at == message.created_at == FRIDAY_1505
    assert (message.recipient, message.channel) == ("Legevakten i Testvik", "mailto")
    assert (message.escalation_id, message.target_id) == (step.id, targets["after_hours"])
    assert message.centre_id == world.centre_id
    assert message.title == "DHO: rødt varsel venter"
    lines = message.body.splitlines()
    assert lines[0] == (
        "DHO: 1 rød varsling venter hos Oppfølgingstjenesten Testvik siden 15:05 — åpne DHO: "
        f"https://dho.testvik.invalid/?alert={alert_id}"
    )
    assert lines[-1].startswith("DHO: 1 red alert waiting at Oppfølgingstjenesten Testvik since")
    # the links carry random ids and tokens, which may hold any digits: look at the words
    words = re.sub(r"https://\S+", "<link>", message.body)
    for private in ("Testpasient", "192", "Systolisk", "T. H.", "Testvik kommune"):
        assert private not in words
    [token] = re.findall(
        r"https://api\.testvik\.invalid/api/v1/notifications/receipt/([A-Za-z0-9_-]+)",
        message.body,
    )
    assert message.receipt_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (message.receipt_token_hash or "")

    alert = _alert(sessions, alert_id)
    assert (alert.escalated_at, alert.escalated_to) == (FRIDAY_1505, "after_hours")
    escalated = [e for e in _events(sessions, alert_id) if e.event == "escalated"]
    assert len(escalated) == 1
    assert escalated[0].note == (
        "Eskalert til legevakt/hjemmesykepleien (trinn 1): Legevakten i Testvik / "
        "escalated to the after-hours service (step 1)"
    )
    assert patient.id == step.patient_id


def test_a_step_is_all_or_nothing(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """When one of the step's messages cannot be written (its dedupe key is taken), nothing of
    the step is: no escalation row, no message, the alert not marked; the run failed — and
    the next run tries again."""
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    _add_target(sessions, world, "after_hours", "Hjemmesykepleien natt")
    with sessions.begin() as session:
        session.add(
            NotificationRow(
                id=repositories.new_id(),
                kind="escalation",
                dedupe_key=f"esc:{alert_id}:0:{targets['after_hours']}",
                recipient="someone",
                channel="mailto",
                title="t",
                body="b",
                created_at=FRIDAY_1505,
                due_at=FRIDAY_1505,
                status="cancelled",
            )
        )
    failed = escalate_red_alerts(sessions, settings, FRIDAY_1505)
    assert (failed.status, failed.failures) == ("failed", 1)  # an operator sees it
    assert _escalations(sessions) == []
    assert _notifications(sessions, alert_id) == []
    assert _alert(sessions, alert_id).escalated_at is None
    assert [e.event for e in _events(sessions, alert_id)] == ["opened"]

    with sessions.begin() as session:
        session.execute(update(NotificationRow).values(dedupe_key="cleared-by-hand"))
    escalate_red_alerts(sessions, settings, FRIDAY_1505 + MINUTE)
    assert [e.target for e in _escalations(sessions)] == ["after_hours"]
    written = sorted(n.recipient for n in _notifications(sessions, alert_id) if n.escalation_id)
    assert written == ["Hjemmesykepleien natt", "Legevakten i Testvik"]


# ----------------------------------------------------------------------------- the chain


def test_the_chain_steps_while_nobody_acknowledges_and_ends_after_the_centre_lead(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """09:00 red, nobody acknowledges: nurse 09:30, second nurse 09:45, after-hours 10:00, centre
    lead 10:30 — one message each, then nothing more however long it waits."""
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, MONDAY_0900)
    _run_every_minute(sessions, settings, MONDAY_0900, MONDAY_0900 + timedelta(hours=2, minutes=30))
    steps = _escalations(sessions)
    assert [(s.step, s.target, s.created_at) for s in steps] == [
        (0, "on_call_nurse", MONDAY_0900 + 30 * MINUTE),
        (1, "second_nurse", MONDAY_0900 + 45 * MINUTE),
        (2, "after_hours", MONDAY_0900 + 60 * MINUTE),
        (3, "centre_lead", MONDAY_0900 + 90 * MINUTE),
    ]
    messages = _notifications(sessions, alert_id)
    assert [(m.recipient, m.created_at) for m in messages] == [
        (LABELS[s.target], s.created_at) for s in steps
    ]
    assert [m.escalation_id for m in messages] == [s.id for s in steps]
    assert len({m.receipt_token_hash for m in messages}) == 4
    alert = _alert(sessions, alert_id)
    assert (alert.escalated_at, alert.escalated_to) == (MONDAY_0900 + 30 * MINUTE, "centre_lead")
    events = [e.event for e in _events(sessions, alert_id)]
    assert events == ["opened"] + ["escalated"] * 4


def test_the_chain_stops_once_a_nurse_acknowledges(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, MONDAY_0900)
    _run_every_minute(sessions, settings, MONDAY_0900, MONDAY_0900 + 40 * MINUTE)
    _acknowledge(sessions, alert_id, MONDAY_0900 + 41 * MINUTE)
    _run_every_minute(
        sessions, settings, MONDAY_0900 + 42 * MINUTE, MONDAY_0900 + timedelta(hours=3)
    )
    assert [s.target for s in _escalations(sessions)] == ["on_call_nurse"]
    assert len(_notifications(sessions, alert_id)) == 1
    assert _alert(sessions, alert_id).state == "acknowledged"


def test_the_chain_stops_once_a_message_was_confirmed_received(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """The receipt link stops the chain, without acknowledging the alert."""
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    escalate_red_alerts(sessions, settings, FRIDAY_1505)
    with sessions.begin() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.alert_id == alert_id)
            .values(received_at=FRIDAY_1505 + 3 * MINUTE)
        )
    _run_every_minute(sessions, settings, FRIDAY_1505, FRIDAY_1505 + timedelta(hours=2))
    assert [s.target for s in _escalations(sessions)] == ["after_hours"]
    assert _alert(sessions, alert_id).state == "open"


def test_nurse_step_goes_to_after_hours_at_closing_time(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Red 14:20 Friday: on-call nurse 14:50; at 15:00 the centre closes and the after-hours
    service gets it then (not the second nurse at 15:05)."""
    opened = datetime(2026, 12, 4, 13, 20, tzinfo=UTC)
    _open_red(sessions, world, Condition.HYPERTENSION, opened)
    _run_every_minute(sessions, settings, opened, opened + 50 * MINUTE)
    assert [(s.target, s.created_at) for s in _escalations(sessions)] == [
        ("on_call_nurse", opened + 30 * MINUTE),
        ("after_hours", opened + 40 * MINUTE),
    ]


def test_a_step_in_the_dst_night_waits_thirty_real_minutes(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Easter night 2027, the clocks jump from 02:00 to 03:00: after-hours at 01:50 local, the
    centre lead 30 real minutes later, at 03:20 local."""
    opened = datetime(2027, 3, 28, 0, 50, tzinfo=UTC)
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, opened)
    _run_every_minute(sessions, settings, opened, opened + 45 * MINUTE)
    assert [(s.target, s.created_at) for s in _escalations(sessions)] == [
        ("after_hours", opened),
        ("centre_lead", opened + 30 * MINUTE),
    ]
    first, second = _notifications(sessions, alert_id)
    assert "siden 01:50 " in first.body
    assert "siden 01:50 " in second.body  # the red is from 01:50; sent at 03:20 local


# ----------------------------------------------------------------------------- receivers


def test_a_role_without_a_target_is_skipped_and_an_inactive_target_does_not_count(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    _add_target(sessions, world, "on_call_nurse", LABELS["on_call_nurse"], active=False)
    _add_target(sessions, world, "second_nurse", LABELS["second_nurse"])
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, MONDAY_0900)
    escalate_red_alerts(sessions, settings, MONDAY_0900 + 30 * MINUTE)
    [step] = _escalations(sessions)
    assert (step.step, step.target) == (0, "second_nurse")
    assert [m.recipient for m in _notifications(sessions, alert_id)] == ["Sykepleier 2"]


def test_fallback_receives_when_no_later_role_has_a_target(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    _add_target(sessions, world, "fallback", LABELS["fallback"])
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    escalate_red_alerts(sessions, settings, FRIDAY_1505)
    [step] = _escalations(sessions)
    assert step.target == "fallback"
    assert [m.recipient for m in _notifications(sessions, alert_id)] == ["Sentralbordet"]
    assert [a.rule_id for a in _alerts(sessions, world.patients[Condition.HYPERTENSION].id)] == [
        "threshold:systolic"
    ]


def test_nobody_configured_records_the_step_and_opens_a_technical_alert_once(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """No receiver at all: the step is recorded (fallback), no message is written, and a red
    technical alert says so on the worklist — once, however often the job runs."""
    patient_id = world.patients[Condition.HYPERTENSION].id
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    result = escalate_red_alerts(sessions, settings, FRIDAY_1505)
    assert result.detail["no_receiver"] == 1
    _run_every_minute(sessions, settings, FRIDAY_1505 + MINUTE, FRIDAY_1505 + 90 * MINUTE)
    [step] = _escalations(sessions)
    assert (step.step, step.target) == (0, "fallback")
    assert "Ingen mottaker" in step.reason["nb"]
    assert _notifications(sessions, alert_id) == []
    [technical] = [a for a in _alerts(sessions, patient_id) if a.rule_id == NO_RECEIVER_RULE_ID]
    assert (technical.category, technical.colour, technical.state) == ("technical", "red", "open")
    assert stored_reason(technical.reason, "nb") == (
        "Ingen mottaker for varsling er satt opp – rødt varsel er ikke sendt til noen"
    )
    with sessions() as session:
        entry = alert_summaries(session)[patient_id]
    assert (entry.colour.value, entry.open_alerts) == ("red", 2)
    assert entry.lost_contact is False  # a notification problem is not lost contact


# ----------------------------------------------------------------------------- detail level


def test_initials_and_municipality_only_to_the_secure_target_when_the_centre_allows(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    with sessions.begin() as session:
        centre = session.get(CentreRow, world.centre_id)
        assert centre is not None
        centre.escalation = {"detail": "initials_municipality"}
    _add_target(sessions, world, "after_hours", "Legevakten (Helsenett)", secure=True)
    _add_target(sessions, world, "after_hours", "Legevakten (SMS)")
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, FRIDAY_1505)
    escalate_red_alerts(sessions, settings, FRIDAY_1505)
    bodies = {m.recipient: m.body for m in _notifications(sessions, alert_id)}
    assert "Pasient: T. H., Testvik kommune" in bodies["Legevakten (Helsenett)"].splitlines()
    assert "T. H." not in bodies["Legevakten (SMS)"]
    assert "Testvik kommune" not in bodies["Legevakten (SMS)"]
    assert all("Testpasient" not in body for body in bodies.values())


# ----------------------------------------------------------------------------- race


def _race(sessions: Sessions, settings: Settings, at: datetime) -> list[JobResult]:
    """Two schedulers running the job at the same moment ``at``."""
    barrier = threading.Barrier(2)
    results: list[JobResult] = []

    def scheduler() -> None:
        barrier.wait(timeout=30)
        results.append(escalate_red_alerts(sessions, settings, at))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_schedulers_racing_record_each_step_once(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Two service instances run at the same moments: each step, its message and its event
    are there once."""
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, MONDAY_0900)
    for at in (MONDAY_0900 + 30 * MINUTE, MONDAY_0900 + 45 * MINUTE, MONDAY_0900 + 60 * MINUTE):
        results = _race(sessions, settings, at)
        assert [r.status for r in results] == ["ok", "ok"]
        recorded = sum(
            v for r in results for k, v in r.detail.items() if k.startswith("escalated_")
        )
        assert recorded == 1
    assert [s.target for s in _escalations(sessions)] == [
        "on_call_nurse",
        "second_nurse",
        "after_hours",
    ]
    assert len(_notifications(sessions, alert_id)) == 3
    with sessions() as session:
        rows = session.scalars(select(EscalationRow.step).where(EscalationRow.alert_id == alert_id))
        assert sorted(rows) == [0, 1, 2]
    assert [e.event for e in _events(sessions, alert_id)] == ["opened"] + ["escalated"] * 3
