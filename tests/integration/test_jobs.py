"""Scheduled jobs on SQLite and PostgreSQL: missing measurements, escalation, lost contact.

Every test calls the job functions directly with an explicit ``now``; nothing sleeps.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.test_ingest_mqtt import poll_until
from tests.integration.world import World
from triage.config import Settings
from triage.domain.alerts import OpenAlert, acknowledge, patient_colour
from triage.domain.colours import Colour, Text
from triage.domain.escalation import NO_PLAN_INSTRUCTION, EscalationPolicy, next_step
from triage.domain.findings import Finding, RuleType
from triage.domain.notification import TargetRole
from triage.domain.plan import Condition
from triage.domain.service_hours import ServiceCalendar
from triage.jobs import (
    JOBS,
    JobFailedError,
    JobResult,
    ScheduledJob,
    build_scheduler,
    check_lost_contact,
    check_missing_measurements,
    escalate_red_alerts,
    run_guarded,
)
from triage.jobs import escalation as escalation_job
from triage.jobs.runs import Tally, run_job
from triage.log_format import FieldsFormatter
from triage.storage import repositories, seed
from triage.storage.models import (
    AlertEventRow,
    AlertRow,
    CentreRow,
    EscalationRow,
    GatewayRow,
    JobRunRow,
    MunicipalityRow,
    NotificationRow,
    PatientRow,
    ReadingRow,
)
from triage.texts.findings import stored_reason

Sessions = sessionmaker[Session]

#: Monday 23 November 2026, 10:00 in Oslo (CET): the daily 10:00 deadlines of the templates.
DEADLINE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
#: How long the scheduler may take to run its jobs on a loaded machine.
JOB_LOG_DEADLINE_S = 60.0


@pytest.fixture
def settings() -> Settings:
    return Settings(demo=True)


# ----------------------------------------------------------------------------- helpers


def _alerts(sessions: Sessions, patient_id: str, rule_prefix: str = "") -> list[AlertRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AlertRow)
                .where(AlertRow.patient_id == patient_id, AlertRow.rule_id.startswith(rule_prefix))
                .order_by(AlertRow.rule_id)
            )
        )


def _runs(sessions: Sessions, job: str | None = None) -> list[JobRunRow]:
    with sessions() as session:
        query = select(JobRunRow).order_by(JobRunRow.id)
        if job is not None:
            query = query.where(JobRunRow.job == job)
        return list(session.scalars(query))


def _escalations(sessions: Sessions) -> list[EscalationRow]:
    with sessions() as session:
        return list(session.scalars(select(EscalationRow).order_by(EscalationRow.id)))


def _add_reading(
    sessions: Sessions, world: World, condition: Condition, kind: str, at: datetime
) -> None:
    patient = world.patients[condition]
    with sessions.begin() as session:
        session.add(
            ReadingRow(
                id=repositories.new_id(),
                patient_id=patient.id,
                gateway_id=patient.gateway_id,
                kind=kind,
                values={"systolic": 128, "diastolic": 82},
                device={},
                measured_at=at,
                classified_at=at,
                received_at=at,
                stored_at=at,
                timezone="Europe/Oslo",
                colour="green",
                findings=[],
                flags=[],
            )
        )


def _enrol(
    sessions: Sessions,
    world: World,
    condition: Condition,
    at: datetime,
    *,
    state: str = "active",
    timezone: str = "Europe/Oslo",
    plan: bool = True,
) -> str:
    """A further patient enrolled (and their plan approved) at ``at``; returns the id."""
    with sessions.begin() as session:
        municipality = session.get(MunicipalityRow, world.municipality_ids[0])
        centre = session.get(CentreRow, world.centre_id)
        assert municipality is not None
        assert centre is not None
        patient = seed.add_patient(
            session,
            display_name=f"Ekstra {condition.value} {at:%Y%m%d%H%M}",
            municipality=municipality,
            centre=centre,
            now=at,
            condition=condition,
            timezone=timezone,
            state=state,
        )
        if plan:
            seed.add_approved_template_plan(session, patient, condition, "gp-test", at)
        return patient.id


def _open_red(sessions: Sessions, world: World, condition: Condition, at: datetime) -> str:
    """A red threshold alert for the patient, opened at ``at``; returns its id."""
    patient = world.patients[condition]
    finding = Finding(
        rule_id="threshold:systolic",
        rule_type=RuleType.THRESHOLD,
        colour=Colour.RED,
        at=at,
        plan_id=patient.plan.plan_id,
        plan_version=patient.plan.version,
        parameter="systolic",
        value=192,
        bound="≥ 180",
        text=Text(nb="Systolisk 192 ≥ 180", en="Systolic 192 ≥ 180"),
    )
    with sessions.begin() as session:
        [alert] = repositories.apply_alert_changes(
            session, [], [OpenAlert(patient_id=patient.id, finding=finding)]
        )
        return alert.id


def _set_patient(sessions: Sessions, patient_id: str, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(update(PatientRow).where(PatientRow.id == patient_id).values(**values))


def _corrupt_plan(sessions: Sessions, plan_id: str) -> None:
    """Break the stored plan document: unparsable text (SQLite) or a JSON string (PostgreSQL)."""
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "sqlite":
            sql = "UPDATE plan_versions SET document = '{not json' WHERE plan_id = :plan"
        else:
            sql = (
                "UPDATE plan_versions SET document = to_jsonb('{not json'::text) "
                "WHERE plan_id = :plan"
            )
        session.execute(text(sql), {"plan": plan_id})


def _add_target(
    sessions: Sessions,
    world: World,
    role: str,
    label: str,
    *,
    secure: bool = False,
    active: bool = True,
) -> str:
    """A notification target of the test centre (an Apprise mailto URL nobody reads)."""
    with sessions.begin() as session:
        url = f"mailto://dho:pw@smtp.fjordvik.invalid?to={role}@fjordvik.invalid"
        target = repositories.add_notification_target(
            session, world.centre_id, role, label, url, NOW, secure=secure, active=active
        )
        return target.id


@pytest.fixture
def targets(sessions: Sessions, world: World) -> dict[str, str]:
    """One target per role of the chain (role → target id)."""
    labels = {
        "on_call_nurse": "Vakttelefon sykepleier",
        "second_nurse": "Sykepleier 2",
        "after_hours": "Legevakten i Fjordvik",
        "centre_lead": "Leder oppfølgingstjenesten",
    }
    return {role: _add_target(sessions, world, role, label) for role, label in labels.items()}


# ----------------------------------------------------------------------------- missing measurements


def test_missing_alert_opens_at_the_deadline_and_not_before(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A nurse sees "missing blood pressure" at 10:00 sharp, not at 09:59:59."""
    patient = world.patients[Condition.HYPERTENSION].id
    before = check_missing_measurements(sessions, settings, DEADLINE - SECOND)
    assert before.status == "ok"
    assert _alerts(sessions, patient) == []

    check_missing_measurements(sessions, settings, DEADLINE)
    [alert] = _alerts(sessions, patient)
    assert alert.rule_id == "missing:blood_pressure"
    assert (alert.colour, alert.category, alert.state) == ("yellow", "clinical", "open")
    assert alert.opened_at == DEADLINE
    assert "10:00" in stored_reason(alert.reason, "nb")


def test_reading_before_the_deadline_prevents_the_missing_alert(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A patient who measured at 09:45 never shows up as missing."""
    _add_reading(sessions, world, Condition.HYPERTENSION, "blood_pressure", DEADLINE - 15 * MINUTE)
    check_missing_measurements(sessions, settings, DEADLINE + timedelta(hours=3))
    assert _alerts(sessions, world.patients[Condition.HYPERTENSION].id) == []
    assert _alerts(sessions, world.patients[Condition.HEART_FAILURE].id)  # others still missing


def test_late_reading_marks_the_missing_alert_back_in_range(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A measurement at 10:20 turns the missing alert "back in range"; a nurse still resolves it."""
    patient = world.patients[Condition.HYPERTENSION].id
    check_missing_measurements(sessions, settings, DEADLINE)
    _add_reading(sessions, world, Condition.HYPERTENSION, "blood_pressure", DEADLINE + 20 * MINUTE)
    result = check_missing_measurements(sessions, settings, DEADLINE + 25 * MINUTE)
    assert result.detail["back_in_range"] == 1
    [alert] = _alerts(sessions, patient)
    assert alert.back_in_range_at == DEADLINE
    assert alert.state == "open"


def test_running_twice_opens_one_alert_and_a_new_missed_day_attaches(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """Re-running keeps one missed slot one alert; the next missed day adds a breach to it."""
    patient = world.patients[Condition.HYPERTENSION].id
    check_missing_measurements(sessions, settings, DEADLINE)
    check_missing_measurements(sessions, settings, DEADLINE)
    check_missing_measurements(sessions, settings, DEADLINE + 5 * MINUTE)
    [alert] = _alerts(sessions, patient)
    assert alert.breaches == 1
    with sessions() as session:
        events = session.scalar(
            select(func.count())
            .select_from(AlertEventRow)
            .where(AlertEventRow.alert_id == alert.id)
        )
    assert events == 1

    thursday = DEADLINE + timedelta(days=3)  # blood pressure is due Mondays and Thursdays
    check_missing_measurements(sessions, settings, thursday - SECOND)
    assert _alerts(sessions, patient)[0].breaches == 1
    check_missing_measurements(sessions, settings, thursday)
    [alert] = _alerts(sessions, patient)
    assert alert.breaches == 2
    assert alert.last_breach_at == thursday


def test_paused_and_discharged_patients_get_no_missing_alerts(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A patient on holiday (paused) or discharged is never reported as missing."""
    paused = world.patients[Condition.HEART_FAILURE].id
    discharged = world.patients[Condition.HYPERTENSION].id
    _set_patient(sessions, paused, state="paused", paused_until=date(2026, 11, 30))
    _set_patient(sessions, discharged, state="discharged")
    result = check_missing_measurements(sessions, settings, DEADLINE + timedelta(days=2))
    assert result.status == "ok"
    assert result.detail["skipped_not_followed"] == 1  # paused; discharged ones are not listed
    assert result.processed == 4
    assert _alerts(sessions, paused) == []
    assert _alerts(sessions, discharged) == []
    assert _alerts(sessions, world.patients[Condition.COVID19].id)


def test_paused_patient_is_followed_again_from_paused_until(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """Back from a pause on 25 November: that day's 10:00 counts, the days before do not."""
    patient = world.patients[Condition.HEART_FAILURE].id
    _set_patient(sessions, patient, state="paused", paused_until=date(2026, 11, 25))
    check_missing_measurements(sessions, settings, DEADLINE + timedelta(days=2) - SECOND)
    assert _alerts(sessions, patient) == []
    check_missing_measurements(sessions, settings, DEADLINE + timedelta(days=2))
    alerts = _alerts(sessions, patient)
    assert len(alerts) == 4
    assert {a.opened_at for a in alerts} == {DEADLINE + timedelta(days=2)}


def test_patient_without_an_approved_plan_is_skipped(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A trial patient still without an approved plan gets no missing alerts and no error."""
    trial = _enrol(sessions, world, Condition.HEART_FAILURE, NOW, state="trial", plan=False)
    result = check_missing_measurements(sessions, settings, DEADLINE + timedelta(days=1))
    assert result.status == "ok"
    assert result.detail["skipped_no_plan"] == 1
    assert _alerts(sessions, trial) == []


@pytest.mark.parametrize(
    ("day", "deadline"),
    [
        pytest.param(date(2026, 3, 29), datetime(2026, 3, 29, 8, 0, tzinfo=UTC), id="spring"),
        pytest.param(date(2026, 10, 25), datetime(2026, 10, 25, 9, 0, tzinfo=UTC), id="autumn"),
    ],
)
def test_dst_change_day_deadline_is_ten_o_clock_local(
    sessions: Sessions, settings: Settings, world: World, day: date, deadline: datetime
) -> None:
    """On the days the clocks change, "by 10:00" alerts at 10:00 on the wall, not an hour off."""
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(
        hours=1 if day.month == 3 else 2
    )
    patient = _enrol(sessions, world, Condition.HEART_FAILURE, local_midnight)
    check_missing_measurements(sessions, settings, deadline - SECOND)
    assert _alerts(sessions, patient) == []
    check_missing_measurements(sessions, settings, deadline)
    alerts = _alerts(sessions, patient)
    assert [a.rule_id for a in alerts] == [
        "missing:blood_pressure",
        "missing:body_weight",
        "missing:questionnaire:hf-daily",
        "missing:spo2",
    ]
    assert {a.opened_at for a in alerts} == {deadline}


def test_deadlines_follow_the_patients_time_zone(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A patient living in Reykjavik (UTC) is missing at 10:00 Reykjavik time, not Oslo time."""
    patient = _enrol(
        sessions,
        world,
        Condition.HYPERTENSION,
        NOW - timedelta(hours=8),
        timezone="Atlantic/Reykjavik",
    )
    reykjavik_ten = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    check_missing_measurements(sessions, settings, reykjavik_ten - SECOND)
    assert _alerts(sessions, patient) == []
    check_missing_measurements(sessions, settings, reykjavik_ten)
    [alert] = _alerts(sessions, patient)
    assert alert.opened_at == reykjavik_ten


def test_broken_plan_makes_the_run_partial_and_others_are_processed(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """An operator sees a "partial" run naming the patient whose plan is broken; others are fine."""
    broken = world.patients[Condition.HEART_FAILURE]
    _corrupt_plan(sessions, broken.plan.plan_id)
    result = check_missing_measurements(sessions, settings, DEADLINE)
    assert (result.status, result.failures, result.processed) == ("partial", 1, 4)
    assert broken.id in result.detail["errors"][0]["item"]
    assert _alerts(sessions, broken.id) == []
    assert _alerts(sessions, world.patients[Condition.HYPERTENSION].id)
    assert _alerts(sessions, world.patients[Condition.COVID19].id)
    [run] = _runs(sessions, "missing_measurements")
    assert (run.status, run.failures, run.processed) == ("partial", 1, 4)
    assert run.detail["errors"] == result.detail["errors"]


# ----------------------------------------------------------------------------- escalation


def test_red_inside_staffed_hours_escalates_to_on_call_after_30_minutes(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """An unacknowledged red from 09:00 goes to the on-call nurse at 09:30, not at 09:29."""
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, opened)
    early = escalate_red_alerts(sessions, settings, opened + 29 * MINUTE)
    assert early.detail["not_due"] == 1
    assert _escalations(sessions) == []

    due = escalate_red_alerts(sessions, settings, opened + 30 * MINUTE)
    assert due.detail["escalated_on_call_nurse"] == 1
    [escalation] = _escalations(sessions)
    assert escalation.alert_id == alert_id
    assert escalation.target == "on_call_nurse"
    assert escalation.due_since == opened + 30 * MINUTE
    assert escalation.created_at == opened + 30 * MINUTE
    [alert] = _alerts(sessions, world.patients[Condition.HYPERTENSION].id)
    assert (alert.escalated_to, alert.escalated_at) == ("on_call_nurse", opened + 30 * MINUTE)
    with sessions() as session:
        events = list(
            session.scalars(select(AlertEventRow.event).where(AlertEventRow.alert_id == alert_id))
        )
    assert events == ["opened", "escalated"]


def test_red_outside_hours_goes_to_after_hours_at_once_with_the_plans_instruction(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """A red at 16:00 goes straight to after-hours, with the patient's own red instruction."""
    opened = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 16:00 in Oslo: closed
    _open_red(sessions, world, Condition.HYPERTENSION, opened)
    escalate_red_alerts(sessions, settings, opened)
    [escalation] = _escalations(sessions)
    assert escalation.target == "after_hours"
    assert escalation.due_since == opened
    red = world.patients[Condition.HYPERTENSION].plan.actions[Colour.RED].patient
    assert escalation.patient_instruction == {"nb": red.nb, "en": red.en}
    assert "116 117" in escalation.reason["nb"]


@pytest.mark.parametrize(
    ("opened", "at_once"),
    [
        pytest.param(datetime(2026, 12, 25, 9, 0, tzinfo=UTC), True, id="christmas-day"),
        pytest.param(datetime(2026, 12, 18, 9, 0, tzinfo=UTC), False, id="ordinary-friday"),
    ],
)
def test_public_holiday_counts_as_closed(
    sessions: Sessions,
    settings: Settings,
    world: World,
    targets: dict[str, str],
    opened: datetime,
    at_once: bool,
) -> None:
    """A red at 10:00 on Christmas Day goes to after-hours at once; a week before, it waits."""
    _open_red(sessions, world, Condition.HYPERTENSION, opened)
    escalate_red_alerts(sessions, settings, opened)
    recorded = [e.target for e in _escalations(sessions)]
    assert recorded == (["after_hours"] if at_once else [])


def test_acknowledged_red_never_escalates(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """A red a nurse has acknowledged stays with that nurse, in the day and after closing."""
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, opened)
    with sessions.begin() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None
        acked, _ = acknowledge(
            repositories.alert_from_row(row), by="nurse-test", at=opened + 5 * MINUTE
        )
        row.state, row.acknowledged_at, row.acknowledged_by = (
            acked.state.value,
            acked.acknowledged_at,
            acked.acknowledged_by,
        )
    for at in (opened + timedelta(hours=2), opened + timedelta(hours=10)):
        result = escalate_red_alerts(sessions, settings, at)
        assert result.status == "ok"
    assert _escalations(sessions) == []


def test_escalating_twice_records_one_escalation(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Two runs (or two schedulers) escalate a red once: one record, one "escalated" event."""
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    first = _open_red(sessions, world, Condition.HYPERTENSION, opened)
    escalate_red_alerts(sessions, settings, opened + 30 * MINUTE)
    again = escalate_red_alerts(sessions, settings, opened + 31 * MINUTE)
    # (changed with the chain: an escalated red is looked at again, the second nurse being due
    # at 09:45 — it used to be left out, processed == 0)
    assert again.detail["not_due"] == 1
    assert "escalated_on_call_nurse" not in again.detail
    assert [e.alert_id for e in _escalations(sessions)] == [first]

    # Another scheduler records the step of a second alert between our decision and our insert:
    second = _open_red(sessions, world, Condition.HEART_FAILURE, opened)
    at = opened + 32 * MINUTE
    rules = escalation_job.CentreRules(ServiceCalendar(), EscalationPolicy())
    with sessions() as session:
        row = session.get(AlertRow, second)
        assert row is not None
        receivers = escalation_job.active_targets(session, world.centre_id)
        decision = next_step(
            repositories.alert_from_row(row),
            [],
            rules.calendar,
            rules.policy,
            frozenset(t.role for t in receivers),
            at,
        )
    assert decision is not None
    assert decision.role is TargetRole.ON_CALL_NURSE
    with sessions.begin() as session:
        session.add(
            EscalationRow(
                alert_id=second,
                patient_id=world.patients[Condition.HEART_FAILURE].id,
                step=0,
                target="on_call_nurse",
                due_since=opened + 30 * MINUTE,
                created_at=at,
                reason={"nb": "annen planlegger", "en": "other scheduler"},
                patient_instruction={"nb": "-", "en": "-"},
            )
        )
    with sessions.begin() as session:
        done = escalation_job.record(
            session,
            decision,
            [t for t in receivers if t.role is decision.role],
            world.centre_id,
            rules,
            settings,
            at,
        )
    assert done == Counter(already_escalated=1)
    assert sorted(e.alert_id for e in _escalations(sessions)) == sorted([first, second])
    with sessions() as session:
        ours = session.scalars(select(NotificationRow).where(NotificationRow.alert_id == second))
        assert list(ours) == []  # the messages went with the rolled-back step
        [alert] = list(_alerts(sessions, world.patients[Condition.HEART_FAILURE].id))
        assert alert.escalated_at is None  # the other scheduler's job, not ours


def test_two_schedulers_racing_escalate_once(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """Two service instances escalating the same red at the same moment record it once."""
    opened = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    alert_id = _open_red(sessions, world, Condition.HYPERTENSION, opened)
    barrier = threading.Barrier(2)
    results: list[JobResult] = []

    def scheduler() -> None:
        barrier.wait(timeout=30)
        results.append(escalate_red_alerts(sessions, settings, opened + MINUTE))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status for r in results] == ["ok", "ok"]
    assert sum(r.detail.get("escalated_after_hours", 0) for r in results) == 1
    assert [e.alert_id for e in _escalations(sessions)] == [alert_id]
    with sessions() as session:
        events = session.scalars(
            select(AlertEventRow.event).where(AlertEventRow.alert_id == alert_id)
        )
        assert list(events) == ["opened", "escalated"]


def test_escalation_delay_comes_from_settings_and_the_centre(
    sessions: Sessions, world: World, targets: dict[str, str]
) -> None:
    """A centre with a 10-minute on-call delay escalates at 10 minutes; else the setting counts."""
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    _open_red(sessions, world, Condition.HYPERTENSION, opened)
    slow = Settings(demo=True, escalate_after_min=45)
    escalate_red_alerts(sessions, slow, opened + 44 * MINUTE)
    assert _escalations(sessions) == []
    escalate_red_alerts(sessions, slow, opened + 45 * MINUTE)
    assert len(_escalations(sessions)) == 1

    _open_red(sessions, world, Condition.COPD, opened)
    with sessions.begin() as session:
        centre = session.get(CentreRow, world.centre_id)
        assert centre is not None
        centre.escalation = {"on_call_after": "PT10M"}
    escalate_red_alerts(sessions, slow, opened + 10 * MINUTE)
    assert len(_escalations(sessions)) == 2


def test_red_with_a_broken_plan_still_escalates_with_the_no_plan_instruction(
    sessions: Sessions, settings: Settings, world: World, targets: dict[str, str]
) -> None:
    """A broken plan never silences a red: it escalates with "no plan found"; the run is partial."""
    patient = world.patients[Condition.HEART_FAILURE]
    _corrupt_plan(sessions, patient.plan.plan_id)
    opened = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    _open_red(sessions, world, Condition.HEART_FAILURE, opened)
    result = escalate_red_alerts(sessions, settings, opened)
    assert (result.status, result.failures) == ("partial", 1)
    [escalation] = _escalations(sessions)
    assert escalation.patient_instruction == NO_PLAN_INSTRUCTION.model_dump()


# ----------------------------------------------------------------------------- lost contact


def _set_gateway(sessions: Sessions, gateway_id: str, last_seen: datetime) -> None:
    with sessions.begin() as session:
        session.execute(
            update(GatewayRow).where(GatewayRow.id == gateway_id).values(last_seen_at=last_seen)
        )


def test_silent_gateway_gets_one_technical_alert_and_back_in_range_when_heard(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A hub silent 24 h gives one technical alert (patient stays green); heard again: in range."""
    silent = world.patients[Condition.COPD]
    for fixture in world.patients.values():
        _set_gateway(sessions, fixture.gateway_id, NOW + timedelta(hours=12))
    _set_gateway(sessions, silent.gateway_id, NOW)

    check_lost_contact(sessions, settings, NOW + timedelta(hours=24) - SECOND)
    assert _alerts(sessions, silent.id) == []
    for at in (NOW + timedelta(hours=24), NOW + timedelta(hours=24, minutes=15)):
        result = check_lost_contact(sessions, settings, at)
        assert result.status == "ok"
    [alert] = _alerts(sessions, silent.id)
    assert (alert.rule_id, alert.category, alert.colour) == ("lost_contact", "technical", "yellow")
    assert alert.breaches == 1
    assert patient_colour([repositories.alert_from_row(alert)]) is Colour.GREEN
    others = [f.id for c, f in world.patients.items() if c is not Condition.COPD]
    assert all(_alerts(sessions, patient) == [] for patient in others)

    _set_gateway(sessions, silent.gateway_id, NOW + timedelta(hours=25))
    check_lost_contact(sessions, settings, NOW + timedelta(hours=25, minutes=15))
    [alert] = _alerts(sessions, silent.id)
    assert alert.back_in_range_at == NOW + timedelta(hours=25, minutes=15)
    assert alert.state == "open"


def test_never_heard_gateway_counts_from_enrolment_and_discharged_are_ignored(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """A hub never heard from alerts 24 h after enrolment; a discharged patient's hub never does."""
    discharged = world.patients[Condition.DIABETES].id
    _set_patient(sessions, discharged, state="discharged")
    check_lost_contact(sessions, settings, NOW + timedelta(hours=24) - SECOND)
    assert _alerts(sessions, world.patients[Condition.COPD].id) == []
    result = check_lost_contact(sessions, settings, NOW + timedelta(hours=24))
    assert result.detail["alerts_opened"] == 4
    assert _alerts(sessions, discharged) == []
    [alert] = _alerts(sessions, world.patients[Condition.COPD].id)
    assert "oppstart" in stored_reason(alert.reason, "nb")


# ----------------------------------------------------------------------------- runs and scheduler


def test_every_run_writes_a_job_run_row(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """An operator sees each job's run: when, how it went, how many patients, how long it took."""
    del world
    at = DEADLINE + timedelta(days=1)
    results = [job.function(sessions, settings, at) for job in JOBS]
    runs = _runs(sessions)
    assert [r.job for r in runs] == [
        "missing_measurements",
        "escalation",
        "lost_contact",
        "gp_digest",
        "notify",
        "programme_days",  # issue 18: the daily programme aggregates
        "journal",  # issue 19: the journal sender (off: DHO_FHIR_JOURNAL_URL unset)
    ]
    for run, result in zip(runs, results, strict=True):
        assert (run.id, run.status, run.processed, run.failures) == (
            result.run_id,
            "ok",
            result.processed,
            0,
        )
        assert run.started_at == at
        assert run.finished_at is not None
        assert run.finished_at >= run.started_at
        assert run.detail["errors"] == []
    assert runs[0].processed == 5
    assert runs[2].processed == 5


def test_naive_now_is_refused(sessions: Sessions, settings: Settings) -> None:
    """A job given a time without a zone refuses to run rather than guess."""
    with pytest.raises(ValueError, match="aware"):
        check_missing_measurements(sessions, settings, datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001


def test_guard_records_failed_runs_and_never_raises(sessions: Sessions, settings: Settings) -> None:
    """A job that breaks shows as "failed" in the run list, and the scheduler keeps going."""

    def breaks_midway(s: Sessions, _settings: Settings, now: datetime) -> JobResult:
        def body(tally: Tally) -> None:
            raise RuntimeError("database went away")

        return run_job("breaks_midway", s, now, body)

    def breaks_early(s: Sessions, _settings: Settings, now: datetime) -> JobResult:
        raise RuntimeError("could not even start")

    at = NOW
    clock: Callable[[], datetime] = lambda: at  # noqa: E731
    midway = ScheduledJob("breaks_midway", breaks_midway, timedelta(minutes=1))
    early = ScheduledJob("breaks_early", breaks_early, timedelta(minutes=1))
    assert run_guarded(midway, sessions, settings, clock) is None
    assert run_guarded(early, sessions, settings, clock) is None
    naive: Callable[[], datetime] = lambda: datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001, E731
    assert run_guarded(JOBS[0], sessions, settings, naive) is None

    runs = _runs(sessions)
    assert [(r.job, r.status) for r in runs] == [
        ("breaks_midway", "failed"),
        ("breaks_early", "failed"),
        ("missing_measurements", "failed"),
    ]
    assert runs[0].detail["aborted"] == "RuntimeError: database went away"
    assert runs[1].detail["aborted"] == "RuntimeError: could not even start"
    assert runs[0].started_at == at
    assert "aware" in runs[2].detail["aborted"]
    with pytest.raises(JobFailedError):
        breaks_midway(sessions, settings, at)


# ----------------------------------------------------------------------------- log lines


@pytest.fixture
def job_log() -> Iterator[list[str]]:
    """The lines ``triage.jobs`` logs, formatted as the service writes them to standard error."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record).splitlines()[0])

    handler = Collect()
    handler.setFormatter(FieldsFormatter())
    logger = logging.getLogger("triage.jobs")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.setLevel(level)
    logger.removeHandler(handler)


_NOT_COUNTS = {"errors", "errors_not_shown", "duration_ms"}


def _finished(lines: list[str], job: str) -> list[str]:
    return [line for line in lines if f"job run finished job={job} " in line]


def test_each_run_logs_its_job_outcome_counts_and_duration(
    sessions: Sessions, settings: Settings, world: World, job_log: list[str]
) -> None:
    """The "job run finished" line says which job, how it went, what it did and how long it took."""
    del world
    at = DEADLINE + timedelta(days=1)
    for job in JOBS:
        result = run_guarded(job, sessions, settings, lambda: at)
        assert result is not None
        counts = {k: v for k, v in result.detail.items() if k not in _NOT_COUNTS}
        [line] = _finished(job_log, job.name)
        assert re.search(
            rf"INFO triage\.jobs\.runs: job run finished job={job.name} "
            rf"run_id={result.run_id} status=ok processed={result.processed} failures=0 "
            r"duration_ms=\d+ counts=" + re.escape(json.dumps(counts, separators=(",", ":"))) + "$",
            line,
        ), line
    assert '"alerts_opened":' in _finished(job_log, "missing_measurements")[0]


def test_a_failed_item_is_logged_with_the_job_and_the_reason(
    sessions: Sessions, settings: Settings, world: World, job_log: list[str]
) -> None:
    """A patient whose plan is broken: the lines name the job, the patient and the error."""
    broken = world.patients[Condition.HEART_FAILURE]
    _corrupt_plan(sessions, broken.plan.plan_id)
    check_missing_measurements(sessions, settings, DEADLINE)
    [item] = [line for line in job_log if "job item failed" in line]
    assert f'job=missing_measurements item_type=patients item="patient {broken.id}" error=' in item
    [finished] = _finished(job_log, "missing_measurements")
    assert " WARNING " in finished
    assert "status=partial processed=4 failures=1 " in finished
    assert f'first_failure="patient {broken.id}: ' in finished


def test_a_failing_job_logs_its_name_and_reason_and_the_scheduler_goes_on(
    sessions: Sessions, settings: Settings, world: World, job_log: list[str]
) -> None:
    """A job that breaks every time is logged by name with why, run after run, while the
    scheduler keeps running it and the three real jobs."""
    del world

    def breaks(s: Sessions, _settings: Settings, now: datetime) -> JobResult:
        def body(tally: Tally) -> None:
            raise RuntimeError("database went away")

        return run_job("breaks", s, now, body)

    at = DEADLINE + timedelta(days=1)
    scheduler = build_scheduler(sessions, settings, clock=lambda: at)
    failing = ScheduledJob("breaks", breaks, timedelta(seconds=1))
    scheduler.add_job(
        run_guarded,
        trigger=IntervalTrigger(seconds=1, timezone=UTC),
        args=(failing, sessions, settings, lambda: at),
        id="breaks",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    try:
        assert poll_until(
            lambda: (
                len(_finished(job_log, "breaks")) >= 2
                and all(_finished(job_log, job.name) for job in JOBS)
            ),
            JOB_LOG_DEADLINE_S,
        ), "\n".join(job_log)
    finally:
        scheduler.shutdown(wait=True)
    for line in _finished(job_log, "breaks")[:2]:
        assert re.search(
            r"WARNING triage\.jobs\.runs: job run finished job=breaks run_id=\d+ status=failed "
            r'.* error="RuntimeError: database went away"$',
            line,
        ), line
    failed = [line for line in job_log if "scheduled job failed" in line]
    assert re.search(
        r"ERROR triage\.jobs\.scheduler: scheduled job failed job=breaks run_id=\d+ "
        r'error="RuntimeError: database went away"$',
        failed[0],
    ), failed[0]
    for job in JOBS:
        assert "status=ok" in _finished(job_log, job.name)[0]


def test_scheduler_has_the_three_jobs_guarded(
    sessions: Sessions, settings: Settings, world: World
) -> None:
    """Missing every 5 min, escalation every minute, lost contact every 15 min; one at a time."""
    del world
    at = DEADLINE
    scheduler = build_scheduler(sessions, settings, clock=lambda: at)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert {name: job.trigger.interval for name, job in jobs.items()} == {
            "missing_measurements": timedelta(minutes=5),
            "escalation": timedelta(minutes=1),
            "lost_contact": timedelta(minutes=15),
            "gp_digest": timedelta(minutes=15),
            "notify": timedelta(seconds=settings.notify_interval_s),
            "programme_days": timedelta(hours=1),  # issue 18
            "journal": timedelta(seconds=settings.fhir_journal_interval_s),  # issue 19
        }
        for job in jobs.values():
            assert (job.coalesce, job.max_instances) == (True, 1)
            assert job.misfire_grace_time == job.trigger.interval.total_seconds()
            assert job.func is run_guarded
            result = job.func(*job.args, **job.kwargs)
            assert isinstance(result, JobResult)
            assert result.status == "ok"
    finally:
        scheduler.shutdown(wait=True)
    assert {r.job for r in _runs(sessions)} == set(jobs)
    assert {r.started_at for r in _runs(sessions)} == {at}
