"""No input, whatever its bytes, stops ingest: hostile payloads through the committing pipeline
(:func:`triage.ingest.store`) on SQLite and PostgreSQL. Each ends as a dead letter with its
bytes and a reason; the good message after it in the same batch is stored. (The same corpus
goes through the real MQTT consumer in test_ingest_mqtt.py.)"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.integration import bad_inputs
from tests.integration.conftest import NOW
from tests.integration.world import World
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import Counters, Incoming, OutcomeStatus, PlanCache, build_receipts, store
from triage.log_format import FieldsFormatter
from triage.storage.models import DeadLetterRow, ReadingRow, ReportRow

SETTINGS = Settings(demo=True)
CASES = bad_inputs.cases(NOW - timedelta(minutes=5))


def good(id_: str, channel: str) -> bytes:
    at = NOW - timedelta(minutes=4)
    if channel == "reports":
        return json.dumps(bad_inputs.report(id_, at)).encode()
    return json.dumps(bad_inputs.reading(id_, at)).encode()


def _groups() -> dict[str, list[str]]:
    """The cases by the field they break (``readings.measured_at``), whole-message cases
    (``readings=not_utf8``) in a group of their own."""
    groups: dict[str, list[str]] = {}
    for name in sorted(CASES):
        groups.setdefault(name.split("=")[0], []).append(name)
    return groups


GROUPS = _groups()


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_hostile_payloads_are_dead_lettered_and_the_messages_between_them_stored(
    sessions: sessionmaker[Session], world: World, group: str
) -> None:
    """One batch of every bad value of one field, each followed by a good message: whatever
    the bytes, each bad message is rejected with a reason (`schema`, `malformed_json`,
    `questionnaire`; never `internal_error`), kept as a dead letter with those bytes, the
    gateway's receipt names it when its id can be told, and every good message is stored."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    names = GROUPS[group]
    messages: list[Incoming] = []
    for n, name in enumerate(names):
        bad = CASES[name]
        follower = "reports" if bad.channel == "reports" else "readings"
        messages += [
            Incoming(topic=f"dho/v1/{gateway_id}/{bad.channel}", payload=bad.payload),
            Incoming(topic=f"dho/v1/{gateway_id}/{follower}", payload=good(f"ok-{n}", follower)),
        ]

    outcomes = store(sessions, messages, SETTINGS, NOW, plans=PlanCache())

    with sessions() as session:
        letters = {letter.payload: letter for letter in session.scalars(select(DeadLetterRow))}
        stored = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
        stored += session.scalar(select(func.count()).select_from(ReportRow)) or 0
    assert stored == len(names)
    for n, name in enumerate(names):
        bad, rejected, after = CASES[name], outcomes[2 * n], outcomes[2 * n + 1]
        assert rejected.status is OutcomeStatus.REJECTED, (name, rejected)
        assert rejected.reason_code in ("schema", "malformed_json", "questionnaire"), name
        assert rejected.reason, name
        assert rejected.message_id == bad.message_id, name
        assert rejected.receipt is (bad.channel != "status"), name
        assert after.status is OutcomeStatus.STORED, (name, after)
        letter = letters[bad.payload]
        assert (letter.reason_code, letter.reason) == (rejected.reason_code, rejected.reason)
        assert letter.topic == messages[2 * n].topic


TIME_REASONS = {
    "epoch": "must be an ISO 8601 date and time with seconds and its UTC offset",
    "space_for_t": "must be an ISO 8601 date and time with seconds and its UTC offset",
    "year_1": "is outside the years 1900–2999",
    "year_9999": "is outside the years 1900–2999",
}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", sorted(TIME_REASONS))
def test_a_time_that_is_not_iso_8601_with_offset_says_so(
    sessions: sessionmaker[Session], world: World, name: str
) -> None:
    """An epoch number, a space for the T, or a year the service cannot convert is refused as
    `schema` with a reason that names the field and what the contract wants."""
    [outcome] = store(
        sessions,
        [
            Incoming(
                topic=f"dho/v1/{world.patients[Condition.COPD].gateway_id}/readings",
                payload=CASES[f"readings.measured_at={name}"].payload,
            )
        ],
        SETTINGS,
        NOW,
    )
    assert (outcome.reason_code, outcome.message_id) == ("schema", "fuzz-r3")
    assert outcome.reason is not None
    assert f"measured_at: Value error, {TIME_REASONS[name]}" in outcome.reason


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_duplicate_keys_are_refused_with_the_key_named(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A payload that says `kind` twice is refused: which one would the service believe?"""
    [outcome] = store(
        sessions,
        [
            Incoming(
                topic=f"dho/v1/{world.patients[Condition.COPD].gateway_id}/readings",
                payload=CASES["readings=duplicate_key"].payload,
            )
        ],
        SETTINGS,
        NOW,
    )
    assert (outcome.reason_code, outcome.reason) == (
        "schema",
        'not a valid dho.reading/1: duplicate key "kind"',
    )


@pytest.fixture
def refuse_dead_letters(engine: Engine) -> Iterator[bytes]:
    """The database refuses to store a dead letter with this payload (a trigger): the worst
    case, a message that cannot even be dead-lettered."""
    marker = b'{"refuse": "this dead letter"}'
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON dead_letters "
                    f"WHEN NEW.payload = X'{marker.hex()}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.payload = '\\x{marker.hex()}'::bytea THEN "
                    "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON dead_letters "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    yield marker
    with engine.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER refuse"
                + ("" if engine.dialect.name == "sqlite" else " ON dead_letters")
            )
        )
        if engine.dialect.name != "sqlite":
            connection.execute(text("DROP FUNCTION refuse()"))


def test_a_message_that_cannot_even_be_dead_lettered_is_logged_with_its_bytes_and_answered(
    sessions: sessionmaker[Session],
    world: World,
    refuse_dead_letters: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch that fails because of one message is split so the others commit; the message
    that fails alone and whose dead letter the database refuses too is answered rejected
    (`internal_error`) and logged at ERROR with its bytes — never retried for ever."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    poison = refuse_dead_letters
    topic = f"dho/v1/{gateway_id}/readings"
    messages = [Incoming(topic, good(f"ok-{i}", "readings")) for i in range(7)]
    messages.insert(5, Incoming(topic, poison))
    commits: list[int] = []

    def fail_with_the_poison(batch: Sequence[Incoming]) -> None:
        commits.append(len(batch))
        if any(m.payload == poison for m in batch):
            raise ValueError("a fault tied to one message")

    counters = Counters()
    with caplog.at_level(logging.ERROR, logger="triage.ingest.pipeline"):
        outcomes = store(
            sessions, messages, SETTINGS, NOW, before_commit=fail_with_the_poison, counters=counters
        )

    assert [o.status.value for o in outcomes] == ["stored"] * 5 + ["rejected"] + ["stored"] * 2
    assert outcomes[5].reason_code == "internal_error"
    assert outcomes[5].reason == "could not be stored: ValueError: a fault tied to one message"
    # bisected: the whole, its halves, the failing half's halves, the poison alone, the rest
    assert commits == [8, 4, 4, 2, 1, 1, 2]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 7
        assert session.scalar(select(func.count()).select_from(DeadLetterRow)) == 0
    [line] = [
        FieldsFormatter().format(r)
        for r in caplog.records
        if r.getMessage().startswith("message acknowledged without a dead letter")
    ]
    assert "payload_base64=eyJyZWZ1c2UiOiAidGhpcyBkZWFkIGxldHRlciJ9" in line
    assert f"topic={topic}" in line
    assert counters.snapshot()["dead_letter_failed"] == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_too_large_message_is_answered_under_its_id(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A reading over 64 KiB is refused unread, but its receipt and dead letter name the id
    from the start of the payload, so the gateway can match the answer to its message."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    payload = bad_inputs.reading("big-1", NOW - timedelta(minutes=5))
    payload["device"] = {"blob": "x" * 70_000}
    message = Incoming(f"dho/v1/{gateway_id}/readings", json.dumps(payload).encode())

    outcomes = store(sessions, [message], SETTINGS, NOW)

    [item] = build_receipts(outcomes, NOW)[gateway_id].items
    assert (item.id, item.status, item.reason_code) == ("big-1", "rejected", "too_large")
    with sessions() as session:
        letter = session.scalars(select(DeadLetterRow)).one()
    assert (letter.message_id, letter.reason_code) == ("big-1", "too_large")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_rejected_log_line_names_reason_topic_gateway_and_id(
    sessions: sessionmaker[Session], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator's log line for a rejected message says which reason code, topic, gateway
    and message id (no vital values)."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    topic = f"dho/v1/{gateway_id}/readings"
    with caplog.at_level(logging.INFO, logger="triage.ingest.pipeline"):
        store(sessions, [Incoming(topic, CASES["readings.kind=nul"].payload)], SETTINGS, NOW)
    [line] = [
        FieldsFormatter().format(r) for r in caplog.records if r.getMessage() == "message rejected"
    ]
    assert line.endswith(
        f"message rejected reason_code=schema topic={topic} gateway_id={gateway_id} "
        "message_id=fuzz-r2 source=mqtt"
    )
