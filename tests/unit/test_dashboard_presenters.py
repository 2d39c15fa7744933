"""What the dashboard says to a nurse: colour as icon and word, reasons in words, Oslo times,
waits in words, triage order, zone bands (pure presenters, no Streamlit, no API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.api_client import (
    AlertAction,
    AlertBrief,
    AlertDetail,
    ApiError,
    CentreEscalation,
    Colleague,
    EscalationStep,
    Finding,
    Gateway,
    GatewayCredentials,
    LastReading,
    Notification,
    NotificationTarget,
    OverviewLook,
    Person,
    Reading,
    StepNotification,
    Text,
    TimelineEntry,
    WorklistItem,
)
from dashboard.i18n import WORDS, t
from dashboard.presenters import (
    DETAIL_LEVELS,
    DIGEST_FREQUENCIES,
    Band,
    Point,
    assigned_text,
    assignee_options,
    attempt_lines,
    bounds_text,
    clock_words,
    closed_hours,
    colour_badge,
    colour_badge_markdown,
    counts,
    credentials_text,
    detail_level_label,
    deviation,
    deviations_by_patient,
    digest_frequency_label,
    duration_words,
    escalation_role_label,
    escalation_steps,
    event_label,
    format_time,
    gateway_rows,
    greens_waiting_text,
    login_refusal,
    markers,
    new_red_patients,
    notification_status,
    notification_views,
    patient_state_label,
    person_text,
    reason_text,
    seconds_words,
    series_by_parameter,
    since_last_look,
    target_rows,
    timeline_rows,
    triage_order,
    values_text,
    worklist_row,
    zone_advice,
    zone_bands,
    zone_of,
)

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # 09:30 in Oslo (CET)
SPO2_ZONES: dict[str, Any] = {"red_low": {"value": 87.0, "inclusive": True}, "yellow_low": 91.0}


def finding(colour: str = "red", nb: str = "SpO2 86 % — rød: ≤ 87 % (plan v3)") -> Finding:
    return Finding(
        rule_id="threshold:spo2",
        rule_type="threshold",
        colour=colour,  # type: ignore[arg-type]
        at=NOW,
        text=Text(nb=nb, en=nb.replace("rød", "red")),
        parameter="spo2",
        value=86,
        plan_version=3,
    )


def alert(colour: str, opened: datetime, *, acknowledged: bool = False) -> AlertBrief:
    return AlertBrief(
        id=f"alert-{colour}-{opened.isoformat()}",
        rule_id="threshold:spo2",
        rule_type="threshold",
        category="clinical",
        colour=colour,  # type: ignore[arg-type]
        state="acknowledged" if acknowledged else "open",
        opened_at=opened,
        last_breach_at=opened,
        breaches=1,
        acknowledged=acknowledged,
        reason=finding(colour),
    )


def item(
    name: str,
    colour: str,
    waiting_since: datetime | None = None,
    *,
    lost_contact: bool = False,
    missing_data: bool = False,
    greens: int = 0,
    nurse: str | None = None,
) -> WorklistItem:
    return WorklistItem(
        patient_id=name,
        display_name=name,
        centre_id="c",
        centre_name="Oppfølgingstjenesten Testvik",
        municipality_name="Testvik",
        state="active",
        colour=colour,  # type: ignore[arg-type]
        waiting_since=waiting_since,
        lost_contact=lost_contact,
        lost_contact_since=NOW - timedelta(days=2) if lost_contact else None,
        missing_data=missing_data,
        alerts=[alert(colour, waiting_since)] if waiting_since and colour != "green" else [],
        greens_waiting=greens,
        assigned_nurse_name=nurse,
    )


@pytest.mark.parametrize(
    ("colour", "language", "expected"),
    [
        ("red", "nb", "🔴 Rød"),
        ("yellow", "nb", "🟡 Gul"),
        ("green", "nb", "🟢 Grønn"),
        ("red", "en", "🔴 Red"),
        ("yellow", "en", "🟡 Yellow"),
        (None, "nb", "⚪ Ikke vurdert"),
    ],
)
def test_a_colour_is_always_an_icon_and_a_word(
    colour: str | None, language: str, expected: str
) -> None:
    """Colour-blind safe: the word is always there next to the icon."""
    assert colour_badge(colour, language) == expected  # type: ignore[arg-type]


def test_the_markdown_badge_carries_the_word_too() -> None:
    assert colour_badge_markdown("red", "nb") == ":red-badge[🔴 Rød]"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (NOW, "09:30"),  # today: only the clock, in Oslo time (UTC+1 in November)
        (datetime(2026, 11, 22, 22, 5, tzinfo=UTC), "22.11 23:05"),
        (datetime(2026, 7, 1, 6, 0, tzinfo=UTC), "01.07 08:00"),  # summer time: UTC+2
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "01.01 00:30"),
        (datetime(2024, 12, 31, 12, 0, tzinfo=UTC), "31.12.2024 13:00"),
        (None, "–"),
    ],
)
def test_times_are_shown_in_oslo_time(at: datetime | None, expected: str) -> None:
    assert format_time(at, NOW) == expected


def test_the_day_boundary_is_oslos_not_utcs() -> None:
    """23:30 UTC on the 22nd is already 00:30 on the 23rd in Oslo: 'today'."""
    assert format_time(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), NOW) == "00:30"


@pytest.mark.parametrize(
    ("elapsed", "nb", "en"),
    [
        (timedelta(seconds=30), "under 1 min", "less than 1 min"),
        (timedelta(minutes=40), "40 min", "40 min"),
        (timedelta(hours=3), "3 t", "3 h"),
        (timedelta(hours=2, minutes=5), "2 t 5 min", "2 h 5 min"),
        (timedelta(days=1, hours=4), "1 døgn 4 t", "1 day 4 h"),
        (timedelta(days=3), "3 døgn", "3 days"),
        (timedelta(minutes=-5), "under 1 min", "less than 1 min"),  # a clock slightly behind
    ],
)
def test_waits_are_said_in_words(elapsed: timedelta, nb: str, en: str) -> None:
    assert duration_words(elapsed, "nb") == nb
    assert duration_words(elapsed, "en") == en


def test_triage_order_is_red_yellow_lost_contact_green_oldest_first() -> None:
    """Red before yellow whatever the wait; within a colour, the longest waiting first; lost
    contact only after yellow and before green."""
    items = [
        item("green", "green"),
        item("yellow-old", "yellow", NOW - timedelta(hours=5)),
        item("lost", "green", lost_contact=True),
        item("red-new", "red", NOW - timedelta(minutes=5)),
        item("yellow-new", "yellow", NOW - timedelta(minutes=1)),
        item("red-old", "red", NOW - timedelta(hours=2)),
    ]
    assert [i.display_name for i in triage_order(items)] == [
        "red-old",
        "red-new",
        "yellow-old",
        "yellow-new",
        "lost",
        "green",
    ]


def test_a_worklist_row_says_why_how_long_and_who() -> None:
    row = worklist_row(
        item("Kari", "red", NOW - timedelta(minutes=40), missing_data=True, nurse="Sykepleier A"),
        NOW,
        "nb",
    )
    assert row.badge == "🔴 Rød"
    assert row.reasons == ("SpO2 86 % — rød: ≤ 87 % (plan v3)",)
    assert row.waiting == "venter 40 min"
    assert row.assigned == "Sykepleier A"
    assert row.markers == ("⏰ Mangler måling",)


def test_lost_contact_says_for_how_long_and_nobody_assigned_is_said() -> None:
    row = worklist_row(item("Ola", "green", lost_contact=True), NOW, "nb")
    assert row.markers == ("📡 Mistet kontakt (2 døgn)",)
    assert row.assigned == "ikke tildelt"
    english = worklist_row(item("Ola", "green", lost_contact=True), NOW, "en")
    assert english.markers == ("📡 Lost contact (2 days)",)


def test_a_new_red_is_one_that_was_not_red_at_the_last_refresh() -> None:
    before = ["red-old"]
    now_items = [item("red-old", "red", NOW), item("red-new", "red", NOW), item("y", "yellow", NOW)]
    assert [i.patient_id for i in new_red_patients(before, now_items)] == ["red-new"]


def test_greens_waiting_are_counted_over_patients() -> None:
    found = counts(
        [
            item("a", "green", greens=2),
            item("b", "green", greens=0),
            item("c", "red", NOW, greens=1),
        ]
    )
    assert (found.greens_waiting, found.patients_with_greens, found.red, found.green) == (
        3,
        2,
        1,
        2,
    )


def test_bands_run_red_yellow_green_from_the_bottom_for_a_low_only_parameter() -> None:
    """SpO2 (COPD): red ≤ 87, yellow ≤ 91, green above."""
    assert zone_bands(SPO2_ZONES, 80, 100) == [
        Band(80, 87, "red"),
        Band(87, 91, "yellow"),
        Band(91, 100, "green"),
    ]


def test_bands_on_both_sides_and_clipped_to_the_chart() -> None:
    pulse = {"red_low": 40, "yellow_low": 50, "yellow_high": 101, "red_high": 131}
    assert zone_bands(pulse, 45, 120) == [
        Band(45, 50, "yellow"),
        Band(50, 101, "green"),
        Band(101, 120, "yellow"),
    ]
    assert zone_bands(pulse, 30, 140) == [
        Band(30, 40, "red"),
        Band(40, 50, "yellow"),
        Band(50, 101, "green"),
        Band(101, 131, "yellow"),
        Band(131, 140, "red"),
    ]


@pytest.mark.parametrize(
    ("value", "colour"),
    [(86, "red"), (87, "red"), (87.1, "yellow"), (91, "yellow"), (91.1, "green"), (99, "green")],
)
def test_a_point_gets_its_own_parameters_zone_bounds_in_the_worse_zone(
    value: float, colour: str
) -> None:
    assert zone_of(SPO2_ZONES, value) == colour


def test_an_exclusive_bound_leaves_its_value_in_the_better_zone() -> None:
    glucose = {"red_low": {"value": 3.0, "inclusive": False}}
    assert (zone_of(glucose, 3.0), zone_of(glucose, 2.9)) == ("green", "red")


def test_series_colour_points_by_their_own_parameter() -> None:
    """SpO2 86 % with pulse 90 is one red reading; the pulse point is green on its own chart."""
    reading = Reading(
        id="r1",
        kind="spo2",
        values={"spo2": 86, "pulse": 90},
        measured_at=NOW,
        colour="red",
    )
    zones = {"spo2": SPO2_ZONES, "pulse": {"yellow_high": 101}}
    assert series_by_parameter([reading], zones) == {
        "spo2": [Point(NOW, 86.0, "red")],
        "pulse": [Point(NOW, 90.0, "green")],
    }


def test_the_plans_advice_for_the_zone_in_the_chosen_language() -> None:
    plan = {
        "actions": {
            "red": {
                "patient": {"nb": "Ring legevakten", "en": "Call out-of-hours"},
                "nurse": {"nb": "Følg opp", "en": "Follow up"},
            }
        }
    }
    assert zone_advice(plan, "red", "nb") == (
        "Ring legevakten",
        "Follow up".replace("Follow up", "Følg opp"),
    )
    assert zone_advice(plan, "red", "en") == ("Call out-of-hours", "Follow up")
    assert zone_advice(plan, "yellow", "nb") == ("–", "–")


def test_the_timeline_reads_newest_first_with_outcomes_in_words() -> None:
    entries = [
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(hours=1),
            event="opened",
            colour="red",
            rule_id="threshold:spo2",
        ),
        TimelineEntry(
            type="alert_action", at=NOW, outcome="phoned_patient", note="Fått hjelp", by="u1"
        ),
    ]
    rows = timeline_rows(entries, NOW, "nb", {"u1": "nurse-a"})
    assert [(r.when, r.what, r.detail, r.by) for r in rows] == [
        ("09:30", "✍ Ringte pasienten", "Fått hjelp", "nurse-a"),
        ("08:30", "⚠ åpnet (Rød)", "Oksygenmetning", ""),
    ]


def test_every_word_has_bokmal_and_english_and_the_domain_words_are_there() -> None:
    assert all(nb and en for nb, en in WORDS.values())
    assert t("plan", "nb") == "Egenbehandlingsplan"
    assert t("centre", "nb") == "Oppfølgingstjeneste"
    assert t("gp", "nb") == "Fastlege"


def test_a_patient_without_alerts_shows_the_latest_readings_instead() -> None:
    quiet = item("Per", "green").model_copy(
        update={
            "last_readings": [
                LastReading(
                    id="g1",
                    kind="glucose",
                    values={"glucose": 6.2},
                    colour="green",
                    measured_at=NOW - timedelta(hours=1),
                )
            ]
        }
    )
    assert worklist_row(quiet, NOW, "nb").reasons == (
        "🟢 Grønn Blodsukker 6,2\u00a0mmol/L · 08:30",
    )


# ----------------------------------------------------------------------------- assignment

COLLEAGUES = [
    Colleague(user_id="u-ab", display_name="Sykepleier AB"),
    Colleague(user_id="u-a", display_name="Sykepleier A"),
    Colleague(user_id="u-aa", display_name="Anne Aas"),
]


def test_the_nurse_herself_is_the_first_choice_then_colleagues_by_name() -> None:
    """Default "me" (with her name), then the others alphabetically; both languages."""
    assert assignee_options(COLLEAGUES, "u-a", "nb") == {
        "u-a": "Meg (Sykepleier A)",
        "u-aa": "Anne Aas",
        "u-ab": "Sykepleier AB",
    }
    assert next(iter(assignee_options(COLLEAGUES, "u-a", "en").values())) == "Me (Sykepleier A)"
    # not in the list (e.g. deactivated meanwhile): still offered first, the API decides
    assert list(assignee_options([], "u-x", "nb").items()) == [("u-x", "Meg")]


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        (None, "ikke tildelt"),
        ("u-a", "tildelt meg"),
        ("u-ab", "tildelt Sykepleier AB"),
        ("u-gone", "tildelt u-gone"),  # not a colleague any more: the id, never nothing
    ],
)
def test_who_has_the_alert_is_said_in_words(user_id: str | None, expected: str) -> None:
    assert assigned_text(user_id, COLLEAGUES, "u-a", "nb") == expected


# ----------------------------------------------------------------------------- gateways


def test_gateways_show_their_state_and_last_contact_usable_ones_first() -> None:
    """Online, offline (never seen) and revoked, in words; a revoked one cannot be changed."""
    gateways = [
        Gateway(
            id="gw-old",
            created_at=NOW - timedelta(days=60),
            revoked_at=NOW - timedelta(days=30),
            last_seen_at=NOW - timedelta(days=31),
        ),
        Gateway(
            id="gw-hub",
            created_at=NOW - timedelta(days=29),
            online=True,
            last_seen_at=NOW - timedelta(minutes=5),
        ),
        Gateway(id="gw-app", created_at=NOW - timedelta(days=1)),
    ]
    rows = gateway_rows(gateways, NOW, "nb")
    assert [(r.gateway_id, r.state, r.last_seen, r.can_change) for r in rows] == [
        ("gw-app", "⚪ ikke tilkoblet", "aldri", True),
        ("gw-hub", "🟢 tilkoblet", "09:25 (5 min)", True),
        ("gw-old", "⛔ trukket tilbake 24.10 10:30", "23.10 10:30 (31 døgn)", False),
    ]
    assert gateway_rows(gateways, NOW, "en")[2].state == "⛔ revoked 24.10 10:30"  # CEST


def test_credentials_are_one_setting_a_line() -> None:
    credentials = GatewayCredentials(
        gateway_id="gw-1",
        secret="s3cr3t-s3cr3t-s3cr3t",  # noqa: S106 - a made-up secret
        http_token="gw-1:s3cr3t-s3cr3t-s3cr3t",  # noqa: S106
        mqtt_username="gw-1",
        mqtt_topic_prefix="dho/v1/gw-1",
        note="shown once",
    )
    assert credentials_text(credentials).splitlines() == [
        "gateway_id: gw-1",
        "secret: s3cr3t-s3cr3t-s3cr3t",
        "mqtt_username: gw-1",
        "mqtt_topic_prefix: dho/v1/gw-1",
        "http_token: gw-1:s3cr3t-s3cr3t-s3cr3t",
    ]


# ----------------------------------------------------------------------------- GP


def test_since_the_last_look_is_the_stored_look_or_a_week() -> None:
    seen = NOW - timedelta(hours=20)
    assert since_last_look(OverviewLook(seen_through=seen, marked_at=seen), NOW) == seen
    assert since_last_look(OverviewLook(), NOW) == NOW - timedelta(days=7)


def _detail(alert_id: str, patient_id: str, opened: datetime) -> AlertDetail:
    return AlertDetail(
        id=alert_id,
        patient_id=patient_id,
        rule_id="threshold:spo2",
        colour="red",
        state="open",
        opened_at=opened,
        reason=finding(),
        actions=[AlertAction(at=opened, outcome="phoned_patient", by_username="nurse-a")],
    )


def test_one_answer_of_deviations_is_grouped_per_patient_oldest_first() -> None:
    alerts = [
        _detail("a2", "p1", NOW - timedelta(hours=1)),
        _detail("b1", "p2", NOW - timedelta(hours=3)),
        _detail("a1", "p1", NOW - timedelta(hours=2)),
    ]
    grouped = deviations_by_patient(alerts)
    assert {p: [a.id for a in found] for p, found in grouped.items()} == {
        "p1": ["a1", "a2"],
        "p2": ["b1"],
    }


def test_a_list_answer_without_history_reads_as_no_events_and_no_actions() -> None:
    """The API answers null for events and actions unless asked for history."""
    detail = AlertDetail.model_validate(
        {
            **_detail("a1", "p1", NOW).model_dump(mode="json"),
            "events": None,
            "actions": None,
        }
    )
    assert (detail.events, detail.actions) == ([], [])


# ------------------------------------------------------------------- escalation (issue 16)

FRIDAY = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 15:00 in Oslo
#: internal ids as the API hands them out: none may show on a bokmål page
IDS = ("ntf-7f3a9c", "tgt-41b2", "alert-9d1e", "esc-3")


def _target(
    role: str, label: str, *, active: bool = True, secure: bool = False
) -> NotificationTarget:
    return NotificationTarget(
        id=f"tgt-{role}",
        role=role,
        label=label,
        channel="mailto",
        secure=secure,
        active=active,
        url_masked="mailto://l…@fjordvik.invalid",
    )


def _escalation(
    *targets: NotificationTarget,
    role: str | None = "after_hours",
    after_hours: tuple[str, ...] = (),
) -> CentreEscalation:
    """The API's answer (``GET /centres/{id}/escalation``), its policy nested."""
    return CentreEscalation.model_validate(
        {
            "centre_id": "c-1",
            "centre_name": "Oppfølgingstjenesten Fjordvik",
            "policy": {"on_call_after_min": 30, "second_nurse_after_min": 15, "detail": "none"},
            "policy_problem": None,
            "targets": [x.model_dump() for x in targets],
            "roles_without_target": [],
            "after_hours_role": role,
            "after_hours_receivers": list(after_hours),
        }
    )


@pytest.mark.parametrize(
    ("role", "nb", "en"),
    [
        ("on_call_nurse", "vakthavende sykepleier", "on-call nurse"),
        ("second_nurse", "andre sykepleier", "second nurse"),
        (
            "after_hours",
            "legevakt/hjemmesykepleie (utenfor åpningstid)",
            "after-hours service (legevakt/home care)",
        ),
        ("centre_lead", "leder for oppfølgingstjenesten", "lead of the follow-up centre"),
        ("fallback", "reserve", "fallback"),
    ],
)
def test_each_chain_role_has_its_norwegian_name(role: str, nb: str, en: str) -> None:
    assert escalation_role_label(role, "nb") == nb
    assert escalation_role_label(role, "en") == en


def _step_notification(**changes: Any) -> StepNotification:
    fields: dict[str, Any] = {
        "id": "ntf-7f3a9c",
        "recipient": "Legevakten Fjordvik",
        "channel": "mailto",
        "status": "pending",
        "attempts": 0,
    }
    return StepNotification(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "nb", "en"),
    [
        (
            {"status": "sent", "attempts": 1, "sent_at": FRIDAY + timedelta(minutes=5)},
            "📨 sendt kl. 15:05 (1 forsøk)",
            "📨 sent at 15:05 (1 attempt)",
        ),
        (
            {"status": "dead", "attempts": 6, "last_error": "451 try later"},
            "⛔ feilet etter 6 forsøk – ring mottakeren",
            "⛔ failed after 6 attempts – phone the receiver",
        ),
        (
            {"status": "cancelled"},
            "⏹ stoppet fordi varselet ble kvittert",
            "⏹ stopped: acknowledged",
        ),
        (
            {
                "status": "sent",
                "attempts": 2,
                "sent_at": FRIDAY,
                "received_at": FRIDAY + timedelta(minutes=12),
            },
            "✅ mottatt kl. 15:12",
            "✅ received at 15:12",
        ),
        (
            {"status": "pending", "attempts": 2},
            "⏳ venter på nytt forsøk (2 forsøk)",
            "⏳ waiting to retry (2 attempts)",
        ),
        ({}, "⏳ venter på sending", "⏳ waiting to be sent"),
    ],
)
def test_a_receivers_status_is_said_in_words(changes: dict[str, Any], nb: str, en: str) -> None:
    found = _step_notification(**changes)
    assert notification_status(found, FRIDAY + timedelta(minutes=20), "nb") == nb
    assert notification_status(found, FRIDAY + timedelta(minutes=20), "en") == en


def test_a_time_on_another_day_carries_its_date() -> None:
    assert clock_words(FRIDAY, FRIDAY + timedelta(days=1), "nb") == "04.12 kl. 15:00"
    # summer time: 13:05 UTC is 15:05 in Oslo
    summer = datetime(2026, 6, 5, 13, 5, tzinfo=UTC)
    assert clock_words(summer, summer, "nb") == "kl. 15:05"


def test_a_providers_answer_time_has_a_decimal_comma_in_bokmal() -> None:
    assert seconds_words(1234, "nb") == "1,2 s"
    assert seconds_words(1234, "en") == "1.2 s"
    assert seconds_words(40, "nb") == "0,0 s"


def test_the_escalation_steps_say_when_to_whom_each_status_and_what_the_patient_was_told() -> None:
    told = Text(nb="Ring legevakt på 116 117 nå.", en="Call 116 117 now.")
    steps = [
        EscalationStep(
            step=1,
            role="centre_lead",
            created_at=FRIDAY + timedelta(minutes=30),
            notifications=[],
        ),
        EscalationStep(
            step=0,
            role="after_hours",
            created_at=FRIDAY + timedelta(minutes=5),
            due_since=FRIDAY,
            patient_instruction=told,
            notifications=[
                _step_notification(
                    status="sent", attempts=1, sent_at=FRIDAY + timedelta(minutes=5)
                ),
                _step_notification(
                    id="ntf-2",
                    recipient="Hjemmesykepleien natt",
                    channel="json",
                    status="dead",
                    attempts=6,
                    last_error="503 Service Unavailable",
                ),
            ],
        ),
    ]
    views = escalation_steps(steps, FRIDAY + timedelta(hours=1), "nb")
    assert [(v.when, v.to) for v in views] == [
        ("kl. 15:05", "legevakt/hjemmesykepleie (utenfor åpningstid)"),
        ("kl. 15:30", "leder for oppfølgingstjenesten"),
    ]
    assert views[0].receivers == (
        "Legevakten Fjordvik (e-post): 📨 sendt kl. 15:05 (1 forsøk)",
        "Hjemmesykepleien natt (webhook): ⛔ feilet etter 6 forsøk – ring mottakeren"
        " — 503 Service Unavailable",
    )
    assert views[0].patient_told == "Ring legevakt på 116 117 nå."
    assert views[1].receivers == ("⚠️ ingen mottaker er satt opp – ikke sendt til noen",)
    text = repr(views)
    assert not [i for i in (*IDS, "ntf-2") if i in text]


def test_a_message_stopped_by_anothers_receipt_says_who_confirmed() -> None:
    """The after-hours service confirmed receipt through the link: the lead's pending message
    was stopped because of that, not because a nurse acknowledged."""
    steps = [
        EscalationStep(
            step=0,
            role="after_hours",
            created_at=FRIDAY,
            notifications=[
                _step_notification(
                    status="sent",
                    attempts=1,
                    sent_at=FRIDAY,
                    received_at=FRIDAY + timedelta(minutes=3),
                )
            ],
        ),
        EscalationStep(
            step=1,
            role="centre_lead",
            created_at=FRIDAY + timedelta(minutes=15),
            notifications=[_step_notification(id="ntf-2", recipient="Leder", status="cancelled")],
        ),
    ]
    views = escalation_steps(steps, FRIDAY + timedelta(hours=1), "nb")
    assert views[0].receivers == ("Legevakten Fjordvik (e-post): ✅ mottatt kl. 15:03",)
    assert views[1].receivers == (
        "Leder (e-post): ⏹ stoppet fordi Legevakten Fjordvik bekreftet mottak",
    )


def test_closed_hours_name_the_configured_after_hours_receiver() -> None:
    settings = _escalation(
        _target("after_hours", "Legevakten Fjordvik"), after_hours=("Legevakten Fjordvik",)
    )
    found = closed_hours(settings, "", "mandag 07.12 08:00", "nb")
    assert found.text == (
        "Utenfor bemannet tid: åpner mandag 07.12 08:00. Røde varsler som ingen kvitterer, "
        "sendes til Legevakten Fjordvik."
    )
    assert not found.warning


def test_closed_hours_without_an_after_hours_receiver_warn_and_promise_nothing() -> None:
    """No after-hours receiver: a warning; with a lead, the chain goes on to the lead at once;
    with nobody at all, reds wait here; without the settings, no promise either."""

    inactive = _escalation(_target("after_hours", "Legevakten", active=False), role=None)
    nobody = closed_hours(inactive, "", "i morgen 08:00", "nb")
    assert nobody.warning
    assert nobody.text == (
        "Utenfor bemannet tid: åpner i morgen 08:00. Ingen mottaker utenfor åpningstid er satt "
        "opp: røde varsler blir liggende her til i morgen 08:00."
    )
    only_lead = _escalation(
        _target("centre_lead", "Leder Fjordvik"),
        role="centre_lead",
        after_hours=("Leder Fjordvik",),
    )
    assert only_lead.on_call_after_min == 30
    lead = closed_hours(only_lead, "", "x", "nb")
    assert lead.warning
    assert "Ingen mottaker utenfor åpningstid er satt opp" in lead.text
    assert "sendes til Leder Fjordvik (leder for oppfølgingstjenesten)" in lead.text
    unknown = closed_hours(None, "", "i morgen 08:00", "nb")
    assert unknown.warning
    for found in (nobody, lead, unknown):
        assert "legevakt/hjemmesykepleie" not in found.text  # no promise nobody backs
    two = _escalation(after_hours=("Legevakten Fjordvik", "Hjemmesykepleien"))
    assert closed_hours(two, "", "x", "en").text.endswith(
        "are sent to Legevakten Fjordvik and Hjemmesykepleien."
    )


def test_technical_alerts_about_notifications_get_readable_titles() -> None:
    undelivered = Finding(
        rule_id="notification_undelivered",
        rule_type="technical",
        colour="red",
        at=NOW,
        text=Text(
            nb="Varsel om rødt varsel kom ikke fram til Legevakten etter 6 forsøk – ring "
            "mottakeren",
            en="The message about a red alert did not reach Legevakten after 6 attempts",
        ),
    )
    assert reason_text(undelivered, "nb") == (
        "📨 Varsling kom ikke fram: Varsel om rødt varsel kom ikke fram til Legevakten etter "
        "6 forsøk – ring mottakeren"
    )
    empty = undelivered.model_copy(
        update={"rule_id": "notification_no_receiver", "text": Text(nb="", en="")}
    )
    assert reason_text(empty, "nb") == (
        "📨 Varsling ikke sendt: Ingen mottaker for varsling er satt opp – rødt varsel er ikke "
        "sendt til noen"
    )


def test_a_notification_alert_alone_is_not_lost_contact() -> None:
    """The API flags any open technical alert as lost contact; the worklist does not say
    "Mistet kontakt" for an alert about a notification."""
    technical = alert("red", NOW).model_copy(
        update={"category": "technical", "rule_id": "notification_undelivered"}
    )
    item = WorklistItem(**{**_item_fields(), "lost_contact": True, "alerts": [technical]})
    assert "Mistet kontakt" not in " ".join(markers_of(item))
    assert counts([item]).lost_contact == 0
    lost = technical.model_copy(update={"rule_id": "lost_contact", "colour": "yellow"})
    item = WorklistItem(**{**_item_fields(), "lost_contact": True, "alerts": [technical, lost]})
    assert counts([item]).lost_contact == 1


def test_a_journal_alert_is_named_and_is_not_lost_contact() -> None:
    """A closed alert that never reached the record system: its own title in bokmål, and the
    worklist does not call it lost contact with the home."""
    finding = Finding(
        rule_id="journal_undelivered", rule_type="journal", colour="yellow", at=NOW, reason=""
    )
    assert reason_text(finding, "nb") == (
        "📨 Journalføring feilet: Lukket varsel ble ikke journalført – kontakt driftsansvarlig"
    )
    assert reason_text(finding, "en").startswith("📨 Not recorded in the journal: ")
    technical = alert("yellow", NOW).model_copy(
        update={"category": "technical", "rule_id": "journal_undelivered"}
    )
    item = WorklistItem(**{**_item_fields(), "lost_contact": True, "alerts": [technical]})
    assert "Mistet kontakt" not in " ".join(markers_of(item))
    assert counts([item]).lost_contact == 0


def _item_fields() -> dict[str, Any]:
    return {
        "patient_id": "p-1",
        "display_name": "Kari Nordmann",
        "centre_id": "c-1",
        "centre_name": "Oppfølgingstjenesten Fjordvik",
        "municipality_name": "Fjordvik",
        "state": "active",
        "colour": "green",
    }


def markers_of(item: WorklistItem) -> tuple[str, ...]:
    return markers(item, NOW, "nb")


def test_sent_notifications_read_in_bokmal_without_internal_ids() -> None:
    found = Notification.model_validate(
        {
            "id": "ntf-7f3a9c",
            "kind": "escalation",
            "alert_id": "alert-9d1e",
            "patient_id": "p-1",
            "patient_name": "Kari Nordmann",
            "recipient": "Legevakten Fjordvik",
            "role": "after_hours",
            "channel": "mailto",
            "status": "sent",
            "created_at": FRIDAY.isoformat(),
            "sent_at": (FRIDAY + timedelta(minutes=1)).isoformat(),
            "attempts": 2,
            "attempt_log": [
                {
                    "at": FRIDAY.isoformat(),
                    "ok": False,
                    "answer": "451 try later",
                    "duration_ms": 412,
                },
                {
                    "at": (FRIDAY + timedelta(minutes=1)).isoformat(),
                    "ok": True,
                    "answer": "250 OK",
                    "duration_ms": 1530,
                },
            ],
        }
    )
    (view,) = notification_views([found], FRIDAY + timedelta(hours=1), "nb")
    assert (view.kind, view.patient, view.recipient, view.status, view.attempts) == (
        "Eskalering",
        "Kari Nordmann",
        "Legevakten Fjordvik – legevakt/hjemmesykepleie (utenfor åpningstid)",
        "📨 sendt kl. 15:01 (2 forsøk)",
        "2 forsøk",
    )
    assert attempt_lines(found, FRIDAY + timedelta(hours=1), "nb") == [
        "15:00 ❌ 0,4 s — 451 try later",
        "15:01 ✅ 1,5 s — 250 OK",
    ]
    (row,) = target_rows([_target("after_hours", "Legevakten Fjordvik", secure=True)], "nb")
    assert (row.label, row.role, row.channel, row.address, row.secure, row.active) == (
        "Legevakten Fjordvik",
        "legevakt/hjemmesykepleie (utenfor åpningstid)",
        "e-post",
        "mailto://l…@fjordvik.invalid",
        "Ja",
        "Ja",
    )
    shown = repr((view.when, view.kind, view.patient, view.recipient, view.status)) + repr(
        (row.label, row.role, row.channel, row.address)
    )
    assert not [i for i in IDS if i in shown]


def test_every_new_text_is_in_both_languages() -> None:
    for level in DETAIL_LEVELS:
        assert detail_level_label(level, "nb") != detail_level_label(level, "en")
    assert [digest_frequency_label(f, "nb") for f in DIGEST_FREQUENCIES] == [
        "Ingen e-post",
        "Daglig (kl. 07:00)",
        "Ukentlig (mandag kl. 07:00)",
    ]
    assert "closed_now" not in WORDS  # the old promise ("går til legevakt") is gone
    assert t("n_sent", "nb", at="kl. 15:05", tries="1 forsøk") == "sendt kl. 15:05 (1 forsøk)"


def test_the_timeline_names_kinds_questionnaires_and_rules_in_words_not_ids() -> None:
    """ "🔴 Rød · Blodsukker", not "· glucose"; a questionnaire by its title; an alert event
    without a note names what it is about, never "threshold:glucose" or a plan's rule id; the
    reason is the one the API wrote in the person's language."""
    said = "Blodsukker 2,6\u00a0mmol/L – rød: under 3\u00a0mmol/L (egenbehandlingsplan versjon 1)"
    low = finding(nb="stale stored words").model_copy(
        update={"reason": said, "rule_id": "threshold:glucose", "parameter": "glucose"}
    )
    entries = [
        TimelineEntry(type="reading", at=NOW, kind="glucose", colour="red", findings=[low]),
        TimelineEntry(
            type="report",
            at=NOW - timedelta(minutes=5),
            questionnaire="hf-daily",
            score=2,
            colour="yellow",
        ),
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(minutes=10),
            event="acknowledged",
            colour="red",
            rule_id="threshold:glucose",
        ),
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(minutes=20),
            event="opened",
            colour="yellow",
            rule_id="weight-3-days",
        ),
        TimelineEntry(  # as stored before reasons were data: the finding's English words
            type="alert_event",
            at=NOW - timedelta(minutes=30),
            event="opened",
            colour="red",
            rule_id="threshold:glucose",
            note="Blood glucose 2.6 mmol/L — red: < 3 mmol/L (plan v1)",
        ),
    ]
    rows = timeline_rows(entries, NOW, "nb")
    assert [(r.what, r.detail) for r in rows] == [
        ("🔴 Rød · Blodsukker", said),
        ("🟡 Gul · Daglig hjertesviktsjekk (2)", ""),
        (f"⚠ {event_label('acknowledged', 'nb')} (Rød)", "Blodsukker"),
        (f"⚠ {event_label('opened', 'nb')} (Gul)", ""),
        (f"⚠ {event_label('opened', 'nb')} (Rød)", "Blodsukker"),
    ]


# ----------------------------------------------------------------------------- people and numbers

KARI = Person(user_id="u-k", username="kari", display_name="Kari Nordmann", role="nurse")
EVA = Person(user_id="u-e", username="lege3", display_name="Eva Lege", role="gp")


def test_people_are_named_with_their_role_never_by_username() -> None:
    assert person_text(KARI, "kari", "nb") == "Kari Nordmann (sykepleier)"
    assert person_text(EVA, "lege3", "nb") == "Eva Lege (fastlege)"
    assert person_text(KARI, "kari", "en") == "Kari Nordmann (Nurse)"
    # an older answer without the person: the username rather than nothing
    assert person_text(None, "kari", "nb") == "kari"
    assert person_text(None, None, "nb") == "?"


def test_the_timeline_names_who_acted_and_keeps_the_services_english_notes_off() -> None:
    entries = [
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(hours=2),
            event="opened",
            colour="red",
            rule_id="threshold:spo2",
            note="SpO2 86 % — red: ≤ 87 % (plan v3)",
        ),
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(hours=1),
            event="acknowledged",
            colour="red",
            rule_id="threshold:spo2",
            by="kari",
            by_person=KARI,
        ),
        TimelineEntry(
            type="alert_event",
            at=NOW - timedelta(minutes=30),
            event="assigned",
            colour="red",
            by="kari",
            by_person=KARI,
            note="assigned to kari",
        ),
        TimelineEntry(
            type="alert_action",
            at=NOW,
            outcome="phoned_patient",
            note="Fått hjelp",
            by="u-k",
            by_person=KARI,
        ),
    ]
    rows = timeline_rows(entries, NOW, "nb")
    assert [(r.what, r.detail, r.by) for r in rows] == [
        ("✍ Ringte pasienten", "Fått hjelp", "Kari Nordmann (sykepleier)"),
        ("⚠ tildelt (Rød)", "", "Kari Nordmann (sykepleier)"),
        # no note written: what the alert is about, in words (never "threshold:spo2")
        ("⚠ kvittert ut (Rød)", "Oksygenmetning", "Kari Nordmann (sykepleier)"),
        ("⚠ åpnet (Rød)", "Oksygenmetning", ""),
    ]


def test_a_deviation_says_who_did_what_by_name_and_role() -> None:
    handled = _detail("a1", "p1", NOW - timedelta(hours=1)).model_copy(
        update={
            "actions": [
                AlertAction(
                    at=NOW - timedelta(minutes=50),
                    outcome="phoned_patient",
                    by_username="kari",
                    by_person=KARI,
                )
            ],
            "acknowledged_at": NOW - timedelta(minutes=55),
            "acknowledged_by": "kari",
            "acknowledged_by_person": KARI,
        }
    )
    assert deviation(handled, NOW, "nb").centre_did == (
        "08:40 Ringte pasienten – Kari Nordmann (sykepleier)",
        "08:35 kvittert ut – Kari Nordmann (sykepleier)",
    )


def test_green_values_have_units_and_a_decimal_comma() -> None:
    nbsp = "\u00a0"
    assert values_text({"spo2": 93, "pulse": 81}, "nb") == (
        f"Oksygenmetning 93{nbsp}%, Puls 81/min"
    )
    assert values_text({"temperature": 38.1}, "nb") == f"Temperatur 38,1{nbsp}°C"
    assert values_text({"spo2": 93, "pulse": 81}, "en") == ("Oxygen saturation 93%, Pulse 81/min")


def test_greens_waiting_reads_as_a_sentence_with_singular_and_plural() -> None:
    many = counts([item("A", "green", greens=2), item("B", "green", greens=1)])
    one = counts([item("A", "green", greens=1)])
    assert (
        greens_waiting_text(many, "nb") == "3 grønne målinger venter på kvittering hos 2 pasienter"
    )
    assert greens_waiting_text(one, "nb") == "1 grønn måling venter på kvittering hos 1 pasient"
    assert greens_waiting_text(many, "en") == (
        "3 green readings waiting for acknowledgement from 2 patients"
    )


def test_bounds_use_the_decimal_comma() -> None:
    zones = {"red_low": {"value": 3.0, "inclusive": False}, "yellow_low": 3.9}
    assert bounds_text(zones, "nb") == ("< 3", "≤ 3,9")
    assert bounds_text(zones, "en") == ("< 3", "≤ 3.9")


def test_the_timeline_names_what_was_measured_and_the_questionnaire_never_the_code() -> None:
    entries = [
        TimelineEntry(type="reading", at=NOW, kind="spo2", colour="red", values={"spo2": 86}),
        TimelineEntry(type="report", at=NOW, questionnaire="copd-daily", colour="green", score=0),
        TimelineEntry(type="report", at=NOW, questionnaire="egen-sjekk", colour="green"),
    ]
    assert [r.what for r in timeline_rows(entries, NOW, "nb")] == [
        "🔴 Rød · Oksygenmetning",
        "🟢 Grønn · Daglig KOLS-sjekk (0)",
        "🟢 Grønn · Skjema",
    ]
    assert timeline_rows(entries[:1], NOW, "en")[0].what == "🔴 Red · Oxygen saturation"


def test_a_refused_login_says_why_in_bokmal() -> None:
    wrong = ApiError(401, "Unauthorized", "wrong username or password")
    assert login_refusal(wrong, "nb") == "Feil brukernavn eller passord."
    assert login_refusal(ApiError(429, "Too Many Requests"), "nb").startswith("For mange forsøk")


def test_a_patients_state_is_said_in_words() -> None:
    assert [patient_state_label(s, "nb") for s in ("trial", "active", "paused")] == [
        "prøveperiode",
        "i oppfølging",
        "på pause",
    ]
    assert patient_state_label("discharged", "en") == "discharged"
