"""The one-command demo, started exactly as the README says (issue 8).

The command is read from README.md's block marked ``<!-- dho-demo-command -->`` (from
docs/demo.md while README.md has no such block); only its ``dho demo`` part is run, as written,
with the venv's bin folder replaced by this interpreter's. A temporary data folder and free
ports come through the environment (``DHO_DEMO_DATA_DIR``, ``DHO_DEMO_PORT``,
``DHO_DEMO_API_PORT``), so the command itself is not changed.

One story, three starts:

1. The first start seeds the patients and runs everything: the test logs in as the printed demo
   nurse over HTTP and waits until the worklist's top patient is red because of a reading
   measured after the start by an emulated Bluetooth device in a simulated patient's home —
   gateway → MQTT → ingest, nothing seeded — whose home has a simulated deterioration; the
   dashboard answers; Ctrl-C (SIGINT to the process group, as a terminal sends it) stops it
   with exit 0, no traceback anywhere and no process left behind.
2. A second start reuses the data: the same patients and logins, nothing seeded again.
3. ``--reset`` says it deletes the data and seeds new patients; a Ctrl-C while it starts stops
   it cleanly too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import service_unavailable
from triage.broker.embedded import free_port

ROOT = Path(__file__).parents[2]
MARKER = "<!-- dho-demo-command -->"
#: Bounds on waiting (a loaded 2-core machine), not expectations of speed.
START_TIMEOUT_S = 300.0
RED_TIMEOUT_S = 420.0
STOP_TIMEOUT_S = 120.0


def demo_command() -> list[str]:
    """The ``dho demo`` part of the README's demo command, its venv path replaced by ours."""
    for doc in (ROOT / "README.md", ROOT / "docs" / "demo.md"):
        text = doc.read_text(encoding="utf-8")
        if MARKER not in text:
            continue
        block = re.search(re.escape(MARKER) + r"\s*```[\w-]*\n(.*?)```", text, re.DOTALL)
        assert block, f"{doc}: no fenced block after {MARKER}"
        line = next((ln for ln in block.group(1).splitlines() if "dho demo" in ln), None)
        assert line, f"{doc}: the block after {MARKER} has no `dho demo` command"
        part = next(p for p in reversed(line.split("&&")) if "dho demo" in p)
        argv = shlex.split(part)
        assert Path(argv[0]).name == "dho", f"{doc}: the demo command does not start dho: {part}"
        argv[0] = str(Path(sys.executable).parent / "dho")
        return argv
    raise AssertionError(f"neither README.md nor docs/demo.md has the {MARKER} block")


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), or None once it is gone (or a
    zombie): with the pid it names one process even if the pid is reused later."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


class DemoRun:
    """The demo as a process in its own process group (as a shell runs it in a terminal); its
    output collected line by line, its descendants noted while it runs."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started_at = datetime.now(UTC)
        self.process = subprocess.Popen(  # noqa: S603 - the README's command, no shell
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
        )
        self.lines: list[str] = []
        self.seen: dict[int, tuple[str, str]] = {}  # pid → (start time, command line)
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _watch(self) -> None:
        while self.process.poll() is None:
            for pid in _descendants(self.process.pid):
                if pid not in self.seen and (started := _start_time(pid)) is not None:
                    try:
                        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    except OSError:
                        continue
                    self.seen[pid] = (started, command.decode(errors="replace"))
            time.sleep(0.5)

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match[str]:
        """The first output line matching ``pattern``, waiting for it up to ``timeout``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"no line matching {pattern!r} (exit {self.process.poll()}):\n"
                        + "\n".join(self.lines)
                    )
                self._changed.wait(min(left, 1.0))

    def ctrl_c(self) -> int:
        """SIGINT to the process group, as Ctrl-C in a terminal; the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            code = self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the demo did not stop on Ctrl-C:\n{self.output}") from None
        self._reader.join(10)
        return code

    def leftovers(self) -> list[str]:
        """Processes started under the demo that still run after it ended."""
        return [
            f"{pid}: {command}"
            for pid, (started, command) in self.seen.items()
            if _start_time(pid) == started
        ]

    def kill(self) -> None:
        for pid, (started, _) in self.seen.items():
            if _start_time(pid) == started:
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Api:
    """The demo's API as the demo nurse."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=20.0)
        answer = self.http.post("/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def patient_ids(self) -> set[str]:
        ids: set[str] = set()
        cursor = None
        while True:
            page = self.get("/worklist", limit=100, **({"cursor": cursor} if cursor else {}))
            ids |= {item["patient_id"] for item in page["items"]}
            cursor = page["next_cursor"]
            if not cursor:
                return ids


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def live_red_at_top(api: Api, since: datetime) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The worklist's first patient and their red reading, when that patient is red because of
    a reading measured at or after ``since``."""
    items = api.get("/worklist", limit=5)["items"]
    if not items or items[0]["colour"] != "red":
        return None
    top = items[0]
    reds = [a for a in top["alerts"] if a["colour"] == "red" and a["category"] == "clinical"]
    live = [a for a in reds if _when(a["reason"]["at"]) >= since]
    if not live:
        return None
    readings = api.get(f"/patients/{top['patient_id']}/readings", limit=100)["items"]
    red = next(
        (
            r
            for r in readings
            if r["colour"] == "red" and _when(r["measured_at"]) == _when(live[0]["reason"]["at"])
        ),
        None,
    )
    return (top, red) if red is not None else None


def _patients_in_database(data_dir: Path) -> set[str]:
    """The demo's patients in follow-up (the history's earlier patients are all discharged)."""
    with sqlite3.connect(f"file:{data_dir / 'dho.sqlite3'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT id FROM patients WHERE state <> 'discharged'")}


def _discharged_in_database(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'dho.sqlite3'}?mode=ro", uri=True) as db:
        found = db.execute("SELECT count(*) FROM patients WHERE state = 'discharged'").fetchone()
        return int(found[0])


def _logs_without_tracebacks(data_dir: Path) -> dict[str, str]:
    return {
        log.name: log.read_text(errors="replace")
        for log in (data_dir / "logs").glob("*.log")
        if "Traceback" in log.read_text(errors="replace")
    }


@pytest.fixture
def runs() -> Iterator[list[DemoRun]]:
    started: list[DemoRun] = []
    yield started
    for run in started:
        run.kill()


@pytest.fixture
def apis() -> Iterator[list[Api]]:
    opened: list[Api] = []
    yield opened
    for api in opened:
        api.close()


def test_the_readme_demo_shows_a_live_red_first_reuses_its_data_and_resets(
    tmp_path: Path, runs: list[DemoRun], apis: list[Api]
) -> None:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        service_unavailable(
            "the demo needs Mosquitto: apt-get install -y mosquitto", os.environ.get("CI")
        )
    argv = demo_command()
    data_dir = tmp_path / "demo-data"
    api_port, port = free_port(), free_port()
    env = _env(data_dir, api_port, port, DHO_DEMO_TABLET_PORT=str(free_port()))

    def start(*extra: str) -> DemoRun:
        run = DemoRun(argv + list(extra), env, tmp_path)
        runs.append(run)
        return run

    # 1. the first start: everything runs, a live red reaches the top, Ctrl-C stops it cleanly
    first = start()
    for step in (
        r"database ready",
        r"40 patients seeded",
        r"broker on 127\.0\.0\.1:\d+",
        r"gateways publishing",
        rf"mail sink on 127\.0\.0\.1:{env['DHO_DEMO_SMTP_PORT']} \(mail in "
        + re.escape(str(data_dir / "mail")),
        rf"dashboard at http://127\.0\.0\.1:{port}",
    ):
        first.wait_for(step)
    first.wait_for(r"lands in .+ as \.eml files")
    nurse = first.wait_for(r"nurse \(sykepleier\): (\S+) / (\S+)")
    first.wait_for(r"GP \(fastlege\): +(\S+) / (\S+)")
    tablet = first.wait_for(r"pasientens nettbrett\) of (.+): (http://127\.0\.0\.1:\d+) ")
    api = Api(api_port, nurse.group(1), nurse.group(2))
    apis.append(api)
    # the printed tablet answers, in bokmål, with the patient's first name from the service's
    # tablet state (published over MQTT to that gateway alone)
    greeting = f"Hei {tablet.group(1).split()[0]}"
    deadline = time.monotonic() + 90
    page = ""
    while greeting not in page and time.monotonic() < deadline:
        try:
            page = httpx.get(tablet.group(2), timeout=10.0).text
        except httpx.HTTPError:
            page = ""
        if greeting not in page:
            time.sleep(2)
    assert greeting in page, f"{tablet.group(2)} never greeted {tablet.group(1)}:\n{page[:2000]}"
    assert 'lang="nb"' in page
    found = None
    deadline = time.monotonic() + RED_TIMEOUT_S
    while found is None and time.monotonic() < deadline and first.process.poll() is None:
        found = live_red_at_top(api, first.started_at)
        if found is None:
            time.sleep(3)
    top_page = api.get("/worklist", limit=5)["items"]
    assert found is not None, f"no live red at the top of the worklist: {top_page}\n{first.output}"
    top, reading = found
    # measured by an emulated Bluetooth device of the home, received after the start
    assert "DHO-EMU" in json.dumps(reading["device"]), reading
    assert _when(reading["received_at"]) >= first.started_at
    # …in the home of a patient with a simulated deterioration
    state = json.loads((data_dir / "demo.json").read_text())
    gateway_id = next(
        p["gateway_id"] for p in state["patients"] if p["patient_id"] == top["patient_id"]
    )
    homes = [
        home
        for path in (data_dir / "gateways").glob("homes-*.json")
        for home in json.loads(path.read_text())["homes"]
    ]
    home = next(h for h in homes if h["gateway_id"] == gateway_id)
    assert home["episodes"], f"{top['display_name']} is red without a simulated deterioration"
    patients = api.patient_ids()
    assert len(patients) == 40

    dashboard = httpx.get(f"http://127.0.0.1:{port}/", timeout=20.0)
    assert dashboard.status_code == 200
    assert "<html" in dashboard.text.lower()
    assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=20.0).text == "ok"

    assert first.ctrl_c() == 0, first.output
    assert "demo stopped" in first.output
    assert "Traceback" not in first.output, first.output
    assert _logs_without_tracebacks(data_dir) == {}
    assert first.leftovers() == []

    # 2. a second start reuses the data: same patients and logins, nothing seeded again
    second = start()
    second.wait_for(r"40 patients from the last run, reused")
    second.wait_for(rf"dashboard at http://127\.0\.0\.1:{port}")
    again = second.wait_for(r"nurse \(sykepleier\): (\S+) / (\S+)")
    assert again.groups() == nurse.groups()
    assert "seeded" not in second.output
    apis.append(Api(api_port, *again.groups()))
    assert apis[-1].patient_ids() == patients
    assert second.ctrl_c() == 0, second.output
    assert "Traceback" not in second.output, second.output
    assert second.leftovers() == []

    # 3. --reset deletes the data and seeds new patients; Ctrl-C while it starts stops it cleanly
    third = start("--reset")
    third.wait_for(rf"--reset: deleting {re.escape(str(data_dir))}")
    third.wait_for(r"40 patients seeded")
    assert third.ctrl_c() == 0, third.output
    assert "Traceback" not in third.output, third.output
    assert third.leftovers() == []
    reseeded = _patients_in_database(data_dir)
    assert len(reseeded) == 40
    # and the programme's history: the earlier patients, discharged (triage/demo/history.py)
    assert _discharged_in_database(data_dir) == 24
    assert reseeded.isdisjoint(patients)
    assert json.loads((data_dir / "demo.json").read_text())["created_at"] > state["created_at"]


def _env(data_dir: Path, api_port: int, port: int, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DHO_")},
        "DHO_DEMO_DATA_DIR": str(data_dir),
        "DHO_DEMO_PORT": str(port),
        "DHO_DEMO_API_PORT": str(api_port),
        "DHO_DEMO_SMTP_PORT": str(free_port()),
        **extra,
    }


def test_a_part_that_cannot_start_is_named_and_nothing_is_left_running(
    tmp_path: Path, runs: list[DemoRun]
) -> None:
    """The service's broker exits at once (a Mosquitto that is `false`): the demo says which
    part, shows the end of its log, stops the rest and exits 1."""
    broken = shutil.which("false")
    assert broken is not None
    env = _env(tmp_path / "data", free_port(), free_port(), DHO_MOSQUITTO_PATH=broken)
    run = DemoRun(demo_command(), env, tmp_path)
    runs.append(run)
    code = run.process.wait(START_TIMEOUT_S)
    run.wait_for(r"demo stopped")
    assert code == 1, run.output
    assert "dho demo: the service stopped while starting (exit 1)" in run.output
    assert "Mosquitto exited with status 1" in run.output
    assert "Traceback" not in run.output
    assert run.leftovers() == []


def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - the README's command
            demo_command(),
            env=_env(tmp_path / "data", port, free_port()),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
    assert result.returncode == 1
    assert f"port {port} for the API is taken" in result.stdout
    assert "--api-port / DHO_DEMO_API_PORT" in result.stdout


def test_a_taken_mail_sink_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    """The mail sink's port (DHO_DEMO_SMTP_PORT) is checked with the others, before seeding."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - the README's command
            demo_command(),
            env=_env(tmp_path / "data", free_port(), free_port(), DHO_DEMO_SMTP_PORT=str(port)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
    assert result.returncode == 1
    assert f"port {port} for the mail sink is taken" in result.stdout
    assert "--smtp-port / DHO_DEMO_SMTP_PORT" in result.stdout
    assert not (tmp_path / "data" / "dho.sqlite3").exists()


def test_the_demo_command_is_where_the_readme_says() -> None:
    """The command the end-to-end test runs ends in `dho demo` (nothing else changed)."""
    argv = demo_command()
    assert argv[1:] == ["demo"]
    assert Path(argv[0]).parent == Path(sys.executable).parent
