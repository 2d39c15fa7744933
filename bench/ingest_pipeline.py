"""Benchmark: the ingest pipeline alone — :func:`triage.ingest.pipeline.store` in-process on
PostgreSQL, no MQTT — CPU per reading of the Python process (``resource.getrusage``: user +
system, the database server's CPU not included).

N patients (the five templates in turn) are registered once (``bench/ingest.py``'s
``prepare_database``); each round stores ``--batches`` batches of ``--batch-size`` readings,
patients in random order, through one worker's caches or — ``--workers 2`` — two workers'
caches taking the batches in random turns (a ``$share`` subscription with random arrivals:
each worker finds rows the other stored). Warm-up rounds first, then measured rounds.

A/B in one run: ``--ab /path/to/other/checkout`` runs the same rounds alternately through this
checkout and the other (``PYTHONPATH``), each in its own subprocess with its own caches, on
the same database, so both see the same growing history. The last line::

    RESULT cpu_us_per_reading=… [other_cpu_us_per_reading=… ratio=…] load_avg=…
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import prepare_database, values_for  # the end-to-end bench's data

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/dho_bench_pipeline"


#: The five templates, in turn (as bench/ingest.py registers them).
def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def messages_for(
    gateways: list[tuple[str, str]], count: int, rng: random.Random, at: datetime
) -> list[Any]:
    from triage.ingest.pipeline import Incoming

    out = []
    stamp = at.isoformat()
    for _ in range(count):
        gateway_id, condition = gateways[rng.randrange(len(gateways))]
        kind, values = values_for(condition, rng)
        payload = {
            "schema": "dho.reading/1",
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "kind": kind,
            "measured_at": stamp,
            "received_at": stamp,
            "values": values,
            "device": {"profile": kind, "model": "DHO bench"},
        }
        out.append(Incoming(f"dho/v1/{gateway_id}/readings", json.dumps(payload).encode()))
    return out


def role_worker(args: argparse.Namespace) -> None:
    """Read "round <seed>" lines on stdin, store that round, answer with its CPU seconds."""
    from triage.config import Settings
    from triage.ingest.history_cache import HistoryCache
    from triage.ingest.pipeline import PlanCache, store
    from triage.storage.database import make_engine, session_factory

    if args.max_delta is not None:  # e.g. 0: every stale entry loaded in full (A/B of deltas)
        import triage.ingest.history_cache as history_cache

        history_cache.MAX_DELTA = args.max_delta  # type: ignore[attr-defined,unused-ignore]
    gateways = [tuple(g) for g in json.loads(Path(args.gateways).read_text())]
    engine = make_engine(args.database_url)
    sessions = session_factory(engine)
    settings = Settings(demo=True)
    caches = [(PlanCache(), HistoryCache()) for _ in range(args.workers)]
    profiler = None
    if args.profile:  # cProfile of every round (warm-up included), dumped after each round
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not time waiting for the server
    print("ready", flush=True)
    for line in sys.stdin:
        seed = int(line.split()[1])
        rng = random.Random(seed)
        batches = [
            messages_for(gateways, args.batch_size, rng, datetime.now(UTC))
            for _ in range(args.batches)
        ]
        turns = [rng.randrange(args.workers) for _ in batches]
        start = cpu_s()
        if profiler is not None:
            profiler.enable()
        for batch, turn in zip(batches, turns, strict=True):
            plans, histories = caches[turn]
            store(sessions, batch, settings, datetime.now(UTC), plans=plans, histories=histories)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        used = cpu_s() - start
        stats = {
            key: sum(getattr(h, key, 0) for _, h in caches)
            for key in ("hits", "loads", "delta_loads", "full_loads")
        }
        print(json.dumps({"cpu_s": used, "readings": len(batches) * args.batch_size, **stats}))
        sys.stdout.flush()
        if args.freeze:  # what a consumer with a GC policy does between batches (part C)
            gc.collect()
            gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["worker"])
    parser.add_argument("--gateways")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batches", type=int, default=8, help="batches per round")
    parser.add_argument("--warmup", type=int, default=2, help="rounds not measured")
    parser.add_argument("--rounds", type=int, default=4, help="rounds measured")
    parser.add_argument("--workers", type=int, default=1, help="workers' caches (1 or 2)")
    parser.add_argument("--ab", help="another checkout to compare with, alternately")
    parser.add_argument("--max-delta", type=int, help="(worker) history_cache.MAX_DELTA")
    parser.add_argument(
        "--other-max-delta", type=int, help="MAX_DELTA of the other checkout's worker"
    )
    parser.add_argument(
        "--freeze", action="store_true", help="gc.collect() + gc.freeze() after each round"
    )
    parser.add_argument("--no-prepare", action="store_true", help="reuse the database")
    parser.add_argument(
        "--profile",
        help="cProfile this checkout's worker into this file (pstats; CPU figures inflated)",
    )
    args = parser.parse_args()
    if args.role == "worker":
        role_worker(args)
        return
    gateways_file = (
        Path(tempfile.gettempdir()) / f"dho_bench_pipeline_gateways_{args.patients}.json"
    )
    if not args.no_prepare or not gateways_file.exists():
        gateways = prepare_database(args.database_url, args.patients)
        gateways_file.write_text(json.dumps(gateways))
    checkouts = {"this": ROOT}
    if args.ab:
        checkouts["other"] = Path(args.ab).resolve()
    workers = {}
    for name, root in checkouts.items():
        env = {**os.environ, "PYTHONPATH": str(root)}
        command = [
            sys.executable,
            str(root / "bench" / "ingest_pipeline.py") if name == "this" else str(HERE),
            "--role=worker",
            f"--gateways={gateways_file}",
            f"--database-url={args.database_url}",
            f"--batch-size={args.batch_size}",
            f"--batches={args.batches}",
            f"--workers={args.workers}",
            *(["--freeze"] if args.freeze else []),
            *([f"--profile={args.profile}"] if args.profile and name == "this" else []),
            *(
                [f"--max-delta={args.other_max_delta}"]
                if name == "other" and args.other_max_delta is not None
                else []
            ),
        ]
        process = subprocess.Popen(  # noqa: S603 - our own script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root
        )
        assert process.stdout is not None  # noqa: S101
        assert process.stdout.readline().strip() == "ready"  # noqa: S101
        workers[name] = process
    totals: dict[str, list[float]] = {name: [] for name in workers}
    for round_ in range(args.warmup + args.rounds):
        order = list(workers) if round_ % 2 == 0 else list(reversed(workers))
        for name in order:
            process = workers[name]
            assert process.stdin is not None  # noqa: S101
            assert process.stdout is not None  # noqa: S101
            process.stdin.write(f"round {round_ * 7919 + len(name)}\n")
            process.stdin.flush()
            result = json.loads(process.stdout.readline())
            per = result["cpu_s"] / result["readings"] * 1e6
            measured = round_ >= args.warmup
            if measured:
                totals[name].append(per)
            print(
                f"round {round_} {name:5} {per:7.1f} µs/reading "
                f"{'' if measured else '(warm-up) '}{json.dumps(result)}",
                flush=True,
            )
    for process in workers.values():
        assert process.stdin is not None  # noqa: S101
        process.stdin.close()
        process.wait()
    load = os.getloadavg()
    this = sum(totals["this"]) / len(totals["this"])
    line = f"RESULT cpu_us_per_reading={this:.1f}"
    if "other" in totals:
        other = sum(totals["other"]) / len(totals["other"])
        line += f" other_cpu_us_per_reading={other:.1f} ratio={this / other:.3f}"
    print(f"{line} load_avg={load[0]:.2f},{load[1]:.2f},{load[2]:.2f}")
    time.sleep(0)


if __name__ == "__main__":
    main()
