"""A cursor over a characteristic value that names the field it could not read."""

from __future__ import annotations

from datetime import datetime

from devices import ieee11073
from devices.errors import DecodeError


class ByteReader:
    """Reads little-endian fields in order; a short value raises :class:`DecodeError`.

    The error says which characteristic, which field, where it should have started, and how
    many bytes there were. Bytes left over at the end are tolerated (devices append fields
    that newer spec versions define).
    """

    def __init__(self, data: bytes | bytearray | memoryview, what: str) -> None:
        self.data = bytes(data)
        self.what = what
        self.pos = 0

    def take(self, size: int, field: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise DecodeError(
                f"{self.what}: truncated before '{field}' ({size} bytes at offset {self.pos}); "
                f"the value has {len(self.data)} bytes"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little")

    def sint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little", signed=True)

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def s16(self, field: str) -> int:
        return self.sint(2, field)

    def u24(self, field: str) -> int:
        return self.uint(3, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    def sfloat(self, field: str) -> float | None:
        return ieee11073.sfloat(self.u16(field))

    def float32(self, field: str) -> float | None:
        return ieee11073.float32(self.u32(field))

    def date_time(self, field: str) -> datetime | None:
        raw = self.take(ieee11073.DATE_TIME_SIZE, field)
        try:
            return ieee11073.date_time(raw)
        except DecodeError as err:
            raise DecodeError(f"{self.what}: {field}: {err}") from err
