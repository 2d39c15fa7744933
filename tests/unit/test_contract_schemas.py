"""The published JSON Schemas (docs/contracts/schemas/) are the payloads as the code writes and
reads them: up to date with the models, met by what the gateway really builds, and refusing what
the service refuses."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema  # type: ignore[import-untyped]
import pytest
from pydantic import BaseModel, ValidationError

from devices.characteristics import blood_pressure, glucose, heart_rate, plx, temperature, weight
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseType, SampleLocation
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxSpotCheckMeasurement
from devices.characteristics.temperature import TemperatureMeasurement
from devices.characteristics.weight import WeightMeasurement
from gateway.outbox import Channel, Outbox
from gateway.payloads import DeviceRef, status_payload
from gateway.recorder import Outcome as Recorded
from gateway.recorder import Recorder
from triage.api.schemas import IngestResult
from triage.contract_schemas import REGENERATE, SCHEMAS, render_schema
from triage.domain.colours import Colour, Text
from triage.domain.questionnaires import COPD_DAILY
from triage.domain.readings import REQUIRED_KEYS, VALUE_KEYS, Kind
from triage.ingest.pipeline import Channel as ServiceChannel
from triage.ingest.pipeline import Outcome, OutcomeStatus
from triage.ingest.receipts import build_receipts, receipt_item
from triage.ingest.schemas import ReadingPayload, Receipt, ReportPayload, StatusPayload

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts"
FOLDER = DOCS / "schemas"
OSLO = ZoneInfo("Europe/Oslo")
RECEIVED = datetime(2026, 11, 23, 8, 14, 7, tzinfo=OSLO)
DEVICE_TIME = datetime(2026, 11, 23, 8, 14, 5)  # noqa: DTZ001 - device clocks have no zone


def validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for the *published* file (not the model), checking formats too."""
    schema = json.loads((FOLDER / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def problems(name: str, instance: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(instance)]


# ----------------------------------------------------------------------------- in sync


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_published_schema_is_what_the_models_say(name: str) -> None:
    """An integrator reading docs/contracts/schemas/ gets the contract the service enforces."""
    path = FOLDER / name
    assert path.exists(), f"{path} is missing; write it with `{REGENERATE}`"
    assert path.read_text(encoding="utf-8") == render_schema(name), (
        f"{path} is out of date; regenerate the schemas with `{REGENERATE}`"
    )


def test_no_schema_file_is_left_over() -> None:
    """A schema that no longer exists is not published (the command removes it)."""
    assert {p.name for p in FOLDER.glob("*.json")} == set(SCHEMAS)


def test_the_contracts_page_links_every_schema_and_the_openapi_document() -> None:
    """docs/contracts/README.md lists each schema file, so none is published unexplained."""
    text = (DOCS / "README.md").read_text(encoding="utf-8")
    for name in SCHEMAS:
        assert f"(schemas/{name})" in text, f"docs/contracts/README.md does not link {name}"
    assert "(../api/openapi.json)" in text


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_is_valid_json_schema_2020_12(name: str) -> None:
    """The files load in any JSON Schema tool: a meta-schema check, and the dialect named."""
    schema = json.loads((FOLDER / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# ------------------------------------------------------------------ what the gateway builds

CUFF = DeviceRef("A4:C1:38:00:11:22", "blood_pressure", "A&D Medical UA-651BLE")
OXIMETER = DeviceRef("A4:C1:38:00:11:23", "plx", "Nonin 3230")
METER = DeviceRef("A4:C1:38:00:11:24", "glucose", "Contour Next One")
THERMOMETER = DeviceRef("A4:C1:38:00:11:25", "thermometer")
SCALE = DeviceRef("A4:C1:38:00:11:26", "weight_scale", "A&D UC-352BLE")
STRAP = DeviceRef("A4:C1:38:00:11:27", "heart_rate")

#: (device, characteristic, the bytes a device sends — made by the devices' own encoders)
DEVICE_VALUES: dict[str, tuple[DeviceRef, int, bytes]] = {
    "blood pressure in kPa": (
        CUFF,
        0x2A35,
        blood_pressure.encode(
            BloodPressureMeasurement(
                systolic=18.9,
                diastolic=12.1,
                mean_arterial_pressure=14.4,
                unit="kPa",
                timestamp=DEVICE_TIME,
                pulse_rate=77,
            ),
            exponent=-1,
        ),
    ),
    "spot-check SpO2 with an unset clock": (
        OXIMETER,
        0x2A5E,
        plx.encode_spot_check(
            PlxSpotCheckMeasurement(spo2=93, pulse_rate=104, device_clock_not_set=True)
        ),
    ),
    "glucose in mol/L": (
        METER,
        0x2A18,
        glucose.encode_measurement(
            GlucoseMeasurement(
                sequence_number=12,
                base_time=DEVICE_TIME,
                concentration=0.0061,
                unit="mol/L",
                type=GlucoseType.CAPILLARY_PLASMA,
                sample_location=SampleLocation.FINGER,
            )
        ),
    ),
    "temperature in °F": (
        THERMOMETER,
        0x2A1C,
        temperature.encode(
            TemperatureMeasurement(temperature=100.4, unit="F", timestamp=DEVICE_TIME)
        ),
    ),
    "weight in lb": (
        SCALE,
        0x2A9D,
        weight.encode_measurement(WeightMeasurement(weight=176.4, unit="lb", timestamp=None)),
    ),
    "heart rate": (STRAP, 0x2A37, heart_rate.encode(HeartRateMeasurement(heart_rate=72))),
}


def kept(tmp_path: Path, device: DeviceRef, characteristic: int, raw: bytes) -> dict[str, Any]:
    """What the gateway keeps (and publishes) for ``raw``: through its recorder into a real
    outbox file, read back as the bytes the publisher sends."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        recorded = Recorder(outbox, OSLO, lambda: RECEIVED).record(device, characteristic, raw)
        assert recorded.outcome is Recorded.KEPT
        [message] = outbox.due(RECEIVED)
        assert message.channel is Channel.READINGS
        payload: dict[str, Any] = json.loads(message.payload)
        return payload
    finally:
        outbox.close()


@pytest.mark.parametrize("case", sorted(DEVICE_VALUES))
def test_what_the_gateway_publishes_meets_the_reading_schema(case: str, tmp_path: Path) -> None:
    """Every kind of device value, after the gateway's conversions, is a valid dho.reading/1 by
    the published schema, and the service's model accepts it too."""
    payload = kept(tmp_path, *DEVICE_VALUES[case])
    assert problems("reading.json", payload) == []
    assert problems("http-readings-request.json", payload) == []
    assert problems("http-readings-request.json", [payload, payload]) == []
    ReadingPayload.model_validate(payload)


def test_questionnaire_answers_from_the_tablet_meet_the_report_schema(tmp_path: Path) -> None:
    """`dho gateway report` keeps answers that the published report schema accepts."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        answers: dict[str, str | int | bool] = {
            item.id: item.options[0].value for item in COPD_DAILY.items
        }
        Recorder(outbox, OSLO, lambda: RECEIVED).report(
            "6d1f0c2e-1b7a-4f0e-9d55-3c2a1b0e9f88", COPD_DAILY.id, answers
        )
        [message] = outbox.due(RECEIVED)
    finally:
        outbox.close()
    payload = json.loads(message.payload)
    assert problems("report.json", payload) == []
    assert problems("http-reports-request.json", [payload]) == []
    ReportPayload.model_validate(payload)


def test_the_gateways_status_and_last_will_meet_the_status_schema() -> None:
    """The retained status online (with outbox depth, devices and a warning) and the last will
    are both valid gateway status messages."""
    online = status_payload(
        online=True,
        depth=3,
        details={
            "devices": [{"address": CUFF.address, "profile": CUFF.profile, "battery": 80}],
            "warning": {"nb": "Nettbrettet har …", "en": "The tablet holds …"},
        },
    )
    for message in (online, status_payload(online=False)):
        assert problems("status.json", message) == []
        StatusPayload.model_validate(message)
    assert status_payload(online=False) == {"online": False}


# ------------------------------------------------------------------- what the service sends


def outcome(message_id: str, status: OutcomeStatus, **fields: Any) -> Outcome:
    return Outcome(
        gateway_id="gw-3f1c9a52",
        message_id=message_id,
        channel=ServiceChannel.READINGS,
        status=status,
        receipt=True,
        **fields,
    )


OUTCOMES = [
    outcome(
        "3f1c9a52-6a3e-4f5b-9a55-0c2f0f4b8e11",
        OutcomeStatus.STORED,
        colour=Colour.RED,
        advice=Text(nb="Ring legevakten på 116 117 nå.", en="Call 116 117 now."),
        flags=("device_clock_ahead",),
    ),
    outcome("0c1d7e2b-3c50-4a6f-8f1e-2a5b6c7d8e9f", OutcomeStatus.DUPLICATE),
    outcome(
        "9b2e4c6d-8f10-4a3b-9c5d-7e6f5a4b3c2d",
        OutcomeStatus.REJECTED,
        reason_code="implausible",
        reason="spo2 30 % is outside the plausible range 50–100 %",
    ),
]


def test_the_receipt_the_service_publishes_meets_the_receipt_schema() -> None:
    """A receipt built from committed outcomes, as sent on the wire, is a valid dho.receipt/1."""
    [receipt] = build_receipts(OUTCOMES, datetime(2026, 11, 23, 7, 14, 7, tzinfo=UTC)).values()
    assert problems("receipt.json", json.loads(receipt.to_json())) == []


def test_the_http_ingest_answer_meets_the_response_schema() -> None:
    """The 200 answer of POST /readings (as FastAPI serialises it) is valid by its schema."""
    result = IngestResult(
        gateway_id="gw-3f1c9a52",
        received_at=datetime(2026, 11, 23, 7, 14, 7, tzinfo=UTC),
        stored=1,
        duplicate=1,
        rejected=1,
        items=[receipt_item(o) for o in OUTCOMES],
    )
    assert problems("http-ingest-response.json", json.loads(result.model_dump_json())) == []


# ----------------------------------------------------------------------------- what is refused


def a_reading(tmp_path: Path) -> dict[str, Any]:
    return kept(tmp_path, *DEVICE_VALUES["blood pressure in kPa"])


def mutate(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def apply(payload: dict[str, Any]) -> dict[str, Any]:
        changed = copy.deepcopy(payload)
        change(changed)
        return changed

    return apply


INVALID_READINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "no id": mutate(lambda p: p.pop("id")),
    "an id with a space": mutate(lambda p: p.update(id="not an id")),
    "another schema": mutate(lambda p: p.update(schema="dho.reading/2")),
    "an unknown kind": mutate(lambda p: p.update(kind="cholesterol")),
    "a field the contract does not have": mutate(lambda p: p.update(patient_id="p-1")),
    "a value sent as text": mutate(lambda p: p["values"].update(systolic="142")),
    "a value sent as true": mutate(lambda p: p["values"].update(pulse=True)),
    "no measured_at": mutate(lambda p: p.pop("measured_at")),
    "values not an object": mutate(lambda p: p.update(values=[142, 91])),
}


@pytest.mark.parametrize("case", sorted(INVALID_READINGS))
def test_a_broken_reading_is_refused_by_the_schema_and_by_the_service(
    case: str, tmp_path: Path
) -> None:
    """The published schema refuses what the service would dead-letter as `schema`."""
    payload = INVALID_READINGS[case](a_reading(tmp_path))
    assert problems("reading.json", payload) != []
    assert problems("http-readings-request.json", payload) != []
    with pytest.raises(ValidationError):
        ReadingPayload.model_validate(payload)


def values_cases(kind: Kind) -> list[tuple[dict[str, float], bool]]:
    """(values, valid?) for ``kind``: the required keys alone; each one left out; one key that
    belongs only to other kinds added."""
    required = dict.fromkeys(REQUIRED_KEYS[kind], 1.0)
    cases = [(required, True)]
    cases += [({k: v for k, v in required.items() if k != key}, False) for key in required]
    others = {key for keys in VALUE_KEYS.values() for key in keys} - VALUE_KEYS[kind].keys()
    cases.append(({**required, min(others): 1.0}, False))
    return cases


@pytest.mark.parametrize("kind", list(Kind))
def test_the_schema_knows_the_value_keys_of_every_kind(kind: Kind) -> None:
    """Per kind, the schema and the service agree: the required keys suffice, a missing
    required key and a key of another kind are refused by both."""
    for values, valid in values_cases(kind):
        payload = {
            "schema": "dho.reading/1",
            "id": "r-1",
            "kind": kind.value,
            "measured_at": "2026-11-23T08:14:05+01:00",
            "values": values,
        }
        assert (problems("reading.json", payload) == []) is valid, values
        assert accepts(ReadingPayload, payload) is valid, values


def accepts(model: type[BaseModel], payload: dict[str, Any]) -> bool:
    try:
        model.model_validate(payload)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("report.json", {"schema": "dho.report/1", "id": "a-1", "questionnaire": "cat"}),
        (
            "report.json",
            {
                "schema": "dho.report/1",
                "id": "a-1",
                "questionnaire": "cat",
                "answered_at": "2026-11-23T08:14:05+01:00",
                "answers": {"cough": 1.5},
            },
        ),
        ("status.json", {"depth": 3}),
        ("status.json", {"online": "sometimes"}),
        ("http-readings-request.json", [{"schema": "dho.reading/1"}]),
    ],
)
def test_other_broken_payloads_are_refused(name: str, payload: Any) -> None:
    """A report without its time and answers, an answer that is a fraction, a status without
    `online` or with a word for it, an array holding a broken reading: all refused."""
    assert problems(name, payload) != []


def test_a_naive_timestamp_is_refused_by_the_schema_and_the_service(tmp_path: Path) -> None:
    """`measured_at` without its UTC offset is refused by the service (it cannot know the
    zone), and the schema says so: a date-time that ends in its offset."""
    payload = a_reading(tmp_path)
    payload["measured_at"] = re.sub(r"[+-]\d\d:\d\d$", "", payload["measured_at"])
    assert payload["measured_at"] == "2026-11-23T08:14:05"
    with pytest.raises(ValidationError):
        ReadingPayload.model_validate(payload)
    assert problems("reading.json", payload) != []


def test_receipt_schema_in_receipts_md_and_the_file_agree() -> None:
    """docs/contracts/receipts.md shows the same schema as schemas/receipt.json."""
    text = (DOCS / "receipts.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- schema:begin -->\n```json\n(.*?)```\n<!-- schema:end -->", text, re.S)
    assert match
    published = json.loads((FOLDER / "receipt.json").read_text(encoding="utf-8"))
    published.pop("$schema")
    assert json.loads(match.group(1)) == published == Receipt.model_json_schema(by_alias=True)


def test_the_kinds_table_of_the_contracts_page_matches_the_code() -> None:
    """The table of kinds, value keys and units in docs/contracts/README.md is the code's."""
    text = (DOCS / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- kinds:begin -->\n(.*?)<!-- kinds:end -->", text, re.S)
    assert match, "docs/contracts/README.md has no kinds table"
    rows = [line.strip() for line in match.group(1).splitlines() if line.strip()][2:]
    table = {}
    for row in rows:
        kind, required, optional, unit = (cell.strip() for cell in row.strip("|").split("|"))
        table[kind.strip("`")] = (
            set(re.findall(r"`(\w+)`", required)),
            set(re.findall(r"`(\w+)`", optional)),
            unit,
        )
    assert set(table) == {kind.value for kind in Kind}
    for kind in Kind:
        required, optional, unit = table[kind.value]
        assert required == set(REQUIRED_KEYS[kind]), kind
        assert optional == set(VALUE_KEYS[kind]) - REQUIRED_KEYS[kind], kind
        for parameter in VALUE_KEYS[kind].values():
            assert parameter.unit in unit, (kind, parameter)
