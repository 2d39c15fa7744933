"""Request-body limits over real HTTP (uvicorn on a free port, raw sockets where the client must
misbehave): a body over the limit is refused with 413 problem details before it is read, so
unauthenticated uploads cannot grow the service's memory."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.ingest.pipeline import MAX_PAYLOAD_BYTES
from triage.storage.database import make_engine, migrate, session_factory

API = "/api/v1"
MIB = 1024 * 1024
#: How much the server's memory may grow while a client streams 50 MB at it.
RSS_GROWTH_ALLOWED = 20 * MIB


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The limits act before any database work: one engine is enough."""
    engine = make_engine(f"sqlite:///{tmp_path / 'dho.sqlite3'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def api(sqlite_sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with serving(create_app(Settings(demo=True), sqlite_sessions)) as client:
        yield client


def address(client: httpx.Client) -> tuple[str, int]:
    url = client.base_url
    assert url.host
    assert url.port
    return url.host, url.port


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 response (the server closes after it)."""
    data = b""
    sock.settimeout(30)
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def rss_bytes() -> int:
    """This process's resident memory (the API runs in a thread of it), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def assert_too_large(status: int, headers: dict[str, str], body: bytes, limit: int) -> None:
    assert (status, headers["content-type"]) == (413, "application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == 413
    assert f"({limit} bytes)" in problem["detail"]


def test_a_300_mb_content_length_is_refused_unread(api: httpx.Client) -> None:
    """An unauthenticated POST announcing 300 MB gets 413 problem details at once, though only
    its headers and a few bytes were sent."""
    with socket.create_connection(address(api)) as sock:
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 300000000\r\n\r\n{"username": '
        )
        status, headers, body = read_response(sock)
    assert_too_large(status, headers, body, MIB)
    assert headers["connection"] == "close"


def test_ingest_bodies_are_limited_as_on_mqtt(api: httpx.Client) -> None:
    """/readings takes at most 64 KiB (MQTT ingest's limit per message): a whitespace-padded
    JSON body just over it is refused before authentication; the same size elsewhere is read."""
    assert Settings(demo=True).api_max_ingest_body_bytes == MAX_PAYLOAD_BYTES
    padded = b"[" + b" " * MAX_PAYLOAD_BYTES + b"]"
    response = api.post(
        f"{API}/readings", content=padded, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert f"({MAX_PAYLOAD_BYTES} bytes)" in response.json()["detail"]
    login = api.post(
        f"{API}/auth/login",
        content=b'{"username": "nobody", "password": "x"}' + b" " * MAX_PAYLOAD_BYTES,
        headers={"content-type": "application/json"},
    )
    assert login.status_code == 401


def test_the_limits_are_settings(sqlite_sessions: sessionmaker[Session]) -> None:
    """DHO_API_MAX_BODY_BYTES applies to every endpoint; a body within it is answered as
    usual."""
    settings = Settings(demo=True, api_max_body_bytes=2048)
    with serving(create_app(settings, sqlite_sessions)) as client:
        small = client.post(f"{API}/auth/login", json={"username": "a", "password": "b"})
        big = client.post(f"{API}/auth/login", json={"username": "a" * 3000, "password": "b"})
    assert small.status_code == 401
    assert big.status_code == 413
    assert "(2048 bytes)" in big.json()["detail"]


def test_a_chunked_body_growing_past_the_limit_stops_with_413_and_bounded_memory(
    api: httpx.Client,
) -> None:
    """A chunked upload of 50 MB to /readings (no Content-Length) is answered 413 as soon as it
    passes 64 KiB: the server stops reading, the client cannot send most of it, and the
    service's memory hardly grows."""
    baseline = rss_bytes()
    peak = baseline
    sampling = True

    def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    chunk = b" " * MIB
    sent = 0
    with socket.create_connection(address(api)) as sock:
        sock.sendall(
            b"POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(50):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what we want
        status, headers, body = read_response(sock)
    sampling = False
    sampler.join()
    assert_too_large(status, headers, body, MAX_PAYLOAD_BYTES)
    assert sent < 50 * MIB
    assert peak - baseline < RSS_GROWTH_ALLOWED, f"RSS grew {(peak - baseline) / MIB:.0f} MiB"
