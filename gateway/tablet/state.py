"""What the service sends the tablet: the retained ``dho.tablet/1`` message on
``dho/v1/{gateway_id}/tablet`` (docs/contracts/tablet.md), checked and kept on disk.

The model here is the gateway's own reading of the contract (the gateway must not import the
service): every field the pages use is checked; fields the pages do not use (a questionnaire's
points and score bands, its sources) are ignored, so the service may dump its domain model as it
is. A message that does not fit — not JSON, another schema, another gateway, a timezone nobody
knows, a schedule time that is no time — is logged and the previous state kept, so a bad message
never blanks the patient's screen.

:class:`TabletStore` keeps the last good state in ``tablet.json`` beside the outbox (written to a
temporary file, fsynced and renamed: a power cut leaves the old or the new file, never half of
one), so the pages work offline and after a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.contract import ContractError, check_message

log = logging.getLogger(__name__)

TABLET_SCHEMA = "dho.tablet/1"


class _Part(BaseModel):
    # extra fields are ignored: the service dumps its domain models (points, bands, sources)
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Text(_Part):
    """A text in bokmål and English."""

    nb: str
    en: str

    def in_(self, language: str) -> str:
        return self.en if language == "en" else self.nb


class Patient(_Part):
    first_name: str = Field(max_length=100)


class Interval(_Part):
    """One staffed interval of the centre: ``from`` ≤ t < ``to``."""

    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")


class Centre(_Part):
    name: str
    phone: str | None = None  # null when the centre has none registered
    staffed: tuple[Interval, ...] = ()


class ScheduleItem(_Part):
    """A measurement (a reading kind) or a questionnaire, on ISO weekdays, at local HH:MM."""

    kind: str
    questionnaire: str | None = None
    weekdays: tuple[int, ...] = Field(min_length=1)
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("weekdays")
    @classmethod
    def _iso_weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 1 or day > 7 for day in value):
            raise ValueError("weekdays are 1 (Monday) … 7 (Sunday)")
        return value

    @property
    def task(self) -> str:
        """What a result must be to count for it: the reading kind, or the questionnaire id."""
        if self.kind == "questionnaire":
            return self.questionnaire or self.kind
        return self.kind


class Option(_Part):
    value: str | int | bool
    label: Text


class Question(_Part):
    """One item of a questionnaire: answer options, or a number in ``[min, max]`` ``unit``."""

    id: str
    text: Text
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None


class Questionnaire(_Part):
    id: str
    title: Text
    intro: Text | None = None
    items: tuple[Question, ...] = Field(min_length=1)

    def question(self, item_id: str) -> Question | None:
        return next((q for q in self.items if q.id == item_id), None)


class EmergencyNumber(_Part):
    label: Text
    number: str


class Plan(_Part):
    version: int
    schedule: tuple[ScheduleItem, ...] = ()
    questionnaires: tuple[Questionnaire, ...] = ()
    advice: dict[Literal["green", "yellow", "red"], Text] = Field(default_factory=dict)
    safety_text: Text
    emergency_numbers: tuple[EmergencyNumber, ...] = ()

    def questionnaire(self, questionnaire_id: str) -> Questionnaire | None:
        return next((q for q in self.questionnaires if q.id == questionnaire_id), None)


class Message(_Part):
    id: str
    sent_at: AwareDatetime
    sender: str = Field(alias="from")
    text: str
    read_at: AwareDatetime | None = None


class CallRequest(_Part):
    id: str
    asked_at: AwareDatetime
    status: Literal["open", "done"]
    handled_at: AwareDatetime | None = None
    handled_by: str | None = None


class TabletState(_Part):
    """``dho.tablet/1``: what the tablet shows besides the gateway's own results."""

    schema_id: Literal["dho.tablet/1"] = Field(alias="schema")
    gateway_id: str
    issued_at: AwareDatetime
    timezone: str
    patient: Patient
    centre: Centre
    plan: Plan | None = None
    messages: tuple[Message, ...] = ()
    call_requests: tuple[CallRequest, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TabletStateError(ValueError):
    """A ``dho.tablet/1`` message the gateway does not keep; the message says why."""


def parse_state(payload: bytes, gateway_id: str) -> TabletState:
    """The state in ``payload`` for gateway ``gateway_id``; :class:`TabletStateError` if it is
    not a valid ``dho.tablet/1`` message for this gateway: first the contract's JSON Schema
    (gateway/schemas/tablet.json, as the service writes it), then this module's model."""
    try:
        check_message("tablet", payload)
    except ContractError as err:
        raise TabletStateError(f"not a valid {TABLET_SCHEMA} message: {err.reason}") from err
    try:
        state = TabletState.model_validate_json(payload)
    except ValidationError as err:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e['loc']) or 'the message'}: {e['msg']}"
            for e in err.errors()[:5]
        )
        raise TabletStateError(f"not a valid {TABLET_SCHEMA} message: {problems}") from err
    if state.gateway_id != gateway_id:
        raise TabletStateError(
            f"the message is for gateway {state.gateway_id!r}, this is {gateway_id!r}"
        )
    return state


class TabletStore:
    """The last good tablet state of gateway ``gateway_id``, kept in ``path``."""

    def __init__(self, path: Path, gateway_id: str) -> None:
        self.path = path
        self.gateway_id = gateway_id
        self._lock = threading.Lock()
        self._state: TabletState | None = None
        if path.exists():
            try:
                self._state = parse_state(path.read_bytes(), gateway_id)
            except (OSError, TabletStateError) as err:
                log.error("the kept tablet state in %s is not usable: %s", path, err)

    @property
    def state(self) -> TabletState | None:
        with self._lock:
            return self._state

    def receive(self, payload: bytes) -> bool:
        """Keep ``payload`` if it is a valid state for this gateway and not older than the one
        kept; whether it was kept. A bad one is logged (the previous state stays)."""
        try:
            state = parse_state(payload, self.gateway_id)
        except TabletStateError as err:
            log.error("tablet state not kept (the previous one stays): %s", err)
            return False
        with self._lock:
            if self._state is not None and state.issued_at < self._state.issued_at:
                log.warning(
                    "tablet state of %s not kept: older than the one kept (%s)",
                    state.issued_at.isoformat(),
                    self._state.issued_at.isoformat(),
                )
                return False
            self._write(payload)
            self._state = state
        log.info("tablet state of %s kept", state.issued_at.isoformat())
        return True

    def _write(self, payload: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)


def dumps(state: TabletState) -> bytes:
    """``state`` as the contract's JSON (the aliases ``schema``, ``from``, ``to``)."""
    return json.dumps(state.model_dump(mode="json", by_alias=True), ensure_ascii=False).encode()
