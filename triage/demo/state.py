"""The demo's data folder: its state file (``demo.json``) and the one-time seeding.

``demo.json`` (owner-only: it holds the demo logins' passwords and the gateways' secrets) says
what was seeded, so a second start reuses the patients instead of seeding again, and when the
demo last stopped, so the next start knows how long it was away.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devices.simulate import Condition as SimulatedCondition
from triage.broker.mosquitto_config import write_private
from triage.demo.population import DemoPerson, history_days
from triage.domain.plan import Condition
from triage.storage import seed
from triage.storage.models import GatewayRow, PatientRow, UserRow

STATE_FILE = "demo.json"
NURSE = "sykepleier"
GP = "fastlege"
LEAD = "leder"

DemoRole = Literal["nurse", "gp", "lead"]


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


class DemoLogin(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: DemoRole
    username: str
    display_name: str
    password: str


class DemoPatient(BaseModel):
    """A seeded patient: the database's ids and the simulation that measures for them."""

    model_config = ConfigDict(frozen=True)

    number: int
    sim_id: str
    condition: SimulatedCondition
    patient_id: str
    display_name: str
    gateway_id: str
    gateway_secret: str


class DemoState(BaseModel):
    format: Literal["dho.demo/1"] = "dho.demo/1"
    seed: int
    created_at: AwareDatetime
    last_stopped_at: AwareDatetime | None = None
    logins: list[DemoLogin]
    patients: list[DemoPatient]

    def login(self, role: Literal["nurse", "gp"]) -> DemoLogin:
        return next(login for login in self.logins if login.role == role)

    def lead_login(self) -> DemoLogin | None:
        """The centre lead's login (demos seeded before the programme view have none)."""
        return next((login for login in self.logins if login.role == "lead"), None)


def load_state(data_dir: Path) -> DemoState | None:
    """The state of an earlier start in ``data_dir``, or None when there was none."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return DemoState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as err:
        raise DemoError(
            f"{path} cannot be read ({err}); start over with `dho demo --reset`"
        ) from err


def save_state(data_dir: Path, state: DemoState) -> None:
    """Write ``demo.json`` owner-only, atomically (a crash leaves the old one)."""
    write_private(
        data_dir / STATE_FILE,
        json.dumps(state.model_dump(mode="json"), indent=2, ensure_ascii=False),
    )


def seed_demo(
    session: Session, people: list[DemoPerson], seed_value: int, now: datetime
) -> DemoState:
    """A follow-up centre, its demo nurse and lead, a demo GP, and ``people`` enrolled (each on the
    days of history their devices hold) with approved template plans and registered gateways.
    Adds rows to ``session``; the caller commits."""
    fjordvik = seed.add_municipality(session, "9911", "Fjordvik (demo)")
    bakkestad = seed.add_municipality(session, "9912", "Bakkestad (demo)")
    # a synthetic number (shown to the demo patients on their tablets)
    centre = seed.add_centre(
        session,
        "Oppfølgingstjenesten Fjordvik (demo)",
        [fjordvik, bakkestad],
        phone="+47 22 00 00 00",
    )
    logins = [
        DemoLogin(
            role="nurse",
            username=NURSE,
            display_name="Sykepleier Demo",
            password=secrets.token_urlsafe(9),
        ),
        DemoLogin(
            role="gp", username=GP, display_name="Fastlege Demo", password=secrets.token_urlsafe(9)
        ),
        DemoLogin(
            role="lead",
            username=LEAD,
            display_name="Leder Demo",
            password=secrets.token_urlsafe(9),
        ),
    ]
    users: dict[str, UserRow] = {}
    for login in logins:
        users[login.role] = seed.add_user(
            session,
            username=login.username,
            display_name=login.display_name,
            role=login.role,
            now=now - timedelta(days=30),
            password=login.password,
            centres=[centre] if login.role in ("nurse", "lead") else [],
        )
    gp = users["gp"]
    patients = []
    for person in people:
        enrolled = now - timedelta(days=history_days(person, first_run=True, days_away=0))
        condition = Condition(person.condition.value)
        row = seed.add_patient(
            session,
            display_name=person.display_name,
            municipality=fjordvik if person.number % 3 else bakkestad,
            centre=centre,
            now=enrolled,
            condition=condition,
            gp=gp,
            national_id=seed.synthetic_national_id(person.birth, person.number),
        )
        seed.add_approved_template_plan(session, row, condition, gp.username, enrolled)
        gateway, secret = seed.register_gateway(session, row, enrolled, person.gateway_id)
        patients.append(
            DemoPatient(
                number=person.number,
                sim_id=person.sim_id,
                condition=person.condition,
                patient_id=row.id,
                display_name=person.display_name,
                gateway_id=gateway.id,
                gateway_secret=secret,
            )
        )
    return DemoState(seed=seed_value, created_at=now, logins=logins, patients=patients)


def check_seeded(session: Session, state: DemoState) -> None:
    """Raise :class:`DemoError` when the database does not hold what ``state`` says was seeded
    (a database deleted or replaced by hand)."""
    ids = [p.patient_id for p in state.patients]
    found = session.scalar(
        select(func.count()).select_from(PatientRow).where(PatientRow.id.in_(ids))
    )
    gateways = session.scalar(
        select(func.count())
        .select_from(GatewayRow)
        .where(GatewayRow.id.in_([p.gateway_id for p in state.patients]))
    )
    users = session.scalar(
        select(func.count())
        .select_from(UserRow)
        .where(UserRow.username.in_([login.username for login in state.logins]))
    )
    if found != len(ids) or gateways != len(ids) or users != len(state.logins):
        raise DemoError(
            f"the database does not hold the demo's {len(ids)} patients, their gateways and the "
            f"demo logins (found {found}, {gateways} and {users}); start over with "
            "`dho demo --reset`"
        )
