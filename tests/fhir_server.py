"""The test FHIR R4 server (tests/fhir_server/server.js, on node-fhir-server-core) from Python.

``fhir_server`` (a pytest fixture) starts ``node tests/fhir_server/server.js --port 0``, reads
the port it chose from its first line on stdout, and stops it after the test. Its store lives
in memory; :class:`FhirServer` talks to its control endpoints (plan failures, read the store,
reset). ``fhir_server_with_token`` is the same server demanding a bearer token.

Node or the server's packages (``make node-deps``) missing: the test is skipped on a
developer's machine and fails under CI (tests/services.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.services import service_unavailable

SERVER_DIR = Path(__file__).resolve().parent / "fhir_server"
SERVER_JS = SERVER_DIR / "server.js"
#: The server compiles the whole FHIR schema before it listens (about 3 s; more on a busy box).
START_TIMEOUT_S = 60.0
TOKEN = "test-journal-token-0123456789"  # noqa: S105 - the test server's own token


@dataclass
class FhirServer:
    """A running test FHIR server: ``base_url`` is its FHIR base (``…/4_0_1``)."""

    base_url: str
    root: str
    process: subprocess.Popen[str]

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.root, timeout=10)

    def fail(self, times: int, status: int = 503, *, after_store: bool = False) -> None:
        """The next ``times`` transactions are answered ``status`` (after storing them, with
        ``after_store``: the answer is lost, the data is not)."""
        with self.control() as client:
            answer = client.post(
                "/__control/fail",
                json={"times": times, "status": status, "after_store": after_store},
            )
            answer.raise_for_status()

    def store(self) -> dict[str, Any]:
        """``{"resources": {type: [resource, …]}, "transactions": [{status, created, …}]}``"""
        with self.control() as client:
            answer = client.get("/__control/store")
            answer.raise_for_status()
            result: dict[str, Any] = answer.json()
            return result

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.store()["resources"].get(resource_type, [])
        return found

    def seed(self, resource: dict[str, Any]) -> dict[str, Any]:
        with self.control() as client:
            answer = client.post("/__control/seed", json={"resource": resource})
            assert answer.status_code == 201, answer.text
            stored: dict[str, Any] = answer.json()
            return stored

    def reset(self) -> None:
        with self.control() as client:
            client.post("/__control/reset").raise_for_status()


def _node() -> str:
    node = shutil.which("node")
    ci = os.environ.get("CI")
    if node is None:
        service_unavailable("node (Node.js 20) is not installed: the test FHIR server needs it", ci)
    if not (SERVER_DIR / "node_modules" / "@asymmetrik" / "node-fhir-server-core").is_dir():
        service_unavailable(
            f"the test FHIR server's packages are not installed in {SERVER_DIR}: run "
            "`make node-deps`",
            ci,
        )
    assert node is not None
    return node


def start_fhir_server(token: str | None = None) -> FhirServer:
    """Start the server on a free port and wait until it listens."""
    command = [_node(), str(SERVER_JS), "--port", "0", "--host", "127.0.0.1"]
    if token is not None:
        command += ["--token", token]
    process = subprocess.Popen(  # noqa: S603 - our own script with fixed arguments
        command,
        cwd=SERVER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first: list[str] = []
    reader = threading.Thread(target=_first_line, args=(process.stdout, first), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    if not first or not first[0].strip():
        process.kill()
        _, err = process.communicate(timeout=10)
        raise RuntimeError(f"the test FHIR server did not start: {err[-2000:]}")
    started = json.loads(first[0])
    root = f"http://127.0.0.1:{started['listening']}"
    return FhirServer(base_url=started["base_url"], root=root, process=process)


def _first_line(stream: IO[str] | None, into: list[str]) -> None:
    if stream is not None:
        into.append(stream.readline())


def stop_fhir_server(server: FhirServer) -> None:
    server.process.terminate()
    try:
        server.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate(timeout=10)


@pytest.fixture(scope="session")
def fhir_server_session() -> Iterator[FhirServer]:
    server = start_fhir_server()
    yield server
    stop_fhir_server(server)


@pytest.fixture
def fhir_server(fhir_server_session: FhirServer) -> FhirServer:
    """The test FHIR server, emptied (and with no failures planned) for this test."""
    fhir_server_session.reset()
    return fhir_server_session


@pytest.fixture(scope="session")
def fhir_server_with_token() -> Iterator[FhirServer]:
    """A second server that demands ``Authorization: Bearer`` :data:`TOKEN`."""
    server = start_fhir_server(TOKEN)
    yield server
    stop_fhir_server(server)
