"""The notification sender (triage.jobs.notify) on SQLite and PostgreSQL, delivering to real
receivers: an SMTP server and an HTTP webhook (the SMS provider's path).

Every run is given an explicit ``now``; nothing sleeps. What a centre would notice: the message
arrives, a receiver that is down gets retries at growing intervals and the message once it is
back, a message that never gets through is given up on with a red technical alert on the
patient ("ring mottakeren"), a message about an alert that a nurse has already taken is not
sent, and two senders at once send each message once.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.outbox import (
    BODY,
    TITLE,
    add_escalation_message,
    add_message,
    add_target,
    attempts,
    message,
    open_red,
)
from tests.integration.world import World
from tests.notify_receivers import WebhookReceiver
from triage.config import Settings
from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.notification import NotificationKind
from triage.domain.plan import Condition
from triage.jobs.notify import JOB, retry_delay, send_notifications
from triage.notify.channel import digest_url
from triage.notify.smtp_sink import SmtpSink
from triage.storage.models import AlertRow, JobRunRow, NotificationRow, UserRow
from triage.texts.findings import stored_reason

Sessions = sessionmaker[Session]
SECOND = timedelta(seconds=1)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo=True, notify_max_attempts=3, notify_retry_base_s=30, notify_retry_max_s=900
    )


def _patient(world: World) -> str:
    return world.patients[Condition.COPD].id


def _technical_alerts(sessions: Sessions, patient_id: str) -> list[AlertRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AlertRow).where(
                    AlertRow.patient_id == patient_id,
                    AlertRow.category == AlertCategory.TECHNICAL.value,
                )
            )
        )


def _set_alert_state(sessions: Sessions, alert_id: str, state: AlertState) -> None:
    with sessions.begin() as session:
        session.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id)
            .values(state=state.value, acknowledged_at=NOW, acknowledged_by="Sykepleier Test")
        )


# ----------------------------------------------------------------------------- delivered


def test_a_due_escalation_message_arrives_by_e_mail_and_its_attempt_is_kept(
    sessions: Sessions, settings: Settings, world: World, smtp_sink: SmtpSink
) -> None:
    alert = open_red(sessions, _patient(world), NOW)
    target = add_target(sessions, world.centre_id, smtp_sink.url("legevakt@testvik.invalid"), NOW)
    sent = add_escalation_message(sessions, alert, target, NOW)
    later = add_escalation_message(sessions, alert, target, NOW + timedelta(minutes=15), step=1)

    result = send_notifications(sessions, settings, NOW)

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("legevakt@testvik.invalid",)
    assert mail.subject == TITLE
    assert mail.text.replace("\r\n", "\n").strip() == BODY
    row = message(sessions, sent)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == ("sent", NOW, 1, None)
    assert row.claimed_until is None
    [attempt] = attempts(sessions, sent)
    assert (attempt.ok, attempt.at) == (True, NOW)
    assert "Sent Email" in attempt.answer
    assert message(sessions, later).status == "pending"  # not due yet: not sent
    assert attempts(sessions, later) == []
    assert (result.job, result.status, result.detail["sent"]) == (JOB, "ok", 1)
    with sessions() as session:
        run = session.scalars(select(JobRunRow).where(JobRunRow.job == "notify")).one()
    assert (run.status, run.processed) == ("ok", 1)


def test_an_admins_test_message_and_a_gp_digest_reach_their_receivers(
    sessions: Sessions, world: World, smtp_sink: SmtpSink, webhook: WebhookReceiver
) -> None:
    """A test message goes to its target's URL; a digest to the GP's own address through the
    operator's mail server (DHO_NOTIFY_EMAIL_URL)."""
    base = f"mailto://{smtp_sink.host}:{smtp_sink.port}?from=dho@dho.invalid&mode=insecure"
    settings = Settings(demo=True, notify_email_url=base)
    target = add_target(sessions, world.centre_id, webhook.url("/sms"), NOW)
    test = add_message(
        sessions, NOW, kind=NotificationKind.TEST.value, target_id=target, channel="json"
    )
    with sessions.begin() as session:
        gp = session.get(UserRow, world.gp_id)
        assert gp is not None
        gp.digest_email = "fastlege@testvik.invalid"
    digest = add_message(sessions, NOW, kind=NotificationKind.GP_DIGEST.value, user_id=world.gp_id)

    send_notifications(sessions, settings, NOW)

    assert [post["body"]["message"] for post in webhook.posts] == ["DHO: oppsummering"]
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("fastlege@testvik.invalid",)
    assert (message(sessions, test).status, message(sessions, digest).status) == ("sent", "sent")


def test_digest_url_sends_to_the_gps_address_only() -> None:
    url = digest_url("mailtos://dho:pw@smtp.example.no:587?from=dho@example.no&to=x@y.no", "a@b.no")
    assert url == "mailtos://dho:pw@smtp.example.no:587?from=dho@example.no&to=a@b.no"


# ----------------------------------------------------------------------------- retries


def test_a_receiver_that_is_down_gets_retries_at_growing_intervals_then_the_message(
    sessions: Sessions, settings: Settings, world: World, webhook: WebhookReceiver
) -> None:
    alert = open_red(sessions, _patient(world), NOW)
    target = add_target(sessions, world.centre_id, webhook.url("/sms"), NOW)
    sent = add_escalation_message(sessions, alert, target, NOW)
    webhook.fail_with = 503

    send_notifications(sessions, settings, NOW)
    first = message(sessions, sent)
    assert (first.status, first.attempts, first.due_at) == ("pending", 1, NOW + 30 * SECOND)
    assert first.last_error is not None
    assert "503" in first.last_error

    send_notifications(sessions, settings, NOW + 29 * SECOND)  # not due: no attempt
    assert len(attempts(sessions, sent)) == 1

    send_notifications(sessions, settings, NOW + 30 * SECOND)
    second = message(sessions, sent)
    assert (second.attempts, second.due_at) == (2, NOW + 90 * SECOND)  # 30 s, then 60 s

    webhook.fail_with = None
    send_notifications(sessions, settings, NOW + 90 * SECOND)
    done = message(sessions, sent)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 3, NOW + 90 * SECOND)
    assert [post["body"]["message"] for post in webhook.posts] == [BODY]
    tried = attempts(sessions, sent)
    assert [(a.ok, a.at) for a in tried] == [
        (False, NOW),
        (False, NOW + 30 * SECOND),
        (True, NOW + 90 * SECOND),
    ]
    assert all("503" in a.answer for a in tried[:2])
    assert _technical_alerts(sessions, _patient(world)) == []


def test_the_wait_between_attempts_doubles_up_to_the_maximum() -> None:
    settings = Settings(demo=True, notify_retry_base_s=30, notify_retry_max_s=300)
    waits = [retry_delay(settings, n).total_seconds() for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 300, 300]


# ----------------------------------------------------------------------------- dead


def test_a_message_that_never_gets_through_is_dead_with_a_red_technical_alert(
    sessions: Sessions,
    settings: Settings,
    world: World,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = _patient(world)
    alert = open_red(sessions, patient, NOW)
    target = add_target(sessions, world.centre_id, smtp_sink.url("vakt@testvik.invalid"), NOW)
    dead = add_escalation_message(sessions, alert, target, NOW)
    smtp_sink.refuse = True

    caplog.set_level(logging.INFO, logger="triage.jobs")
    for at in (NOW, NOW + 30 * SECOND):
        send_notifications(sessions, settings, at)
        assert message(sessions, dead).status == "pending"
        assert _technical_alerts(sessions, patient) == []
    result = send_notifications(sessions, settings, NOW + 90 * SECOND)

    row = message(sessions, dead)
    assert (row.status, row.attempts, row.dead_at) == ("dead", 3, NOW + 90 * SECOND)
    assert result.detail["dead"] == 1
    assert [a.ok for a in attempts(sessions, dead)] == [False, False, False]
    assert all("451" in a.answer for a in attempts(sessions, dead))
    [technical] = _technical_alerts(sessions, patient)
    assert (technical.rule_id, technical.colour, technical.state) == (
        "notification_undelivered",
        "red",
        "open",
    )
    assert stored_reason(technical.reason, "nb") == (
        "Meldingen om rødt varsel kom ikke fram til Legevakten i Testvik etter 3 forsøk "
        "– ring mottakeren"
    )
    assert "phone the receiver" in stored_reason(technical.reason, "en")
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert line.getMessage().startswith("notification dead")
    # the masked URL (no address, no query, no credentials), never the text
    assert line.__dict__["url"] == f"mailto://{smtp_sink.host}:{smtp_sink.port}"
    logged = " ".join(str(v) for v in line.__dict__.values())
    assert BODY not in logged
    assert "rød varsling" not in logged
    assert smtp_sink.messages == []


def test_a_gone_receiver_an_unusable_url_and_a_digest_with_nowhere_to_go_fail_clearly(
    sessions: Sessions, world: World
) -> None:
    """Never a crash: each is a failed attempt that says why, and dead after the last one."""
    settings = Settings(demo=True, notify_max_attempts=1)  # notify_email_url unset
    alert = open_red(sessions, _patient(world), NOW)
    inactive = add_target(sessions, world.centre_id, "json://127.0.0.1:9/sms", NOW, active=False)
    unusable = add_target(sessions, world.centre_id, "nosuchscheme://x", NOW, label="Vakt")
    gone_target = add_message(sessions, NOW, kind=NotificationKind.TEST.value)
    deactivated = add_escalation_message(sessions, alert, inactive, NOW)
    bad_url = add_escalation_message(sessions, alert, unusable, NOW, step=1)
    digest = add_message(sessions, NOW, kind=NotificationKind.GP_DIGEST.value, user_id=world.gp_id)

    result = send_notifications(sessions, settings, NOW)

    answers = {
        notification_id: [(a.ok, a.answer) for a in attempts(sessions, notification_id)]
        for notification_id in (gone_target, deactivated, bad_url, digest)
    }
    assert answers == {
        gone_target: [(False, "no receiver: the notification target is gone")],
        deactivated: [(False, "the receiver 'Legevakten i Testvik' has been deactivated")],
        bad_url: [(False, answers[bad_url][0][1])],
        digest: [(False, "e-mail sending is not configured (DHO_NOTIFY_EMAIL_URL is unset)")],
    }
    assert answers[bad_url][0][1].startswith("unusable URL (nosuchscheme://…): Apprise does not")
    for notification_id in answers:
        assert message(sessions, notification_id).status == "dead"
    assert (result.status, result.failures, result.detail["dead"]) == ("ok", 0, 4)
    [technical] = _technical_alerts(sessions, _patient(world))
    assert technical.breaches == 2  # both escalation messages of the patient


# ----------------------------------------------------------------------------- cancelled


def test_a_message_about_an_acknowledged_or_received_alert_is_not_sent(
    sessions: Sessions, settings: Settings, world: World, smtp_sink: SmtpSink
) -> None:
    url = smtp_sink.url("legevakt@testvik.invalid")
    target = add_target(sessions, world.centre_id, url, NOW)
    acknowledged = open_red(sessions, world.patients[Condition.COPD].id, NOW)
    taken = add_escalation_message(sessions, acknowledged, target, NOW)
    _set_alert_state(sessions, acknowledged, AlertState.ACKNOWLEDGED)
    received = open_red(sessions, world.patients[Condition.HEART_FAILURE].id, NOW)
    first = add_escalation_message(sessions, received, target, NOW)
    second = add_escalation_message(sessions, received, target, NOW, step=1)
    with sessions.begin() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == first)
            .values(status="sent", sent_at=NOW, received_at=NOW)
        )

    result = send_notifications(sessions, settings, NOW + SECOND)

    for cancelled in (taken, second):
        row = message(sessions, cancelled)
        assert (row.status, row.cancelled_at, row.attempts) == ("cancelled", NOW + SECOND, 0)
        assert attempts(sessions, cancelled) == []
    assert result.detail["cancelled"] == 2
    assert smtp_sink.messages == []


# ----------------------------------------------------------------------------- several senders


def test_two_senders_racing_deliver_each_message_once(
    sessions: Sessions, settings: Settings, world: World, webhook: WebhookReceiver
) -> None:
    target = add_target(sessions, world.centre_id, webhook.url("/sms"), NOW)
    alerts = [open_red(sessions, p.id, NOW) for p in world.patients.values()]
    ids = {
        add_escalation_message(sessions, alert, target, NOW, step=step)
        for alert in alerts
        for step in range(3)
    }
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            send_notifications(sessions, settings, NOW)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(webhook.posts) == len(ids)
    for notification_id in ids:
        assert message(sessions, notification_id).status == "sent"
        assert len(attempts(sessions, notification_id)) == 1


def test_a_claimed_message_waits_for_the_lease_to_run_out(
    sessions: Sessions, settings: Settings, world: World, webhook: WebhookReceiver
) -> None:
    """A sender that died while delivering leaves its lease: the message goes out once the
    lease has run out, not before."""
    alert = open_red(sessions, _patient(world), NOW)
    target = add_target(sessions, world.centre_id, webhook.url("/sms"), NOW)
    claimed = add_escalation_message(sessions, alert, target, NOW)
    with sessions.begin() as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == claimed)
            .values(claimed_until=NOW + 60 * SECOND)
        )

    send_notifications(sessions, settings, NOW + 59 * SECOND)
    assert webhook.posts == []
    send_notifications(sessions, settings, NOW + 61 * SECOND)
    assert len(webhook.posts) == 1
    assert message(sessions, claimed).status == "sent"
