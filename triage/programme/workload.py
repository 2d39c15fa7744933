"""Nurse workload (RE-AIM implementation: the resources the service takes): patients in
follow-up per nurse full-time equivalent, alerts per nurse-day, and the time from acknowledging
an alert to resolving it — by centre, from each centre's nurse FTE as the admin entered it."""

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
    minutes_percentile,
    ratio,
    re_aim,
)
from triage.programme.alert_handling import epoch_seconds, scope_centres
from triage.programme.scope import columns_by_group, patient_clauses, utc_bounds
from triage.storage.models import AlertRow, PatientRow

COLOURS = ("red", "yellow")
IN_FOLLOW_UP = ("trial", "active", "paused")

_RESOURCES = re_aim("gjennomføring, ressursene som brukes", "Implementation, the resources used")
SOURCE_FTE = cite(
    _RESOURCES,
    Text(
        nb="Helsedirektoratet, Erfaringsrapport: spredning av digital hjemmeoppfølging "
        "2022–2024, kap. 4.3: om lag 80 pasienter per sykepleierårsverk (Ullensakers anslag)",
        en="Helsedirektoratet, Erfaringsrapport: spredning av digital hjemmeoppfølging "
        "2022–2024, ch. 4.3: about 80 patients per full-time nurse (Ullensaker's estimate)",
    ),
)
SOURCE = cite(
    _RESOURCES,
    Text(nb=f"{NO_HDIR_INDICATOR.nb} figur", en=f"{NO_HDIR_INDICATOR.en} figure"),
)
_FTE = Text(
    nb="Årsverk: sykepleierårsverk i tjenesten slik administrator har registrert dem; "
    "tjenester uten registrerte årsverk (og deres pasienter og varsler) er ikke med, og uten "
    "årsverk i noen tjeneste har tallet ingen verdi. Årsverkene gjelder hele tjenesten, også "
    "når utvalget er én kommune eller én diagnose.",
    en="FTE: the centre's nurse full-time equivalents as the admin entered them; centres "
    "without FTE (and their patients and alerts) are left out, and with no FTE anywhere the "
    "figure has no value. The FTE are the whole centre's, also when the selection is one "
    "municipality or one condition.",
)

DEFINITIONS = (
    Definition(
        id="workload.patients_per_fte",
        section=ProgrammeSection.WORKLOAD,
        unit=Unit.PER_FTE,
        title=Text(nb="Pasienter per sykepleierårsverk", en="Patients per nurse FTE"),
        definition=Text(
            nb="Pasienter i oppfølging nå (prøveperiode, aktiv eller pause) per "
            "sykepleierårsverk. Teller: pasientene i utvalget i oppfølging i dag. Nevner: sum "
            "årsverk i deres tjenester. Dagens tall, ikke periodens. " + _FTE.nb,
            en="Patients in follow-up now (trial, active or paused) per nurse full-time "
            "equivalent. Numerator: the selection's patients in follow-up today. Denominator: "
            "the sum of their centres' FTE. Today's figure, not the period's. " + _FTE.en,
        ),
        source=SOURCE_FTE,
    ),
    Definition(
        id="workload.alerts_per_nurse_day",
        section=ProgrammeSection.WORKLOAD,
        unit=Unit.PER_NURSE_DAY,
        title=Text(nb="Varsler per sykepleierdag", en="Alerts per nurse-day"),
        definition=Text(
            nb="Varsler åpnet i perioden (alle farger og typer, også tapt kontakt) per "
            "sykepleierdag. Teller: varsler åpnet i perioden. Nevner: dager i perioden "
            "(kalenderdager) × sum årsverk. " + _FTE.nb,
            en="Alerts opened in the period (every colour and kind, lost contact included) "
            "per nurse-day. Numerator: alerts opened in the period. Denominator: days in the "
            "period (calendar days) × the sum of FTE. " + _FTE.en,
        ),
        source=SOURCE,
    ),
    Definition(
        id="workload.minutes_acknowledge_to_resolve_median",
        section=ProgrammeSection.WORKLOAD,
        unit=Unit.MINUTES,
        key_coded=Coded.COLOUR,
        title=Text(
            nb="Minutter fra kvittering til avslutning (median)",
            en="Minutes from acknowledgement to resolution (median)",
        ),
        definition=Text(
            nb="Medianen av tiden i minutter (klokketid, også natt og helg) fra et varsel ble "
            "kvittert til det ble avsluttet, for røde og gule kliniske varsler avsluttet i "
            "perioden, per farge. Et mål på hvor lenge varselet var under arbeid, ikke på "
            "arbeidstid brukt.",
            en="The median time in minutes (clock time, nights and weekends included) from an "
            "alert's acknowledgement to its resolution, for red and yellow clinical alerts "
            "resolved in the period, by colour. How long the alert was being handled, not "
            "working time spent.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="workload.minutes_acknowledge_to_resolve_p90",
        section=ProgrammeSection.WORKLOAD,
        unit=Unit.MINUTES,
        key_coded=Coded.COLOUR,
        title=Text(
            nb="Minutter fra kvittering til avslutning (90-persentil)",
            en="Minutes from acknowledgement to resolution (90th percentile)",
        ),
        definition=Text(
            nb="Som medianen, men 90-persentilen (lineær interpolasjon): 9 av 10 varsler ble "
            "avsluttet innen så mange minutter etter kvittering.",
            en="As the median, but the 90th percentile (linear interpolation): 9 in 10 alerts "
            "were resolved within this many minutes of their acknowledgement.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="workload.by_centre",
        section=ProgrammeSection.WORKLOAD,
        unit=Unit.COUNT,
        title=Text(nb="Arbeidsmengde per tjeneste", en="Workload by centre"),
        definition=Text(
            nb="Tallene over per tjeneste; tomt der tjenesten ikke har registrert årsverk.",
            en="The figures above by centre; empty where the centre has no FTE entered.",
        ),
        source=SOURCE_FTE,
        columns=(
            Column("centre", Text(nb="Tjeneste", en="Centre"), coded=Coded.CENTRE),
            Column("nurse_fte", Text(nb="Årsverk", en="Nurse FTE"), Unit.COUNT),
            Column("patients", Text(nb="Pasienter nå", en="Patients now"), Unit.COUNT),
            Column("patients_per_fte", Text(nb="Per årsverk", en="Per FTE"), Unit.PER_FTE),
            Column("alerts", Text(nb="Varsler åpnet", en="Alerts opened"), Unit.COUNT),
            Column(
                "alerts_per_nurse_day",
                Text(nb="Per sykepleierdag", en="Per nurse-day"),
                Unit.PER_NURSE_DAY,
            ),
            Column("red_median", Text(nb="Rød median (min)", en="Red median (min)"), Unit.MINUTES),
            Column("red_p90", Text(nb="Rød 90-pst. (min)", en="Red 90th pct (min)"), Unit.MINUTES),
            Column(
                "yellow_median", Text(nb="Gul median (min)", en="Yellow median (min)"), Unit.MINUTES
            ),
            Column(
                "yellow_p90", Text(nb="Gul 90-pst. (min)", en="Yellow 90th pct (min)"), Unit.MINUTES
            ),
        ),
    ),
)


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    first, after = utc_bounds(query)
    clauses = patient_clauses(query)
    days = (query.end - query.start).days + 1
    centres = scope_centres(session, query)

    patients: dict[str, int] = {
        centre_id: int(n)
        for centre_id, n in session.execute(
            select(PatientRow.centre_id, func.count())
            .where(*clauses, PatientRow.state.in_(IN_FOLLOW_UP))
            .group_by(PatientRow.centre_id)
        )
    }
    alerts: dict[str, int] = {
        centre_id: int(n)
        for centre_id, n in session.execute(
            select(PatientRow.centre_id, func.count())
            .select_from(AlertRow)
            .join(PatientRow, PatientRow.id == AlertRow.patient_id)
            .where(*clauses, AlertRow.opened_at >= first, AlertRow.opened_at < after)
            .group_by(PatientRow.centre_id)
        )
    }
    handled: dict[tuple[str, str], list[float]] = defaultdict(list)
    elapsed = epoch_seconds(session, AlertRow.resolved_at) - epoch_seconds(
        session, AlertRow.acknowledged_at
    )
    statement = (
        select(PatientRow.centre_id, AlertRow.colour, elapsed)
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            *clauses,
            AlertRow.category == "clinical",
            AlertRow.colour.in_(COLOURS),
            AlertRow.acknowledged_at.is_not(None),
            AlertRow.resolved_at >= first,
            AlertRow.resolved_at < after,
        )
    )
    # ~100,000 a quarter: as columns per centre, not as rows
    for centre_id, (colours, seconds) in columns_by_group(session, statement).items():
        for colour, elapsed_s in zip(colours, seconds, strict=True):
            handled[(centre_id, colour)].append(elapsed_s / 60)

    staffed = [c for c in centres if c.nurse_fte]
    fte = sum(float(c.nurse_fte or 0) for c in staffed)
    figures: list[Figure] = [
        ratio("workload.patients_per_fte", sum(patients.get(c.id, 0) for c in staffed), fte),
        ratio(
            "workload.alerts_per_nurse_day",
            sum(alerts.get(c.id, 0) for c in staffed),
            days * fte,
        ),
    ]
    for colour in COLOURS:
        minutes = [m for (_, c), found in handled.items() if c == colour for m in found]
        figures.append(
            Figure(
                "workload.minutes_acknowledge_to_resolve_median",
                minutes_percentile(minutes, 0.5),
                key=colour,
            )
        )
        figures.append(
            Figure(
                "workload.minutes_acknowledge_to_resolve_p90",
                minutes_percentile(minutes, 0.9),
                key=colour,
            )
        )

    rows: list[tuple[Cell, ...]] = []
    for centre in centres:
        centre_fte = float(centre.nurse_fte) if centre.nurse_fte else None
        n_patients = patients.get(centre.id, 0)
        n_alerts = alerts.get(centre.id, 0)
        red = handled.get((centre.id, "red"), [])
        yellow = handled.get((centre.id, "yellow"), [])
        rows.append(
            (
                centre.id,
                centre_fte,
                n_patients,
                n_patients / centre_fte if centre_fte else None,
                n_alerts,
                n_alerts / (days * centre_fte) if centre_fte else None,
                minutes_percentile(red, 0.5),
                minutes_percentile(red, 0.9),
                minutes_percentile(yellow, 0.5),
                minutes_percentile(yellow, 0.9),
            )
        )
    columns = tuple(c.id for c in DEFINITIONS[-1].columns)
    return SectionResult(
        ProgrammeSection.WORKLOAD,
        tuple(figures),
        (Table("workload.by_centre", columns, tuple(rows)),),
    )
