"""Benefit (RE-AIM effectiveness; gevinstrealisering): alerts per patient-week by colour, what
the nurses did about alerts (coded outcomes), and home-care visits avoided with the home-care
hours they saved — each also split by whether the patient also receives home care, so double
work with home-care nursing is visible.

All aggregated in SQL: ``patient_days`` (one row per patient and day in follow-up, kept by the
daily job), ``alerts`` and ``alert_actions`` joined to ``patients`` for the scope.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    NO_HDIR_INDICATOR,
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
from triage.programme.scope import patient_clauses, utc_bounds
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    MunicipalityRow,
    PatientDayRow,
    PatientRow,
)

COLOURS = ("red", "yellow")
HOME_CARE = ("yes", "no")

SOURCE = cite(
    re_aim("effekt", "Effectiveness"),
    Text(
        nb=f"{NO_HDIR_INDICATOR.nb} figur, fra det sykepleieren registrerer på hvert varsel",
        en=f"{NO_HDIR_INDICATOR.en} figure, from what the nurse records on each alert",
    ),
)
_HOME_CARE = Text(
    nb="Hjemmesykepleie: om pasienten også får hjemmesykepleie, slik det er registrert på "
    "pasienten (for pasientdager: slik det var registrert den dagen).",
    en="Home care: whether the patient also receives home-care nursing, as registered on the "
    "patient (for patient days: as registered that day).",
)

DEFINITIONS = (
    Definition(
        id="benefit.alerts_per_patient_week",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.PER_PATIENT_WEEK,
        key_coded=Coded.COLOUR,
        title=Text(nb="Varsler per pasientuke", en="Alerts per patient-week"),
        definition=Text(
            nb="Røde og gule kliniske varsler (ikke tapt kontakt) åpnet i perioden, per "
            "pasientuke i oppfølging, per farge. Teller: varsler åpnet i perioden. Nevner: "
            "pasientdager i oppfølging i perioden (prøveperiode eller aktiv; pausedager telles "
            "ikke) delt på 7.",
            en="Red and yellow clinical alerts (not lost contact) opened in the period, per "
            "patient-week in follow-up, by colour. Numerator: alerts opened in the period. "
            "Denominator: patient days in follow-up in the period (trial or active; paused "
            "days do not count) divided by 7.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="benefit.alerts_per_patient_week_by_home_care",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.PER_PATIENT_WEEK,
        title=Text(
            nb="Varsler per pasientuke, med og uten hjemmesykepleie",
            en="Alerts per patient-week, with and without home care",
        ),
        definition=Text(
            nb="Som «Varsler per pasientuke», delt på pasienter som også får "
            "hjemmesykepleie og de som ikke gjør det. " + _HOME_CARE.nb,
            en="As «Alerts per patient-week», split by patients who also receive home care "
            "and those who do not. " + _HOME_CARE.en,
        ),
        source=SOURCE,
        columns=(
            Column("home_care", Text(nb="Hjemmesykepleie", en="Home care"), coded=Coded.HOME_CARE),
            Column("colour", Text(nb="Farge", en="Colour"), coded=Coded.COLOUR),
            Column("alerts", Text(nb="Varsler", en="Alerts"), Unit.COUNT),
            Column("patient_weeks", Text(nb="Pasientuker", en="Patient-weeks"), Unit.COUNT),
            Column(
                "per_patient_week",
                Text(nb="Per pasientuke", en="Per patient-week"),
                Unit.PER_PATIENT_WEEK,
            ),
        ),
    ),
    Definition(
        id="benefit.outcomes",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.COUNT,
        title=Text(nb="Utfall av varsler", en="Alert outcomes"),
        definition=Text(
            nb="Tiltak (utfall) sykepleierne registrerte på varsler i perioden, etter utfall, "
            "varselets farge og om pasienten også får hjemmesykepleie. Hvert registrerte "
            "tiltak telles; et varsel kan ha flere. Alle varsler, også tapt kontakt. "
            + _HOME_CARE.nb,
            en="Actions (outcomes) the nurses recorded on alerts in the period, by outcome, the "
            "alert's colour and whether the patient also receives home care. Each recorded "
            "action counts; an alert can have several. All alerts, lost contact included. "
            + _HOME_CARE.en,
        ),
        source=SOURCE,
        columns=(
            Column("outcome", Text(nb="Utfall", en="Outcome"), coded=Coded.OUTCOME),
            Column("colour", Text(nb="Farge", en="Colour"), coded=Coded.COLOUR),
            Column("home_care", Text(nb="Hjemmesykepleie", en="Home care"), coded=Coded.HOME_CARE),
            Column("actions", Text(nb="Tiltak", en="Actions"), Unit.COUNT),
        ),
    ),
    Definition(
        id="benefit.home_visits_avoided",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.COUNT,
        title=Text(nb="Hjemmebesøk unngått", en="Home visits avoided"),
        definition=Text(
            nb="Antall tiltak registrert i perioden der sykepleieren krysset av for "
            "«Hjemmebesøk unngått»: sykepleierens vurdering av at oppfølgingen gjorde et "
            "besøk fra hjemmesykepleien unødvendig.",
            en="Actions recorded in the period on which the nurse ticked «Home visit "
            "avoided»: the nurse's judgement that the handling made a home-care visit "
            "unnecessary.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="benefit.home_visits_avoided_by_home_care",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.COUNT,
        key_coded=Coded.HOME_CARE,
        title=Text(
            nb="Hjemmebesøk unngått, med og uten hjemmesykepleie",
            en="Home visits avoided, with and without home care",
        ),
        definition=Text(
            nb="Som «Hjemmebesøk unngått», delt på om pasienten også får hjemmesykepleie. "
            + _HOME_CARE.nb,
            en="As «Home visits avoided», split by whether the patient also receives home "
            "care. " + _HOME_CARE.en,
        ),
        source=SOURCE,
    ),
    Definition(
        id="benefit.home_care_hours_saved",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.HOURS,
        title=Text(nb="Timer spart i hjemmesykepleien", en="Home-care hours saved"),
        definition=Text(
            nb="Hjemmebesøk unngått i perioden ganget med kommunens minutter per hjemmebesøk "
            "(satt av administrator, kjøring medregnet), summert over pasientenes kommuner, "
            "delt på 60. Kommuner uten minutter per besøk er ikke med i summen (vist uten "
            "timer i tabellen); ingen verdi når ingen av kommunene har satt det.",
            en="Home visits avoided in the period times the municipality's minutes per home "
            "visit (set by the admin, driving included), summed over the patients' "
            "municipalities, divided by 60. Municipalities without minutes per visit are left "
            "out of the sum (shown without hours in the table); no value when none has it.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="benefit.home_care_hours_saved_by_home_care",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.HOURS,
        key_coded=Coded.HOME_CARE,
        title=Text(
            nb="Timer spart, med og uten hjemmesykepleie",
            en="Hours saved, with and without home care",
        ),
        definition=Text(
            nb="Som «Timer spart i hjemmesykepleien», delt på om pasienten også får "
            "hjemmesykepleie. " + _HOME_CARE.nb,
            en="As «Home-care hours saved», split by whether the patient also receives home "
            "care. " + _HOME_CARE.en,
        ),
        source=SOURCE,
    ),
    Definition(
        id="benefit.home_visits_by_municipality",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.HOURS,
        title=Text(nb="Hjemmebesøk unngått per kommune", en="Home visits avoided by municipality"),
        definition=Text(
            nb="Per kommune (pasientenes) og hjemmesykepleie: hjemmebesøk unngått i perioden, "
            "kommunens minutter per besøk og timer spart (besøk × minutter / 60; tomt når "
            "kommunen ikke har satt minutter per besøk). " + _HOME_CARE.nb,
            en="By the patients' municipality and home care: home visits avoided in the "
            "period, the municipality's minutes per visit and hours saved (visits × minutes / "
            "60; empty when the municipality has not set minutes per visit). " + _HOME_CARE.en,
        ),
        source=SOURCE,
        columns=(
            Column("municipality", Text(nb="Kommune", en="Municipality"), coded=Coded.MUNICIPALITY),
            Column("home_care", Text(nb="Hjemmesykepleie", en="Home care"), coded=Coded.HOME_CARE),
            Column("visits_avoided", Text(nb="Besøk unngått", en="Visits avoided"), Unit.COUNT),
            Column(
                "minutes_per_visit",
                Text(nb="Minutter per besøk", en="Minutes per visit"),
                Unit.MINUTES,
            ),
            Column("hours_saved", Text(nb="Timer spart", en="Hours saved"), Unit.HOURS),
        ),
    ),
)


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    first, after = utc_bounds(query)
    clauses = patient_clauses(query)

    day_clauses = patient_clauses(
        query, PatientDayRow.centre_id, PatientDayRow.municipality_id, PatientDayRow.condition
    )
    patient_days = {
        _yes(home_care): int(n)
        for home_care, n in session.execute(
            select(PatientDayRow.home_care, func.count())
            .where(*day_clauses, PatientDayRow.day >= query.start, PatientDayRow.day <= query.end)
            .group_by(PatientDayRow.home_care)
        )
    }
    alerts = {
        (_yes(home_care), colour): int(n)
        for home_care, colour, n in session.execute(
            select(PatientRow.home_care, AlertRow.colour, func.count())
            .join(PatientRow, PatientRow.id == AlertRow.patient_id)
            .where(
                *clauses,
                AlertRow.category == "clinical",
                AlertRow.colour.in_(COLOURS),
                AlertRow.opened_at >= first,
                AlertRow.opened_at < after,
            )
            .group_by(PatientRow.home_care, AlertRow.colour)
        )
    }
    in_period = (AlertActionRow.at >= first, AlertActionRow.at < after)
    outcomes = sorted(
        (outcome, colour, _yes(home_care), int(n))
        for outcome, colour, home_care, n in session.execute(
            select(AlertActionRow.outcome, AlertRow.colour, PatientRow.home_care, func.count())
            .join(AlertRow, AlertRow.id == AlertActionRow.alert_id)
            .join(PatientRow, PatientRow.id == AlertActionRow.patient_id)
            .where(*clauses, *in_period)
            .group_by(AlertActionRow.outcome, AlertRow.colour, PatientRow.home_care)
        )
    )
    visits: dict[tuple[str, str], int] = defaultdict(int)
    for municipality_id, flag, n in session.execute(
        select(PatientRow.municipality_id, PatientRow.home_care, func.count())
        .select_from(AlertActionRow)
        .join(PatientRow, PatientRow.id == AlertActionRow.patient_id)
        .where(*clauses, *in_period, AlertActionRow.home_visit_avoided)
        .group_by(PatientRow.municipality_id, PatientRow.home_care)
    ):
        visits[(municipality_id, _yes(flag))] += int(n)
    municipalities = session.execute(
        select(MunicipalityRow.id, MunicipalityRow.minutes_per_home_visit)
        .where(MunicipalityRow.id.in_(select(PatientRow.municipality_id).where(*clauses)))
        .order_by(MunicipalityRow.name)
    ).all()

    figures: list[Figure] = []
    for colour in COLOURS:
        figures.append(
            ratio(
                "benefit.alerts_per_patient_week",
                sum(alerts.get((h, colour), 0) for h in HOME_CARE),
                sum(patient_days.values()) / 7,
                key=colour,
            )
        )
    per_week: list[tuple[Cell, ...]] = []
    for home_care in HOME_CARE:
        weeks = patient_days.get(home_care, 0) / 7
        for colour in COLOURS:
            n = alerts.get((home_care, colour), 0)
            per_week.append((home_care, colour, n, weeks, n / weeks if weeks else None))

    by_municipality: list[tuple[Cell, ...]] = []
    hours: dict[str, float] = defaultdict(float)
    any_setting = False
    for municipality_id, minutes in municipalities:
        any_setting = any_setting or minutes is not None
        for home_care in HOME_CARE:
            n = visits.get((municipality_id, home_care), 0)
            saved = n * minutes / 60 if minutes is not None else None
            if saved is not None:
                hours[home_care] += saved
            by_municipality.append((municipality_id, home_care, n, minutes, saved))

    figures.append(count("benefit.home_visits_avoided", sum(visits.values())))
    figures.extend(
        count(
            "benefit.home_visits_avoided_by_home_care",
            sum(n for (_, h), n in visits.items() if h == home_care),
            key=home_care,
        )
        for home_care in HOME_CARE
    )
    figures.append(
        Figure("benefit.home_care_hours_saved", sum(hours.values()) if any_setting else None)
    )
    figures.extend(
        Figure(
            "benefit.home_care_hours_saved_by_home_care",
            hours[home_care] if any_setting else None,
            key=home_care,
        )
        for home_care in HOME_CARE
    )
    tables = (
        Table(
            "benefit.alerts_per_patient_week_by_home_care",
            _columns("benefit.alerts_per_patient_week_by_home_care"),
            tuple(per_week),
        ),
        Table("benefit.outcomes", _columns("benefit.outcomes"), tuple(outcomes)),
        Table(
            "benefit.home_visits_by_municipality",
            _columns("benefit.home_visits_by_municipality"),
            tuple(by_municipality),
        ),
    )
    return SectionResult(ProgrammeSection.BENEFIT, tuple(figures), tables)


def _columns(definition_id: str) -> tuple[str, ...]:
    return next(tuple(c.id for c in d.columns) for d in DEFINITIONS if d.id == definition_id)
