"""A small hand-made world for the programme's alert figures (alert handling, benefit,
workload): two follow-up centres, three municipalities, patients with and without home care,
and alerts, actions and patient days written directly with the times each test works out by
hand (synthetic identities only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from triage.domain.programme import ProgrammeQuery
from triage.storage import seed
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    CentreRow,
    MunicipalityRow,
    PatientDayRow,
    PatientRow,
    UserRow,
)

OSLO = ZoneInfo("Europe/Oslo")
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_serial = count(1)


def oslo(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """An Oslo wall-clock time (2026 unless said)."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


@dataclass
class AlertsWorld:
    """Centre A (Testvik and Prøvestad) and centre B (Annenby, its own red target of 20
    minutes); a nurse in each."""

    testvik: MunicipalityRow
    provestad: MunicipalityRow
    annenby: MunicipalityRow
    a: CentreRow
    b: CentreRow
    nurse_a: UserRow
    nurse_b: UserRow
    patients: dict[str, PatientRow] = field(default_factory=dict)


def build(session: Session) -> AlertsWorld:
    testvik = seed.add_municipality(session, "9901", "Testvik")
    testvik.minutes_per_home_visit = 45
    provestad = seed.add_municipality(session, "9902", "Prøvestad")
    annenby = seed.add_municipality(session, "9903", "Annenby")
    annenby.minutes_per_home_visit = 60
    a = seed.add_centre(session, "Oppfølgingstjenesten Testvik", [testvik, provestad])
    b = seed.add_centre(session, "Oppfølgingstjenesten Annenby", [annenby])
    b.escalation = {"on_call_after": "PT20M"}
    nurse_a = seed.add_user(
        session, username="nurse-a", display_name="Sykepleier A", role="nurse", now=CREATED,
        centres=[a],
    )  # fmt: skip
    nurse_b = seed.add_user(
        session, username="nurse-b", display_name="Sykepleier B", role="nurse", now=CREATED,
        centres=[b],
    )  # fmt: skip
    session.flush()
    return AlertsWorld(testvik, provestad, annenby, a, b, nurse_a, nurse_b)


def patient(
    session: Session,
    world: AlertsWorld,
    name: str,
    municipality: MunicipalityRow,
    centre: CentreRow,
    *,
    home_care: bool = False,
    state: str = "active",
    condition: str = "copd",
) -> PatientRow:
    serial = next(_serial)
    row = PatientRow(
        id=f"p-{name}",
        display_name=f"Testpasient {name}",
        national_id=seed.synthetic_national_id(date(1946, 3, 1 + serial % 28), serial),
        condition=condition,
        municipality_id=municipality.id,
        centre_id=centre.id,
        state=state,
        enrolled_at=CREATED,
        state_changed_at=CREATED,
        home_care=home_care,
    )
    session.add(row)
    session.flush()
    world.patients[name] = row
    return row


def alert(
    session: Session,
    who: PatientRow,
    colour: str,
    opened: datetime,
    *,
    acknowledged: datetime | None = None,
    resolved: datetime | None = None,
    raised: datetime | None = None,
    category: str = "clinical",
    name: str | None = None,
) -> AlertRow:
    serial = next(_serial)
    state = "resolved" if resolved else "acknowledged" if acknowledged else "open"
    row = AlertRow(
        id=name or f"a-{serial}",
        patient_id=who.id,
        rule_id=f"threshold:test-{serial}",
        rule_type="lost_contact" if category == "technical" else "threshold",
        category=category,
        colour=colour,
        state=state,
        opened_at=opened,
        last_breach_at=raised or opened,
        breaches=1,
        reason={},
        acknowledged_at=acknowledged,
        acknowledged_by="nurse-a" if acknowledged else None,
        resolved_at=resolved,
        resolved_by="nurse-a" if resolved else None,
        raised_at=raised,
    )
    session.add(row)
    session.flush()
    return row


def action(
    session: Session,
    on: AlertRow,
    at: datetime,
    by: UserRow,
    outcome: str = "phoned_patient",
    *,
    home_visit_avoided: bool = False,
) -> AlertActionRow:
    row = AlertActionRow(
        alert_id=on.id,
        patient_id=on.patient_id,
        at=at,
        by=by.id,
        outcome=outcome,
        note="",
        home_visit_avoided=home_visit_avoided,
    )
    session.add(row)
    session.flush()
    return row


def days_in_follow_up(session: Session, who: PatientRow, first: date, days: int) -> None:
    """``days`` rows of ``patient_days`` from ``first`` (what the daily job would write)."""
    for n in range(days):
        session.add(
            PatientDayRow(
                patient_id=who.id,
                day=first + timedelta(days=n),
                centre_id=who.centre_id,
                municipality_id=who.municipality_id,
                condition=who.condition,
                state="active",
                home_care=who.home_care,
                computed_at=CREATED,
            )
        )
    session.flush()


def query(
    start: date,
    end: date,
    now: datetime,
    centres: list[CentreRow] | None = None,
    municipalities: list[MunicipalityRow] | None = None,
    condition: str | None = None,
) -> ProgrammeQuery:
    return ProgrammeQuery(
        start=start,
        end=end,
        now=now,
        centre_ids=frozenset(c.id for c in centres) if centres is not None else None,
        municipality_ids=(
            frozenset(m.id for m in municipalities) if municipalities is not None else None
        ),
        condition=condition,
    )
