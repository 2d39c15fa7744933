"""From a decoded device value to the ``dho.reading/1`` payload: kind, canonical units, an aware
time, and an id chosen once. Pure: no I/O, no clock reads (``received_at`` is passed in).

Time (docs/gateway.md): a device reports a naive local time (GATT Date Time has no zone); it
becomes aware in the hub's zone here, once. A device whose clock was never set (no time stamp,
year 0, an oximeter's "clock not set" bit) or is clearly wrong (before :data:`EARLIEST_PLAUSIBLE`,
or ahead of the hub by more than :data:`MAX_DEVICE_AHEAD`) is timed by the hub instead — the
time of receipt — and the payload says so in ``device.time_source = "gateway"`` with
``device.clock`` = ``"unset"`` or ``"wrong"``, so the service can flag the reading.

The id is a UUID derived from what identifies the measurement: the device's address, the
characteristic and the exact bytes it sent (which hold the device's own time stamp, or a glucose
record's sequence number). A device that sends the same stored record again — a cuff re-sending
its memory after a lost link, a meter asked twice — gives the same id, so the outbox and the
service keep it once. A value with no time of its own and no record number also hashes the
second it arrived (two equal untimed values are two measurements).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices import units
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.body_composition import BodyCompositionMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseType, SampleLocation
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxContinuousMeasurement, PlxSpotCheckMeasurement
from devices.characteristics.temperature import TemperatureMeasurement
from devices.characteristics.weight import WeightMeasurement
from devices.measurement import Measurement

READING_SCHEMA = "dho.reading/1"
REPORT_SCHEMA = "dho.report/1"
CALL_REQUEST_SCHEMA = "dho.call-request/1"
MESSAGE_READ_SCHEMA = "dho.message-read/1"

#: Device times before this are a clock that was reset, not a reading (no DHO device is older).
EARLIEST_PLAUSIBLE = datetime(2020, 1, 1)  # noqa: DTZ001 - compared with naive device times
#: A device clock further ahead of the hub than this is wrong (the service allows 5 min too).
MAX_DEVICE_AHEAD = timedelta(minutes=5)

#: Namespace of DHO reading ids (uuid5), fixed forever: changing it changes every id.
READING_ID_NAMESPACE = uuid.UUID("6f3c2a9e-2d1b-5e4f-9a57-4b3f0d1c8e20")


class NotAReadingError(ValueError):
    """The value holds no reading to publish (a control-solution test, an unsuccessful
    measurement, a characteristic that is not a measurement); the message says why."""


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """The device a value came from, as the payload's ``device`` object names it."""

    address: str
    profile: str
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """When a value was measured, and whether the device or the hub said so."""

    measured_at: datetime
    clock: str | None = None  # None: the device's clock; "unset" / "wrong": timed by the hub
    #: the device's own time when the hub found it too far ahead of its own clock: sent as
    #: ``device.device_time`` so that the service, whose clock may agree with the device's,
    #: can tell a hub clock running behind (docs/contracts/receipts.md, gateway_clock_behind)
    device_time: datetime | None = None


def measured_time(
    device_time: datetime | None,
    received_at: datetime,
    zone: ZoneInfo,
    *,
    clock_unset: bool = False,
) -> Timing:
    """The aware time of a value: the device's naive ``device_time`` in ``zone``, or
    ``received_at`` when the device's clock is unset or clearly wrong."""
    if device_time is None or clock_unset:
        return Timing(received_at, "unset")
    naive = device_time.replace(tzinfo=None)
    if naive < EARLIEST_PLAUSIBLE:
        return Timing(received_at, "wrong")
    # fold=0: in the repeated autumn hour a device cannot say which one it meant; take the first.
    aware = naive.replace(tzinfo=zone, fold=0)
    if aware - received_at > MAX_DEVICE_AHEAD:
        return Timing(received_at, "wrong", aware)
    return Timing(aware, None)


def reading_id(
    device: DeviceRef, characteristic: int, raw: bytes, received_at: datetime | None
) -> str:
    """The reading's id: the same bytes from the same device give the same id; ``received_at``
    (to the second) is mixed in only for values that carry no time of their own."""
    parts = [device.address.upper(), f"{characteristic:04x}", raw.hex()]
    if received_at is not None:
        parts.append(received_at.replace(microsecond=0).isoformat())
    return str(uuid.uuid5(READING_ID_NAMESPACE, "|".join(parts)))


def canonical_values(m: Measurement) -> tuple[str, dict[str, float], datetime | None, bool]:
    """(kind, values in DHO's canonical units, the device's naive time, clock-unset bit) of a
    decoded value; :class:`NotAReadingError` when it holds no reading."""
    if isinstance(m, BloodPressureMeasurement):

        def convert(value: float) -> float:  # cuffs show whole mmHg; one decimal is plenty
            return round(units.kpa_to_mmhg(value), 1) if m.unit == "kPa" else float(value)

        if m.systolic is None or m.diastolic is None:
            raise NotAReadingError("blood pressure without systolic and diastolic values")
        values = {"systolic": convert(m.systolic), "diastolic": convert(m.diastolic)}
        if m.mean_arterial_pressure is not None:
            values["mean"] = convert(m.mean_arterial_pressure)
        if m.pulse_rate is not None:
            values["pulse"] = float(m.pulse_rate)
        return "blood_pressure", values, m.timestamp, False
    if isinstance(m, PlxSpotCheckMeasurement | PlxContinuousMeasurement):
        if m.spo2 is None:
            raise NotAReadingError("SpO2 without a value")
        values = {"spo2": float(m.spo2)}
        if m.pulse_rate is not None:
            values["pulse"] = float(m.pulse_rate)
        if isinstance(m, PlxContinuousMeasurement):  # a sample of a stream: no time of its own
            return "spo2", values, None, False
        return "spo2", values, m.timestamp, m.device_clock_not_set
    if isinstance(m, GlucoseMeasurement):
        if (
            m.type == GlucoseType.CONTROL_SOLUTION
            or m.sample_location == SampleLocation.CONTROL_SOLUTION
        ):
            raise NotAReadingError(
                f"glucose record {m.sequence_number} is a control-solution test, not the patient"
            )
        if m.concentration is None:
            raise NotAReadingError(f"glucose record {m.sequence_number} has no concentration")
        mmol = (
            units.glucose_kg_per_l_to_mmol_per_l(m.concentration)
            if m.unit == "kg/L"
            else units.glucose_mol_per_l_to_mmol_per_l(m.concentration)
        )
        return "glucose", {"glucose": round(mmol, 2)}, m.timestamp, False
    if isinstance(m, TemperatureMeasurement):
        if m.temperature is None:
            raise NotAReadingError("temperature without a value")
        celsius = units.fahrenheit_to_celsius(m.temperature) if m.unit == "F" else m.temperature
        return "body_temperature", {"temperature": round(celsius, 2)}, m.timestamp, False
    if isinstance(m, WeightMeasurement | BodyCompositionMeasurement):
        if m.weight is None:
            raise NotAReadingError("weight measurement unsuccessful (no value)")
        kg = units.lb_to_kg(m.weight) if m.unit == "lb" else m.weight
        return "body_weight", {"weight": round(kg, 3)}, m.timestamp, False
    if isinstance(m, HeartRateMeasurement):
        return "heart_rate", {"pulse": float(m.heart_rate)}, None, False
    raise NotAReadingError(f"{type(m).__name__} is not a measurement DHO publishes")


def reading_payload(
    m: Measurement,
    *,
    characteristic: int,
    raw: bytes,
    device: DeviceRef,
    received_at: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The ``dho.reading/1`` payload for decoded value ``m`` (the bytes ``raw`` of
    ``characteristic``) received from ``device`` at ``received_at`` (aware)."""
    kind, values, device_time, clock_unset = canonical_values(m)
    timing = measured_time(device_time, received_at, zone, clock_unset=clock_unset)
    # a value with neither a time of its own nor a record number is told apart by its arrival
    numbered = isinstance(m, GlucoseMeasurement)
    untimed = timing.clock is not None and not numbered
    device_obj: dict[str, Any] = {"profile": device.profile, "address": device.address}
    if device.model:
        device_obj["model"] = device.model
    if timing.clock is not None:
        device_obj["time_source"] = "gateway"
        device_obj["clock"] = timing.clock
    if timing.device_time is not None:
        device_obj["device_time"] = timing.device_time.astimezone(zone).isoformat()
    if isinstance(m, GlucoseMeasurement):
        device_obj["sequence_number"] = m.sequence_number
    return {
        "schema": READING_SCHEMA,
        "id": reading_id(device, characteristic, raw, received_at if untimed else None),
        "kind": kind,
        "measured_at": timing.measured_at.astimezone(zone).isoformat(),
        "received_at": received_at.astimezone(zone).isoformat(),
        "values": values,
        "device": device_obj,
    }


def report_payload(
    message_id: str, questionnaire: str, answers: dict[str, str | int | bool], answered_at: datetime
) -> dict[str, Any]:
    """The ``dho.report/1`` payload for answers given on the tablet."""
    return {
        "schema": REPORT_SCHEMA,
        "id": message_id,
        "questionnaire": questionnaire,
        "answered_at": answered_at.isoformat(),
        "answers": answers,
    }


def call_request_payload(message_id: str, asked_at: datetime) -> dict[str, Any]:
    """The ``dho.call-request/1`` payload: the patient asked the centre to call ("ring meg")."""
    return {"schema": CALL_REQUEST_SCHEMA, "id": message_id, "asked_at": asked_at.isoformat()}


def message_read_payload(message_id: str, read_message: str, read_at: datetime) -> dict[str, Any]:
    """The ``dho.message-read/1`` payload: the patient read the nurse's message."""
    return {
        "schema": MESSAGE_READ_SCHEMA,
        "id": message_id,
        "message_id": read_message,
        "read_at": read_at.isoformat(),
    }


def status_payload(
    *, online: bool, depth: int | None = None, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The retained status on ``dho/v1/{gateway_id}/status``: ``{"online": false}`` as the
    last will and on a clean stop; online, the outbox ``depth`` (messages waiting for a receipt)
    and the hub's ``details`` (its devices, and an outbox warning when there is one)."""
    status: dict[str, Any] = {"online": online}
    if online:
        if depth is not None:
            status["depth"] = depth
        status.update(details or {})
    return status
