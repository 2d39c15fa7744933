"""Emulated homes (``gateway.emulate``): history in the devices' memories, fast time that never
stamps a reading ahead of the real clock, distinct device addresses per home, the homes file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from devices.emulated import EmulatedDevice, EmulatedRadio, StoringDevice
from devices.simulate import Condition, EpisodeKind, Severity, make_patient
from gateway.config import GatewaySettings
from gateway.emulate import (
    ADDRESSES_PER_HOME,
    EmulatedHome,
    EpisodeSpec,
    HomesFile,
    HomesFileError,
    HomeSpec,
)
from gateway.outbox import Outbox
from gateway.recorder import Recorder
from triage.cli import app

OSLO = ZoneInfo("Europe/Oslo")


def _stamps(device: EmulatedDevice) -> list[datetime]:
    """When the readings in ``device``'s memory were measured, by its clock (Oslo time)."""
    assert isinstance(device, StoringDevice)
    stamps: list[datetime] = []
    for m in device.stored:
        timestamp = m.model_dump()["timestamp"]
        assert isinstance(timestamp, datetime)
        stamps.append(timestamp.replace(tzinfo=OSLO))
    return stamps


def test_history_is_in_the_devices_and_fast_time_never_stamps_ahead_of_the_clock(
    tmp_path: Path,
) -> None:
    """Three days of history with their times; then a simulated day every 2 s for 5 s: the
    readings of those simulated days are stamped by the devices' clocks, in real time.

    Three, not two: day 0 drops the sessions before the start's time of day, so with two days
    a test run shortly before the patient's morning session (≈ 08:00 Oslo) had only the last
    day's readings, and "more than the last day" failed at that hour of the day."""
    patient = make_patient("sim-0002", Condition.HEART_FAILURE, 2026)
    outbox = Outbox(tmp_path / "outbox.sqlite3")

    def clock() -> datetime:
        return datetime.now(UTC)

    recorder = Recorder(outbox, OSLO, clock)

    async def scenario() -> tuple[EmulatedHome, dict[str, list[datetime]], list[bytes], datetime]:
        async with EmulatedRadio() as radio:
            home = EmulatedHome(patient, radio, clock=clock, seconds_per_day=2.0, history_days=3)
            await home.power_on()
            await home.backfill(recorder)
            history = {p: _stamps(d) for p, d in home.devices.items()}
            answers = [m.payload for m in outbox.due(clock(), 1000)]
            stop = asyncio.Event()
            live = asyncio.create_task(home.live(recorder, stop))
            await asyncio.sleep(5.0)
            stop.set()
            await live
            return home, history, answers, clock()

    home, history, answers, ended = asyncio.run(scenario())
    try:
        assert set(home.devices) == {"weight_scale", "blood_pressure", "pulse_oximeter"}
        stamped = [t for stamps in history.values() for t in stamps]
        assert stamped, "no readings of the last three days in the devices' memories"
        assert all(home.start <= t < home.now for t in stamped)
        assert min(stamped) < home.now - timedelta(days=1)  # more than the last day
        reports = [json.loads(payload) for payload in answers]
        assert reports, "no questionnaire answers of the history in the outbox"
        assert all(datetime.fromisoformat(r["answered_at"]) < home.now for r in reports)
        live = [
            t
            for device in home.devices.values()
            for t in _stamps(device)
            if t >= home.now.replace(microsecond=0)
        ]
        assert live, "no reading in 2.5 simulated days"
        assert all(t <= ended for t in live), "a reading stamped ahead of the real clock"
    finally:
        outbox.close()


def test_each_home_has_its_own_device_addresses() -> None:
    async def scenario() -> list[str]:
        addresses = []
        for block in (0, 1, 7):
            async with EmulatedRadio(block * ADDRESSES_PER_HOME + 1) as radio:
                home = EmulatedHome(
                    make_patient("sim-0001", Condition.COVID19, 1),
                    radio,
                    clock=lambda: datetime.now(UTC),
                )
                await home.power_on()
                addresses += radio.addresses
        return addresses

    addresses = asyncio.run(scenario())
    assert addresses == [
        "C0:DE:00:00:00:01",
        "C0:DE:00:00:00:02",
        "C0:DE:00:00:00:11",
        "C0:DE:00:00:00:12",
        "C0:DE:00:00:00:71",
        "C0:DE:00:00:00:72",
    ]
    with pytest.raises(ValueError, match="first_number"):
        EmulatedRadio(0)


def test_a_homes_file_round_trips_with_its_secrets_and_scripted_episodes(tmp_path: Path) -> None:
    scripted = EpisodeSpec(
        kind=EpisodeKind.HYPOGLYCAEMIA, start_day=15, duration_days=2, severity=Severity.SEVERE
    )
    homes = HomesFile(
        homes=[
            HomeSpec.model_validate(
                {
                    "gateway_id": "gw-demo-0003",
                    "secret": "s3cret",
                    "data_dir": str(tmp_path / "gw-3"),
                    "patient_id": "sim-0003",
                    "condition": "diabetes",
                    "seed": 2026,
                    "episodes": [scripted.model_dump()],
                    "history_days": 14,
                    "address_block": 3,
                }
            ),
            HomeSpec(
                gateway_id="gw-demo-0004",
                data_dir=tmp_path / "gw-4",
                patient_id="sim-0004",
                condition=Condition.HYPERTENSION,
                seed=2026,
            ),
        ]
    )
    path = tmp_path / "homes.json"
    path.write_text(homes.dump())
    loaded = HomesFile.load(path)
    assert loaded == homes
    first, second = loaded.homes
    assert first.secret is not None
    assert first.secret.get_secret_value() == "s3cret"
    own = first.settings(GatewaySettings(gateway_id="gw-elsewhere", mqtt_port=41883))
    assert (own.gateway_id, own.data_dir, own.mqtt_port) == (
        "gw-demo-0003",
        tmp_path / "gw-3",
        41883,
    )
    assert first.patient().episodes == (scripted.episode(),)
    drawn = make_patient("sim-0004", Condition.HYPERTENSION, 2026)
    assert second.patient() == drawn  # no episodes given: the simulator's own


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read homes file"),
        ("{not json", "is not a valid homes file"),
        ('{"homes": []}', "homes: List should have at least 1 item"),
        (
            '{"homes": [{"gateway_id": "g", "data_dir": "d", "patient_id": "p", '
            '"condition": "flu", "seed": 1}]}',
            "homes.0.condition",
        ),
    ],
)
def test_a_bad_homes_file_is_refused_with_the_reason(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "homes.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(HomesFileError, match=reason) as refused:
        HomesFile.load(path)
    assert str(path) in str(refused.value)
    result = CliRunner().invoke(app, ["gateway", "run", "--emulate", "--homes", str(path)])
    assert result.exit_code == 2
    assert reason.split(":")[0] in result.output


def test_homes_need_emulate_and_a_known_condition(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gateway", "run", "--homes", str(tmp_path / "h.json")])
    assert result.exit_code == 2
    assert "--homes needs --emulate" in result.output
    result = CliRunner().invoke(app, ["gateway", "run", "--emulate", "--condition", "flu"])
    assert result.exit_code == 2
    assert "--condition 'flu': expected one of copd" in result.output
