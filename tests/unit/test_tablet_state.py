"""The service's dho.tablet/1 state on the gateway: checked, kept on disk, a bad one logged and
the previous one kept; and the outbox's result rows (what each receipt said)."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.outbox import Channel, Outbox, ReceiptDetail
from gateway.tablet.state import TabletStore
from tests.tablet_sample import tablet_state

GATEWAY = "gw-state"
NOW = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def encoded(state: dict[str, object]) -> bytes:
    return json.dumps(state).encode()


def test_a_good_state_is_kept_on_disk_and_read_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tablet.json"
    assert TabletStore(path, GATEWAY).receive(encoded(tablet_state(GATEWAY, NOW)))
    again = TabletStore(path, GATEWAY).state
    assert again is not None
    assert again.patient.first_name == "Kari"
    assert again.plan is not None
    assert again.plan.questionnaire("copd-daily") is not None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda s: s.update(schema="dho.tablet/2"),
        lambda s: s.update(gateway_id="gw-someone-else"),
        lambda s: s.update(timezone="Europe/Fjordvik"),
        lambda s: s["plan"]["schedule"].append({"kind": "spo2", "weekdays": [8], "at": "08:00"}),
        lambda s: s["plan"]["schedule"].append({"kind": "spo2", "weekdays": [1], "at": "8am"}),
        lambda s: s.update(issued_at="2026-12-09T09:00:00"),  # no offset
        lambda s: s.pop("centre"),
    ],
)
def test_a_bad_state_is_logged_and_the_previous_one_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, spoil: object
) -> None:
    store = TabletStore(tmp_path / "tablet.json", GATEWAY)
    assert store.receive(encoded(tablet_state(GATEWAY, NOW)))
    bad = tablet_state(GATEWAY, NOW + timedelta(minutes=1))
    spoil(bad)  # type: ignore[operator]
    with caplog.at_level(logging.ERROR):
        assert not store.receive(encoded(bad))
    assert "tablet state not kept" in caplog.text
    assert store.state is not None
    assert store.state.issued_at == NOW
    assert TabletStore(tmp_path / "tablet.json", GATEWAY).state == store.state


def test_not_json_is_logged_and_nothing_replaced(tmp_path: Path) -> None:
    store = TabletStore(tmp_path / "tablet.json", GATEWAY)
    assert not store.receive(b"\xff not json")
    assert store.state is None
    assert not (tmp_path / "tablet.json").exists()


def test_an_older_state_does_not_replace_a_newer_one(tmp_path: Path) -> None:
    store = TabletStore(tmp_path / "tablet.json", GATEWAY)
    assert store.receive(encoded(tablet_state(GATEWAY, NOW)))
    assert not store.receive(encoded(tablet_state(GATEWAY, NOW - timedelta(hours=1))))
    assert store.state is not None
    assert store.state.issued_at == NOW


def test_the_outbox_keeps_what_each_receipt_said(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    measured = NOW - timedelta(minutes=3)
    box.add(Channel.READINGS, "r-1", b"{}", NOW, kind="spo2", at=measured)
    box.add(Channel.READINGS, "r-2", b"{}", NOW, kind="blood_pressure")
    box.add(Channel.READINGS, "r-3", b"{}", NOW, kind="glucose")
    advice = {"nb": "Ring", "en": "Call"}
    box.receipt(
        [("r-1", "stored", None, None), ("r-3", "rejected", "implausible", "x")],
        NOW,
        details={"r-1": ReceiptDetail("red", advice, ("patient_typed",))},
    )
    rows = {r.id: r for r in box.results(NOW - timedelta(days=1))}
    assert box.depth() == 1  # r-2 waits; r-1 left the outbox; r-3 is kept as rejected
    assert (rows["r-1"].status, rows["r-1"].colour, rows["r-1"].advice) == ("stored", "red", advice)
    assert rows["r-1"].flags == ("patient_typed",)
    assert rows["r-1"].at == measured
    assert (rows["r-2"].status, rows["r-2"].colour) == (None, None)
    assert rows["r-3"].status == "rejected"
    # a later duplicate receipt without details does not wipe the stored colour
    box.receipt([("r-1", "duplicate", None, None)], NOW)
    assert next(r for r in box.results(NOW - timedelta(days=1)) if r.id == "r-1").colour == "red"
    box.close()


def test_an_outbox_file_from_before_the_tablet_is_widened_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL CHECK (channel IN ('readings', 'reports')),
            payload BLOB NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_attempt_at TEXT,
            reason_code TEXT,
            reason TEXT
        );
        INSERT INTO outbox (seq, id, channel, payload, created_at, next_attempt_at)
        VALUES (7, 'old-1', 'readings', x'7b7d', '2026-12-01T00:00:00.000000Z',
                '2026-12-01T00:00:00.000000Z');
        """
    )
    old.commit()
    old.close()
    box = Outbox(path)
    assert [m.seq for m in box.due(NOW)] == [7]
    assert box.add(Channel.CALLS, "call-1", b"{}", NOW, kind="call_request")
    assert [m.id for m in box.due(NOW)] == ["old-1", "call-1"]
    box.close()


def test_with_homes_each_home_serves_its_pages_on_the_next_port() -> None:
    from gateway.config import GatewaySettings
    from gateway.emulate import with_tablet_port

    base = GatewaySettings(tablet_port=8090)
    assert [with_tablet_port(base, 8090, n).tablet_port for n in range(3)] == [8090, 8091, 8092]
    off = GatewaySettings(tablet_port=0)
    assert with_tablet_port(off, 0, 5).tablet_port == 0


def test_a_centre_without_a_phone_is_a_valid_state(tmp_path: Path) -> None:
    state = tablet_state(GATEWAY, NOW)
    state["centre"]["phone"] = None
    store = TabletStore(tmp_path / "tablet.json", GATEWAY)
    assert store.receive(encoded(state))
    assert store.state is not None
    assert store.state.centre.phone is None
