"""The GP's digest: which period is due when, what counts as a non-acute deviation, the words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour
from triage.domain.gp_digest import (
    AlertFact,
    DigestCounts,
    DigestPeriod,
    count_deviations,
    digest_key,
    digest_message,
    due_period,
    period_words,
)
from triage.domain.notification import DigestFrequency
from triage.notify.channel import digest_url

OSLO = ZoneInfo("Europe/Oslo")
DAILY = DigestFrequency.DAILY
WEEKLY = DigestFrequency.WEEKLY
HOUR = timedelta(hours=1)


def oslo(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=OSLO)


def period(frequency: DigestFrequency, now: datetime) -> DigestPeriod:
    found = due_period(frequency, now)
    assert found is not None
    return found


# ----------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("now", "first", "last"),
    [
        (oslo(2026, 12, 7, 6, 59), date(2026, 11, 23), date(2026, 11, 29)),
        (oslo(2026, 12, 7, 7, 0), date(2026, 11, 30), date(2026, 12, 6)),
        (oslo(2026, 12, 13, 23, 59), date(2026, 11, 30), date(2026, 12, 6)),
        (oslo(2026, 12, 14, 7, 0), date(2026, 12, 7), date(2026, 12, 13)),
    ],
)
def test_weekly_digest_is_due_monday_at_seven_for_the_week_before(
    now: datetime, first: date, last: date
) -> None:
    """At Monday 06:59 the GP still has the week before last; at 07:00 last week is due."""
    found = period(WEEKLY, now)
    assert (found.first_day, found.last_day) == (first, last)
    assert found.start == datetime.combine(first, datetime.min.time(), tzinfo=OSLO)
    assert found.end == datetime.combine(last + timedelta(days=1), datetime.min.time(), OSLO)
    assert found.due_at == oslo(last.year, last.month, last.day, 7) + timedelta(days=1)
    assert found.due_at <= now


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (oslo(2026, 12, 7, 6, 59), date(2026, 12, 5)),
        (oslo(2026, 12, 7, 7, 0), date(2026, 12, 6)),
        (oslo(2026, 12, 7, 23, 59), date(2026, 12, 6)),
        (oslo(2026, 12, 8, 0, 0), date(2026, 12, 6)),
    ],
)
def test_daily_digest_is_due_at_seven_for_the_day_before(now: datetime, day: date) -> None:
    found = period(DAILY, now)
    assert (found.first_day, found.last_day) == (day, day)
    assert found.due_at == datetime.combine(day + timedelta(days=1), datetime.min.time(), OSLO) + (
        7 * HOUR
    )


def test_periods_are_local_days_across_daylight_saving_changes() -> None:
    """The autumn week has 169 hours, the spring week 167; 07:00 stays 07:00 on the wall."""
    autumn = period(WEEKLY, oslo(2026, 10, 26, 7, 0))
    assert (autumn.start, autumn.end) == (
        datetime(2026, 10, 18, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
    )
    assert autumn.end - autumn.start == 169 * HOUR
    assert autumn.due_at == datetime(2026, 10, 26, 6, 0, tzinfo=UTC)
    spring = period(WEEKLY, oslo(2026, 3, 30, 7, 0))
    assert spring.end - spring.start == 167 * HOUR
    assert spring.due_at == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)
    long_sunday = period(DAILY, oslo(2026, 10, 26, 7, 0))
    assert long_sunday.last_day == date(2026, 10, 25)
    assert long_sunday.end - long_sunday.start == 25 * HOUR
    # on the Monday after the spring change 05:00 UTC is 07:00 CEST (due); 04:59 UTC is 06:59
    assert period(WEEKLY, datetime(2026, 3, 30, 4, 59, tzinfo=UTC)).last_day == date(2026, 3, 22)
    assert period(WEEKLY, datetime(2026, 3, 30, 5, 0, tzinfo=UTC)).last_day == date(2026, 3, 29)


def test_periods_across_the_new_year() -> None:
    """ISO week 53 of 2026 ends in 2027; new year's eve is its own day."""
    week = period(WEEKLY, oslo(2027, 1, 4, 7, 0))
    assert (week.first_day, week.last_day) == (date(2026, 12, 28), date(2027, 1, 3))
    assert period_words(week, oslo(2027, 1, 4, 7, 0)) == (
        "i uke 53 (28. desember 2026–3. januar 2027)",
        "in week 53 (28 December 2026–3 January 2027)",
    )
    eve = period(DAILY, oslo(2027, 1, 1, 7, 0))
    assert (eve.first_day, eve.start) == (date(2026, 12, 31), oslo(2026, 12, 31))
    assert period(DAILY, oslo(2027, 1, 1, 6, 59)).last_day == date(2026, 12, 30)


@given(
    now=st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis draws naive, then UTC
        max_value=datetime(2029, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    frequency=st.sampled_from([DAILY, WEEKLY]),
)
@example(now=datetime(2026, 3, 28, 6, 0, tzinfo=UTC), frequency=DAILY)  # the 23-hour Sunday next
@example(now=datetime(2026, 10, 26, 5, 59, tzinfo=UTC), frequency=WEEKLY)  # 06:59 after 169 h
def test_every_instant_has_the_latest_due_period_of_whole_local_days(
    now: datetime, frequency: DigestFrequency
) -> None:
    """Whatever the instant: the period is whole local days ending before it, due at 07:00 on
    the wall clock, and the one before is what was due a moment before its due time."""
    found = period(frequency, now)
    start, end, due = (t.astimezone(OSLO) for t in (found.start, found.end, found.due_at))
    assert found.due_at <= now
    assert (start.time(), end.time(), due.time()) == (time(0), time(0), time(7))
    assert (start.date(), end.date(), due.date()) == (
        found.first_day,
        found.last_day + timedelta(days=1),
        found.last_day + timedelta(days=1),
    )
    days = 7 if frequency is WEEKLY else 1
    assert (found.last_day - found.first_day).days == days - 1
    assert abs(found.end - found.start - days * 24 * HOUR) <= HOUR
    if frequency is WEEKLY:
        assert found.first_day.weekday() == 0
    next_due = datetime.combine(due.date() + timedelta(days=days), time(7), OSLO)
    assert period(frequency, next_due - timedelta(microseconds=1)) == found
    assert period(frequency, next_due).start == found.end
    before = period(frequency, found.due_at - timedelta(microseconds=1))
    assert before.end == found.start


def test_no_digest_has_no_period_and_a_naive_now_is_refused() -> None:
    assert due_period(DigestFrequency.NONE, oslo(2026, 12, 7, 8)) is None
    with pytest.raises(ValueError, match="aware"):
        due_period(DAILY, datetime(2026, 12, 7, 8))  # noqa: DTZ001


def test_the_dedupe_key_differs_per_gp_frequency_and_period() -> None:
    """Switching from daily to weekly on a Monday still sends the week (same start, new key)."""
    monday_daily = period(DAILY, oslo(2026, 12, 8, 7))
    week = period(WEEKLY, oslo(2026, 12, 14, 7))
    assert monday_daily.start == week.start
    keys = {
        digest_key("gp-a", monday_daily),
        digest_key("gp-a", week),
        digest_key("gp-b", week),
        digest_key("gp-a", period(WEEKLY, oslo(2026, 12, 21, 7))),
    }
    assert len(keys) == 4
    assert digest_key("gp-a", week) == "digest:gp-a:weekly:2026-12-06T23:00:00+00:00"


# ----------------------------------------------------------------------------- counts

WEEK = period(WEEKLY, oslo(2026, 12, 7, 7))  # 30 November – 6 December 2026
IN_WEEK = oslo(2026, 12, 2, 14)


def fact(
    patient: str = "p1",
    gp: str | None = "gp-a",
    colour: Colour = Colour.YELLOW,
    state: AlertState = AlertState.OPEN,
    rule_type: str = "threshold",
    category: AlertCategory = AlertCategory.CLINICAL,
    opened_at: datetime = IN_WEEK,
) -> AlertFact:
    return AlertFact(
        patient_id=patient,
        gp_user_id=gp,
        category=category,
        rule_type=rule_type,
        colour=colour,
        state=state,
        opened_at=opened_at,
    )


def test_counts_yellow_missing_and_handled_reds_of_the_gps_own_patients() -> None:
    facts = [
        fact("p1"),
        fact("p1", state=AlertState.ACKNOWLEDGED),
        fact("p2", rule_type="missing"),
        fact("p3", colour=Colour.RED, state=AlertState.ACKNOWLEDGED),
        fact("p3", colour=Colour.RED, state=AlertState.RESOLVED),
    ]
    assert count_deviations(facts, "gp-a", WEEK) == DigestCounts(
        yellow=2, missing=1, red_handled=2, patients=3
    )


def test_another_gps_patient_is_never_counted() -> None:
    facts = [fact("p1"), fact("p9", gp="gp-b"), fact("p8", gp=None)]
    assert count_deviations(facts, "gp-a", WEEK) == DigestCounts(yellow=1, patients=1)
    assert count_deviations(facts, "gp-b", WEEK) == DigestCounts(yellow=1, patients=1)


def test_unhandled_reds_and_technical_alerts_are_not_non_acute_deviations() -> None:
    """An open red is the centre's acute work; lost contact is about equipment."""
    facts = [
        fact("p1", colour=Colour.RED),
        fact("p1", colour=Colour.RED, rule_type="missing"),
        fact("p2", category=AlertCategory.TECHNICAL, rule_type="lost_contact"),
    ]
    assert count_deviations(facts, "gp-a", WEEK) == DigestCounts()
    assert count_deviations(facts, "gp-a", WEEK).total == 0


def test_only_alerts_opened_in_the_period_count() -> None:
    facts = [
        fact("p1", opened_at=WEEK.start),
        fact("p2", opened_at=WEEK.end - timedelta(microseconds=1)),
        fact("p3", opened_at=WEEK.start - timedelta(microseconds=1)),
        fact("p4", opened_at=WEEK.end),
    ]
    assert count_deviations(facts, "gp-a", WEEK) == DigestCounts(yellow=2, patients=2)


# ----------------------------------------------------------------------------- words


def test_weekly_message_in_bokmal_then_english_with_counts_and_the_overview_link() -> None:
    counts = DigestCounts(yellow=2, missing=1, red_handled=1, patients=3)
    title, body = digest_message(counts, WEEK, oslo(2026, 12, 7, 7), "https://dho.fjordvik.no/")
    assert title == "DHO: ukentlig oppsummering, uke 49 / weekly summary, week 49"
    assert body.splitlines() == [
        "DHO: 4 avvik fra plan hos 3 av dine pasienter i uke 49 (30. november–6. desember)"
        " — åpne DHO: https://dho.fjordvik.no/",
        "Gule varsler: 2 · manglende målinger: 1 · røde varsler håndtert av "
        "oppfølgingstjenesten: 1.",
        "Navn og måleverdier sendes ikke på e-post; du ser dem når du logger inn. Du får denne "
        "e-posten fordi du har valgt ukentlig oppsummering i DHO.",
        "",
        "DHO: 4 deviations from plan in 3 of your patients in week 49 (30 November–6 December)"
        " — open DHO: https://dho.fjordvik.no/",
        "Yellow alerts: 2 · missing measurements: 1 · red alerts handled by the follow-up "
        "centre: 1.",
        "Names and values are not sent by e-mail; you see them when you log in. You get this "
        "e-mail because you chose a weekly summary in DHO.",
    ]


def test_daily_message_says_yesterday_or_the_date_when_sent_later() -> None:
    day = period(DAILY, oslo(2026, 12, 5, 7))  # Friday 4 December
    counts = DigestCounts(yellow=1, patients=1)
    title, body = digest_message(counts, day, oslo(2026, 12, 5, 7, 15), "http://localhost:8501")
    assert title == "DHO: daglig oppsummering / daily summary"
    assert body.startswith(
        "DHO: 1 avvik fra plan hos 1 av dine pasienter i går — åpne DHO: http://localhost:8501/\n"
    )
    assert "DHO: 1 deviation from plan in 1 of your patients yesterday — open DHO:" in body
    assert period_words(day, oslo(2026, 12, 6, 9)) == (
        "fredag 4. desember",
        "on Friday 4 December",
    )
    same_month = period(WEEKLY, oslo(2026, 12, 14, 7))
    assert period_words(same_month, oslo(2026, 12, 14, 7)) == (
        "i uke 50 (7.–13. desember)",
        "in week 50 (7–13 December)",
    )


def test_the_message_carries_counts_only() -> None:
    """No name, no value, no rule and no patient id: the mail is not a secure channel."""
    counts = count_deviations([fact("pat-kari-nordmann", rule_type="threshold")], "gp-a", WEEK)
    title, body = digest_message(counts, WEEK, oslo(2026, 12, 7, 7), "https://dho.example.no")
    for word in ("kari", "nordmann", "threshold", "pat-", "gp-a", "mmHg"):
        assert word not in (title + body).lower()


# ----------------------------------------------------------------------------- e-mail address


def test_digest_url_sends_to_the_gps_address_only() -> None:
    """The operator's URL keeps its server and login; its own to= gives way to the GP's."""
    base = "mailtos://dho:hemmelig@smtp.example.no:587?from=dho@example.no&to=drift@example.no"
    assert digest_url(base, " lege@fjordvik.invalid ") == (
        "mailtos://dho:hemmelig@smtp.example.no:587?from=dho@example.no&to=lege@fjordvik.invalid"
    )
    assert digest_url("mailto://smtp.example.no", "a@b.no") == "mailto://smtp.example.no?to=a@b.no"
    # an address cannot add parameters of its own
    assert digest_url("mailto://smtp.example.no?TO=x@y.no", "a@b.no&bcc=z@evil.no") == (
        "mailto://smtp.example.no?to=a@b.no%26bcc%3Dz@evil.no"
    )
