"""Pure functions that turn API data into what a nurse or GP reads: colour as icon *and* word,
reasons in words, times in Europe/Oslo, "waiting 2 h 5 min", triage order, zone bands.

No Streamlit, no I/O, no clock: ``now`` is always passed in, so every function is unit tested
(``tests/unit/test_dashboard_presenters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.api_client import (
    AlertDetail,
    ApiError,
    CentreEscalation,
    Colleague,
    Colour,
    EscalationStep,
    Finding,
    Gateway,
    GatewayCredentials,
    Message,
    Notification,
    NotificationTarget,
    OverviewLook,
    Person,
    Reading,
    StepNotification,
    TimelineEntry,
    WorklistItem,
)
from dashboard.i18n import Language, t
from dashboard.numbers import format_number, format_quantity
from dashboard.trust import trust_notes, trust_text

OSLO = ZoneInfo("Europe/Oslo")

# ----------------------------------------------------------------------------- colours

#: colour → (icon, bokmål, English). The icon differs in shape as well as colour (●, ▲, ■ would
#: do too); the word is always shown next to it, so colour is never the only signal.
_COLOURS: dict[str, tuple[str, str, str]] = {
    "red": ("🔴", "Rød", "Red"),
    "yellow": ("🟡", "Gul", "Yellow"),
    "green": ("🟢", "Grønn", "Green"),
}
_UNKNOWN_COLOUR = ("⚪", "Ikke vurdert", "Not classified")

#: colours as drawn in charts (Okabe–Ito-inspired, distinguishable with colour-blindness)
CHART_COLOURS: dict[str, str] = {"red": "#d7191c", "yellow": "#e6b800", "green": "#009e73"}
BAND_COLOURS: dict[str, str] = {"red": "#f8d3c0", "yellow": "#fbeeb5", "green": "#d5efe5"}

_RANK = {"green": 0, "yellow": 1, "red": 2}


def colour_badge(colour: str | None, language: Language) -> str:
    """ "🔴 Rød" / "🟡 Yellow": the icon and the word, never the colour alone."""
    icon, nb, en = _COLOURS.get(colour or "", _UNKNOWN_COLOUR)
    return f"{icon} {en if language == 'en' else nb}"


def colour_badge_markdown(colour: str | None, language: Language) -> str:
    """The badge as Streamlit Markdown (``:red-badge[🔴 Rød]``): colour, icon and word."""
    tint = {"red": "red", "yellow": "yellow", "green": "green"}.get(colour or "", "gray")
    return f":{tint}-badge[{colour_badge(colour, language)}]"


def colour_word(colour: str | None, language: Language) -> str:
    _, nb, en = _COLOURS.get(colour or "", _UNKNOWN_COLOUR)
    return en if language == "en" else nb


# ----------------------------------------------------------------------------- time


def local_time(at: datetime, zone: ZoneInfo = OSLO) -> datetime:
    """``at`` on the wall clock of ``zone`` (Europe/Oslo unless told)."""
    return at.astimezone(zone)


def format_time(at: datetime | None, now: datetime, zone: ZoneInfo = OSLO) -> str:
    """Oslo time, as short as is unambiguous: "09:30" today, "22.11 21:05" this year,
    "22.11.2025 21:05" before; "–" for no time."""
    if at is None:
        return "–"
    local, today = local_time(at, zone), local_time(now, zone)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%d.%m %H:%M")
    return local.strftime("%d.%m.%Y %H:%M")


def format_datetime(at: datetime, zone: ZoneInfo = OSLO) -> str:
    """Full Oslo date and time: "23.11.2026 09:30"."""
    return local_time(at, zone).strftime("%d.%m.%Y %H:%M")


def duration_words(elapsed: timedelta, language: Language) -> str:
    """ "under 1 min", "12 min", "2 t 5 min", "3 døgn 4 t" (English: "2 h 5 min", "3 days 4 h")."""
    minutes = max(0, int(elapsed.total_seconds() // 60))
    if minutes < 1:
        return "under 1 min" if language == "nb" else "less than 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    hour = "t" if language == "nb" else "h"
    if days:
        day = "døgn" if language == "nb" else ("day" if days == 1 else "days")
        return f"{days} {day} {hours} {hour}" if hours else f"{days} {day}"
    if hours:
        return f"{hours} {hour} {mins} min" if mins else f"{hours} {hour}"
    return f"{mins} min"


def time_since(at: datetime | None, now: datetime, language: Language) -> str:
    """How long ago ``at`` was, in words ("venter 2 t 5 min" is built from this)."""
    if at is None:
        return "–"
    return duration_words(now - at, language)


# ----------------------------------------------------------------------------- reasons


#: technical alerts about what DHO sends (notifications, the journal write-back), not about the
#: patient's values: rule → (title nb, title en, text nb, text en); the text stands in when the
#: alert's own is empty
_TECHNICAL: dict[str, tuple[str, str, str, str]] = {
    "notification_undelivered": (
        "Varsling kom ikke fram",
        "Notification not delivered",
        "Meldingen om rødt varsel kom ikke fram – ring mottakeren",
        "The message about a red alert was not delivered – phone the receiver",
    ),
    "notification_no_receiver": (
        "Varsling ikke sendt",
        "Notification not sent",
        "Ingen mottaker for varsling er satt opp – rødt varsel er ikke sendt til noen",
        "No receiver for notifications is set up – the red alert was not sent to anyone",
    ),
    "journal_undelivered": (
        "Journalføring feilet",
        "Not recorded in the journal",
        "Lukket varsel ble ikke journalført – kontakt driftsansvarlig",
        "A closed alert was not recorded in the journal – contact the operator",
    ),
}

#: which of them is about the patient's record rather than a message to a person
JOURNAL_RULES = frozenset({"journal_undelivered"})


def reason_text(finding: Finding, language: Language) -> str:
    """The finding's reason as the API wrote it in the person's language (the client sends
    ``Accept-Language``), e.g. "Oksygenmetning 86 % – rød: 87 % eller lavere
    (egenbehandlingsplan versjon 1)"; a technical alert about notifications gets a readable
    title in front ("📨 Varsling kom ikke fram: …")."""
    text = finding.reason
    if not text and finding.text is not None:  # an API from before `reason`
        text = finding.text.en if language == "en" else finding.text.nb
    technical = _TECHNICAL.get(finding.rule_id)
    if technical is None:
        return text
    title_nb, title_en, text_nb, text_en = technical
    title = title_en if language == "en" else title_nb
    own = text.strip() or (text_en if language == "en" else text_nb)
    return f"📨 {title}: {own}"


def is_notification_alert(rule_id: str) -> bool:
    """A technical alert about what DHO sends — escalation messages (not delivered, nobody to
    send to) or a closed alert's journal entry — rather than the patient's values or contact."""
    return rule_id in _TECHNICAL


# ----------------------------------------------------------------------------- worklist


def _triage_key(item: WorklistItem) -> tuple[int, int, datetime]:
    colour_rank = _RANK.get(item.colour, 0)
    # red, yellow, then lost contact only, then green (the API's documented order)
    group = {2: 0, 1: 1}.get(colour_rank, 2 if item.lost_contact else 3)
    waiting = item.waiting_since or item.lost_contact_since or datetime.max.replace(tzinfo=OSLO)
    return (group, 0, waiting)


def triage_order(items: Iterable[WorklistItem]) -> list[WorklistItem]:
    """Red first, then yellow, then lost contact only, then green; within each, the longest
    waiting (oldest unacknowledged alert) first. Stable for ties."""
    return sorted(items, key=_triage_key)


@dataclass(frozen=True)
class WorklistRow:
    """One patient on the worklist as the nurse reads it."""

    patient_id: str
    name: str
    badge: str
    colour: str
    reasons: tuple[str, ...]
    waiting: str
    assigned: str
    markers: tuple[str, ...]
    place: str


def markers(item: WorklistItem, now: datetime, language: Language) -> tuple[str, ...]:
    """Lost contact, missing measurement and pause, each with an icon and words."""
    found: list[str] = []
    if is_lost_contact(item):
        since = (
            f" ({time_since(item.lost_contact_since, now, language)})"
            if item.lost_contact_since
            else ""
        )
        found.append(f"📡 {t('lost_contact', language)}{since}")
    if item.missing_data:
        found.append(f"⏰ {t('missing_data', language)}")
    if item.state == "paused":
        found.append(f"⏸ {t('paused', language)}")
    for call in item.call_requests:
        asked = format_time(call.asked_at, now)
        found.append(f"📞 {t('call_me', language)} — {t('call_asked', language)} {asked}")
    return tuple(found)


def is_lost_contact(item: WorklistItem) -> bool:
    """Lost contact with the home gateway: the API's flag counts every open technical alert, so
    an alert about a notification (not delivered, no receiver) alone is not lost contact."""
    if not item.lost_contact:
        return False
    technical = [a for a in item.alerts if a.category == "technical"]
    return not technical or any(not is_notification_alert(a.rule_id) for a in technical)


def message_status(message: Message, now: datetime, language: Language) -> str:
    """ "lest 09:42" / "read 09:42", or "ikke lest ennå" / "not read yet"."""
    if message.read_at is None:
        return t("message_unread", language)
    return f"{t('message_read', language)} {format_time(message.read_at, now)}"


def typed_note(flags: Iterable[str], language: Language) -> str:
    """ "⌨ Tastet inn av pasienten" for a reading the patient typed in; else ""."""
    return f"⌨ {t('patient_typed', language)}" if "patient_typed" in flags else ""


def values_text(values: Mapping[str, Any], language: Language) -> str:
    """ "Oksygenmetning 93 %, Puls 72/min": the reading's numbers with short parameter
    names, their units and the language's decimal sign ("Blodsukker 6,2 mmol/L")."""
    parts = []
    for key, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            parameter = PARAMETER_OF.get(key, key)
            name = parameter_name(parameter, language)
            parts.append(f"{name} {format_quantity(value, parameter_unit(parameter), language)}")
    return ", ".join(parts)


def greens_waiting_text(found: Counts, language: Language) -> str:
    """ "3 grønne målinger venter på kvittering hos 2 pasienter" (singular for one)."""
    readings = t(
        "green_readings_one" if found.greens_waiting == 1 else "green_readings_many",
        language,
        count=found.greens_waiting,
    )
    patients = t(
        "patients_one" if found.patients_with_greens == 1 else "patients_many",
        language,
        count=found.patients_with_greens,
    )
    return t("greens_waiting", language, readings=readings, patients=patients)


def _latest_text(item: WorklistItem, now: datetime, language: Language) -> tuple[str, ...]:
    """For a patient with no alerts: the latest readings, as value and time."""
    texts = []
    for reading in sorted(item.last_readings, key=lambda r: r.measured_at, reverse=True)[:3]:
        values = values_text(reading.values, language)
        when = format_time(reading.measured_at, now)
        texts.append(f"{colour_badge(reading.colour, language)} {values} · {when}")
    return tuple(texts)


def worklist_row(item: WorklistItem, now: datetime, language: Language) -> WorklistRow:
    """What the worklist shows for ``item``: reasons in words, the wait, who is on it."""
    alerts = sorted(item.alerts, key=lambda a: (-_RANK.get(a.colour, 0), a.opened_at))
    return WorklistRow(
        patient_id=item.patient_id,
        name=item.display_name,
        badge=colour_badge(item.colour, language),
        colour=item.colour,
        reasons=tuple(reason_text(a.reason, language) for a in alerts)
        or _latest_text(item, now, language),
        waiting=(
            f"{t('waiting', language)} {time_since(item.waiting_since, now, language)}"
            if item.waiting_since
            else ""
        ),
        assigned=item.assigned_nurse_name or t("nobody_assigned", language),
        markers=markers(item, now, language),
        place=f"{item.municipality_name} · {item.centre_name}",
    )


def new_red_patients(previous: Iterable[str], items: Iterable[WorklistItem]) -> list[WorklistItem]:
    """Red patients that were not red at the last refresh (``previous``: their ids then)."""
    before = set(previous)
    return [i for i in items if i.colour == "red" and i.patient_id not in before]


def red_ids(items: Iterable[WorklistItem]) -> list[str]:
    return [i.patient_id for i in items if i.colour == "red"]


@dataclass(frozen=True)
class Counts:
    red: int
    yellow: int
    lost_contact: int
    green: int
    greens_waiting: int
    patients_with_greens: int


def counts(items: Sequence[WorklistItem]) -> Counts:
    """How many patients of each colour, and the green readings waiting for acknowledgement."""
    return Counts(
        red=sum(i.colour == "red" for i in items),
        yellow=sum(i.colour == "yellow" for i in items),
        lost_contact=sum(is_lost_contact(i) for i in items),
        green=sum(i.colour == "green" for i in items),
        greens_waiting=sum(i.greens_waiting for i in items),
        patients_with_greens=sum(i.greens_waiting > 0 for i in items),
    )


# ----------------------------------------------------------------------------- labels

_OUTCOMES: dict[str, tuple[str, str]] = {
    "phoned_patient": ("Ringte pasienten", "Phoned the patient"),
    "advised_per_plan": ("Ga råd etter planen", "Advised per the plan"),
    "contacted_gp": ("Kontaktet fastlegen", "Contacted the GP"),
    "home_care_visit_requested": (
        "Ba om besøk fra hjemmesykepleien",
        "Requested a home-care visit",
    ),
    "sent_to_emergency_care": ("Sendt til legevakt/akutt", "Sent to emergency care"),
    "no_action_needed": ("Ingen tiltak nødvendig", "No action needed"),
    # issue 18: alerts
    "hospital_admission": ("Innlagt på sykehus", "Admitted to hospital"),
}
#: the structured outcome codes, most common first
OUTCOME_CODES: tuple[str, ...] = tuple(_OUTCOMES)

_CONDITIONS: dict[str, tuple[str, str]] = {
    "copd": ("KOLS", "COPD"),
    "heart_failure": ("Hjertesvikt", "Heart failure"),
    "diabetes": ("Diabetes", "Diabetes"),
    "hypertension": ("Høyt blodtrykk", "Hypertension"),
    "covid19": ("Covid-19", "COVID-19"),
}
CONDITION_CODES: tuple[str, ...] = tuple(_CONDITIONS)

_EVENTS: dict[str, tuple[str, str]] = {
    "opened": ("åpnet", "opened"),
    "breach": ("nytt brudd", "new breach"),
    "raised": ("forverret", "raised"),
    "lowered": ("bedret", "lowered"),
    "back_in_range": ("tilbake i grønt", "back in range"),
    "acknowledged": ("kvittert ut", "acknowledged"),
    "assigned": ("tildelt", "assigned"),
    "escalated": ("eskalert", "escalated"),
    "escalation_received": ("varsel mottatt via lenke", "receipt confirmed by link"),
    "resolved": ("avsluttet", "resolved"),
}

#: parameter → (bokmål, English, unit); reading value keys map onto these (see PARAMETER_OF)
_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "systolic": ("Systolisk blodtrykk", "Systolic blood pressure", "mmHg"),
    "diastolic": ("Diastolisk blodtrykk", "Diastolic blood pressure", "mmHg"),
    "mean_arterial": ("Middeltrykk", "Mean arterial pressure", "mmHg"),
    "pulse": ("Puls", "Pulse", "/min"),
    "spo2": ("Oksygenmetning (SpO2)", "Oxygen saturation (SpO2)", "%"),
    "glucose": ("Blodsukker", "Blood glucose", "mmol/L"),
    "weight": ("Vekt", "Weight", "kg"),
    "temperature": ("Temperatur", "Temperature", "°C"),
    "respiratory_rate": ("Respirasjonsfrekvens", "Respiratory rate", "/min"),
    "peak_flow": ("PEF", "Peak flow", "L/min"),
}
#: a reading's value key → the plan parameter it is
PARAMETER_OF: dict[str, str] = {
    **{p: p for p in _PARAMETERS},
    "mean": "mean_arterial",
    "rate": "respiratory_rate",
    "pef": "peak_flow",
}


#: reading kinds (the API's codes) in words
_READING_KINDS: dict[str, tuple[str, str]] = {
    "spo2": ("Oksygenmetning", "Oxygen saturation"),
    "blood_pressure": ("Blodtrykk", "Blood pressure"),
    "heart_rate": ("Puls", "Pulse"),
    "body_temperature": ("Temperatur", "Temperature"),
    "body_weight": ("Vekt", "Weight"),
    "glucose": ("Blodsukker", "Blood glucose"),
    "respiratory_rate": ("Respirasjonsfrekvens", "Respiratory rate"),
    "peak_flow": ("PEF", "Peak flow"),
}
#: the built-in questionnaires' titles
QUESTIONNAIRES: dict[str, tuple[str, str]] = {
    "copd-daily": ("Daglig KOLS-sjekk", "Daily COPD check"),
    "hf-daily": ("Daglig hjertesviktsjekk", "Daily heart-failure check"),
}


def kind_label(kind: str, language: Language, lower: bool = False) -> str:
    """A reading kind in words: "Blodsukker" / "Blood glucose" ("blodsukker" with ``lower``;
    abbreviations such as PEF stay as they are)."""
    nb, en = _READING_KINDS.get(kind, (kind, kind))
    name = en if language == "en" else nb
    return name.lower() if lower and not name.isupper() else name


def questionnaire_label(questionnaire: str | None, language: Language) -> str:
    """ "Daglig KOLS-sjekk" for ``copd-daily``; a centre's own questionnaire is "Skjema"."""
    if questionnaire is None or questionnaire not in QUESTIONNAIRES:
        return t("questionnaire_other", language)
    return _pick(QUESTIONNAIRES[questionnaire], language)


def rule_label(rule_id: str, language: Language) -> str:
    """What an alert is about, in words, from its rule id: the parameter of a threshold
    ("Blodsukker"), the kind of a missing measurement, lost contact, a notification problem;
    "" for the plan's own rules (whose ids are never shown)."""
    kind, _, detail = rule_id.partition(":")
    if kind == "threshold":
        return parameter_name(detail, language)
    if kind == "missing":
        what = (
            questionnaire_label(detail.partition(":")[2], language)
            if detail.startswith("questionnaire:")
            else kind_label(detail, language, lower=True)
        )
        return f"{t('missing_measurement', language)}: {what}"
    if rule_id == "lost_contact":
        return t("lost_contact_rule", language)
    technical = _TECHNICAL.get(rule_id)
    if technical is not None:
        return technical[1] if language == "en" else technical[0]
    return ""


def outcome_label(code: str, language: Language) -> str:
    nb, en = _OUTCOMES.get(code, (code, code))
    return en if language == "en" else nb


def condition_label(code: str | None, language: Language) -> str:
    if code is None:
        return "–"
    nb, en = _CONDITIONS.get(code, (code, code))
    return en if language == "en" else nb


def event_label(event: str, language: Language) -> str:
    nb, en = _EVENTS.get(event, (event, event))
    return en if language == "en" else nb


def reading_kind_label(kind: str | None, language: Language) -> str:
    """ "Oksygenmetning" for ``spo2``: never the code on a page ("Måling" when unknown)."""
    if kind is None or kind not in _READING_KINDS:
        return t("reading_kind_other", language)
    return kind_label(kind, language)


def parameter_name(parameter: str, language: Language) -> str:
    """The parameter's name without its unit: "Oksygenmetning", "Puls" (short form: the
    abbreviation in brackets dropped)."""
    nb, en, _ = _PARAMETERS.get(parameter, (parameter, parameter, ""))
    return (en if language == "en" else nb).split(" (")[0]


def parameter_unit(parameter: str) -> str:
    """The parameter's unit as written after a number ("mmol/L", "%", "/min" as in "81/min",
    the way the service's reasons write it); "" when unknown."""
    return _PARAMETERS.get(parameter, ("", "", ""))[2]


def parameter_label(parameter: str, language: Language) -> str:
    nb, en, _ = _PARAMETERS.get(parameter, (parameter, parameter, ""))
    name = en if language == "en" else nb
    unit = parameter_unit(parameter)
    return f"{name} ({unit})" if unit else name


def login_refusal(err: ApiError, language: Language) -> str:
    """Why a login was refused, in the reader's language (the API answers in English): the
    same words for a wrong password, an unknown user and a locked account, as the API."""
    if err.status == 401:
        return t("login_wrong", language)
    if err.status == 429:
        return t("login_too_many", language)
    if err.status == 403:  # issue 20: the right password, but the role signs in with HelseID
        return t("login_password_refused_role", language)
    return err.detail or err.title


def patient_state_label(state: str, language: Language) -> str:
    """ "prøveperiode", "i oppfølging", "på pause", "avsluttet": never the API's code."""
    known = {"trial", "active", "paused", "discharged"}
    return t(f"state_{state}", language) if state in known else state


def role_label(role: str, language: Language) -> str:
    return t(f"role_{role}", language) if role in {"nurse", "gp", "admin", "lead"} else role


def person_text(person: Person | None, fallback: str | None, language: Language) -> str:
    """Who did it, as colleagues say it: "Kari Nordmann (sykepleier)"; without the API's person
    (an older answer, a deleted user) the ``fallback`` username, else "?"."""
    if person is None:
        return fallback or "?"
    return f"{person.display_name} ({role_word(person.role, language)})"


def role_word(role: str, language: Language) -> str:
    """The role inside a sentence: "sykepleier", "fastlege" (lower case in bokmål); "Nurse"."""
    label = role_label(role, language)
    return label[:1].lower() + label[1:] if language == "nb" else label


# ----------------------------------------------------------------------------- plans and charts


def zone_advice(
    plan_document: Mapping[str, Any], colour: str, language: Language
) -> tuple[str, str]:
    """The plan's advice for ``colour``: (to the patient, the nurse's instruction)."""
    actions = plan_document.get("actions", {}).get(colour) or {}
    patient = actions.get("patient") or {}
    nurse = actions.get("nurse") or {}
    return (
        str(patient.get(language) or patient.get("nb") or "–"),
        str(nurse.get(language) or nurse.get("nb") or "–"),
    )


@dataclass(frozen=True)
class Band:
    """A zone band drawn behind a parameter's values: ``low`` ≤ value < ``high``."""

    low: float
    high: float
    colour: Colour


def _bound(zones: Mapping[str, Any], name: str) -> float | None:
    raw = zones.get(name)
    if raw is None:
        return None
    if isinstance(raw, int | float):
        return float(raw)
    return float(raw["value"])


def zone_bands(zones: Mapping[str, Any], floor: float, ceiling: float) -> list[Band]:
    """The plan's zones of one parameter as bands from ``floor`` to ``ceiling`` (the chart's
    value range), lowest first. Bound values belong to the worse zone (the plan's semantics);
    on a chart the difference is invisible, so bands simply meet at the bound."""
    red_low, yellow_low = _bound(zones, "red_low"), _bound(zones, "yellow_low")
    yellow_high, red_high = _bound(zones, "yellow_high"), _bound(zones, "red_high")
    # (upper edge, colour below it), from the bottom up
    segments: list[tuple[float, Colour]] = []
    if red_low is not None:
        segments.append((red_low, "red"))
    if yellow_low is not None:
        segments.append((yellow_low, "yellow"))
    segments.append((next(v for v in (yellow_high, red_high, ceiling) if v is not None), "green"))
    if yellow_high is not None:
        segments.append((red_high if red_high is not None else ceiling, "yellow"))
    if red_high is not None:
        segments.append((ceiling, "red"))
    bands: list[Band] = []
    start = floor
    for edge, colour in segments:
        top = min(edge, ceiling)
        if top > start:
            bands.append(Band(start, top, colour))
        start = max(start, edge)
    return bands


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    colour: str | None
    #: the reading's data-quality flags (``timed_by_gateway``, ``backfill``, …: dashboard/trust.py)
    flags: tuple[str, ...] = ()


def zone_of(zones: Mapping[str, Any], value: float) -> Colour:
    """The colour of ``value`` under one parameter's zones (a bound belongs to the worse zone;
    a bound ``{"value": v, "inclusive": false}`` does not include ``v``)."""

    def reached(name: str, below: bool) -> bool:
        raw = zones.get(name)
        if raw is None:
            return False
        bound = float(raw) if isinstance(raw, int | float) else float(raw["value"])
        inclusive = True if isinstance(raw, int | float) else bool(raw.get("inclusive", True))
        if below:
            return value <= bound if inclusive else value < bound
        return value >= bound if inclusive else value > bound

    if reached("red_low", below=True) or reached("red_high", below=False):
        return "red"
    if reached("yellow_low", below=True) or reached("yellow_high", below=False):
        return "yellow"
    return "green"


def series_by_parameter(
    readings: Iterable[Reading], zones: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, list[Point]]:
    """Each parameter's values over time (oldest first). A point's colour is its own zone
    under the plan (``zones``) when the plan has that parameter, else the reading's colour."""
    series: dict[str, list[Point]] = {}
    for reading in readings:
        for key, value in reading.values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                parameter = PARAMETER_OF.get(key, key)
                own = (zones or {}).get(parameter)
                colour = zone_of(own, float(value)) if own else reading.colour
                series.setdefault(parameter, []).append(
                    Point(reading.measured_at, float(value), colour, tuple(reading.flags))
                )
    return {p: sorted(points, key=lambda x: x.at) for p, points in series.items()}


def value_range(points: Sequence[Point], zones: Mapping[str, Any]) -> tuple[float, float]:
    """A value axis that holds every point and every bound, with a margin."""
    values = [p.value for p in points]
    values += [
        v
        for n in ("red_low", "yellow_low", "yellow_high", "red_high")
        if (v := _bound(zones, n)) is not None
    ]
    low, high = min(values), max(values)
    if len(values) > len(points):  # show some of the green side beyond the outermost bound
        bounds = values[len(points) :]
        span = max(max(bounds) - min(bounds), 1.0)
        if _bound(zones, "yellow_high") is None and _bound(zones, "red_high") is None:
            high = max(high, max(bounds) + span * 0.5)
        if _bound(zones, "yellow_low") is None and _bound(zones, "red_low") is None:
            low = min(low, min(bounds) - span * 0.5)
    margin = max((high - low) * 0.05, 0.5)
    return low - margin, high + margin


def colour_rank(colour: str | None) -> int:
    """0 for green (or none), 1 for yellow, 2 for red."""
    return _RANK.get(colour or "", 0)


def worst_colour(colours: Iterable[str | None]) -> str:
    return max((c for c in colours if c), key=colour_rank, default="green")


# ----------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class TimelineRow:
    when: str
    what: str
    detail: str
    by: str
    #: the reading's data-quality notes with their icons ("🕓 Tidspunktet er satt av …")
    trust: str = ""


#: alert events whose note a person wrote (the others' notes are the service's own English)
_NOTED_EVENTS = frozenset({"acknowledged", "resolved"})


def _event_note(entry: TimelineEntry) -> str:
    """The note of an alert event as the nurse wrote it; the service's notes (the finding's
    English text, "assigned to <username>") and the rule id stay off the page: the reading's
    row next to it says why, the 👤 column who."""
    return (entry.note or "") if entry.by and entry.event in _NOTED_EVENTS else ""


def timeline_rows(
    entries: Iterable[TimelineEntry],
    now: datetime,
    language: Language,
    names: Mapping[str, str] | None = None,
) -> list[TimelineRow]:
    """The timeline as a nurse reads it, newest first: readings and answers with their colour
    and reason, what happened to alerts, and the actions with their outcome and note."""
    rows: list[TimelineRow] = []
    for e in sorted(entries, key=lambda e: e.at, reverse=True):
        when = format_time(e.at, now)
        reasons = "; ".join(reason_text(f, language) for f in e.findings)
        if e.type == "reading":
            what = f"{colour_badge(e.colour, language)} · {reading_kind_label(e.kind, language)}"
            detail = reasons or values_text(e.values or {}, language)
            typed = typed_note(e.flags, language)
            if typed:
                detail = f"{typed} · {detail}" if detail else typed
            trust = trust_text(trust_notes(e.flags, language, typed=False))
            rows.append(TimelineRow(when, what, detail, "", trust))
        elif e.type == "report":
            score = f" ({e.score})" if e.score is not None else ""
            title = questionnaire_label(e.questionnaire, language)
            what = f"{colour_badge(e.colour, language)} · {title}{score}"
            trust = trust_text(trust_notes(e.flags, language, typed=False))
            rows.append(TimelineRow(when, what, reasons, "", trust))
        elif e.type == "alert_event":
            what = f"⚠ {event_label(e.event or '', language)} ({colour_word(e.colour, language)})"
            by = person_text(e.by_person, e.by, language) if e.by else ""
            # what the alert is about in words ("Blodsukker") when no person wrote a note
            about = rule_label(e.rule_id or "", language)
            rows.append(TimelineRow(when, what, _event_note(e) or about, by))
        else:
            what = f"✍ {outcome_label(e.outcome or '', language)}"
            fallback = (names or {}).get(e.by or "", e.by or "")
            rows.append(
                TimelineRow(when, what, e.note or "", person_text(e.by_person, fallback, language))
            )
    return rows


# ----------------------------------------------------------------------------- GP


@dataclass(frozen=True)
class Deviation:
    """One deviation from plan as a GP reads it: what, when, and what the centre did."""

    alert_id: str
    badge: str
    reason: str
    when: str
    centre_did: tuple[str, ...]


def deviation(
    alert: AlertDetail, now: datetime, language: Language, names: Mapping[str, str] | None = None
) -> Deviation:
    """The alert with the centre's handling in words: actions (outcome and note), who
    acknowledged and resolved it, or that nobody has yet."""
    did: list[str] = []
    for action in alert.actions:
        note = f": {action.note}" if action.note else ""
        who = person_text(action.by_person, action.by_username, language)
        did.append(
            f"{format_time(action.at, now)} {outcome_label(action.outcome, language)}{note} – {who}"
        )
    if alert.resolved_at is not None:
        did.append(
            f"{format_time(alert.resolved_at, now)} {event_label('resolved', language)}"
            f" – {person_text(alert.resolved_by_person, alert.resolved_by, language)}"
        )
    elif alert.acknowledged_at is not None:
        did.append(
            f"{format_time(alert.acknowledged_at, now)} {event_label('acknowledged', language)}"
            f" – {person_text(alert.acknowledged_by_person, alert.acknowledged_by, language)}"
        )
    if not did:
        did.append(t("nothing_done_yet", language))
    return Deviation(
        alert_id=alert.id,
        badge=colour_badge(alert.colour, language),
        reason=reason_text(alert.reason, language),
        when=format_time(alert.opened_at, now),
        centre_did=tuple(did),
    )


def bounds_text(zones: Mapping[str, Any], language: Language = "nb") -> tuple[str, str]:
    """One parameter's bounds in words: (red, yellow), e.g. ("≤ 87", "≤ 91") or
    ("≤ 40 / ≥ 131", "≤ 50 / ≥ 101"); decimals with the language's sign ("< 3,5")."""

    def side(low: str, high: str) -> str:
        parts = []
        for name, sign in ((low, "≤"), (high, "≥")):
            raw = zones.get(name)
            if raw is None:
                continue
            value = float(raw) if isinstance(raw, int | float) else float(raw["value"])
            inclusive = True if isinstance(raw, int | float) else bool(raw.get("inclusive", True))
            symbol = sign if inclusive else sign.replace("≤", "<").replace("≥", ">")
            parts.append(f"{symbol} {format_number(value, language)}")
        return " / ".join(parts) or "–"

    return side("red_low", "red_high"), side("yellow_low", "yellow_high")


#: without a stored last look, the GP overview shows this far back
DEFAULT_LOOK_BACK = timedelta(days=7)


def since_last_look(look: OverviewLook, now: datetime) -> datetime:
    """Where the GP's "since you last looked" starts: the stored look, else a week back."""
    return look.seen_through or now - DEFAULT_LOOK_BACK


def deviations_by_patient(alerts: Iterable[AlertDetail]) -> dict[str, list[AlertDetail]]:
    """The alerts of one request grouped per patient, each patient's oldest first."""
    grouped: dict[str, list[AlertDetail]] = {}
    for found in sorted(alerts, key=lambda a: (a.opened_at, a.id)):
        grouped.setdefault(found.patient_id, []).append(found)
    return grouped


# ----------------------------------------------------------------------------- assignment


def assignee_options(
    colleagues: Iterable[Colleague], me: str, language: Language
) -> dict[str, str]:
    """Whom an alert may be given to, as user id → label: the nurse herself first ("meg"),
    then her colleagues at the patient's centre by name."""
    options = {me: t("me", language)}
    others: list[Colleague] = []
    for colleague in colleagues:
        if colleague.user_id == me:
            options[me] = f"{t('me', language)} ({colleague.display_name})"
        else:
            others.append(colleague)
    for colleague in sorted(others, key=lambda c: (c.display_name, c.user_id)):
        options[colleague.user_id] = colleague.display_name
    return options


def assigned_text(
    user_id: str | None, colleagues: Iterable[Colleague], me: str, language: Language
) -> str:
    """Who has the alert, in words: "tildelt meg", "tildelt Sykepleier AB", "ikke tildelt"."""
    if user_id is None:
        return t("nobody_assigned", language)
    if user_id == me:
        return t("assigned_to_me", language)
    names = {c.user_id: c.display_name for c in colleagues}
    return t("assigned_to_name", language, name=names.get(user_id, user_id))


# ----------------------------------------------------------------------------- gateways


@dataclass(frozen=True)
class GatewayRow:
    """One of the patient's gateways as the nurse reads it."""

    gateway_id: str
    state: str
    last_seen: str
    can_change: bool  # rotate and revoke: not for a revoked gateway


def gateway_rows(
    gateways: Iterable[Gateway], now: datetime, language: Language
) -> list[GatewayRow]:
    """Usable gateways first (newest first), revoked ones last; the state in icon and words,
    when it was last seen ("aldri" when never)."""
    rows = []
    ordered = sorted(gateways, key=lambda g: (g.revoked_at is not None, -g.created_at.timestamp()))
    for gateway in ordered:
        if gateway.revoked_at is not None:
            state = f"⛔ {t('gateway_revoked', language, at=format_time(gateway.revoked_at, now))}"
        elif gateway.online:
            state = f"🟢 {t('gateway_online', language)}"
        else:
            state = f"⚪ {t('gateway_offline', language)}"
        seen = (
            f"{format_time(gateway.last_seen_at, now)} "
            f"({time_since(gateway.last_seen_at, now, language)})"
            if gateway.last_seen_at is not None
            else t("never", language)
        )
        rows.append(GatewayRow(gateway.id, state, seen, gateway.revoked_at is None))
    return rows


def credentials_text(credentials: GatewayCredentials) -> str:
    """What to enter in the gateway, one setting a line (shown once, never kept)."""
    return (
        f"gateway_id: {credentials.gateway_id}\n"
        f"secret: {credentials.secret}\n"
        f"mqtt_username: {credentials.mqtt_username}\n"
        f"mqtt_topic_prefix: {credentials.mqtt_topic_prefix}\n"
        f"http_token: {credentials.http_token}"
    )


# ----------------------------------------------------------------------------- escalation

#: the escalation chain's roles as a nurse says them
_ESCALATION_ROLES: dict[str, tuple[str, str]] = {
    "on_call_nurse": ("vakthavende sykepleier", "on-call nurse"),
    "second_nurse": ("andre sykepleier", "second nurse"),
    "after_hours": (
        "legevakt/hjemmesykepleie (utenfor åpningstid)",
        "after-hours service (legevakt/home care)",
    ),
    "centre_lead": ("leder for oppfølgingstjenesten", "lead of the follow-up centre"),
    "fallback": ("reserve", "fallback"),
}
#: the roles in the chain's order (then the fallback)
ESCALATION_ROLES: tuple[str, ...] = tuple(_ESCALATION_ROLES)

_KINDS: dict[str, tuple[str, str]] = {
    "escalation": ("Eskalering", "Escalation"),
    "gp_digest": ("Oppsummering til fastlege", "GP summary"),
    "test": ("Testmelding", "Test message"),
}
_DETAIL_LEVELS: dict[str, tuple[str, str]] = {
    "none": (
        "Uten pasientopplysninger (anbefalt)",
        "No patient details (recommended)",
    ),
    "initials_municipality": (
        "Initialer og kommune – bare til sikre kanaler",
        "Initials and municipality – secure channels only",
    ),
}
DETAIL_LEVELS: tuple[str, ...] = tuple(_DETAIL_LEVELS)
_FREQUENCIES: dict[str, tuple[str, str]] = {
    "none": ("Ingen e-post", "No e-mail"),
    "daily": ("Daglig (kl. 07:00)", "Daily (07:00)"),
    "weekly": ("Ukentlig (mandag kl. 07:00)", "Weekly (Monday 07:00)"),
}
DIGEST_FREQUENCIES: tuple[str, ...] = tuple(_FREQUENCIES)
NOTIFICATION_STATUSES: tuple[str, ...] = ("pending", "sent", "dead", "cancelled")


def _pick(words: tuple[str, str], language: Language) -> str:
    return words[1] if language == "en" else words[0]


def escalation_role_label(role: str, language: Language) -> str:
    """ "vakthavende sykepleier", "legevakt/hjemmesykepleie (utenfor åpningstid)", …"""
    return _pick(_ESCALATION_ROLES.get(role, (role, role)), language)


def notification_kind_label(kind: str, language: Language) -> str:
    return _pick(_KINDS.get(kind, (kind, kind)), language)


def detail_level_label(level: str, language: Language) -> str:
    return _pick(_DETAIL_LEVELS.get(level, (level, level)), language)


def digest_frequency_label(frequency: str, language: Language) -> str:
    return _pick(_FREQUENCIES.get(frequency, (frequency, frequency)), language)


def clock_words(at: datetime, now: datetime, language: Language, zone: ZoneInfo = OSLO) -> str:
    """ "kl. 15:05" today, "04.12 kl. 15:05" another day (English: "at 15:05", "04.12 at
    15:05"), Oslo time."""
    local, today = local_time(at, zone), local_time(now, zone)
    word = "at" if language == "en" else "kl."
    if local.date() == today.date():
        return f"{word} {local:%H:%M}"
    if local.year == today.year:
        return f"{local:%d.%m} {word} {local:%H:%M}"
    return f"{local:%d.%m.%Y} {word} {local:%H:%M}"


def attempts_words(count: int, language: Language) -> str:
    """ "1 forsøk", "3 forsøk" (English: "1 attempt", "3 attempts")."""
    if language == "en":
        return f"{count} attempt" if count == 1 else f"{count} attempts"
    return f"{count} forsøk"


def seconds_words(milliseconds: int, language: Language) -> str:
    """A provider's answer time: "0,4 s" (decimal comma in bokmål), "0.4 s" in English."""
    text = f"{milliseconds / 1000:.1f}"
    return f"{text if language == 'en' else text.replace('.', ',')} s"


def join_words(names: Sequence[str], language: Language) -> str:
    """ "A", "A og B", "A, B og C" (English "and")."""
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    word = "and" if language == "en" else "og"
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


def notification_status(
    found: StepNotification | Notification,
    now: datetime,
    language: Language,
    received_by: str | None = None,
) -> str:
    """What happened to one message, in words: "✅ mottatt kl. 15:12", "📨 sendt kl. 15:05 (1
    forsøk)", "⛔ feilet etter 6 forsøk – ring mottakeren", "⏹ stoppet fordi kvittert",
    "⏳ venter på nytt forsøk (2 forsøk)"; a message stopped because ``received_by`` confirmed
    receipt of another says so."""
    count = found.attempts
    tries = attempts_words(count, language)
    if found.received_at is not None:
        return f"✅ {t('n_received', language, at=clock_words(found.received_at, now, language))}"
    if found.status == "sent" and found.sent_at is not None:
        at = clock_words(found.sent_at, now, language)
        return f"📨 {t('n_sent', language, at=at, tries=tries)}"
    if found.status == "dead":
        return f"⛔ {t('n_dead', language, tries=tries)}"
    if found.status == "cancelled":
        if received_by:
            return f"⏹ {t('n_cancelled_received', language, name=received_by)}"
        return f"⏹ {t('n_cancelled', language)}"
    if count:
        return f"⏳ {t('n_retrying', language, tries=tries)}"
    return f"⏳ {t('n_pending', language)}"


@dataclass(frozen=True)
class StepView:
    """One escalation step as a nurse reads it."""

    when: str
    to: str
    receivers: tuple[str, ...]  # "Legevakten Fjordvik (e-post): 📨 sendt kl. 15:05 (1 forsøk)"
    patient_told: str


_CHANNELS: dict[str, tuple[str, str]] = {
    "mailto": ("e-post", "e-mail"),
    "mailtos": ("e-post", "e-mail"),
    "json": ("webhook", "webhook"),
    "ntfy": ("ntfy", "ntfy"),
}


def channel_label(channel: str, language: Language) -> str:
    return _pick(_CHANNELS.get(channel, (channel, channel)), language)


def escalation_steps(
    steps: Iterable[EscalationStep], now: datetime, language: Language
) -> list[StepView]:
    """The alert's escalation, first step first: when (Oslo time), to whom (the role in words),
    each receiver's status, and what the patient was told; a step with no receiver says so."""
    steps = sorted(steps, key=lambda s: s.step)
    received = [n for s in steps for n in s.notifications if n.received_at is not None]
    received_by = received[0].recipient if received else None
    views = []
    for step in steps:
        receivers = tuple(
            f"{n.recipient} ({channel_label(n.channel, language)}): "
            f"{notification_status(n, now, language, received_by)}"
            + (f" — {n.last_error}" if n.status != "sent" and n.last_error else "")
            for n in step.notifications
        ) or (f"⚠️ {t('n_nobody', language)}",)
        told = ""
        if step.patient_instruction is not None:
            told = _pick((step.patient_instruction.nb, step.patient_instruction.en), language)
        views.append(
            StepView(
                when=clock_words(step.created_at, now, language),
                to=escalation_role_label(step.role, language),
                receivers=receivers,
                patient_told=told,
            )
        )
    return views


def _active(escalation: CentreEscalation, role: str) -> list[str]:
    return [x.label for x in escalation.targets if x.role == role and x.active]


@dataclass(frozen=True)
class ClosedHours:
    """What the worklist says while a centre is closed: where unacknowledged reds go."""

    text: str
    warning: bool  # nobody receives them: they wait here


def closed_hours(
    escalation: CentreEscalation | None, centre: str, when: str, language: Language
) -> ClosedHours:
    """Only what really happens: the after-hours receivers the centre has set up; without
    them, a warning naming whom the chain goes on to instead (the centre's lead, the fallback),
    or that reds wait here until the centre opens. Without the centre's settings (the API did
    not answer), no promise at all."""
    if escalation is None:
        return ClosedHours(t("closed_unknown", language, centre=centre, when=when), True)
    role = escalation.after_hours_role
    receivers = list(escalation.after_hours_receivers)
    if role is not None and not receivers:
        receivers = _active(escalation, role)
    if not receivers or role is None:
        return ClosedHours(t("closed_nobody", language, centre=centre, when=when), True)
    names = join_words(receivers, language)
    if role == "after_hours":
        return ClosedHours(
            t("closed_goes_to", language, centre=centre, when=when, receivers=names), False
        )
    names = f"{names} ({escalation_role_label(role, language)})"
    return ClosedHours(
        t("closed_no_after_hours", language, centre=centre, when=when, receivers=names), True
    )


@dataclass(frozen=True)
class TargetRow:
    """A receiver on the admin page (the address masked, as the API gives it)."""

    target_id: str
    label: str
    role: str
    channel: str
    address: str
    secure: str
    active: str


def target_rows(targets: Iterable[NotificationTarget], language: Language) -> list[TargetRow]:
    """The centre's receivers in the chain's order, active ones first."""
    order = {role: i for i, role in enumerate(ESCALATION_ROLES)}
    rows = []
    for x in sorted(targets, key=lambda x: (not x.active, order.get(x.role, 99), x.label)):
        rows.append(
            TargetRow(
                target_id=x.id,
                label=x.label,
                role=escalation_role_label(x.role, language),
                channel=channel_label(x.channel, language),
                address=x.url_masked or "–",
                secure=t("yes", language) if x.secure else t("no", language),
                active=t("yes", language) if x.active else t("no", language),
            )
        )
    return rows


@dataclass(frozen=True)
class NotificationView:
    """One sent (or waiting) notification as a nurse or administrator reads it."""

    notification_id: str
    when: str
    kind: str
    patient: str
    recipient: str
    status: str
    attempts: str
    last_error: str


def notification_views(
    found: Iterable[Notification], now: datetime, language: Language
) -> list[NotificationView]:
    """Newest first; the receiver with its role, the status in words, the last error."""
    views = []
    for n in sorted(found, key=lambda n: n.created_at, reverse=True):
        role = f" – {escalation_role_label(n.role, language)}" if n.role else ""
        views.append(
            NotificationView(
                notification_id=n.id,
                when=format_time(n.created_at, now),
                kind=notification_kind_label(n.kind, language),
                patient=n.patient_name
                or (t("n_patient_hidden", language) if n.patient_id else "–"),
                recipient=f"{n.recipient}{role}",
                status=notification_status(n, now, language),
                attempts=attempts_words(n.attempts, language),
                last_error=n.last_error or "",
            )
        )
    return views


def attempt_lines(found: Notification, now: datetime, language: Language) -> list[str]:
    """Each delivery attempt with the provider's answer: "15:05 ✅ 0,4 s — 250 OK"."""
    lines = []
    for a in sorted(found.attempt_log, key=lambda a: a.at):
        mark = "✅" if a.ok else "❌"
        answer = f" — {a.answer}" if a.answer else ""
        lines.append(
            f"{format_time(a.at, now)} {mark} {seconds_words(a.duration_ms, language)}{answer}"
        )
    return lines
