"""``dho gateway status`` / ``report`` / ``run``: what the operator and the tablet see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.known_devices import KnownDevices
from gateway.outbox import Channel, Outbox
from triage.cli import app

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("GATEWAY_ID", "SECRET", "DATA_DIR", "TIMEZONE"):
        monkeypatch.delenv(f"DHO_GATEWAY_{name}", raising=False)
    return CliRunner()


def test_status_shows_waiting_rejected_and_devices_in_oslo_time(
    tmp_path: Path, runner: CliRunner
) -> None:
    """At 3 a.m. the operator sees what waits, what was refused and why, and each device."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add(Channel.READINGS, "r-1", b"{}", NOW)
    outbox.add(Channel.READINGS, "r-2", b"{}", NOW)
    outbox.receipt([("r-2", "rejected", "implausible", "spo2 30 % is not possible")], NOW)
    outbox.close()
    known = KnownDevices(tmp_path / "devices.sqlite3")
    known.pair("c0:de:00:00:00:01", "glucose", "DHO-EMU-GLU", NOW)
    known.seen("C0:DE:00:00:00:01", NOW)
    known.advance_sequence("C0:DE:00:00:00:01", 41)
    known.pair("C0:DE:00:00:00:02", "blood_pressure", "DHO-EMU-BP", NOW)
    known.seen("C0:DE:00:00:00:02", NOW, error="could not connect: out of range")
    known.close()

    result = runner.invoke(app, ["gateway", "status", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["waiting"] == 1
    assert status["last_receipt_at"] == "2026-11-23T08:30:00+01:00"
    assert status["rejected"] == [
        {"id": "r-2", "reason_code": "implausible", "reason": "spo2 30 % is not possible"}
    ]
    assert [
        (d["address"], d["last_sequence_number"], d["last_error"]) for d in status["devices"]
    ] == [
        ("C0:DE:00:00:00:01", 41, None),
        ("C0:DE:00:00:00:02", None, "could not connect: out of range"),
    ]

    text = runner.invoke(app, ["gateway", "status", "--data-dir", str(tmp_path)]).output
    assert "Venter på kvittering / waiting for a receipt: 1" in text
    assert "r-2: implausible — spo2 30 % is not possible" in text
    assert "feil / error: could not connect: out of range" in text


def test_answers_given_on_the_tablet_wait_in_the_outbox(tmp_path: Path, runner: CliRunner) -> None:
    """``dho gateway report`` keeps a dho.report/1 message for the running gateway to send."""
    result = runner.invoke(
        app, ["gateway", "report", "cat", '{"cough": "2"}', "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    [message] = outbox.due(datetime.now(UTC))
    outbox.close()
    payload = json.loads(message.payload)
    assert message.channel == Channel.REPORTS
    assert (payload["schema"], payload["questionnaire"], payload["answers"]) == (
        "dho.report/1",
        "cat",
        {"cough": "2"},
    )
    assert payload["answered_at"].endswith(("+01:00", "+02:00"))

    bad = runner.invoke(app, ["gateway", "report", "cat", "[1, 2]", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 2
    assert "answers must be a JSON object" in bad.output


def test_run_without_a_gateway_id_says_what_to_set(tmp_path: Path, runner: CliRunner) -> None:
    """A hub that was never registered does not start silently: it names the setting."""
    result = runner.invoke(app, ["gateway", "run", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "DHO_GATEWAY_GATEWAY_ID" in result.output


def test_a_wrong_time_zone_is_refused_with_the_setting_named(
    tmp_path: Path, runner: CliRunner
) -> None:
    result = runner.invoke(
        app,
        ["gateway", "status", "--data-dir", str(tmp_path)],
        env={"DHO_GATEWAY_TIMEZONE": "Europe/Olso"},
    )
    assert result.exit_code == 2
    assert "DHO_GATEWAY_TIMEZONE: unknown time zone 'Europe/Olso'" in result.output


def test_answers_into_a_full_outbox_are_refused_in_words(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tablet is told the answers were not kept (and whom to call), never a traceback."""
    monkeypatch.setenv("DHO_GATEWAY_OUTBOX_MAX_MESSAGES", "100")
    outbox = Outbox(tmp_path / "outbox.sqlite3", max_messages=100)
    for number in range(100):
        outbox.add(Channel.REPORTS, f"earlier-{number}", b"{}", NOW)
    outbox.close()

    result = runner.invoke(
        app, ["gateway", "report", "cat", '{"cough": "2"}', "--data-dir", str(tmp_path)]
    )

    assert result.exit_code == 1
    assert "utboksen er full" in result.output
    assert "holds 100 messages" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    outbox = Outbox(tmp_path / "outbox.sqlite3", max_messages=100)
    assert outbox.depth() == 100  # nothing was added, nothing lost
    outbox.close()


def test_rejected_messages_are_forgotten_on_request_and_pending_ones_never(
    tmp_path: Path, runner: CliRunner
) -> None:
    """`forget-rejected` frees the outbox of what the service refused (it keeps those as dead
    letters); a message still waiting for its receipt survives, and unknown ids are reported."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for message_id in ("refused-1", "refused-2", "refused-3", "waiting"):
        outbox.add(Channel.READINGS, message_id, b"{}", NOW)
    outbox.receipt(
        [(f"refused-{n}", "rejected", "unknown_kind", "no such kind") for n in (1, 2, 3)], NOW
    )
    outbox.close()

    one = runner.invoke(
        app, ["gateway", "forget-rejected", "refused-1", "waiting", "--data-dir", str(tmp_path)]
    )
    assert one.exit_code == 1  # "waiting" is not a rejected message
    assert "deleted: 1" in one.output
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    assert [r.id for r in outbox.rejected()] == ["refused-2", "refused-3"]
    outbox.close()

    rest = runner.invoke(app, ["gateway", "forget-rejected", "--data-dir", str(tmp_path)])
    assert rest.exit_code == 0, rest.output
    assert "deleted: 2" in rest.output
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    assert outbox.rejected() == []
    assert [m.id for m in outbox.due(NOW)] == ["waiting"]
    outbox.close()
