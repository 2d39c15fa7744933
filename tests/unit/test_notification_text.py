"""What an escalation message says: no name and no health data unless allowed and secure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.test_escalation import oslo
from triage.domain.notification import DetailLevel
from triage.domain.notification_text import (
    alert_link,
    escalation_message,
    initials,
    receipt_link,
)

RED_AT = oslo(2026, 12, 4, 15, 5)  # Friday, just after closing
DASH = alert_link("https://dho.fjordvik.invalid/", "alert-123")
RECEIPT = receipt_link("https://api.fjordvik.invalid", "tok_abc")


def message(
    *,
    now: datetime = RED_AT,
    detail: DetailLevel = DetailLevel.NONE,
    secure: bool = False,
    red_since: datetime = RED_AT,
) -> tuple[str, str]:
    return escalation_message(
        centre_name="Oppfølgingstjenesten Fjordvik",
        red_since=red_since,
        now=now,
        timezone="Europe/Oslo",
        dashboard_url=DASH,
        receipt_url=RECEIPT,
        detail=detail,
        secure=secure,
        patient_name="Kari Anne Nordmann",
        municipality="Fjordvik",
    )


def test_links_have_the_designed_form() -> None:
    assert DASH == "https://dho.fjordvik.invalid/?alert=alert-123"
    assert RECEIPT == "https://api.fjordvik.invalid/api/v1/notifications/receipt/tok_abc"


def test_default_message_says_only_that_a_red_waits_where_and_since_when() -> None:
    title, body = message()
    assert title == "DHO: rødt varsel venter"
    lines = body.splitlines()
    assert lines == [
        "DHO: 1 rød varsling venter hos Oppfølgingstjenesten Fjordvik siden 15:05 — åpne DHO: "
        + DASH,
        "Bekreft mottatt / confirm receipt: " + RECEIPT,
        "DHO: 1 red alert waiting at Oppfølgingstjenesten Fjordvik since 15:05 — open DHO: " + DASH,
    ]


@pytest.mark.parametrize(
    ("detail", "secure"),
    [
        (DetailLevel.NONE, False),
        (DetailLevel.NONE, True),
        (DetailLevel.INITIALS_MUNICIPALITY, False),
    ],
)
def test_no_name_no_initials_no_value_unless_allowed_and_secure(
    detail: DetailLevel, secure: bool
) -> None:
    title, body = message(detail=detail, secure=secure)
    text = title + "\n" + body
    for forbidden in ("Kari", "Nordmann", "K. N.", "Pasient", "Fjordvik kommune", "SpO2", "%"):
        assert forbidden not in text


def test_initials_and_municipality_only_on_a_secure_target_when_the_centre_allows() -> None:
    _, body = message(detail=DetailLevel.INITIALS_MUNICIPALITY, secure=True)
    assert "Pasient: K. N., Fjordvik kommune" in body.splitlines()
    assert "Kari" not in body
    assert "Nordmann" not in body


def test_the_time_is_local_oslo_time_and_gets_a_date_on_another_day() -> None:
    _, same_day = message(now=oslo(2026, 12, 4, 23, 59))
    assert "siden 15:05 " in same_day
    assert "since 15:05 " in same_day
    _, next_day = message(now=oslo(2026, 12, 5, 0, 1))
    assert "siden 04.12 15:05 " in next_day
    assert "since 2026-12-04 15:05 " in next_day
    _, next_year = message(red_since=oslo(2026, 12, 31, 23, 0), now=oslo(2027, 1, 1, 0, 30))
    assert "siden 31.12.2026 23:00 " in next_year


def test_summer_time_is_shown_in_local_time() -> None:
    _, body = message(
        red_since=datetime(2027, 3, 28, 1, 5, tzinfo=UTC),
        now=datetime(2027, 3, 28, 1, 10, tzinfo=UTC),
    )
    assert "siden 03:05 " in body


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        message(now=datetime(2026, 12, 4, 15, 5))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Kari Anne Nordmann", "K. N."), ("Ola Nordmann", "O. N."), ("Åse", "Å."), ("", "")],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected
