"""``decode(characteristic, data)``: the lookup table from characteristic id to decoder."""

from __future__ import annotations

from collections.abc import Callable

from devices.characteristics import (
    blood_pressure,
    body_composition,
    current_time,
    glucose,
    heart_rate,
    plx,
    racp,
    temperature,
    weight,
)
from devices.errors import DecodeError
from devices.measurement import Measurement
from devices.uuids import name_of, short_id

DECODERS: dict[int, Callable[[bytes], Measurement]] = {
    0x2A35: blood_pressure.decode,
    0x2A5E: plx.decode_spot_check,
    0x2A5F: plx.decode_continuous,
    0x2A18: glucose.decode_measurement,
    0x2A34: glucose.decode_context,
    0x2A52: racp.decode,
    0x2A1C: temperature.decode,
    0x2A9D: weight.decode_measurement,
    0x2A9E: weight.decode_feature,
    0x2A37: heart_rate.decode,
    0x2A9C: body_composition.decode,
    0x2A2B: current_time.decode,
}


def decode(characteristic: str | int, data: bytes | bytearray | memoryview) -> Measurement:
    """Decode the raw value ``data`` of ``characteristic`` ("2a35", "0x2A35" or 128-bit).

    Returns the characteristic's measurement model, values in the units the device sent.
    Raises :class:`DecodeError` (a ``ValueError``) for malformed data or an unknown
    characteristic; never another exception, never garbage.
    """
    short = short_id(characteristic)
    decoder = DECODERS.get(short)
    if decoder is None:
        known = ", ".join(f"{k:#06x}" for k in sorted(DECODERS))
        raise DecodeError(f"no decoder for characteristic {name_of(short)} (known: {known})")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"characteristic data must be bytes, not {type(data).__name__}")
    return decoder(bytes(data))
