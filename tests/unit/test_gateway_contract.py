"""The gateway keeps only what the service's contract takes: a message over 64 KiB, or not the
shape of docs/contracts/schemas, is refused before it enters the outbox — with a clear error on
the command line (bokmål and English) and a log line on the device path — instead of waiting
forever for a receipt that never comes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from devices.characteristics import weight
from devices.characteristics.weight import WeightMeasurement
from gateway.contract import MAX_PAYLOAD_BYTES, ContractError, check_message
from gateway.outbox import Outbox
from gateway.payloads import DeviceRef
from gateway.recorder import Outcome, Recorder
from triage.cli import app
from triage.contract_schemas import GATEWAY_SCHEMAS, REGENERATE, render_schema
from triage.ingest.pipeline import MAX_PAYLOAD_BYTES as SERVICE_LIMIT

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
REPO = Path(__file__).parents[2]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("GATEWAY_ID", "SECRET", "DATA_DIR", "TIMEZONE"):
        monkeypatch.delenv(f"DHO_GATEWAY_{name}", raising=False)
    return CliRunner()


def kept(data_dir: Path) -> int:
    outbox = Outbox(data_dir / "outbox.sqlite3")
    try:
        return outbox.depth()
    finally:
        outbox.close()


@pytest.mark.parametrize(
    ("answers", "reason_code"),
    [
        ({"note": "x" * (MAX_PAYLOAD_BYTES + 1)}, "too_large"),
        ({"cough": [1, 2]}, "schema"),
        ({"cough": {"nested": "2"}}, "schema"),
        ({"cough": 2.5}, "schema"),
    ],
)
def test_answers_the_service_would_refuse_are_not_kept_and_the_cli_says_why(
    tmp_path: Path, runner: CliRunner, answers: dict[str, object], reason_code: str
) -> None:
    """`dho gateway report` with answers the service would refuse: exit 2, a message in bokmål
    and English naming the reason, and nothing in the outbox to be retried forever."""
    result = runner.invoke(
        app, ["gateway", "report", "cat", json.dumps(answers), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "Svarene ble ikke lagret: oppfølgingstjenesten ville avvist dem" in result.output
    assert (
        f"The answers were not kept: the follow-up centre's service would refuse them "
        f"({reason_code}: " in result.output.replace("\n", " ")
    )
    assert kept(tmp_path) == 0


def test_a_device_value_whose_payload_the_service_would_refuse_is_logged_not_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A scale whose model name makes the reading larger than the service takes: the reading
    is not kept (nothing to retry), and the log names the device, the reason and the bytes."""
    raw = weight.encode_measurement(WeightMeasurement(weight=80.0, unit="kg", timestamp=None))
    scale = DeviceRef("A4:C1:38:00:00:09", "weight", "S" * (MAX_PAYLOAD_BYTES + 1))
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        with caplog.at_level(logging.ERROR, logger="gateway.recorder"):
            recorded = Recorder(outbox, OSLO, lambda: NOW).record(scale, 0x2A9D, raw)
        assert recorded.outcome is Outcome.REFUSED
        assert outbox.depth() == 0
    finally:
        outbox.close()
    [line] = caplog.messages
    assert line.startswith("reading from A4:C1:38:00:00:09 not kept: the service would refuse it")
    assert "(too_large: the message is " in line
    assert line.endswith(f"bytes {raw.hex()}")


def test_the_gateway_and_the_service_agree_on_the_size_limit() -> None:
    """The gateway's limit is the service's (64 KiB), well under the broker's max_packet_size."""
    from triage.broker.mosquitto_config import MAX_PACKET_BYTES

    assert MAX_PAYLOAD_BYTES == SERVICE_LIMIT < MAX_PACKET_BYTES


def test_a_message_exactly_at_the_limit_is_taken_one_byte_more_is_not() -> None:
    """The boundary: 65,536 bytes pass the size check, 65,537 do not."""
    base = {
        "schema": "dho.report/1",
        "id": "r-1",
        "questionnaire": "cat",
        "answered_at": "2026-11-23T08:30:00+01:00",
        "answers": {"note": ""},
    }
    padding = MAX_PAYLOAD_BYTES - len(json.dumps(base).encode())
    base["answers"] = {"note": "x" * padding}
    at_limit = json.dumps(base).encode()
    assert len(at_limit) == MAX_PAYLOAD_BYTES
    check_message("reports", at_limit)
    with pytest.raises(ContractError) as refused:
        check_message("reports", at_limit[:-3] + b'x"}}')  # one more x: 65,537 bytes
    assert refused.value.reason_code == "too_large"


@pytest.mark.parametrize("name", GATEWAY_SCHEMAS)
def test_the_gateways_schema_copies_are_the_contracts(name: str) -> None:
    """gateway/schemas/ holds exactly docs/contracts/schemas' reading and report schemas."""
    copy = (REPO / "gateway" / "schemas" / name).read_text(encoding="utf-8")
    assert copy == render_schema(name), f"gateway/schemas/{name} is out of date: run {REGENERATE}"
