"""The GP's digest of non-acute deviations: which period is due, what counts, and the words.

A GP who chose a digest (``UserRow.digest_frequency``) gets one e-mail per period about their
own patients (``PatientRow.gp_user_id``):

* **daily**: due at 07:00 Europe/Oslo, covering the previous local day (midnight to midnight);
* **weekly**: due Monday 07:00 Europe/Oslo, covering the previous Monday–Sunday.

Periods are local days, so a week with a daylight-saving change has 167 or 169 hours; every
instant here is aware (UTC out, any zone in).

**What counts** (:func:`deviation_kind`) among the clinical alerts *opened* in the period:
yellow alerts, missing-measurement alerts, and red alerts the follow-up centre has already
handled (acknowledged or resolved when the digest is made). A red alert nobody has handled yet
is acute: it is the centre's work (and its escalation chain's), never the GP's digest — it is
left out, also later. Technical alerts (lost contact, undelivered notifications) are about
equipment and are not counted.

**What is sent** (:func:`digest_message`) carries counts only: no name, no value, no rule, and a
link to the GP overview in the dashboard. Zero deviations: no message at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour
from triage.domain.findings import RuleType
from triage.domain.notification import DigestFrequency

#: The zone of the digest's days and of its 07:00 (the GP's working day).
DIGEST_ZONE = "Europe/Oslo"
#: When a period's digest is due, local time: before the GP's first patient of the day.
DUE_TIME = time(7, 0)

_MONTHS_NB = (
    "januar", "februar", "mars", "april", "mai", "juni",
    "juli", "august", "september", "oktober", "november", "desember",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS_NB = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DigestPeriod:
    """The local days one digest covers, as instants: ``start`` ≤ t < ``end`` (aware UTC)."""

    frequency: DigestFrequency
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    due_at: datetime

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def due_period(
    frequency: DigestFrequency, now: datetime, zone: str = DIGEST_ZONE
) -> DigestPeriod | None:
    """The latest period whose digest is due at ``now`` (aware); None for no digest."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"the digest needs an aware 'now', not {now.isoformat()}")
    if frequency is DigestFrequency.NONE:
        return None
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    if frequency is DigestFrequency.DAILY:
        send_day = today if now >= _local(today, DUE_TIME, tz) else today - timedelta(days=1)
        first_day = send_day - timedelta(days=1)
    else:
        monday = today - timedelta(days=today.weekday())
        send_day = monday if now >= _local(monday, DUE_TIME, tz) else monday - timedelta(days=7)
        first_day = send_day - timedelta(days=7)
    return DigestPeriod(
        frequency=frequency,
        first_day=first_day,
        last_day=send_day - timedelta(days=1),
        start=_local(first_day, time(0, 0), tz),
        end=_local(send_day, time(0, 0), tz),
        due_at=_local(send_day, DUE_TIME, tz),
    )


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    # midnight and 07:00 exist exactly once in Europe/Oslo (its changes are at 02:00/03:00)
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def digest_key(user_id: str, period: DigestPeriod) -> str:
    """The outbox's dedupe key: one digest per GP, frequency and period, ever."""
    return f"digest:{user_id}:{period.frequency.value}:{period.start.isoformat()}"


# ----------------------------------------------------------------------------- counts


class DeviationKind(StrEnum):
    YELLOW = "yellow"  # a yellow clinical alert
    MISSING = "missing"  # a measurement or report that did not come
    RED_HANDLED = "red_handled"  # red, and already handled by the follow-up centre


@dataclass(frozen=True)
class AlertFact:
    """What the digest knows of one alert: whose patient, what kind, when, and handled or not."""

    patient_id: str
    gp_user_id: str | None
    category: AlertCategory
    rule_type: str
    colour: Colour
    state: AlertState
    opened_at: datetime


@dataclass(frozen=True)
class DigestCounts:
    yellow: int = 0
    missing: int = 0
    red_handled: int = 0
    patients: int = 0

    @property
    def total(self) -> int:
        return self.yellow + self.missing + self.red_handled


def deviation_kind(fact: AlertFact) -> DeviationKind | None:
    """The non-acute deviation ``fact`` is, or None (technical, or red and not yet handled)."""
    if fact.category is not AlertCategory.CLINICAL:
        return None
    if fact.colour is Colour.RED:
        return DeviationKind.RED_HANDLED if fact.state is not AlertState.OPEN else None
    if fact.rule_type == RuleType.MISSING.value:
        return DeviationKind.MISSING
    return DeviationKind.YELLOW if fact.colour is Colour.YELLOW else None


def count_deviations(
    facts: Iterable[AlertFact], gp_user_id: str, period: DigestPeriod
) -> DigestCounts:
    """The GP's non-acute deviations opened in ``period``, over their own patients only."""
    kinds: dict[DeviationKind, int] = dict.fromkeys(DeviationKind, 0)
    patients: set[str] = set()
    for fact in facts:
        if fact.gp_user_id != gp_user_id or not period.contains(fact.opened_at):
            continue
        kind = deviation_kind(fact)
        if kind is None:
            continue
        kinds[kind] += 1
        patients.add(fact.patient_id)
    return DigestCounts(
        yellow=kinds[DeviationKind.YELLOW],
        missing=kinds[DeviationKind.MISSING],
        red_handled=kinds[DeviationKind.RED_HANDLED],
        patients=len(patients),
    )


# ----------------------------------------------------------------------------- words


def digest_message(
    counts: DigestCounts,
    period: DigestPeriod,
    now: datetime,
    dashboard_url: str,
    zone: str = DIGEST_ZONE,
) -> tuple[str, str]:
    """(title, body): bokmål first, then English; counts and a link, nothing else."""
    link = dashboard_url.rstrip("/") + "/"
    when_nb, when_en = period_words(period, now, zone)
    weekly = period.frequency is DigestFrequency.WEEKLY
    if weekly:
        week = period.first_day.isocalendar().week
        title = f"DHO: ukentlig oppsummering, uke {week} / weekly summary, week {week}"
    else:
        title = "DHO: daglig oppsummering / daily summary"
    plural = "" if counts.total == 1 else "s"
    body = "\n".join(
        [
            f"DHO: {counts.total} avvik fra plan hos {counts.patients} av dine pasienter "
            f"{when_nb} — åpne DHO: {link}",
            f"Gule varsler: {counts.yellow} · manglende målinger: {counts.missing} · "
            f"røde varsler håndtert av oppfølgingstjenesten: {counts.red_handled}.",
            "Navn og måleverdier sendes ikke på e-post; du ser dem når du logger inn. "
            f"Du får denne e-posten fordi du har valgt {'ukentlig' if weekly else 'daglig'} "
            "oppsummering i DHO.",
            "",
            f"DHO: {counts.total} deviation{plural} from plan in {counts.patients} of your "
            f"patients {when_en} — open DHO: {link}",
            f"Yellow alerts: {counts.yellow} · missing measurements: {counts.missing} · "
            f"red alerts handled by the follow-up centre: {counts.red_handled}.",
            "Names and values are not sent by e-mail; you see them when you log in. "
            f"You get this e-mail because you chose a {'weekly' if weekly else 'daily'} "
            "summary in DHO.",
        ]
    )
    return title, body


def period_words(period: DigestPeriod, now: datetime, zone: str = DIGEST_ZONE) -> tuple[str, str]:
    """The period in words (bokmål, English): "i går", "fredag 4. desember",
    "uke 49 (30. november–6. desember)"."""
    first, last = period.first_day, period.last_day
    if period.frequency is not DigestFrequency.WEEKLY:
        if now.astimezone(ZoneInfo(zone)).date() == last + timedelta(days=1):
            return "i går", "yesterday"
        return (
            f"{_WEEKDAYS_NB[last.weekday()]} {_day_nb(last, False)}",
            f"on {_WEEKDAYS_EN[last.weekday()]} {_day_en(last, False)}",
        )
    week = first.isocalendar().week
    years = first.year != last.year
    if first.month == last.month:
        span_nb = f"{first.day}.–{_day_nb(last, False)}"
        span_en = f"{first.day}–{_day_en(last, False)}"
    else:
        span_nb = f"{_day_nb(first, years)}–{_day_nb(last, years)}"
        span_en = f"{_day_en(first, years)}–{_day_en(last, years)}"
    return f"i uke {week} ({span_nb})", f"in week {week} ({span_en})"


def _day_nb(day: date, with_year: bool) -> str:
    text = f"{day.day}. {_MONTHS_NB[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


def _day_en(day: date, with_year: bool) -> str:
    text = f"{day.day} {_MONTHS_EN[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text
