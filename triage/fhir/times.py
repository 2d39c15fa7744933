"""Dates and times as FHIR writes them: ``dateTime`` with the offset of the patient's zone
(``2026-12-07T08:15:00+01:00``), ``date``, and ``instant``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (cached: the export formats millions of times)."""
    return ZoneInfo(name)


def fhir_datetime(at: datetime, zone_name: str) -> str:
    """``at`` (aware) as a FHIR dateTime in ``zone_name``, with its offset there; seconds
    always, fractions only when ``at`` has them."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: DHO stores aware times only")
    return at.astimezone(zone(zone_name)).isoformat()


def fhir_instant(at: datetime) -> str:
    """``at`` as a FHIR instant in UTC (``meta.lastUpdated``, ``Bundle.timestamp``)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: DHO stores aware times only")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fhir_date(day: date) -> str:
    return day.isoformat()


def nb_datetime(at: datetime, zone_name: str) -> str:
    """``at`` as bokmål writes a time in narratives: ``07.12.2026 kl. 09:02`` (local)."""
    return at.astimezone(zone(zone_name)).strftime("%d.%m.%Y kl. %H:%M")
