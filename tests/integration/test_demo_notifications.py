"""The demo's notifications: at every start the demo centre has its three receivers once (the
on-call nurse's phone, the after-hours service, the centre lead), all mail through this start's
sink, and the demo GP a daily digest; the sink the demo starts receives what is sent to them and
keeps it as a file a newcomer can open."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.broker.embedded import free_port
from triage.demo.notifications import (
    GP_DIGEST_EMAIL,
    email_base_url,
    mail_folder,
    seed_demo_notifications,
    start_mail_sink,
)
from triage.demo.population import population
from triage.demo.state import DemoState, seed_demo
from triage.notify.channel import check_url, deliver
from triage.storage.models import NotificationTargetRow, UserRow

NOW = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)


def _seeded(sessions: sessionmaker[Session]) -> DemoState:
    with sessions.begin() as session:
        return seed_demo(session, population(5, 2026, date(2026, 12, 4)), 2026, NOW)


def _targets(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, bool, bool]]:
    with sessions() as session:
        rows = session.scalars(
            select(NotificationTargetRow).order_by(NotificationTargetRow.role)
        ).all()
        return [(r.role, r.label, r.url, r.secure, r.active) for r in rows]


def test_the_demo_centre_has_its_receivers_once_after_two_starts(
    sessions: sessionmaker[Session],
) -> None:
    """A second start adds no receiver twice; it moves them to its sink's port."""
    state = _seeded(sessions)
    for port in (8625, 8625):
        with sessions.begin() as session:
            seed_demo_notifications(session, state, port, NOW)
    first = _targets(sessions)
    assert [(role, label) for role, label, *_ in first] == [
        ("after_hours", "Legevakten (demo)"),
        ("centre_lead", "Leder oppfølgingstjenesten (demo)"),
        ("on_call_nurse", "Vakttelefon sykepleier (demo)"),
    ]
    # mail through the sink, no health data on them (not declared secure), all active
    assert all(url.startswith("mailto://127.0.0.1:8625?") for _, _, url, _, _ in first)
    assert all(not secure and active for *_, secure, active in first)
    assert all(check_url(url) == "mailto" for _, _, url, _, _ in first)
    assert "to=legevakt@fjordvik.invalid" in first[0][2]

    with sessions.begin() as session:
        added = seed_demo_notifications(session, state, 8700, NOW)
    assert added == 0
    moved = _targets(sessions)
    assert len(moved) == 3
    assert all(url.startswith("mailto://127.0.0.1:8700?") for _, _, url, _, _ in moved)


def test_an_admins_changes_to_a_demo_receiver_survive_a_restart(
    sessions: sessionmaker[Session],
) -> None:
    """A receiver the admin deactivated or renamed stays so: the demo does not add it again."""
    state = _seeded(sessions)
    with sessions.begin() as session:
        seed_demo_notifications(session, state, 8625, NOW)
    with sessions.begin() as session:
        row = session.scalars(
            select(NotificationTargetRow).where(NotificationTargetRow.role == "after_hours")
        ).one()
        row.active, row.label = False, "Legevakten i Fjordvik"
    with sessions.begin() as session:
        seed_demo_notifications(session, state, 8625, NOW)
    targets = _targets(sessions)
    assert len(targets) == 3
    assert targets[0][1] == "Legevakten i Fjordvik"
    assert targets[0][4] is False


def test_the_demo_gp_gets_a_daily_digest_unless_they_chose_otherwise(
    sessions: sessionmaker[Session],
) -> None:
    state = _seeded(sessions)
    gp = state.login("gp").username
    with sessions.begin() as session:
        seed_demo_notifications(session, state, 8625, NOW)
    with sessions.begin() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == gp)).one()
        assert (user.digest_frequency, user.digest_email) == ("daily", GP_DIGEST_EMAIL)
        user.digest_frequency, user.digest_email = "weekly", "lege@fjordvik.invalid"
    with sessions.begin() as session:
        seed_demo_notifications(session, state, 8625, NOW)
    with sessions() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == gp)).one()
        assert (user.digest_frequency, user.digest_email) == ("weekly", "lege@fjordvik.invalid")


def test_the_demos_sink_keeps_a_message_to_the_after_hours_receiver_as_a_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """What the sender delivers to the seeded after-hours URL lands in <data>/mail as .eml."""
    state = _seeded(sessions)
    port = free_port()
    with sessions.begin() as session:
        seed_demo_notifications(session, state, port, NOW)
    url = next(url for role, _, url, _, _ in _targets(sessions) if role == "after_hours")
    sink = start_mail_sink(tmp_path, port)
    try:
        done = deliver(url, "DHO: rødt varsel venter", "DHO: 1 rød varsling venter hos …")
        assert done.ok, done.answer
        [mail] = sink.wait_for(1)
        # the GP digest's base URL reaches the same sink once the digest adds to=
        assert deliver(f"{email_base_url(port)}&to={GP_DIGEST_EMAIL}", "DHO", "oppsummering").ok
        sink.wait_for(2)
    finally:
        sink.stop()
    assert mail.rcpt_tos == ("legevakt@fjordvik.invalid",)
    assert mail.subject == "DHO: rødt varsel venter"
    files = sorted(p.name for p in mail_folder(tmp_path).iterdir())
    assert files == ["00001-legevakt@fjordvik.invalid.eml", "00002-fastlege@fjordvik.invalid.eml"]
    kept = email.message_from_bytes(
        (mail_folder(tmp_path) / files[0]).read_bytes(), policy=email.policy.default
    )
    assert kept["Subject"] == "DHO: rødt varsel venter"
