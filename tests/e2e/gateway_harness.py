"""A home gateway on emulated devices, run in the test's event loop against the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devices.catalogue import load_catalogue
from devices.emulated import EmulatedDevice, EmulatedRadio
from gateway.config import GatewaySettings
from gateway.emulate import emulated_radio
from gateway.hub import Hub
from tests.services import ServiceAddress
from triage.storage.models import ReadingRow, ReportRow

DEADLINE_S = 30.0


def gateway_settings(
    data_dir: Path, gateway_id: str, broker: ServiceAddress, prefix: str, **overrides: object
) -> GatewaySettings:
    """Settings that reach devices quickly (tests), otherwise the defaults."""
    values: dict[str, object] = {
        "gateway_id": gateway_id,
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "topic_prefix": prefix,
        "data_dir": data_dir,
        "drain_every_s": 0.05,
        "status_every_s": 0.5,
        "scan_s": 1.0,
        "retry_min_s": 0.05,
        "retry_max_s": 0.5,
        "poll_every_s": 0.2,
    }
    values.update(overrides)
    return GatewaySettings.model_validate(values)


@dataclass
class RunningHub:
    hub: Hub
    stop: asyncio.Event
    task: asyncio.Task[None]


@asynccontextmanager
async def running_hub(
    settings: GatewaySettings,
    radio: EmulatedRadio,
    devices: list[EmulatedDevice],
    *,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[RunningHub]:
    """A hub paired with ``devices``, running until the block ends (then stopped cleanly)."""
    hub = Hub(settings, emulated_radio(radio), clock=clock or (lambda: datetime.now(UTC)))
    for device in devices:
        profile = load_catalogue().profile_for_services([device.SERVICE_UUID])
        assert profile is not None, f"{device!r} is not a health device of the catalogue"
        hub.known.pair(device.address, profile.id, device.name, datetime.now(UTC))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    try:
        yield RunningHub(hub, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def until(predicate: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    """Poll ``predicate`` every 20 ms (the loop keeps running) until it holds or time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def readings(sessions: sessionmaker[Session]) -> list[ReadingRow]:
    with sessions() as session:
        return list(session.scalars(select(ReadingRow).order_by(ReadingRow.measured_at)))


def reports(sessions: sessionmaker[Session]) -> list[ReportRow]:
    with sessions() as session:
        return list(session.scalars(select(ReportRow)))
