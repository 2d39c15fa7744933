"""Alert handling per the protocol (RE-AIM implementation / fidelity): reds and yellows
acknowledged within their target in the centre's staffed time, minutes to acknowledge, outcomes
recorded, and the reds and yellows waiting when the centre opens.

Staffed time is the centre's own service calendar (:mod:`triage.domain.service_hours`); the
targets and the exact rules are in :mod:`triage.domain.programme_alerts`. One query reads six
small columns of the clinical red and yellow alerts (about 100,000 a quarter at 10,000
patients) and :func:`~triage.domain.programme_alerts.tally` computes staffed minutes in one pass
by bisection over the centre's staffed periods; outcomes recorded are counted in SQL (a
semi-join on ``alert_actions``).

The red target is the centre's ``on_call_after`` over the query's ``default_on_call_after``:
the API sets it from ``DHO_ESCALATE_AFTER_MIN`` (as the escalation job does), else
EscalationPolicy's default (30 minutes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import Float, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.escalation import EscalationPolicy
from triage.domain.programme import (
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
from triage.domain.programme_alerts import (
    AlertTimes,
    ColourTally,
    OpeningBacklog,
    StaffedClock,
    tally,
    yellow_target,
)
from triage.domain.service_hours import ServiceCalendar
from triage.programme.scope import OSLO, columns_by_group, patient_clauses, utc_bounds
from triage.storage.models import AlertActionRow, AlertRow, CentreRow, PatientRow
from triage.storage.repositories import centre_calendar

COLOURS = ("red", "yellow")

SOURCE_FIDELITY = cite(
    re_aim("gjennomføring, troskap mot protokollen", "Implementation, fidelity to the protocol"),
    Text(
        nb="måltider: tjenestens regler for videresending av røde varsler og planenes gule "
        "tiltak «sykepleier ringer deg i dag»; Helsedirektoratets evaluering av DHO har ingen "
        "slik indikator (DHO)",
        en="targets: the centre's escalation policy (red, docs/clinical/service-hours.md) and "
        "the plans' yellow action «sykepleier ringer deg i dag» (docs/clinical/templates.md); "
        "Helsedirektoratet's DHO evaluation has no such indicator (DHO)",
    ),
)
_STAFFED = Text(
    nb="Ventetid regnes bare i tjenestens åpningstid (tjenestens egen kalender: ukedager, "
    "åpningstider, helligdager og ekstra åpne eller stengte dager); natt, helg og helligdager "
    "teller ikke. Klokken starter når varselet fikk sin farge (åpnet, eller hevet fra gul til "
    "rød). Bare kliniske varsler (ikke tapt kontakt).",
    en="Waiting counts only the centre's staffed time (its own calendar: weekdays, hours, "
    "public holidays, extra open or closed days); nights, weekends and holidays do not count. "
    "The clock starts when the alert reached its colour (opened, or raised from yellow to red). "
    "Clinical alerts only (not lost contact).",
)

DEFINITIONS = (
    Definition(
        id="alert_handling.acknowledged_on_time",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.SHARE,
        key_coded=Coded.COLOUR,
        title=Text(nb="Kvittert innen måltiden", en="Acknowledged within the target"),
        definition=Text(
            nb="Andel av de røde og gule varslene som ble åpnet i perioden, som ble kvittert "
            "innen måltiden, per farge. Måltid for rødt: tjenestens egen frist før et ukvittert "
            "rødt varsel går videre til vakthavende sykepleier (30 minutter om ikke tjenesten "
            "har satt en annen). Måltid for gult: én arbeidsdag i åpningstid (7 timer med "
            "åpningstid 08–15), fordi planen sier «sykepleier ringer deg i dag». I tide: "
            "ventetiden er høyst måltiden. Teller: kvittert i tide. Nevner: kvittert, pluss "
            "ukvitterte som allerede har ventet lenger enn måltiden; ukvitterte som ennå er "
            "innenfor måltiden telles ikke. " + _STAFFED.nb,
            en="Share of the red and yellow alerts opened in the period that were acknowledged "
            "within the target, by colour. Red target: the centre's own delay before an "
            "unacknowledged red goes to the on-call nurse (30 minutes unless the centre set "
            "another). Yellow target: one working day of staffed time (7 hours with 08–15 "
            "hours), because the plan tells the patient «a nurse will call you today». On time: "
            "the wait is at most the target. Numerator: acknowledged on time. Denominator: "
            "acknowledged, plus unacknowledged alerts that have already waited longer than the "
            "target; unacknowledged alerts still within it are not counted. " + _STAFFED.en,
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.minutes_to_acknowledge_median",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.MINUTES,
        key_coded=Coded.COLOUR,
        title=Text(nb="Minutter til kvittering (median)", en="Minutes to acknowledge (median)"),
        definition=Text(
            nb="Medianen av ventetiden i minutter åpningstid fra varselet fikk sin farge til "
            "det ble kvittert, for røde og gule varsler åpnet i perioden og kvittert (når som "
            "helst fram til nå), per farge. " + _STAFFED.nb,
            en="The median wait in staffed minutes from the alert reaching its colour to its "
            "acknowledgement, for red and yellow alerts opened in the period and acknowledged "
            "(at any time until now), by colour. " + _STAFFED.en,
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.minutes_to_acknowledge_p90",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.MINUTES,
        key_coded=Coded.COLOUR,
        title=Text(
            nb="Minutter til kvittering (90-persentil)",
            en="Minutes to acknowledge (90th percentile)",
        ),
        definition=Text(
            nb="Som medianen, men 90-persentilen (lineær interpolasjon): 9 av 10 varsler ble "
            "kvittert innen så mange minutter åpningstid. " + _STAFFED.nb,
            en="As the median, but the 90th percentile (linear interpolation): 9 in 10 alerts "
            "were acknowledged within this many staffed minutes. " + _STAFFED.en,
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.outcome_recorded",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.SHARE,
        key_coded=Coded.COLOUR,
        title=Text(nb="Avsluttet med registrert tiltak", en="Resolved with an outcome recorded"),
        definition=Text(
            nb="Andel av de røde og gule kliniske varslene som ble avsluttet i perioden, der "
            "minst ett tiltak (utfall) er registrert, per farge. Teller: avsluttet med "
            "tiltak. Nevner: avsluttet i perioden.",
            en="Share of the red and yellow clinical alerts resolved in the period with at "
            "least one action (outcome) recorded, by colour. Numerator: resolved with an "
            "action. Denominator: resolved in the period.",
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.backlog_at_opening",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.COUNT,
        key_coded=Coded.COLOUR,
        title=Text(
            nb="Ukvitterte varsler ved åpning (snitt per dag)",
            en="Unacknowledged alerts at opening (mean per day)",
        ),
        definition=Text(
            nb="Røde og gule kliniske varsler som ventet ukvittert da tjenesten åpnet, i snitt "
            "per åpningsdag i perioden, per farge. Et varsel venter ved åpning når det fikk "
            "sin farge før åpningstiden og ikke var kvittert ved åpningstiden; det telles hver "
            "åpningsdag det venter. Teller: ventende varsler summert over dagene. Nevner: "
            "åpningsdager (per tjeneste, etter tjenestens kalender) som har begynt.",
            en="Red and yellow clinical alerts waiting unacknowledged when the centre opened, "
            "as a mean per staffed day of the period, by colour. An alert waits at an opening "
            "when it reached its colour before the opening and was not acknowledged by then; "
            "it counts on every staffed day it waits. Numerator: waiting alerts summed over "
            "the days. Denominator: staffed days (per centre, by its calendar) that have begun.",
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.backlog_days",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.SHARE,
        title=Text(
            nb="Åpningsdager med varsler som venter", en="Staffed days opening with a backlog"
        ),
        definition=Text(
            nb="Andel av åpningsdagene i perioden der minst ett rødt eller gult klinisk "
            "varsel ventet ukvittert ved åpning. Teller: dager med ventende varsler. Nevner: "
            "åpningsdager (per tjeneste) som har begynt.",
            en="Share of the staffed days of the period on which at least one red or yellow "
            "clinical alert waited unacknowledged at opening. Numerator: days with a backlog. "
            "Denominator: staffed days (per centre) that have begun.",
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.backlog_cleared_median",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.MINUTES,
        title=Text(
            nb="Minutter etter åpning til alt var kvittert (median)",
            en="Minutes after opening until all were acknowledged (median)",
        ),
        definition=Text(
            nb="For hver åpningsdag med ventende varsler: minutter åpningstid fra åpning til "
            "det siste av dem ble kvittert. Medianen over dagene der alle er kvittert; dager "
            "der noen fortsatt venter er med i tabellen, ikke i medianen.",
            en="For each staffed day with alerts waiting at opening: staffed minutes from the "
            "opening until the last of them was acknowledged. The median over the days on "
            "which all were acknowledged; days with one still waiting are in the table, not "
            "in the median.",
        ),
        source=SOURCE_FIDELITY,
    ),
    Definition(
        id="alert_handling.by_centre",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.COUNT,
        title=Text(nb="Varselhåndtering per tjeneste", en="Alert handling by centre"),
        definition=Text(
            nb="Tallene over per tjeneste og farge, med tjenestens måltid i minutter "
            "åpningstid. " + _STAFFED.nb,
            en="The figures above by centre and colour, with the centre's target in staffed "
            "minutes. " + _STAFFED.en,
        ),
        source=SOURCE_FIDELITY,
        columns=(
            Column("centre", Text(nb="Tjeneste", en="Centre"), coded=Coded.CENTRE),
            Column("colour", Text(nb="Farge", en="Colour"), coded=Coded.COLOUR),
            Column("target_minutes", Text(nb="Måltid (min)", en="Target (min)"), Unit.MINUTES),
            Column("counted", Text(nb="Varsler vurdert", en="Alerts counted"), Unit.COUNT),
            Column("on_time", Text(nb="Kvittert i tide", en="On time"), Unit.COUNT),
            Column("on_time_share", Text(nb="Andel i tide", en="Share on time"), Unit.SHARE),
            Column("median_minutes", Text(nb="Median (min)", en="Median (min)"), Unit.MINUTES),
            Column("p90_minutes", Text(nb="90-persentil (min)", en="90th pct (min)"), Unit.MINUTES),
            Column("resolved", Text(nb="Avsluttet", en="Resolved"), Unit.COUNT),
            Column("with_outcome", Text(nb="Med tiltak", en="With outcome"), Unit.COUNT),
        ),
    ),
    Definition(
        id="alert_handling.backlog_by_day",
        section=ProgrammeSection.ALERT_HANDLING,
        unit=Unit.COUNT,
        title=Text(nb="Ventende varsler ved åpning per dag", en="Waiting at opening by day"),
        definition=Text(
            nb="Per åpningsdag og tjeneste: røde og gule kliniske varsler som ventet ukvittert "
            "ved åpning, og minutter åpningstid fra åpning til alle var kvittert (tomt når "
            "ingen ventet eller noen fortsatt venter).",
            en="By staffed day and centre: red and yellow clinical alerts waiting "
            "unacknowledged at opening, and staffed minutes from opening until all were "
            "acknowledged (empty when none waited or one is still waiting).",
        ),
        source=SOURCE_FIDELITY,
        columns=(
            Column("day", Text(nb="Dag", en="Day")),
            Column("centre", Text(nb="Tjeneste", en="Centre"), coded=Coded.CENTRE),
            Column("red", Text(nb="Røde", en="Red"), Unit.COUNT),
            Column("yellow", Text(nb="Gule", en="Yellow"), Unit.COUNT),
            Column(
                "cleared_minutes",
                Text(nb="Alt kvittert etter (min)", en="All acknowledged after (min)"),
                Unit.MINUTES,
            ),
        ),
    ),
)


# ----------------------------------------------------------------------------- SQL helpers


def epoch_seconds(session: Session, column: Any) -> Any:
    """``column`` (a UTC timestamp) as seconds since the Unix epoch, a float, on either
    database (PostgreSQL's ``date_part`` is double precision; SQLite's ``julianday`` reads the
    stored UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_part("epoch", column)
    return cast((func.julianday(column) - 2440587.5) * 86400.0, Float)


# ----------------------------------------------------------------------------- centres


@dataclass(frozen=True)
class CentreRules:
    calendar: ServiceCalendar
    red_target: timedelta

    @property
    def yellow_target(self) -> timedelta:
        return yellow_target(self.calendar)

    def target(self, colour: str) -> timedelta:
        return self.red_target if colour == "red" else self.yellow_target


def centre_rules(centre: CentreRow, default_on_call_after: timedelta) -> CentreRules:
    """The centre's calendar and red target (its ``on_call_after`` over the default); an
    unreadable stored calendar or policy gives the defaults, as the escalation job does."""
    try:
        calendar = centre_calendar(centre)
    except ValidationError:
        calendar = ServiceCalendar(timezone=centre.timezone)
    try:
        policy = EscalationPolicy.model_validate(
            {"on_call_after": default_on_call_after, **(centre.escalation or {})}
        )
    except ValidationError:
        policy = EscalationPolicy(on_call_after=default_on_call_after)
    return CentreRules(calendar, policy.on_call_after)


def scope_centres(session: Session, query: ProgrammeQuery) -> list[CentreRow]:
    """The centres of the query's patients, by name."""
    ids = select(PatientRow.centre_id).where(*patient_clauses(query)).distinct()
    return list(
        session.scalars(select(CentreRow).where(CentreRow.id.in_(ids)).order_by(CentreRow.name))
    )


def clock_span(query: ProgrammeQuery) -> tuple[date, date]:
    """The local dates a staffed clock must cover: the period and up to now, a day each side."""
    today = query.now.astimezone(OSLO).date()
    return query.start - timedelta(days=1), max(query.end, today) + timedelta(days=1)


# ----------------------------------------------------------------------------- compute


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    default_on_call_after = query.default_on_call_after
    first, after = utc_bounds(query)
    now_s = query.now.timestamp()
    centres = scope_centres(session, query)
    rules = {c.id: centre_rules(c, default_on_call_after) for c in centres}
    span = clock_span(query)
    clocks = {cid: StaffedClock(r.calendar, *span) for cid, r in rules.items()}

    # the alerts opened in the period, waiting at one of its openings, or resolved in it
    since = func.coalesce(AlertRow.raised_at, AlertRow.opened_at)
    statement = (
        select(
            PatientRow.centre_id,
            AlertRow.colour,
            epoch_seconds(session, since),
            epoch_seconds(session, AlertRow.acknowledged_at),
            and_(AlertRow.opened_at >= first, AlertRow.opened_at < after),
            and_(AlertRow.resolved_at >= first, AlertRow.resolved_at < after),
        )
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            *patient_clauses(query),
            AlertRow.category == "clinical",
            AlertRow.colour.in_(COLOURS),
            AlertRow.opened_at < after,
            or_(
                AlertRow.acknowledged_at.is_(None),
                AlertRow.acknowledged_at >= first,
                AlertRow.resolved_at >= first,
            ),
        )
    )
    # ~100,000 alerts a quarter: as columns per centre, not as rows
    columns_of = columns_by_group(session, statement)
    alerts: dict[str, AlertTimes] = {}
    resolved: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for centre in centres:
        colours, reached, acknowledged, opened_in, resolved_in = columns_of.get(
            centre.id, [[], [], [], [], []]
        )
        red = np.array([c == "red" for c in colours], dtype=np.bool_)
        alerts[centre.id] = AlertTimes(
            red=red,
            since=np.array(reached, dtype=np.float64),
            acknowledged=np.array(acknowledged, dtype=np.float64),  # None: NaN
            counted=np.array(opened_in, dtype=np.bool_),
        )
        resolved_now = np.array(resolved_in, dtype=np.bool_)
        for colour, of_colour in (("red", red), ("yellow", ~red)):
            n = int(np.count_nonzero(of_colour & resolved_now))
            if n:
                resolved[(centre.id, colour)][0] = n
    for centre_id, colour, n in session.execute(
        select(PatientRow.centre_id, AlertRow.colour, func.count())
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            *patient_clauses(query),
            AlertRow.category == "clinical",
            AlertRow.colour.in_(COLOURS),
            AlertRow.resolved_at >= first,
            AlertRow.resolved_at < after,
            # a semi-join (one pass over alert_actions), not a probe per alert
            exists().where(AlertActionRow.alert_id == AlertRow.id),
        )
        .group_by(PatientRow.centre_id, AlertRow.colour)
    ):
        resolved[(centre_id, colour)][1] = int(n)

    tallies: dict[tuple[str, str], ColourTally] = {}
    backlog_at: dict[str, list[OpeningBacklog]] = {}
    for centre in centres:
        rule = rules[centre.id]
        found, backlog_at[centre.id] = tally(
            clocks[centre.id],
            alerts[centre.id],
            now_s,
            {colour: rule.target(colour) for colour in COLOURS},
        )
        for colour, counted in found.items():
            tallies[(centre.id, colour)] = counted

    figures: list[Figure] = []
    for colour in COLOURS:
        mine = [t for (_, c), t in tallies.items() if c == colour]
        waits = [w for t in mine for w in t.waits]
        figures.append(
            ratio(
                "alert_handling.acknowledged_on_time",
                sum(t.on_time for t in mine),
                sum(t.counted for t in mine),
                key=colour,
            )
        )
        figures.append(
            Figure(
                "alert_handling.minutes_to_acknowledge_median",
                minutes_percentile(waits, 0.5),
                key=colour,
            )
        )
        figures.append(
            Figure(
                "alert_handling.minutes_to_acknowledge_p90",
                minutes_percentile(waits, 0.9),
                key=colour,
            )
        )
        done = [v for (_, c), v in resolved.items() if c == colour]
        figures.append(
            ratio(
                "alert_handling.outcome_recorded",
                sum(v[1] for v in done),
                sum(v[0] for v in done),
                key=colour,
            )
        )

    backlog_rows, backlog_figures = _backlog(query, centres, clocks, backlog_at, now_s)
    figures.extend(backlog_figures)

    by_centre: list[tuple[Cell, ...]] = []
    for centre in centres:
        for colour in COLOURS:
            counted = tallies.get((centre.id, colour), ColourTally())
            total, with_outcome = resolved.get((centre.id, colour), (0, 0))
            by_centre.append(
                (
                    centre.id,
                    colour,
                    rules[centre.id].target(colour).total_seconds() / 60,
                    counted.counted,
                    counted.on_time,
                    counted.on_time / counted.counted if counted.counted else None,
                    minutes_percentile(counted.waits, 0.5),
                    minutes_percentile(counted.waits, 0.9),
                    total,
                    with_outcome,
                )
            )
    tables = (
        Table(
            "alert_handling.by_centre",
            tuple(c.id for c in _columns("alert_handling.by_centre")),
            tuple(by_centre),
        ),
        Table(
            "alert_handling.backlog_by_day",
            tuple(c.id for c in _columns("alert_handling.backlog_by_day")),
            tuple(backlog_rows),
        ),
    )
    return SectionResult(ProgrammeSection.ALERT_HANDLING, tuple(figures), tables)


def _columns(definition_id: str) -> tuple[Column, ...]:
    return next(d.columns for d in DEFINITIONS if d.id == definition_id)


def _backlog(
    query: ProgrammeQuery,
    centres: Iterable[CentreRow],
    clocks: dict[str, StaffedClock],
    backlog_at: dict[str, list[OpeningBacklog]],
    now_s: float,
) -> tuple[list[tuple[Cell, ...]], list[Figure]]:
    rows: list[tuple[Cell, ...]] = []
    days = 0
    with_backlog = 0
    totals = dict.fromkeys(COLOURS, 0)
    cleared: list[float] = []
    for centre in centres:
        clock = clocks[centre.id]
        found = backlog_at[centre.id]
        for day, opening, backlog in zip(clock.opening_days, clock.openings, found, strict=True):
            if not query.start <= day <= query.end or opening > now_s:
                continue
            days += 1
            minutes = backlog.cleared_minutes(clock, opening)
            if backlog.waiting:
                with_backlog += 1
                totals["red"] += backlog.red
                totals["yellow"] += backlog.yellow
            if minutes is not None:
                minutes = round(minutes, 1)
                cleared.append(minutes)
            rows.append((day.isoformat(), centre.id, backlog.red, backlog.yellow, minutes))
    rows.sort(key=lambda r: (str(r[0]), str(r[1])))
    figures = [ratio("alert_handling.backlog_at_opening", totals[c], days, key=c) for c in COLOURS]
    figures.append(ratio("alert_handling.backlog_days", with_backlog, days))
    figures.append(
        Figure("alert_handling.backlog_cleared_median", minutes_percentile(cleared, 0.5))
    )
    return rows, figures
