"""``/metrics`` (Prometheus text format) and ``/ready`` over real HTTP, on SQLite and PostgreSQL:
what an operator's scraper and load balancer see."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, SETTINGS, ApiWorld
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.jobs.runs import Tally, run_job
from triage.storage.database import make_engine, migrate, session_factory

#: One sample line of the text format: ``name{label="value",…} number``.
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})?'
    r" (?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> Samples:
    """Fetch /metrics (no login) and parse it strictly: every line a comment or a sample, every
    sample of a declared family."""
    response = http.get("/api/v1/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    declared: set[str] = set()
    samples: Samples = {}
    for line in response.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge")
            declared.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match is not None, f"not a sample line: {line!r}"
        assert match["name"] in declared, f"{match['name']} has no # TYPE line"
        labels = frozenset(LABEL.findall(match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def reading(spo2: float) -> dict[str, Any]:
    at = (NOW - timedelta(minutes=5)).isoformat()
    return {
        "schema": "dho.reading/1",
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": spo2, "pulse": 80},
        "device": {"profile": "plx", "model": "test"},
    }


def test_metrics_parse_and_count_an_ingested_reading(
    http: httpx.Client, api_world: ApiWorld
) -> None:
    """After a phone app posts a red reading and a broken one, the ingest counters, the open
    red alerts and the dead letters go up — without a login."""
    before = scrape(http)
    assert value(before, "dho_database_up") == 1
    patient = api_world.patients["b-covid"]
    token = {"Authorization": f"Bearer {patient.gateway_id}:{patient.gateway_secret}"}
    response = http.post("/api/v1/readings", json=[reading(84), {"schema": "nope"}], headers=token)
    assert response.status_code == 200, response.text
    assert [item["status"] for item in response.json()["items"]] == ["stored", "rejected"]
    after = scrape(http)
    for outcome, increase in (("stored", 1), ("rejected", 1), ("duplicate", 0)):
        name = "dho_ingest_messages_total"
        assert value(after, name, outcome=outcome) - value(before, name, outcome=outcome) == (
            increase
        )
    assert (
        value(after, "dho_ingest_received_total") - value(before, "dho_ingest_received_total") == 2
    )
    assert value(before, "dho_alerts_open", colour="red") == 0
    assert value(after, "dho_alerts_open", colour="red") == 1
    assert value(after, "dho_alerts", colour="red", state="open") == 1
    assert value(after, "dho_dead_letters", reason_code="schema") == 1


def test_job_runs_and_the_time_since_the_last_one(
    http: httpx.Client, api_world: ApiWorld, sessions: sessionmaker[Session]
) -> None:
    """Each job's runs are counted by status, with how long ago it last ran."""

    def nothing(_tally: Tally) -> None:
        return None

    run_job("lost_contact", sessions, NOW - timedelta(hours=2), nothing)
    run_job("lost_contact", sessions, NOW - timedelta(minutes=15), nothing)
    run_job("escalation", sessions, NOW - timedelta(minutes=1), nothing)
    samples = scrape(http)
    assert value(samples, "dho_job_runs_total", job="lost_contact", status="ok") == 2
    assert value(samples, "dho_job_runs_total", job="escalation", status="ok") == 1
    assert value(samples, "dho_job_seconds_since_last_run", job="lost_contact") == 15 * 60
    assert value(samples, "dho_job_seconds_since_last_run", job="escalation") == 60
    assert value(samples, "dho_job_last_run_timestamp_seconds", job="escalation") == (
        (NOW - timedelta(minutes=1)).timestamp()
    )


def test_metrics_name_no_patient(http: httpx.Client, api_world: ApiWorld) -> None:
    """No patient id, name, national id or gateway id appears in the metrics."""
    patient = api_world.patients["a-copd"]
    token = {"Authorization": f"Bearer {patient.gateway_id}:{patient.gateway_secret}"}
    assert http.post("/api/v1/readings", json=reading(80), headers=token).status_code == 200
    text = http.get("/api/v1/metrics").text
    for p in api_world.patients.values():
        assert p.id not in text
        assert p.gateway_id not in text
        assert "Testpasient" not in text


def test_ready_when_the_database_is_migrated(http: httpx.Client) -> None:
    """A migrated database answers: ready."""
    response = http.get("/api/v1/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["database_revision"] == body["head_revision"]
    assert body["head_revision"]


def test_not_ready_while_the_schema_is_behind(tmp_path: Path) -> None:
    """A database at an older migration gives 503 and says to restart (which migrates)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, "0002")
    try:
        with serving(create_app(SETTINGS, session_factory(engine))) as client:
            response = client.get("/api/v1/ready")
    finally:
        engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["database_revision"] == ["0002"]
    assert "restart the service" in body["reason"]


def test_not_ready_when_the_database_does_not_answer() -> None:
    """An unreachable database gives 503 with the reason; /metrics still serves the ingest
    counters and says the database is down."""
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with serving(create_app(SETTINGS, session_factory(engine))) as client:
            ready = client.get("/api/v1/ready")
            metrics = scrape(client)
    finally:
        engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("the database does not answer")
    assert value(metrics, "dho_database_up") == 0
    assert ("dho_ingest_messages_total", frozenset({("outcome", "stored")})) in metrics
