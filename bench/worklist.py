"""Benchmark: a nurse's morning over real HTTP on a database the size of a large region.

Not a timed test; it prints figures. In one run:

1. **seed** PostgreSQL (``dho_worklist_bench``, made afresh; ``--reuse`` keeps a database seeded
   with the same sizes) with 10,000 patients of two follow-up centres, each with an approved
   template plan and a gateway, and 10 million readings. The simulated patients measure about
   0.95 times a day (their adherence model), so 10 million readings take 1,060 days of history
   (two years would give 6.9 million; ``--days 730``):

   * ``--prototypes`` simulated patients (``devices.simulate``: physiology, adherence, episodes
     of deterioration) are simulated over the whole period and every reading is classified by
     the real triage core (``triage.domain.classify`` with the patient's history) and run
     through the real alert rules (``triage.domain.alerts.decide``), with a simulated nurse who
     acknowledges and resolves each alert a day after it opened (alerts of the last two days
     stay open, half of them acknowledged) — a realistic alert mix;
   * each of the 10,000 patients gets one prototype's classified history (shifted by a few
     minutes), copied inside PostgreSQL (``INSERT … SELECT``), with its alerts and events;

2. **serve** the real API (``triage.api.app.create_app`` under uvicorn) in a separate process;
3. **measure** over real HTTP, logged in as a nurse of the large centre:

   * the worklist (``GET /api/v1/worklist?limit=50``, first page and a filtered one),
   * a patient's timeline over 90 days (``GET /api/v1/patients/{id}/timeline``),
   * the alert-handling round trip: acknowledge → record an action → resolve;

and prints p50/p95/p99 per request kind. Targets (2-core machine): **worklist p95 ≤ 100 ms,
timeline p95 ≤ 200 ms**. The last line is machine-readable::

    RESULT worklist_p95_ms=… timeline_p95_ms=… patients=… readings=…

Run: ``python bench/worklist.py`` (``--help`` for sizes; the first seeding of 10M readings
takes several minutes, ``--reuse`` skips it on later runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from devices.simulate import SimulatedReading, make_population, simulate
from triage.domain.alerts import (
    Alert,
    AttachBreach,
    MarkBackInRange,
    OpenAlert,
    acknowledge,
    apply,
    decide,
    open_alert,
    resolve,
)
from triage.domain.classify import History, classify, history_window
from triage.domain.findings import Finding
from triage.domain.plan import Condition, PlanVersion, approve
from triage.domain.readings import Kind, Reading
from triage.domain.templates import template
from triage.storage.database import migrate
from triage.storage.repositories import event_values
from triage.storage.seed import hash_secret

HERE = Path(__file__).resolve()
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/dho_worklist_bench"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Oslo: the morning round
NURSE = "bench-nurse"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a synthetic bench user
PROTO_PLAN = "plan-prototype"


# ----------------------------------------------------------------------------- prototypes


@dataclass
class Prototype:
    """One simulated patient's classified history and alert episodes."""

    condition: Condition
    readings: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def plan_for(condition: Condition, plan_id: str, at: datetime) -> PlanVersion:
    draft = template(condition).model_copy(update={"plan_id": plan_id})
    return approve(draft, by="bench-gp", role="gp", at=at)


def build_prototype(patient: Any, start: datetime, days: int, seed: int) -> Prototype:
    """Simulate, classify and alert one prototype over ``days``."""
    condition = Condition(patient.condition.value)
    plan = plan_for(condition, PROTO_PLAN, start)
    window = history_window(plan)
    proto = Prototype(condition)
    rng = random.Random(seed)
    history: list[Reading] = []
    breaches: list[Finding] = []
    open_alerts: dict[str, Alert] = {}
    resolve_at: dict[str, datetime] = {}
    for event in simulate(patient, start, days):
        if not isinstance(event, SimulatedReading):
            continue
        at = event.measured_at.astimezone(UTC)
        if at > NOW:
            break
        for alert_id in [a for a, when in resolve_at.items() if when <= at]:
            _handle(proto, open_alerts, alert_id, resolve_at.pop(alert_id), close=True)
        reading = Reading(
            id=f"r{len(proto.readings)}", kind=Kind(event.kind), measured_at=at, values=event.values
        )
        since = at - window
        history = [r for r in history if r.measured_at >= since][-200:]
        breaches = [f for f in breaches if f.at >= since]
        result = classify(
            reading, plan, History(readings=tuple(history), findings=tuple(breaches)), at
        )
        history.append(reading)
        breaches.extend(f for f in result.findings if f.is_breach)
        colour = result.colour if result.findings else None
        proto.readings.append(
            {
                "n": len(proto.readings),
                "kind": event.kind,
                "values": event.values,
                "device": {"profile": event.device, "model": "DHO simulated"},
                "at": at,
                "colour": colour.value if colour else None,
                "findings": [f.model_dump(mode="json") for f in result.findings],
            }
        )
        for change in decide("proto", list(open_alerts.values()), result.findings):
            if isinstance(change, OpenAlert):
                alert, ev = open_alert(change, f"a{len(proto.alerts)}")
                proto.alerts.append({})  # placeholder: final state written at the end
                open_alerts[alert.id] = alert
                # the simulated nurse: handles it a day later unless it is recent
                if at < NOW - timedelta(days=2):
                    resolve_at[alert.id] = at + timedelta(hours=rng.uniform(2, 30))
            else:
                assert isinstance(change, AttachBreach | MarkBackInRange)  # noqa: S101
                alert, ev = apply(open_alerts[change.alert_id], change)
                open_alerts[alert.id] = alert
            proto.events.append(event_values(ev))
    for alert_id, when in sorted(resolve_at.items(), key=lambda kv: kv[1]):
        _handle(proto, open_alerts, alert_id, min(when, NOW), close=when <= NOW)
    for alert in open_alerts.values():  # recent ones: half acknowledged this morning
        if alert.state.value == "open" and rng.random() < 0.5:
            _handle(proto, open_alerts, alert.id, NOW - timedelta(minutes=30), close=False)
    for alert in open_alerts.values():
        proto.alerts[int(alert.id[1:])] = _alert_row(alert)
    proto.alerts = [a for a in proto.alerts if a]
    return proto


def _handle(
    proto: Prototype, alerts: dict[str, Alert], alert_id: str, at: datetime, *, close: bool
) -> None:
    alert = alerts[alert_id]
    if alert.state.value == "open":
        alert, ev = acknowledge(alert, by="bench-nurse", at=at)
        proto.events.append(event_values(ev))
    if close:
        alert, ev = resolve(alert, by="bench-nurse", at=at + timedelta(minutes=5))
        proto.events.append(event_values(ev))
        proto.alerts[int(alert.id[1:])] = _alert_row(alert)
        del alerts[alert_id]
        return
    alerts[alert_id] = alert


def _alert_row(alert: Alert) -> dict[str, Any]:
    data = alert.model_dump(mode="json")
    data["reason"] = alert.reason.model_dump(mode="json")
    return data


# ----------------------------------------------------------------------------- seeding


def fresh_database(url: str) -> None:
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def seeded_sizes(engine: Engine) -> tuple[int, int] | None:
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT patients, readings FROM bench_sizes")).one()
    except Exception:
        return None
    return int(row[0]), int(row[1])


def copy_rows(
    engine: Engine, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]
) -> None:
    with engine.begin() as connection:
        driver: Any = connection.connection.driver_connection
        names = ", ".join(columns)
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def seed(engine: Engine, patients: int, days: int, prototypes: int, seed_value: int) -> int:
    started = time.perf_counter()
    start = (NOW - timedelta(days=days)).astimezone(UTC)
    population = make_population(prototypes, seed_value, horizon_days=days)
    protos = [build_prototype(p, start, days + 1, seed_value + i) for i, p in enumerate(population)]
    per_proto = statistics.mean(len(p.readings) for p in protos)
    print(
        f"prototypes: {prototypes} simulated, classified and alerted over {days} days "
        f"({per_proto:,.0f} readings each) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE proto_readings (proto int, n int, kind text, "
                "values jsonb, device jsonb, at timestamptz, colour text, findings jsonb)"
            )
        )
        connection.execute(text("CREATE UNLOGGED TABLE proto_alerts (proto int, doc jsonb)"))
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE proto_events (proto int, alert text, event text, "
                "at timestamptz, by text, from_state text, to_state text, colour text, note text)"
            )
        )
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE patient_map (patient_id text, proto int, "
                "gateway_id text, plan_id text, shift interval)"
            )
        )
    copy_rows(
        engine,
        "proto_readings",
        ["proto", "n", "kind", "values", "device", "at", "colour", "findings"],
        (
            [
                i,
                r["n"],
                r["kind"],
                json.dumps(r["values"]),
                json.dumps(r["device"]),
                r["at"],
                r["colour"],
                json.dumps(r["findings"]),
            ]
            for i, p in enumerate(protos)
            for r in p.readings
        ),
    )
    copy_rows(
        engine,
        "proto_alerts",
        ["proto", "doc"],
        ([i, json.dumps(a)] for i, p in enumerate(protos) for a in p.alerts),
    )
    copy_rows(
        engine,
        "proto_events",
        ["proto", "alert", "event", "at", "by", "from_state", "to_state", "colour", "note"],
        (
            [
                i,
                e["alert_id"],
                e["event"],
                e["at"],
                e["by"],
                e["from_state"],
                e["to_state"],
                e["colour"],
                e["note"],
            ]
            for i, p in enumerate(protos)
            for e in p.events
        ),
    )
    t_people = time.perf_counter()
    _people(engine, patients, protos, start)
    print(f"people, patients, plans, gateways: {time.perf_counter() - t_people:.0f} s", flush=True)
    t_copy = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text(
                """INSERT INTO readings (id, patient_id, gateway_id, kind, values, device,
                measured_at, classified_at, received_at, stored_at, timezone, plan_id,
                plan_version, colour, findings, flags)
                SELECT m.patient_id || ':' || r.n, m.patient_id, m.gateway_id, r.kind, r.values,
                r.device, r.at + m.shift, r.at + m.shift, r.at + m.shift, r.at + m.shift,
                'Europe/Oslo', m.plan_id, 1, r.colour,
                replace(r.findings::text, :proto, m.plan_id)::jsonb, '[]'::jsonb
                FROM patient_map m JOIN proto_readings r ON r.proto = m.proto"""
            ),
            {"proto": PROTO_PLAN},
        )
        connection.execute(
            text(
                """INSERT INTO alerts (id, patient_id, rule_id, rule_type, category, colour,
                state, opened_at, last_breach_at, breaches, reason, acknowledged_at,
                acknowledged_by, resolved_at, resolved_by, back_in_range_at, escalated_at,
                escalated_to, raised_at)
                SELECT m.patient_id || ':' || (a.doc->>'id'), m.patient_id, a.doc->>'rule_id',
                a.doc->>'rule_type', a.doc->>'category', a.doc->>'colour', a.doc->>'state',
                (a.doc->>'opened_at')::timestamptz + m.shift,
                (a.doc->>'last_breach_at')::timestamptz + m.shift,
                (a.doc->>'breaches')::int,
                replace((a.doc->'reason')::text, :proto, m.plan_id)::jsonb,
                (a.doc->>'acknowledged_at')::timestamptz + m.shift, a.doc->>'acknowledged_by',
                (a.doc->>'resolved_at')::timestamptz + m.shift, a.doc->>'resolved_by',
                (a.doc->>'back_in_range_at')::timestamptz + m.shift, NULL, NULL,
                (a.doc->>'raised_at')::timestamptz + m.shift
                FROM patient_map m JOIN proto_alerts a ON a.proto = m.proto"""
            ),
            {"proto": PROTO_PLAN},
        )
        connection.execute(
            text(
                """INSERT INTO alert_events (alert_id, event, at, by, from_state, to_state,
                colour, note)
                SELECT m.patient_id || ':' || e.alert, e.event, e.at + m.shift, e.by,
                e.from_state, e.to_state, e.colour, e.note
                FROM patient_map m JOIN proto_events e ON e.proto = m.proto"""
            )
        )
        _morning_alerts(connection, protos, patients, seed_value)
        readings = connection.execute(text("SELECT count(*) FROM readings")).scalar_one()
        connection.execute(
            text("CREATE TABLE bench_sizes AS SELECT :p AS patients, :r AS readings"),
            {"p": patients, "r": readings},
        )
        for table in ("proto_readings", "proto_alerts", "proto_events", "patient_map"):
            connection.execute(text(f"DROP TABLE {table}"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(
        f"readings, alerts, events copied for {patients:,} patients: {readings:,} readings in "
        f"{time.perf_counter() - t_copy:.0f} s (seeding {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return int(readings)


#: The morning's open alerts: share of patients with an open red, and with an open yellow.
MORNING_RED = 0.05
MORNING_YELLOW = 0.15


def _morning_alerts(
    connection: Any, protos: Sequence[Prototype], patients: int, seed_value: int
) -> None:
    """Open alerts for this morning: about 5 % of patients red and 15 % yellow, opened during
    the last 36 hours, half of them already acknowledged — each with a real finding of its
    condition taken from the prototypes' classified history (so its reason reads as it would)."""
    rng = random.Random(seed_value)
    pool: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for proto in protos:
        for reading in proto.readings:
            for finding in reading["findings"]:
                if finding["colour"] in ("yellow", "red") and finding["rule_type"] != "missing":
                    pool.setdefault((proto.condition.value, finding["colour"]), []).append(finding)
    rows = []
    for i in range(patients):
        roll = rng.random()
        colour = (
            "red"
            if roll < MORNING_RED
            else "yellow"
            if roll < MORNING_RED + MORNING_YELLOW
            else None
        )
        condition = protos[i % len(protos)].condition.value
        findings = pool.get((condition, colour or ""), [])
        if colour is None or not findings:
            continue
        opened = NOW - timedelta(minutes=rng.uniform(10, 36 * 60))
        finding = dict(rng.choice(findings), at=opened.isoformat(), plan_id=f"plan-p{i:05d}")
        acknowledged = rng.random() < 0.5
        rows.append(
            {
                "id": f"p{i:05d}:morning",
                "patient_id": f"p{i:05d}",
                "rule_id": finding["rule_id"],
                "rule_type": finding["rule_type"],
                "colour": colour,
                "state": "acknowledged" if acknowledged else "open",
                "opened_at": opened,
                "reason": json.dumps(finding),
                "ack": opened + timedelta(minutes=20) if acknowledged else None,
                "by": "bench-nurse" if acknowledged else None,
            }
        )
    connection.execute(
        text(
            """INSERT INTO alerts (id, patient_id, rule_id, rule_type, category, colour, state,
            opened_at, last_breach_at, breaches, reason, acknowledged_at, acknowledged_by,
            raised_at)
            VALUES (:id, :patient_id, :rule_id, :rule_type, 'clinical', :colour, :state,
            :opened_at, :opened_at, 1, CAST(:reason AS jsonb), :ack, :by, :opened_at)
            ON CONFLICT DO NOTHING"""
        ),
        rows,
    )
    connection.execute(
        text(
            """INSERT INTO alert_events (alert_id, event, at, by, from_state, to_state, colour,
            note) SELECT id, 'opened', opened_at, NULL, NULL, 'open', colour, ''
            FROM alerts WHERE right(id, 7) = 'morning'"""
        )
    )


def _people(engine: Engine, patients: int, protos: Sequence[Prototype], start: datetime) -> None:
    """Two centres (the large one serves 16 municipalities), a nurse, 100 GPs, the patients with
    approved template plans and gateways (no secrets: the bench does not ingest)."""
    documents = {
        c: plan_for(c, "PLAN_ID", start).model_dump(mode="json", by_alias=True) for c in Condition
    }
    with engine.begin() as connection:
        for i in range(20):
            connection.execute(
                text("INSERT INTO municipalities (id, number, name) VALUES (:id, :no, :name)"),
                {"id": f"m{i:02d}", "no": f"98{i:02d}", "name": f"Benchkommune {i + 1}"},
            )
        for centre, name, municipalities in (
            ("c-large", "Regional oppfølgingstjeneste", range(16)),
            ("c-small", "Oppfølgingstjenesten Sør", range(16, 20)),
        ):
            connection.execute(
                text(
                    "INSERT INTO centres (id, name, timezone, calendar, escalation) "
                    "VALUES (:id, :name, 'Europe/Oslo', '{}', '{}')"
                ),
                {"id": centre, "name": name},
            )
            for m in municipalities:
                connection.execute(
                    text("INSERT INTO centre_municipalities VALUES (:c, :m)"),
                    {"c": centre, "m": f"m{m:02d}"},
                )
        connection.execute(
            text(
                "INSERT INTO users (id, username, display_name, role, password_hash, active, "
                "created_at, failed_logins) VALUES ('u-nurse', :u, 'Sykepleier Bench', 'nurse', "
                ":h, true, :now, 0)"
            ),
            {"u": NURSE, "h": hash_secret(PASSWORD), "now": NOW},
        )
        connection.execute(text("INSERT INTO memberships VALUES ('u-nurse', 'c-large')"))
        for g in range(100):
            connection.execute(
                text(
                    "INSERT INTO users (id, username, display_name, role, active, created_at, "
                    "failed_logins) VALUES (:id, :u, :n, 'gp', true, :now, 0)"
                ),
                {"id": f"u-gp{g:03d}", "u": f"bench-gp-{g:03d}", "n": f"Fastlege {g}", "now": NOW},
            )
    rng = random.Random(7)
    rows = []
    for i in range(patients):
        proto = i % len(protos)
        large = i < patients * 0.8
        municipality = rng.randrange(16) if large else 16 + rng.randrange(4)
        rows.append((f"p{i:05d}", proto, municipality, "c-large" if large else "c-small"))
    copy_rows(
        engine,
        "patients",
        [
            "id",
            "display_name",
            "condition",
            "gp_user_id",
            "municipality_id",
            "centre_id",
            "timezone",
            "state",
            "enrolled_at",
            "state_changed_at",
        ],
        (
            [
                pid,
                f"Benchpasient {pid}",
                protos[proto].condition.value,
                f"u-gp{int(pid[1:]) % 100:03d}",
                f"m{m:02d}",
                centre,
                "Europe/Oslo",
                "active",
                start,
                start,
            ]
            for pid, proto, m, centre in rows
        ),
    )
    copy_rows(
        engine,
        "plans",
        ["id", "patient_id", "condition", "created_at"],
        ([f"plan-{pid}", pid, protos[proto].condition.value, start] for pid, proto, _, _ in rows),
    )
    copy_rows(
        engine,
        "plan_versions",
        ["plan_id", "version", "status", "document", "created_at", "approved_by", "approved_at"],
        (
            [
                f"plan-{pid}",
                1,
                "approved",
                json.dumps(documents[protos[proto].condition]).replace("PLAN_ID", f"plan-{pid}"),
                start,
                "bench-gp",
                start,
            ]
            for pid, proto, _, _ in rows
        ),
    )
    copy_rows(
        engine,
        "gateways",
        ["id", "patient_id", "created_at", "online", "status"],
        ([f"gw-{pid}", pid, start, True, "{}"] for pid, _, _, _ in rows),
    )
    copy_rows(
        engine,
        "patient_map",
        ["patient_id", "proto", "gateway_id", "plan_id", "shift"],
        (
            [pid, proto, f"gw-{pid}", f"plan-{pid}", timedelta(minutes=-(int(pid[1:]) % 90))]
            for pid, proto, _, _ in rows
        ),
    )


# ----------------------------------------------------------------------------- measuring


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER = """
import sys, uvicorn
from datetime import datetime
from triage.api.app import create_app
from triage.config import Settings
from triage.storage.database import make_engine, session_factory
now = datetime.fromisoformat(sys.argv[3])
settings = Settings(demo=True, database_url=sys.argv[1], login_rate_per_minute=10000)
app = create_app(settings, session_factory(make_engine(sys.argv[1])), clock=lambda: now)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def timed(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.request(method, url, **kwargs)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code >= 400:
        raise SystemExit(f"{method} {url} → {response.status_code}: {response.text[:300]}")
    return elapsed, response


def percentiles(samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms (n={len(ordered)})"


def p95(samples: Sequence[float]) -> float:
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[94]


def measure(url: str, requests: int, seed_value: int) -> tuple[float, float]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SERVER, url, str(port), NOW.isoformat()],
        env={**os.environ, "PYTHONPATH": str(HERE.parents[1])},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start") from None
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=60) as client:
            token = client.post(
                "/api/v1/auth/login", json={"username": NURSE, "password": PASSWORD}
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            for _ in range(5):  # warm up (connections, caches)
                timed(client, "GET", "/api/v1/worklist", params={"limit": 50})
            worklist = [
                timed(client, "GET", "/api/v1/worklist", params={"limit": 50})[0]
                for _ in range(requests)
            ]
            filtered = [
                timed(
                    client,
                    "GET",
                    "/api/v1/worklist",
                    params={"limit": 50, "colour": "red", "municipality": "m03"},
                )[0]
                for _ in range(max(20, requests // 4))
            ]
            first = timed(client, "GET", "/api/v1/worklist", params={"limit": 50})[1].json()
            reds = [e for e in first["items"] if e.get("colour") == "red"]
            rng = random.Random(seed_value)
            since = (NOW - timedelta(days=90)).isoformat()
            timeline = []
            for _ in range(requests):
                pid = f"p{rng.randrange(int(0.8 * 10_000)):05d}"
                timeline.append(
                    timed(
                        client,
                        "GET",
                        f"/api/v1/patients/{pid}/timeline",
                        params={"since": since, "limit": 200},
                    )[0]
                )
            round_trips = []
            for entry in reds[:20]:
                alerts = [a for a in entry.get("alerts", []) if a.get("state") == "open"]
                if not alerts:
                    continue
                alert_id = alerts[0]["id"]
                t0 = time.perf_counter()
                timed(client, "POST", f"/api/v1/alerts/{alert_id}/acknowledge")
                timed(
                    client,
                    "POST",
                    f"/api/v1/alerts/{alert_id}/actions",
                    json={"outcome": "phoned_patient", "note": "Ringt, avtalt ny måling."},
                )
                timed(
                    client,
                    "POST",
                    f"/api/v1/alerts/{alert_id}/resolve",
                    json={"outcome": "advised_per_plan", "note": "Fulgt opp etter planen."},
                )
                round_trips.append((time.perf_counter() - t0) * 1000)
        print(
            f"worklist (first page of 50, centre of {int(0.8 * 10_000):,}): {percentiles(worklist)}"
        )
        print(f"worklist (red, one municipality): {percentiles(filtered)}")
        print(f"timeline (90 days, up to 200 items): {percentiles(timeline)}")
        if len(round_trips) >= 2:
            print(f"alert round trip (acknowledge + action + resolve): {percentiles(round_trips)}")
        else:
            print(f"alert round trip: {len(round_trips)} open red alerts on the first page")
        return p95(worklist), p95(timeline)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1060)
    parser.add_argument("--prototypes", type=int, default=250)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()
    print(f"worklist bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")
    engine = create_engine(args.database_url)
    sizes = seeded_sizes(engine) if args.reuse else None
    if sizes is not None and sizes[0] == args.patients:
        readings = sizes[1]
        print(f"database: reusing {sizes[0]:,} patients, {readings:,} readings")
    else:
        engine.dispose()
        fresh_database(args.database_url)
        engine = create_engine(args.database_url)
        migrate(engine)
        readings = seed(engine, args.patients, args.days, args.prototypes, args.seed)
    engine.dispose()
    worklist_p95, timeline_p95 = measure(args.database_url, args.requests, args.seed)
    print(
        f"RESULT worklist_p95_ms={worklist_p95:.1f} timeline_p95_ms={timeline_p95:.1f} "
        f"patients={args.patients} readings={readings}"
    )


if __name__ == "__main__":
    main()
