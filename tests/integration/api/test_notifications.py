"""Escalation messages over real HTTP (SQLite and PostgreSQL): a centre's policy and targets, the
messages sent and their attempts, the steps on an alert, an admin's test message, the receipt
link that stops the chain, and a GP's digest choice.

The escalation job and the sender are other parts: here their rows (escalation steps, outbox
rows, attempts) are written directly, as they write them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, SETTINGS, ApiWorld, Login, ingest
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.escalation import EscalationPolicy
from triage.storage import repositories
from triage.storage.models import (
    AlertEventRow,
    AlertRow,
    AuditRow,
    CentreRow,
    EscalationRow,
    NotificationAttemptRow,
    NotificationRow,
    NotificationTargetRow,
    UserRow,
)

API = "/api/v1"
REASON = "Support case 2026-16: checking escalations"
#: A URL with credentials, as an operator would configure an SMTP account.
SECRET_URL = "mailtos://varsel:Hemmelig-passord-9@smtp.example.no?to=legevakt@example.no"  # noqa: S105
HTML = {"Accept": "text/html"}


@dataclass
class Chain:
    """A red alert of a-copd escalated once (step 0, on-call nurse) with two messages, and a
    second step waiting: the receipt token of the first message is ``token``."""

    alert_id: str
    step_id: int
    first: str  # the notification whose token we hold
    second: str  # the other message of step 0 (pending)
    token: str


def _target(
    session: Session, centre_id: str, id_: str, role: str, label: str, *, active: bool = True
) -> NotificationTargetRow:
    return repositories.add_notification_target(
        session, centre_id, role, label, SECRET_URL, NOW, active=active, target_id=id_
    )


def _message(
    session: Session,
    id_: str,
    alert: AlertRow | None,
    centre_id: str,
    step: EscalationRow | None,
    recipient: str,
    *,
    token: str | None = None,
    status: str = "pending",
    created_at: Any = NOW,
) -> NotificationRow:
    row = NotificationRow(
        id=id_,
        kind="escalation",
        dedupe_key=f"esc:{id_}",
        centre_id=centre_id,
        alert_id=alert.id if alert is not None else None,
        escalation_id=step.id if step is not None else None,
        target_id=None,
        user_id=None,
        recipient=recipient,
        channel="mailtos",
        title="DHO: rødt varsel venter",
        body=f"DHO: 1 rød varsling venter — bekreft: http://api/api/v1/notifications/receipt/"
        f"{token or 'x'}",
        created_at=created_at,
        due_at=created_at,
        attempts=0,
        status=status,
        receipt_token_hash=hashlib.sha256(token.encode()).hexdigest() if token else None,
    )
    session.add(row)
    return row


def red_alert(sessions: sessionmaker[Session], world: ApiWorld, name: str = "a-copd") -> str:
    patient = world.patients[name]
    ingest(
        sessions,
        patient.gateway_id,
        [(f"red-{name}", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=40))],
    )
    with sessions() as session:
        return session.scalars(select(AlertRow.id).where(AlertRow.patient_id == patient.id)).one()


def escalated(sessions: sessionmaker[Session], world: ApiWorld, *, created_at: Any = NOW) -> Chain:
    alert_id = red_alert(sessions, world)
    token = secrets.token_urlsafe(32)
    with sessions.begin() as session:
        alert = session.get(AlertRow, alert_id)
        assert alert is not None
        step = EscalationRow(
            alert_id=alert_id,
            patient_id=alert.patient_id,
            step=0,
            target="on_call_nurse",
            due_since=NOW - timedelta(minutes=10),
            created_at=created_at,
            reason={"nb": "Rødt varsel ikke kvittert på 30 min", "en": "Red unacknowledged"},
            patient_instruction={"nb": "Ring 113", "en": "Call 113"},
        )
        session.add(step)
        session.flush()
        centre = world.centre_a
        _message(
            session,
            "n-first",
            alert,
            centre,
            step,
            "Vakttelefon 1",
            token=token,
            created_at=created_at,
        )
        _message(session, "n-second", alert, centre, step, "Vakttelefon 2", created_at=created_at)
        session.flush()
        session.add(
            NotificationAttemptRow(
                notification_id="n-second",
                at=NOW,
                ok=False,
                answer="451 try again later",
                duration_ms=12,
            )
        )
        return Chain(alert_id, step.id, "n-first", "n-second", token)


def _audits(sessions: sessionmaker[Session], action: str, object_type: str) -> list[AuditRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditRow).where(
                    AuditRow.action == action, AuditRow.object_type == object_type
                )
            )
        )


# ----------------------------------------------------------------------------- policy


def test_a_nurse_sees_where_her_centres_reds_go_without_any_url(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-a reads centre A's overview: the default delays, its targets by chain role
    without URLs, the roles nobody receives, and that outside hours reds go to the
    after-hours receiver; a deactivated target receives nothing."""
    with sessions.begin() as session:
        _target(session, api_world.centre_a, "t-lead", "centre_lead", "Leder Testvik")
        _target(session, api_world.centre_a, "t-ah", "after_hours", "Legevakten i Testvik")
        _target(session, api_world.centre_a, "t-old", "on_call_nurse", "Gammel vakt", active=False)
    answer = http.get(
        f"{API}/centres/{api_world.centre_a}/escalation", headers=login(http, "nurse-a")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "Hemmelig" not in answer.text
    assert "smtp.example.no" not in answer.text
    assert body["policy"] == {
        "on_call_after_min": 30,
        "second_nurse_after_min": 15,
        "after_hours_after_min": 15,
        "centre_lead_after_min": 30,
        "detail": "none",
        "after_hours_service": {
            "nb": "legevakt (116 117) eller hjemmesykepleien",
            "en": "out-of-hours GP (116 117) or home-care nursing",
        },
    }
    assert [(t["id"], t["role"], t["active"]) for t in body["targets"]] == [
        ("t-old", "on_call_nurse", False),
        ("t-ah", "after_hours", True),
        ("t-lead", "centre_lead", True),
    ]
    assert body["roles_without_target"] == ["on_call_nurse", "second_nurse"]
    assert (body["after_hours_role"], body["after_hours_receivers"]) == (
        "after_hours",
        ["Legevakten i Testvik"],
    )
    assert _audits(sessions, "read", "escalation_policy")


def test_without_an_after_hours_receiver_the_overview_says_who_gets_reds_or_nobody(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """With no after-hours target the centre lead gets reds outside hours; with no target at
    all, nobody (the worklist warns)."""
    headers = login(http, "nurse-ab")
    nobody = http.get(f"{API}/centres/{api_world.centre_b}/escalation", headers=headers).json()
    assert (nobody["after_hours_role"], nobody["after_hours_receivers"]) == (None, [])
    assert nobody["roles_without_target"] == [
        "on_call_nurse",
        "second_nurse",
        "after_hours",
        "centre_lead",
    ]
    with sessions.begin() as session:
        _target(session, api_world.centre_b, "t-lead-b", "centre_lead", "Leder Prøvestad")
    lead = http.get(f"{API}/centres/{api_world.centre_b}/escalation", headers=headers).json()
    assert (lead["after_hours_role"], lead["after_hours_receivers"]) == (
        "centre_lead",
        ["Leder Prøvestad"],
    )


def test_other_centres_nurses_and_gps_cannot_read_a_centres_escalation(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-b asking for centre A and a GP asking at all get 403 (audited); an admin gets 404
    for a centre that does not exist."""
    url = f"{API}/centres/{api_world.centre_a}/escalation"
    assert http.get(url, headers=login(http, "nurse-b")).status_code == 403
    assert http.get(url, headers=login(http, "gp-1")).status_code == 403
    refused = list(_audits(sessions, "read", "escalation_policy"))
    assert [row.outcome for row in refused] == ["refused", "refused"]
    admin = login(http, "admin")
    assert http.get(url, headers=admin).status_code == 200
    missing = http.get(f"{API}/centres/no-such-centre/escalation", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_an_admin_sets_the_delays_in_minutes_and_the_job_reads_them(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """PATCH changes only the fields given, stores them as the escalation job reads them, and
    audits from → to; a nurse may not change it."""
    url = f"{API}/admin/centres/{api_world.centre_a}/escalation"
    refused = http.patch(url, json={"second_nurse_after_min": 5}, headers=login(http, "nurse-a"))
    assert refused.status_code == 403
    admin = login(http, "admin")
    answer = http.patch(
        url, json={"second_nurse_after_min": 5, "detail": "initials_municipality"}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    policy = answer.json()["policy"]
    assert (policy["on_call_after_min"], policy["second_nurse_after_min"], policy["detail"]) == (
        30,
        5,
        "initials_municipality",
    )
    with sessions() as session:
        centre = session.get(CentreRow, api_world.centre_a)
        assert centre is not None
        assert centre.escalation == {
            "second_nurse_after": "PT5M",
            "detail": "initials_municipality",
        }
        stored = EscalationPolicy.model_validate(centre.escalation)
    assert stored.second_nurse_after == timedelta(minutes=5)
    refusal, audit = _audits(sessions, "update", "escalation_policy")
    assert (refusal.outcome, audit.outcome) == ("refused", "allowed")
    assert audit.details == {
        "second_nurse_after_min": {"from": 15, "to": 5},
        "detail": {"from": "none", "to": "initials_municipality"},
    }
    negative = http.patch(url, json={"on_call_after_min": -1}, headers=admin)
    assert negative.status_code == 422
    assert (
        http.patch(
            f"{API}/admin/centres/nowhere/escalation", json={"detail": "none"}, headers=admin
        ).status_code
        == 404
    )


# ----------------------------------------------------------------------------- targets


def test_targets_are_managed_by_admins_and_their_url_is_never_shown_or_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Create, list, change and deactivate a target: every answer shows the masked URL only,
    and no audit row holds the URL or its password."""
    admin = login(http, "admin")
    base = f"{API}/admin/centres/{api_world.centre_a}/notification-targets"
    created = http.post(
        base,
        json={"role": "after_hours", "label": "Legevakten i Testvik", "url": SECRET_URL},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    target = created.json()
    assert {
        k: target[k] for k in ("role", "label", "channel", "url_masked", "secure", "active")
    } == {
        "role": "after_hours",
        "label": "Legevakten i Testvik",
        "channel": "mailtos",
        "url_masked": "mailtos://smtp.example.no",
        "secure": False,
        "active": True,
    }
    listed = http.get(base, headers=admin)
    assert [t["id"] for t in listed.json()["items"]] == [target["id"]]
    changed = http.patch(
        f"{API}/admin/notification-targets/{target['id']}",
        json={
            "label": "Legevakt Testvik",
            "url": "json://hooks.example.no/sms?token=abc-Hemmelig",
            "secure": True,
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["channel"], changed.json()["url_masked"]) == (
        "json",
        "json://hooks.example.no",
    )
    gone = http.delete(f"{API}/admin/notification-targets/{target['id']}", headers=admin)
    assert (gone.status_code, gone.json()["active"]) == (200, False)
    with sessions() as session:
        row = session.get(NotificationTargetRow, target["id"])
        assert row is not None
        assert row.url == "json://hooks.example.no/sms?token=abc-Hemmelig"
    for answer in (created, listed, changed, gone):
        assert "Hemmelig" not in answer.text
    rows = (
        _audits(sessions, "create", "notification_target")
        + _audits(sessions, "update", "notification_target")
        + _audits(sessions, "deactivate", "notification_target")
    )
    assert len(rows) == 3
    assert all(
        "Hemmelig" not in str(row.details) and "?to=" not in str(row.details) for row in rows
    )
    assert rows[1].details["url_masked"] == {
        "from": "mailtos://smtp.example.no",
        "to": "json://hooks.example.no",
    }


def test_a_url_apprise_cannot_use_is_refused_with_the_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """An unknown scheme is a 422 that says Apprise does not understand it; nothing is stored."""
    answer = http.post(
        f"{API}/admin/centres/{api_world.centre_a}/notification-targets",
        json={"role": "on_call_nurse", "label": "Vakt", "url": "nosuchscheme://x"},
        headers=login(http, "admin"),
    )
    assert answer.status_code == 422
    assert "Apprise does not understand this URL" in answer.json()["detail"]
    with sessions() as session:
        assert session.scalars(select(NotificationTargetRow)).all() == []


def test_a_token_in_the_urls_host_is_not_shown_either(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A Telegram bot URL carries its token where a host goes: the target is stored, and the
    answer and the audit row show `tgram://…`."""
    bot = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12315544"
    answer = http.post(
        f"{API}/admin/centres/{api_world.centre_a}/notification-targets",
        json={"role": "centre_lead", "label": "Leder (Telegram)", "url": bot},
        headers=login(http, "admin"),
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["channel"], answer.json()["url_masked"]) == ("tgram", "tgram://…")
    assert "AAHdq" not in answer.text
    [audit] = _audits(sessions, "create", "notification_target")
    assert "AAHdq" not in str(audit.details)


def test_nurses_and_gps_cannot_manage_targets(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Only admins list, add or test targets."""
    base = f"{API}/admin/centres/{api_world.centre_a}/notification-targets"
    for user in ("nurse-a", "gp-1"):
        headers = login(http, user)
        assert http.get(base, headers=headers).status_code == 403
        body = {"role": "on_call_nurse", "label": "Vakt", "url": SECRET_URL}
        assert http.post(base, json=body, headers=headers).status_code == 403


def test_an_admins_test_message_is_queued_for_the_sender_without_a_patient(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """POST …/test writes a pending `test` notification to the target (bokmål and English, no
    patient), which the centre's list shows; it is audited."""
    with sessions.begin() as session:
        _target(session, api_world.centre_a, "t-ah", "after_hours", "Legevakten i Testvik")
    admin = login(http, "admin")
    answer = http.post(f"{API}/admin/notification-targets/t-ah/test", headers=admin)
    assert answer.status_code == 202, answer.text
    queued = answer.json()["notification_id"]
    with sessions() as session:
        row = session.get(NotificationRow, queued)
        assert row is not None
        assert (row.kind, row.status, row.target_id, row.alert_id, row.centre_id) == (
            "test",
            "pending",
            "t-ah",
            None,
            api_world.centre_a,
        )
        assert row.body.startswith("DHO: Dette er en testmelding til Legevakten i Testvik")
        assert "This is a test message" in row.body
        assert row.due_at == NOW
    listed = http.get(
        f"{API}/centres/{api_world.centre_a}/notifications",
        params={"kind": "test"},
        headers=login(http, "nurse-a"),
    ).json()
    assert [(n["id"], n["patient_id"], n["recipient"]) for n in listed["items"]] == [
        (queued, None, "Legevakten i Testvik")
    ]
    assert _audits(sessions, "test", "notification_target")
    missing = http.post(f"{API}/admin/notification-targets/nothing/test", headers=admin)
    assert missing.status_code == 404
    http.delete(f"{API}/admin/notification-targets/t-ah", headers=admin)
    inactive = http.post(f"{API}/admin/notification-targets/t-ah/test", headers=admin)
    assert inactive.status_code == 409
    assert "deactivated" in inactive.json()["detail"]


# ----------------------------------------------------------------------------- messages


def test_a_nurse_lists_her_centres_messages_with_patient_and_step(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The centre's messages, newest first and page by page, name the patient and the chain
    role for the centre; the receipt token is blanked; the list is audited with the patient."""
    chain = escalated(sessions, api_world)
    nurse = login(http, "nurse-a")
    url = f"{API}/centres/{api_world.centre_a}/notifications"
    first = http.get(url, params={"limit": 1}, headers=nurse)
    assert first.status_code == 200, first.text
    page = first.json()
    [item] = page["items"]
    assert item["id"] == chain.second  # same time: by id, newest first
    assert (item["patient_name"], item["role"], item["step"], item["alert_id"]) == (
        "Testpasient a-copd",
        "on_call_nurse",
        0,
        chain.alert_id,
    )
    rest = http.get(url, params={"limit": 1, "cursor": page["next_cursor"]}, headers=nurse).json()
    assert [n["id"] for n in rest["items"]] == [chain.first]
    assert rest["next_cursor"] is None
    assert chain.token not in rest["items"][0]["body"]
    assert rest["items"][0]["body"].endswith("/notifications/receipt/…")
    pending = http.get(url, params={"status": "sent"}, headers=nurse).json()
    assert pending["items"] == []
    audits = _audits(sessions, "list", "notification")
    assert audits[0].details["patients"] == [api_world.patients["a-copd"].id]


def test_a_gp_and_another_centres_nurse_cannot_see_a_centres_messages(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The GP of the patient gets 403 for the list and the message; nurse-b (centre B) too."""
    chain = escalated(sessions, api_world)
    for user in ("gp-1", "nurse-b"):
        headers = login(http, user)
        listed = http.get(f"{API}/centres/{api_world.centre_a}/notifications", headers=headers)
        assert listed.status_code == 403
        one = http.get(f"{API}/notifications/{chain.first}", headers=headers)
        assert one.status_code == 403
    assert (
        http.get(f"{API}/notifications/nothing", headers=login(http, "nurse-a")).status_code == 404
    )


def test_an_admin_sees_messages_but_patient_names_only_with_a_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Without X-DHO-Reason the admin's list has no patient names; with one it has."""
    escalated(sessions, api_world)
    url = f"{API}/centres/{api_world.centre_a}/notifications"
    plain = http.get(url, headers=login(http, "admin")).json()
    assert {n["patient_name"] for n in plain["items"]} == {None}
    reasoned = http.get(url, headers=login(http, "admin", reason=REASON)).json()
    assert {n["patient_name"] for n in reasoned["items"]} == {"Testpasient a-copd"}


def test_one_message_shows_every_attempt_and_the_providers_answer(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """GET /notifications/{id} adds the attempts; reading it is audited against the patient."""
    chain = escalated(sessions, api_world)
    answer = http.get(f"{API}/notifications/{chain.second}", headers=login(http, "nurse-a"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["attempt_log"] == [
        {
            "at": "2026-11-23T08:30:00Z",
            "ok": False,
            "answer": "451 try again later",
            "duration_ms": 12,
        }
    ]
    [audit] = _audits(sessions, "read", "notification")
    assert audit.patient_id == api_world.patients["a-copd"].id


def test_the_alert_shows_its_escalation_steps_and_their_messages(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """GET /alerts/{id} lists each step with its role, reason, the patient's instruction and
    its messages (state, attempts, received)."""
    chain = escalated(sessions, api_world)
    detail = http.get(f"{API}/alerts/{chain.alert_id}", headers=login(http, "nurse-a")).json()
    [step] = detail["escalations"]
    assert {k: step[k] for k in ("step", "role", "reason", "patient_instruction")} == {
        "step": 0,
        "role": "on_call_nurse",
        "reason": {"nb": "Rødt varsel ikke kvittert på 30 min", "en": "Red unacknowledged"},
        "patient_instruction": {"nb": "Ring 113", "en": "Call 113"},
    }
    assert [(n["recipient"], n["status"], n["received_at"]) for n in step["notifications"]] == [
        ("Vakttelefon 1", "pending", None),
        ("Vakttelefon 2", "pending", None),
    ]


# ----------------------------------------------------------------------------- receipt link


def _state(sessions: sessionmaker[Session], *ids: str) -> list[tuple[str, Any]]:
    with sessions() as session:
        rows = [session.get(NotificationRow, id_) for id_ in ids]
        return [(row.status, row.received_at) for row in rows if row is not None]


def test_opening_the_receipt_link_changes_nothing_and_shows_no_patient(
    http: httpx.Client, api_world: ApiWorld, sessions: sessionmaker[Session]
) -> None:
    """A GET (a mail scanner, an SMS preview) gets a bokmål-then-English page with a button;
    no message is received or cancelled, and the page has no name or value."""
    chain = escalated(sessions, api_world)
    page = http.get(f"{API}/notifications/receipt/{chain.token}", headers=HTML)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Rødt varsel fra Oppfølgingstjenesten Testvik" in text
    assert "23.11.2026 kl. 09:30" in text  # Oslo time
    assert text.index("Trykk på knappen") < text.index("Press the button")
    assert '<form method="post">' in text
    # the token in the address goes nowhere else, and no other site can frame the button
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    visible = re.sub(r"<[^>]+>", " ", text)  # the words, without the link's alert id
    assert "Testpasient" not in visible
    assert "86" not in visible
    assert "spo2" not in visible.lower()
    assert _state(sessions, chain.first, chain.second) == [("pending", None), ("pending", None)]
    with sessions() as session:
        events = session.scalars(
            select(AlertEventRow.event).where(AlertEventRow.alert_id == chain.alert_id)
        ).all()
    assert "escalation_received" not in events


def test_confirming_receipt_stops_the_chain_without_acknowledging_the_alert(
    http: httpx.Client, api_world: ApiWorld, sessions: sessionmaker[Session]
) -> None:
    """The button (a form POST with no fields) sets received_at, cancels the alert's other
    waiting message, writes the alert event and an audit row; the alert stays open; confirming
    again says when it was confirmed."""
    chain = escalated(sessions, api_world)
    url = f"{API}/notifications/receipt/{chain.token}"
    answer = http.post(
        url, headers={**HTML, "Content-Type": "application/x-www-form-urlencoded"}, content=b""
    )
    assert answer.status_code == 200, answer.text
    assert "Takk – mottatt 23.11.2026 kl. 09:30" in answer.text
    assert _state(sessions, chain.first, chain.second) == [("pending", NOW), ("cancelled", None)]
    with sessions() as session:
        alert = session.get(AlertRow, chain.alert_id)
        assert alert is not None
        assert alert.state == "open"
        event = session.scalars(
            select(AlertEventRow).where(
                AlertEventRow.alert_id == chain.alert_id,
                AlertEventRow.event == "escalation_received",
            )
        ).one()
        assert (event.by, event.note) == ("Vakttelefon 1", "mottatt via lenke")
        second = session.get(NotificationRow, chain.second)
        assert second is not None
        assert second.cancelled_at == NOW
    [audit] = _audits(sessions, "confirm_receipt", "notification")
    assert (audit.actor, audit.patient_id, audit.details["cancelled"]) == (
        f"receipt:{chain.first}",
        api_world.patients["a-copd"].id,
        1,
    )
    again = http.post(url, headers=HTML)
    assert again.status_code == 200
    assert "Allerede bekreftet mottatt 23.11.2026 kl. 09:30" in again.text
    assert "Allerede bekreftet" in http.get(url, headers=HTML).text
    assert len(_audits(sessions, "confirm_receipt", "notification")) == 1


def test_unknown_and_expired_receipt_links_change_nothing(
    http: httpx.Client, api_world: ApiWorld, sessions: sessionmaker[Session]
) -> None:
    """An unknown token is a 404 page (problem details for a non-browser); a link older than
    48 hours is a 410 page, and confirming it changes nothing."""
    chain = escalated(sessions, api_world, created_at=NOW - timedelta(hours=48))
    unknown = http.get(f"{API}/notifications/receipt/{secrets.token_urlsafe(32)}", headers=HTML)
    assert unknown.status_code == 404
    assert "Ukjent lenke" in unknown.text
    assert unknown.headers["content-type"].startswith("text/html")
    machine = http.post(f"{API}/notifications/receipt/short")
    assert machine.status_code == 404
    assert machine.headers["content-type"] == "application/problem+json"
    url = f"{API}/notifications/receipt/{chain.token}"
    assert http.get(url, headers=HTML).status_code == 410
    expired = http.post(url, headers=HTML)
    assert expired.status_code == 410
    assert "Lenken er utløpt" in expired.text
    assert _state(sessions, chain.first, chain.second) == [("pending", None), ("pending", None)]


def test_receipt_links_are_rate_limited_per_address(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    """Guessing tokens is limited like logins: past the limit, 429 with Retry-After."""
    settings = Settings(demo=True, login_rate_per_minute=3)
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as client:
        statuses = [
            client.get(f"{API}/notifications/receipt/{secrets.token_urlsafe(32)}").status_code
            for _ in range(4)
        ]
        limited = client.post(f"{API}/notifications/receipt/{secrets.token_urlsafe(32)}")
    assert statuses == [404, 404, 404, 429]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


# ----------------------------------------------------------------------------- GP digest


def test_a_gp_chooses_a_weekly_digest_to_an_address(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """GET shows none and that sending is not configured; PUT weekly with an address stores
    it (audited); none stops it."""
    gp = login(http, "gp-1")
    assert http.get(f"{API}/me/digest", headers=gp).json() == {
        "frequency": "none",
        "email": None,
        "sending_configured": False,
    }
    chosen = http.put(
        f"{API}/me/digest",
        json={"frequency": "weekly", "email": "fastlege@legekontoret.example.no"},
        headers=gp,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["frequency"] == "weekly"
    with sessions() as session:
        user = session.get(UserRow, api_world.users["gp-1"])
        assert user is not None
        assert (user.digest_frequency, user.digest_email) == (
            "weekly",
            "fastlege@legekontoret.example.no",
        )
    [audit] = _audits(sessions, "update", "digest")
    assert audit.details["frequency"] == {"from": "none", "to": "weekly"}
    stopped = http.put(f"{API}/me/digest", json={"frequency": "none"}, headers=gp).json()
    assert stopped == {
        "frequency": "none",
        "email": "fastlege@legekontoret.example.no",
        "sending_configured": False,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"frequency": "daily"},
        {"frequency": "daily", "email": "not an address"},
        {"frequency": "daily", "email": "a@b"},
        {"frequency": "hourly", "email": "fastlege@example.no"},
    ],
)
def test_a_digest_needs_a_valid_address_and_frequency(
    http: httpx.Client, login: Login, body: dict[str, str]
) -> None:
    """daily/weekly without an address, a malformed address, or an unknown frequency is 422."""
    answer = http.put(f"{API}/me/digest", json=body, headers=login(http, "gp-1"))
    assert answer.status_code == 422, answer.text


def test_only_gps_choose_a_digest_and_the_answer_says_whether_sending_is_set_up(
    sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A nurse gets 403; with DHO_NOTIFY_EMAIL_URL set, sending_configured is true."""
    settings = SETTINGS.model_copy(update={"notify_email_url": "mailto://smtp.example.no"})
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as client:
        assert client.get(f"{API}/me/digest", headers=login(client, "nurse-a")).status_code == 403
        mine = client.get(f"{API}/me/digest", headers=login(client, "gp-1")).json()
    assert mine["sending_configured"] is True
