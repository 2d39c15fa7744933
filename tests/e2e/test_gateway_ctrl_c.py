"""Ctrl-C stops an emulated gateway process cleanly at any moment: while its homes' hubs scan,
connect, download glucose records or wait, it exits 0 and prints no traceback.

Cancelling a hub in the middle of a radio exchange made the emulated radio's Bluetooth stack
(bumble) answer a cancelled wait and print ``InvalidStateError`` tracebacks now and then (the
demo's own end-to-end test saw them on a loaded machine); the hub now lets each device keeper
end its radio work by itself before the radios are switched off.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devices.simulate import Condition
from gateway.emulate import HomesFile, HomeSpec
from triage.broker.embedded import free_port

#: Homes in the one gateway process: more hubs, more radio exchanges in flight at the Ctrl-C.
HOMES = 6
#: When the Ctrl-C comes, in seconds after every home has started (one run each).
MOMENTS_S = (0.0, 0.2, 0.5, 0.9, 1.4, 2.0, 2.7, 3.5)
START_S = 120.0
STOP_S = 60.0


def homes_file(folder: Path) -> Path:
    """Homes of every condition, the glucose meters asked for new records every 0.2 s."""
    conditions = list(Condition)
    homes = HomesFile(
        homes=[
            HomeSpec(
                gateway_id=f"gw-ctrl-c-{number}",
                data_dir=folder / f"home-{number}",
                patient_id=f"ctrl-c-{number}",
                condition=conditions[number % len(conditions)],
                seed=number,
                history_days=3,
                address_block=number,
            )
            for number in range(HOMES)
        ]
    )
    path = folder / "homes.json"
    path.write_text(homes.dump(), encoding="utf-8")
    return path


def run_until_ctrl_c(folder: Path, moment_s: float, times: int) -> tuple[int, str]:
    """Start the gateway process, press Ctrl-C ``times`` (SIGINT) ``moment_s`` after every home
    has started; its exit code and everything it printed."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DHO_")},
        "DHO_GATEWAY_MQTT_PORT": str(free_port()),  # no broker: the outboxes keep everything
        "DHO_GATEWAY_SCAN_S": "1",
        "DHO_GATEWAY_POLL_EVERY_S": "0.2",
        "DHO_GATEWAY_RETRY_MIN_S": "0.05",
        "DHO_GATEWAY_DRAIN_EVERY_S": "0.05",
    }
    process = subprocess.Popen(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "gateway",
            "run",
            "--emulate",
            "--homes",
            str(homes_file(folder)),
            "--seconds-per-day",
            "60",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if sum("emulated home of" in seen for seen in lines) == HOMES:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(START_S), "".join(lines)[-4000:]
        time.sleep(moment_s)  # the moment of the Ctrl-C is what the test varies
        for _ in range(times):
            process.send_signal(signal.SIGINT)
        code = process.wait(STOP_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    assert process.stdout is not None
    process.stdout.close()
    return code, "".join(lines)


@pytest.mark.parametrize("moment_s", MOMENTS_S)
def test_ctrl_c_stops_the_emulated_gateway_without_a_traceback(
    tmp_path: Path, moment_s: float
) -> None:
    """Whenever Ctrl-C comes (twice at the last moment), the gateway exits 0 and prints no
    traceback, no InvalidStateError."""
    times = 2 if moment_s == MOMENTS_S[-1] else 1
    code, output = run_until_ctrl_c(tmp_path, moment_s, times)
    assert "Traceback" not in output, output[-6000:]
    assert "InvalidStateError" not in output, output[-6000:]
    assert code == 0, output[-4000:]
