"""Adoption (RE-AIM): the settings and the staff who take the service up — municipalities with
patients in follow-up, GPs with patients, GPs who opened their overview lately, nurses active.

"Lately" is the 30 days before the query's ``now``. What a GP opening the overview is, is read
from the audit log (every read of patient data is audited with the reader's username): the
GP overview page fetches the GP's patients (``list`` ``patients``) and the deviations since the
last look (``list`` ``alerts``), and the GP marks them seen (``mark_seen`` ``overview``); any of
these by the GP, allowed, counts. A nurse is active when she acknowledged or resolved an alert
(``alert_events``, by username) or recorded what was done about one (``alert_actions``, by user
id) of a patient of the query's centres.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    Coded,
    Column,
    Definition,
    ProgrammeQuery,
    SectionResult,
    Table,
    Unit,
    cite,
    count,
    ratio,
    re_aim,
)
from triage.programme.scope import patient_clauses
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    AuditRow,
    MembershipRow,
    PatientRow,
    UserRow,
)

FOLLOW_UP_STATES = ("trial", "active", "paused")
#: how far back "lately" reaches from the query's now
WINDOW = timedelta(days=30)
#: the audit rows that say a GP opened the overview: (action, object type)
OVERVIEW_READS = (("list", "patients"), ("list", "alerts"), ("mark_seen", "overview"))
#: the alert events that are a nurse's handling
HANDLING_EVENTS = ("acknowledged", "resolved")
SOURCE = re_aim("adopsjon", "Adoption")

DEFINITIONS = (
    Definition(
        id="adoption.municipalities",
        section=ProgrammeSection.ADOPTION,
        unit=Unit.COUNT,
        title=Text(nb="Kommuner med pasienter i oppfølging", en="Municipalities with patients"),
        definition=Text(
            nb="Antall kommuner i utvalget med minst én pasient i oppfølging i dag "
            "(prøveperiode, aktiv eller pause). Dagens tall, ikke begrenset til perioden.",
            en="Municipalities in the selection with at least one patient in follow-up today "
            "(trial, active or paused). Today's count, not limited to the period.",
        ),
        source=SOURCE,
    ),
    Definition(
        id="adoption.municipality_patients",
        section=ProgrammeSection.ADOPTION,
        unit=Unit.COUNT,
        title=Text(nb="Kommunene og pasientene deres", en="The municipalities and their patients"),
        definition=Text(
            nb="Hver kommune med minst én pasient i oppfølging i dag, med antall pasienter i "
            "oppfølging (prøveperiode, aktiv eller pause).",
            en="Each municipality with at least one patient in follow-up today, with its "
            "patients in follow-up (trial, active or paused).",
        ),
        source=SOURCE,
        columns=(
            Column("municipality", Text(nb="Kommune", en="Municipality"), None, Coded.MUNICIPALITY),
            Column("patients", Text(nb="Pasienter i oppfølging", en="Patients"), Unit.COUNT),
        ),
    ),
    Definition(
        id="adoption.gps_with_patients",
        section=ProgrammeSection.ADOPTION,
        unit=Unit.COUNT,
        title=Text(nb="Fastleger med pasienter", en="GPs with patients"),
        definition=Text(
            nb="Antall fastleger som er fastlege for minst én pasient i utvalget som er i "
            "oppfølging i dag (prøveperiode, aktiv eller pause).",
            en="GPs who are the GP of at least one patient in the selection in follow-up "
            "today (trial, active or paused).",
        ),
        source=SOURCE,
    ),
    Definition(
        id="adoption.gps_opened_overview",
        section=ProgrammeSection.ADOPTION,
        unit=Unit.SHARE,
        title=Text(
            nb="Fastleger som har åpnet oversikten siste 30 dager",
            en="GPs who opened their overview in the last 30 days",
        ),
        definition=Text(
            nb="Teller: fastlegene med pasienter (se over) som de siste 30 dagene før nå har "
            "åpnet fastlegeoversikten, det vil si hentet listen over pasientene sine eller "
            "avvikene, eller merket oversikten som sett (slik loggen over innsyn viser det). "
            "Nevner: fastleger med pasienter i oppfølging i dag. Ingen verdi uten slike "
            "fastleger.",
            en="Numerator: the GPs with patients (above) who in the 30 days before now opened "
            "the GP overview, that is fetched the list of their patients or of the "
            "deviations, or marked the overview seen (as the audit log shows). Denominator: "
            "GPs with patients in follow-up today. No value without such GPs.",
        ),
        source=cite(
            SOURCE,
            Text(nb="DHO: oppslagene i tilgangsloggen", en="DHO: the audit log's reads"),
        ),
    ),
    Definition(
        id="adoption.nurses_active",
        section=ProgrammeSection.ADOPTION,
        unit=Unit.SHARE,
        title=Text(nb="Aktive sykepleiere siste 30 dager", en="Nurses active in the last 30 days"),
        definition=Text(
            nb="Teller: sykepleierne i tjenestene i utvalget som de siste 30 dagene før nå har "
            "kvittert ut eller avsluttet et varsel, eller registrert hva som ble gjort med "
            "det, for en pasient i disse tjenestene. Nevner: sykepleiere med aktiv bruker i "
            "tjenestene. Kommune- og diagnosevalget gjelder ikke her: sykepleierne jobber "
            "for tjenesten. Ingen verdi uten sykepleiere.",
            en="Numerator: the nurses of the centres in the selection who in the 30 days "
            "before now acknowledged or resolved an alert, or recorded what was done about "
            "one, for a patient of these centres. Denominator: nurses with an active account "
            "at the centres. The municipality and condition choice does not apply: nurses "
            "work for the centre. No value without nurses.",
        ),
        source=SOURCE,
    ),
)


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    in_follow_up = [*patient_clauses(query), PatientRow.state.in_(FOLLOW_UP_STATES)]
    municipalities = session.execute(
        select(PatientRow.municipality_id, func.count())
        .where(*in_follow_up)
        .group_by(PatientRow.municipality_id)
        .order_by(PatientRow.municipality_id)
    ).all()
    gps = (
        select(PatientRow.gp_user_id)
        .where(*in_follow_up, PatientRow.gp_user_id.is_not(None))
        .scalar_subquery()
    )
    gps_with_patients = session.scalar(select(func.count()).where(UserRow.id.in_(gps))) or 0
    since, until = query.now - WINDOW, query.now
    overview_read = or_(
        *(
            and_(AuditRow.action == action, AuditRow.object_type == object_type)
            for action, object_type in OVERVIEW_READS
        )
    )
    opened = (
        session.scalar(
            select(func.count(distinct(UserRow.id)))
            .join(AuditRow, AuditRow.actor == UserRow.username)
            .where(
                UserRow.id.in_(gps),
                AuditRow.at >= since,
                AuditRow.at < until,
                AuditRow.outcome == "allowed",
                overview_read,
            )
        )
        or 0
    )
    nurses, active = _nurses(session, query, since)
    return SectionResult(
        ProgrammeSection.ADOPTION,
        (
            count("adoption.municipalities", len(municipalities)),
            count("adoption.gps_with_patients", gps_with_patients),
            ratio("adoption.gps_opened_overview", opened, gps_with_patients),
            ratio("adoption.nurses_active", active, nurses),
        ),
        (
            Table(
                "adoption.municipality_patients",
                ("municipality", "patients"),
                tuple((m, n) for m, n in municipalities),
            ),
        ),
    )


def _centre_clause(centre: Any, query: ProgrammeQuery) -> list[ColumnElement[bool]]:
    if query.centre_ids is None:
        return []
    return [centre.in_(sorted(query.centre_ids))]


def _nurses(session: Session, query: ProgrammeQuery, since: datetime) -> tuple[int, int]:
    """(nurses with an active account at the query's centres, those of them active lately)."""
    nurse_ids = (
        select(MembershipRow.user_id)
        .join(UserRow, UserRow.id == MembershipRow.user_id)
        .where(
            UserRow.role == "nurse",
            UserRow.active.is_(True),
            *_centre_clause(MembershipRow.centre_id, query),
        )
        .scalar_subquery()
    )
    nurses = session.scalar(select(func.count()).where(UserRow.id.in_(nurse_ids))) or 0
    centre_patient = _centre_clause(PatientRow.centre_id, query)
    handled = (
        select(AlertEventRow.by)
        .join(AlertRow, AlertRow.id == AlertEventRow.alert_id)
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            AlertEventRow.event.in_(HANDLING_EVENTS),
            AlertEventRow.at >= since,
            AlertEventRow.at < query.now,
            *centre_patient,
        )
    )
    recorded = (
        select(AlertActionRow.by)
        .join(PatientRow, PatientRow.id == AlertActionRow.patient_id)
        .where(AlertActionRow.at >= since, AlertActionRow.at < query.now, *centre_patient)
    )
    active = (
        session.scalar(
            select(func.count()).where(
                UserRow.id.in_(nurse_ids),
                or_(UserRow.username.in_(handled), UserRow.id.in_(recorded)),
            )
        )
        or 0
    )
    return nurses, active
