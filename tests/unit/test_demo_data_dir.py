"""The demo's data folder: ``--reset`` deletes only what the demo made; the state file keeps the
logins and secrets owner-only and says plainly when it cannot be read."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.simulate import Condition
from triage.demo.run import DemoOptions, run_demo
from triage.demo.state import (
    DemoError,
    DemoLogin,
    DemoPatient,
    DemoState,
    load_state,
    save_state,
)


def test_reset_refuses_a_folder_with_files_the_demo_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "dho.sqlite3").write_bytes(b"")
    said: list[str] = []
    code = run_demo(DemoOptions(data_dir=tmp_path, reset=True), said.append)
    assert code == 1
    assert any("holds files the demo did not make (thesis.tex)" in line for line in said), said
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / "dho.sqlite3").exists()


def test_the_state_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    state = DemoState(
        seed=7,
        created_at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
        logins=[DemoLogin(role="nurse", username="sykepleier", display_name="S", password="pw")],  # noqa: S106 - a test value
        patients=[
            DemoPatient(
                number=1,
                sim_id="sim-0001",
                condition=Condition.COPD,
                patient_id="p-1",
                display_name="Astrid Hansen",
                gateway_id="gw-demo-0001",
                gateway_secret="secret",  # noqa: S106 - a test value
            )
        ],
    )
    save_state(tmp_path, state)
    path = tmp_path / "demo.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_state(tmp_path) == state
    assert load_state(tmp_path / "elsewhere") is None
    path.write_text("{")
    with pytest.raises(DemoError, match="start over with `dho demo --reset`"):
        load_state(tmp_path)
