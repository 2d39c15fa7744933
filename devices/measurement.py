"""The base of every decoded measurement."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Measurement(BaseModel):
    """A decoded characteristic value, in the units the device sent.

    ``model_dump()`` holds the contract's field names (docs/devices.md); absent optional
    fields and IEEE-11073 special values are ``None``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
