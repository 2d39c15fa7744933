"""The quality gates can fail: the clock-read checker, the service probes, import-linter."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scripts.check_no_clock_reads import (
    DEFAULT_EXCLUDE,
    DEFAULT_PATHS,
    files_to_check,
    find_clock_reads,
)
from tests import services

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "scripts" / "check_no_clock_reads.py"
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)

# ---------------------------------------------------------------- the clock-read checker

TIME_FUNCTIONS = ["time", "time_ns", "monotonic", "perf_counter", "localtime", "gmtime", "ctime"]

# (source, line of the expected finding, text the finding must contain)
FORBIDDEN_SNIPPETS: dict[str, tuple[str, int, str]] = {
    "import time": ("import time\n", 1, "`import time`"),
    "import time as alias": ("import time as t\n", 1, "`import time`"),
    "from time import": ("from time import sleep\n", 1, "`from time import sleep`"),
    **{
        f"time.{name}()": (f"import time\nx = time.{name}()\n", 2, f"`time.{name}`")
        for name in TIME_FUNCTIONS
    },
    "from time import time": ("from time import time\nx = time()\n", 2, "time.time"),
    "from time import monotonic as alias": (
        "from time import monotonic as mono\nx = mono()\n",
        2,
        "time.monotonic",
    ),
    "datetime.now": (
        "from datetime import UTC, datetime\nx = datetime.now(UTC)\n",
        2,
        "`datetime.now`",
    ),
    "datetime.utcnow": ("from datetime import datetime\nx = datetime.utcnow()\n", 2, "utcnow"),
    "datetime.today": ("from datetime import datetime\nx = datetime.today()\n", 2, "today"),
    "date.today": ("from datetime import date\nx = date.today()\n", 2, "datetime.date.today"),
    "dt.datetime.now": (
        "import datetime as dt\nx = dt.datetime.now(dt.UTC)\n",
        2,
        "datetime.datetime.now",
    ),
    "datetime.date.today": ("import datetime\nx = datetime.date.today()\n", 2, "date.today"),
    "aliased class": ("from datetime import datetime as DT\nx = DT.now()\n", 2, "now"),
    "star import": ("from datetime import *\nx = datetime.now()\n", 2, "datetime.now"),
    "default_factory": (
        "from datetime import datetime\n"
        "from pydantic import Field\n"
        "x = Field(default_factory=datetime.now)\n",
        3,
        "datetime.datetime.now",
    ),
    "inside a function": (
        "def f():\n    from datetime import datetime\n    return datetime.now().date()\n",
        3,
        "datetime.now",
    ),
    "uuid.uuid4": ("import uuid\nx = uuid.uuid4()\n", 2, "uuid.uuid4"),
    "uuid.uuid1": ("import uuid\nx = uuid.uuid1()\n", 2, "uuid.uuid1"),
    "from uuid import uuid4": ("from uuid import uuid4 as new_id\nx = new_id()\n", 2, "uuid4"),
    "random.random": ("import random\nx = random.random()\n", 2, "random.random"),
    "random alias": ("import random as r\nx = r.randint(1, 6)\n", 2, "random.randint"),
    "from random import": ("from random import choice\n", 1, "choice"),
    "dynamic import": ("x = __import__('time')\n", 1, "dynamic import of 'time'"),
    "importlib": (
        "import importlib\nx = importlib.import_module('random')\n",
        2,
        "dynamic import of 'random'",
    ),
}

CLEAN_SNIPPET = """\
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

START = datetime(2026, 1, 1, tzinfo=UTC)
PLAN_ID = UUID(int=1)


def later(now: datetime) -> datetime:
    return now + timedelta(minutes=15)


def day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def doubled(time: float) -> float:
    return time * 2


class Clock:
    def now(self) -> datetime:
        return START


PARSED = datetime.fromisoformat("2026-01-01T08:00:00+01:00")
LATER = Clock().now() + timedelta(days=1)
"""


def run_checker(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the checker as CI runs it, on ``paths``."""
    return subprocess.run(  # noqa: S603 - our own script, with the interpreter running the tests
        [sys.executable, str(CHECKER), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    list(FORBIDDEN_SNIPPETS.values()),
    ids=list(FORBIDDEN_SNIPPETS),
)
def test_checker_flags_each_forbidden_form(source: str, line: int, fragment: str) -> None:
    """Each clock read or hidden-randomness form is reported at its line."""
    findings = find_clock_reads(source, "snippet.py")
    assert findings, f"nothing found in:\n{source}"
    at_line = [str(finding) for finding in findings if finding.line == line]
    assert any(fragment in text for text in at_line), findings


def test_checker_passes_clean_code() -> None:
    """Explicit datetimes, timedeltas, UUID(...) and a parameter called ``time`` are fine."""
    assert find_clock_reads(CLEAN_SNIPPET, "clean.py") == []


def test_checker_exits_1_and_names_the_place(tmp_path: Path) -> None:
    """As a command the checker exits 1 and prints file:line for every finding."""
    (tmp_path / "clean.py").write_text(CLEAN_SNIPPET, encoding="utf-8")
    package = tmp_path / "domain"
    package.mkdir()
    bad = package / "bad.py"
    bad.write_text("from datetime import datetime\n\nSTAMP = datetime.now()\n", encoding="utf-8")

    result = run_checker(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{bad}:3:9: clock read: `datetime.now`" in result.stdout
    assert "checked 2 files" in result.stdout


def test_checker_exits_0_on_clean_code(tmp_path: Path) -> None:
    """As a command the checker exits 0 with a one-line summary on clean code."""
    (tmp_path / "clean.py").write_text(CLEAN_SNIPPET, encoding="utf-8")

    result = run_checker(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "checked 1 files: no clock reads"


def test_checker_rejects_a_missing_path(tmp_path: Path) -> None:
    """A mistyped path is an error (exit 2), not a silent pass over nothing."""
    result = run_checker(tmp_path / "no-such-dir")

    assert result.returncode == 2
    assert "no such file or directory" in result.stderr


def test_checker_rejects_unparsable_code(tmp_path: Path) -> None:
    """A file that does not parse is an error (exit 2), not a silent pass."""
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")

    assert run_checker(tmp_path).returncode == 2


def test_repository_domain_has_no_clock_reads() -> None:
    """devices/, triage/domain/, triage/news2.py and triage/fhir/ read no clock and no hidden
    randomness."""
    paths = [REPO_ROOT / path for path in DEFAULT_PATHS]
    assert all(path.exists() for path in paths), paths
    files = files_to_check(paths, [REPO_ROOT / path for path in DEFAULT_EXCLUDE])
    assert files
    findings = [
        finding
        for file in files
        for finding in find_clock_reads(file.read_text(encoding="utf-8"), str(file))
    ]
    assert findings == []


# ---------------------------------------------------------------- service probes


@pytest.mark.parametrize("ci", ["true", "TRUE", "True", " true ", "1"])
def test_ci_turns_a_missing_service_into_a_failure(ci: str) -> None:
    """Under CI=true (or 1) a missing service fails the test."""
    assert services.service_unavailable_action(ci) == "fail"


@pytest.mark.parametrize("ci", [None, "", "false", "0", "no"])
def test_outside_ci_a_missing_service_skips(ci: str | None) -> None:
    """Outside CI a missing service skips the test."""
    assert services.service_unavailable_action(ci) == "skip"


def test_is_reachable_false_for_a_closed_port() -> None:
    """A port nobody listens on is not reachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    assert services.is_reachable("127.0.0.1", port, timeout=1.0) is False


def test_is_reachable_true_for_a_listening_socket() -> None:
    """A port with a listening socket is reachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port: int = server.getsockname()[1]
        assert services.is_reachable("127.0.0.1", port, timeout=1.0) is True


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CI=true a missing service fails, naming the service, address and start command."""
    monkeypatch.setenv("CI", "true")
    address = services.ServiceAddress("127.0.0.1", _closed_port())

    with pytest.raises(pytest.fail.Exception) as failure:
        services.require_service("Mosquitto", address, services.MOSQUITTO_START_COMMAND)

    message = str(failure.value)
    assert "Mosquitto" in message
    assert str(address) in message
    assert services.MOSQUITTO_START_COMMAND in message


def test_missing_service_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CI a missing service skips with the same explanation."""
    monkeypatch.delenv("CI", raising=False)
    address = services.ServiceAddress("127.0.0.1", _closed_port())

    with pytest.raises(pytest.skip.Exception) as skip:
        services.require_service("PostgreSQL", address, services.POSTGRES_START_COMMAND)

    assert "PostgreSQL" in str(skip.value)
    assert services.POSTGRES_START_COMMAND in str(skip.value)


def test_service_addresses_default_and_override() -> None:
    """Addresses default to the local services and follow the DHO_TEST_* variables."""
    assert services.postgres_url({}) == services.DEFAULT_POSTGRES_URL
    assert services.postgres_address(services.DEFAULT_POSTGRES_URL) == ("127.0.0.1", 5432)
    assert services.postgres_address("postgresql://u:p@db.example:6543/x") == ("db.example", 6543)
    assert services.postgres_address("postgresql://db/x") == ("db", 5432)
    assert services.mosquitto_address({}) == ("127.0.0.1", 1883)
    env = {"DHO_TEST_MQTT_HOST": "broker", "DHO_TEST_MQTT_PORT": "18830"}
    assert services.mosquitto_address(env) == ("broker", 18830)
    with pytest.raises(ValueError, match="DHO_TEST_MQTT_PORT"):
        services.mosquitto_address({"DHO_TEST_MQTT_PORT": "mqtt"})


# ---------------------------------------------------------------- import-linter contracts


def _importlinter_config() -> dict[str, Any]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return config


def _toml_value(value: object) -> str:
    # Strings, booleans, numbers and lists of them are written the same in JSON and TOML.
    return json.dumps(value, ensure_ascii=False)


def _write_project(root: Path, config: dict[str, Any]) -> None:
    """A tree of empty packages for every module the contracts name, with the same config."""
    roots = set(config["root_packages"])
    names = set(roots)
    for contract in config["contracts"]:
        for key in ("source_modules", "forbidden_modules"):
            names.update(m for m in contract.get(key, []) if m.split(".")[0] in roots)
    for name in names:
        package = root.joinpath(*name.split("."))
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()

    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {_toml_value(v)}" for key, v in config.items() if key != "contracts"]
    for contract in config["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {_toml_value(v)}" for key, v in contract.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - import-linter from the interpreter running the tests
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_import_contracts_pass_on_a_clean_tree(tmp_path: Path) -> None:
    """The pyproject contracts are valid and kept by a tree that imports nothing."""
    config = _importlinter_config()
    _write_project(tmp_path, config)

    result = _lint_imports(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(config['contracts'])} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("triage.domain", "import sqlite3\n", "triage.domain is not allowed to import sqlite3"),
        ("triage.domain", "import socket\n", "triage.domain is not allowed to import socket"),
        ("triage.news2", "import subprocess\n", "triage.news2 is not allowed to import subprocess"),
        (
            "devices.characteristics",
            "from asyncio import sleep\n",
            "devices.characteristics is not allowed to import asyncio",
        ),
        (
            "devices.units",
            "import urllib.request\n",
            "devices.units is not allowed to import urllib",
        ),
        (
            "devices.decode",
            "import devices.emulated\n",
            "devices.decode is not allowed to import devices.emulated",
        ),
        ("triage.domain", "import http.client\n", "triage.domain is not allowed to import http"),
        ("devices", "import triage\n", "devices is not allowed to import triage"),
        ("triage.domain", "import gateway\n", "triage.domain is not allowed to import gateway"),
        ("dashboard", "from triage import domain\n", "dashboard is not allowed to import triage"),
        # Indirect: the domain imports one of ours that does the I/O.
        ("triage.domain", "import gateway.db\n", "triage.domain is not allowed to import sqlite3"),
    ],
)
def test_import_contracts_catch_a_forbidden_import(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    """lint-imports fails when the domain, devices or dashboard import what they must not."""
    _write_project(tmp_path, _importlinter_config())
    (tmp_path / "gateway" / "db.py").write_text("import sqlite3\n", encoding="utf-8")
    (tmp_path.joinpath(*module.split(".")) / "leak.py").write_text(source, encoding="utf-8")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout + result.stderr
    assert broken in result.stdout, result.stdout + result.stderr
