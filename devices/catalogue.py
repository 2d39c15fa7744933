"""The device catalogue: service UUID → profile → what to subscribe to, plus model quirks.

The data live in ``catalogue.toml`` beside this module (data, not code); this module validates
them once and answers the gateway's questions: *which profile is this advertisement?*, *which
characteristics do I subscribe to, and how?*, *what quirks does this model have?*
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.uuids import full_uuid, short_id


class Quirk(StrEnum):
    """Known ways real devices differ from the specification, and what the gateway does."""

    #: Sets reserved flag bits: decoders ignore them (never reject the value).
    RESERVED_FLAG_BITS = "reserved_flag_bits"
    #: The device clock is unset (Date Time year 0) until the hub writes Current Time 0x2A2B.
    CLOCK_UNSET_UNTIL_TIME_WRITTEN = "clock_unset_until_time_written"
    #: Pushes its stored readings right after indications are enabled, then disconnects.
    SENDS_STORED_THEN_DISCONNECTS = "sends_stored_then_disconnects"
    #: Must be bonded (paired) before it sends measurements.
    NEEDS_BONDING = "needs_bonding"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CharacteristicUse(_Frozen):
    """One characteristic of a profile, and how the gateway uses it."""

    uuid: int
    mode: Literal["indicate", "notify", "read"]
    role: Literal["measurement", "continuous", "context", "record_access", "feature"]
    optional: bool = False
    writable: bool = False

    @field_validator("uuid", mode="before")
    @classmethod
    def _short(cls, value: str | int) -> int:
        return short_id(value)

    @property
    def full_uuid(self) -> str:
        return full_uuid(self.uuid)

    @property
    def is_subscribed(self) -> bool:
        """True for characteristics the gateway subscribes to (indications or notifications)."""
        return self.mode in ("indicate", "notify")


class Profile(_Frozen):
    """A Bluetooth SIG health profile as DHO uses it."""

    id: str
    name: str
    service: int
    kind: str = Field(description="the dho.reading/1 kind this profile produces")
    stores_records: bool
    bonding: Literal["optional", "required"]
    characteristics: tuple[CharacteristicUse, ...]

    @field_validator("service", mode="before")
    @classmethod
    def _short(cls, value: str | int) -> int:
        return short_id(value)

    @property
    def service_uuid(self) -> str:
        return full_uuid(self.service)

    @property
    def subscriptions(self) -> tuple[CharacteristicUse, ...]:
        """The characteristics to subscribe to, in catalogue order."""
        return tuple(c for c in self.characteristics if c.is_subscribed)

    def characteristic(self, role: str) -> CharacteristicUse | None:
        return next((c for c in self.characteristics if c.role == role), None)


class DeviceModel(_Frozen):
    """A known device model, matched on the start of its advertised local name."""

    name_prefix: str = Field(min_length=2)
    manufacturer: str
    profile: str
    quirks: frozenset[Quirk] = frozenset()
    source: str


class Catalogue(_Frozen):
    profiles: tuple[Profile, ...] = Field(alias="profile")
    models: tuple[DeviceModel, ...] = Field(alias="model")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [p.id for p in self.profiles]
        services = [p.service for p in self.profiles]
        if len(set(ids)) != len(ids) or len(set(services)) != len(services):
            raise ValueError("profile ids and service UUIDs must be unique")
        unknown = sorted({m.profile for m in self.models} - set(ids))
        if unknown:
            raise ValueError(f"models name unknown profiles: {', '.join(unknown)}")
        return self

    def profile(self, profile_id: str) -> Profile:
        for profile in self.profiles:
            if profile.id == profile_id:
                return profile
        raise KeyError(f"no profile {profile_id!r} in the device catalogue")

    def profile_for_services(self, service_uuids: Iterable[str | int]) -> Profile | None:
        """The profile of a device advertising ``service_uuids`` (None if not a health device).

        UUIDs that are not Bluetooth SIG ids (vendor services) are skipped.
        """
        wanted: set[int] = set()
        for uuid in service_uuids:
            try:
                wanted.add(short_id(uuid))
            except ValueError:
                continue
        return next((p for p in self.profiles if p.service in wanted), None)

    def model_for(self, local_name: str | None) -> DeviceModel | None:
        """The known model whose name prefix matches ``local_name`` (longest prefix wins)."""
        if not local_name:
            return None
        matches = [m for m in self.models if local_name.startswith(m.name_prefix)]
        return max(matches, key=lambda m: len(m.name_prefix), default=None)

    def quirks_for(self, local_name: str | None) -> frozenset[Quirk]:
        model = self.model_for(local_name)
        return model.quirks if model is not None else frozenset()

    @property
    def service_uuids(self) -> tuple[str, ...]:
        """Every health service to scan for (128-bit form, as bleak filters on)."""
        return tuple(p.service_uuid for p in self.profiles)


def parse_catalogue(text: str) -> Catalogue:
    """Validate catalogue TOML ``text``; raises ``ValueError`` saying what is wrong."""
    return Catalogue.model_validate(tomllib.loads(text))


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with DHO (``devices/catalogue.toml``), validated once."""
    return parse_catalogue(files("devices").joinpath("catalogue.toml").read_text(encoding="utf-8"))
