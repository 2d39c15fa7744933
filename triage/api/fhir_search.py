"""The FHIR API's search parameters and paging (``/fhir/r4``; docs/fhir.md).

- ``date`` with the FHIR prefixes ``eq ne gt lt ge le sa eb`` (``ap`` is refused: 400), at any
  precision from a year to fractions of a second; a value without an offset is a time in the
  patient's own time zone (the zone their resources' times are written in). Repeated ``date``
  parameters must all hold (``date=ge2026-12-01&date=lt2026-12-08``).
- tokens (``code``, ``category``, ``status``): ``system|code``, ``|code`` (no system),
  ``system|`` or a bare ``code``; a comma means *or*, a repeated parameter *and*.
- ``_count``: 1–500 resources a page (default 50; more is answered with 500).
- paging: ``link.next`` carries ``_cursor``, an opaque keyset position (the time and id of the
  item where the page stopped, and how many of its resources were given), bound to the search
  it came from, so a page never repeats or skips a resource when data arrives while paging.

Unknown parameters are ignored (FHIR's lenient handling) and left out of the Bundle's ``self``
link, which lists only what was applied; with ``Prefer: handling=strict`` they are a 400.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.api.errors import ApiError
from triage.api.queries.fhir import Mark, Window

DEFAULT_COUNT = 50
MAX_COUNT = 500
#: Parameters every search and operation understands (besides its own).
COMMON = ("_count", "_cursor", "_format")
#: ``_format`` values answered (the API speaks JSON only).
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "fhir+json"})
MAX_CURSOR_LENGTH = 600


class FhirError(ApiError):
    """An error answered as an OperationOutcome whose issue has ``code`` (FHIR's issue-type)."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code


def invalid(detail: str) -> FhirError:
    return FhirError(400, "invalid", detail)


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Search:
    """A search's parameters as applied: ``values`` by name (in the order given, repeated ones
    kept), the names that were ignored, and the page size."""

    values: dict[str, list[str]]
    ignored: list[str]
    count: int
    cursor: str | None

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def applied(self) -> list[tuple[str, str]]:
        """The applied parameters (paging ones excluded), name by name in a fixed order."""
        return [
            (name, value)
            for name in sorted(self.values)
            if name not in ("_count", "_cursor")
            for value in self.values[name]
        ]

    def link(self, base: str, cursor: str | None = None) -> str:
        """The URL of this search (``self``), or of its page at ``cursor`` (``next``)."""
        items = [*self.applied(), ("_count", str(self.count))]
        if cursor is not None:
            items.append(("_cursor", cursor))
        elif self.cursor is not None:
            items.append(("_cursor", self.cursor))
        return f"{base}?{urlencode(items)}"

    def fingerprint(self, resource: str) -> str:
        """Binds a cursor to the search it pages (the resource type and the applied filters;
        not the page size, which a client may change between pages)."""
        raw = json.dumps([resource, self.applied()], separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def strict(prefer: str | None) -> bool:
    """Whether ``Prefer`` asks for strict handling (``handling=strict``)."""
    if not prefer:
        return False
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "handling" and value.strip().strip('"').lower() == "strict":
            return True
    return False


def parse_search(
    query: Iterable[tuple[str, str]], known: Sequence[str], *, strict_handling: bool
) -> Search:
    """The parameters of ``query`` that ``known`` (plus :data:`COMMON`) names; others are
    ignored, or a 400 when ``strict_handling``. 400 for a bad ``_count`` or ``_format``."""
    names = set(known) | set(COMMON)
    values: dict[str, list[str]] = {}
    ignored: list[str] = []
    for name, value in query:
        if name in names:
            values.setdefault(name, []).append(value)
        elif name not in ignored:
            ignored.append(name)
    if ignored and strict_handling:
        raise FhirError(
            400,
            "not-supported",
            f"unknown search parameter(s) {', '.join(sorted(ignored))} (Prefer: handling=strict); "
            f"this search takes {', '.join(sorted(names))}",
        )
    for name in ("_count", "_cursor", "_format"):
        if len(values.get(name, [])) > 1:
            raise invalid(f"{name} may be given once")
    count = _count(values.get("_count", [None])[0])
    fmt = values.get("_format", [None])[0]
    if fmt is not None and fmt.strip().lower() not in JSON_FORMATS:
        raise FhirError(406, "not-supported", f"_format {fmt!r}: this server answers JSON only")
    return Search(values, ignored, count, values.get("_cursor", [None])[0])


def _count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    if not re.fullmatch(r"\d{1,9}", value.strip()) or int(value) < 1:
        raise invalid(f"_count must be a whole number from 1 (up to {MAX_COUNT}); got {value!r}")
    return min(int(value), MAX_COUNT)


_PATIENT_REFERENCE = re.compile(r"(?:.*/)?(?:Patient/)?([A-Za-z0-9\-.]{1,64})")


def patient_parameter(search: Search, resource: str) -> str:
    """The one patient a search is for (``patient=<id>`` or ``patient=Patient/<id>``); 400
    without one: every search is for one patient."""
    given = search.values.get("patient", [])
    if not given:
        raise invalid(
            f"{resource} searches are for one patient: give patient=<id> "
            "(searches across patients are not offered)"
        )
    if len(given) > 1 or "," in given[0]:
        raise invalid("give one patient per search")
    match = _PATIENT_REFERENCE.fullmatch(given[0].strip())
    if match is None or (given[0].count("/") and "Patient/" not in given[0]):
        raise invalid(f"patient={given[0]!r} is not a patient's id or Patient/<id> reference")
    return match.group(1)


# ----------------------------------------------------------------------------- dates

_DATE = re.compile(
    r"(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "Europe/Oslo")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Oslo")


def date_window(value: str, zone: tzinfo) -> Window:
    """The time condition of one ``date`` value: the value is a range (its precision: a year,
    a month, a day, a minute, a second …) and the prefix says how a time relates to it."""
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise invalid(
            f"date={value!r} is not a FHIR date: [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][zone]]]] "
            "with prefix eq, ne, gt, lt, ge, le, sa or eb"
        )
    prefix = match["prefix"] or "eq"
    if prefix == "ap":
        raise FhirError(400, "not-supported", "date prefix 'ap' (approximately) is not supported")
    try:
        start, end = _range(match, zone)
    except (ValueError, OverflowError) as err:
        raise invalid(f"date={value!r} is not a real time ({err})") from err
    match prefix:
        case "eq":
            return Window(start=start, end=end)
        case "ne":
            return Window(start=start, end=end, outside=True)
        case "gt" | "sa":
            return Window(start=end)
        case "lt" | "eb":
            return Window(end=start)
        case "ge":
            return Window(start=start)
        case _:  # le
            return Window(end=end)


def _range(match: re.Match[str], zone: tzinfo) -> tuple[datetime, datetime]:
    """The value's range as wall times (built in UTC, then put in the value's own offset or
    the patient's zone)."""
    year = int(match["year"])
    if match["month"] is None:
        start = datetime(year, 1, 1, tzinfo=UTC)
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
    elif match["day"] is None:
        month = int(match["month"])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    elif match["hour"] is None:
        start = datetime(year, int(match["month"]), int(match["day"]), tzinfo=UTC)
        end = start + timedelta(days=1)
    else:
        fraction = match["fraction"] or ""
        start = datetime(
            year,
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int((fraction + "000000")[:6]),
            tzinfo=UTC,
        )
        if match["second"] is None:
            step = timedelta(minutes=1)
        elif not fraction:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
        end = start + step
        if match["zone"] is not None:
            offset = _offset(match["zone"])
            return (start.replace(tzinfo=offset), end.replace(tzinfo=offset))
    # a date without a time (or a time without an offset): in the patient's zone
    return _local(start, zone), _local(end, zone)


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(f"offset {text} is out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(delta if text[0] == "+" else -delta)


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=zone).astimezone(UTC)


def date_windows(search: Search, zone: tzinfo, names: Sequence[str] = ("date",)) -> list[Window]:
    """The time conditions of the date parameters ``names`` (all must hold)."""
    windows: list[Window] = []
    for value in (v for name in names for v in search.values.get(name, [])):
        if len(_split(value, ",")) > 1:
            raise invalid("date takes one value per parameter: repeat date= for a range")
        windows.append(date_window(value, zone))
    return windows


# ----------------------------------------------------------------------------- tokens


def _split(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` where it is not escaped with a backslash."""
    parts = re.split(rf"(?<!\\){re.escape(separator)}", text)
    return [part.replace(f"\\{separator}", separator) for part in parts]


@dataclass(frozen=True, slots=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code in the system

    def matches(self, coding: Mapping[str, Any]) -> bool:
        if self.system is not None and (coding.get("system") or "") != self.system:
            return False
        return self.code is None or coding.get("code") == self.code


def tokens(value: str) -> list[Token]:
    """One token parameter's value: alternatives (comma) of ``system|code`` forms."""
    found: list[Token] = []
    for part in _split(value, ","):
        pieces = _split(part, "|")
        if len(pieces) > 2 or not part:
            raise invalid(f"{part!r} is not a token: system|code, |code, system| or code")
        if len(pieces) == 1:
            found.append(Token(None, pieces[0]))
        else:
            system, code = pieces
            if not system and not code:
                raise invalid("a token needs a system or a code")
            found.append(Token(system, code or None))
    return found


def token_filter(search: Search, name: str) -> list[list[Token]]:
    """Every ``name`` parameter's alternatives (all must match, one of each)."""
    return [tokens(value) for value in search.values.get(name, [])]


def codeable_matches(concepts: Sequence[Mapping[str, Any]], wanted: list[list[Token]]) -> bool:
    """Whether the codings of ``concepts`` satisfy each parameter (one alternative each)."""
    codings = [c for concept in concepts for c in concept.get("coding", [])]
    return all(any(t.matches(c) for t in alternatives for c in codings) for alternatives in wanted)


def status_matches(status: str | None, wanted: list[list[Token]]) -> bool:
    return all(any(t.code == status for t in alternatives) for alternatives in wanted)


# ----------------------------------------------------------------------------- cursors


@dataclass(frozen=True)
class Position:
    """A page's start: a section of the operation (``"obs"``, …), the keyset :class:`Mark` in
    it (None: its start), and the search it belongs to."""

    section: str
    mark: Mark | None = None
    offset: int = 0
    search: str = field(default="")


def encode_cursor(position: Position) -> str:
    raw: dict[str, Any] = {"s": position.section, "f": position.search}
    if position.mark is not None:
        mark = position.mark
        raw |= {"t": mark.at.isoformat(), "k": mark.source, "i": mark.id, "n": mark.given}
    if position.offset:
        raw["o"] = position.offset
    text = json.dumps(raw, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, sections: Sequence[str]) -> Position:
    """The position ``cursor`` holds; 400 unless it is a ``link.next`` cursor of this very
    search (same resource, same filters)."""
    bad = invalid("_cursor: follow link.next of the previous page as it is (same search)")
    if len(cursor) > MAX_CURSOR_LENGTH or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise bad
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as err:
        raise bad from err
    if not isinstance(raw, dict) or raw.get("f") != fingerprint or raw.get("s") not in sections:
        raise bad
    offset = raw.get("o", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 10_000:
        raise bad
    if "t" not in raw:
        return Position(raw["s"], None, offset, fingerprint)
    at, source, id_, given = raw.get("t"), raw.get("k"), raw.get("i"), raw.get("n")
    if not (
        isinstance(at, str)
        and source in ("r", "q", "a")
        and isinstance(id_, str)
        and 0 < len(id_) <= 64
        and isinstance(given, int)
        and not isinstance(given, bool)
        and 0 <= given < 100
    ):
        raise bad
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as err:
        raise bad from err
    if moment.tzinfo is None:
        raise bad
    return Position(raw["s"], Mark(moment, source, id_, given), offset, fingerprint)


# ----------------------------------------------------------------------------- paging


@dataclass(frozen=True, slots=True)
class Item:
    """One row of a stream and the resources made from it (already filtered)."""

    source: str
    at: datetime
    id: str
    make: Callable[[], list[dict[str, Any]]]


def merged(*streams: Iterator[Item]) -> Iterator[Item]:
    """The items of newest-first streams, newest first (at one time: by source, then id, both
    descending), as the streams' keyset order has them."""
    return heapq.merge(*streams, key=lambda item: (item.at, item.source, item.id), reverse=True)


def take(
    items: Iterable[Item], mark: Mark | None, count: int
) -> tuple[list[dict[str, Any]], Mark | None]:
    """Up to ``count`` resources from ``items`` starting at ``mark`` (whose first ``given``
    resources were on an earlier page), and the mark of the next resource if there is one."""
    page: list[dict[str, Any]] = []
    for item in items:
        resources = item.make()
        skip = 0
        if mark is not None and (item.source, item.id, item.at) == (mark.source, mark.id, mark.at):
            skip = mark.given
        for index in range(skip, len(resources)):
            if len(page) == count:
                return page, Mark(item.at, item.source, item.id, index)
            page.append(resources[index])
    return page, None
