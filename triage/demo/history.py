"""Weeks of simulated history for the demo's programme page (issue 18), added at the first start.

The demo's own patients were enrolled two weeks (or a few days) before the first start and their
homes send that history after the start. So that the programme page shows figures over a longer
time at once, :func:`add_history` adds, in the seeding's transaction:

* a *history cohort* of :data:`COHORT` earlier patients of the demo centre, enrolled
  :data:`HISTORY_WEEKS` to 6 weeks before the start, each simulated by the devices' simulator
  (``devices.simulate``: physiology, adherence, episodes) from enrolment, with an approved
  template plan after a trial period of 2 to 7 days, every reading and questionnaire classified
  by the real triage core and run through the real alert rules; every alert acknowledged and
  resolved by the demo nurse some minutes to hours later, with a structured outcome (some
  judged to have saved a home-care visit); every one of them discharged 16 to 40 days before
  the start with a coded reason (some dropouts);
* the home-care flag on some of the cohort and of the demo's own patients;
* the settings behind the figures: each demo municipality's population by sex and age band and
  minutes per home-care visit, the centre's nurse FTE;
* ``patient_days`` for the days before the demo's own patients were enrolled (the daily job's
  own day computation, :func:`triage.jobs.programme_days.write_day`); the job itself, started by
  the service after the homes have sent their history, computes the days from there on.

Deterministic: everything is drawn from the demo seed (``random.Random``) and the start time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.simulate import Condition as SimulatedCondition
from devices.simulate import SimulatedReading, make_patient, simulate
from devices.simulate import SimulatedReport as SimReport
from triage.demo.state import GP, NURSE, DemoState
from triage.domain.alerts import (
    Alert,
    AttachBreach,
    MarkBackInRange,
    OpenAlert,
    acknowledge,
    apply,
    decide,
    open_alert,
    resolve,
)
from triage.domain.classify import GrowingHistory, ImplausibleReadingError, classify
from triage.domain.classify import classify_report as classify_answers
from triage.domain.findings import Finding
from triage.domain.plan import Condition, PlanVersion
from triage.domain.programme import DischargeCode
from triage.domain.readings import Kind, Reading, Report
from triage.jobs.programme_days import load_world, write_day
from triage.storage import seed
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    CentreMunicipalityRow,
    CentreRow,
    MunicipalityPopulationRow,
    MunicipalityRow,
    PatientRow,
    ReadingRow,
    ReportRow,
    UserRow,
)
from triage.storage.repositories import event_values, new_id

OSLO = ZoneInfo("Europe/Oslo")
#: How far back the history cohort's enrolments go.
HISTORY_WEEKS = 8
#: Patients in the history cohort.
COHORT = 24
#: Episodes of deterioration per patient-month in the cohort (more than the simulator's
#: default, so the weeks hold alerts of both colours to handle).
EPISODES_PER_MONTH = 2.5
#: Why each of the cohort was discharged (cycled), with the nurse's words.
DISCHARGES: tuple[tuple[DischargeCode, str], ...] = (
    (DischargeCode.STABLE, "Stabil i fire uker, klarer seg uten oppfølging."),
    (DischargeCode.PATIENT_WITHDREW, "Ønsket ikke å måle lenger."),
    (DischargeCode.STABLE, "Stabil, avsluttet etter avtale med fastlegen."),
    (DischargeCode.NURSING_HOME, "Fikk langtidsplass på sykehjem."),
    (DischargeCode.COULD_NOT_USE_EQUIPMENT, "Fikk ikke til å bruke nettbrettet."),
    (DischargeCode.STABLE, "Stabil, egenmestring god."),
    (DischargeCode.NOT_SUITABLE, "Kognitiv svikt, ikke egnet for oppfølging hjemme."),
    (DischargeCode.DIED, "Død."),
    (DischargeCode.MOVED, "Flyttet til datteren i en annen kommune."),
    (DischargeCode.OTHER, "Overført til spesialisthelsetjenesten."),
)
#: What the nurse did about an alert, how often (weights), and whether that saved a home-care
#: visit in the nurse's judgement (None: drawn, half the time).
OUTCOMES: tuple[tuple[str, int, bool | None], ...] = (
    ("phoned_patient", 35, None),
    ("advised_per_plan", 20, None),
    ("contacted_gp", 15, None),
    ("home_care_visit_requested", 10, False),
    ("no_action_needed", 10, False),
    ("sent_to_emergency_care", 6, False),
    ("hospital_admission", 4, False),
)
#: Inhabitants per sex and age band (the programme's bands) of the two demo municipalities.
POPULATION: dict[str, dict[str, int]] = {
    "9911": {"0-49": 1900, "50-66": 620, "67-79": 410, "80-89": 160, "90+": 40},
    "9912": {"0-49": 980, "50-66": 350, "67-79": 250, "80-89": 110, "90+": 30},
}
MINUTES_PER_HOME_VISIT = {"9911": 40, "9912": 55}
NURSE_FTE = 2.5

_FIRST = ("Anne", "Hans", "Marit", "Nils", "Reidun", "Ola", "Torill", "Kjell", "Oddny", "Arvid")
_LAST = ("Bakken", "Myhre", "Aasen", "Rønning", "Sæther", "Lie", "Vik", "Foss", "Holm", "Ruud")


@dataclass(frozen=True)
class HistorySummary:
    """What :func:`add_history` added."""

    patients: int
    readings: int
    reports: int
    alerts: int
    actions: int
    patient_days: int


def add_history(
    session: Session, state: DemoState, seed_value: int, now: datetime
) -> HistorySummary:
    """Add the history to the demo just seeded by :func:`triage.demo.state.seed_demo` (same
    session; the caller commits)."""
    session.flush()
    rng = random.Random(f"dho-demo-history:{seed_value}")  # noqa: S311 - synthetic data
    own = [session.get(PatientRow, p.patient_id) for p in state.patients]
    first = own[0]
    if first is None:
        raise ValueError("the demo's patients are not in this session")
    centre = session.get(CentreRow, first.centre_id)
    assert centre is not None  # noqa: S101 - a patient's centre exists (foreign key)
    centre.nurse_fte = NURSE_FTE
    municipalities = list(
        session.scalars(
            select(MunicipalityRow)
            .join(
                CentreMunicipalityRow,
                CentreMunicipalityRow.municipality_id == MunicipalityRow.id,
            )
            .where(CentreMunicipalityRow.centre_id == centre.id)
            .order_by(MunicipalityRow.number)
        )
    )
    _settings(session, municipalities, now)
    for demo_patient, patient in zip(state.patients, own, strict=True):
        if patient is not None and demo_patient.number % 4 == 0:
            patient.home_care = True
    nurse = session.scalars(select(UserRow).where(UserRow.username == NURSE)).one()
    gp = session.scalars(select(UserRow).where(UserRow.username == GP)).one()
    totals = [0, 0, 0, 0]
    for index in range(COHORT):
        counts = _cohort_patient(
            session, index, rng, now, centre, municipalities, nurse, gp.username, seed_value
        )
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    session.flush()
    days = _patient_days(session, own, now)
    readings, reports, alerts, actions = totals
    return HistorySummary(COHORT, readings, reports, alerts, actions, days)


def _settings(session: Session, municipalities: list[MunicipalityRow], now: datetime) -> None:
    for municipality in municipalities:
        municipality.minutes_per_home_visit = MINUTES_PER_HOME_VISIT.get(municipality.number, 45)
        bands = POPULATION.get(municipality.number, POPULATION["9912"])
        for sex, share in (("female", 0.51), ("male", 0.49)):
            for band, count in bands.items():
                older = 1.15 if sex == "female" and band in ("80-89", "90+") else 1.0
                session.add(
                    MunicipalityPopulationRow(
                        municipality_id=municipality.id,
                        year=now.year,
                        sex=sex,
                        age_band=band,
                        count=round(count * share * older),
                        updated_at=now,
                        updated_by=None,
                    )
                )


def _cohort_patient(
    session: Session,
    index: int,
    rng: random.Random,
    now: datetime,
    centre: CentreRow,
    municipalities: list[MunicipalityRow],
    nurse: UserRow,
    gp_username: str,
    seed_value: int,
) -> tuple[int, int, int, int]:
    """One patient of the cohort, simulated from enrolment to discharge; returns how many
    readings, reports, alerts and actions were added."""
    conditions = [c for c in Condition if c is not Condition.COVID19]
    condition = conditions[index % len(conditions)]
    enrolled = now - timedelta(weeks=HISTORY_WEEKS) + timedelta(hours=rng.uniform(0, 14 * 24))
    discharged = min(
        enrolled + timedelta(days=rng.uniform(18, 35)), now - timedelta(days=rng.uniform(16, 20))
    )
    birth = now.date() - timedelta(days=rng.randint(55 * 365, 93 * 365))
    code, words = DISCHARGES[index % len(DISCHARGES)]
    row = seed.add_patient(
        session,
        display_name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        municipality=municipalities[index % len(municipalities)],
        centre=centre,
        now=enrolled,
        condition=condition,
        national_id=seed.synthetic_national_id(birth, 500 + index),
        state="discharged",
    )
    row.state_changed_at = discharged
    row.state_reason = words
    row.discharge_code = code.value
    row.home_care = index % 3 == 0
    approved = enrolled + timedelta(days=rng.uniform(2, 7))
    plan = seed.add_approved_template_plan(session, row, condition, gp_username, approved)
    simulated = make_patient(
        f"hist-{index:03d}",
        SimulatedCondition(condition.value),
        seed_value,
        rate_per_month=EPISODES_PER_MONTH,
        horizon_days=40,
    )
    days = (discharged.astimezone(OSLO).date() - enrolled.astimezone(OSLO).date()).days + 1
    run = _Run(session, row.id, plan, approved, nurse, rng)
    for event in simulate(simulated, enrolled, days):
        if event.at >= discharged:
            break
        run.handle_until(event.at)
        if isinstance(event, SimulatedReading):
            run.reading(event)
        elif isinstance(event, SimReport):
            run.report(event)
    run.handle_until(discharged + timedelta(days=2))
    return run.readings, run.reports, run.alerts, run.actions


class _Run:
    """One cohort patient's data as it arrives: classified, alerted and handled."""

    def __init__(
        self,
        session: Session,
        patient_id: str,
        plan: PlanVersion,
        approved: datetime,
        nurse: UserRow,
        rng: random.Random,
    ) -> None:
        self.session = session
        self.patient_id = patient_id
        self.plan = plan
        self.approved = approved
        self.nurse = nurse
        self.rng = rng
        self.history = GrowingHistory()
        self.open: dict[str, Alert] = {}
        self.due: list[tuple[datetime, str]] = []  # (when the nurse handles it, alert id)
        self.readings = self.reports = self.alerts = self.actions = 0

    def reading(self, event: SimulatedReading) -> None:
        at = event.measured_at
        reading = Reading(id=new_id(), kind=Kind(event.kind), measured_at=at, values=event.values)
        colour: str | None = None
        findings: tuple[Finding, ...] = ()
        if at >= self.approved:
            try:
                result = classify(reading, self.plan, self.history.value(), at)
            except ImplausibleReadingError:
                return
            findings = result.findings
            colour = result.colour.value if findings else None
            self.history.add_reading(reading, findings)
        self.session.add(
            ReadingRow(
                id=reading.id,
                patient_id=self.patient_id,
                gateway_id=f"gw-hist-{self.patient_id[:8]}",
                kind=event.kind,
                values=dict(event.values),
                device={"profile": event.device, "model": "DHO simulated"},
                measured_at=at,
                classified_at=at,
                received_at=at,
                stored_at=at,
                timezone="Europe/Oslo",
                plan_id=self.plan.plan_id if colour else None,
                plan_version=self.plan.version if colour else None,
                colour=colour,
                findings=[f.model_dump(mode="json") for f in findings],
                flags=[],
            )
        )
        self.readings += 1
        self._alerts(findings, at)

    def report(self, event: SimReport) -> None:
        at = event.answered_at
        report = Report(
            id=new_id(), questionnaire=event.questionnaire, answered_at=at, answers=event.answers
        )
        colour: str | None = None
        findings: tuple[Finding, ...] = ()
        if at >= self.approved:
            try:
                result = classify_answers(report, self.plan, self.history.value(), at)
            except ValueError:
                return
            findings = result.findings
            colour = result.colour.value if findings else None
            self.history.add_report(report, findings)
        self.session.add(
            ReportRow(
                id=report.id,
                patient_id=self.patient_id,
                gateway_id=f"gw-hist-{self.patient_id[:8]}",
                questionnaire=event.questionnaire,
                answered_at=at,
                received_at=at,
                stored_at=at,
                answers=dict(event.answers),
                plan_id=self.plan.plan_id if colour else None,
                plan_version=self.plan.version if colour else None,
                colour=colour,
                findings=[f.model_dump(mode="json") for f in findings],
                flags=[],
            )
        )
        self.reports += 1
        self._alerts(findings, at)

    def _alerts(self, findings: tuple[Finding, ...], at: datetime) -> None:
        for change in decide(self.patient_id, list(self.open.values()), findings):
            if isinstance(change, OpenAlert):
                alert, event = open_alert(change, new_id())
                self.session.add(AlertRow(**_row(alert)))
                self.session.flush()
                self.alerts += 1
                # the nurse takes it on within minutes to hours (a night's red: in the morning)
                delay = timedelta(minutes=self.rng.uniform(5, 240 if at.hour < 21 else 660))
                self.due.append((at + delay, alert.id))
            else:
                assert isinstance(change, AttachBreach | MarkBackInRange)  # noqa: S101
                alert, event = apply(self.open[change.alert_id], change)
            self.open[alert.id] = alert
            self.session.add(AlertEventRow(**event_values(event)))

    def handle_until(self, until: datetime) -> None:
        """The nurse acknowledges and resolves every alert due by ``until``."""
        for when, alert_id in sorted(d for d in self.due if d[0] <= until):
            self.due.remove((when, alert_id))
            alert = self.open.pop(alert_id)
            alert, acknowledged = acknowledge(alert, by=self.nurse.username, at=when)
            done = when + timedelta(minutes=self.rng.uniform(10, 90))
            alert, resolved = resolve(alert, by=self.nurse.username, at=done)
            outcome, _, avoided = self.rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0]
            self.session.add_all(
                [
                    AlertEventRow(**event_values(acknowledged)),
                    AlertEventRow(**event_values(resolved)),
                    AlertActionRow(
                        alert_id=alert.id,
                        patient_id=self.patient_id,
                        at=done,
                        by=self.nurse.id,
                        outcome=outcome,
                        note="",
                        home_visit_avoided=self.rng.random() < 0.5 if avoided is None else avoided,
                    ),
                ]
            )
            self.session.execute(
                AlertRow.__table__.update()  # type: ignore[attr-defined]
                .where(AlertRow.id == alert.id)
                .values(_row(alert))
            )
            self.actions += 1


def _row(alert: Alert) -> dict[str, object]:
    data = alert.model_dump(mode="python")
    data["reason"] = alert.reason.model_dump(mode="json")
    for key in ("rule_type", "category", "colour", "state"):
        data[key] = str(data[key])
    return data


def _patient_days(session: Session, own: list[PatientRow | None], now: datetime) -> int:
    """``patient_days`` from the cohort's first day to the day before the demo's own patients
    were enrolled (the job computes the days from there on, once the homes sent them)."""
    enrolled = [p.enrolled_at for p in own if p is not None]
    last = min(enrolled).astimezone(OSLO).date() - timedelta(days=1)
    day: date = (now - timedelta(weeks=HISTORY_WEEKS)).astimezone(OSLO).date()
    world = load_world(session)
    written = 0
    while day <= last:
        written += write_day(session, world, day, now)
        day += timedelta(days=1)
    return written
