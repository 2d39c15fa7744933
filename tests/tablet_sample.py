"""A ``dho.tablet/1`` state as the service would send it (issue 15's contract), for the tablet
tests: the questionnaire is the service's own built-in ``copd-daily``, dumped as its domain
model dumps it (points, bands and sources included), so the tablet is tested on the real shape.
Synthetic patient; times relative to ``now``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI

from triage.broker.embedded import free_port
from triage.domain.questionnaires import COPD_DAILY

OSLO = ZoneInfo("Europe/Oslo")

ADVICE = {
    "green": {"nb": "Fint. Fortsett som før.", "en": "Good. Carry on as before."},
    "yellow": {
        "nb": "Følg med. Oppfølgingstjenesten ser på målingen i dag.",
        "en": "Keep an eye on it. The follow-up centre looks at it today.",
    },
    "red": {
        "nb": "Ta ny måling om 15 minutter. Er den fortsatt rød: ring legevakt 116 117.",
        "en": "Measure again in 15 minutes. Still red: call the out-of-hours service 116 117.",
    },
}
SAFETY = {
    "nb": "Hvis du blir verre, ring legevakt 116 117. Ved livstruende tilstand, ring 113.",
    "en": "If you get worse, call the out-of-hours service 116 117. If life is at risk, call 113.",
}


def staffed_weekdays(now: datetime, days: int = 14) -> list[dict[str, str]]:
    """08:00–15:00 on Monday–Friday from today, in Oslo time."""
    start = now.astimezone(OSLO).date()
    intervals = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day.isoweekday() <= 5:
            opens = datetime(day.year, day.month, day.day, 8, tzinfo=OSLO)
            intervals.append(
                {"from": opens.isoformat(), "to": (opens + timedelta(hours=7)).isoformat()}
            )
    return intervals


def tablet_state(
    gateway_id: str,
    now: datetime,
    *,
    staffed: list[dict[str, str]] | None = None,
    schedule: list[dict[str, Any]] | None = None,
    messages: list[dict[str, Any]] | None = None,
    call_requests: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    every_day = [1, 2, 3, 4, 5, 6, 7]
    return {
        "schema": "dho.tablet/1",
        "gateway_id": gateway_id,
        "issued_at": now.astimezone(OSLO).isoformat(),
        "timezone": "Europe/Oslo",
        "patient": {"first_name": "Kari"},
        "centre": {
            "name": "Oppfølgingstjenesten Fjordvik",
            "phone": "+47 22 00 00 00",
            "staffed": staffed if staffed is not None else staffed_weekdays(now),
        },
        "plan": {
            "version": 3,
            "schedule": schedule
            if schedule is not None
            else [
                {"kind": "blood_pressure", "weekdays": every_day, "at": "00:00"},
                {"kind": "spo2", "weekdays": every_day, "at": "00:00"},
                {
                    "kind": "questionnaire",
                    "questionnaire": "copd-daily",
                    "weekdays": every_day,
                    "at": "00:00",
                },
            ],
            "questionnaires": [COPD_DAILY.model_dump(mode="json")],
            "advice": ADVICE,
            "safety_text": SAFETY,
            "emergency_numbers": [
                {"label": {"nb": "Legevakt", "en": "Out-of-hours service"}, "number": "116 117"},
                {"label": {"nb": "Medisinsk nødtelefon", "en": "Emergency"}, "number": "113"},
            ],
        },
        "messages": messages or [],
        "call_requests": call_requests or [],
    }


@dataclass
class ThreadServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(app: FastAPI) -> ThreadServer:
    """``app`` on a free port of 127.0.0.1 by uvicorn in a thread, answering when this returns."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    give_up = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > give_up or not thread.is_alive():
            raise AssertionError("the tablet app did not start")
        time.sleep(0.02)
    return ThreadServer(f"http://127.0.0.1:{port}", server, thread)
