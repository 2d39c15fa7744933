"""The ``dho`` command: what works today, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.cli import app
from triage.domain.plan import PlanVersion
from triage.domain.readings import Reading, check_plausibility

runner = CliRunner()


@pytest.fixture
def covid_plan(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["plan", "template", "covid19"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "covid.json"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def test_template_prints_a_valid_plan(covid_plan: Path) -> None:
    """`dho plan template covid19` prints a plan that loads back as version 1 draft."""
    plan = PlanVersion.from_json(covid_plan.read_bytes())
    assert (plan.plan_id, plan.version, plan.status) == ("template-covid19", 1, "draft")


def test_plan_check_summarises(covid_plan: Path) -> None:
    """`dho plan check` confirms a valid plan and lists its bounds."""
    result = runner.invoke(app, ["plan", "check", str(covid_plan)])
    assert result.exit_code == 0
    assert "valid plan v1 (draft) of plan template-covid19" in result.stdout
    assert "spo2: red ≤ 92 %, yellow ≤ 94 %" in result.stdout


def test_plan_check_lists_problems(tmp_path: Path, covid_plan: Path) -> None:
    """A broken plan file is refused with each problem and where it is."""
    data = json.loads(covid_plan.read_text(encoding="utf-8"))
    data["zones"]["spo2"] = {"red_low": 96, "yellow_low": 94}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(bad)])
    assert result.exit_code == 1
    assert "is not a valid plan (1 problems)" in result.stderr
    assert "zones.spo2: Value error, red_low must not be above yellow_low" in result.stderr


def test_plan_check_missing_file(tmp_path: Path) -> None:
    """A missing plan file gives a plain message, not a traceback."""
    result = runner.invoke(app, ["plan", "check", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "Cannot read plan file" in result.stderr


def test_classify_explains_colour(covid_plan: Path) -> None:
    """`dho classify` gives the colour and the reason in bokmål by default."""
    result = runner.invoke(
        app, ["classify", "--plan", str(covid_plan), "--kind", "spo2", "--value", "spo2=93"]
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "YELLOW",
        "Oksygenmetning 93\u00a0% – gul: 94\u00a0% eller lavere (egenbehandlingsplan versjon 1)",
    ]


def test_classify_rejects_implausible(covid_plan: Path) -> None:
    """An impossible value is reported as a data error and gets no colour."""
    result = runner.invoke(
        app, ["classify", "--plan", str(covid_plan), "--kind", "spo2", "--value", "spo2=130"]
    )
    assert result.exit_code == 1
    assert "spo2 130 % is outside the plausible range 50–100 %" in result.stderr
    assert "RED" not in result.stdout


def test_news2_command() -> None:
    """`dho news2` scores a set of observations per the RCP chart."""
    result = runner.invoke(
        app,
        ["news2", "--rr", "22", "--spo2", "94", "--sbp", "105", "--pulse", "95", "--temp", "38.2"],
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "NEWS2 6 — risk medium"


def test_news2_bad_consciousness() -> None:
    """An unknown consciousness level is a clear error."""
    result = runner.invoke(
        app,
        [
            "news2",
            "--rr",
            "16",
            "--spo2",
            "97",
            "--sbp",
            "120",
            "--pulse",
            "70",
            "--temp",
            "37",
            "--consciousness",
            "X",
        ],
    )
    assert result.exit_code == 2
    assert "Cannot score NEWS2" in result.stderr


def test_devices_decode_prints_the_measurement() -> None:
    """An operator can decode a captured value: `dho devices decode 2a35 <hex>`."""
    result = runner.invoke(
        app, ["devices", "decode", "0x2A35", "1e 8e00 5b00 6c00 ea070b17080e05 4d00 01 0400"]
    )
    assert result.exit_code == 0, result.output
    decoded = json.loads(result.stdout)
    assert decoded["type"] == "BloodPressureMeasurement"
    assert (decoded["systolic"], decoded["diastolic"], decoded["pulse_rate"]) == (142, 91, 77)
    assert decoded["timestamp"] == "2026-11-23T08:14:05"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["2a35", "1e8e"], 1, "truncated before 'systolic'"),
        (["2a35", "zz"], 2, "is not hex"),
        (["2a19", "64"], 1, "no decoder for characteristic 0x2A19 Battery Level"),
    ],
)
def test_devices_decode_errors(args: list[str], code: int, message: str) -> None:
    """Bad input to the decoder gives the reason, never a traceback."""
    result = runner.invoke(app, ["devices", "decode", *args])
    assert result.exit_code == code
    assert message in result.stderr


def test_devices_catalogue_lists_profiles_and_quirks() -> None:
    """`dho devices catalogue` shows what the gateway does with each kind of device."""
    result = runner.invoke(app, ["devices", "catalogue"])
    assert result.exit_code == 0
    assert "1808 glucose → glucose: 2A18 (notify), 2A34 (notify), 2A52 (indicate)" in result.stdout
    assert "model BLEsmart_* (Omron): needs_bonding" in result.stdout


def test_simulate_prints_reproducible_payloads() -> None:
    """`dho simulate` gives the same synthetic data for the same seed, as contract payloads."""
    args = ["simulate", "--patients", "5", "--days", "3", "--seed", "11"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert lines
    for line in lines:
        payload = line["payload"]
        assert line["patient_id"].startswith("sim-")
        assert "patient_id" not in payload  # the service never trusts a payload's patient
        if line["topic"] == "readings":
            assert payload["schema"] == "dho.reading/1"
            reading = Reading(
                id=payload["id"],
                kind=payload["kind"],
                measured_at=payload["measured_at"],
                values=payload["values"],
            )
            assert check_plausibility(reading.kind, reading.values) == []
        else:
            assert (line["topic"], payload["schema"]) == ("reports", "dho.report/1")
    other = runner.invoke(app, [*args[:-1], "12"])
    assert other.stdout != first.stdout


def test_simulate_rejects_a_bad_start_date() -> None:
    """A start date that is not YYYY-MM-DD is refused plainly."""
    result = runner.invoke(app, ["simulate", "--start", "23.11.2026"])
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD" in result.stderr
