"""Committing a batch: :func:`store` runs :class:`~triage.ingest.batch.Batch` in one
transaction and commits it, retrying a clash with a concurrent worker once, then splitting a
batch that still fails into halves down to the one message that fails alone, which is
dead-lettered (:func:`dead_letter_alone`). A database that does not answer raises
:class:`DatabaseUnavailableError`: nothing of the failed part may be acknowledged.

The guarantee callers build on: :func:`store` returns only after the commit, so the caller acks
and sends receipts after it; a batch's history enters the worker's cache only after its commit.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.ingest.batch import Batch
from triage.ingest.counters import COUNTERS, Counters
from triage.ingest.history_cache import HistoryCache
from triage.ingest.outcomes import Channel, Incoming, Outcome, OutcomeStatus, Reason, parse_topic
from triage.ingest.plan_cache import PlanCache
from triage.ingest.wire import recover_id
from triage.storage import repositories

#: The pipeline's log lines keep the logger name operators filter on.
log = logging.getLogger("triage.ingest.pipeline")


class DatabaseUnavailableError(RuntimeError):
    """The database did not answer; nothing was committed, so nothing may be acknowledged."""


def store(
    sessions: sessionmaker[Session],
    messages: Sequence[Incoming],
    settings: Settings,
    now: datetime,
    *,
    plans: PlanCache | None = None,
    histories: HistoryCache | None = None,
    before_commit: Callable[[Sequence[Incoming]], None] | None = None,
    counters: Counters = COUNTERS,
) -> list[Outcome]:
    """:func:`process_batch` in one transaction, committed; the outcomes are counted.
    ``plans`` and ``histories`` are the worker's caches; a batch's history is kept in
    ``histories`` only once it has committed.

    A batch that fails to commit (a concurrent worker stored the same id or opened the same
    alert first; a deadlock) is retried once — the retry sees the other worker's rows and
    answers "duplicate". If it fails again, or fails with anything but a database error, it is
    split in halves, each committed on its own and split again while it fails, down to single
    messages: one that still fails alone is dead-lettered as ``internal_error`` (and if even
    its dead letter cannot be stored, it is logged with its bytes and answered rejected), so one
    poison message never blocks the rest and never comes back. Raises
    :class:`DatabaseUnavailableError`, and nothing of the failed part is acknowledged, when
    the database cannot be reached. ``before_commit`` is a test hook, called with the batch
    before each commit.
    """
    failure: BaseException | None = None
    for attempt in (1, 2):
        try:
            outcomes = _commit(sessions, messages, settings, now, plans, histories, before_commit)
        except DBAPIError as err:
            _raise_if_unreachable(sessions, err)
            log.warning("ingest batch failed", extra={"attempt": attempt, "error": _first(err)})
            counters.add("commit_retries")
            failure = err
        except Exception as err:  # a bug, or a message that breaks it: find it, keep the rest
            _raise_if_unreachable(sessions, err)
            log.exception("ingest batch failed", extra={"attempt": attempt})
            failure = err
            break
        else:
            counters.record(outcomes)
            return outcomes
    counters.add("split_batches")
    split = _Split(sessions, settings, now, plans, histories, before_commit, counters)
    outcomes = split.failed(messages, failure)
    counters.record(outcomes)
    return outcomes


@dataclass
class _Split:
    """Commits the parts of a batch that failed as a whole: halves, then their halves, down to
    the one message that fails alone (about 2·log2(n) commits per poison message)."""

    sessions: sessionmaker[Session]
    settings: Settings
    now: datetime
    plans: PlanCache | None
    histories: HistoryCache | None
    before_commit: Callable[[Sequence[Incoming]], None] | None
    counters: Counters

    def failed(self, messages: Sequence[Incoming], err: BaseException | None) -> list[Outcome]:
        """Outcomes for ``messages``, which failed to commit together (with ``err``)."""
        if len(messages) == 1:
            self.counters.add("failed_alone")
            return [dead_letter_alone(self.sessions, messages[0], self.now, err, self.counters)]
        middle = len(messages) // 2
        return self._part(messages[:middle]) + self._part(messages[middle:])

    def _part(self, messages: Sequence[Incoming]) -> list[Outcome]:
        try:
            return self._commit_losing_races(messages)
        except Exception as err:
            _raise_if_unreachable(self.sessions, err)
            if len(messages) == 1:
                log.exception(
                    "message failed alone",
                    extra={
                        "topic": messages[0].topic,
                        "message_id": recover_id(messages[0].payload),
                    },
                )
            return self.failed(messages, err)

    def _commit_losing_races(self, messages: Sequence[Incoming]) -> list[Outcome]:
        """Commit ``messages``; a unique-key clash means a concurrent worker stored the same id
        (or opened the same alert) first, so the part is tried once more, and the retry sees the
        other worker's rows and answers "duplicate" — never a dead letter for a stored reading."""
        args = (self.settings, self.now, self.plans, self.histories, self.before_commit)
        try:
            return _commit(self.sessions, messages, *args)
        except IntegrityError:
            return _commit(self.sessions, messages, *args)


def dead_letter_alone(
    sessions: sessionmaker[Session],
    message: Incoming,
    now: datetime,
    err: BaseException | None,
    counters: Counters = COUNTERS,
) -> Outcome:
    """Keep a message that could not be stored as an ``internal_error`` dead letter, and answer
    it rejected. If even the dead letter cannot be stored (while the database answers), the
    message is logged at ERROR with its bytes (base64, the first 4 KiB) and still answered
    rejected: acknowledging it is better than a worker that retries it for ever."""
    parsed = parse_topic(message.topic)
    gateway_id, channel = parsed if parsed else (None, None)
    message_id = recover_id(message.payload)
    cause = f"{type(err).__name__}: {_first(err)}" if err is not None else "a fault"
    reason = f"could not be stored: {cause}"
    context = {
        "reason_code": Reason.INTERNAL_ERROR.value,
        "topic": message.topic,
        "gateway_id": gateway_id,
        "message_id": message_id,
        "source": message.source,
    }
    log.error("message dead-lettered: it could not be stored", extra=context)
    try:
        with sessions.begin() as session:
            repositories.add_dead_letter(
                session,
                received_at=now,
                source=message.source,
                topic=message.topic,
                gateway_id=gateway_id,
                message_id=message_id,
                reason_code=Reason.INTERNAL_ERROR,
                reason=reason,
                payload=message.payload,
            )
    except Exception as again:
        _raise_if_unreachable(sessions, again)
        counters.add("dead_letter_failed")
        log.error(
            "message acknowledged without a dead letter: even its dead letter could not be "
            "stored; its bytes are in this line",
            extra={
                **context,
                "error": f"{type(again).__name__}: {_first(again)}",
                "payload_bytes": len(message.payload),
                "payload_base64": base64.b64encode(message.payload[:LOGGED_BYTES]).decode(),
            },
        )
    return Outcome(
        gateway_id=gateway_id,
        message_id=message_id,
        channel=channel,
        status=OutcomeStatus.REJECTED,
        reason_code=Reason.INTERNAL_ERROR,
        reason=reason,
        receipt=channel is not None and channel is not Channel.STATUS,
    )


#: How much of a message that could not even be dead-lettered goes into the log (base64).
LOGGED_BYTES = 4096


def _first(err: BaseException | None) -> str:
    """The first line of an error's text, bounded (SQLAlchemy appends the SQL and its
    parameters on later lines: those stay out of reasons and logs)."""
    text_ = str(getattr(err, "orig", None) or err) if err is not None else ""
    lines = text_.splitlines()
    return lines[0][:300] if lines else ""


def _commit(
    sessions: sessionmaker[Session],
    messages: Sequence[Incoming],
    settings: Settings,
    now: datetime,
    plans: PlanCache | None,
    histories: HistoryCache | None,
    before_commit: Callable[[Sequence[Incoming]], None] | None,
) -> list[Outcome]:
    with sessions.begin() as session:
        batch = Batch(session, settings, now, plans, histories)
        outcomes = batch.run(messages)
        if before_commit is not None:
            before_commit(messages)
    if histories is not None:
        histories.commit(batch.history_after)
    return outcomes


def _raise_if_unreachable(sessions: sessionmaker[Session], err: BaseException) -> None:
    """Raise :class:`DatabaseUnavailableError` when ``err`` came from a database that does not
    answer (nothing may be acknowledged then); return when the database answers, so the failure
    is the message's."""
    if isinstance(err, DatabaseUnavailableError):
        raise err
    invalidated = isinstance(err, DBAPIError) and err.connection_invalidated
    if invalidated or not database_answers(sessions):
        raise DatabaseUnavailableError(f"the database did not answer: {_first(err)}") from err


def database_answers(sessions: sessionmaker[Session]) -> bool:
    """Whether a fresh connection can run ``SELECT 1``."""
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
