"""Plan fidelity: whether each patient's self-management plan (egenbehandlingsplan) is made
personal after the trial period, how soon a patient has an approved plan, and whether plans in
use are reviewed.

A plan starts as a condition template (``POST /patients/{id}/plans``: version 1 from the
template); the nurse and GP make it the patient's own from the trial period's readings (the
proposal) as a new version, which is approved. *Personalised* here means: the patient has an
approved plan version numbered 2 or higher — a version approved after the first one. This is
chosen over comparing a version's document with the template it started from because the
template text changes between releases (an old plan would then look personal), and it is
computed in SQL without reading each document; its limit is that a second draft made from the
template again, unchanged, and approved also counts.

The end of a patient's trial period is read from the audit log: the allowed ``activate`` of
the patient (trial → active). A patient who is active or paused without such a row (entered
by an import, before the audit log) counts as having ended the trial before the period's end.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    Definition,
    Figure,
    ProgrammeQuery,
    SectionResult,
    Unit,
    cite,
    percentile,
    ratio,
    re_aim,
)
from triage.programme.scope import patient_clauses, utc_bounds
from triage.storage.models import AuditRow, PatientRow, PlanRow, PlanVersionRow

FOLLOW_UP_STATES = ("trial", "active", "paused")
#: a plan in use approved longer ago than this is "not reviewed" (DHO's default: no national
#: guideline or the Helsedirektoratet evaluation gives an interval)
REVIEW_MONTHS = 6
_HDIR = (
    "Helsedirektoratet, Digital hjemmeoppfølging: sluttrapport fra nasjonal utprøving "
    "2018–2021, kapittel 6.5 (bruk av egenbehandlingsplan)"
)
HDIR = Text(nb=_HDIR, en=_HDIR)
RE_AIM = re_aim("gjennomføring", "Implementation")

DEFINITIONS = (
    Definition(
        id="plan_fidelity.personalised",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.SHARE,
        title=Text(
            nb="Tilpasset og godkjent plan etter prøveperioden",
            en="Personalised, approved plan after the trial period",
        ),
        definition=Text(
            nb="Nevner: pasienter i utvalget som var ferdige med prøveperioden innen "
            "periodens slutt (satt til aktiv; også de som siden har hatt pause eller er "
            "avsluttet, men ikke de som ble avsluttet før perioden begynte). Teller: de av "
            "dem som innen periodens slutt hadde en godkjent planversjon nummer 2 eller "
            "høyere, det vil si en plan som er endret fra malen og godkjent. En ny versjon "
            "laget fra malen igjen uten endringer telles også. Ingen verdi uten pasienter.",
            en="Denominator: patients in the selection whose trial period had ended by the "
            "period's end (set active; including those paused or discharged since, but not "
            "those discharged before the period began). Numerator: those of them who by the "
            "period's end had an approved plan version numbered 2 or higher, that is a plan "
            "changed from the template and approved. A new version made from the template "
            "again without changes also counts. No value without patients.",
        ),
        source=cite(HDIR, RE_AIM),
    ),
    Definition(
        id="plan_fidelity.days_to_plan_median",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.DAYS,
        title=Text(
            nb="Dager fra innskriving til godkjent plan (median)",
            en="Days from enrolment to an approved plan (median)",
        ),
        definition=Text(
            nb="For pasientene i utvalget som ble skrevet inn i perioden og har en godkjent "
            "plan: tiden fra innskriving til den første planversjonen ble godkjent, i dager "
            "(timer delt på 24). Medianen; antall pasienter står som nevner. Ingen verdi "
            "uten slike pasienter.",
            en="For the patients in the selection enrolled in the period who have an approved "
            "plan: the time from enrolment to the first plan version's approval, in days "
            "(hours divided by 24). The median; the number of patients is the denominator. "
            "No value without such patients.",
        ),
        source=cite(HDIR, RE_AIM),
    ),
    Definition(
        id="plan_fidelity.days_to_plan_p90",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.DAYS,
        title=Text(
            nb="Dager fra innskriving til godkjent plan (90. persentil)",
            en="Days from enrolment to an approved plan (90th percentile)",
        ),
        definition=Text(
            nb="Som medianen over, men 90. persentil (lineær interpolasjon): ni av ti "
            "pasienter hadde godkjent plan innen så mange dager.",
            en="As the median above, but the 90th percentile (linear interpolation): nine in "
            "ten patients had an approved plan within this many days.",
        ),
        source=cite(HDIR, RE_AIM),
    ),
    Definition(
        id="plan_fidelity.not_reviewed",
        section=ProgrammeSection.FIDELITY,
        unit=Unit.SHARE,
        title=Text(
            nb=f"Planer ikke gjennomgått på {REVIEW_MONTHS} måneder",
            en=f"Plans not reviewed for {REVIEW_MONTHS} months",
        ),
        definition=Text(
            nb="Teller: pasienter i oppfølging i dag (prøveperiode, aktiv eller pause) der "
            f"planen i bruk ble godkjent for mer enn {REVIEW_MONTHS} måneder siden (ingen "
            "nyere versjon er godkjent). Nevner: alle pasienter i utvalget i oppfølging i "
            f"dag. {REVIEW_MONTHS} måneder er DHOs standard: verken nasjonale råd eller "
            "Helsedirektoratets evaluering gir et intervall. Dagens tall, ikke begrenset "
            "til perioden.",
            en="Numerator: patients in follow-up today (trial, active or paused) whose plan "
            f"in use was approved more than {REVIEW_MONTHS} months ago (no newer version "
            "approved). Denominator: all patients in the selection in follow-up today. "
            f"{REVIEW_MONTHS} months is DHO's default: neither national advice nor the "
            "Helsedirektoratet evaluation gives an interval. Today's count, not limited to "
            "the period.",
        ),
        source=cite(
            Text(
                nb=f"DHO (standard {REVIEW_MONTHS} måneder)",
                en=f"DHO (default {REVIEW_MONTHS} months)",
            ),
            RE_AIM,
        ),
    ),
)


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` the same day ``months`` calendar months earlier (the month's last day when
    it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    last_day = (following - datetime(year, month, 1, tzinfo=UTC)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    first, after = utc_bounds(query)
    scope = patient_clauses(query)
    figures: list[Figure] = [_personalised(session, query, first, after)]
    figures += _days_to_plan(session, query, first, after)
    in_follow_up = session.scalar(
        select(func.count()).where(*scope, PatientRow.state.in_(FOLLOW_UP_STATES))
    )
    cutoff = months_before(query.now, REVIEW_MONTHS)
    stale = session.scalar(
        select(func.count(func.distinct(PatientRow.id)))
        .join(PlanRow, PlanRow.patient_id == PatientRow.id)
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(
            *scope,
            PatientRow.state.in_(FOLLOW_UP_STATES),
            PlanVersionRow.status == "approved",
            PlanVersionRow.approved_at < cutoff,
        )
    )
    figures.append(ratio("plan_fidelity.not_reviewed", stale or 0, in_follow_up or 0))
    return SectionResult(ProgrammeSection.FIDELITY, tuple(figures), ())


def _personalised(
    session: Session, query: ProgrammeQuery, first: datetime, after: datetime
) -> Figure:
    # each patient's first allowed activation, and the patients with a version 2+ approved by
    # the period's end: one grouped scan each, joined to the patients (not a lookup per
    # patient)
    activation = (
        select(AuditRow.patient_id.label("patient_id"), func.min(AuditRow.at).label("at"))
        .where(
            AuditRow.action == "activate",
            AuditRow.outcome == "allowed",
            AuditRow.patient_id.is_not(None),
        )
        .group_by(AuditRow.patient_id)
        .subquery()
    )
    personal = (
        select(PlanRow.patient_id.label("patient_id"))
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(
            PlanVersionRow.version >= 2,
            PlanVersionRow.approved_at.is_not(None),
            PlanVersionRow.approved_at < after,
        )
        .group_by(PlanRow.patient_id)
        .subquery()
    )
    trial_ended = or_(
        activation.c.at < after,
        and_(
            activation.c.patient_id.is_(None),
            PatientRow.state.in_(("active", "paused")),
            PatientRow.enrolled_at < after,
        ),
    )
    discharged_before = and_(PatientRow.state == "discharged", PatientRow.state_changed_at < first)
    denominator, numerator = session.execute(
        select(func.count(), func.count(personal.c.patient_id))
        .select_from(PatientRow)
        .outerjoin(activation, activation.c.patient_id == PatientRow.id)
        .outerjoin(personal, personal.c.patient_id == PatientRow.id)
        .where(*patient_clauses(query), trial_ended, not_(discharged_before))
    ).one()
    return ratio("plan_fidelity.personalised", numerator, denominator)


def _days_to_plan(
    session: Session, query: ProgrammeQuery, first: datetime, after: datetime
) -> list[Figure]:
    # one row per patient enrolled in the period with an approved plan (bounded by the
    # period's enrolments), the first approval found in SQL
    rows = session.execute(
        select(PatientRow.enrolled_at, func.min(PlanVersionRow.approved_at))
        .join(PlanRow, PlanRow.patient_id == PatientRow.id)
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(
            *patient_clauses(query),
            PatientRow.enrolled_at >= first,
            PatientRow.enrolled_at < after,
            PlanVersionRow.approved_at.is_not(None),
        )
        .group_by(PatientRow.id, PatientRow.enrolled_at)
    ).all()
    days = [
        (_aware(approved) - _aware(enrolled)).total_seconds() / 86400
        for enrolled, approved in rows
        if approved is not None
    ]
    return [
        Figure("plan_fidelity.days_to_plan_median", percentile(days, 0.5), None, len(days)),
        Figure("plan_fidelity.days_to_plan_p90", percentile(days, 0.9), None, len(days)),
    ]


def _aware(moment: datetime | str) -> datetime:
    """min() over a UTC column comes back without the column's type on SQLite (a naive UTC
    value, or its text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
