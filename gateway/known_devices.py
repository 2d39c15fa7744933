"""The devices this hub was paired with, and what it remembers about each.

One small SQLite file beside the outbox: address, profile, advertised name, when it was paired,
last seen, the last glucose record sequence number received (so the next download asks only for
newer records), battery level when the device reports one, and the last error. Times are
passed in.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS known_devices (
    address TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    name TEXT,
    paired_at TEXT NOT NULL,
    last_seen_at TEXT,
    last_sequence_number INTEGER,
    battery INTEGER,
    last_error TEXT
);
"""

_COLUMNS = (
    "address, profile, name, paired_at, last_seen_at, last_sequence_number, battery, last_error"
)
_SELECT_ALL = f"SELECT {_COLUMNS} FROM known_devices ORDER BY paired_at, address"  # noqa: S608
_SELECT_ONE = f"SELECT {_COLUMNS} FROM known_devices WHERE address = ?"  # noqa: S608


@dataclass(frozen=True, slots=True)
class KnownDevice:
    address: str
    profile: str
    name: str | None
    paired_at: datetime
    last_seen_at: datetime | None = None
    last_sequence_number: int | None = None
    battery: int | None = None
    last_error: str | None = None


class KnownDevices:
    """The paired devices in ``path`` (created if missing); thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def pair(self, address: str, profile: str, name: str | None, now: datetime) -> None:
        """Remember a device (pairing again keeps what was learnt about it)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO known_devices (address, profile, name, paired_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET profile = excluded.profile, "
                "name = excluded.name",
                (address.upper(), profile, name, _iso(now)),
            )

    def forget(self, address: str) -> bool:
        with self._lock:
            return (
                self._db.execute(
                    "DELETE FROM known_devices WHERE address = ?", (address.upper(),)
                ).rowcount
                == 1
            )

    def all(self) -> list[KnownDevice]:
        return self._select(_SELECT_ALL, ())

    def get(self, address: str) -> KnownDevice | None:
        found = self._select(_SELECT_ONE, (address.upper(),))
        return found[0] if found else None

    def _select(self, query: str, parameters: tuple[str, ...]) -> list[KnownDevice]:
        with self._lock:
            rows = self._db.execute(query, parameters).fetchall()
        return [
            KnownDevice(
                address=r[0],
                profile=r[1],
                name=r[2],
                paired_at=_parse(r[3]),
                last_seen_at=_parse(r[4]) if r[4] else None,
                last_sequence_number=r[5],
                battery=r[6],
                last_error=r[7],
            )
            for r in rows
        ]

    def seen(self, address: str, now: datetime, *, error: str | None = None) -> None:
        """The device was reached (``error`` None clears the last error) or failed with
        ``error``."""
        with self._lock:
            if error is None:
                self._db.execute(
                    "UPDATE known_devices SET last_seen_at = ?, last_error = NULL "
                    "WHERE address = ?",
                    (_iso(now), address.upper()),
                )
            else:
                self._db.execute(
                    "UPDATE known_devices SET last_error = ? WHERE address = ?",
                    (error, address.upper()),
                )

    def advance_sequence(self, address: str, sequence_number: int) -> None:
        """Record that glucose records up to ``sequence_number`` are in the outbox (never moves
        back: records arrive in order, and a repeated one must not rewind the download)."""
        with self._lock:
            self._db.execute(
                "UPDATE known_devices SET last_sequence_number = "
                "max(coalesce(last_sequence_number, -1), ?) WHERE address = ?",
                (sequence_number, address.upper()),
            )

    def restart_download(self, address: str) -> None:
        """Ask the device for all its records next time (after a meter was reset or swapped;
        records the service already has are answered as duplicates)."""
        with self._lock:
            self._db.execute(
                "UPDATE known_devices SET last_sequence_number = NULL WHERE address = ?",
                (address.upper(),),
            )

    def set_battery(self, address: str, level: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE known_devices SET battery = ? WHERE address = ?", (level, address.upper())
            )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
