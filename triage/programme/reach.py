"""Reach (RE-AIM): who the service reaches — patients by enrolment state, enrolments and
discharges over time, age and sex against the municipality's population, discharge reasons.

Every count is made in SQL over ``patients`` (one row per patient; 10,000 at the scale target).
The enrolment history the service keeps is the enrolment time, the current state and when it
was last changed: a discharge is final, so a discharged patient's ``state_changed_at`` is their
discharge; pauses are not kept as history, so the monthly series counts a patient who was
paused at a month's end as in follow-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.national_id_facts import AGE_BANDS, Sex, age_band, age_on, person_facts
from triage.domain.programme import (
    DROPOUT_CODES,
    Cell,
    Coded,
    Column,
    Definition,
    Figure,
    ProgrammeQuery,
    SectionResult,
    Table,
    Unit,
    cite,
    count,
    ratio,
    re_aim,
)
from triage.programme.scope import OSLO, patient_clauses, utc_bounds
from triage.storage.models import (
    CentreMunicipalityRow,
    MunicipalityPopulationRow,
    PatientRow,
)

STATES = ("trial", "active", "paused", "discharged")
#: the states of a patient in follow-up (enrolled and not discharged)
FOLLOW_UP_STATES = ("trial", "active", "paused")
SOURCE = re_aim("rekkevidde", "Reach")

_PATIENTS = Column("patients", Text(nb="Pasienter", en="Patients"), Unit.COUNT)

DEFINITIONS = (
    Definition(
        id="reach.patients_by_state",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(nb="Pasienter etter status nå", en="Patients by state now"),
        definition=Text(
            nb="Antall pasienter i utvalget (kommune, diagnose) etter status i dag: "
            "prøveperiode, aktiv, pause, avsluttet. Hele perioden telles ikke: dette er "
            "dagens tall.",
            en="Patients in the selection (municipality, condition) by their state today: "
            "trial, active, paused, discharged. Not limited to the period: today's count.",
        ),
        source=SOURCE,
        key_coded=Coded.STATE,
    ),
    Definition(
        id="reach.by_municipality",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(
            nb="Pasienter etter kommune, diagnose og status nå",
            en="Patients by municipality, condition and state now",
        ),
        definition=Text(
            nb="Antall pasienter i utvalget i dag for hver kombinasjon av kommune, diagnose og "
            "status (prøveperiode, aktiv, pause, avsluttet). Bare kombinasjoner med minst én "
            "pasient vises. Dagens tall, ikke begrenset til perioden.",
            en="Patients in the selection today for each municipality, condition and state "
            "(trial, active, paused, discharged). Only combinations with at least one patient "
            "are shown. Today's count, not limited to the period.",
        ),
        source=SOURCE,
        columns=(
            Column("municipality", Text(nb="Kommune", en="Municipality"), None, Coded.MUNICIPALITY),
            Column("condition", Text(nb="Diagnose", en="Condition"), None, Coded.CONDITION),
            Column("state", Text(nb="Status", en="State"), None, Coded.STATE),
            _PATIENTS,
        ),
    ),
    Definition(
        id="reach.monthly",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(nb="Innskrevet og avsluttet per måned", en="Enrolled and discharged by month"),
        definition=Text(
            nb="For hver måned i perioden (første og siste måned bare de dagene som er med i "
            "perioden, norsk tid): antall pasienter skrevet inn i måneden, antall avsluttet i "
            "måneden, og antall i oppfølging ved månedens slutt (innskrevet før slutten og "
            "ikke avsluttet før slutten). Pauser lagres ikke som historikk: en pasient som "
            "hadde pause ved månedsslutt telles som i oppfølging.",
            en="For each month of the period (the first and last month only the days within "
            "the period, Oslo time): patients enrolled that month, patients discharged that "
            "month, and patients in follow-up at the month's end (enrolled before the end and "
            "not discharged before the end). Pauses are not kept as history: a patient paused "
            "at the month's end counts as in follow-up.",
        ),
        source=SOURCE,
        columns=(
            Column("month", Text(nb="Måned", en="Month")),
            Column("enrolled", Text(nb="Innskrevet", en="Enrolled"), Unit.COUNT),
            Column("discharged", Text(nb="Avsluttet", en="Discharged"), Unit.COUNT),
            Column(
                "in_follow_up",
                Text(nb="I oppfølging ved månedsslutt", en="In follow-up at month end"),
                Unit.COUNT,
            ),
        ),
    ),
    Definition(
        id="reach.age_sex",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(
            nb="Alder og kjønn mot kommunens befolkning",
            en="Age and sex against the municipality's population",
        ),
        definition=Text(
            nb="Pasienter i oppfølging i dag (prøveperiode, aktiv eller pause) etter kjønn og "
            "aldersgruppe, mot innbyggerne i kommunene i utvalget (siste år administrator har "
            "lagt inn, ikke senere enn periodens slutt). Alder og kjønn leses fra "
            "fødselsnummeret (alder i dag); pasienter uten fødselsnummer står som ukjent. "
            "Andel pasienter: av alle pasientene i oppfølging. Andel av befolkningen: av "
            "innbyggerne i alle gruppene. Per 1 000 innbyggere: pasienter i gruppen delt på "
            "innbyggere i gruppen, ganger 1 000. Kommuner uten innlagte tall har ingen "
            "innbyggere i tabellen, men pasientene deres telles.",
            en="Patients in follow-up today (trial, active or paused) by sex and age band, "
            "against the inhabitants of the municipalities in the selection (the latest year "
            "the admin entered, not after the period's end). Age and sex are read from the "
            "national identity number (age today); patients without one are unknown. Share "
            "of patients: of all patients in follow-up. Share of population: of the "
            "inhabitants in all bands. Per 1,000 inhabitants: patients in the band divided by "
            "inhabitants in the band, times 1,000. Municipalities without entered figures "
            "add no inhabitants, but their patients are counted.",
        ),
        source=cite(
            SOURCE,
            Text(
                nb="befolkningen: SSB-tabell 07459, slik administrator har lagt den inn",
                en="the population: SSB table 07459, as entered by the admin",
            ),
        ),
        columns=(
            Column("sex", Text(nb="Kjønn", en="Sex"), None, Coded.SEX),
            Column("age_band", Text(nb="Aldersgruppe", en="Age band")),
            _PATIENTS,
            Column(
                "patients_share", Text(nb="Andel pasienter", en="Share of patients"), Unit.SHARE
            ),
            Column("population", Text(nb="Innbyggere", en="Inhabitants"), Unit.COUNT),
            Column(
                "population_share",
                Text(nb="Andel av befolkningen", en="Share of population"),
                Unit.SHARE,
            ),
            Column(
                "per_1000",
                Text(nb="Pasienter per 1 000 innbyggere", en="Patients per 1,000 inhabitants"),
            ),
        ),
    ),
    Definition(
        id="reach.discharge_reasons",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(nb="Årsaker til avslutning", en="Discharge reasons"),
        definition=Text(
            nb="Pasienter avsluttet i perioden etter kodet årsak, og andelen av alle "
            "avslutninger i perioden. Avslutninger fra før kodene kom står som ikke kodet.",
            en="Patients discharged in the period by coded reason, and the share of all "
            "discharges in the period. Discharges from before the codes are shown as not "
            "coded.",
        ),
        source=SOURCE,
        columns=(
            Column("discharge", Text(nb="Årsak", en="Reason"), None, Coded.DISCHARGE),
            Column("count", Text(nb="Avsluttet", en="Discharged"), Unit.COUNT),
            Column("share", Text(nb="Andel", en="Share"), Unit.SHARE),
        ),
    ),
    Definition(
        id="reach.dropout",
        section=ProgrammeSection.REACH,
        unit=Unit.SHARE,
        title=Text(nb="Frafall", en="Dropout"),
        definition=Text(
            nb="Andelen av pasientene avsluttet i perioden som ble avsluttet fordi pasienten "
            "ønsket å avslutte eller ikke klarte å bruke utstyret. Teller: slike avslutninger "
            "i perioden. Nevner: alle avslutninger i perioden. Ingen verdi når ingen ble "
            "avsluttet.",
            en="The share of the patients discharged in the period who were discharged "
            "because they withdrew or could not use the equipment. Numerator: such "
            "discharges in the period. Denominator: all discharges in the period. No value "
            "when nobody was discharged.",
        ),
        source=SOURCE,
    ),
)


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    scope = patient_clauses(query)
    counts = dict(
        session.execute(
            select(PatientRow.state, func.count()).where(*scope).group_by(PatientRow.state)
        ).all()
    )
    figures: list[Figure] = [
        count("reach.patients_by_state", counts.get(state, 0), key=state) for state in STATES
    ]
    reasons, dropout = _discharge_reasons(session, query)
    figures.append(dropout)
    tables = (
        _by_municipality(session, query),
        _monthly(session, query),
        _age_sex(session, query),
        reasons,
    )
    return SectionResult(ProgrammeSection.REACH, tuple(figures), tables)


def _in_follow_up() -> ColumnElement[bool]:
    return PatientRow.state.in_(FOLLOW_UP_STATES)


def _by_municipality(session: Session, query: ProgrammeQuery) -> Table:
    condition = func.coalesce(PatientRow.condition, "none")
    rows = session.execute(
        select(PatientRow.municipality_id, condition, PatientRow.state, func.count())
        .where(*patient_clauses(query))
        .group_by(PatientRow.municipality_id, condition, PatientRow.state)
        .order_by(PatientRow.municipality_id, condition, PatientRow.state)
    ).all()
    return Table(
        "reach.by_municipality",
        ("municipality", "condition", "state", "patients"),
        tuple((m, c, s, n) for m, c, s, n in rows),
    )


def months(start: date, end: date) -> Iterator[tuple[str, date, date]]:
    """Each month touching ``start..end``: ("YYYY-MM", its first day in the period, its last
    day in the period)."""
    first = start
    while first <= end:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = min(following - timedelta(days=1), end)
        yield f"{first.year:04d}-{first.month:02d}", first, last
        first = following


def _oslo_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), OSLO)


def _monthly(session: Session, query: ProgrammeQuery) -> Table:
    discharged = PatientRow.state == "discharged"
    columns: list[Any] = []
    labels: list[str] = []
    for label, first, last in months(query.start, query.end):
        low, high = _oslo_midnight(first), _oslo_midnight(last + timedelta(days=1))
        labels.append(label)
        columns += [
            func.count(
                case((and_(PatientRow.enrolled_at >= low, PatientRow.enrolled_at < high), 1))
            ),
            func.count(
                case(
                    (
                        and_(
                            discharged,
                            PatientRow.state_changed_at >= low,
                            PatientRow.state_changed_at < high,
                        ),
                        1,
                    )
                )
            ),
            func.count(
                case(
                    (
                        and_(
                            PatientRow.enrolled_at < high,
                            not_(and_(discharged, PatientRow.state_changed_at < high)),
                        ),
                        1,
                    )
                )
            ),
        ]
    values = session.execute(select(*columns).where(*patient_clauses(query))).one()
    rows = tuple(
        (label, int(values[3 * i]), int(values[3 * i + 1]), int(values[3 * i + 2]))
        for i, label in enumerate(labels)
    )
    return Table("reach.monthly", ("month", "enrolled", "discharged", "in_follow_up"), rows)


def _population_municipalities(session: Session, query: ProgrammeQuery) -> Any:
    """The municipalities whose inhabitants the patients are compared with: those chosen, else
    those the query's centres serve (an admin without a choice: every municipality)."""
    if query.municipality_ids is not None:
        return sorted(query.municipality_ids)
    if query.centre_ids is not None:
        return (
            select(CentreMunicipalityRow.municipality_id)
            .where(CentreMunicipalityRow.centre_id.in_(sorted(query.centre_ids)))
            .scalar_subquery()
        )
    return None


def _population(session: Session, query: ProgrammeQuery) -> dict[tuple[str, str], int]:
    """Inhabitants by (sex, age band): per municipality its latest year not after the period's
    end, summed over the municipalities."""
    population = MunicipalityPopulationRow
    chosen = _population_municipalities(session, query)
    latest = select(population.municipality_id, func.max(population.year).label("year")).where(
        population.year <= query.end.year
    )
    if chosen is not None:
        latest = latest.where(population.municipality_id.in_(chosen))
    latest_year = latest.group_by(population.municipality_id).subquery()
    rows = session.execute(
        select(population.sex, population.age_band, func.sum(population.count))
        .join(
            latest_year,
            and_(
                latest_year.c.municipality_id == population.municipality_id,
                latest_year.c.year == population.year,
            ),
        )
        .group_by(population.sex, population.age_band)
    ).all()
    return {(sex, band): int(total) for sex, band, total in rows}


def _age_sex(session: Session, query: ProgrammeQuery) -> Table:
    # the birth date and sex are in the first nine digits: grouped in SQL by them, so Python
    # parses each distinct prefix once (at most one per patient in follow-up)
    prefix = func.substr(PatientRow.national_id, 1, 9)
    grouped = session.execute(
        select(prefix, func.count())
        .where(*patient_clauses(query), _in_follow_up())
        .group_by(prefix)
    ).all()
    today = query.now.astimezone(OSLO).date()
    patients: dict[tuple[str, str | None], int] = {}
    for digits, n in grouped:
        facts = person_facts(digits)
        key: tuple[str, str | None] = (
            (facts.sex.value, age_band(age_on(facts.birth_date, today)))
            if facts is not None
            else ("unknown", None)
        )
        patients[key] = patients.get(key, 0) + n
    population = _population(session, query)
    total_patients = sum(patients.values())
    total_population = sum(population.get((s.value, b), 0) for s in Sex for b in AGE_BANDS)
    rows: list[tuple[Cell, ...]] = []
    for sex in Sex:
        for band in AGE_BANDS:
            n = patients.get((sex.value, band), 0)
            people = population.get((sex.value, band))
            rows.append(
                (
                    sex.value,
                    band,
                    n,
                    n / total_patients if total_patients else None,
                    people,
                    people / total_population if people is not None and total_population else None,
                    1000 * n / people if people else None,
                )
            )
    unknown = patients.get(("unknown", None), 0)
    if unknown:
        rows.append(("unknown", None, unknown, unknown / total_patients, None, None, None))
    return Table(
        "reach.age_sex",
        (
            "sex",
            "age_band",
            "patients",
            "patients_share",
            "population",
            "population_share",
            "per_1000",
        ),
        tuple(rows),
    )


def _discharge_reasons(session: Session, query: ProgrammeQuery) -> tuple[Table, Figure]:
    first, after = utc_bounds(query)
    code = func.coalesce(PatientRow.discharge_code, "none")
    counted = dict(
        session.execute(
            select(code, func.count())
            .where(
                *patient_clauses(query),
                PatientRow.state == "discharged",
                PatientRow.state_changed_at >= first,
                PatientRow.state_changed_at < after,
            )
            .group_by(code)
            .order_by(code)
        ).all()
    )
    total = sum(counted.values())
    ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    table = Table(
        "reach.discharge_reasons",
        ("discharge", "count", "share"),
        tuple((c, n, n / total) for c, n in ordered),
    )
    dropouts = sum(n for c, n in counted.items() if c in DROPOUT_CODES)
    return table, ratio("reach.dropout", dropouts, total)
