"""Benchmark: how fast the pure triage core classifies readings against real templates.

Prints readings per second, CPU per reading (``time.process_time``) and latency percentiles
for each condition template, with a realistic history (14 days of readings, 3 a day, and the
patient's earlier findings). The ingest path classifies every reading, so this is the core's
share of the per-reading budget.

Run: ``make bench`` or ``python bench/classify_throughput.py [--readings N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from triage.domain.classify import History, classify
from triage.domain.plan import Condition
from triage.domain.readings import Kind, Reading
from triage.domain.templates import template

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

VALUES: dict[Condition, tuple[Kind, Callable[[random.Random], dict[str, float]]]] = {
    Condition.COPD: (Kind.SPO2, lambda r: {"spo2": r.randint(86, 99), "pulse": r.randint(55, 120)}),
    Condition.HEART_FAILURE: (Kind.BODY_WEIGHT, lambda r: {"weight": round(r.gauss(82, 1.2), 2)}),
    Condition.DIABETES: (Kind.GLUCOSE, lambda r: {"glucose": round(r.uniform(2.5, 22), 1)}),
    Condition.HYPERTENSION: (
        Kind.BLOOD_PRESSURE,
        lambda r: {"systolic": (s := r.randint(110, 190)), "diastolic": r.randint(60, s - 30)},
    ),
    Condition.COVID19: (
        Kind.SPO2,
        lambda r: {"spo2": r.randint(88, 99), "pulse": r.randint(60, 120)},
    ),
}


def run(
    condition: Condition, readings: int, rng: random.Random
) -> tuple[float, float, list[float]]:
    plan = template(condition)
    kind, values = VALUES[condition]
    history = History(
        readings=tuple(
            Reading(
                id=f"h{i}",
                kind=kind,
                measured_at=NOW - timedelta(hours=8 * (i + 1)),
                values=values(rng),
            )
            for i in range(42)
        )
    )
    samples = [
        Reading(id=f"r{i}", kind=kind, measured_at=NOW, values=values(rng)) for i in range(readings)
    ]
    latencies: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for sample in samples:
        t0 = time.perf_counter()
        classify(sample, plan, history, NOW)
        latencies.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return readings / elapsed, cpu / readings, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(2026)
    print(f"classify(): {args.readings} readings per template, 42 readings of history each")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'template':<15} {'readings/s':>11} {'CPU µs':>8} {'p50 µs':>8} {'p99 µs':>8}")
    for condition in Condition:
        rate, cpu, latencies = run(condition, args.readings, rng)
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"{condition.value:<15} {rate:>11,.0f} {cpu * 1e6:>8.0f} "
            f"{cuts[49] * 1e6:>8.0f} {cuts[98] * 1e6:>8.0f}"
        )


if __name__ == "__main__":
    main()
