"""Measurement adherence and green days (issue 18), from the daily aggregates ``patient_days``
(kept by :mod:`triage.jobs.programme_days`; what counts as on time, late and missed is defined
in :mod:`triage.domain.adherence`).

Adherence reads ``patient_days`` grouped by patient (the shares, the groups, the patients below
80 % and the totals come from those ≤ 10,000 rows in Python; each patient's municipality and
condition from ``patients``) and grouped by day (the weeks); green days reads it grouped by day
and home-care flag. Patients appear by their id only: the figures are for nurses and leads,
never a list of names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, Integer, case, func, select
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
    ratio,
    re_aim,
)
from triage.programme.scope import patient_clauses
from triage.storage.models import PatientDayRow, PatientRow
from triage.storage.repositories import among

#: A patient whose share of scheduled measurements done on time is below this is counted in
#: ``fidelity.patients_below_adherence`` (TIM-HF reached above 80 % with training).
ADHERENCE_TARGET = 0.8

_RE_AIM_IMPLEMENTATION = cite(
    re_aim("gjennomføring, troskap mot planen", "Implementation, fidelity to the protocol"),
    Text(
        nb="Helsedirektoratets evaluering av DHO har ingen indikator for målinger etter planen: "
        "DHOs egen regel, med planens tidsvinduer for målingene",
        en="Helsedirektoratet's DHO evaluation has no measurement adherence indicator: DHO's "
        "own rule, the plan's schedule windows (triage.domain.schedule)",
    ),
)
_WHAT_COUNTS_NB = (
    "En planlagt måling er en måling (eller et spørreskjema) som pasientens godkjente plan ber "
    "om på en dag, i pasientens egen tidssone, regnet fra innmelding. I tide: målt innen "
    "fristen (fra midnatt, eller fra forrige frist for samme måling samme dag). For sent: ikke "
    "i tide, men målt etter fristen og før neste frist for samme måling samme dag, ellers før "
    "midnatt. Uteblitt: verken i tide eller for sent. Dager i pause og fra avslutningsdagen "
    "telles ikke."
)
_WHAT_COUNTS_EN = (
    "A scheduled measurement is one (a reading or a questionnaire) that the patient's approved "
    "plan asks for on a day, in the patient's own time zone, counted from enrolment. On time: "
    "measured by the deadline (from midnight, or from the previous deadline of the same "
    "measurement that day). Late: not on time, but measured after the deadline and before the "
    "next deadline of the same measurement that day, else before midnight. Missed: neither. "
    "Paused days and days from the day of discharge are not counted."
)

_AS_NB = "Som «Planlagte målinger: tatt i tide, for sent, uteblitt»"
_AS_EN = "As «Scheduled measurements: on time, late, missed»"

_SHARE_COLUMNS = (
    Column("slots_due", Text(nb="Planlagte målinger", en="Scheduled measurements"), Unit.COUNT),
    Column("on_time", Text(nb="I tide", en="On time"), Unit.COUNT),
    Column("late", Text(nb="For sent", en="Late"), Unit.COUNT),
    Column("missed", Text(nb="Uteblitt", en="Missed"), Unit.COUNT),
    Column("on_time_share", Text(nb="Andel i tide", en="Share on time"), Unit.SHARE),
    Column("late_share", Text(nb="Andel for sent", en="Share late"), Unit.SHARE),
    Column("missed_share", Text(nb="Andel uteblitt", en="Share missed"), Unit.SHARE),
)
_MUNICIPALITY = Column(
    "municipality", Text(nb="Kommune", en="Municipality"), coded=Coded.MUNICIPALITY
)
_CONDITION = Column("condition", Text(nb="Diagnose", en="Condition"), coded=Coded.CONDITION)
_WEEK = Column("week", Text(nb="Uke (mandag)", en="Week (Monday)"))
_HOME_CARE = Column("home_care", Text(nb="Hjemmesykepleie", en="Home care"), coded=Coded.HOME_CARE)


def _outcome_definitions() -> tuple[Definition, ...]:
    """``fidelity.on_time``, ``fidelity.late``, ``fidelity.missed``: one share each."""
    words = (
        ("on_time", "som ble tatt i tide", "done on time", "I tide", "On time"),
        ("late", "som ble tatt for sent", "done late", "For sent", "Late"),
        ("missed", "som ikke ble tatt", "missed", "Uteblitt", "Missed"),
    )
    return tuple(
        Definition(
            id=f"fidelity.{key}",
            section=ProgrammeSection.FIDELITY,
            unit=Unit.SHARE,
            title=Text(
                nb=f"Planlagte målinger: {title_nb.lower()}",
                en=f"Scheduled measurements: {title_en.lower()}",
            ),
            definition=Text(
                nb=f"Teller: planlagte målinger i perioden {nb}. Nevner: alle "
                "planlagte målinger på pasientenes dager i perioden (første til siste dag, "
                "begge med). " + _WHAT_COUNTS_NB,
                en=f"Numerator: scheduled measurements in the period {en}. Denominator: every "
                "scheduled measurement on the patients' days in the period (first to last "
                "day, both included). " + _WHAT_COUNTS_EN,
            ),
            source=_RE_AIM_IMPLEMENTATION,
        )
        for key, nb, en, title_nb, title_en in words
    )


DEFINITIONS: tuple[Definition, ...] = (
    *_outcome_definitions(),
    Definition(
        id="fidelity.patients_below_adherence",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.COUNT,
        title=Text(
            nb="Pasienter under 80 % målinger i tide",
            en="Patients below 80 % of measurements on time",
        ),
        definition=Text(
            nb="Teller: pasienter som hadde minst én planlagt måling i perioden og tok færre "
            "enn 80 % av sine planlagte målinger i tide (for sent teller ikke som i tide). "
            "Nevner: pasientene med minst én planlagt måling i perioden. " + _WHAT_COUNTS_NB,
            en="Numerator: patients with at least one scheduled measurement in the period "
            "who did fewer than 80 % of theirs on time (late does not count as on time). "
            "Denominator: the patients with at least one scheduled measurement in the period. "
            + _WHAT_COUNTS_EN,
        ),
        source=cite(
            _RE_AIM_IMPLEMENTATION,
            Text(
                nb="80 %-grensen: etterlevelsen med opplæring i TIM-HF (Koehler mfl., "
                "Circulation 2011)",
                en="the 80 % line: TIM-HF's adherence with training (Koehler et al., "
                "Circulation 2011)",
            ),
        ),
    ),
    Definition(
        id="fidelity.adherence_by_group",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.SHARE,
        title=Text(
            nb="Målinger etter planen per kommune og diagnose",
            en="Measurements as planned by municipality and condition",
        ),
        definition=Text(
            nb=_AS_NB + ", for hver kommune og diagnose (pasientens "
            "kommune og diagnose nå; dagene er de som ble regnet med pasientens kommune da). "
            + _WHAT_COUNTS_NB,
            en=_AS_EN + ", for each municipality and condition (the "
            "patient's municipality and condition now; the days are those counted under the "
            "patient's municipality then). " + _WHAT_COUNTS_EN,
        ),
        source=_RE_AIM_IMPLEMENTATION,
        columns=(_MUNICIPALITY, _CONDITION, *_SHARE_COLUMNS),
    ),
    Definition(
        id="fidelity.adherence_by_patient",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.SHARE,
        title=Text(nb="Målinger etter planen per pasient", en="Measurements as planned by patient"),
        definition=Text(
            nb=_AS_NB + ", for hver pasient med minst én planlagt "
            "måling i perioden, lavest andel i tide først. Sykepleierne i tjenesten ser "
            "pasientens navn; leder og administrator, som ikke ser pasientjournaler, ser "
            "«Pasient 1», «Pasient 2» og så videre. " + _WHAT_COUNTS_NB,
            en=_AS_EN + ", for each patient with at least one "
            "scheduled measurement in the period, lowest share on time first. The centre's "
            "nurses see the patient's name; a lead or the admin, who read no patient records, "
            "see «Patient 1», «Patient 2» and so on. " + _WHAT_COUNTS_EN,
        ),
        source=_RE_AIM_IMPLEMENTATION,
        columns=(
            Column("patient_id", Text(nb="Pasient", en="Patient"), coded=Coded.PATIENT),
            _MUNICIPALITY,
            _CONDITION,
            *_SHARE_COLUMNS,
        ),
    ),
    Definition(
        id="fidelity.adherence_by_week",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.SHARE,
        title=Text(nb="Målinger etter planen per uke", en="Measurements as planned by week"),
        definition=Text(
            nb=_AS_NB + ", for hver uke (mandag til søndag) i perioden; "
            "første og siste uke kan være delvise. " + _WHAT_COUNTS_NB,
            en=_AS_EN + ", for each week (Monday to Sunday) of the "
            "period; the first and last weeks may be partial. " + _WHAT_COUNTS_EN,
        ),
        source=_RE_AIM_IMPLEMENTATION,
        columns=(_WEEK, *_SHARE_COLUMNS),
    ),
    Definition(
        id="benefit.green_days",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.SHARE,
        title=Text(nb="Grønne dager", en="Green days"),
        definition=Text(
            nb="Teller: pasientdager i perioden med minst én måling og ingen røde eller gule "
            "målinger (målinger uten farge, som ikke er vurdert, teller ikke som røde eller "
            "gule). Nevner: pasientdager i perioden med minst én måling. En pasientdag er én "
            "pasients kalenderdag i egen tidssone i prøveperiode eller aktiv oppfølging "
            "(ikke pause, ikke fra avslutningsdagen). Også delt på pasienter med og uten "
            "hjemmesykepleie.",
            en="Numerator: patient-days in the period with at least one reading and no red or "
            "yellow reading (readings without a colour, not classified, do not count as red "
            "or yellow). Denominator: patient-days in the period with at least one reading. A "
            "patient-day is one patient's calendar day in their own time zone in the trial "
            "period or active follow-up (not paused, not from the day of discharge). Also "
            "split by patients with and without home care.",
        ),
        source=cite(
            re_aim("effekt", "Effectiveness"),
            Text(
                nb=f"{NO_HDIR_INDICATOR.nb}, fra målingenes farger (planens soner)",
                en=f"{NO_HDIR_INDICATOR.en}, from the readings' colours (the plan's zones)",
            ),
        ),
        key_coded=Coded.HOME_CARE,
    ),
    Definition(
        id="benefit.green_days_by_week",
        section=ProgrammeSection.BENEFIT,
        unit=Unit.SHARE,
        title=Text(nb="Grønne dager per uke", en="Green days by week"),
        definition=Text(
            nb="Som «Grønne dager», for hver uke (mandag til søndag) i perioden og for "
            "pasienter med og uten hjemmesykepleie; første og siste uke kan være delvise.",
            en="As «Green days», for each week (Monday to Sunday) of the period and for "
            "patients with and without home care; the first and last weeks may be partial.",
        ),
        source=cite(
            re_aim("effekt", "Effectiveness"),
            Text(nb="DHOs egen, som «Grønne dager»", en="DHO's own, as «Green days»"),
        ),
        columns=(
            _WEEK,
            _HOME_CARE,
            Column(
                "days_with_readings",
                Text(nb="Dager med målinger", en="Days with readings"),
                Unit.COUNT,
            ),
            Column("green_days", Text(nb="Grønne dager", en="Green days"), Unit.COUNT),
            Column("green_share", Text(nb="Andel grønne", en="Share green"), Unit.SHARE),
        ),
    ),
)


def _period(query: ProgrammeQuery) -> list[ColumnElement[bool]]:
    return [
        PatientDayRow.day >= query.start,
        PatientDayRow.day <= query.end,
        *patient_clauses(
            query, PatientDayRow.centre_id, PatientDayRow.municipality_id, PatientDayRow.condition
        ),
    ]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _counts(due: int, on_time: int, late: int, missed: int) -> tuple[Cell, ...]:
    return (
        due,
        on_time,
        late,
        missed,
        _share(on_time, due),
        _share(late, due),
        _share(missed, due),
    )


def _monday(day: date) -> date:
    return date.fromordinal(day.toordinal() - day.weekday())


def compute_adherence(session: Session, query: ProgrammeQuery) -> SectionResult:
    """Measurement adherence in the period: overall, by municipality and condition, by patient
    (id only), by week; and the patients below :data:`ADHERENCE_TARGET` on time."""
    d = PatientDayRow
    per_patient = session.execute(
        select(
            d.patient_id,
            func.sum(d.slots_due),
            func.sum(d.on_time),
            func.sum(d.late),
            func.sum(d.missed),
        )
        .where(*_period(query), d.slots_due > 0)
        .group_by(d.patient_id)
    ).all()
    per_week = session.execute(
        select(d.day, func.sum(d.slots_due), func.sum(d.on_time), func.sum(d.late))
        .where(*_period(query), d.slots_due > 0)
        .group_by(d.day)
    ).all()
    patients: list[tuple[Cell, ...]] = []
    groups: dict[tuple[str, str], list[int]] = {}
    total = [0, 0, 0, 0]
    below = 0
    labels = _labels(session, [row[0] for row in per_patient])
    for patient_id, due, on_time, late, missed in per_patient:
        municipality, condition = labels[patient_id]
        numbers = [int(due), int(on_time), int(late), int(missed)]
        patients.append((patient_id, municipality, condition, *_counts(*numbers)))
        group = groups.setdefault((municipality, condition), [0, 0, 0, 0])
        for i, n in enumerate(numbers):
            group[i] += n
            total[i] += n
        if numbers[1] < ADHERENCE_TARGET * numbers[0]:
            below += 1
    patients.sort(key=lambda row: (row[4], row[0]))  # lowest share on time first
    weeks: dict[date, list[int]] = {}
    for day, due, on_time, late in per_week:
        week = weeks.setdefault(_monday(day), [0, 0, 0])
        week[0] += int(due)
        week[1] += int(on_time)
        week[2] += int(late)
    due, on_time, late, missed = total
    figures: list[Figure] = [
        ratio("fidelity.on_time", on_time, due),
        ratio("fidelity.late", late, due),
        ratio("fidelity.missed", missed, due),
        Figure(
            "fidelity.patients_below_adherence",
            below,
            numerator=below,
            denominator=len(per_patient),
        ),
    ]
    tables = (
        Table(
            "fidelity.adherence_by_group",
            ("municipality", "condition", *(c.id for c in _SHARE_COLUMNS)),
            tuple((m, c, *_counts(*numbers)) for (m, c), numbers in sorted(groups.items())),
        ),
        Table(
            "fidelity.adherence_by_patient",
            ("patient_id", "municipality", "condition", *(c.id for c in _SHARE_COLUMNS)),
            tuple(patients),
        ),
        Table(
            "fidelity.adherence_by_week",
            ("week", *(c.id for c in _SHARE_COLUMNS)),
            tuple(
                (monday.isoformat(), *_counts(w[0], w[1], w[2], w[0] - w[1] - w[2]))
                for monday, w in sorted(weeks.items())
            ),
        ),
    )
    return SectionResult(ProgrammeSection.FIDELITY, tuple(figures), tables)


def _labels(session: Session, patient_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each patient's municipality and condition now (from ``patients``: a few milliseconds for
    10,000 patients, where taking them from the aggregated days doubled the query)."""
    if not patient_ids:
        return {}
    return {
        patient_id: (municipality, condition)
        for patient_id, municipality, condition in session.execute(
            select(
                PatientRow.id,
                PatientRow.municipality_id,
                func.coalesce(PatientRow.condition, "none"),
            ).where(among(session, PatientRow.id, patient_ids))
        )
    }


def compute_green_days(session: Session, query: ProgrammeQuery) -> SectionResult:
    """Green days in the period: overall, with and without home care, by week."""
    d = PatientDayRow
    green = case((d.red + d.yellow == 0, 1), else_=0)
    rows = session.execute(
        select(d.day, d.home_care, func.count(), func.sum(green).cast(Integer))
        .where(*_period(query), d.readings > 0)
        .group_by(d.day, d.home_care)
    ).all()
    return SectionResult(ProgrammeSection.BENEFIT, *_green(rows))


def _green(
    rows: Iterable[tuple[date, bool, int, int | None]],
) -> tuple[tuple[Figure, ...], tuple[Table, ...]]:
    totals: dict[str, list[int]] = {"all": [0, 0], "yes": [0, 0], "no": [0, 0]}
    weeks: dict[tuple[date, str], list[int]] = {}
    for day, home_care, days, greens in rows:
        key = "yes" if home_care else "no"
        for bucket in (totals["all"], totals[key]):
            bucket[0] += int(days)
            bucket[1] += int(greens or 0)
        week = weeks.setdefault((_monday(day), key), [0, 0])
        week[0] += int(days)
        week[1] += int(greens or 0)
    figures = tuple(
        ratio("benefit.green_days", green, days, key=None if key == "all" else key)
        for key, (days, green) in totals.items()
    )
    table = Table(
        "benefit.green_days_by_week",
        ("week", "home_care", "days_with_readings", "green_days", "green_share"),
        tuple(
            (monday.isoformat(), key, days, green, _share(green, days))
            for (monday, key), (days, green) in sorted(weeks.items())
        ),
    )
    return figures, (table,)
