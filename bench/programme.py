"""Benchmark: the programme view (issue 18) on a region-sized PostgreSQL database.

Not a timed test; it prints figures. In one run:

1. **seed** PostgreSQL (``bench_i18``, made afresh; ``--reuse`` keeps a database
   seeded with the same sizes) with ``bench/worklist.py``'s people (its ``fresh_database`` and
   ``_people``: two centres, 20 municipalities, 100 GPs, 10,000 patients with approved template
   plans and gateways), then, inside PostgreSQL (``INSERT … SELECT`` over ``generate_series``),
   ``--readings`` readings over the last ``--days`` days (10 million over 90 days: about 11 a
   patient-day) of the kinds each condition's template schedules, each before or after the
   scheduled time by the patient's own adherence and coloured red/yellow/green by the
   patient's own risk; the questionnaires the plans schedule (answered on most days); about
   0.2 alerts per patient-day (red/yellow, acknowledged and resolved, with events and an
   outcome action, some with a home visit avoided); some patients discharged with a code,
   paused, on home care;
2. **run the daily job** (:func:`triage.jobs.programme_days.compute_programme_days`) over the
   days (its first run: the catch-up), printing the CPU seconds per patient-day of this process
   and of its PostgreSQL backend;
3. **measure** every part of every section of :data:`triage.programme.registry.PARTS` (whatever
   they are when it runs), ``--runs`` times each (≥ 20), for all centres over the last 30 and
   90 days, and for the large centre and one municipality over 30 days: p50/p95 wall and CPU
   (this process and the backend), with the load average.

Exits 1 when a part's p95 wall time is above 1 s (the target, docs/performance.md).

Run: ``python bench/programme.py`` (``--help`` for sizes; ``--reuse`` skips the seeding on later
runs; the job is run again only with ``--rerun-job``).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

import worklist  # noqa: E402 - the worklist bench's world, reused

from triage.config import Settings  # noqa: E402
from triage.domain.plan import Condition  # noqa: E402
from triage.domain.programme import ProgrammeQuery  # noqa: E402
from triage.domain.templates import template  # noqa: E402
from triage.jobs.programme_days import compute_programme_days  # noqa: E402
from triage.programme.registry import PARTS, Part  # noqa: E402
from triage.storage.database import migrate  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_i18"
NOW = worklist.NOW  # Monday 23 November 2026, 08:00 in Oslo
TARGET_P95_S = 1.0


def schedules() -> list[tuple[str, list[str], int, str | None]]:
    """Per condition: the kinds its template schedules (plus heart rate, which the devices
    send beside them), the first scheduled time (minutes after midnight), its questionnaire."""
    rows = []
    for condition in Condition:
        items = template(condition).schedule.items
        kinds = sorted({k.value for i in items for k in i.kinds} | {"heart_rate"})
        first = min(i.due_by.hour * 60 + i.due_by.minute for i in items)
        questionnaire = next((i.questionnaire for i in items if i.questionnaire), None)
        rows.append((condition.value, kinds, first, questionnaire))
    return rows


#: The readings' ``values``, ``device`` and ``findings`` as seeded here: empty (the programme view
#: reads only kinds, times and colours). ``bench/fhir_export.py`` passes SQL expressions of its
#: own (over ``z.kind``, ``c.colour``, ``x.t``, ``x.r`` and ``b.id``) for realistic ones.
EMPTY_READING_DOCS = ("'{}'::jsonb", "'{}'::jsonb", "'[]'::jsonb")


def seed(
    engine: Engine,
    patients: int,
    readings: int,
    days: int,
    reading_docs: tuple[str, str, str] = EMPTY_READING_DOCS,
) -> int:
    """Seed ``patients`` and about ``readings`` readings over ``days`` (see the module's doc);
    ``reading_docs``: SQL expressions of the readings' values, device and findings."""
    values_sql, device_sql, findings_sql = reading_docs
    started = time.perf_counter()
    start = NOW - timedelta(days=days)
    protos = [worklist.Prototype(condition) for condition in Condition]
    with engine.begin() as connection:  # _people fills it for the worklist's copying
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE patient_map (patient_id text, proto int, "
                "gateway_id text, plan_id text, shift interval)"
            )
        )
    worklist._people(engine, patients, protos, start)  # the worklist bench's own world
    print(f"people, patients, plans, gateways: {time.perf_counter() - started:.0f} s", flush=True)
    first_day = start.astimezone(UTC).date()
    per_day = readings / (patients * days)
    whole = math.floor(per_day)
    with engine.begin() as connection:
        connection.execute(text("SELECT setseed(0.18)"))
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE bench_kinds (condition text, kinds text[], due int, q text)"
            )
        )
        for condition, kinds, due, questionnaire in schedules():
            connection.execute(
                text("INSERT INTO bench_kinds VALUES (:c, :k, :d, :q)"),
                {"c": condition, "k": kinds, "d": due, "q": questionnaire},
            )
        # each patient's adherence (0.5–1.0) and risk factor (0–2), fixed by their id
        connection.execute(
            text(
                "CREATE UNLOGGED TABLE bench_people AS SELECT p.id, p.condition, "
                "0.5 + (abs(hashtext(p.id)) % 16) / 30.0 AS adherence, "
                "(abs(hashtext(p.id || 'r')) % 9) / 4.0 AS risk FROM patients p"
            )
        )
        # a bulk load: indexes and foreign keys are built once at the end
        connection.execute(text("ALTER TABLE readings DROP CONSTRAINT IF EXISTS pk_readings"))
        connection.execute(text("DROP INDEX IF EXISTS ix_readings_patient_measured"))
        connection.execute(
            text("ALTER TABLE readings DROP CONSTRAINT IF EXISTS fk_readings_patient_id_patients")
        )
    t_readings = time.perf_counter()
    step = 10
    for d0 in range(0, days, step):
        d1 = min(days, d0 + step) - 1
        with engine.begin() as connection:
            connection.execute(
                text(
                    # the reading_docs expressions are the benches' own constants
                    f"""INSERT INTO readings (id, patient_id, gateway_id, kind, values, device,
                    measured_at, classified_at, received_at, stored_at, timezone, plan_id,
                    plan_version, colour, findings, flags)
                    SELECT b.id || ':' || d || ':' || n, b.id, 'gw-' || b.id,
                    z.kind, {values_sql}, {device_sql},
                    x.t, x.t, x.t, x.t, 'Europe/Oslo', 'plan-' || b.id, 1,
                    c.colour, {findings_sql}, '[]'::jsonb
                    FROM bench_people b JOIN bench_kinds k ON k.condition = b.condition
                    CROSS JOIN generate_series(CAST(:d0 AS int), CAST(:d1 AS int)) d
                    CROSS JOIN generate_series(0, CAST(:whole AS int)) n
                    CROSS JOIN LATERAL (
                        SELECT k.kinds[1 + (n % array_length(k.kinds, 1))] AS kind
                    ) z
                    CROSS JOIN LATERAL (
                        SELECT ((CAST(:first AS date) + d)::timestamp AT TIME ZONE 'Europe/Oslo')
                        + make_interval(mins => CASE WHEN random() < b.adherence
                            THEN greatest(0, k.due - 1 - (random() * 240)::int)
                            ELSE least(1439, k.due + 1 + (random() * 400)::int) END) AS t,
                        random() AS r
                    ) x
                    CROSS JOIN LATERAL (
                        SELECT CASE WHEN x.r < 0.01 * b.risk THEN 'red'
                            WHEN x.r < 0.06 * b.risk THEN 'yellow'
                            WHEN x.r < 0.98 THEN 'green' END AS colour
                    ) c
                    WHERE n < :whole OR random() < :fraction"""  # noqa: S608
                ),
                {
                    "d0": d0,
                    "d1": d1,
                    "first": first_day,
                    "whole": whole,
                    "fraction": per_day - whole,
                },
            )
        print(f"  readings: days {d0}–{d1} ({time.perf_counter() - t_readings:.0f} s)", flush=True)
    with engine.begin() as connection:
        connection.execute(
            text(
                """INSERT INTO reports (id, patient_id, gateway_id, questionnaire, answered_at,
                received_at, stored_at, answers, findings, flags)
                SELECT b.id || ':q:' || d, b.id, 'gw-' || b.id, k.q, x.t, x.t, x.t, '{}'::jsonb,
                '[]'::jsonb, '[]'::jsonb
                FROM bench_people b JOIN bench_kinds k ON k.condition = b.condition
                CROSS JOIN generate_series(0, CAST(:last AS int)) d
                CROSS JOIN LATERAL (SELECT ((CAST(:first AS date) + d)::timestamp
                    AT TIME ZONE 'Europe/Oslo') + make_interval(mins => k.due - 30) AS t) x
                WHERE k.q IS NOT NULL AND random() < b.adherence"""
            ),
            {"last": days - 1, "first": first_day},
        )
        _alerts(connection, days, first_day)
        _enrolment(connection, start)
    t_index = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (id)"))
        connection.execute(
            text("CREATE INDEX ix_readings_patient_measured ON readings (patient_id, measured_at)")
        )
        connection.execute(
            text(
                "ALTER TABLE readings ADD CONSTRAINT fk_readings_patient_id_patients "
                "FOREIGN KEY (patient_id) REFERENCES patients (id)"
            )
        )
        count = int(connection.execute(text("SELECT count(*) FROM readings")).scalar_one())
        connection.execute(
            text("CREATE TABLE bench_sizes AS SELECT :p AS patients, :r AS readings, :d AS days"),
            {"p": patients, "r": count, "d": days},
        )
        connection.execute(text("DROP TABLE bench_kinds, bench_people, patient_map"))
    print(f"indexes and keys: {time.perf_counter() - t_index:.0f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(
        f"seeded {patients:,} patients, {count:,} readings over {days} days in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return count


def _alerts(connection: Any, days: int, first_day: date) -> None:
    """About 0.2 alerts a patient-day: red or yellow, acknowledged 5–300 minutes after they
    opened, resolved 10–600 minutes later, each with its events and one outcome action."""
    connection.execute(
        text(
            """INSERT INTO alerts (id, patient_id, rule_id, rule_type, category, colour, state,
            opened_at, last_breach_at, breaches, reason, acknowledged_at, acknowledged_by,
            resolved_at, resolved_by, raised_at)
            SELECT b.id || ':a:' || d, b.id, 'threshold:spo2', 'threshold', 'clinical',
            CASE WHEN random() < 0.25 THEN 'red' ELSE 'yellow' END, 'resolved',
            x.t, x.t, 1, '{}'::jsonb, x.t + make_interval(mins => 5 + (random() * 295)::int),
            'u-nurse', x.t + make_interval(mins => 310 + (random() * 600)::int), 'u-nurse', x.t
            FROM bench_people b CROSS JOIN generate_series(0, CAST(:last AS int)) d
            CROSS JOIN LATERAL (SELECT ((CAST(:first AS date) + d)::timestamp
                AT TIME ZONE 'Europe/Oslo') + make_interval(mins => (random() * 1439)::int) AS t) x
            WHERE random() < 0.2"""
        ),
        {"last": days - 1, "first": first_day},
    )
    connection.execute(
        text(
            """INSERT INTO alert_events (alert_id, event, at, by, from_state, to_state, colour,
            note)
            SELECT id, 'opened', opened_at, NULL, NULL, 'open', colour, '' FROM alerts
            UNION ALL SELECT id, 'acknowledged', acknowledged_at, 'u-nurse', 'open',
                'acknowledged', colour, '' FROM alerts
            UNION ALL SELECT id, 'resolved', resolved_at, 'u-nurse', 'acknowledged', 'resolved',
                colour, '' FROM alerts"""
        )
    )
    connection.execute(
        text(
            """INSERT INTO alert_actions (alert_id, patient_id, at, by, outcome, note,
            home_visit_avoided)
            SELECT id, patient_id, resolved_at, 'u-nurse',
            (ARRAY['phoned_patient', 'advised_per_plan', 'contacted_gp',
                   'home_care_visit_requested', 'sent_to_emergency_care', 'hospital_admission',
                   'no_action_needed'])[1 + (abs(hashtext(id)) % 7)], '',
            random() < 0.15 FROM alerts"""
        )
    )


def _enrolment(connection: Any, start: datetime) -> None:
    """Variety in the enrolment: 8 % discharged with a code, 4 % paused, 20 % on home care,
    enrolments spread over the first 60 days; the settings behind the benefit and workload
    figures."""
    connection.execute(
        text(
            """UPDATE patients SET
            enrolled_at = :start + make_interval(days => abs(hashtext(id || 'e')) % 60),
            home_care = abs(hashtext(id || 'h')) % 5 = 0"""
        ),
        {"start": start},
    )
    connection.execute(text("UPDATE patients SET state_changed_at = enrolled_at"))
    connection.execute(
        text(
            """UPDATE patients SET state = 'discharged',
            state_changed_at = enrolled_at + make_interval(days => 10 + abs(hashtext(id)) % 20),
            discharge_code = (ARRAY['stable', 'patient_withdrew', 'could_not_use_equipment',
                'not_suitable', 'nursing_home', 'moved', 'died', 'other'])
                [1 + abs(hashtext(id || 'c')) % 8]
            WHERE abs(hashtext(id || 's')) % 100 < 8"""
        )
    )
    connection.execute(
        text(
            """UPDATE patients SET state = 'paused', state_changed_at = :paused
            WHERE abs(hashtext(id || 's')) % 100 BETWEEN 8 AND 11"""
        ),
        {"paused": NOW - timedelta(days=5)},
    )
    connection.execute(text("UPDATE municipalities SET minutes_per_home_visit = 45"))
    connection.execute(text("UPDATE centres SET nurse_fte = 6.5"))


# ----------------------------------------------------------------------------- measuring


class Clock:
    """CPU seconds of this process and of one PostgreSQL backend (from /proc)."""

    def __init__(self, backend_pid: int) -> None:
        self.backend_pid = backend_pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def own(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def machine(self) -> float:
        """CPU seconds the whole machine was busy (every process, every CPU: PostgreSQL's
        parallel workers too, and whatever else runs)."""
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / self.tick

    def backend(self) -> float:
        try:
            fields = Path(f"/proc/{self.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.tick


def p(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def run_job(sessions: sessionmaker[Session], clock: Clock, days: int) -> None:
    settings = Settings(demo=True, programme_days_catch_up_days=days)
    own, backend, machine = clock.own(), clock.backend(), clock.machine()
    wall = time.perf_counter()
    result = compute_programme_days(sessions, settings, NOW)
    wall = time.perf_counter() - wall
    own, backend = clock.own() - own, clock.backend() - backend
    machine = clock.machine() - machine
    rows = int(result.detail.get("patient_days", 0))
    print(
        f"daily job: {result.processed} days, {rows:,} patient-days in {wall:.0f} s wall; CPU "
        f"{own:.0f} s here + {backend:.0f} s PostgreSQL = "
        f"{(own + backend) / max(rows, 1) * 1000:.2f} ms per patient-day "
        f"({result.status}; machine busy {machine:.0f} CPU s in all, parallel workers and "
        f"other sessions included; load {load()})",
        flush=True,
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(
    sessions: sessionmaker[Session], clock: Clock, runs: int, municipality: str
) -> list[tuple[str, float]]:
    end = (NOW - timedelta(days=1)).astimezone(UTC).date()
    queries = {
        "all centres, 30 days": ProgrammeQuery(end - timedelta(days=29), end, NOW),
        "all centres, 90 days": ProgrammeQuery(end - timedelta(days=89), end, NOW),
        "one centre (8,000), 30 days": ProgrammeQuery(
            end - timedelta(days=29), end, NOW, centre_ids=frozenset({"c-large"})
        ),
        "one municipality, 30 days": ProgrammeQuery(
            end - timedelta(days=29), end, NOW, municipality_ids=frozenset({municipality})
        ),
    }
    worst: list[tuple[str, float]] = []
    print(f"{'part':48} {'query':28} {'wall p50/p95 ms':>17} {'CPU p50/p95 ms':>16}  load")
    for section, parts in PARTS.items():
        for part in parts:
            name = f"{section.value}: {part.__module__.rsplit('.', 1)[1]}.{part.__name__}"
            for label, query in queries.items():
                try:
                    walls, cpus = timed(sessions, clock, runs, partial(call, part, query))
                except Exception as error:  # a part that fails is reported, and fails the run
                    print(f"{name:48} {label:28} FAILED: {type(error).__name__}: {error}")
                    worst.append((f"{name} [{label}] FAILED", math.inf))
                    continue
                print(
                    f"{name:48} {label:28} {p(walls, 0.5) * 1000:7.1f}/{p(walls, 0.95) * 1000:7.1f}"
                    f" {p(cpus, 0.5) * 1000:7.1f}/{p(cpus, 0.95) * 1000:7.1f}  {load()}",
                    flush=True,
                )
                worst.append((f"{name} [{label}]", p(walls, 0.95)))
    return worst


def call(part: Part, query: ProgrammeQuery, session: Session) -> object:
    return part(session, query)


def timed(
    sessions: sessionmaker[Session], clock: Clock, runs: int, call: Callable[[Session], Any]
) -> tuple[list[float], list[float]]:
    walls: list[float] = []
    cpus: list[float] = []
    with sessions() as session:
        call(session)  # warm-up (plans, caches)
        session.rollback()
        for _ in range(runs):
            own, backend, wall = clock.own(), clock.backend(), time.perf_counter()
            call(session)
            session.rollback()
            walls.append(time.perf_counter() - wall)
            cpus.append(clock.own() - own + clock.backend() - backend)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--rerun-job", action="store_true", help="with --reuse: run the job")
    args = parser.parse_args()
    if args.runs < 20:
        parser.error("--runs: at least 20 (a p95 of fewer runs says little)")
    print(
        f"programme bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load {load()}"
    )
    engine = create_engine(args.database_url, pool_size=1, max_overflow=0)
    sizes = worklist.seeded_sizes(engine) if args.reuse else None
    fresh = sizes is None or sizes[0] != args.patients
    if fresh:
        engine.dispose()
        worklist.fresh_database(args.database_url)
        engine = create_engine(args.database_url, pool_size=1, max_overflow=0)
        migrate(engine)
        readings = seed(engine, args.patients, args.readings, args.days)
    else:
        assert sizes is not None  # noqa: S101 - checked above
        readings = sizes[1]
        print(f"database: reusing {sizes[0]:,} patients, {readings:,} readings")
    sessions = sessionmaker(engine, expire_on_commit=False)
    with engine.connect() as connection:
        clock = Clock(int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one()))
        if fresh or args.rerun_job:
            connection.execute(text("DELETE FROM patient_days"))
            connection.commit()
    if fresh or args.rerun_job:
        run_job(sessions, clock, args.days)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # what autovacuum does after the job's bulk writes: the planner's statistics
        connection.execute(text("ANALYZE patient_days"))
    worst = measure(sessions, clock, args.runs, "m03")
    slow = [(name, seconds) for name, seconds in worst if seconds > TARGET_P95_S]
    top = max(worst, key=lambda w: w[1]) if worst else ("none", 0.0)
    print(
        f"RESULT programme_worst_p95_ms={top[1] * 1000:.1f} ({top[0]}) patients={args.patients} "
        f"readings={readings} load={load()}"
    )
    for name, seconds in slow:
        print(f"SLOW: {name}: p95 {seconds * 1000:.0f} ms > {TARGET_P95_S * 1000:.0f} ms")
    engine.dispose()
    sys.exit(1 if slow else 0)


if __name__ == "__main__":
    main()
