"""When each condition measures: the condition templates' schedules, as data.

Copied from ``triage.domain.templates`` (``devices`` must not import ``triage``); a test keeps
the kinds, weekdays, deadlines and questionnaires equal. What the templates do not say — how
early a patient starts measuring, and which device profile sends each kind — is added here.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.simulate.model import Condition

__all__ = ["DEVICE_PROFILE", "SCHEDULES", "Session"]

EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)
MONDAY_THURSDAY = (1, 4)


@dataclass(frozen=True, slots=True)
class Session:
    """One scheduled measuring session: ``kinds`` (in the order the patient takes them) and an
    optional questionnaire, on ISO ``days``, due by ``due_minute`` (minutes after local
    midnight); patients on time measure from ``earliest_minute`` [PROJECT]."""

    kinds: tuple[str, ...]
    questionnaire: str | None
    days: tuple[int, ...]
    due_minute: int
    earliest_minute: int

    @property
    def sparse(self) -> bool:
        """True for one- or two-a-week schedules (an unwell patient may measure in between)."""
        return len(self.days) < 7


def _at(hour: int, minute: int = 0) -> int:
    return hour * 60 + minute


SCHEDULES: dict[Condition, tuple[Session, ...]] = {
    Condition.COPD: (
        Session(
            kinds=("spo2", "body_temperature"),
            questionnaire="copd-daily",
            days=MONDAY_THURSDAY,
            due_minute=_at(12),
            earliest_minute=_at(7),
        ),
    ),
    Condition.HEART_FAILURE: (
        Session(
            kinds=("body_weight", "blood_pressure", "spo2"),
            questionnaire="hf-daily",
            days=EVERY_DAY,
            due_minute=_at(10),
            earliest_minute=_at(6),
        ),
    ),
    Condition.DIABETES: (
        Session(
            kinds=("glucose",),
            questionnaire=None,
            days=EVERY_DAY,
            due_minute=_at(9),
            earliest_minute=_at(6),
        ),
    ),
    Condition.HYPERTENSION: (
        Session(
            kinds=("blood_pressure",),
            questionnaire=None,
            days=MONDAY_THURSDAY,
            due_minute=_at(10),
            earliest_minute=_at(6, 30),
        ),
    ),
    Condition.COVID19: tuple(
        Session(
            kinds=("spo2", "body_temperature"),
            questionnaire=None,
            days=EVERY_DAY,
            due_minute=_at(due),
            earliest_minute=_at(due - 3),
        )
        for due in (10, 15, 21)
    ),
}

#: The device catalogue profile (``devices/catalogue.toml``) that measures each kind.
DEVICE_PROFILE: dict[str, str] = {
    "blood_pressure": "blood_pressure",
    "spo2": "pulse_oximeter",
    "glucose": "glucose",
    "body_temperature": "thermometer",
    "body_weight": "weight_scale",
    "heart_rate": "heart_rate",
}
