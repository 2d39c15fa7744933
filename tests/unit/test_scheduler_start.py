"""When the scheduled jobs first run: at once (catching up after downtime), or after
``DHO_JOBS_START_DELAY_S`` (the demo's homes send their history first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from triage.config import Settings
from triage.jobs import JOBS, build_scheduler


@pytest.mark.parametrize("delay_s", [0.0, 180.0])
def test_the_first_runs_wait_for_the_start_delay(delay_s: float) -> None:
    settings = Settings(demo=True, jobs_start_delay_s=delay_s)
    before = datetime.now(UTC)
    scheduler = build_scheduler(sessionmaker(), settings)
    scheduler.start(paused=True)
    try:
        first_runs = [job.next_run_time for job in scheduler.get_jobs()]
    finally:
        scheduler.shutdown(wait=False)
    assert len(first_runs) == len(JOBS)
    for first in first_runs:
        assert before + timedelta(seconds=delay_s) <= first
        assert first <= datetime.now(UTC) + timedelta(seconds=delay_s)


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="jobs_start_delay_s"):
        Settings(demo=True, jobs_start_delay_s=-1)


def test_the_sender_runs_at_the_interval_the_operator_set() -> None:
    """DHO_NOTIFY_INTERVAL_S decides how often the notification sender runs."""
    scheduler = build_scheduler(sessionmaker(), Settings(demo=True, notify_interval_s=5))
    scheduler.start(paused=True)
    try:
        notify = scheduler.get_job("notify")
        assert notify.trigger.interval == timedelta(seconds=5)
        assert notify.misfire_grace_time == 5
    finally:
        scheduler.shutdown(wait=False)
