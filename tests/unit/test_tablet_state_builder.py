"""The tablet state (``dho.tablet/1``) built from values, no database and no clock: staffed
hours across a holiday and a daylight-saving change, which messages and call requests show,
the plan's schedule and questionnaires, and the JSON the gateway gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from triage.domain.service_hours import ServiceCalendar
from triage.domain.templates import copd as copd_plan
from triage.ingest.tablet import (
    CallFacts,
    CentreFacts,
    MessageFacts,
    TabletState,
    build_tablet_state,
    staffed_intervals,
)

OSLO = ZoneInfo("Europe/Oslo")
CALENDAR = ServiceCalendar()  # Monday to Friday 08:00–15:00 Europe/Oslo, Norwegian holidays


def _spans(now: datetime) -> list[tuple[str, str]]:
    return [(i.from_.isoformat(), i.to.isoformat()) for i in staffed_intervals(CALENDAR, now)]


def test_staffed_hours_skip_christmas_and_new_year_and_stop_after_14_days() -> None:
    """On Monday 21 December at 10:00 the tablet lists today (open now) to Thursday, then 28–31
    December and Monday 4 January: Christmas Day, Boxing Day, New Year's Day and weekends are
    closed, and nothing after 14 days."""
    now = datetime(2026, 12, 21, 10, 0, tzinfo=OSLO)
    days = [start[:10] for start, _ in _spans(now)]
    assert days == [
        "2026-12-21",
        "2026-12-22",
        "2026-12-23",
        "2026-12-24",
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
        "2026-12-31",
        "2027-01-04",
    ]
    assert _spans(now)[0] == ("2026-12-21T08:00:00+01:00", "2026-12-21T15:00:00+01:00")


def test_staffed_hours_keep_local_times_across_the_change_to_winter_time() -> None:
    """Summer time ends on Sunday 25 October 2026: Friday's hours are 08–15 at +02:00, Monday's
    08–15 at +01:00 (an hour later in UTC). After closing on Thursday, Thursday is gone."""
    now = datetime(2026, 10, 22, 15, 0, tzinfo=OSLO)  # closing time exactly: closed
    spans = _spans(now)
    assert spans[:2] == [
        ("2026-10-23T08:00:00+02:00", "2026-10-23T15:00:00+02:00"),
        ("2026-10-26T08:00:00+01:00", "2026-10-26T15:00:00+01:00"),
    ]
    monday = staffed_intervals(CALENDAR, now)[1]
    assert monday.from_.astimezone(UTC).hour == 7


def _state(now: datetime, messages: list[MessageFacts], calls: list[CallFacts]) -> TabletState:
    return build_tablet_state(
        gateway_id="gw-kari",
        now=now,
        timezone="Europe/Oslo",
        patient_name="Kari Nordmann",
        centre=CentreFacts(name="Fjordvik", phone="+47 22 00 00 00", calendar=CALENDAR),
        plan=copd_plan(),
        messages=messages,
        calls=calls,
    )


def test_messages_and_call_requests_shown_are_the_recent_ones_newest_first() -> None:
    """Unread messages always show, read ones for 7 days, at most 20; an open call request
    shows, handled ones for 2 days, at most 5."""
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    day = timedelta(days=1)
    messages = [
        MessageFacts("msg-old-unread", now - 30 * day, "Anne", "a", None),
        MessageFacts("msg-read-6d", now - 8 * day, "Anne", "b", now - 6 * day),
        MessageFacts("msg-read-8d", now - 9 * day, "Anne", "c", now - 8 * day),
        *(
            MessageFacts(f"msg-{i:02d}", now - i * timedelta(minutes=1), "Anne", "d", None)
            for i in range(1, 20)
        ),
    ]
    calls = [
        CallFacts("call-open", now - 3 * day, None, None),
        CallFacts("call-done-1d", now - 2 * day, now - day, "Anne Hansen"),
        CallFacts("call-done-3d", now - 4 * day, now - 3 * day, "Anne Hansen"),
    ]
    state = _state(now, messages, calls)
    shown = [m.id for m in state.messages]
    assert len(shown) == 20
    assert shown[:2] == ["msg-01", "msg-02"]
    assert "msg-read-6d" in shown
    assert "msg-read-8d" not in shown
    assert "msg-old-unread" not in shown  # the 21st newest of 21 shown-worthy: cut at 20
    assert [(c.id, c.status) for c in state.call_requests] == [
        ("call-done-1d", "done"),
        ("call-open", "open"),
    ]


def test_the_state_on_the_wire_has_the_contract_fields() -> None:
    """The JSON the gateway gets: first name only, the centre's phone, the plan's schedule item
    per kind with its due time, the questionnaire definitions and the advice per colour."""
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    wire = json.loads(_state(now, [], []).to_json())
    assert wire["schema"] == "dho.tablet/1"
    assert wire["issued_at"] == "2026-12-07T10:00:00+01:00"
    assert wire["patient"] == {"first_name": "Kari"}
    assert wire["centre"]["phone"] == "+47 22 00 00 00"
    assert wire["centre"]["staffed"][0] == {
        "from": "2026-12-07T08:00:00+01:00",
        "to": "2026-12-07T15:00:00+01:00",
    }
    plan = copd_plan()
    kinds = [i["kind"] for i in wire["plan"]["schedule"]]
    assert kinds == [
        k
        for item in plan.schedule.items
        for k in [
            *(x.value for x in item.kinds),
            *(["questionnaire"] if item.questionnaire else []),
        ]
    ]
    first = plan.schedule.items[0]
    assert wire["plan"]["schedule"][0]["at"] == first.due_by.strftime("%H:%M")
    assert wire["plan"]["schedule"][0]["weekdays"] == list(first.days)
    assert wire["plan"]["advice"]["red"] == plan.actions["red"].patient.model_dump()  # type: ignore[index]
    assert [n["number"] for n in wire["plan"]["emergency_numbers"]] == ["116 117", "113"]
    assert TabletState.model_validate_json(json.dumps(wire)).gateway_id == "gw-kari"
