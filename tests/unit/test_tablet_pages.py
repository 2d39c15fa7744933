"""The tablet's pages over real HTTP (uvicorn on a free port, in a thread) over the real outbox,
state store and paired-devices files, with a clock the test sets: questionnaires from their
definition, receipts' colours only, ring meg, messages, manual entry into the outbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gateway.known_devices import KnownDevices
from gateway.outbox import Outbox, ReceiptDetail
from gateway.recorder import Recorder
from gateway.tablet.app import TabletContext, make_app
from gateway.tablet.state import TabletStore
from tests.tablet_sample import ADVICE, OSLO, serve_in_thread, tablet_state
from triage.domain.questionnaires import COPD_DAILY

GATEWAY = "gw-tablet-unit"
# a Wednesday 10:00 in Oslo: the centre (Mon–Fri 08–15) is open
NOW = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, tmp: Path) -> None:
        self.now = NOW
        self.outbox = Outbox(tmp / "outbox.sqlite3")
        self.store = TabletStore(tmp / "tablet.json", GATEWAY)
        self.known = KnownDevices(tmp / "devices.sqlite3")
        self.recorder = Recorder(self.outbox, OSLO, lambda: self.now)
        app = make_app(
            TabletContext(
                store=self.store,
                outbox=self.outbox,
                recorder=self.recorder,
                known=self.known,
                clock=lambda: self.now,
                zone=OSLO,
            )
        )
        self._server = serve_in_thread(app)
        self.client = httpx.Client(base_url=self._server.url, timeout=10)

    def publish_state(self, **kwargs: object) -> None:
        state = tablet_state(GATEWAY, self.now, **kwargs)  # type: ignore[arg-type]
        assert self.store.receive(json.dumps(state).encode())

    def payloads(self, channel: str) -> list[dict[str, object]]:
        rows = self.outbox._db.execute(
            "SELECT payload FROM outbox WHERE channel = ? ORDER BY seq", (channel,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        self.client.close()
        self._server.stop()
        self.outbox.close()
        self.known.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_without_a_state_the_home_page_says_the_plan_has_not_come(world: World) -> None:
    page = world.client.get("/")
    assert page.status_code == 200
    assert "har ikke fått planen din" in page.text


def test_a_questionnaire_is_rendered_from_its_definition_one_question_per_screen(
    world: World,
) -> None:
    world.publish_state()
    first = COPD_DAILY.items[0]
    page = world.client.get("/q/copd-daily")
    assert first.text.nb in page.text
    assert COPD_DAILY.items[1].text.nb not in page.text  # one question per screen
    for option in first.options:
        assert option.label.nb in page.text
        assert f"a_{first.id}={option.value}" in page.text
    world.client.cookies.set("lang", "en")
    english = world.client.get("/q/copd-daily")
    assert first.text.en in english.text
    assert f"Question 1 of {len(COPD_DAILY.items)}" in text_of(english.text)


def test_a_questionnaire_the_plan_does_not_have_is_not_rendered(world: World) -> None:
    world.publish_state()
    page = world.client.get("/q/hf-daily", follow_redirects=False)
    assert page.status_code == 303


def test_answers_go_through_summary_into_the_outbox_as_a_report(world: World) -> None:
    world.publish_state()
    answers = {item.id: item.options[0].value for item in COPD_DAILY.items}
    query = "&".join(f"a_{k}={v}" for k, v in answers.items())
    summary = world.client.get(f"/q/copd-daily?step={len(COPD_DAILY.items)}&{query}")
    assert "Se over svarene dine" in summary.text
    assert COPD_DAILY.items[-1].options[0].label.nb in summary.text
    message_id = re.search(r'name="message_id" value="([^"]+)"', summary.text)
    assert message_id is not None
    form = {f"a_{k}": v for k, v in answers.items()} | {"message_id": message_id.group(1)}
    sent = world.client.post("/q/copd-daily/send", data=form)
    assert "Svarene er lagret og sendes" in sent.text
    world.client.post("/q/copd-daily/send", data=form)  # a second tap: the same id, kept once
    [report] = world.payloads("reports")
    assert report["schema"] == "dho.report/1"
    assert report["questionnaire"] == "copd-daily"
    assert report["answers"] == answers
    assert report["id"] == message_id.group(1)


def test_a_reading_in_the_outbox_shows_no_colour_and_the_safety_text(world: World) -> None:
    world.publish_state()
    world.recorder.typed_reading("r-1", "blood_pressure", {"systolic": 190, "diastolic": 100})
    page = text_of(world.client.get("/").text)
    assert "Sendt, venter på svar fra oppfølgingstjenesten" in page
    assert "Hvis du blir verre, ring legevakt 116 117" in page
    for word in ("Grønn", "Gul", "Rød"):
        assert word not in page
    assert "Sendt til oppfølgingstjenesten ✓" not in page


def test_a_receipt_gives_the_colour_word_and_advice(world: World) -> None:
    world.publish_state()
    world.recorder.typed_reading("r-1", "spo2", {"spo2": 91})
    world.outbox.receipt(
        [("r-1", "stored", None, None)],
        world.now,
        details={
            "r-1": ReceiptDetail("yellow", ADVICE["yellow"], ("patient_typed",)),
        },
    )
    page = text_of(world.client.get("/").text)
    assert "Gul" in page
    assert ADVICE["yellow"]["nb"] in page
    assert "Sendt til oppfølgingstjenesten ✓" in page
    assert "Tastet inn av deg" in page


def test_a_red_receipt_shows_the_red_advice_full_screen_until_read(world: World) -> None:
    # Saturday 22:00 in Oslo: the centre is closed until Monday 08:00
    world.now = datetime(2026, 12, 12, 21, 0, tzinfo=UTC)
    world.publish_state()
    world.recorder.typed_reading("r-9", "spo2", {"spo2": 84})
    world.outbox.receipt(
        [("r-9", "stored", None, None)],
        world.now,
        details={"r-9": ReceiptDetail("red", ADVICE["red"], ())},
    )
    home = world.client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/red/r-9"
    red = text_of(world.client.get("/red/r-9").text)
    assert ADVICE["red"]["nb"] in red
    assert "er stengt nå. Den åpner mandag kl. 08:00" in red
    assert "116 117" in red
    assert "113" in red
    seen = world.client.post("/red/r-9/seen", follow_redirects=False)
    assert seen.cookies.get("red_seen") == "r-9"
    assert world.client.get("/", follow_redirects=False).status_code == 200


def test_ring_meg_keeps_a_call_request_and_says_so_until_the_centre_called(world: World) -> None:
    world.publish_state()
    world.client.post("/call")
    [call] = world.payloads("calls")
    assert call["schema"] == "dho.call-request/1"
    assert set(call) == {"schema", "id", "asked_at"}
    page = text_of(world.client.get("/").text)
    assert "Du har bedt om å bli ringt (kl. 10:00)" in page
    handled = (world.now + timedelta(minutes=20)).isoformat()
    world.now += timedelta(minutes=30)
    world.publish_state(
        call_requests=[
            {
                "id": call["id"],
                "asked_at": call["asked_at"],
                "status": "done",
                "handled_at": handled,
                "handled_by": "Anne Hansen",
            }
        ]
    )
    page = text_of(world.client.get("/").text)
    assert "Oppfølgingstjenesten har ringt deg i dag kl. 10:20 (Anne Hansen)" in page


def test_a_message_shows_until_read_and_the_read_receipt_is_kept(world: World) -> None:
    message = {
        "id": "msg-1",
        "sent_at": NOW.isoformat(),
        "from": "Sykepleier Anne Hansen",
        "text": "Husk å måle blodtrykket før frokost.",
        "read_at": None,
    }
    world.publish_state(messages=[message])
    assert "Husk å måle blodtrykket" in world.client.get("/").text
    world.client.post("/messages/msg-1/read")
    [read] = world.payloads("message-reads")
    assert read["schema"] == "dho.message-read/1"
    assert read["message_id"] == "msg-1"
    assert "Husk å måle blodtrykket" not in world.client.get("/").text


def test_manual_entry_with_the_number_pad_keeps_a_typed_reading(world: World) -> None:
    world.publish_state()
    url = "/manual/body_temperature"
    entry = ""
    for key in ["3", "8", "comma", "5"]:
        page = world.client.get(url, params={"entry": entry, "key": key})
        found = re.search(r'name="entry" value="([^"]*)"', page.text)
        assert found is not None
        entry = found.group(1)
    assert entry == "38,5"
    assert "°C" in page.text
    confirm = world.client.get(url, params={"entry": entry, "key": "next"})
    assert "38,5" in confirm.text
    message_id = re.search(r'name="message_id" value="([^"]+)"', confirm.text)
    assert message_id is not None
    world.client.post(
        f"{url}/save", data={"v_temperature": "38.5", "message_id": message_id.group(1)}
    )
    [reading] = world.payloads("readings")
    assert reading["entry"] == "typed"
    assert reading["values"] == {"temperature": 38.5}
    assert reading["device"] == {"profile": "body_temperature", "model": "manual", "address": None}


def test_manual_entry_refuses_an_implausible_value_on_the_tablet(world: World) -> None:
    world.publish_state()
    page = world.client.get("/manual/spo2", params={"entry": "30", "key": "next"})
    assert "kan ikke stemme" in page.text
    assert world.payloads("readings") == []
    saved = world.client.post("/manual/spo2/save", data={"v_spo2": "30"}, follow_redirects=False)
    assert saved.status_code == 303
    assert world.payloads("readings") == []


def test_the_language_toggle_is_kept_in_a_cookie(world: World) -> None:
    world.publish_state()
    switched = world.client.get("/lang?back=/manual", follow_redirects=False)
    assert switched.headers["location"] == "/manual"
    assert switched.cookies.get("lang") == "en"
    away = world.client.get("/lang?back=//evil.example", follow_redirects=False)
    assert away.headers["location"] == "/"


def test_without_the_centres_phone_the_pages_still_show_the_emergency_numbers(
    world: World,
) -> None:
    world.now = datetime(2026, 12, 12, 21, 0, tzinfo=UTC)
    state = tablet_state(GATEWAY, world.now)
    state["centre"]["phone"] = None
    assert world.store.receive(json.dumps(state).encode())
    world.recorder.typed_reading("r-5", "spo2", {"spo2": 84})
    world.outbox.receipt(
        [("r-5", "stored", None, None)], world.now, details={"r-5": ReceiptDetail("red", None)}
    )
    red_page = world.client.get("/red/r-5").text
    assert ADVICE["red"]["nb"] in text_of(red_page)  # the plan's red advice: the receipt has none
    assert 'href="tel:11611' in red_page
    assert 'href="tel:+47' not in red_page
    world.client.cookies.set("red_seen", "r-5")
    home = world.client.get("/", follow_redirects=False)
    assert home.status_code == 200
    assert "Hei Kari" in home.text
    assert "tel:" not in home.text


def test_another_sites_form_or_host_name_is_refused(world: World) -> None:
    world.publish_state()
    forged = world.client.post("/call", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    assert world.payloads("calls") == []
    rebound = world.client.get("/", headers={"Host": "evil.example"})
    assert rebound.status_code == 403
    own = world.client.post(
        "/call",
        headers={
            "Origin": world.client.base_url.scheme + "://" + world.client.base_url.netloc.decode()
        },
    )
    assert own.status_code in (200, 303)
    assert len(world.payloads("calls")) == 1


def test_before_any_plan_a_waiting_result_still_has_the_safety_text(world: World) -> None:
    world.recorder.typed_reading("r-0", "spo2", {"spo2": 88})
    page = text_of(world.client.get("/").text)
    assert "har ikke fått planen din" in page
    assert "Sendt, venter på svar fra oppfølgingstjenesten" in page
    assert "Hvis du blir verre, ring legevakt 116 117" in page


def test_the_home_pages_version_changes_only_when_what_it_shows_changes(world: World) -> None:
    world.publish_state()
    world.recorder.typed_reading("r-v", "spo2", {"spo2": 95})
    first = world.client.get("/version").text
    assert world.client.get("/version").text == first
    assert f'data-version="{first}"' in world.client.get("/").text
    world.outbox.receipt(
        [("r-v", "stored", None, None)], world.now, details={"r-v": ReceiptDetail("green", None)}
    )
    assert world.client.get("/version").text != first
