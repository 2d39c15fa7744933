"""The base of every decoded measurement."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Nibble = Annotated[int, Field(ge=0, le=0xF)]
UInt8 = Annotated[int, Field(ge=0, le=0xFF)]
UInt16 = Annotated[int, Field(ge=0, le=0xFFFF)]
SInt16 = Annotated[int, Field(ge=-0x8000, le=0x7FFF)]


def known_code(enum: type[IntEnum]) -> AfterValidator:
    """Validator for coded fields: a known code becomes its ``enum`` member; a reserved or
    unknown code stays a plain ``int`` (a device using a newer code never fails to decode)."""

    def convert(code: int) -> int:
        try:
            return enum(code)
        except ValueError:
            return code

    return AfterValidator(convert)


class Measurement(BaseModel):
    """A decoded characteristic value, in the units the device sent.

    ``model_dump()`` holds the contract's field names (docs/devices.md); absent optional
    fields and IEEE-11073 special values are ``None``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
