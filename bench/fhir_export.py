"""Benchmark: the FHIR bulk export (``dho export fhir``, issue 19) of a 10 M-reading database.

Not a timed test; it prints figures. In one run:

1. **seed** PostgreSQL (``bench_fhir``, made afresh; ``--reuse`` keeps a database seeded with
   the same number of patients) with ``bench/programme.py``'s seeding (its ``seed``: the
   worklist bench's people — two centres, 100 GPs, 10,000 patients with approved template plans
   and gateways — then ``--readings`` readings over ``--days`` days inside PostgreSQL, the
   questionnaire answers and the alerts), with realistic readings: the values of each kind
   (a blood pressure with its pulse, an SpO2 with its pulse, a glucose in mmol/L, ...) in the
   range of its colour, the meter (profile, model, MAC address, serial number) and, for a
   yellow or red reading, the threshold finding that coloured it (the programme bench seeds
   them empty: it reads only kinds, times and colours); the alerts get a reason and the answers
   a few questions answered, as stored by DHO;
2. **export** everything (``triage.export.fhir_ndjson.export_fhir``, what ``dho export fhir``
   runs) into a temporary directory, ``--runs`` times, and once more with ``--since`` the last
   ``--small-days`` days (about a tenth of the readings, for the memory comparison: the
   maximum RSS of an export of ~1 M readings against one of ~10 M), and prints for each run the
   resources per second, the CPU µs per resource of this process and of its PostgreSQL backend
   (from ``/proc``), the maximum RSS and the load average.

The last line is machine-readable::

    RESULT resources_per_s=… cpu_us_per_resource=… max_rss_mb=… load=…

(``resources_per_s`` and ``cpu_us_per_resource``: the best full run; ``cpu_us_per_resource``
is this process's CPU plus its backend's; ``max_rss_mb``: this process's peak.) The target is
≥ 20,000 resources/s (docs/performance.md). The database is kept for later runs.

Run: ``python bench/fhir_export.py`` (``--help`` for sizes; ``--reuse`` skips the seeding).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

import programme  # noqa: E402 - the programme bench's seeding, reused
import worklist  # noqa: E402 - its database helpers

from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES  # noqa: E402
from triage.storage.database import migrate  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_fhir"
TARGET_PER_S = 20_000

# ----------------------------------------------------------------------------- seeding

#: Per kind: the key of its main value, the plan parameter, and the value's SQL expression
#: (over ``c.colour`` and ``x.r``, the uniform draw that chose the colour: a red or yellow
#: value lies outside the template's zones, a green one inside).
_MAIN: dict[str, tuple[str, str, str]] = {
    "blood_pressure": (
        "systolic",
        "systolic",
        "CASE c.colour WHEN 'red' THEN 185 WHEN 'yellow' THEN 165 ELSE 112 + (x.r * 40)::int END",
    ),
    "spo2": (
        "spo2",
        "spo2",
        "CASE c.colour WHEN 'red' THEN 86 WHEN 'yellow' THEN 90 ELSE 94 + (x.r * 5)::int END",
    ),
    "heart_rate": (
        "pulse",
        "pulse",
        "CASE c.colour WHEN 'red' THEN 135 WHEN 'yellow' THEN 112 ELSE 55 + (x.r * 40)::int END",
    ),
    "glucose": (
        "glucose",
        "glucose",
        "CASE c.colour WHEN 'red' THEN 21.5 WHEN 'yellow' THEN 14.2 "
        "ELSE round((4.5 + x.r * 6)::numeric, 1) END",
    ),
    "body_weight": (
        "weight",
        "weight",
        "round((55 + abs(hashtext(b.id)) % 60 + x.r * 2 "
        "+ CASE c.colour WHEN 'red' THEN 3 WHEN 'yellow' THEN 1.5 ELSE 0 END)::numeric, 1)",
    ),
    "body_temperature": (
        "temperature",
        "temperature",
        "CASE c.colour WHEN 'red' THEN 39.6 WHEN 'yellow' THEN 38.4 "
        "ELSE round((36.2 + x.r * 1.2)::numeric, 1) END",
    ),
    "respiratory_rate": (
        "rate",
        "respiratory_rate",
        "CASE c.colour WHEN 'red' THEN 27 WHEN 'yellow' THEN 22 ELSE 12 + (x.r * 7)::int END",
    ),
    "peak_flow": (
        "pef",
        "peak_flow",
        "CASE c.colour WHEN 'red' THEN 180 WHEN 'yellow' THEN 260 ELSE 320 + (x.r * 180)::int END",
    ),
}

#: The companion values a meter sends beside the main one.
_EXTRA: dict[str, str] = {
    "blood_pressure": "'diastolic', 68 + (x.r * 20)::int, 'pulse', 58 + (x.r * 30)::int",
    "spo2": "'pulse', 62 + (x.r * 30)::int",
}


def reading_docs() -> tuple[str, str, str]:
    """SQL expressions of a seeded reading's values, device and findings."""
    values = " ".join(
        f"WHEN '{kind}' THEN jsonb_build_object('{key}', {expr}"
        + (f", {_EXTRA[kind]}" if kind in _EXTRA else "")
        + ")"
        for kind, (key, _, expr) in _MAIN.items()
    )
    values_sql = f"CASE z.kind {values} ELSE '{{}}'::jsonb END"
    device_sql = (
        "(SELECT jsonb_build_object('profile', z.kind, 'model', 'DHO bench meter', "
        "'address', upper(substr(m, 1, 2) || ':' || substr(m, 3, 2) || ':' || substr(m, 5, 2) "
        "|| ':' || substr(m, 7, 2) || ':' || substr(m, 9, 2) || ':' || substr(m, 11, 2)), "
        "'serial', 'SN' || substr(m, 13, 10), 'time_source', 'gateway') "
        "FROM md5(b.id || z.kind) m)"
    )
    params = " ".join(f"WHEN '{kind}' THEN '{param}'" for kind, (_, param, _) in _MAIN.items())
    mains = " ".join(f"WHEN '{kind}' THEN {expr}" for kind, (_, _, expr) in _MAIN.items())
    findings_sql = (
        "CASE WHEN c.colour IN ('red', 'yellow') THEN jsonb_build_array(jsonb_build_object("
        f"'rule_id', 'threshold:' || (CASE z.kind {params} END), 'rule_type', 'threshold', "
        "'colour', c.colour, 'at', x.t, 'plan_id', 'plan-' || b.id, 'plan_version', 1, "
        f"'parameter', CASE z.kind {params} END, 'value', CASE z.kind {mains} END, "
        "'bound', NULL, 'message', 'threshold', 'args', jsonb_build_object('bound', "
        f"CASE z.kind {mains} END, 'bound_op', CASE WHEN z.kind IN ('spo2', 'peak_flow') "
        "THEN 'lt' ELSE 'gt' END), 'text', NULL)) ELSE '[]'::jsonb END"
    )
    return values_sql, device_sql, findings_sql


def seed(engine: Engine, patients: int, readings: int, days: int) -> int:
    count = programme.seed(engine, patients, readings, days, reading_docs())
    started = time.perf_counter()
    with engine.begin() as connection:
        # what the alerts and answers say, as DHO stores them (the programme bench's are empty)
        connection.execute(
            text(
                """UPDATE alerts SET reason = jsonb_build_object('rule_id', rule_id,
                'rule_type', rule_type, 'colour', colour, 'at', opened_at,
                'plan_id', 'plan-' || patient_id, 'plan_version', 1, 'parameter', 'spo2',
                'value', CASE colour WHEN 'red' THEN 86 ELSE 90 END, 'bound', NULL,
                'message', 'threshold', 'args',
                jsonb_build_object('bound', CASE colour WHEN 'red' THEN 88 ELSE 92 END,
                'bound_op', 'lt'), 'text', NULL)"""
            )
        )
        answer_reports(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE alerts, reports"))
    print(f"alerts' reasons, answers: {time.perf_counter() - started:.0f} s", flush=True)
    return count


def answer_reports(connection: Any) -> None:
    """Each answer set: one option of every item of its questionnaire (chosen by the report's
    and the item's id), and a score (the programme bench stores them empty)."""
    for questionnaire in BUILTIN_QUESTIONNAIRES.values():
        pairs = ", ".join(
            f"'{item.id}', (ARRAY[{', '.join(repr(o.value) for o in item.options)}])"
            f"[1 + abs(hashtext(id || '{item.id}')) % {len(item.options)}]"
            for item in questionnaire.items
        )
        connection.execute(
            text(
                f"UPDATE reports SET answers = jsonb_build_object({pairs}), "  # noqa: S608
                "score = abs(hashtext(id)) % 12 WHERE questionnaire = :q"
            ),
            {"q": questionnaire.id},
        )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    parser.add_argument("--runs", type=int, default=2, help="full exports to measure")
    parser.add_argument(
        "--small-days",
        type=int,
        default=9,
        help="also export the last N days (~N/90 of the readings) for the memory comparison; 0: no",
    )
    parser.add_argument("--type", action="append", help="only these resource types")
    parser.add_argument("--export-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-since", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        child(args.database_url, args.export_child, args.child_since, args.type)
        return
    print(
        f"FHIR export bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load {load()}",
        flush=True,
    )
    engine = create_engine(args.database_url, pool_size=1, max_overflow=0)
    sizes = worklist.seeded_sizes(engine) if args.reuse else None
    if sizes is None or sizes[0] != args.patients:
        engine.dispose()
        worklist.fresh_database(args.database_url)
        engine = create_engine(args.database_url, pool_size=1, max_overflow=0)
        migrate(engine)
        readings = seed(engine, args.patients, args.readings, args.days)
    else:
        readings = sizes[1]
        print(f"database: reusing {sizes[0]:,} patients, {readings:,} readings", flush=True)
    engine.dispose()
    if args.seed_only:
        return
    types = args.type or None
    runs: list[Run] = []
    if args.small_days:
        since = programme.NOW - timedelta(days=args.small_days)
        runs.append(export_run(args.database_url, since, types, "small"))
    for _ in range(args.runs):
        runs.append(export_run(args.database_url, None, types, "full"))
    full = [r for r in runs if r.label == "full"] or runs
    best = max(full, key=lambda r: r.per_s)
    print(
        f"RESULT resources_per_s={best.per_s:.0f} cpu_us_per_resource={best.cpu_us:.1f} "
        f"max_rss_mb={max(r.rss_mb for r in runs):.0f} load={load().replace(' ', '/')}"
    )


@dataclass
class Run:
    label: str
    per_s: float
    cpu_us: float
    rss_mb: float


def export_run(url: str, since: datetime | None, types: list[str] | None, label: str) -> Run:
    """One export in a child process of its own (``--export-child``), so that its maximum RSS
    is its own and the two sizes can be compared."""
    out = Path(tempfile.mkdtemp(prefix="dho-fhir-bench-"))
    command = [sys.executable, str(HERE), "--database-url", url, "--export-child", str(out)]
    if since is not None:
        command += ["--child-since", since.isoformat()]
    for kind in types or ():
        command += ["--type", kind]
    try:
        result = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    finally:
        size = sum(f.stat().st_size for f in out.iterdir())
        shutil.rmtree(out, ignore_errors=True)
    figures = dict(
        part.split("=", 1) for part in result.stdout.strip().splitlines()[-1].split()[1:]
    )
    run = Run(
        label,
        float(figures["per_s"]),
        float(figures["cpu_us"]),
        float(figures["rss_mb"]),
    )
    print(
        f"{label}{' since ' + since.isoformat() if since else ''}: "
        f"{int(figures['resources']):,} resources ({figures['counts']}) in "
        f"{float(figures['wall_s']):.1f} s = {run.per_s:,.0f} resources/s; CPU "
        f"{float(figures['cpu_own_us']):.1f} µs here + {float(figures['cpu_pg_us']):.1f} µs "
        f"PostgreSQL = {run.cpu_us:.1f} µs per resource; max RSS {run.rss_mb:.0f} MB; "
        f"{size / 1e9:.2f} GB written; load {load()}",
        flush=True,
    )
    return run


def child(url: str, out: Path, since: str | None, types: list[str] | None) -> None:
    """The export itself, measured from inside (this process's CPU and its backend's)."""
    from triage.export.fhir_ndjson import export_fhir

    engine = create_engine(url, pool_size=1, max_overflow=0)
    with engine.connect() as connection:
        backend_pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    clock = programme.Clock(backend_pid)
    own, backend, wall = clock.own(), clock.backend(), time.perf_counter()
    result = export_fhir(
        engine,
        out,
        now=datetime.now(UTC),
        since=datetime.fromisoformat(since) if since else None,
        types=types,
        os_user="bench",
    )
    wall = time.perf_counter() - wall
    own, backend = clock.own() - own, clock.backend() - backend
    total = sum(result.counts.values())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = ",".join(f"{k}:{v}" for k, v in result.counts.items())
    print(
        f"CHILD resources={total} counts={counts} wall_s={wall:.3f} per_s={total / wall:.1f} "
        f"cpu_own_us={own / total * 1e6:.2f} cpu_pg_us={backend / total * 1e6:.2f} "
        f"cpu_us={(own + backend) / total * 1e6:.2f} rss_mb={rss_mb:.1f}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
