"""The gateway's on-disk outbox: every measurement is written here, durably, before anything is
published, and leaves only when a receipt from the service names its id.

One SQLite file (WAL, ``synchronous=FULL``: a committed row survives a power cut), one row per
message in the order it was measured. A message is ``pending`` until a receipt says
``stored`` or ``duplicate`` (then it is deleted) or ``rejected`` (then it is kept, visible, with
the reason — the patient's tablet and ``dho gateway status`` show it). A published message
without a receipt is published again after a back-off that doubles per attempt (5 s … 15 min,
with jitter so a hub's many messages do not all retry at once); after a reconnect the publisher
republishes every pending message once, due or not (:meth:`Outbox.pending_after`).

Channels: ``readings``, ``reports`` and, from the patient's tablet, ``calls``
(``dho.call-request/1``) and ``message-reads`` (``dho.message-read/1``); each is published on
the topic of its name. For
the tablet (docs/tablet.md) a ``results`` row per message keeps what it was (a reading kind, a
questionnaire id …) and when, and what its receipt said — status, colour, advice, flags — for
60 days after the message leaves the outbox: the tablet shows a colour only from there.

The outbox is bounded (``max_messages``): a gateway offline for weeks must not fill the tablet.
From ``warn_fraction`` of the bound on, :meth:`Outbox.warning` says so, in bokmål and English,
long before :class:`OutboxFullError` refuses a new message. Times are passed in (``now``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

#: Back-off before a published message without a receipt is published again.
FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=15)
#: Default bound: ~4 readings a day for 60 years, ~30 MB; a clear warning from 80 % on.
MAX_MESSAGES = 100_000
WARN_FRACTION = 0.8

_OUTBOX_TABLE = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('readings', 'reports', 'calls', 'message-reads')),
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    reason_code TEXT,
    reason TEXT
)
"""
_SCHEMA = (
    _OUTBOX_TABLE
    + """;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at, seq);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT,
    colour TEXT,
    advice TEXT,
    flags TEXT,
    receipt_at TEXT
);
CREATE INDEX IF NOT EXISTS results_kind ON results (kind, at);
"""
)

#: The outbox table of gateways before the tablet (issue 15): two channels only. An outbox file
#: made then is rebuilt once with :data:`_SCHEMA`'s wider CHECK (its rows kept).
_OLD_CHANNEL_CHECK = "CHECK (channel IN ('readings', 'reports'))"
#: How long the tablet's results (what each receipt said) are kept.
RESULTS_KEPT = timedelta(days=60)


class Channel(StrEnum):
    """What a message is; its value is the last part of the MQTT topic it is published on."""

    READINGS = "readings"
    REPORTS = "reports"
    CALLS = "calls"  # dho.call-request/1 ("ring meg" on the tablet)
    MESSAGE_READS = "message-reads"  # dho.message-read/1


@dataclass(frozen=True, slots=True)
class ReceiptDetail:
    """What a stored/duplicate receipt item says beyond its status (the tablet shows it)."""

    colour: str | None = None
    advice: dict[str, str] | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    """What the tablet knows of one message it kept: what it was (``kind``: a reading kind, a
    questionnaire id, ``call_request`` or ``message_read``) and when (``at``), and — once a
    receipt named it — the receipt's status, colour, advice (``{"nb": …, "en": …}``) and flags.
    ``status`` None: no receipt yet (the message is in the outbox)."""

    id: str
    channel: Channel
    kind: str
    at: datetime
    status: str | None
    colour: str | None
    advice: dict[str, str] | None
    flags: tuple[str, ...]
    receipt_at: datetime | None


class OutboxFullError(Exception):
    """The outbox holds ``max_messages``: nothing more is accepted until receipts arrive."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    seq: int
    id: str
    channel: Channel
    payload: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class Rejected:
    id: str
    channel: Channel
    reason_code: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    """What one receipt item did to the outbox."""

    removed: int = 0
    rejected: int = 0
    unknown: int = 0  # ids we no longer hold (an earlier receipt already removed them)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait after the ``attempts``-th publish without a receipt: 5 s, 10 s, 20 s … 15 min, and
    up to a quarter more at random."""
    base: timedelta = min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)
    jitter: float = (rng or random).random() * 0.25
    return base * (1 + jitter)


class Outbox:
    """The outbox in ``path`` (created if missing). Thread-safe: the BLE side adds while the
    publisher drains."""

    def __init__(
        self,
        path: Path,
        *,
        max_messages: int = MAX_MESSAGES,
        warn_fraction: float = WARN_FRACTION,
        rng: random.Random | None = None,
    ) -> None:
        self.path = path
        self.max_messages = max_messages
        self.warn_fraction = warn_fraction
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not a secret
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit
        self._widen_channels()
        self._db.executescript(_SCHEMA)

    def _widen_channels(self) -> None:
        """Rebuild an outbox table made before the tablet's channels existed (keeping its rows,
        sequence numbers included), so calls and message reads can be kept too."""
        row = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
        ).fetchone()
        if row is None or _OLD_CHANNEL_CHECK not in row[0]:
            return
        columns = (
            "seq, id, channel, payload, created_at, state, attempts, next_attempt_at, "
            "last_attempt_at, reason_code, reason"
        )
        with self._db:  # one transaction: the old rows move or nothing changes
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ALTER TABLE outbox RENAME TO outbox_before_tablet")
            self._db.execute("DROP INDEX IF EXISTS outbox_due")
            self._db.execute(_OUTBOX_TABLE)
            self._db.execute(
                f"INSERT INTO outbox ({columns}) SELECT {columns} FROM outbox_before_tablet"  # noqa: S608
            )
            self._db.execute("DROP TABLE outbox_before_tablet")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- the BLE side

    def add(
        self,
        channel: Channel,
        message_id: str,
        payload: bytes,
        now: datetime,
        *,
        kind: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Keep a message durably (committed and fsynced when this returns). False when the id
        is already here (a device sent the same stored record again); raises
        :class:`OutboxFullError` when the outbox is full. What is kept is checked against the
        contract before (``gateway.contract``, in the recorder).

        With ``kind`` (a reading kind, a questionnaire id …) the tablet's result row is kept
        too, in the same transaction: what it was and when (``at``, default ``now``), without a
        receipt until one names it (:meth:`results`)."""
        with self._lock, self._db:
            if self._count() >= self.max_messages:
                raise OutboxFullError(
                    f"the outbox holds {self.max_messages} messages that the service has not "
                    "confirmed: check the network and the service"
                )
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO outbox (id, channel, payload, created_at, next_attempt_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message_id, channel.value, payload, _iso(now), _iso(now)),
                )
            except sqlite3.IntegrityError:
                return False
            if kind is not None:
                self._db.execute(
                    "INSERT OR IGNORE INTO results (id, channel, kind, at, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message_id, channel.value, kind, _iso(at or now), _iso(now)),
                )
                self._db.execute(
                    "DELETE FROM results WHERE created_at < ?", (_iso(now - RESULTS_KEPT),)
                )
            return True

    # --- the publisher

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Pending messages to publish now (never published, or past their back-off), oldest
        first."""
        return self._pending("next_attempt_at <= ?", _iso(now), limit)

    def pending_after(self, seq: int, limit: int = 100) -> list[OutboxMessage]:
        """Pending messages measured after the one numbered ``seq``, due or not, oldest first
        (the publisher republishes them all after a reconnect; ``seq=0`` starts at the oldest)."""
        return self._pending("seq > ?", seq, limit)

    def _pending(self, condition: str, value: str | int, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` pending messages meeting ``condition`` (one ``?``), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, channel, payload, attempts FROM outbox "  # noqa: S608 - our own SQL
                f"WHERE state = 'pending' AND {condition} ORDER BY seq LIMIT ?",
                (value, limit),
            ).fetchall()
        return [OutboxMessage(r[0], r[1], Channel(r[2]), bytes(r[3]), r[4]) for r in rows]

    def published(self, ids: Iterable[str], now: datetime) -> None:
        """Record a publish of ``ids``: the next one comes after the back-off unless a receipt
        arrives first."""
        with self._lock, self._db:
            for message_id in ids:
                row = self._db.execute(
                    "SELECT attempts FROM outbox WHERE id = ?", (message_id,)
                ).fetchone()
                if row is None:
                    continue
                attempts = row[0] + 1
                self._db.execute(
                    "UPDATE outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ? "
                    "WHERE id = ?",
                    (attempts, _iso(now), _iso(now + backoff(attempts, self._rng)), message_id),
                )

    def receipt(
        self,
        items: Iterable[tuple[str, str, str | None, str | None]],
        now: datetime,
        *,
        details: Mapping[str, ReceiptDetail] | None = None,
    ) -> ReceiptOutcome:
        """Apply a receipt's items ``(id, status, reason_code, reason)``: ``stored`` and
        ``duplicate`` remove the message, ``rejected`` keeps it as rejected with the reason.
        The tablet's result row of each id (if it has one) keeps the status and, from
        ``details``, the colour, advice and flags the receipt gave it."""
        removed = rejected = unknown = 0
        details = details or {}
        with self._lock, self._db:
            for message_id, status, reason_code, reason in items:
                detail = details.get(message_id, ReceiptDetail())
                self._db.execute(
                    "UPDATE results SET status = ?, colour = ?, advice = ?, flags = ?, "
                    "receipt_at = ? WHERE id = ? AND (status IS NULL OR status != 'stored' "
                    "OR ? = 'stored')",
                    (
                        status,
                        detail.colour,
                        json.dumps(detail.advice) if detail.advice is not None else None,
                        json.dumps(list(detail.flags)),
                        _iso(now),
                        message_id,
                        status,
                    ),
                )
                if status in ("stored", "duplicate"):
                    cursor = self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
                    removed += cursor.rowcount
                    unknown += 1 - cursor.rowcount
                elif status == "rejected":
                    cursor = self._db.execute(
                        "UPDATE outbox SET state = 'rejected', reason_code = ?, reason = ? "
                        "WHERE id = ?",
                        (reason_code, reason, message_id),
                    )
                    rejected += cursor.rowcount
                    unknown += 1 - cursor.rowcount
            self._db.execute(
                "INSERT INTO outbox_meta (key, value) VALUES ('last_receipt_at', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_iso(now),),
            )
        return ReceiptOutcome(removed, rejected, unknown)

    def refuse(self, message_id: str, reason_code: str, reason: str) -> bool:
        """Mark a pending message rejected here, as a receipt would (one the service would
        refuse, kept before the gateway checked the contract): it is not published again, and
        ``dho gateway status`` shows it with the reason. Whether it was pending."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE outbox SET state = 'rejected', reason_code = ?, reason = ? "
                "WHERE id = ? AND state = 'pending'",
                (reason_code, reason, message_id),
            )
            return bool(cursor.rowcount)

    # --- the tablet

    def results(self, since: datetime) -> list[Result]:
        """The tablet's result rows of messages kept at or after ``since`` (by ``at``), oldest
        first: with the receipt's status, colour, advice and flags once one came."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, channel, kind, at, status, colour, advice, flags, receipt_at "
                "FROM results WHERE at >= ? ORDER BY at, created_at",
                (_iso(since),),
            ).fetchall()
        return [
            Result(
                id=r[0],
                channel=Channel(r[1]),
                kind=r[2],
                at=_parse(r[3]),
                status=r[4],
                colour=r[5],
                advice=json.loads(r[6]) if r[6] else None,
                flags=tuple(json.loads(r[7])) if r[7] else (),
                receipt_at=_parse(r[8]) if r[8] else None,
            )
            for r in rows
        ]

    # --- status

    def depth(self) -> int:
        """Messages waiting for a receipt (rejected ones not counted)."""
        with self._lock:
            return int(
                self._db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[
                    0
                ]
            )

    def rejected(self) -> list[Rejected]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, channel, reason_code, reason FROM outbox WHERE state = 'rejected' "
                "ORDER BY seq"
            ).fetchall()
        return [Rejected(r[0], Channel(r[1]), r[2], r[3]) for r in rows]

    def forget_rejected(self, ids: Iterable[str] | None = None) -> int:
        """Delete rejected messages (all, or those of ``ids``) once an operator has read them —
        the service keeps each one as a dead letter with its reason. Pending messages are never
        touched. Returns how many were deleted."""
        with self._lock, self._db:
            if ids is None:
                cursor = self._db.execute("DELETE FROM outbox WHERE state = 'rejected'")
                return int(cursor.rowcount)
            deleted = 0
            for message_id in ids:
                cursor = self._db.execute(
                    "DELETE FROM outbox WHERE state = 'rejected' AND id = ?", (message_id,)
                )
                deleted += cursor.rowcount
            return deleted

    def last_receipt_at(self) -> datetime | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM outbox_meta WHERE key = 'last_receipt_at'"
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def warning(self) -> tuple[str, str] | None:
        """(bokmål, English) when the outbox is filling up, else None."""
        with self._lock:
            held = self._count()
        if held < self.warn_fraction * self.max_messages:
            return None
        share = round(100 * held / self.max_messages)
        return (
            f"Nettbrettet har {held} målinger som ikke er bekreftet mottatt ({share} % av "
            "plassen). Sjekk internettforbindelsen, eller ring oppfølgingstjenesten.",
            f"The tablet holds {held} readings not yet confirmed received ({share} % of its "
            "space). Check the internet connection, or call the follow-up centre.",
        )

    def _count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _iso(at: datetime) -> str:
    """A sortable UTC text form (SQLite compares the text)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
