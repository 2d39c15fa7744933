"""The gateway's outbox: nothing measured is lost before the service confirms it, nothing is
kept after, and a rejected reading stays visible with its reason."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.outbox import (
    FIRST_RETRY,
    MAX_RETRY,
    Channel,
    Outbox,
    OutboxFullError,
    backoff,
)

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
READINGS = Channel.READINGS


def outbox(tmp_path: Path, **kwargs: int | float) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def test_a_reading_survives_the_gateway_being_killed_before_it_was_published(
    tmp_path: Path,
) -> None:
    box = outbox(tmp_path)
    assert box.add(READINGS, "r-1", b'{"id": "r-1"}', T0)
    box.close()  # the process dies here; a new one opens the same file
    again = outbox(tmp_path)
    [message] = again.due(T0)
    assert (message.id, message.payload, message.attempts) == ("r-1", b'{"id": "r-1"}', 0)


def test_a_published_reading_without_a_receipt_is_sent_again_after_the_back_off(
    tmp_path: Path,
) -> None:
    box = outbox(tmp_path)
    box.add(READINGS, "r-1", b"{}", T0)
    box.published(["r-1"], T0)
    assert box.due(T0 + FIRST_RETRY / 2) == []
    assert [m.id for m in box.due(T0 + FIRST_RETRY * 1.3)] == ["r-1"]
    box.published(["r-1"], T0 + FIRST_RETRY * 1.3)  # second attempt: waits about twice as long
    assert box.due(T0 + FIRST_RETRY * 1.3 + FIRST_RETRY * 1.5) == []
    assert box.depth() == 1  # still held: no receipt yet


def test_receipts_remove_stored_and_duplicate_and_keep_rejected_with_the_reason(
    tmp_path: Path,
) -> None:
    box = outbox(tmp_path)
    for message_id in ("a", "b", "c"):
        box.add(READINGS, message_id, b"{}", T0)
    box.published(["a", "b", "c"], T0)
    outcome = box.receipt(
        [
            ("a", "stored", None, None),
            ("b", "duplicate", None, None),
            ("c", "rejected", "implausible", "spo2 30 % is outside 50–100 %"),
            ("gone", "stored", None, None),
        ],
        T0 + timedelta(seconds=1),
    )
    assert (outcome.removed, outcome.rejected, outcome.unknown) == (2, 1, 1)
    assert box.depth() == 0
    [rejected] = box.rejected()
    assert (rejected.id, rejected.reason_code) == ("c", "implausible")
    assert box.due(T0 + timedelta(days=1)) == []  # a rejected reading is never resent
    assert box.last_receipt_at() == T0 + timedelta(seconds=1)


def test_the_same_record_twice_is_kept_once(tmp_path: Path) -> None:
    """A cuff sends its stored records again after every reconnection."""
    box = outbox(tmp_path)
    assert box.add(READINGS, "r-1", b"{}", T0)
    assert not box.add(READINGS, "r-1", b"{}", T0 + timedelta(minutes=1))
    assert box.depth() == 1


def test_days_offline_drain_in_measurement_order(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    ids = [f"r-{i:03d}" for i in range(250)]
    for i, message_id in enumerate(ids):
        box.add(READINGS, message_id, b"{}", T0 + timedelta(hours=i))
    later = T0 + timedelta(days=12)
    assert [m.id for m in box.due(later, limit=1000)] == ids


def test_after_a_reconnect_every_pending_message_is_handed_out_in_order_due_or_not(
    tmp_path: Path,
) -> None:
    """Messages deep in their back-off still come out for the republish after a reconnect,
    oldest first, batch by batch; rejected and confirmed ones do not."""
    box = outbox(tmp_path)
    ids = [f"r-{i}" for i in range(5)]
    for i, message_id in enumerate(ids):
        box.add(READINGS, message_id, b"{}", T0 + timedelta(minutes=i))
    for attempt in range(9):  # a long outage: the back-off is at its 15-minute cap
        box.published(ids, T0 + timedelta(hours=attempt))
    last = T0 + timedelta(hours=8)
    assert box.due(last + MAX_RETRY / 2) == []
    box.receipt([("r-1", "stored", None, None), ("r-3", "rejected", "implausible", "x")], last)

    first = box.pending_after(0, limit=2)
    assert [m.id for m in first] == ["r-0", "r-2"]
    assert all(m.attempts == 9 for m in first)
    assert [m.id for m in box.pending_after(first[-1].seq, limit=2)] == ["r-4"]
    assert box.pending_after(box.pending_after(first[-1].seq)[-1].seq) == []


def test_a_filling_outbox_warns_in_time_and_a_full_one_refuses(tmp_path: Path) -> None:
    box = outbox(tmp_path, max_messages=10, warn_fraction=0.8)
    for i in range(7):
        box.add(READINGS, f"r-{i}", b"{}", T0)
    assert box.warning() is None
    box.add(READINGS, "r-7", b"{}", T0)
    warning = box.warning()
    assert warning is not None
    assert "8 målinger" in warning[0]
    assert "8 readings" in warning[1]
    box.add(READINGS, "r-8", b"{}", T0)
    box.add(READINGS, "r-9", b"{}", T0)
    with pytest.raises(OutboxFullError, match="has not confirmed"):
        box.add(READINGS, "r-10", b"{}", T0)


def test_back_off_doubles_and_is_capped() -> None:
    rng = random.Random(3)
    waits = [backoff(n, rng) for n in (1, 2, 3)]
    assert FIRST_RETRY <= waits[0] <= FIRST_RETRY * 1.25
    assert FIRST_RETRY * 2 <= waits[1] <= FIRST_RETRY * 2.5
    assert FIRST_RETRY * 4 <= waits[2] <= FIRST_RETRY * 5
    assert MAX_RETRY <= backoff(40, rng) <= MAX_RETRY * 1.25
