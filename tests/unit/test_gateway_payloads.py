"""The gateway's payloads: canonical units, the hub's zone, unset or wrong device clocks, and ids
that stay the same when a device sends the same measurement again."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devices.characteristics import blood_pressure, glucose
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseType, SampleLocation
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxSpotCheckMeasurement
from devices.characteristics.temperature import TemperatureMeasurement
from devices.characteristics.weight import WeightMeasurement
from gateway.payloads import (
    DeviceRef,
    NotAReadingError,
    Timing,
    canonical_values,
    measured_time,
    reading_payload,
)

OSLO = ZoneInfo("Europe/Oslo")
CUFF = DeviceRef("A4:C1:38:00:11:22", "blood_pressure", "A&D Medical UA-651BLE")
RECEIVED = datetime(2026, 11, 23, 8, 14, 7, tzinfo=OSLO)


def plasma(sequence_number: int, concentration: float, unit: str) -> GlucoseMeasurement:
    """A capillary-plasma finger-stick record."""
    return GlucoseMeasurement.model_validate(
        {
            "sequence_number": sequence_number,
            "concentration": concentration,
            "unit": unit,
            "type": GlucoseType.CAPILLARY_PLASMA,
            "sample_location": SampleLocation.FINGER,
        }
    )


def naive(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A device's local wall-clock time (no zone)."""
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("device_time", "expected"),
    [
        # winter: Oslo is UTC+1
        (naive(2026, 11, 23, 8, 14, 5), Timing(datetime(2026, 11, 23, 8, 14, 5, tzinfo=OSLO))),
        # at and one second past the 5-minute tolerance for a device clock ahead of the hub
        (naive(2026, 11, 23, 8, 19, 7), Timing(datetime(2026, 11, 23, 8, 19, 7, tzinfo=OSLO))),
        # (its own time is kept for the service, which can tell a hub clock behind by it)
        (
            naive(2026, 11, 23, 8, 19, 8),
            Timing(RECEIVED, "wrong", datetime(2026, 11, 23, 8, 19, 8, tzinfo=OSLO)),
        ),
        # a clock reset to its factory date
        (naive(2000, 1, 1, 0, 3), Timing(RECEIVED, "wrong")),
        (naive(2019, 12, 31, 23, 59, 59), Timing(RECEIVED, "wrong")),
        # stored weeks ago is fine
        (naive(2026, 10, 1, 7, 0), Timing(datetime(2026, 10, 1, 7, 0, tzinfo=OSLO))),
        (None, Timing(RECEIVED, "unset")),
    ],
)
def test_device_times_become_aware_in_the_hubs_zone_unless_the_clock_is_unset_or_wrong(
    device_time: datetime | None, expected: Timing
) -> None:
    """A nurse sees when the patient measured; a device with a bad clock is timed by the hub."""
    assert measured_time(device_time, RECEIVED, OSLO) == expected


def test_summer_time_and_the_repeated_autumn_hour() -> None:
    """In summer a device's 08:00 is 06:00 UTC; 02:30 on the autumn change is the first one."""
    summer = measured_time(naive(2026, 7, 1, 8, 0), datetime(2026, 7, 1, 9, 0, tzinfo=OSLO), OSLO)
    assert summer.measured_at.utcoffset() == timedelta(hours=2)
    autumn = measured_time(
        naive(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 4, 0, tzinfo=OSLO), OSLO
    )
    assert autumn.measured_at.utcoffset() == timedelta(hours=2)


def test_an_oximeter_saying_its_clock_is_unset_is_timed_by_the_hub() -> None:
    """The PLX "clock not set" bit wins over the time the oximeter sends."""
    m = PlxSpotCheckMeasurement(
        spo2=91, pulse_rate=88, timestamp=naive(2026, 11, 23, 8, 0), device_clock_not_set=True
    )
    assert canonical_values(m) == ("spo2", {"spo2": 91.0, "pulse": 88.0}, m.timestamp, True)


@pytest.mark.parametrize(
    ("measurement", "kind", "values"),
    [
        (
            BloodPressureMeasurement(
                systolic=18.0,
                diastolic=12.0,
                mean_arterial_pressure=14.0,
                unit="kPa",
                pulse_rate=70,
            ),
            "blood_pressure",
            {
                "systolic": 135.0,
                "diastolic": 90.0,
                "mean": 105.0,
                "pulse": 70.0,
            },
        ),
        (
            plasma(4, 0.001, "kg/L"),
            "glucose",
            {"glucose": 5.55},
        ),
        (
            plasma(5, 0.0072, "mol/L"),
            "glucose",
            {"glucose": 7.2},
        ),
        (
            TemperatureMeasurement(temperature=100.4, unit="F"),
            "body_temperature",
            {"temperature": 38.0},
        ),
        (WeightMeasurement(weight=176.4, unit="lb"), "body_weight", {"weight": 80.014}),
        (HeartRateMeasurement(heart_rate=64, sensor_contact=True), "heart_rate", {"pulse": 64.0}),
    ],
)
def test_values_are_published_in_the_contracts_units(
    measurement: object, kind: str, values: dict[str, float]
) -> None:
    """kPa → mmHg, kg/L and mol/L → mmol/L, °F → °C, lb → kg, before anything is published."""
    got_kind, got_values, _time, _unset = canonical_values(measurement)  # type: ignore[arg-type]
    assert (got_kind, got_values) == (kind, values)


@pytest.mark.parametrize(
    ("measurement", "why"),
    [
        (
            GlucoseMeasurement(
                sequence_number=9,
                concentration=0.0055,
                unit="mol/L",
                type=GlucoseType.CONTROL_SOLUTION,
                sample_location=SampleLocation.NOT_AVAILABLE,
            ),
            "control-solution",
        ),
        (
            GlucoseMeasurement(
                sequence_number=10,
                concentration=0.0055,
                unit="mol/L",
                type=GlucoseType.CAPILLARY_PLASMA,
                sample_location=SampleLocation.CONTROL_SOLUTION,
            ),
            "control-solution",
        ),
        (WeightMeasurement(weight=None, unit="kg"), "unsuccessful"),
        (TemperatureMeasurement(temperature=None, unit="C"), "without a value"),
    ],
)
def test_what_is_not_the_patients_reading_is_not_published(measurement: object, why: str) -> None:
    """A meter's control-solution test or a failed weighing never reaches the nurse as a value."""
    with pytest.raises(NotAReadingError, match=why):
        canonical_values(measurement)  # type: ignore[arg-type]


def cuff_bytes(timestamp: datetime | None) -> tuple[BloodPressureMeasurement, bytes]:
    m = BloodPressureMeasurement(
        systolic=142,
        diastolic=91,
        mean_arterial_pressure=None,
        unit="mmHg",
        timestamp=timestamp,
        pulse_rate=77,
    )
    return m, blood_pressure.encode(m)


def test_the_whole_payload_of_a_cuff_reading() -> None:
    """The dho.reading/1 payload as docs/contracts/README.md shows it."""
    m, raw = cuff_bytes(naive(2026, 11, 23, 8, 14, 5))
    payload = reading_payload(
        m, characteristic=0x2A35, raw=raw, device=CUFF, received_at=RECEIVED, zone=OSLO
    )
    assert payload == {
        "schema": "dho.reading/1",
        "id": payload["id"],
        "kind": "blood_pressure",
        "measured_at": "2026-11-23T08:14:05+01:00",
        "received_at": "2026-11-23T08:14:07+01:00",
        "values": {"systolic": 142.0, "diastolic": 91.0, "pulse": 77.0},
        "device": {
            "profile": "blood_pressure",
            "address": "A4:C1:38:00:11:22",
            "model": "A&D Medical UA-651BLE",
        },
    }


def test_the_same_measurement_sent_again_keeps_its_id_and_another_gets_a_new_one() -> None:
    """Ids are chosen once: a re-sent stored reading is the same message; a new one is not."""
    m, raw = cuff_bytes(naive(2026, 11, 23, 8, 14, 5))

    def id_of(raw: bytes, received: datetime, device: DeviceRef = CUFF) -> str:
        return str(
            reading_payload(
                m, characteristic=0x2A35, raw=raw, device=device, received_at=received, zone=OSLO
            )["id"]
        )

    first = id_of(raw, RECEIVED)
    assert id_of(raw, RECEIVED + timedelta(hours=3)) == first  # re-sent later: same id
    _, other = cuff_bytes(naive(2026, 11, 23, 8, 16, 0))
    assert id_of(other, RECEIVED) != first  # measured again two minutes later
    other_cuff = DeviceRef("A4:C1:38:00:11:23", "blood_pressure")
    assert id_of(raw, RECEIVED, other_cuff) != first  # the same bytes from another cuff

    # untimed: two equal values arriving a minute apart are two measurements
    untimed, untimed_raw = cuff_bytes(None)
    a = reading_payload(
        untimed,
        characteristic=0x2A35,
        raw=untimed_raw,
        device=CUFF,
        received_at=RECEIVED,
        zone=OSLO,
    )
    b = reading_payload(
        untimed,
        characteristic=0x2A35,
        raw=untimed_raw,
        device=CUFF,
        received_at=RECEIVED + timedelta(minutes=1),
        zone=OSLO,
    )
    assert a["id"] != b["id"]
    assert a["device"]["time_source"] == "gateway"


def test_a_glucose_record_is_identified_by_its_number_even_without_a_time() -> None:
    """A meter asked twice for a record it stored with its clock unset: one id."""
    m = plasma(12, 0.0061, "mol/L")
    raw = glucose.encode_measurement(m)
    ids = {
        reading_payload(m, characteristic=0x2A18, raw=raw, device=CUFF, received_at=at, zone=OSLO)[
            "id"
        ]
        for at in (RECEIVED, RECEIVED + timedelta(days=1))
    }
    assert len(ids) == 1
