"""API schemas of the contact between the centre and the patient's tablet: nurse-to-patient
messages and the patient's "ring meg" call requests."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

#: The longest message a nurse may send (the tablet shows it whole, in large text).
MAX_MESSAGE_CHARS = 500


class MessageCreate(BaseModel):
    """A short text to the patient, shown on the tablet until read."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)

    @field_validator("text")
    @classmethod
    def _printable(cls, text: str) -> str:
        if "\x00" in text:
            raise ValueError("must not contain a NUL character")
        if not text.strip():
            raise ValueError("must not be blank")
        return text


class MessageRead(BaseModel):
    """A message sent to the patient, and when the patient read it (null: not yet)."""

    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str
    text: str
    sent_at: AwareDatetime
    sent_by: str = Field(description="the nurse's user id")
    sent_by_name: str
    read_at: AwareDatetime | None


class CallRequestRead(BaseModel):
    """The patient asked the centre to call ("Ring meg"): a non-clinical marker."""

    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str
    asked_at: AwareDatetime
    handled_at: AwareDatetime | None
    handled_by: str | None = Field(description="the user id of the nurse who marked it done")
    handled_by_name: str | None
