"""What the worklist says about staffed hours, from the centre's calendar as the API answers it:
closed now and when it opens, a holiday today or soon, and what arrived since closing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from dashboard.api_client import (
    AlertBrief,
    CentreEscalation,
    ClosedDay,
    ServiceHours,
    Text,
    WorklistItem,
)
from dashboard.presenters import OSLO
from dashboard.staffed_hours import (
    day_words,
    hours_notice,
    hours_notices,
    since_closing,
    when_words,
)
from tests.unit.test_dashboard_presenters import finding

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # Monday 09:30 in Oslo
FRIDAY_CLOSING = datetime(2026, 11, 20, 15, tzinfo=OSLO)
CHRISTMAS = ClosedDay(date=date(2026, 12, 25), name=Text(nb="Første juledag", en="Christmas Day"))


def hours(**changes: Any) -> ServiceHours:
    """Centre A on Monday morning by the default calendar: open 08–15."""
    values: dict[str, Any] = {
        "centre_id": "a",
        "centre_name": "Oppfølgingstjenesten Testvik",
        "opens": time(8),
        "closes": time(15),
        "open_now": True,
        "today": date(2026, 11, 23),
        "today_opens_at": datetime(2026, 11, 23, 8, tzinfo=OSLO),
        "today_closes_at": datetime(2026, 11, 23, 15, tzinfo=OSLO),
        "next_opening": NOW,
        "last_closing": FRIDAY_CLOSING,
        "closed_days": [CHRISTMAS],
    }
    return ServiceHours.model_validate({**values, **changes})


def patient(name: str, centre: str, opened: datetime | None) -> WorklistItem:
    alerts = (
        [
            AlertBrief(
                id=f"alert-{name}",
                rule_id="threshold:spo2",
                rule_type="threshold",
                category="clinical",
                colour="red",
                state="open",
                opened_at=opened,
                last_breach_at=opened,
                breaches=1,
                acknowledged=False,
                reason=finding(),
            )
        ]
        if opened
        else []
    )
    return WorklistItem(
        patient_id=name,
        display_name=name,
        centre_id=centre,
        centre_name=centre,
        municipality_name="Testvik",
        state="active",
        colour="red" if opened else "green",
        alerts=alerts,
    )


@pytest.mark.parametrize(
    ("at", "language", "expected"),
    [
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "nb", "i dag 08:00"),
        (datetime(2026, 11, 24, 6, 30, tzinfo=UTC), "nb", "i morgen 07:30"),
        (datetime(2026, 11, 24, 6, 30, tzinfo=UTC), "en", "tomorrow 07:30"),
        (FRIDAY_CLOSING, "nb", "fredag 20.11 15:00"),
        (FRIDAY_CLOSING, "en", "Friday 20.11 15:00"),
        # late Sunday evening UTC is already Monday in Oslo
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "nb", "i dag 00:30"),
    ],
)
def test_times_are_said_as_a_nurse_says_them(at: datetime, language: str, expected: str) -> None:
    """Today, tomorrow, or the weekday and date, in Oslo time."""
    assert when_words(at, NOW, language) == expected  # type: ignore[arg-type]


def test_a_day_next_week_is_named_by_its_weekday() -> None:
    assert day_words(date(2026, 12, 25), date(2026, 11, 23), "nb") == "fredag 25.12"


def test_open_the_notice_gives_todays_hours() -> None:
    """Open: today's hours, nothing closed today, no closed weekday in the next 14 days."""
    notice = hours_notice(hours(), NOW, "nb", name_centre=False)
    assert (notice.open_now, notice.headline) == (True, "Bemannet i dag 08:00–15:00")
    assert (notice.closed_today, notice.next_closed_day, notice.problem) == (None, None, None)


LEGEVAKT = CentreEscalation(after_hours_receivers=["Legevakten Testvik"])


def test_closed_the_notice_says_when_it_opens_and_where_reds_really_go() -> None:
    """The receivers the centre has set up, by name; none: a warning that reds wait here."""
    closed = hours(open_now=False, next_opening=datetime(2026, 11, 24, 7, 30, tzinfo=OSLO))
    notice = hours_notice(closed, NOW, "nb", name_centre=False, escalation=LEGEVAKT)
    assert notice.headline == (
        "Utenfor bemannet tid: åpner i morgen 07:30. Røde varsler som ingen kvitterer, sendes "
        "til Legevakten Testvik."
    )
    assert not notice.nobody_after_hours
    nobody = hours_notice(closed, NOW, "nb", name_centre=False, escalation=CentreEscalation())
    assert nobody.headline == (
        "Utenfor bemannet tid: åpner i morgen 07:30. Ingen mottaker utenfor åpningstid er satt "
        "opp: røde varsler blir liggende her til i morgen 07:30."
    )
    assert nobody.nobody_after_hours


def test_a_holiday_today_is_named_in_both_languages() -> None:
    """Christmas Day: closed today, by its name; a local closure is called one."""
    christmas = hours(
        open_now=False,
        today=date(2026, 12, 25),
        today_closed=CHRISTMAS,
        next_opening=datetime(2026, 12, 28, 8, tzinfo=OSLO),
    )
    at = datetime(2026, 12, 25, 9, tzinfo=OSLO)
    assert hours_notice(christmas, at, "nb", name_centre=False).closed_today == (
        "Stengt i dag: Første juledag"
    )
    assert hours_notice(christmas, at, "en", name_centre=False).closed_today == (
        "Closed today: Christmas Day"
    )
    local = christmas.model_copy(update={"today_closed": ClosedDay(date=date(2026, 12, 25))})
    assert hours_notice(local, at, "nb", name_centre=False).closed_today == (
        "Stengt i dag: lokal stengning"
    )


def test_a_closed_weekday_within_two_weeks_is_mentioned() -> None:
    """On 14 December, Christmas Day (11 days ahead) is mentioned; on 23 November it is not."""
    at = datetime(2026, 12, 14, 9, tzinfo=OSLO)
    notice = hours_notice(hours(today=date(2026, 12, 14)), at, "nb", name_centre=False)
    assert notice.next_closed_day == "Neste stengte hverdag: fredag 25.12 (Første juledag)"


def test_a_nurse_of_two_centres_sees_each_by_name_closed_first() -> None:
    closed = hours(
        centre_id="b",
        centre_name="Oppfølgingstjenesten Prøvestad",
        open_now=False,
        next_opening=datetime(2026, 11, 24, 8, tzinfo=OSLO),
    )
    notices = hours_notices([hours(), closed], NOW, "en", {"b": LEGEVAKT})
    assert [n.headline for n in notices] == [
        "Outside staffed hours — Oppfølgingstjenesten Prøvestad: opens tomorrow 08:00. Red "
        "alerts nobody acknowledges are sent to Legevakten Testvik.",
        "Staffed today 08:00–15:00 — Oppfølgingstjenesten Testvik",
    ]


def test_a_calendar_the_api_could_not_read_is_passed_on() -> None:
    notice = hours_notice(hours(calendar_problem="cannot be read"), NOW, "nb", name_centre=False)
    assert notice.problem == "cannot be read"


def test_since_closing_lists_each_open_centres_patients_with_alerts_since_it_closed() -> None:
    """Friday 15:00 is the line: an alert at 15:00 sharp counts, one at 14:59 does not; a
    closed centre's patients and patients without alerts are not listed."""
    items = [
        patient("at-closing", "a", FRIDAY_CLOSING),
        patient("before", "a", FRIDAY_CLOSING - timedelta(minutes=1)),
        patient("quiet", "a", None),
        patient("at-b", "b", NOW - timedelta(hours=1)),
    ]
    closed_b = hours(centre_id="b", open_now=False)
    [found] = since_closing([hours(), closed_b], items)
    assert (found.centre_id, found.closed_at) == ("a", FRIDAY_CLOSING)
    assert [i.patient_id for i in found.items] == ["at-closing"]
    assert since_closing([hours()], [patient("quiet", "a", None)]) == []
