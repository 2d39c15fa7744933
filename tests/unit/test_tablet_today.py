"""The tablet's pure logic (gateway/tablet/today.py): today's tasks and their status, results
only with a receipt's colour, the centre's staffed hours in words, calls, messages, devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.outbox import Channel, Result
from gateway.tablet import today
from gateway.tablet.state import CallRequest, Interval, Message, ScheduleItem
from tests.tablet_sample import OSLO, staffed_weekdays

# Wednesday 9 December 2026, 10:00 in Oslo
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=OSLO)
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


def item(
    kind: str, at: str, weekdays: tuple[int, ...] = EVERY_DAY, q: str | None = None
) -> ScheduleItem:
    return ScheduleItem(kind=kind, at=at, weekdays=weekdays, questionnaire=q)


def result(
    kind: str,
    at: datetime,
    status: str | None = None,
    colour: str | None = None,
    *,
    rid: str = "r",
    channel: Channel = Channel.READINGS,
    advice: dict[str, str] | None = None,
) -> Result:
    return Result(rid, channel, kind, at, status, colour, advice, (), None)


def statuses(tasks: list[today.Task]) -> list[tuple[str, str, str]]:
    return [(t.item.task, t.item.at, t.status.value) for t in tasks]


def test_only_items_of_todays_weekday_are_tasks_today() -> None:
    schedule = [item("spo2", "08:00", (3,)), item("body_weight", "07:00", (1, 5))]
    assert statuses(today.tasks_today(schedule, [], NOW, OSLO)) == [("spo2", "08:00", "overdue")]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("12:01", "not_yet"),  # due in more than 2 h
        ("12:00", "now"),  # due in exactly 2 h: the reminder shows
        ("10:01", "now"),  # due in a minute
        ("10:00", "overdue"),  # its due-by time has come
        ("08:00", "overdue"),  # 2 h late
    ],
)
def test_a_task_not_done_is_not_yet_then_now_then_overdue(at: str, expected: str) -> None:
    [task] = today.tasks_today([item("spo2", at)], [], NOW, OSLO)
    assert task.status.value == expected


def test_a_result_today_makes_the_first_slot_of_its_kind_done() -> None:
    schedule = [item("blood_pressure", "08:00"), item("blood_pressure", "20:00")]
    done = [result("blood_pressure", NOW - timedelta(hours=1))]
    assert statuses(today.tasks_today(schedule, done, NOW, OSLO)) == [
        ("blood_pressure", "08:00", "done"),
        ("blood_pressure", "20:00", "not_yet"),
    ]


def test_results_of_yesterday_and_rejected_ones_do_not_count() -> None:
    schedule = [item("spo2", "11:00")]
    kept = [
        result("spo2", NOW - timedelta(days=1)),
        result("spo2", NOW - timedelta(minutes=5), status="rejected"),
    ]
    assert statuses(today.tasks_today(schedule, kept, NOW, OSLO)) == [("spo2", "11:00", "now")]


def test_a_waiting_result_counts_as_done_the_patient_did_it() -> None:
    [task] = today.tasks_today([item("spo2", "09:00")], [result("spo2", NOW)], NOW, OSLO)
    assert task.status is today.TaskStatus.DONE


def test_a_questionnaire_is_done_by_a_report_of_that_questionnaire() -> None:
    schedule = [item("questionnaire", "11:00", q="copd-daily")]
    report = result("copd-daily", NOW, channel=Channel.REPORTS)
    [task] = today.tasks_today(schedule, [report], NOW, OSLO)
    assert task.status is today.TaskStatus.DONE
    [other] = today.tasks_today(schedule, [result("hf-daily", NOW)], NOW, OSLO)
    assert other.status is today.TaskStatus.NOW


def test_today_is_the_local_date_of_the_states_zone() -> None:
    # 23:30 UTC on Tuesday is 00:30 on Wednesday in Oslo: Wednesday's items are due
    late = datetime(2026, 12, 8, 23, 30, tzinfo=UTC)
    tasks = today.tasks_today([item("spo2", "01:15", (3,))], [], late, OSLO)
    assert statuses(tasks) == [("spo2", "01:15", "now")]


def test_reminders_are_the_tasks_due_within_two_hours_or_overdue() -> None:
    schedule = [item("spo2", "07:00"), item("body_weight", "11:30"), item("glucose", "12:30")]
    tasks = today.tasks_today(schedule, [], NOW, OSLO)
    assert [t.item.kind for t in today.reminders(tasks)] == ["spo2", "body_weight"]
    done = today.tasks_today(schedule, [result("body_weight", NOW)], NOW, OSLO)
    assert [t.item.kind for t in today.reminders(done)] == ["spo2"]


def test_a_result_without_a_receipt_has_no_colour_and_needs_the_safety_text() -> None:
    views = today.latest_results([result("spo2", NOW, status=None, colour=None)])
    assert views[0].state is today.ResultState.WAITING
    assert views[0].colour is None
    assert views[0].advice is None
    assert today.needs_safety_text(views)


def test_a_colour_is_shown_only_from_a_stored_receipt() -> None:
    stored = result("spo2", NOW, "stored", "yellow", advice={"nb": "Følg med", "en": "Watch"})
    [view] = today.latest_results([stored])
    assert view.colour == "yellow"
    assert view.advice is not None
    assert view.advice.nb == "Følg med"
    assert not today.needs_safety_text([view])
    # a refused message never shows a colour, even one a row might hold
    [refused] = today.latest_results([result("spo2", NOW, "rejected", "green")])
    assert refused.colour is None
    assert today.needs_safety_text([refused])


def test_the_latest_result_of_each_kind_newest_first_without_calls() -> None:
    kept = [
        result("spo2", NOW - timedelta(hours=3), "stored", "red", rid="old"),
        result("spo2", NOW - timedelta(hours=1), rid="new"),
        result("blood_pressure", NOW - timedelta(hours=2), "stored", "green", rid="bp"),
        result("call_request", NOW, channel=Channel.CALLS, rid="call"),
    ]
    views = today.latest_results(kept)
    assert [(v.kind, v.state.value) for v in views] == [
        ("spo2", "waiting"),  # the newer one: no colour yet, not the old red
        ("blood_pressure", "received"),
    ]


def test_a_fresh_red_not_dismissed_is_shown_full_screen() -> None:
    red = result("spo2", NOW - timedelta(hours=1), "stored", "red", rid="red-1")
    assert today.fresh_red([red], NOW, []) == red
    assert today.fresh_red([red], NOW, ["red-1"]) is None
    assert today.fresh_red([red], NOW + timedelta(hours=24), []) is None
    waiting = result("spo2", NOW, None, "red", rid="w")  # no receipt: never
    assert today.fresh_red([waiting], NOW, []) is None


# --- the centre's hours

STAFFED = [Interval.model_validate(i) for i in staffed_weekdays(NOW)]


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        (datetime(2026, 12, 9, 7, 59, 59, tzinfo=OSLO), False),
        (datetime(2026, 12, 9, 8, 0, tzinfo=OSLO), True),
        (datetime(2026, 12, 9, 14, 59, 59, tzinfo=OSLO), True),
        (datetime(2026, 12, 9, 15, 0, tzinfo=OSLO), False),
        (datetime(2026, 12, 12, 10, 0, tzinfo=OSLO), False),  # Saturday
    ],
)
def test_open_from_the_start_of_an_interval_until_its_end(local: datetime, open_: bool) -> None:
    assert today.is_open(local, STAFFED) is open_


@pytest.mark.parametrize(
    ("local", "nb", "en"),
    [
        (
            datetime(2026, 12, 9, 6, 0, tzinfo=OSLO),
            "Senteret er stengt nå. Den åpner i dag kl. 08:00.",
            "Senteret is closed now. It opens today at 08:00.",
        ),
        (
            datetime(2026, 12, 9, 22, 0, tzinfo=OSLO),
            "Senteret er stengt nå. Den åpner i morgen kl. 08:00.",
            "Senteret is closed now. It opens tomorrow at 08:00.",
        ),
        (
            datetime(2026, 12, 11, 16, 0, tzinfo=OSLO),  # Friday after closing
            "Senteret er stengt nå. Den åpner mandag kl. 08:00.",
            "Senteret is closed now. It opens Monday at 08:00.",
        ),
    ],
)
def test_closed_says_when_it_opens_in_words(local: datetime, nb: str, en: str) -> None:
    assert today.closed_text(local, STAFFED, OSLO, "Senteret", "nb") == nb
    assert today.closed_text(local, STAFFED, OSLO, "Senteret", "en") == en


def test_open_says_nothing_and_an_unknown_opening_says_only_closed() -> None:
    assert today.closed_text(NOW, STAFFED, OSLO, "Senteret", "nb") is None
    assert today.closed_text(NOW, [], OSLO, "Senteret", "nb") == "Senteret er stengt nå."


def test_an_opening_more_than_a_week_away_has_its_date() -> None:
    christmas = [
        Interval.model_validate(
            {
                "from": datetime(2026, 12, 28, 8, tzinfo=OSLO).isoformat(),
                "to": datetime(2026, 12, 28, 15, tzinfo=OSLO).isoformat(),
            }
        )
    ]
    words = today.closed_text(NOW, christmas, OSLO, "Senteret", "nb")
    assert words == "Senteret er stengt nå. Den åpner mandag 28.12. kl. 08:00."


# --- calls, messages, devices


def test_a_call_asked_here_shows_until_the_service_says_it_was_handled() -> None:
    asked = result("call_request", NOW, channel=Channel.CALLS, rid="call-1")
    view = today.call_view([asked], [], NOW)
    assert view == today.CallView(NOW, None, None)
    open_ = CallRequest(id="call-1", asked_at=NOW, status="open")
    assert today.call_view([asked], [open_], NOW) == today.CallView(NOW, None, None)
    handled_at = NOW + timedelta(minutes=20)
    done = CallRequest(
        id="call-1", asked_at=NOW, status="done", handled_at=handled_at, handled_by="Anne"
    )
    assert today.call_view([asked], [done], NOW) == today.CallView(NOW, handled_at, "Anne")
    assert today.call_view([asked], [done], handled_at + timedelta(days=3)) is None


def test_a_message_is_unread_until_read_here_or_by_the_service() -> None:
    message = Message.model_validate(
        {"id": "msg-1", "sent_at": NOW.isoformat(), "from": "Anne", "text": "Hei", "read_at": None}
    )
    assert today.unread_messages([message], []) == [message]
    read_here = result(today.message_read_kind("msg-1"), NOW, channel=Channel.MESSAGE_READS)
    assert today.unread_messages([message], [read_here]) == []
    read_there = message.model_copy(update={"read_at": NOW})
    assert today.unread_messages([read_there], []) == []


def test_devices_in_plain_words() -> None:
    lines = today.device_lines(
        [
            ("blood_pressure", NOW - timedelta(days=2, hours=1), 80),
            ("pulse_oximeter", NOW - timedelta(hours=1), 15),
            ("weight_scale", None, None),
        ],
        NOW,
    )
    words = [[p.nb for p in line.problems] for line in lines]
    assert words == [
        ["Ikke sett på 2 dager. Slå på blodtrykksmåleren og ta en måling."],
        ["Batteriet er nesten tomt (15 %). Bytt eller lad batteriet."],
        ["Ikke brukt ennå. Slå på vekten og ta en måling."],
    ]
