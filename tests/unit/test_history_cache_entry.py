"""Cache entries hold exactly "every row from ``since`` on", cut to the newest per patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.domain.readings import Kind, Reading
from triage.ingest.history_cache import make_entry

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def weight(i: int) -> Reading:
    return Reading.model_construct(
        id=f"w-{i}",
        kind=Kind.BODY_WEIGHT,
        measured_at=T0 + timedelta(hours=i),
        values={"weight": 80},
    )


def test_an_entry_keeps_the_newest_rows_and_says_from_when() -> None:
    """250 readings, 200 kept: the newest, in time order, and ``since`` moves to the oldest
    kept, so the count check compares like with like."""
    entry = make_entry(T0, [weight(i) for i in reversed(range(250))], [], [], per_patient=200)
    assert [r.id for r in entry.readings] == [f"w-{i}" for i in range(50, 250)]
    assert entry.since == T0 + timedelta(hours=50)
    assert entry.counts == (200, 0)


def test_a_short_history_keeps_its_window() -> None:
    entry = make_entry(T0, [weight(2), weight(1)], [], [], per_patient=200)
    assert [r.id for r in entry.readings] == ["w-1", "w-2"]
    assert entry.since == T0
