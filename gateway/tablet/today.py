"""What the tablet's pages say, worked out from the service's state, the gateway's results and
the time. Pure: no I/O, no clock reads (``now`` is passed in); docs/tablet.md describes it.

Definitions (tested in tests/unit/test_tablet_today.py)
------------------------------------------------------
* **Today** is the local date of ``now`` in the state's ``timezone``. A schedule item is due
  today when today's ISO weekday is one of its ``weekdays``, at its local ``at``.
* A task (a reading kind, or a questionnaire id) scheduled *n* times today is **done** for its
  first *k* slots when *k* results of it were kept today (by the time measured or answered).
* A schedule item's ``at`` is the time it is **due by** (the plan's ``due_by``). A slot not
  done is **not yet** until :data:`REMIND_BEFORE` before that time, **now** (the reminder
  shows) from then until the time, and **overdue** from the time on (the service counts it as
  missing after the plan's grace).
* A **result** is shown with a colour only when a receipt said ``stored``/``duplicate`` and gave
  one (:class:`ResultView`); while it waits in the outbox it has no colour, says it was sent
  and waits for an answer, and the plan's safety text is shown with it. The tablet never works
  out a colour itself.
* The centre is **open** when ``from <= now < to`` for one of its staffed intervals; otherwise it
  opens at the earliest ``from`` after ``now`` (none in the list: not known).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway.outbox import Result
from gateway.tablet.state import CallRequest, Interval, Message, Plan, ScheduleItem, Text

#: How long before its due-by time a task not done counts as "now" (the reminder shows).
REMIND_BEFORE = timedelta(hours=2)
#: A device not seen for this long is "not seen for N days".
NOT_SEEN_AFTER = timedelta(days=2)
#: At or below this battery level (%) the tablet says the battery is low.
LOW_BATTERY = 20
#: A red result newer than this is shown full screen until the patient says they read it.
RED_FRESH_FOR = timedelta(hours=24)

WEEKDAYS_NB = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Reading kinds (and "questionnaire") in plain words.
KIND_NAMES: dict[str, Text] = {
    "blood_pressure": Text(nb="Blodtrykk", en="Blood pressure"),
    "spo2": Text(nb="Oksygenmetning", en="Oxygen saturation"),
    "heart_rate": Text(nb="Puls", en="Pulse"),
    "glucose": Text(nb="Blodsukker", en="Blood sugar"),
    "body_weight": Text(nb="Vekt", en="Weight"),
    "body_temperature": Text(nb="Temperatur", en="Temperature"),
    "respiratory_rate": Text(nb="Pustefrekvens", en="Breathing rate"),
    "peak_flow": Text(nb="Peak flow (PEF)", en="Peak flow (PEF)"),
    "questionnaire": Text(nb="Spørreskjema", en="Questionnaire"),
}

#: Device profiles (devices/catalogue.toml) in plain words, as "the …" and "turn on the …".
DEVICE_NAMES: dict[str, Text] = {
    "blood_pressure": Text(nb="blodtrykksmåleren", en="the blood pressure monitor"),
    "pulse_oximeter": Text(nb="oksygenmåleren", en="the pulse oximeter"),
    "glucose": Text(nb="blodsukkermåleren", en="the blood sugar meter"),
    "thermometer": Text(nb="termometeret", en="the thermometer"),
    "weight_scale": Text(nb="vekten", en="the scale"),
    "body_composition": Text(nb="vekten", en="the scale"),
    "heart_rate": Text(nb="pulsmåleren", en="the heart rate monitor"),
}

#: Which device profile measures each reading kind ("slå på blodtrykksmåleren").
KIND_DEVICE: dict[str, str] = {
    "blood_pressure": "blood_pressure",
    "spo2": "pulse_oximeter",
    "glucose": "glucose",
    "body_temperature": "thermometer",
    "body_weight": "weight_scale",
    "heart_rate": "heart_rate",
}

COLOUR_WORDS: dict[str, Text] = {
    "green": Text(nb="Grønn", en="Green"),
    "yellow": Text(nb="Gul", en="Yellow"),
    "red": Text(nb="Rød", en="Red"),
}


class TaskStatus(StrEnum):
    DONE = "done"
    NOT_YET = "not_yet"
    NOW = "now"  # its time has come: the reminder shows
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Task:
    """One scheduled slot today."""

    item: ScheduleItem
    due_at: datetime
    status: TaskStatus


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=zone)


def tasks_today(
    schedule: Iterable[ScheduleItem], results: Iterable[Result], now: datetime, zone: ZoneInfo
) -> list[Task]:
    """Every slot of ``schedule`` due today, by time, with its status (see the module's
    definitions)."""
    today = local_today(now, zone)
    slots = sorted(
        (
            (_at(today, item.at, zone), item)
            for item in schedule
            if today.isoweekday() in item.weekdays
        ),
        key=lambda slot: (slot[0], slot[1].task),
    )
    done_today: dict[str, int] = {}
    for result in results:
        if result.status == "rejected" or local_today(result.at, zone) != today:
            continue
        done_today[result.kind] = done_today.get(result.kind, 0) + 1
    used: dict[str, int] = {}
    tasks = []
    for due_at, item in slots:
        used[item.task] = used.get(item.task, 0) + 1
        if used[item.task] <= done_today.get(item.task, 0):
            status = TaskStatus.DONE
        elif now < due_at - REMIND_BEFORE:
            status = TaskStatus.NOT_YET
        elif now < due_at:
            status = TaskStatus.NOW
        else:
            status = TaskStatus.OVERDUE
        tasks.append(Task(item, due_at, status))
    return tasks


def reminders(tasks: Sequence[Task]) -> list[Task]:
    """The tasks whose time has come and that are not done (the home page's banner)."""
    return [t for t in tasks if t.status in (TaskStatus.NOW, TaskStatus.OVERDUE)]


class ResultState(StrEnum):
    WAITING = "waiting"  # in the outbox, no receipt: no colour, the safety text
    RECEIVED = "received"  # stored/duplicate receipt (colour when the plan triages it)
    REJECTED = "rejected"  # the service refused it (or the gateway, for the contract)


@dataclass(frozen=True, slots=True)
class ResultView:
    """The latest result of one kind as the home page shows it."""

    kind: str
    at: datetime
    state: ResultState
    colour: str | None  # only from a receipt
    advice: Text | None  # only from a receipt
    typed: bool


def result_view(result: Result) -> ResultView:
    """How ``result`` is shown: its colour and advice only as its receipt gave them."""
    if result.status in ("stored", "duplicate"):
        advice = Text(**result.advice) if result.advice else None
        return ResultView(
            result.kind,
            result.at,
            ResultState.RECEIVED,
            result.colour,
            advice,
            "patient_typed" in result.flags,
        )
    state = ResultState.REJECTED if result.status == "rejected" else ResultState.WAITING
    return ResultView(result.kind, result.at, state, None, None, False)


def latest_results(results: Iterable[Result]) -> list[ResultView]:
    """The latest reading or questionnaire result of each kind, newest first (calls and
    message reads are not results)."""
    latest: dict[str, Result] = {}
    for result in results:
        if result.channel.value not in ("readings", "reports"):
            continue
        kept = latest.get(result.kind)
        if kept is None or result.at >= kept.at:
            latest[result.kind] = result
    return sorted((result_view(r) for r in latest.values()), key=lambda view: view.at, reverse=True)


def needs_safety_text(views: Iterable[ResultView]) -> bool:
    """Whether any result shown has no colour from a receipt (waiting, or refused): then the
    plan's general safety text is shown."""
    return any(view.state is not ResultState.RECEIVED or view.colour is None for view in views)


def fresh_red(results: Iterable[Result], now: datetime, dismissed: Iterable[str]) -> Result | None:
    """The newest red result (by its receipt) of the last :data:`RED_FRESH_FOR` the patient has
    not yet said they read (``dismissed`` ids); None when there is none."""
    seen = set(dismissed)
    reds = [
        r
        for r in results
        if r.colour == "red"
        and r.status in ("stored", "duplicate")
        and r.id not in seen
        and now - r.at <= RED_FRESH_FOR
    ]
    return max(reds, key=lambda r: r.at) if reds else None


# --- the centre's hours


def is_open(now: datetime, staffed: Iterable[Interval]) -> bool:
    return any(interval.start <= now < interval.end for interval in staffed)


def next_opening(now: datetime, staffed: Iterable[Interval]) -> datetime | None:
    """The earliest start of a staffed interval after ``now``; None when the list has none."""
    later = [interval.start for interval in staffed if interval.start > now]
    return min(later) if later else None


def when_words(at: datetime, now: datetime, zone: ZoneInfo, language: str) -> str:
    """``at`` as a person says it: "i dag kl. 08:00", "i morgen kl. 08:00", "mandag kl. 08:00"
    (within a week), else "mandag 14.12. kl. 08:00"."""
    local = at.astimezone(zone)
    days = (local.date() - local_today(now, zone)).days
    clock = local.strftime("%H:%M")
    if language == "en":
        if days == 0:
            return f"today at {clock}"
        if days == 1:
            return f"tomorrow at {clock}"
        name = WEEKDAYS_EN[local.weekday()]
        if days < 7:
            return f"{name} at {clock}"
        return f"{name} {local.day} {local.strftime('%B')} at {clock}"
    if days == 0:
        return f"i dag kl. {clock}"
    if days == 1:
        return f"i morgen kl. {clock}"
    name = WEEKDAYS_NB[local.weekday()]
    if days < 7:
        return f"{name} kl. {clock}"
    return f"{name} {local.day}.{local.month}. kl. {clock}"


def closed_text(
    now: datetime, staffed: Sequence[Interval], zone: ZoneInfo, centre: str, language: str
) -> str | None:
    """None while the centre is staffed; otherwise that it is closed and when it opens."""
    if is_open(now, staffed):
        return None
    opens = next_opening(now, staffed)
    if language == "en":
        if opens is None:
            return f"{centre} is closed now."
        return f"{centre} is closed now. It opens {when_words(opens, now, zone, 'en')}."
    if opens is None:
        return f"{centre} er stengt nå."
    return f"{centre} er stengt nå. Den åpner {when_words(opens, now, zone, 'nb')}."


# --- calls and messages


@dataclass(frozen=True, slots=True)
class CallView:
    """The "ring meg" line: ``asked_at`` and, once the centre marked it done, when and by whom."""

    asked_at: datetime
    handled_at: datetime | None
    handled_by: str | None


def call_view(
    asked_here: Iterable[Result], from_service: Iterable[CallRequest], now: datetime
) -> CallView | None:
    """The latest call request: the service's word on it when it has one, else the tablet's own
    (still in the outbox, or not yet in the state). Handled ones show for 2 days."""
    service = {c.id: c for c in from_service}
    candidates: list[CallView] = []
    for request in service.values():
        candidates.append(CallView(request.asked_at, request.handled_at, request.handled_by))
    for result in asked_here:
        if result.kind == "call_request" and result.id not in service:
            candidates.append(CallView(result.at, None, None))
    if not candidates:
        return None
    latest = max(candidates, key=lambda c: c.asked_at)
    if latest.handled_at is not None and now - latest.handled_at > timedelta(days=2):
        return None
    return latest


def message_read_kind(message_id: str) -> str:
    """The result kind the tablet keeps for a read receipt of ``message_id``."""
    return f"message_read:{message_id}"


def unread_messages(messages: Iterable[Message], results: Iterable[Result]) -> list[Message]:
    """The nurse's messages not read: no ``read_at`` from the service and no read receipt sent
    from this tablet; oldest first (the patient reads them in order)."""
    read_here = {r.kind for r in results if r.kind.startswith("message_read:")}
    return sorted(
        (m for m in messages if m.read_at is None and message_read_kind(m.id) not in read_here),
        key=lambda m: m.sent_at,
    )


# --- devices


@dataclass(frozen=True, slots=True)
class DeviceLine:
    name: Text
    problems: tuple[Text, ...]


def device_lines(
    devices: Iterable[tuple[str, datetime | None, int | None]], now: datetime
) -> list[DeviceLine]:
    """Each paired device ``(profile, last_seen_at, battery %)`` in plain words: battery low,
    not seen for N days (turn it on), never seen yet."""
    lines = []
    for profile, last_seen, battery in devices:
        name = DEVICE_NAMES.get(profile, Text(nb="måleren", en="the meter"))
        problems: list[Text] = []
        if battery is not None and battery <= LOW_BATTERY:
            problems.append(
                Text(
                    nb=f"Batteriet er nesten tomt ({battery} %). Bytt eller lad batteriet.",
                    en=f"The battery is low ({battery} %). Replace or charge it.",
                )
            )
        if last_seen is None:
            problems.append(
                Text(
                    nb=f"Ikke brukt ennå. Slå på {name.nb} og ta en måling.",
                    en=f"Not used yet. Turn on {name.en} and take a measurement.",
                )
            )
        elif now - last_seen >= NOT_SEEN_AFTER:
            days = (now - last_seen).days
            problems.append(
                Text(
                    nb=f"Ikke sett på {days} dager. Slå på {name.nb} og ta en måling.",
                    en=f"Not seen for {days} days. Turn on {name.en} and take a measurement.",
                )
            )
        lines.append(DeviceLine(name, tuple(problems)))
    return lines


def plan_advice(plan: Plan | None, colour: str | None) -> Text | None:
    """The plan's advice for ``colour`` (used only with a colour a receipt gave)."""
    if plan is None or colour is None:
        return None
    for zone_colour, advice in plan.advice.items():
        if zone_colour == colour:
            return advice
    return None
