"""Measurement schedules: wall-clock deadlines in Oslo (DST included), windows, missing findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import MissingMeasurementRule, PlanVersion, next_draft
from triage.domain.readings import Kind, Reading, Report
from triage.domain.schedule import (
    Slot,
    is_missed,
    iter_slots,
    local_instant,
    missing_findings,
    schedule_problems,
    slots_on,
)
from triage.domain.templates import template
from triage.texts.findings import reason as reason_in

OSLO = ZoneInfo("Europe/Oslo")
HF = template("heart_failure")
COVID = template("covid19")
HYPERTENSION = template("hypertension")  # blood pressure Monday and Thursday by 10:00
COPD = template("copd")  # SpO2, temperature and copd-daily Monday and Thursday by 12:00

HF_WHATS = ["blood_pressure", "body_weight", "questionnaire:hf-daily", "spo2"]
HF_RULE_IDS = [f"missing:{w}" for w in HF_WHATS]

SPRING_FORWARD = date(2026, 3, 29)  # Sunday: 02:00 CET -> 03:00 CEST
FALL_BACK = date(2026, 10, 25)  # Sunday: 03:00 CEST -> 02:00 CET
WEDNESDAY = date(2026, 11, 18)  # an ordinary winter weekday (CET, UTC+1)

_VALUES: dict[Kind, dict[str, float]] = {
    Kind.SPO2: {"spo2": 96.0, "pulse": 72.0},
    Kind.BODY_WEIGHT: {"weight": 82.4},
    Kind.BLOOD_PRESSURE: {"systolic": 128.0, "diastolic": 78.0},
    Kind.BODY_TEMPERATURE: {"temperature": 36.8},
    Kind.HEART_RATE: {"pulse": 70.0},
}


def oslo(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Wall-clock time in Oslo on ``day`` (never inside the spring-forward gap here)."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=OSLO)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def reading(kind: Kind, measured_at: datetime) -> Reading:
    return Reading(
        id=f"reading-{kind.value}-{measured_at:%Y%m%d%H%M%S}",
        kind=kind,
        measured_at=measured_at,
        values=_VALUES[kind],
    )


def report(questionnaire: str, answered_at: datetime) -> Report:
    return Report(
        id=f"report-{questionnaire}-{answered_at:%Y%m%d%H%M%S}",
        questionnaire=questionnaire,
        answered_at=answered_at,
        answers={"breathless": "no"},
    )


def hf_everything(at: datetime) -> tuple[list[Reading], list[Report]]:
    """Everything the heart-failure plan asks for, done at ``at``."""
    kinds = (Kind.BODY_WEIGHT, Kind.BLOOD_PRESSURE, Kind.SPO2)
    return [reading(k, at) for k in kinds], [report("hf-daily", at)]


def colours(findings: Sequence[Finding]) -> dict[str, Colour]:
    return {f.rule_id: f.colour for f in findings}


def slot_of(plan: PlanVersion, day: date, what: str, due: time) -> Slot:
    return next(s for s in slots_on(plan.schedule, day) if s.what == what and s.due_by == due)


# ----------------------------------------------------------------------------- local_instant


@pytest.mark.parametrize(
    ("day", "wall", "expected"),
    [
        (WEDNESDAY, time(8, 0), utc(WEDNESDAY, 7)),  # CET
        (date(2026, 6, 17), time(8, 0), utc(date(2026, 6, 17), 6)),  # CEST
        (WEDNESDAY, time(0, 0), utc(date(2026, 11, 17), 23)),
        (SPRING_FORWARD, time(0, 0), utc(date(2026, 3, 28), 23)),
        (SPRING_FORWARD, time(1, 59), utc(SPRING_FORWARD, 0, 59)),
        (SPRING_FORWARD, time(3, 0), utc(SPRING_FORWARD, 1)),
        (SPRING_FORWARD, time(8, 0), utc(SPRING_FORWARD, 6)),
        (SPRING_FORWARD, time(10, 0), utc(SPRING_FORWARD, 8)),
        pytest.param(
            SPRING_FORWARD,
            time(2, 30),
            utc(SPRING_FORWARD, 1, 30),  # 03:30 CEST
            id="spring-gap-02:30",
        ),
        pytest.param(
            SPRING_FORWARD,
            time(2, 0),
            utc(SPRING_FORWARD, 1, 0),  # 03:00 CEST
            id="spring-gap-02:00",
        ),
        (FALL_BACK, time(0, 0), utc(date(2026, 10, 24), 22)),
        (FALL_BACK, time(2, 30), utc(FALL_BACK, 0, 30)),  # first occurrence, CEST
        (FALL_BACK, time(3, 0), utc(FALL_BACK, 2)),
        (FALL_BACK, time(8, 0), utc(FALL_BACK, 7)),
        (FALL_BACK, time(10, 0), utc(FALL_BACK, 9)),
    ],
)
def test_local_instant(day: date, wall: time, expected: datetime) -> None:
    """A deadline "by 08:00" is 08:00 on the wall clock, also on the days the clocks change."""
    got = local_instant(day, wall, OSLO)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK, WEDNESDAY])
def test_local_instant_keeps_every_existing_wall_minute(day: date) -> None:
    """Every wall-clock minute that exists that day maps back to the same wall-clock minute."""
    for minute in range(24 * 60):
        wall = time(minute // 60, minute % 60)
        if day == SPRING_FORWARD and time(2, 0) <= wall < time(3, 0):
            continue  # does not exist
        local = local_instant(day, wall, OSLO).astimezone(OSLO)
        assert (local.date(), local.time()) == (day, wall)


# ----------------------------------------------------------------------------- slots_on


def test_heart_failure_slots_on_an_ordinary_day() -> None:
    """Heart failure: weight, blood pressure, SpO2 and the daily questions, all by 10:00."""
    slots = slots_on(HF.schedule, WEDNESDAY)
    assert [s.what for s in slots] == HF_WHATS
    for slot in slots:
        assert (slot.local_date, slot.due_by) == (WEDNESDAY, time(10, 0))
        assert slot.window_start == utc(date(2026, 11, 17), 23)  # local midnight
        assert slot.deadline == utc(WEDNESDAY, 9)


@pytest.mark.parametrize(
    ("day", "midnight", "deadlines"),
    [
        (
            WEDNESDAY,
            utc(date(2026, 11, 17), 23),
            [utc(WEDNESDAY, 9), utc(WEDNESDAY, 14), utc(WEDNESDAY, 20)],
        ),
        (
            SPRING_FORWARD,
            utc(date(2026, 3, 28), 23),
            [utc(SPRING_FORWARD, 8), utc(SPRING_FORWARD, 13), utc(SPRING_FORWARD, 19)],
        ),
        (
            FALL_BACK,
            utc(date(2026, 10, 24), 22),
            [utc(FALL_BACK, 9), utc(FALL_BACK, 14), utc(FALL_BACK, 20)],
        ),
    ],
)
def test_covid_windows_chain_from_midnight(
    day: date, midnight: datetime, deadlines: list[datetime]
) -> None:
    """COVID 10/15/21: each window runs from the previous deadline (the first from midnight)."""
    slots = slots_on(COVID.schedule, day)
    assert len(slots) == 6
    for what in ("spo2", "body_temperature"):
        mine = [s for s in slots if s.what == what]
        assert [s.due_by for s in mine] == [time(10, 0), time(15, 0), time(21, 0)]
        assert [s.deadline for s in mine] == deadlines
        assert [s.window_start for s in mine] == [midnight, *deadlines[:2]]
    assert [s.deadline for s in slots] == sorted(s.deadline for s in slots)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 16), ["blood_pressure"]),  # Monday
        (date(2026, 11, 17), []),  # Tuesday
        (date(2026, 11, 18), []),  # Wednesday
        (date(2026, 11, 19), ["blood_pressure"]),  # Thursday
        (date(2026, 11, 20), []),  # Friday
        (date(2026, 11, 21), []),  # Saturday
        (date(2026, 11, 22), []),  # Sunday
    ],
)
def test_monday_thursday_plans(day: date, expected: list[str]) -> None:
    """A Monday/Thursday blood-pressure plan asks for nothing on a Tuesday."""
    assert [s.what for s in slots_on(HYPERTENSION.schedule, day)] == expected


@pytest.mark.parametrize(
    ("plan", "day", "expected"),
    [
        (HF, WEDNESDAY, "questionnaire:hf-daily"),
        (COPD, date(2026, 11, 16), "questionnaire:copd-daily"),
    ],
)
def test_questionnaire_slots(plan: PlanVersion, day: date, expected: str) -> None:
    """The daily questions are a scheduled item of their own, next to the measurements."""
    questionnaires = [s.what for s in slots_on(plan.schedule, day) if ":" in s.what]
    assert questionnaires == [expected]


def test_copd_has_no_questionnaire_slot_on_tuesday() -> None:
    """The COPD questions follow the plan's Monday/Thursday days too."""
    assert slots_on(COPD.schedule, date(2026, 11, 17)) == []


def test_iter_slots_spans_days_inclusive() -> None:
    """Three mornings of heart-failure slots, deadlines at both ends included."""
    got = list(iter_slots(HF.schedule, oslo(date(2026, 11, 16), 10), oslo(WEDNESDAY, 10)))
    assert [s.local_date for s in got] == [
        date(2026, 11, d) for d in (16, 17, 18) for _ in HF_WHATS
    ]
    assert [s.what for s in got] == HF_WHATS * 3
    assert list(iter_slots(HF.schedule, oslo(WEDNESDAY, 10, 0, 1), oslo(WEDNESDAY, 23))) == []


# ----------------------------------------------------------------------------- is_missed


@pytest.mark.parametrize(
    ("measured", "due", "missed"),
    [
        (oslo(WEDNESDAY, 0, 0), time(10, 0), False),  # from local midnight
        (oslo(WEDNESDAY, 9, 59), time(10, 0), False),
        (oslo(WEDNESDAY, 10, 0), time(10, 0), False),  # the deadline itself counts
        (oslo(WEDNESDAY, 10, 30), time(10, 0), True),  # late for 10:00 ...
        (oslo(WEDNESDAY, 10, 30), time(15, 0), False),  # ... on time for 15:00
        (oslo(WEDNESDAY, 15, 0), time(15, 0), False),
        (oslo(WEDNESDAY, 16, 0), time(15, 0), True),
        (oslo(WEDNESDAY, 16, 0), time(21, 0), False),
        (oslo(date(2026, 11, 17), 22, 0), time(10, 0), True),  # yesterday evening
    ],
)
def test_is_missed_covid_spo2(measured: datetime, due: time, missed: bool) -> None:
    """A COVID SpO2 counts for the slot whose window it falls in, not for an earlier one."""
    slot = slot_of(COVID, WEDNESDAY, "spo2", due)
    assert is_missed(slot, [reading(Kind.SPO2, measured)], []) is missed


def test_is_missed_needs_the_same_kind() -> None:
    """A pulse or a temperature is not an SpO2 measurement."""
    slot = slot_of(COVID, WEDNESDAY, "spo2", time(10, 0))
    others = [
        reading(Kind.HEART_RATE, oslo(WEDNESDAY, 9)),
        reading(Kind.BODY_TEMPERATURE, oslo(WEDNESDAY, 9)),
    ]
    assert is_missed(slot, others, [])


@pytest.mark.parametrize(("questionnaire", "missed"), [("hf-daily", False), ("copd-daily", True)])
def test_is_missed_questionnaire(questionnaire: str, missed: bool) -> None:
    """Only the plan's own questionnaire answers the daily questions."""
    slot = slot_of(HF, WEDNESDAY, "questionnaire:hf-daily", time(10, 0))
    assert is_missed(slot, [], [report(questionnaire, oslo(WEDNESDAY, 8))]) is missed


def test_reading_exactly_at_a_deadline_counts_once() -> None:
    """An SpO2 at exactly 10:00 is the 10:00 measurement; the 15:00 one is still missing."""
    spo2 = [reading(Kind.SPO2, oslo(WEDNESDAY, 10))]
    assert not is_missed(slot_of(COVID, WEDNESDAY, "spo2", time(10, 0)), spo2, [])
    assert is_missed(slot_of(COVID, WEDNESDAY, "spo2", time(15, 0)), spo2, [])


# ----------------------------------------------------------------------------- missing_findings

SINCE = oslo(date(2026, 11, 16), 12)  # enrolled Monday noon


@pytest.mark.parametrize(
    ("since", "now", "expected_at"),
    [
        (oslo(WEDNESDAY, 8), oslo(WEDNESDAY, 9, 59), None),  # enrolled this morning
        (SINCE, oslo(WEDNESDAY, 9, 59), utc(date(2026, 11, 17), 9)),  # yesterday's slot
        (SINCE, oslo(WEDNESDAY, 10), utc(WEDNESDAY, 9)),
        (SINCE, oslo(WEDNESDAY, 23, 59), utc(WEDNESDAY, 9)),
        (oslo(WEDNESDAY, 10), oslo(WEDNESDAY, 10), utc(WEDNESDAY, 9)),  # since == deadline
        (oslo(WEDNESDAY, 10, 0, 1), oslo(WEDNESDAY, 23), None),  # since after the deadline
        (oslo(date(2026, 11, 17), 12), oslo(WEDNESDAY, 9), None),  # Tuesday's slot before since
    ],
)
def test_which_slot_is_judged(since: datetime, now: datetime, expected_at: datetime | None) -> None:
    """With nothing measured, the nurse sees yellow for the latest slot due since enrolment."""
    findings = missing_findings(HF, [], [], since, now)
    if expected_at is None:
        assert findings == []
        return
    assert [f.rule_id for f in findings] == HF_RULE_IDS
    assert all(f.colour is Colour.YELLOW for f in findings)
    assert all(f.at == expected_at for f in findings)


def test_missing_finding_fields() -> None:
    """A missing finding names the rule, the plan version and the local deadline."""
    [weight] = [
        f
        for f in missing_findings(HF, [], [], SINCE, oslo(WEDNESDAY, 10))
        if f.rule_id == "missing:body_weight"
    ]
    assert weight.rule_type is RuleType.MISSING
    assert (weight.plan_id, weight.plan_version) == (HF.plan_id, HF.version)
    assert weight.bound == "10:00 Europe/Oslo"
    assert weight.is_breach


@pytest.mark.parametrize(
    ("measured", "green"),
    [
        (oslo(WEDNESDAY, 0, 0), True),
        (oslo(WEDNESDAY, 9, 59), True),
        (oslo(WEDNESDAY, 10, 0), True),  # the deadline is inclusive
        (oslo(date(2026, 11, 17), 9, 0), False),  # yesterday's does not count for today
        (oslo(date(2026, 11, 17), 21, 0), False),  # nor last night's
    ],
)
def test_weight_before_the_deadline(measured: datetime, green: bool) -> None:
    """A weight by 10:00 turns only the weight green; the rest stay missing."""
    findings = missing_findings(
        HF, [reading(Kind.BODY_WEIGHT, measured)], [], SINCE, oslo(WEDNESDAY, 10)
    )
    expected = dict.fromkeys(HF_RULE_IDS, Colour.YELLOW)
    if green:
        expected["missing:body_weight"] = Colour.GREEN
    assert colours(findings) == expected


def test_everything_done_is_all_green() -> None:
    """A patient who did everything at 09:30 has no missing measurement."""
    readings, reports = hf_everything(oslo(WEDNESDAY, 9, 30))
    findings = missing_findings(HF, readings, reports, SINCE, oslo(WEDNESDAY, 12))
    assert colours(findings) == dict.fromkeys(HF_RULE_IDS, Colour.GREEN)


@pytest.mark.parametrize("now", [oslo(WEDNESDAY, 10, 30), oslo(WEDNESDAY, 14), oslo(WEDNESDAY, 23)])
def test_late_reading_is_back_in_range(now: datetime) -> None:
    """A weight at 10:30 is late but arrived: the weight alert goes back in range."""
    late = [reading(Kind.BODY_WEIGHT, oslo(WEDNESDAY, 10, 30))]
    findings = missing_findings(HF, late, [], SINCE, now)
    assert colours(findings)["missing:body_weight"] is Colour.GREEN
    assert colours(findings)["missing:spo2"] is Colour.YELLOW
    slot = slot_of(HF, WEDNESDAY, "body_weight", time(10, 0))
    assert is_missed(slot, late, [])  # it was still late


def test_late_reading_yesterday_does_not_cover_today() -> None:
    """Yesterday's late weight does not make today's missed weight green."""
    late = [reading(Kind.BODY_WEIGHT, oslo(date(2026, 11, 17), 10, 30))]
    findings = missing_findings(HF, late, [], SINCE, oslo(WEDNESDAY, 10))
    assert colours(findings)["missing:body_weight"] is Colour.YELLOW


def test_questionnaire_answer_turns_its_slot_green() -> None:
    """Answering hf-daily at 08:00 clears the questionnaire; another questionnaire does not."""
    reports = [report("hf-daily", oslo(WEDNESDAY, 8)), report("copd-daily", oslo(WEDNESDAY, 8))]
    findings = missing_findings(HF, [], reports, SINCE, oslo(WEDNESDAY, 10))
    assert colours(findings)["missing:questionnaire:hf-daily"] is Colour.GREEN
    assert [c for r, c in colours(findings).items() if "questionnaire" not in r] == [
        Colour.YELLOW
    ] * 3


@pytest.mark.parametrize(
    ("measured", "now", "due", "colour", "missed_10"),
    [
        (oslo(WEDNESDAY, 10, 30), oslo(WEDNESDAY, 10, 30), time(10, 0), Colour.GREEN, True),
        (oslo(WEDNESDAY, 10, 30), oslo(WEDNESDAY, 15), time(15, 0), Colour.GREEN, True),
        (oslo(WEDNESDAY, 9, 0), oslo(WEDNESDAY, 15), time(15, 0), Colour.YELLOW, False),
        (oslo(WEDNESDAY, 9, 0), oslo(WEDNESDAY, 14, 59), time(10, 0), Colour.GREEN, False),
        (oslo(WEDNESDAY, 14, 0), oslo(WEDNESDAY, 21), time(21, 0), Colour.YELLOW, True),
    ],
)
def test_covid_three_times_daily(
    measured: datetime, now: datetime, due: time, colour: Colour, missed_10: bool
) -> None:
    """COVID: a 10:30 SpO2 is the 15:00 measurement; the 10:00 one stays missed in the record."""
    spo2 = [reading(Kind.SPO2, measured)]
    findings = missing_findings(COVID, spo2, [], SINCE, now)
    [finding] = [f for f in findings if f.rule_id == "missing:spo2"]
    assert finding.colour is colour
    assert finding.at == local_instant(WEDNESDAY, due, OSLO)
    assert colours(findings)["missing:body_temperature"] is Colour.YELLOW
    assert is_missed(slot_of(COVID, WEDNESDAY, "spo2", time(10, 0)), spo2, []) is missed_10


def test_plan_without_missing_rule_has_no_findings() -> None:
    """A plan that does not follow up missed measurements never reports one."""
    plan = next_draft(HF, rules=[r for r in HF.rules if not isinstance(r, MissingMeasurementRule)])
    assert not any(isinstance(r, MissingMeasurementRule) for r in plan.rules)
    assert missing_findings(plan, [], [], SINCE, oslo(WEDNESDAY, 12)) == []


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (oslo(WEDNESDAY, 10, 29), []),
        (oslo(WEDNESDAY, 10, 30), [Colour.YELLOW] * 4),
    ],
)
def test_grace_delays_the_missing_finding(now: datetime, expected: list[Colour]) -> None:
    """With 30 minutes' grace, a 10:00 measurement is reported missing only at 10:30."""
    plan = next_draft(HF, rules=[MissingMeasurementRule(grace=timedelta(minutes=30))])
    since = oslo(WEDNESDAY, 8)
    assert [f.colour for f in missing_findings(plan, [], [], since, now)] == expected


@pytest.mark.parametrize(
    ("day", "deadline_utc"),
    [(SPRING_FORWARD, utc(SPRING_FORWARD, 8)), (FALL_BACK, utc(FALL_BACK, 9))],
)
def test_dst_days_keep_the_wall_clock_deadline(day: date, deadline_utc: datetime) -> None:
    """On the days the clocks change, "by 10:00" is still 10:00 on the patient's wall."""
    since = oslo(day, 0) - timedelta(hours=12)
    assert missing_findings(HF, [], [], since, deadline_utc - timedelta(minutes=1)) == []
    missing = missing_findings(HF, [], [], since, deadline_utc)
    assert [f.at for f in missing] == [deadline_utc] * 4
    assert all(f.colour is Colour.YELLOW for f in missing)
    readings, reports = hf_everything(oslo(day, 9, 30))
    done = missing_findings(HF, readings, reports, since, deadline_utc)
    assert colours(done) == dict.fromkeys(HF_RULE_IDS, Colour.GREEN)


def test_dst_day_reading_between_1_and_2_utc_counts() -> None:
    """On the autumn night with two 02:30s, a reading at either counts for the morning."""
    for measured in (utc(FALL_BACK, 0, 30), utc(FALL_BACK, 1, 30)):
        assert measured.astimezone(OSLO).time() == time(2, 30)
        slot = slot_of(HF, FALL_BACK, "spo2", time(10, 0))
        assert not is_missed(slot, [reading(Kind.SPO2, measured)], [])


@pytest.mark.parametrize(
    ("what", "nb_name", "en_name"),
    [
        ("body_weight", "vekt", "body weight"),
        ("blood_pressure", "blodtrykk", "blood pressure"),
        ("spo2", "oksygenmetning", "oxygen saturation"),
        (
            "questionnaire:hf-daily",
            "spørreskjemaet «Daglig hjertesviktsjekk»",
            "the questionnaire “Daily heart-failure check”",
        ),
    ],
)
@pytest.mark.parametrize(
    ("day", "nb_day", "en_day"),
    [
        (WEDNESDAY, "onsdag 18.11", "Wednesday 2026-11-18"),
        (SPRING_FORWARD, "søndag 29.03", "Sunday 2026-03-29"),
        (FALL_BACK, "søndag 25.10", "Sunday 2026-10-25"),
    ],
)
def test_finding_text(
    what: str, nb_name: str, en_name: str, day: date, nb_day: str, en_day: str
) -> None:
    """The reason names what is missing and the local deadline, in bokmål and English."""
    since = oslo(day, 0)
    rule_id = f"missing:{what}"
    [missing] = [
        f for f in missing_findings(HF, [], [], since, oslo(day, 10)) if f.rule_id == rule_id
    ]
    assert (
        reason_in(missing, "nb")
        == f"Mangler måling: {nb_name} innen kl. 10:00 {nb_day} (egenbehandlingsplan versjon 1)"
    )
    assert (
        reason_in(missing, "en") == f"Missing measurement: {en_name} due by 10:00 on {en_day} "
        "(self-management plan version 1)"
    )
    readings, reports = hf_everything(oslo(day, 9))
    [done] = [
        f
        for f in missing_findings(HF, readings, reports, since, oslo(day, 10))
        if f.rule_id == rule_id
    ]
    assert (
        reason_in(done, "nb")
        == f"Målt: {nb_name} innen kl. 10:00 {nb_day} (egenbehandlingsplan versjon 1)"
    )
    assert (
        reason_in(done, "en")
        == f"Measured: {en_name} due by 10:00 on {en_day} (self-management plan version 1)"
    )


def test_schedule_problems_name_a_measurement_twice_at_the_same_time() -> None:
    """The same kind at the same time on a shared weekday, across items or listed twice in one,
    is a problem naming where; the same kind at another time, or on other days, is not."""
    schedule = next_draft(
        COPD,
        schedule={
            "items": [
                {"kinds": ["spo2", "body_temperature"], "days": [1, 4], "due_by": "12:00"},
                {"kinds": ["spo2"], "days": [2, 4], "due_by": "12:00"},
                {"kinds": ["spo2"], "days": [1, 4], "due_by": "18:00"},
                {"kinds": ["body_temperature"], "days": [2], "due_by": "12:00"},
                {"kinds": ["body_weight", "body_weight"], "due_by": "08:00"},
            ]
        },
    ).schedule
    assert schedule_problems(schedule) == [
        (
            ("items", 1, "due_by"),
            "SpO2 is already scheduled at 12:00 (Europe/Oslo) on Thursday in items[0]: a "
            "measurement cannot be scheduled twice at the same time — remove one, or move it to "
            "another time",
        ),
        (("items", 4, "kinds"), "body_weight is listed twice in one item"),
    ]
    assert all(schedule_problems(t.schedule) == [] for t in (HF, COVID, HYPERTENSION, COPD))
