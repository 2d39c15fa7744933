"""One run of a scheduled job: per-item isolation, failure counting, and the JobRunRow record.

Every run writes a :class:`~triage.storage.models.JobRunRow`: ``running`` when it starts (in its
own short transaction, so an operator can see a run in progress, and a run that died stays
visible as ``running``), then ``ok``, ``partial`` or ``failed`` with the counts and a summary of
the errors when it ends.

* ``processed`` — items (patients, alerts) handled without error;
* ``failures`` — items that raised; each is rolled back on its own (a SAVEPOINT per item) and
  logged, and the others go on;
* ``status`` — ``ok`` (no failures), ``partial`` (some items failed, some were processed) or
  ``failed`` (the run itself broke off, or every attempted item failed);
* ``detail`` — ``errors`` (up to :data:`MAX_ERRORS` ``{"item", "error"}`` summaries),
  ``errors_not_shown``, ``duration_ms`` and the job's own counters (alerts opened, escalated, …).

``started_at`` is the ``now`` the job was given (the scheduler's clock); ``finished_at`` is
``now`` plus the run's measured duration, so both are on the same clock.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from triage.storage.models import JobRunRow

log = logging.getLogger(__name__)

#: How many error summaries a JobRunRow keeps (the log has them all).
MAX_ERRORS = 20
#: How long one error summary may be.
MAX_ERROR_CHARS = 300
#: Items (patients) per transaction: bounds how long a run holds locks (SQLite: the write lock).
BATCH_SIZE = 200

Status = Literal["ok", "partial", "failed"]
T = TypeVar("T")


class JobFailedError(RuntimeError):
    """The run broke off (not one item: the run). Its JobRunRow already says ``failed``."""

    def __init__(self, job: str, run_id: int, error: BaseException) -> None:
        self.job = job
        self.run_id = run_id
        self.reason = summarise(error)
        super().__init__(f"job {job} (run {run_id}) failed: {self.reason}")


@dataclass(frozen=True)
class JobResult:
    """What one run did; the same numbers as its JobRunRow."""

    job: str
    run_id: int
    status: Status
    processed: int
    failures: int
    detail: dict[str, Any]


@dataclass
class Tally:
    """Counts kept during a run of ``job``."""

    job: str
    processed: int = 0
    failures: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)

    def failed(self, item: str, error: BaseException) -> None:
        """Count a failed item and keep a short summary of why."""
        self.failures += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"item": item, "error": summarise(error)})

    def status(self, aborted: bool) -> Status:
        if aborted or (self.failures and not self.processed):
            return "failed"
        return "partial" if self.failures else "ok"

    def detail(self, duration: timedelta, aborted: BaseException | None) -> dict[str, Any]:
        detail: dict[str, Any] = dict(sorted(self.counts.items()))
        detail["errors"] = list(self.errors)
        detail["errors_not_shown"] = max(self.failures - len(self.errors), 0)
        detail["duration_ms"] = round(duration.total_seconds() * 1000)
        if aborted is not None:
            detail["aborted"] = summarise(aborted)
        return detail


def summarise(error: BaseException) -> str:
    """``Type: first line of the message``, cut to :data:`MAX_ERROR_CHARS` characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def require_aware(now: datetime) -> datetime:
    """``now`` in UTC; a naive datetime is a bug in the caller's clock."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a job needs an aware 'now' (UTC), not {now.isoformat()}")
    return now.astimezone(UTC)


def run_job(
    job: str, sessions: sessionmaker[Session], now: datetime, body: Callable[[Tally], None]
) -> JobResult:
    """Run ``body`` as one recorded run of ``job`` at ``now``.

    ``body`` handles its items one by one (see :func:`each_in_savepoint`) and counts them in the
    tally. An exception out of ``body`` aborts the run: it is recorded as ``failed`` and raised
    again as :class:`JobFailedError`.
    """
    now = require_aware(now)
    started = time.monotonic()
    with sessions.begin() as session:
        row = JobRunRow(job=job, started_at=now, status="running", detail={})
        session.add(row)
        session.flush()
        run_id = row.id
    tally = Tally(job)
    aborted: BaseException | None = None
    try:
        body(tally)
    except Exception as error:
        aborted = error
        log.exception(
            "job run broke off",
            extra={"job": job, "run_id": run_id, "error": summarise(error)},
        )
    duration = timedelta(seconds=time.monotonic() - started)
    status = tally.status(aborted is not None)
    detail = tally.detail(duration, aborted)
    with sessions.begin() as session:
        session.execute(
            update(JobRunRow)
            .where(JobRunRow.id == run_id)
            .values(
                finished_at=now + duration,
                status=status,
                processed=tally.processed,
                failures=tally.failures,
                detail=detail,
            )
        )
    log.log(
        logging.INFO if status == "ok" else logging.WARNING,
        "job run finished",
        extra=finished_fields(job, run_id, status, tally, detail),
    )
    if aborted is not None:
        raise JobFailedError(job, run_id, aborted) from aborted
    return JobResult(job, run_id, status, tally.processed, tally.failures, detail)


def finished_fields(
    job: str, run_id: int, status: Status, tally: Tally, detail: dict[str, Any]
) -> dict[str, Any]:
    """What the "job run finished" line says: the job, the outcome, its counts and duration, and
    when something failed, why (the run's abort reason and the first item error)."""
    fields: dict[str, Any] = {
        "job": job,
        "run_id": run_id,
        "status": status,
        "processed": tally.processed,
        "failures": tally.failures,
        "duration_ms": detail["duration_ms"],
        "counts": dict(sorted(tally.counts.items())),
    }
    if "aborted" in detail:
        fields["error"] = detail["aborted"]
    if tally.errors:
        fields["first_failure"] = f"{tally.errors[0]['item']}: {tally.errors[0]['error']}"
    return fields


def record_failed_run(
    sessions: sessionmaker[Session], job: str, at: datetime, error: BaseException
) -> None:
    """A ``failed`` JobRunRow for a run that broke before it could record itself."""
    detail = {"errors": [], "errors_not_shown": 0, "duration_ms": 0, "aborted": summarise(error)}
    with sessions.begin() as session:
        session.add(
            JobRunRow(
                job=job,
                started_at=at,
                finished_at=at,
                status="failed",
                processed=0,
                failures=0,
                detail=detail,
            )
        )


# ----------------------------------------------------------------------------- transactions


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def work_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction that commits at the end, in which SAVEPOINTs really nest.

    Python's sqlite3 driver (legacy transaction control, the default before Python 3.16) does
    not emit BEGIN before a SELECT or a SAVEPOINT, so a released savepoint would commit on its
    own and a rolled-back one would leave the transaction in a muddle. On SQLite the transaction
    therefore starts with an explicit ``BEGIN IMMEDIATE``: it takes the write lock up front
    (waiting up to the engine's busy timeout) instead of failing to upgrade a read snapshot
    later, and it is held for one batch (:data:`BATCH_SIZE` items) only.
    """
    with sessions() as session, session.begin():
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            raw = connection.connection.dbapi_connection
            if raw is not None and not getattr(raw, "in_transaction", True):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def each_in_savepoint(
    sessions: sessionmaker[Session],
    items: Sequence[T],
    tally: Tally,
    handle: Callable[[Session, T], Counter[str]],
    describe: Callable[[T], str],
    what: str,
) -> None:
    """Call ``handle(session, item)`` for every item, each in its own SAVEPOINT.

    ``handle`` returns what it did (``Counter({"opened": 1})``); the counts are kept only for
    items whose work is committed. An item that raises is rolled back alone, logged and counted
    as a failure; the rest of its batch is committed. When a batch cannot start or commit, its
    items that had succeeded, and those not yet tried, are counted as failures (nothing of that
    batch was stored).
    """
    for batch in batches(items):
        succeeded: list[T] = []
        attempted = 0
        effects: Counter[str] = Counter()
        try:
            with work_transaction(sessions) as session:
                for item in batch:
                    attempted += 1
                    try:
                        with session.begin_nested():
                            done = handle(session, item)
                    except Exception as error:
                        log.exception(
                            "job item failed",
                            extra={
                                "job": tally.job,
                                "item_type": what,
                                "item": describe(item),
                                "error": summarise(error),
                            },
                        )
                        tally.failed(describe(item), error)
                    else:
                        succeeded.append(item)
                        effects.update(done)
        except Exception as error:
            log.exception(
                "job batch could not be committed",
                extra={"job": tally.job, "item_type": what, "error": summarise(error)},
            )
            for item in [*succeeded, *batch[attempted:]]:
                tally.failed(describe(item), error)
            continue
        tally.processed += len(succeeded)
        tally.counts.update(effects)
