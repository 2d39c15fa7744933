"""What an emulated device would send for a simulated reading: the decoded GATT model.

Values in the units the device sends (blood pressure in mmHg, glucose in mol/L, temperature in
°C, weight in kg) and a *naive* local timestamp, as a device clock set to the hub's local time
reports it (GATT Date Time has no zone).
"""

from __future__ import annotations

from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseType, SampleLocation
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxSpotCheckMeasurement
from devices.characteristics.temperature import TemperatureMeasurement, TemperatureType
from devices.characteristics.weight import WeightMeasurement
from devices.measurement import Measurement
from devices.simulate.model import SimulatedReading

__all__ = ["to_device_measurement"]


def to_device_measurement(reading: SimulatedReading, *, sequence_number: int = 0) -> Measurement:
    """The device model an emulated device would send for ``reading``.

    ``sequence_number`` is the glucose meter's record number (a real meter counts its records);
    other kinds ignore it. Raises ``ValueError`` for a kind no device measures.
    """
    local = reading.measured_at.replace(tzinfo=None)
    v = reading.values
    if reading.kind == "blood_pressure":
        return BloodPressureMeasurement(
            systolic=v["systolic"],
            diastolic=v["diastolic"],
            mean_arterial_pressure=v.get("mean"),
            unit="mmHg",
            timestamp=local,
            pulse_rate=v.get("pulse"),
        )
    if reading.kind == "spo2":
        return PlxSpotCheckMeasurement(spo2=v["spo2"], pulse_rate=v.get("pulse"), timestamp=local)
    if reading.kind == "body_temperature":
        return TemperatureMeasurement(
            temperature=v["temperature"],
            unit="C",
            timestamp=local,
            temperature_type=TemperatureType.TYMPANUM,
        )
    if reading.kind == "body_weight":
        return WeightMeasurement(weight=v["weight"], unit="kg", timestamp=local)
    if reading.kind == "glucose":
        return GlucoseMeasurement(
            sequence_number=sequence_number,
            base_time=local,
            time_offset=0,
            concentration=round(v["glucose"] / 1000.0, 7),
            unit="mol/L",
            type=GlucoseType.CAPILLARY_PLASMA,
            sample_location=SampleLocation.FINGER,
        )
    if reading.kind == "heart_rate":
        return HeartRateMeasurement(heart_rate=round(v["pulse"]), sensor_contact=True)
    raise ValueError(f"no device sends {reading.kind!r} readings")
