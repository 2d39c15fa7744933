"""The GP digest job on SQLite and PostgreSQL: one outbox row per GP and period, counts of the
GP's own patients only, nothing without the operator's e-mail settings; and the written message
delivered to a real SMTP server.

Every test calls the job with an explicit ``now``; nothing sleeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.world import World
from triage.config import Settings
from triage.domain.alerts import OpenAlert
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import Condition
from triage.jobs.gp_digest import JOB, write_gp_digests
from triage.notify.channel import deliver, digest_url
from triage.notify.smtp_sink import SmtpSink
from triage.storage import repositories, seed
from triage.storage.models import (
    AlertRow,
    CentreRow,
    JobRunRow,
    MunicipalityRow,
    NotificationRow,
    PatientRow,
    UserRow,
)

Sessions = sessionmaker[Session]
OSLO = ZoneInfo("Europe/Oslo")
#: Monday 7 December 2026, 07:00 in Oslo: the digest of week 49 (30 November – 6 December) is due.
MONDAY_SEVEN = datetime(2026, 12, 7, 7, 0, tzinfo=OSLO)
IN_WEEK = datetime(2026, 12, 2, 14, 0, tzinfo=OSLO)
DASHBOARD = "https://dho.fjordvik.invalid"
GP_EMAIL = "fastlege@fjordvik.invalid"


def _settings(email_url: str | None = "mailto://127.0.0.1:9?from=dho@dho.invalid") -> Settings:
    return Settings(demo=True, notify_email_url=email_url, dashboard_public_url=DASHBOARD)


def _choose_digest(
    sessions: Sessions, user_id: str, frequency: str = "weekly", email: str | None = GP_EMAIL
) -> None:
    with sessions.begin() as session:
        session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(digest_frequency=frequency, digest_email=email)
        )


def _open(
    sessions: Sessions,
    patient_id: str,
    at: datetime,
    colour: Colour = Colour.YELLOW,
    rule_type: RuleType = RuleType.THRESHOLD,
    state: str = "open",
) -> str:
    """An alert for the patient opened at ``at`` (a systolic reading, or a missed measurement);
    ``state`` as a nurse left it."""
    rule_id = "missing:blood_pressure" if rule_type is RuleType.MISSING else "threshold:systolic"
    finding = Finding(
        rule_id=rule_id,
        rule_type=rule_type,
        colour=colour,
        at=at,
        parameter="systolic",
        value=192,
        bound="≥ 180",
        text=Text(nb="Systolisk 192 ≥ 180", en="Systolic 192 ≥ 180"),
    )
    with sessions.begin() as session:
        [alert] = repositories.apply_alert_changes(
            session, [], [OpenAlert(patient_id=patient_id, finding=finding)]
        )
        if state != "open":
            session.execute(update(AlertRow).where(AlertRow.id == alert.id).values(state=state))
        return alert.id


def _other_gp_with_patient(sessions: Sessions, world: World) -> tuple[str, str]:
    """A second GP (Fastlege Annen) with one patient of the same centre: (gp id, patient id)."""
    with sessions.begin() as session:
        gp = seed.add_user(
            session, username="gp-other", display_name="Fastlege Annen", role="gp", now=IN_WEEK
        )
        centre = session.get(CentreRow, world.centre_id)
        municipality = session.get(MunicipalityRow, world.municipality_ids[0])
        assert centre is not None
        assert municipality is not None
        patient = seed.add_patient(
            session,
            display_name="Annenpasient Olsen",
            municipality=municipality,
            centre=centre,
            now=IN_WEEK,
            gp=gp,
        )
        return gp.id, patient.id


def _digests(sessions: Sessions) -> list[NotificationRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(NotificationRow)
                .where(NotificationRow.kind == "gp_digest")
                .order_by(NotificationRow.recipient)
            )
        )


def _patient_names(sessions: Sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(PatientRow.display_name)))


def _week_of_deviations(sessions: Sessions, world: World) -> dict[str, Any]:
    """Week 49 for the world's GP: a yellow, a missed measurement, a red the centre handled (3
    patients), a red nobody has handled yet, and a yellow from the week before; and a yellow
    for another GP's patient."""
    patients = world.patients
    _open(sessions, patients[Condition.HEART_FAILURE].id, IN_WEEK)
    _open(sessions, patients[Condition.COPD].id, IN_WEEK, rule_type=RuleType.MISSING)
    _open(
        sessions,
        patients[Condition.HYPERTENSION].id,
        IN_WEEK,
        colour=Colour.RED,
        state="acknowledged",
    )
    _open(sessions, patients[Condition.DIABETES].id, IN_WEEK, colour=Colour.RED)
    _open(sessions, patients[Condition.COVID19].id, IN_WEEK - timedelta(days=7))
    other_gp, other_patient = _other_gp_with_patient(sessions, world)
    _open(sessions, other_patient, IN_WEEK)
    return {"other_gp": other_gp}


# ----------------------------------------------------------------------------- the job


def test_one_digest_per_gp_and_week_with_only_their_own_patients(
    sessions: Sessions, world: World
) -> None:
    """Monday 07:00: each GP who chose a weekly digest gets one, counting their own patients'
    non-acute deviations; a second run writes nothing more."""
    other_gp = _week_of_deviations(sessions, world)["other_gp"]
    _choose_digest(sessions, world.gp_id)
    _choose_digest(sessions, other_gp, email="annen@fjordvik.invalid")

    first = write_gp_digests(sessions, _settings(), MONDAY_SEVEN)
    assert (first.status, first.processed, first.detail["digests_written"]) == ("ok", 2, 2)
    annen, test = _digests(sessions)
    assert (test.recipient, test.user_id, test.channel, test.status) == (
        "Fastlege Test",
        world.gp_id,
        "mailto",
        "pending",
    )
    assert test.due_at == MONDAY_SEVEN
    assert test.dedupe_key == f"digest:{world.gp_id}:weekly:2026-11-29T23:00:00+00:00"
    assert test.body.splitlines()[0] == (
        "DHO: 3 avvik fra plan hos 3 av dine pasienter i uke 49 (30. november–6. desember)"
        f" — åpne DHO: {DASHBOARD}/"
    )
    assert "Gule varsler: 1 · manglende målinger: 1 · røde varsler håndtert av " in test.body
    assert annen.body.startswith("DHO: 1 avvik fra plan hos 1 av dine pasienter i uke 49")
    for row in (test, annen):
        for name in _patient_names(sessions):
            assert name not in row.title + row.body
        assert "192" not in row.body
        assert "systolic" not in row.body.lower()
        assert "Fastlege" not in row.body

    again = write_gp_digests(sessions, _settings(), MONDAY_SEVEN + timedelta(minutes=15))
    assert again.detail["already_written"] == 2
    assert "digests_written" not in again.detail
    assert [row.id for row in _digests(sessions)] == [annen.id, test.id]


def test_before_seven_the_week_is_not_due_and_a_daily_gp_gets_yesterday(
    sessions: Sessions, world: World
) -> None:
    """At 06:59 the week before (empty) is the latest due: nothing is sent. A daily GP gets
    Sunday's digest at 07:00 only when Sunday had a deviation."""
    sunday = datetime(2026, 12, 6, 10, 0, tzinfo=OSLO)
    _open(sessions, world.patients[Condition.COPD].id, sunday)
    _choose_digest(sessions, world.gp_id, frequency="daily")
    early = write_gp_digests(sessions, _settings(), MONDAY_SEVEN - timedelta(minutes=1))
    assert early.detail["nothing_to_report"] == 1
    assert _digests(sessions) == []
    write_gp_digests(sessions, _settings(), MONDAY_SEVEN)
    [row] = _digests(sessions)
    assert row.title == "DHO: daglig oppsummering / daily summary"
    assert row.body.startswith("DHO: 1 avvik fra plan hos 1 av dine pasienter i går — åpne DHO:")


def test_nothing_is_written_without_the_operators_email_settings(
    sessions: Sessions, world: World
) -> None:
    """DHO_NOTIFY_EMAIL_URL unset: no digest, and the job run says why."""
    _week_of_deviations(sessions, world)
    _choose_digest(sessions, world.gp_id)
    result = write_gp_digests(sessions, _settings(email_url=None), MONDAY_SEVEN)
    assert result.status == "ok"
    assert result.detail["not_configured"] == 1
    assert _digests(sessions) == []
    with sessions() as session:
        [run] = session.scalars(select(JobRunRow).where(JobRunRow.job == JOB))
    assert run.detail["not_configured"] == 1


def test_no_message_for_a_quiet_week_or_without_an_address(
    sessions: Sessions, world: World
) -> None:
    """Zero deviations: no e-mail (documented); a GP with no address is counted, not sent to."""
    other_gp, _ = _other_gp_with_patient(sessions, world)
    _open(sessions, world.patients[Condition.DIABETES].id, IN_WEEK, colour=Colour.RED)
    _choose_digest(sessions, world.gp_id)
    _choose_digest(sessions, other_gp, email=None)
    result = write_gp_digests(sessions, _settings(), MONDAY_SEVEN)
    assert (result.detail["nothing_to_report"], result.detail["no_email"]) == (1, 1)
    assert _digests(sessions) == []


# ----------------------------------------------------------------------------- delivery


def test_the_written_digest_arrives_by_email_at_the_gps_address(
    sessions: Sessions, world: World, smtp_sink: SmtpSink
) -> None:
    """The outbox row's title and text, sent through the operator's SMTP server to the GP's
    own address: bokmål first, the overview link, no patient's name."""
    _week_of_deviations(sessions, world)
    _choose_digest(sessions, world.gp_id)
    operator_url = smtp_sink.url("drift@dho.invalid")
    write_gp_digests(sessions, _settings(operator_url), MONDAY_SEVEN)
    [row] = [r for r in _digests(sessions) if r.user_id == world.gp_id]

    done = deliver(digest_url(operator_url, GP_EMAIL), row.title, row.body)
    assert done.ok, done.answer
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == (GP_EMAIL,)
    assert mail.subject == "DHO: ukentlig oppsummering, uke 49 / weekly summary, week 49"
    text = mail.text
    assert text.index("avvik fra plan") < text.index("deviations from plan")
    assert f"åpne DHO: {DASHBOARD}/" in text
    for name in _patient_names(sessions):
        assert name not in text


@pytest.mark.parametrize("frequency", ["none", "weekly"])
def test_an_inactive_gp_or_one_without_a_digest_gets_nothing(
    sessions: Sessions, world: World, frequency: str
) -> None:
    _week_of_deviations(sessions, world)
    _choose_digest(sessions, world.gp_id, frequency=frequency)
    with sessions.begin() as session:
        session.execute(update(UserRow).where(UserRow.id == world.gp_id).values(active=False))
    write_gp_digests(sessions, _settings(), MONDAY_SEVEN)
    assert _digests(sessions) == []
