"""Where the demo's notifications go: a local SMTP sink, and the receivers that point at it.

The demo sends real mail through the service's real path (escalation job → outbox → sender job
→ Apprise ``mailto://`` → SMTP), to a sink on 127.0.0.1 that keeps every message as an ``.eml``
file in ``<data folder>/mail`` (:class:`triage.notify.smtp_sink.SmtpSink`). Nothing leaves the
machine: the addresses are in the reserved ``.invalid`` domain.

At every start the demo centre gets its receivers (one :class:`NotificationTargetRow` per role
below, updated to this start's sink port, never doubled) and the demo GP a daily digest address
(unless the GP has chosen otherwise since).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.demo.state import DemoState
from triage.domain.notification import DigestFrequency, TargetRole
from triage.notify.smtp_sink import SmtpSink
from triage.storage.models import NotificationTargetRow, PatientRow, UserRow
from triage.storage.repositories import add_notification_target

#: The sink's default port (``--smtp-port`` / ``DHO_DEMO_SMTP_PORT``).
SMTP_PORT = 8625
SMTP_HOST = "127.0.0.1"
#: The data folder's subfolder that holds the received mail.
MAIL_FOLDER = "mail"
#: The demo service's sender address (Apprise refuses addresses in made-up top-level domains;
#: ``.invalid`` is reserved for exactly this and accepted).
SENDER = "dho-demo@fjordvik.invalid"
#: The demo centre's receivers: role, label (shown to nurses), address. No second nurse: the
#: chain skips a role without a receiver, as a real centre's may.
TARGETS: tuple[tuple[TargetRole, str, str], ...] = (
    (TargetRole.ON_CALL_NURSE, "Vakttelefon sykepleier (demo)", "vakt-sykepleier@fjordvik.invalid"),
    (TargetRole.AFTER_HOURS, "Legevakten (demo)", "legevakt@fjordvik.invalid"),
    (
        TargetRole.CENTRE_LEAD,
        "Leder oppfølgingstjenesten (demo)",
        "leder-oppfolging@fjordvik.invalid",
    ),
)
#: The demo GP's digest address.
GP_DIGEST_EMAIL = "fastlege@fjordvik.invalid"


def mail_folder(data_dir: Path) -> Path:
    return data_dir / MAIL_FOLDER


def email_base_url(port: int, host: str = SMTP_HOST) -> str:
    """``DHO_NOTIFY_EMAIL_URL`` for the service: the sink, without a receiver (the GP digest adds
    ``to=``)."""
    return f"mailto://{host}:{port}?from={SENDER}&mode=insecure"


def mail_url(address: str, port: int, host: str = SMTP_HOST) -> str:
    """The Apprise URL that sends to ``address`` through the sink (no TLS, no login)."""
    return f"{email_base_url(port, host)}&to={address}"


def start_mail_sink(data_dir: Path, port: int) -> SmtpSink:
    """Start the SMTP sink on 127.0.0.1:``port``, keeping mail in ``<data_dir>/mail``."""
    return SmtpSink(host=SMTP_HOST, port=port, folder=mail_folder(data_dir)).start()


def seed_notification_targets(
    session: Session, centre_ids: Iterable[str], port: int, now: datetime
) -> int:
    """Give each centre the demo receivers (:data:`TARGETS`), all through the sink on ``port``.
    A receiver already there (same role, same address) is kept as it is — label and active as
    an admin may have changed them — with its URL moved to this start's ``port``; a missing one
    is added. How many were added. The caller commits."""
    added = 0
    for centre_id in centre_ids:
        rows = list(
            session.scalars(
                select(NotificationTargetRow).where(NotificationTargetRow.centre_id == centre_id)
            )
        )
        for role, label, address in TARGETS:
            url = mail_url(address, port)
            row = next(
                (r for r in rows if r.role == role.value and r.url.endswith(f"&to={address}")),
                None,
            )
            if row is None:
                add_notification_target(session, centre_id, role.value, label, url, now)
                added += 1
            elif row.url != url:
                row.url, row.updated_at = url, now
    return added


def give_digest_address(session: Session, username: str) -> bool:
    """A daily digest to :data:`GP_DIGEST_EMAIL` for the GP ``username``, unless the GP already has
    a digest address (their own choice stays). True when it was set."""
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or user.digest_email:
        return False
    user.digest_frequency = DigestFrequency.DAILY.value
    user.digest_email = GP_DIGEST_EMAIL
    return True


def seed_demo_notifications(session: Session, state: DemoState, port: int, now: datetime) -> int:
    """The receivers of every centre of the demo's patients, and the demo GP's digest address
    (at every start: nothing is doubled). How many receivers were added. The caller commits."""
    ids = [p.patient_id for p in state.patients]
    centres = sorted(
        set(session.scalars(select(PatientRow.centre_id).where(PatientRow.id.in_(ids))))
    )
    added = seed_notification_targets(session, centres, port, now)
    give_digest_address(session, state.login("gp").username)
    return added
