"""The patient's tablet in a real browser: the real gateway process (``python -m gateway run``,
its tablet pages on a free port) and the real Mosquitto, with this test in the service's place —
it publishes the retained ``dho.tablet/1`` state and the receipts, and reads what the gateway
publishes. Chromium (``/usr/bin/chromium``) through Playwright, as the project's other browser
tests.

On every page: axe-core (bundled in ``axe-playwright-python``, no network) finds 0 serious or
critical violations; every link and button is at least 44 × 44 CSS px; with the text at 200 %
in a 640 px wide window nothing overflows sideways. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS, chromium_page
from tests.services import ServiceAddress
from tests.tablet_sample import ADVICE, OSLO, SAFETY, tablet_state
from triage.broker.embedded import free_port
from triage.domain.questionnaires import COPD_DAILY

pytestmark = pytest.mark.mosquitto
DEADLINE_S = 30.0
MIN_TARGET_PX = 44


class FakeService:
    """The service's side of the broker for one gateway: publishes the retained tablet state and
    receipts, and collects what the gateway publishes (by topic's last part)."""

    def __init__(self, address: ServiceAddress, prefix: str, gateway_id: str) -> None:
        self.root = f"{prefix}dho/v1/{gateway_id}"
        self.received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"svc-{uuid.uuid4().hex[:8]}",
        )
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        for channel in ("readings", "reports", "calls", "message-reads"):
            self.client.subscribe(f"{self.root}/{channel}", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.received.put((message.topic.rsplit("/", 1)[1], json.loads(message.payload)))

    def publish_state(self, state: dict[str, Any]) -> None:
        info = self.client.publish(f"{self.root}/tablet", json.dumps(state), qos=1, retain=True)
        info.wait_for_publish(10)

    def receipt(self, *items: dict[str, Any]) -> None:
        receipt = {
            "schema": "dho.receipt/1",
            "gateway_id": self.root.rsplit("/", 1)[1],
            "issued_at": datetime.now(UTC).isoformat(),
            "items": list(items),
        }
        self.client.publish(f"{self.root}/receipts", json.dumps(receipt), qos=1).wait_for_publish(
            10
        )

    def next(self, channel: str) -> dict[str, Any]:
        """The next message the gateway published on ``channel`` (republishes skipped)."""
        give_up = time.monotonic() + DEADLINE_S
        while time.monotonic() < give_up:
            try:
                got, payload = self.received.get(timeout=0.5)
            except queue.Empty:
                continue
            if got == channel:
                return payload
        raise AssertionError(f"nothing published on {channel} in {DEADLINE_S} s")

    def close(self) -> None:
        self.client.publish(f"{self.root}/tablet", b"", qos=1, retain=True).wait_for_publish(10)
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def gateway(
    tmp_path: Path, mosquitto_address: ServiceAddress
) -> Iterator[tuple[str, str, Path, FakeService]]:
    """The gateway process serving its tablet pages; (url, gateway id, data dir, service)."""
    gateway_id = f"gw-tablet-{uuid.uuid4().hex[:8]}"
    prefix = f"t{uuid.uuid4().hex[:12]}/"
    port = free_port()
    data_dir = tmp_path / "gateway"
    service = FakeService(mosquitto_address, prefix, gateway_id)
    env = {
        **os.environ,
        "DHO_GATEWAY_GATEWAY_ID": gateway_id,
        "DHO_GATEWAY_MQTT_HOST": mosquitto_address.host,
        "DHO_GATEWAY_MQTT_PORT": str(mosquitto_address.port),
        "DHO_GATEWAY_TOPIC_PREFIX": prefix,
        "DHO_GATEWAY_DATA_DIR": str(data_dir),
        "DHO_GATEWAY_DRAIN_EVERY_S": "0.1",
        "DHO_GATEWAY_TABLET_PORT": str(port),
    }
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + DEADLINE_S
        while True:
            assert process.poll() is None, f"the gateway exited:\n{log.read_text()}"
            assert time.monotonic() < give_up, f"no tablet pages:\n{log.read_text()}"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, gateway_id, data_dir, service
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        service.close()
        print(log.read_text())  # noqa: T201 - shown by pytest when the test fails


@pytest.fixture
def tablet() -> Iterator[Page]:
    """A tablet-sized Chromium page (800×1280), Norwegian."""
    with chromium_page(800, 1280) as page:
        yield page


AXE = Axe()
CHECKED: list[str] = []


def check_page(page: Page, name: str) -> None:
    """Screenshot; axe: 0 serious/critical; targets ≥ 44 px; 200 % text, 640 px: no overflow."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tablet-{name}.png"), full_page=True)
    results = AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: axe found {bad}"
    small = page.evaluate(
        """(min) => [...document.querySelectorAll('a, button, input:not([type=hidden])')]
            .filter(e => !e.closest('.visually-hidden'))
            .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
            .filter(([, r]) => r.width < min || r.height < min)
            .map(([t, r]) => `${t}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        MIN_TARGET_PX,
    )
    assert small == [], f"{name}: touch targets under {MIN_TARGET_PX} px: {small}"
    shift = page.evaluate(
        """() => new Promise(resolve => {
            let total = 0;
            const seen = new PerformanceObserver(list => {
                for (const entry of list.getEntries()) {
                    if (!entry.hadRecentInput) total += entry.value;
                }
            });
            seen.observe({type: 'layout-shift', buffered: true});
            setTimeout(() => { seen.disconnect(); resolve(total); }, 300);
        })"""
    )
    assert shift == 0, f"{name}: the layout shifted while loading (CLS {shift})"
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": 640, "height": 1000})
    page.evaluate("document.documentElement.style.fontSize = '250%'")  # 200 % of our 125 %
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(ARTIFACTS / f"tablet-{name}-200.png"), full_page=True)
    page.evaluate("document.documentElement.style.fontSize = ''")
    page.set_viewport_size(size)
    assert overflow <= 0, f"{name}: at 200 % text the page overflows sideways by {overflow} px"
    CHECKED.append(name)


def outbox_ids(data_dir: Path) -> set[str]:
    with sqlite3.connect(f"file:{data_dir / 'outbox.sqlite3'}?mode=ro", uri=True) as db:
        return {r[0] for r in db.execute("SELECT id FROM outbox WHERE state = 'pending'")}


def wait_for(predicate: Any) -> None:
    give_up = time.monotonic() + DEADLINE_S
    while not predicate():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.1)


def test_the_patient_uses_the_tablet_without_a_keyboard(
    gateway: tuple[str, str, Path, FakeService], tablet: Page
) -> None:
    url, gateway_id, data_dir, service = gateway
    now = datetime.now(UTC)
    local = now.astimezone(OSLO)
    due = max(local - timedelta(minutes=10), local.replace(hour=0, minute=0))
    at = due.strftime("%H:%M")
    every_day = [1, 2, 3, 4, 5, 6, 7]
    # staffed from two hours from now: closed now, and the tablet must say when it opens
    opens = now + timedelta(hours=2)
    staffed = [{"from": opens.isoformat(), "to": (opens + timedelta(hours=7)).isoformat()}]
    message = {
        "id": "msg-1",
        "sent_at": (now - timedelta(hours=1)).isoformat(),
        "from": "Sykepleier Anne Hansen",
        "text": "Husk å ta med blodtrykksmåleren til kontrollen på fredag.",
        "read_at": None,
    }
    schedule = [
        {"kind": "spo2", "weekdays": every_day, "at": at},
        {"kind": "questionnaire", "questionnaire": "copd-daily", "weekdays": every_day, "at": at},
    ]
    state = tablet_state(gateway_id, now, staffed=staffed, schedule=schedule, messages=[message])
    service.publish_state(state)
    wait_for(lambda: "Hei Kari" in httpx.get(url, timeout=5).text)
    tablet.goto(url)
    # measured, not asserted (a loaded machine is slow): the numbers go to the artefacts
    load_ms = tablet.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventEnd - n.startTime; })()"
    )
    served_ms = []
    for _ in range(20):
        started = time.perf_counter()
        httpx.get(url, timeout=5)
        served_ms.append((time.perf_counter() - started) * 1000)
    timing = {
        "first_page_load_ms": round(load_ms),
        "home_served_median_ms": round(sorted(served_ms)[10]),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "tablet-timing.json").write_text(json.dumps(timing))
    body = tablet.locator("main")
    assert "Påminnelse" in body.inner_text()  # the reminder at the scheduled time
    assert "Husk å ta med blodtrykksmåleren" in body.inner_text()
    check_page(tablet, "home")

    # the nurse's message: read → dho.message-read/1
    tablet.get_by_role("button", name="Jeg har lest den").click()
    read = service.next("message-reads")
    assert (read["schema"], read["message_id"]) == ("dho.message-read/1", "msg-1")
    assert "Husk å ta med blodtrykksmåleren" not in tablet.locator("main").inner_text()

    # a questionnaire from its definition, one question per screen, summary, send
    tablet.get_by_role("link", name="Svar på").first.click()
    for number, item in enumerate(COPD_DAILY.items):
        assert item.text.nb in tablet.locator("h2").inner_text()
        if number == 0:
            check_page(tablet, "question")
        tablet.get_by_role("link", name=item.options[0].label.nb, exact=True).click()
    assert "Se over svarene dine" in tablet.locator("h1").inner_text()
    check_page(tablet, "summary")
    tablet.get_by_role("button", name="Send svarene").click()
    report = service.next("reports")
    assert report["schema"] == "dho.report/1"
    assert report["questionnaire"] == "copd-daily"
    assert report["answers"] == {item.id: item.options[0].value for item in COPD_DAILY.items}
    tablet.get_by_role("link", name="Til forsiden").last.click()

    # a reading typed on the pad; no receipt yet: no colour, the safety text
    tablet.get_by_role("link", name="Skriv inn en måling selv").click()
    check_page(tablet, "manual-kinds")
    tablet.get_by_role("link", name="Oksygenmetning").click()
    for key in "84":
        tablet.get_by_role("button", name=key, exact=True).click()
    check_page(tablet, "manual-pad")
    tablet.get_by_role("button", name="Neste →").click()
    tablet.get_by_role("button", name="Hopp over").click()  # the pulse may be skipped
    check_page(tablet, "manual-confirm")
    tablet.get_by_role("button", name="Lagre målingen").click()
    reading = service.next("readings")
    assert reading["entry"] == "typed"
    assert reading["values"] == {"spo2": 84.0}
    assert reading["device"] == {"profile": "spo2", "model": "manual", "address": None}
    tablet.get_by_role("link", name="Til forsiden").last.click()
    waiting = tablet.locator("main").inner_text()
    assert "Sendt, venter på svar fra oppfølgingstjenesten" in waiting
    assert SAFETY["nb"] in waiting
    for colour in ("Grønn", "Gul", "Rød"):
        assert colour not in waiting
    assert "Sendt til oppfølgingstjenesten ✓" not in waiting
    check_page(tablet, "waiting")

    # the receipts come: the report is green, the reading red → red advice full screen
    service.receipt(
        {
            "id": report["id"],
            "type": "report",
            "status": "stored",
            "colour": "green",
            "advice": ADVICE["green"],
            "flags": [],
        },
        {
            "id": reading["id"],
            "type": "reading",
            "status": "stored",
            "colour": "red",
            "advice": ADVICE["red"],
            "flags": ["patient_typed"],
        },
    )
    wait_for(lambda: reading["id"] not in outbox_ids(data_dir))
    tablet.goto(url)
    assert tablet.url.endswith(f"/red/{reading['id']}")
    red = tablet.locator("main").inner_text()
    assert ADVICE["red"]["nb"] in red
    assert "Oppfølgingstjenesten Fjordvik er stengt nå. Den åpner" in red
    assert "116 117" in red
    assert "113" in red
    check_page(tablet, "red")
    tablet.get_by_role("button", name="Jeg har forstått").click()
    home = tablet.locator("main").inner_text()
    assert "Sendt til oppfølgingstjenesten ✓" in home
    assert "Grønn" in home
    assert ADVICE["green"]["nb"] in home
    assert "Påminnelse" not in home  # both tasks done: the reminders are gone

    # ring meg → dho.call-request/1; the tablet says so until the centre says it called
    tablet.get_by_role("button", name="Ring meg").click()
    call = service.next("calls")
    assert call["schema"] == "dho.call-request/1"
    asked = datetime.fromisoformat(call["asked_at"]).astimezone(OSLO).strftime("%H:%M")
    assert f"Du har bedt om å bli ringt (kl. {asked})" in tablet.locator("main").inner_text()
    check_page(tablet, "called")
    service.receipt({"id": call["id"], "type": "call_request", "status": "stored"})
    wait_for(lambda: call["id"] not in outbox_ids(data_dir))
    handled = datetime.now(UTC)
    done = {
        "id": call["id"],
        "asked_at": call["asked_at"],
        "status": "done",
        "handled_at": handled.isoformat(),
        "handled_by": "Anne Hansen",
    }
    later = tablet_state(
        gateway_id,
        handled,
        staffed=staffed,
        schedule=schedule,
        messages=[{**message, "read_at": read["read_at"]}],
        call_requests=[done],
    )
    service.publish_state(later)
    wait_for(lambda: tablet.reload() and "har ringt deg" in tablet.locator("main").inner_text())
    assert "Oppfølgingstjenesten har ringt deg i dag kl." in tablet.locator("main").inner_text()

    # English is one tap away
    tablet.get_by_role("link", name="English").click()
    assert "Today" in tablet.locator("h1").inner_text()
    check_page(tablet, "home-en")
    assert set(CHECKED) >= {"home", "question", "summary", "manual-pad", "waiting", "red"}
