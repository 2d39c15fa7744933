"""The ingest pipeline on SQLite and PostgreSQL: process_batch straight into the database."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.world import World
from triage.config import Settings
from triage.domain.colours import Colour
from triage.domain.plan import Condition
from triage.ingest import (
    Counters,
    Incoming,
    Outcome,
    OutcomeStatus,
    PlanCache,
    Receipt,
    build_receipts,
    process_batch,
    store,
)
from triage.storage import seed
from triage.storage.models import (
    AlertEventRow,
    AlertRow,
    CentreRow,
    DeadLetterRow,
    GatewayRow,
    MunicipalityRow,
    PatientRow,
    ReadingRow,
    ReportRow,
)
from triage.texts.findings import stored_reason

SETTINGS = Settings(demo=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "receipts.md"

COPD = Condition.COPD
HYPERTENSION = Condition.HYPERTENSION


def reading(
    id_: str,
    *,
    kind: str = "spo2",
    values: dict[str, Any] | None = None,
    measured_at: datetime = NOW - timedelta(minutes=2),
    received_at: datetime | None = NOW - timedelta(minutes=1),
    **extra: Any,
) -> bytes:
    payload: dict[str, Any] = {
        "schema": "dho.reading/1",
        "id": id_,
        "kind": kind,
        "measured_at": measured_at.isoformat(),
        "values": values if values is not None else {"spo2": 95, "pulse": 72},
        "device": {"profile": "plx", "model": "test oximeter"},
        **extra,
    }
    if received_at is not None:
        payload["received_at"] = received_at.isoformat()
    return json.dumps(payload).encode()


def report(id_: str, answers: dict[str, Any], answered_at: datetime = NOW) -> bytes:
    return json.dumps(
        {
            "schema": "dho.report/1",
            "id": id_,
            "questionnaire": "copd-daily",
            "answered_at": answered_at.isoformat(),
            "answers": answers,
        }
    ).encode()


COPD_CALM = {
    "breathlessness": "as_usual",
    "cough": "as_usual",
    "sputum_amount": "as_usual",
    "sputum_colour": "usual",
    "reliever_use": "as_usual",
    "sleep": "as_usual",
    "overall": "as_usual",
    "chest_pain": "no",
    "new_confusion": "no",
}


def on(gateway_id: str, payload: bytes, channel: str = "readings") -> Incoming:
    return Incoming(topic=f"dho/v1/{gateway_id}/{channel}", payload=payload)


def ingest(
    sessions: sessionmaker[Session], messages: Sequence[Incoming], now: datetime = NOW
) -> list[Outcome]:
    with sessions.begin() as session:
        return process_batch(session, messages, SETTINGS, now, plans=PlanCache())


def gateway(world: World, condition: Condition) -> str:
    return world.patients[condition].gateway_id


def dead_letters(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.scalars(select(DeadLetterRow)).all()
        return {row.reason_code: row.reason for row in rows}


def test_a_reading_is_stored_classified_and_receipted(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A COPD patient's SpO2 of 86 % is stored red with its reason, plan version and the plan's
    red advice, and the gateway's receipt says so in bokmål and English."""
    patient = world.patients[COPD]
    [outcome] = ingest(sessions, [on(patient.gateway_id, reading("r-1", values={"spo2": 86}))])

    assert outcome.status is OutcomeStatus.STORED
    assert outcome.colour is Colour.RED
    assert outcome.advice == patient.plan.actions[Colour.RED].patient
    with sessions() as session:
        row = session.get(ReadingRow, "r-1")
        assert row is not None
        assert row.patient_id == patient.id
        assert row.gateway_id == patient.gateway_id
        assert row.colour == "red"
        assert (row.plan_id, row.plan_version) == (patient.plan.plan_id, 1)
        assert row.values == {"spo2": 86.0}
        assert row.device == {"profile": "plx", "model": "test oximeter"}
        assert row.measured_at == row.classified_at == NOW - timedelta(minutes=2)
        assert row.received_at == NOW - timedelta(minutes=1)
        assert row.stored_at == NOW
        assert row.timezone == "Europe/Oslo"
        assert row.flags == []
        red = [f for f in row.findings if f["colour"] == "red"]
        assert [f["rule_id"] for f in red] == ["threshold:spo2"]
        assert red[0]["plan_version"] == 1
        assert "87\u00a0% eller lavere" in stored_reason(red[0], "nb")
        gateway_row = session.get(GatewayRow, patient.gateway_id)
        assert gateway_row is not None
        assert gateway_row.last_seen_at == NOW

    receipts = build_receipts([outcome], NOW)
    wire = json.loads(receipts[patient.gateway_id].to_json())
    assert wire == {
        "schema": "dho.receipt/1",
        "gateway_id": patient.gateway_id,
        "issued_at": NOW.isoformat().replace("+00:00", "Z"),
        "items": [
            {
                "id": "r-1",
                "type": "reading",
                "status": "stored",
                "colour": "red",
                "advice": patient.plan.actions[Colour.RED].patient.model_dump(),
                "flags": [],
                "reason_code": None,
                "reason": None,
            }
        ],
    }
    assert (
        Receipt.model_validate_json(receipts[patient.gateway_id].to_json())
        == receipts[patient.gateway_id]
    )


def test_a_green_reading_carries_the_green_advice(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A normal blood pressure is green and the patient is told to carry on as planned."""
    patient = world.patients[HYPERTENSION]
    [outcome] = ingest(
        sessions,
        [
            on(
                patient.gateway_id,
                reading(
                    "bp-1",
                    kind="blood_pressure",
                    values={"systolic": 128, "diastolic": 82, "pulse": 70},
                ),
            )
        ],
    )
    assert outcome.colour is Colour.GREEN
    assert outcome.advice is not None
    assert outcome.advice.en == "Carry on as agreed in your plan."
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 0


def test_a_duplicate_id_is_stored_once_and_answered_like_the_original(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A gateway that retries (in the same batch or later) gets "duplicate" with the original
    colour and advice, and the reading is in the database once."""
    gw = gateway(world, COPD)
    first = ingest(
        sessions,
        [
            on(gw, reading("dup-1", values={"spo2": 90})),
            on(gw, reading("dup-1", values={"spo2": 90})),
        ],
    )
    assert [o.status for o in first] == [OutcomeStatus.STORED, OutcomeStatus.DUPLICATE]
    assert first[0].colour is first[1].colour is Colour.YELLOW
    assert first[1].advice == first[0].advice is not None

    [again] = ingest(
        sessions, [on(gw, reading("dup-1", values={"spo2": 90}))], NOW + timedelta(minutes=5)
    )
    assert again.status is OutcomeStatus.DUPLICATE
    assert again.colour is Colour.YELLOW
    assert again.advice == first[0].advice
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 1
        alert = session.scalars(select(AlertRow)).one()
        assert alert.breaches == 1
        assert session.scalar(select(func.count()).select_from(DeadLetterRow)) == 0
    items = build_receipts(first, NOW)[gw].items
    assert [(i.id, i.status) for i in items] == [("dup-1", "stored"), ("dup-1", "duplicate")]


def test_an_id_another_gateway_used_is_refused(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A gateway cannot overwrite, or learn the colour of, another patient's reading by reusing
    its id: the message is refused as an id conflict."""
    ingest(sessions, [on(gateway(world, COPD), reading("shared-id", values={"spo2": 86}))])
    [outcome] = ingest(
        sessions, [on(gateway(world, Condition.COVID19), reading("shared-id", values={"spo2": 97}))]
    )
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.reason_code == "id_conflict"
    assert outcome.colour is None
    assert outcome.advice is None
    assert "id_conflict" in dead_letters(sessions)


def test_every_kind_of_bad_input_is_dead_lettered_and_the_good_ones_are_stored(
    sessions: sessionmaker[Session], world: World
) -> None:
    """One batch mixing good readings with every kind of bad input: each bad message becomes a
    dead letter with its reason, raw payload and topic; the good ones around them are stored;
    the gateways that are registered are told why."""
    gw = gateway(world, COPD)
    with sessions.begin() as session:
        revoked, _ = _register(session, world, "gw-test-revoked", COPD)
        revoked.revoked_at = NOW - timedelta(days=1)
    too_large = reading("big", device={"blob": "x" * 70_000})
    bad: dict[str, Incoming] = {
        "malformed_json": on(gw, b'{"schema": "dho.reading/1", "id": '),
        "schema": on(gw, reading("no-spo2", values={"pulse": 80})),
        "implausible": on(gw, reading("impl-1", values={"spo2": 30})),
        "unknown_gateway": on("gw-nobody", reading("who-1")),
        "gateway_unbound": on(world.unbound_gateway_id, reading("unb-1")),
        "gateway_revoked": on("gw-test-revoked", reading("rev-1")),
        "questionnaire": on(gw, report("rep-bad", {"breathlessness": "terrible"}), "reports"),
        "bad_topic": Incoming(topic="dho/v2/gw/readings", payload=reading("topic-1")),
        "too_large": on(gw, too_large),
    }
    messages = [on(gw, reading("good-1"))]
    for message in bad.values():
        messages += [message, on(gw, reading(f"good-{len(messages) + 1}"))]

    outcomes = ingest(sessions, messages)

    stored = [o.message_id for o in outcomes if o.status is OutcomeStatus.STORED]
    assert len(stored) == len(bad) + 1
    assert all(i and i.startswith("good-") for i in stored)
    rejected = {o.reason_code: o for o in outcomes if o.status is OutcomeStatus.REJECTED}
    assert set(rejected) == set(bad)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == len(bad) + 1
        rows = {r.reason_code: r for r in session.scalars(select(DeadLetterRow))}
    assert set(rows) == set(bad)
    for code, message in bad.items():
        row = rows[code]
        assert row.payload == message.payload, code
        assert row.topic == message.topic, code
        assert row.source == "mqtt"
        assert row.reason, code
    assert rows["schema"].message_id == "no-spo2"
    assert "missing spo2" in rows["schema"].reason
    assert "spo2 30 % is outside the plausible range 50–100 %" in rows["implausible"].reason
    assert "'terrible' is not an allowed answer" in rows["questionnaire"].reason
    assert rows["unknown_gateway"].gateway_id == "gw-nobody"
    # receipts go to registered gateways only: not to unknown, revoked or malformed topics
    assert {o.reason_code for o in rejected.values() if o.receipt} == {
        "malformed_json",
        "schema",
        "implausible",
        "gateway_unbound",
        "questionnaire",
        "too_large",
    }
    receipts = build_receipts(outcomes, NOW)
    assert set(receipts) == {gw, world.unbound_gateway_id}
    refused = {i.reason_code: i for i in receipts[gw].items if i.status == "rejected"}
    assert refused["implausible"].id == "impl-1"
    assert refused["malformed_json"].id is None


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"[1, 2]", "Input should be an object"),
        (reading("x", kind="blood_sugar"), "kind"),
        (reading("x", values={"spo2": True}), "values.spo2"),
        (reading("x", values={"spo2": "95"}), "values.spo2"),
        (reading("x", values={"spo2": 95, "glucose": 5.1}), "unknown glucose"),
        (reading("x", measured_at=datetime(2026, 11, 23, 8, 0)), "measured_at"),  # noqa: DTZ001
        (reading("x", colour="green"), "colour"),
        (reading("has space"), "id"),
        (json.dumps({"schema": "dho.report/1", "id": "x"}).encode(), "schema"),
        ("ø".encode("latin-1"), "not JSON"),
    ],
)
def test_schema_violations_say_what_is_wrong(
    sessions: sessionmaker[Session], world: World, payload: bytes, fragment: str
) -> None:
    """An operator reading the dead letter sees which field broke the dho.reading/1 contract."""
    [outcome] = ingest(sessions, [on(gateway(world, COPD), payload)])
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.reason_code in ("schema", "malformed_json")
    assert outcome.reason is not None
    assert fragment in outcome.reason


def test_a_first_red_opens_one_alert_and_ten_more_attach_to_it(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The nurse sees one red alert episode with eleven breaches, not eleven alarms."""
    patient = world.patients[COPD]
    gw = patient.gateway_id
    ingest(sessions, [on(gw, reading("red-0", values={"spo2": 85}))])
    later = NOW + timedelta(hours=1)
    more = [
        on(
            gw,
            reading(
                f"red-{i}",
                values={"spo2": 85},
                measured_at=later + timedelta(minutes=i),
                received_at=None,
            ),
        )
        for i in range(1, 11)
    ]
    outcomes = ingest(sessions, more, later + timedelta(minutes=15))
    assert all(o.colour is Colour.RED for o in outcomes)
    with sessions() as session:
        alerts = session.scalars(select(AlertRow).where(AlertRow.rule_id == "threshold:spo2")).all()
        assert len(alerts) == 1
        assert alerts[0].patient_id == patient.id
        assert alerts[0].colour == "red"
        assert alerts[0].state == "open"
        assert alerts[0].breaches == 11
        assert alerts[0].opened_at == NOW - timedelta(minutes=2)
        assert alerts[0].last_breach_at == later + timedelta(minutes=10)
        events = session.scalars(
            select(AlertEventRow.event).where(AlertEventRow.alert_id == alerts[0].id)
        ).all()
        assert sorted(events) == ["breach"] * 10 + ["opened"]


def test_readings_of_one_batch_see_each_other_in_time_order(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Two high glucose values synced together after an outage confirm each other (the plan's
    "2 of the last 2"), whatever order they arrive in."""
    gw = gateway(world, Condition.DIABETES)
    earlier, later = NOW - timedelta(hours=3), NOW - timedelta(hours=1)
    outcomes = ingest(
        sessions,
        [
            on(gw, reading("g-late", kind="glucose", values={"glucose": 15.0}, measured_at=later)),
            on(
                gw,
                reading("g-early", kind="glucose", values={"glucose": 15.2}, measured_at=earlier),
            ),
        ],
    )
    colours = {o.message_id: o.colour for o in outcomes}
    assert colours == {"g-early": Colour.GREEN, "g-late": Colour.YELLOW}


def test_a_device_clock_ahead_is_flagged_and_classified_at_receipt(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A cuff whose clock runs two hours fast: the reading keeps the device's time but is flagged
    and classified at the time the gateway received it, and the receipt says so."""
    gw = gateway(world, HYPERTENSION)
    received = NOW - timedelta(minutes=1)
    [outcome] = ingest(
        sessions,
        [
            on(
                gw,
                reading(
                    "ahead-1",
                    kind="blood_pressure",
                    values={"systolic": 185, "diastolic": 95},
                    measured_at=NOW + timedelta(hours=2),
                    received_at=received,
                ),
            )
        ],
    )
    assert outcome.flags == ("device_clock_ahead",)
    assert outcome.colour is Colour.RED
    with sessions() as session:
        row = session.get(ReadingRow, "ahead-1")
        assert row is not None
        assert row.measured_at == NOW + timedelta(hours=2)
        assert row.classified_at == received
        assert row.flags == ["device_clock_ahead"]
        assert {f["at"] for f in row.findings} == {received.isoformat().replace("+00:00", "Z")}
        alert = session.scalars(select(AlertRow)).one()
        assert alert.opened_at == received


def test_a_gateway_clock_behind_is_flagged_and_the_device_time_kept(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A hub whose clock runs 40 minutes slow says it received a reading 40 minutes before
    the oximeter (whose clock agrees with the service's) measured it: the reading is flagged
    gateway_clock_behind, not device_clock_ahead, and classified at the device's time."""
    gw = gateway(world, COPD)
    measured = NOW - timedelta(minutes=2)
    [outcome] = ingest(
        sessions,
        [
            on(
                gw,
                reading(
                    "behind-1",
                    values={"spo2": 86},
                    measured_at=measured,
                    received_at=measured - timedelta(minutes=40),
                ),
            )
        ],
    )
    assert outcome.flags == ("gateway_clock_behind",)
    with sessions() as session:
        row = session.get(ReadingRow, "behind-1")
        assert row is not None
        assert row.flags == ["gateway_clock_behind"]
        assert row.classified_at == measured
        alert = session.scalars(select(AlertRow)).one()
        assert alert.opened_at == measured


def test_a_hub_behind_that_timed_a_right_device_is_flagged_behind(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A hub 40 minutes slow finds the oximeter's (right) clock "ahead" of its own and times
    the reading itself, sending the device's time along: the service, whose clock agrees
    with the device's, flags the hub's clock behind and classifies at the device's time."""
    gw = gateway(world, COPD)
    hub_time = NOW - timedelta(minutes=42)
    device_time = NOW - timedelta(minutes=2)
    [outcome] = ingest(
        sessions,
        [
            on(
                gw,
                reading(
                    "hub-behind-1",
                    values={"spo2": 86},
                    measured_at=hub_time,
                    received_at=hub_time,
                    device={
                        "profile": "plx",
                        "time_source": "gateway",
                        "clock": "wrong",
                        "device_time": device_time.isoformat(),
                    },
                ),
            )
        ],
    )
    assert outcome.flags == ("timed_by_gateway", "gateway_clock_behind")
    with sessions() as session:
        row = session.get(ReadingRow, "hub-behind-1")
        assert row is not None
        assert row.measured_at == hub_time  # stored as sent
        assert row.classified_at == device_time


def test_a_gateway_without_received_at_is_timed_by_the_service(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Without the gateway's receive time, the service's own receive time is stored."""
    [outcome] = ingest(sessions, [on(gateway(world, COPD), reading("no-rx", received_at=None))])
    assert outcome.status is OutcomeStatus.STORED
    with sessions() as session:
        row = session.get(ReadingRow, "no-rx")
        assert row is not None
        assert row.received_at == row.stored_at == NOW


def test_backfill_is_stored_as_history_without_alerts(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Readings a gateway kept through a three-day outage are stored and classified as history,
    flagged backfill, but open no alert and give no advice."""
    gw = gateway(world, COPD)
    old = NOW - timedelta(days=3)
    outcomes = ingest(
        sessions,
        [
            on(
                gw,
                reading(
                    f"old-{i}",
                    values={"spo2": 85},
                    measured_at=old + timedelta(hours=i),
                    received_at=old + timedelta(hours=i),
                ),
            )
            for i in range(3)
        ],
    )
    assert all(o.status is OutcomeStatus.STORED for o in outcomes)
    assert all(o.flags == ("backfill",) for o in outcomes)
    assert all(o.colour is Colour.RED and o.advice is None for o in outcomes)
    receipt = build_receipts(outcomes, NOW)[gw]
    assert {i.flags for i in receipt.items} == {("backfill",)}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 0
        row = session.get(ReadingRow, "old-0")
        assert row is not None
        assert row.colour == "red"
        assert row.findings
        assert row.flags == ["backfill"]


def test_a_report_is_stored_with_its_score(sessions: sessionmaker[Session], world: World) -> None:
    """A COPD patient who is more breathless and coughs more: the report is stored with score 2
    and turns yellow by the plan's symptom bands; a duplicate is answered the same."""
    patient = world.patients[COPD]
    answers = {**COPD_CALM, "breathlessness": "more", "cough": "more"}
    outcomes = ingest(
        sessions,
        [
            on(patient.gateway_id, report("rep-1", answers), "reports"),
            on(patient.gateway_id, report("rep-1", answers), "reports"),
        ],
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.STORED, OutcomeStatus.DUPLICATE]
    assert outcomes[0].colour is Colour.YELLOW
    assert outcomes[0].advice == patient.plan.actions[Colour.YELLOW].patient
    with sessions() as session:
        row = session.get(ReportRow, "rep-1")
        assert row is not None
        assert row.score == 2
        assert row.colour == "yellow"
        assert row.answers == answers
        assert row.questionnaire == "copd-daily"
        assert (row.plan_id, row.plan_version) == (patient.plan.plan_id, 1)
        assert [f["rule_id"] for f in row.findings if f["colour"] != "green"] == ["copd-symptoms"]
        alert = session.scalars(select(AlertRow)).one()
        assert alert.rule_id == "copd-symptoms"
    item = build_receipts(outcomes, NOW)[patient.gateway_id].items[0]
    assert (item.type, item.status, item.colour) == ("report", "stored", "yellow")


def test_a_discharged_patients_readings_are_dead_lettered(
    sessions: sessionmaker[Session], world: World
) -> None:
    """After discharge, a forgotten tablet's readings are kept as dead letters, not triaged."""
    patient = world.patients[COPD]
    with sessions.begin() as session:
        row = session.get(PatientRow, patient.id)
        assert row is not None
        row.state = "discharged"
    [outcome] = ingest(sessions, [on(patient.gateway_id, reading("after-1", values={"spo2": 80}))])
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.reason_code == "patient_discharged"
    assert outcome.receipt
    letters = dead_letters(sessions)
    assert "discharged" in letters["patient_discharged"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 0
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 0


def test_an_unbound_gateway_is_dead_lettered(sessions: sessionmaker[Session], world: World) -> None:
    """A hub not yet given to a patient cannot create data for anyone; it is told why."""
    [outcome] = ingest(sessions, [on(world.unbound_gateway_id, reading("unbound-1"))])
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.reason_code == "gateway_unbound"
    assert outcome.receipt
    assert "not bound to a patient" in dead_letters(sessions)["gateway_unbound"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 0


def test_the_patient_comes_from_the_gateway_never_from_the_payload(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A payload that names another patient is refused by the schema; nothing is stored for
    anyone."""
    other = world.patients[HYPERTENSION].id
    [outcome] = ingest(sessions, [on(gateway(world, COPD), reading("pid-1", patient_id=other))])
    assert outcome.reason_code == "schema"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 0


def test_a_patient_without_an_approved_plan_is_stored_unclassified(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Data from a patient whose plan is not yet approved is kept (flagged no_plan) for later."""
    with sessions.begin() as session:
        _, _ = _register(session, world, "gw-test-noplan", None)
    [outcome] = ingest(sessions, [on("gw-test-noplan", reading("np-1"))])
    assert outcome.status is OutcomeStatus.STORED
    assert outcome.colour is None
    assert outcome.flags == ("no_plan",)
    with sessions() as session:
        row = session.get(ReadingRow, "np-1")
        assert row is not None
        assert (row.colour, row.plan_id, row.findings) == (None, None, [])


def test_gateway_status_updates_online_and_last_seen(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The follow-up centre sees a hub go online, then offline via its last will; a reading
    also counts as a sign of life."""
    gw = gateway(world, COPD)
    online = json.dumps({"online": True, "battery": 80}).encode()
    ingest(sessions, [on(gw, online, "status")])
    with sessions() as session:
        row = session.get(GatewayRow, gw)
        assert row is not None
        assert (row.online, row.last_seen_at, row.status) == (
            True,
            NOW,
            {"online": True, "battery": 80},
        )
    later = NOW + timedelta(minutes=10)
    outcomes = ingest(sessions, [on(gw, b'{"online": false}', "status")], later)
    assert outcomes[0].status is OutcomeStatus.APPLIED
    assert not outcomes[0].receipt
    with sessions() as session:
        row = session.get(GatewayRow, gw)
        assert row is not None
        assert (row.online, row.last_seen_at) == (False, NOW)
    ingest(sessions, [on(gw, reading("alive-1"))], later + timedelta(minutes=5))
    with sessions() as session:
        row = session.get(GatewayRow, gw)
        assert row is not None
        assert row.last_seen_at == later + timedelta(minutes=5)


def test_store_commits_and_counts_outcomes(sessions: sessionmaker[Session], world: World) -> None:
    """An operator's counters show what was stored, duplicated and refused, by reason."""
    gw = gateway(world, COPD)
    counters = Counters()
    messages = [on(gw, reading("c-1")), on(gw, reading("c-1")), on(gw, b"nope")]
    outcomes = store(sessions, messages, SETTINGS, NOW, counters=counters)
    assert [o.status for o in outcomes] == ["stored", "duplicate", "rejected"]
    assert counters.snapshot() == {
        "duplicate": 1,
        "duplicate.readings": 1,
        "received": 3,
        "rejected": 1,
        "rejected.malformed_json": 1,
        "stored": 1,
        "stored.readings": 1,
    }
    with sessions() as session:
        assert session.get(ReadingRow, "c-1") is not None


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_batch_that_loses_a_race_for_an_id_is_retried_whole_and_answered_duplicate(
    sessions: sessionmaker[Session], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers get copies of one reading at once (a gateway resending on a shared
    subscription): the worker that loses the race retries its batch, answers that copy
    "duplicate" and stores the rest — no error logged as a bug, no split into halves.

    The other worker holds its copy written but uncommitted until this batch's COPY waits for
    it; then it commits, and this batch's COPY fails on the readings' primary key."""
    gw = gateway(world, COPD)
    written, release = threading.Event(), threading.Event()
    results: dict[str, list[Outcome]] = {}

    def hold(_messages: Sequence[Incoming]) -> None:
        written.set()
        assert release.wait(30)

    def first_worker() -> None:
        batch = [on(gw, reading("race-1"))]
        results["first"] = store(sessions, batch, SETTINGS, NOW, before_commit=hold)

    counters = Counters()

    def second_worker() -> None:
        batch = [on(gw, reading("race-1")), on(gw, reading("race-2"))]
        results["second"] = store(sessions, batch, SETTINGS, NOW, counters=counters)

    first = threading.Thread(target=first_worker)
    first.start()
    assert written.wait(30)
    with caplog.at_level(logging.WARNING, logger="triage.ingest.pipeline"):
        second = threading.Thread(target=second_worker)
        second.start()
        assert _until(lambda: _waiting_for_a_lock(sessions) >= 1), "the COPY did not wait"
        release.set()
        first.join(30)
        second.join(30)
    assert [o.status for o in results["first"]] == ["stored"]
    assert [(o.message_id, o.status) for o in results["second"]] == [
        ("race-1", "duplicate"),
        ("race-2", "stored"),
    ]
    assert counters.snapshot()["commit_retries"] == 1
    assert "split_batches" not in counters.snapshot()
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # the retry, not a bug report
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 2


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_batch_that_keeps_losing_races_still_answers_every_copy_duplicate(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A storm of resent copies (three other workers each storing one of this batch's ids at
    the very moment it does): the batch's two tries and then its halves
    each lose a race, and still every copy is answered "duplicate" — never a dead letter or a
    "rejected" receipt for a reading that is stored."""
    # one gateway per id: each worker also updates its gateway's row (last seen)
    sent = {
        "storm-x": gateway(world, COPD),
        "storm-z": gateway(world, HYPERTENSION),
        "storm-w": gateway(world, Condition.HEART_FAILURE),
    }
    ids = list(sent)
    others = {id_: _Holder(sessions, on(gw, reading(id_))) for id_, gw in sent.items()}
    for holder in others.values():
        holder.start()
    counters = Counters()
    results: list[Outcome] = []
    batch = [on(gw, reading(id_)) for id_, gw in sent.items()]
    worker = threading.Thread(
        target=lambda: results.extend(store(sessions, batch, SETTINGS, NOW, counters=counters))
    )
    worker.start()
    for id_ in ids:  # each time this batch waits for another worker's row, that one commits
        assert _until(lambda: _waiting_for_a_lock(sessions) >= 1), f"no wait before {id_}"
        others[id_].commit()
    worker.join(30)
    assert [(o.message_id, o.status) for o in results] == [(i, "duplicate") for i in ids]
    assert dead_letters(sessions) == {}
    assert counters.snapshot()["split_batches"] == 1


class _Holder:
    """Another worker storing one message, holding it written but uncommitted until told."""

    def __init__(self, sessions: sessionmaker[Session], message: Incoming) -> None:
        self._written, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(
            target=store,
            args=(sessions, [message], SETTINGS, NOW),
            kwargs={"before_commit": self._hold, "counters": Counters()},
        )

    def _hold(self, _messages: Sequence[Incoming]) -> None:
        self._written.set()
        assert self._release.wait(30)

    def start(self) -> None:
        self._thread.start()
        assert self._written.wait(30)

    def commit(self) -> None:
        self._release.set()
        self._thread.join(30)


def _waiting_for_a_lock(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(session.execute(text(query)).scalar_one())


def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.02)
    return True


def test_the_receipt_contract_document_matches_the_model() -> None:
    """docs/contracts/receipts.md shows the JSON Schema the service really sends."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- schema:begin -->\n```json\n(.*?)```\n<!-- schema:end -->", text, re.S)
    assert match, "docs/contracts/receipts.md has no generated schema block"
    assert json.loads(match.group(1)) == Receipt.model_json_schema(by_alias=True)


def _register(
    session: Session, world: World, gateway_id: str, condition: Condition | None
) -> tuple[GatewayRow, str]:

    centre = session.get(CentreRow, world.centre_id)
    municipality = session.get(MunicipalityRow, world.municipality_ids[0])
    assert centre is not None
    assert municipality is not None
    patient = seed.add_patient(
        session,
        display_name=f"Testpasient {gateway_id}",
        municipality=municipality,
        centre=centre,
        now=NOW,
        condition=condition,
    )
    if condition is not None:
        seed.add_approved_template_plan(session, patient, condition, "gp-test", NOW)
    return seed.register_gateway(session, patient, NOW, gateway_id=gateway_id)


def test_bad_call_requests_and_message_reads_are_dead_letters_with_receipts(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A call request with a time without offset, one with an unknown field, and a message read
    of a message that does not exist are rejected with their reasons, kept as dead letters and
    receipted with their item types; a good call request is stored, a repeat is a duplicate."""
    gw = gateway(world, COPD)
    asked = NOW.isoformat()
    outcomes = ingest(
        sessions,
        [
            on(
                gw,
                json.dumps(
                    {"schema": "dho.call-request/1", "id": "c-1", "asked_at": "2026-12-07T10:00:00"}
                ).encode(),
                "calls",
            ),
            on(
                gw,
                json.dumps(
                    {"schema": "dho.call-request/1", "id": "c-2", "asked_at": asked, "urgent": True}
                ).encode(),
                "calls",
            ),
            on(
                gw,
                json.dumps(
                    {
                        "schema": "dho.message-read/1",
                        "id": "m-1",
                        "message_id": "msg-none",
                        "read_at": asked,
                    }
                ).encode(),
                "message-reads",
            ),
            on(
                gw,
                json.dumps(
                    {"schema": "dho.call-request/1", "id": "c-3", "asked_at": asked}
                ).encode(),
                "calls",
            ),
            on(
                gw,
                json.dumps(
                    {"schema": "dho.call-request/1", "id": "c-3", "asked_at": asked}
                ).encode(),
                "calls",
            ),
        ],
    )
    assert [(o.message_id, o.status.value, o.reason_code) for o in outcomes] == [
        ("c-1", "rejected", "schema"),
        ("c-2", "rejected", "schema"),
        ("m-1", "rejected", "unknown_message"),
        ("c-3", "stored", None),
        ("c-3", "duplicate", None),
    ]
    receipt = build_receipts(outcomes, NOW)[gw]
    assert [(i.id, i.type.value) for i in receipt.items] == [
        ("c-1", "call_request"),
        ("c-2", "call_request"),
        ("m-1", "message_read"),
        ("c-3", "call_request"),
        ("c-3", "call_request"),
    ]
    letters = dead_letters(sessions)
    assert "dho.call-request/1" in letters["schema"]
    assert letters["unknown_message"] == "no message 'msg-none' for this gateway's patient"
    again = ingest(
        sessions,
        [
            on(
                gw,
                json.dumps(
                    {"schema": "dho.call-request/1", "id": "c-3", "asked_at": asked}
                ).encode(),
                "calls",
            )
        ],
    )
    assert again[0].status is OutcomeStatus.DUPLICATE


def test_a_call_request_id_used_by_two_gateways_is_a_conflict_in_one_batch_and_later(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The same call request id from another gateway, in the same batch or a later one, is
    refused as id_conflict: never answered "duplicate" for a request that was not its own."""
    body = json.dumps(
        {"schema": "dho.call-request/1", "id": "c-shared", "asked_at": NOW.isoformat()}
    ).encode()
    one, other = gateway(world, COPD), gateway(world, HYPERTENSION)
    first = ingest(sessions, [on(one, body, "calls"), on(other, body, "calls")])
    assert [(o.status.value, o.reason_code) for o in first] == [
        ("stored", None),
        ("rejected", "id_conflict"),
    ]
    [later] = ingest(sessions, [on(other, body, "calls")])
    assert later.reason_code == "id_conflict"
