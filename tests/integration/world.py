"""A small synthetic world for integration tests: tenants, people, patients, plans, gateways."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from triage.domain.plan import Condition, PlanVersion
from triage.storage import seed


@dataclass
class PatientFixture:
    id: str
    condition: Condition
    gateway_id: str
    gateway_secret: str
    plan: PlanVersion


@dataclass
class World:
    centre_id: str
    municipality_ids: list[str]
    gp_id: str
    nurse_id: str
    patients: dict[Condition, PatientFixture] = field(default_factory=dict)
    unbound_gateway_id: str = ""


def build_world(session: Session, now: datetime) -> World:
    """One patient per condition; ids are synthetic and the gateway secrets are returned once."""
    north = seed.add_municipality(session, "9901", "Testvik")
    south = seed.add_municipality(session, "9902", "Prøvestad")
    centre = seed.add_centre(session, "Oppfølgingstjenesten Testvik", [north, south])
    gp = seed.add_user(
        session, username="gp-test", display_name="Fastlege Test", role="gp", now=now
    )
    nurse = seed.add_user(
        session,
        username="nurse-test",
        display_name="Sykepleier Test",
        role="nurse",
        now=now,
        centres=[centre],
    )
    world = World(
        centre_id=centre.id,
        municipality_ids=[north.id, south.id],
        gp_id=gp.id,
        nurse_id=nurse.id,
    )
    for serial, condition in enumerate(Condition, start=1):
        patient = seed.add_patient(
            session,
            display_name=f"Testpasient {condition.value}",
            municipality=north,
            centre=centre,
            now=now,
            condition=condition,
            gp=gp,
            national_id=seed.synthetic_national_id(date(1946, 3, serial), serial),
        )
        plan = seed.add_approved_template_plan(session, patient, condition, gp.username, now)
        gateway, secret = seed.register_gateway(
            session, patient, now, gateway_id=f"gw-test-{condition.value}"
        )
        world.patients[condition] = PatientFixture(
            id=patient.id,
            condition=condition,
            gateway_id=gateway.id,
            gateway_secret=secret,
            plan=plan,
        )
    unbound, _ = seed.register_gateway(session, None, now, gateway_id="gw-test-unbound")
    world.unbound_gateway_id = unbound.id
    return world
