"""Benchmark: what the notification sender costs per message, next to Apprise's own cost.

Seeds N pending messages to one receiver (a real SMTP server, aiosmtpd, in a child process so
that its CPU is not counted) and runs the sender job (``triage.jobs.notify.send_notifications``:
claim with a lease, resolve the URL, deliver through Apprise, record the attempt) until all are
sent. In the same run, the baseline delivers N messages straight through
``triage.notify.channel.deliver`` (Apprise only, no database). Both are measured as CPU time of
this process (all threads, ``resource.getrusage``) per message, because the machine is shared;
the ratio says what the outbox adds to a bare delivery.

Run: ``make bench`` or ``python bench/notify.py [--messages N] [--database-url URL]``.
Last line: ``RESULT sender_cpu_us_per_message=… apprise_cpu_us_per_message=… ratio=… sent=…``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import func, select

from triage.config import Settings
from triage.domain.notification import NotificationKind, NotificationStatus
from triage.jobs.notify import send_notifications
from triage.notify.channel import deliver
from triage.notify.smtp_sink import SmtpSink
from triage.storage import repositories, seed
from triage.storage.database import make_engine, migrate, session_factory
from triage.storage.models import NotificationRow

NOW = datetime(2026, 12, 4, 14, 6, tzinfo=UTC)


def _sink(pipe: Connection) -> None:
    """The receiver, in its own process: answers with its address, runs until told to stop."""
    sink = SmtpSink().start()
    pipe.send(sink.url("legevakt@fjordvik.invalid"))
    pipe.recv()
    pipe.send(len(sink.messages))
    sink.stop()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    n: int = args.messages

    ours, theirs = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=_sink, args=(theirs,), daemon=True)
    receiver.start()
    url: str = ours.recv()

    folder = Path(tempfile.mkdtemp(prefix="dho-bench-notify-"))
    database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        municipality = seed.add_municipality(session, "4601", "Fjordvik")
        centre = seed.add_centre(session, "Oppfølgingstjenesten Fjordvik", [municipality])
        target = repositories.add_notification_target(
            session, centre.id, "after_hours", "Legevakten Fjordvik", url, NOW
        )
        session.flush()  # the rows have no ORM relationships: the target goes in first
        for i in range(n):
            session.add(
                repositories.pending_notification(
                    NotificationKind.TEST,
                    f"bench:{i}",
                    target.label,
                    "mailto",
                    "DHO: prøvemelding",
                    f"DHO: prøvemelding {i}",
                    NOW,
                    centre_id=centre.id,
                    target_id=target.id,
                )
            )
    settings = Settings(demo=True)

    # the baseline: the same deliveries straight through Apprise
    cpu, wall = _cpu_s(), time.perf_counter()
    for i in range(n):
        done = deliver(url, "DHO: prøvemelding", f"DHO: prøvemelding {i}")
        if not done.ok:
            raise SystemExit(f"the baseline delivery failed: {done.answer}")
    apprise_cpu, apprise_wall = _cpu_s() - cpu, time.perf_counter() - wall

    # the sender job, run after run (at most 100 messages a run) until nothing is pending
    cpu, wall = _cpu_s(), time.perf_counter()
    runs, at = 0, NOW
    while True:
        with sessions() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(NotificationRow)
                .where(NotificationRow.status == NotificationStatus.PENDING.value)
            )
        if not pending or runs > n:
            break
        send_notifications(sessions, settings, at)
        runs, at = runs + 1, at + timedelta(seconds=20)
    sender_cpu, sender_wall = _cpu_s() - cpu, time.perf_counter() - wall

    with sessions() as session:
        sent = session.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(NotificationRow.status == NotificationStatus.SENT.value)
        )
    ours.send("stop")
    received: int = ours.recv()
    receiver.join(timeout=10)

    load = os.getloadavg()
    backend = engine.dialect.name
    print(f"database: {backend}; messages: {n}; sender runs: {runs}; load average {load[0]:.2f}")
    print(
        f"apprise only: {apprise_cpu / n * 1e6:,.0f} µs CPU per message, "
        f"{apprise_wall / n * 1e3:.1f} ms wall"
    )
    print(
        f"sender job:   {sender_cpu / n * 1e6:,.0f} µs CPU per message, "
        f"{sender_wall / n * 1e3:.1f} ms wall (claim, deliver, record)"
    )
    print(f"received by the SMTP server: {received} (of {2 * n} sent: baseline and sender)")
    print(
        f"RESULT sender_cpu_us_per_message={sender_cpu / n * 1e6:.0f} "
        f"apprise_cpu_us_per_message={apprise_cpu / n * 1e6:.0f} "
        f"ratio={sender_cpu / apprise_cpu:.2f} sent={sent} received={received} "
        f"database={backend} load1={load[0]:.2f}"
    )


if __name__ == "__main__":
    main()
