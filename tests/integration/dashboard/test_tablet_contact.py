"""The patient's tablet as the nurse sees it in the dashboard (AppTest against the real API on
SQLite and PostgreSQL): "Ring meg" on the worklist and "Har ringt"; messages to the patient with
"lest HH:MM"; a reading the patient typed in, named so on the timeline."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import NOW, SETTINGS
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.ingest import Incoming, PlanCache, store
from triage.storage.models import PatientMessageRow


def _send(
    sessions: sessionmaker[Session], gateway_id: str, channel: str, body: dict[str, Any]
) -> None:
    message = Incoming(f"dho/v1/{gateway_id}/{channel}", json.dumps(body).encode())
    [outcome] = store(sessions, [message], SETTINGS, NOW, plans=PlanCache())
    assert outcome.status == "stored", outcome


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_ring_meg_is_a_marker_on_the_worklist_and_ringt_clears_it(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """The green patient's "ring meg" shows with the time asked, as icon and words (not a
    colour, the patient stays green); one click on "Har ringt" marks it done and it goes."""
    asked = (NOW - timedelta(minutes=20)).isoformat()
    _send(
        sessions,
        "gw-a-diabetes",
        "calls",
        {"schema": "dho.call-request/1", "id": "call-1", "asked_at": asked},
    )
    at = logged_in(app, "nurse-a")
    text = _markdown(at)
    assert "- **📞 Ring meg — ba om det 09:10**" in text
    assert ":green-badge[🟢 Grønn]  \n**Testpasient a-diabetes**" in text
    at.button(key="called-call-1").click().run()
    assert not at.exception
    assert "Markert som ringt" in at.success[0].value
    assert "Ring meg" not in _markdown(at)


def test_a_message_is_sent_from_the_patient_page_and_shown_read(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """The nurse writes a message on the patient page; it shows "ikke lest ennå" until the
    tablet's read receipt, then "lest 09:45". A reading the patient typed in says so."""
    _send(
        sessions,
        "gw-a-copd",
        "readings",
        {
            "schema": "dho.reading/1",
            "id": "typed-1",
            "kind": "body_temperature",
            "measured_at": (NOW - timedelta(minutes=10)).isoformat(),
            "values": {"temperature": 37.2},
            "device": {"profile": "body_temperature", "model": "manual", "address": None},
            "entry": "typed",
        },
    )
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    assert not at.exception
    timeline = at.dataframe[0].value
    details = [str(v) for v in timeline.iloc[:, 2]]
    assert any(d.startswith("⌨ Tastet inn av pasienten") for d in details), details

    at.text_area[0].input("Hei! Vi ringer deg i morgen.")
    [send] = [b for b in at.button if b.label == "Send"]
    send.click().run()
    assert not at.exception
    assert "Meldingen er sendt" in at.success[0].value
    captions = "\n".join(str(c.value) for c in at.caption)
    assert "Sykepleier A · ikke lest ennå" in captions

    with sessions() as session:
        message_id = session.scalars(select(PatientMessageRow.id)).one()
    _send(
        sessions,
        "gw-a-copd",
        "message-reads",
        {
            "schema": "dho.message-read/1",
            "id": "read-1",
            "message_id": message_id,
            "read_at": (NOW + timedelta(minutes=15)).isoformat(),
        },
    )
    at.run()
    captions = "\n".join(str(c.value) for c in at.caption)
    assert "Sykepleier A · lest 09:45" in captions
