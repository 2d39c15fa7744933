"""A red alert's message that never got through, as the centre and the operator see it over real
HTTP (SQLite and PostgreSQL): a red technical alert on the patient's worklist entry that says to
phone the receiver, and the outbox in /metrics."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login
from tests.integration.api.test_metrics import scrape, value
from tests.integration.api.test_worklist import worklist
from tests.integration.outbox import add_escalation_message, add_target, message, open_red
from tests.notify_receivers import WebhookReceiver
from triage.config import Settings
from triage.jobs import send_notifications
from triage.storage.models import NotificationRow

MINUTE = timedelta(minutes=1)


def test_a_dead_message_shows_on_the_worklist_and_in_the_metrics(
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    http: httpx.Client,
    login: Login,
    webhook: WebhookReceiver,
) -> None:
    settings = Settings(demo=True, notify_max_attempts=2, notify_retry_base_s=30)
    copd = api_world.patients["a-copd"]
    alert = open_red(sessions, copd.id, NOW - 10 * MINUTE)
    target = add_target(sessions, api_world.centre_a, webhook.url("/sms"), NOW, label="Vakt SMS")
    dead = add_escalation_message(sessions, alert, target, NOW - 5 * MINUTE)
    waiting = add_escalation_message(sessions, alert, target, NOW - 3 * MINUTE, step=1)
    with sessions.begin() as session:  # the next step's message is not due yet
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.id == waiting)
            .values(due_at=NOW + 60 * MINUTE)
        )
    webhook.fail_with = 503

    before = scrape(http)
    assert value(before, "dho_notifications", status="pending") == 2
    assert value(before, "dho_notifications_dead_total") == 0
    send_notifications(sessions, settings, NOW - 4 * MINUTE)
    send_notifications(sessions, settings, NOW)
    assert message(sessions, dead).status == "dead"

    [entry] = [i for i in worklist(http, login(http, "nurse-a")) if i["patient_id"] == copd.id]
    assert entry["colour"] == "red"  # the clinical red, unchanged
    assert entry["lost_contact"] is False
    [technical] = [a for a in entry["alerts"] if a["category"] == "technical"]
    assert (technical["rule_id"], technical["colour"], technical["state"]) == (
        "notification_undelivered",
        "red",
        "open",
    )
    assert technical["reason"]["text"]["nb"] == (
        "Meldingen om rødt varsel kom ikke fram til Vakt SMS etter 2 forsøk – ring mottakeren"
    )

    after = scrape(http)
    assert value(after, "dho_notifications", status="dead") == 1
    assert value(after, "dho_notifications", status="pending") == 1
    assert value(after, "dho_notifications", status="sent") == 0
    assert value(after, "dho_notifications_dead_total") == 1
    # the waiting message was written 3 minutes before the API's clock
    assert value(after, "dho_notification_oldest_pending_seconds") == 180
