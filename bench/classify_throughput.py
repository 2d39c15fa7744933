"""Benchmark: how fast the pure triage core classifies readings against real templates, and
whether that cost grows with the patient's history.

For each condition template and each history size N (``--history N``; by default 0, 20, 100
and 200), the patient has N earlier readings within the rules' 14-day window (grown as ingest
grows them: each classified in turn, with its yellow and red findings kept; the COVID-19
patient measures the whole NEWS2 round and answers the consciousness question), and
``--readings`` new readings are classified against that history. Two paths, in the same run:

* ``old``: the classifier of bab1d7b (``tests/reference/classify_v1.py``), given the plain
  ``History`` it sorted and scanned for every reading;
* ``new``: :func:`triage.domain.classify.classify` given the ``PatientHistory`` that ingest's
  cache holds (sorted once, grown incrementally).

Prints CPU µs per reading (``time.process_time``, this process) for both, their ratio, the new
path's p50/p99 latency, and how the new path's cost at N compares with N = 0 (target: ≤ 1.25×
at 100), with the load average (the machine is shared; compare within a run).

Run: ``make bench`` or ``python bench/classify_throughput.py [--readings N] [--history N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from triage.domain.classify import PatientHistory, classify, classify_report
from triage.domain.plan import Condition
from triage.domain.readings import Kind, Reading, Report
from triage.domain.templates import template

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the reference lives in tests/
from tests.reference import classify_v1 as reference

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
SIZES = (0, 20, 100, 200)

Values = Callable[[random.Random], dict[str, float]]

#: What each template's patient measures: (kind, values) in turn.
VALUES: dict[Condition, tuple[tuple[Kind, Values], ...]] = {
    Condition.COPD: (
        (Kind.SPO2, lambda r: {"spo2": r.randint(86, 99), "pulse": r.randint(55, 120)}),
    ),
    Condition.HEART_FAILURE: (
        (Kind.BODY_WEIGHT, lambda r: {"weight": round(r.gauss(82, 1.2), 2)}),
    ),
    Condition.DIABETES: ((Kind.GLUCOSE, lambda r: {"glucose": round(r.uniform(2.5, 22), 1)}),),
    Condition.HYPERTENSION: (
        (
            Kind.BLOOD_PRESSURE,
            lambda r: {"systolic": (s := r.randint(110, 190)), "diastolic": r.randint(60, s - 30)},
        ),
    ),
    Condition.COVID19: (
        (Kind.SPO2, lambda r: {"spo2": r.randint(88, 99), "pulse": r.randint(60, 120)}),
        (Kind.BODY_TEMPERATURE, lambda r: {"temperature": round(r.gauss(37.4, 0.7), 1)}),
        (Kind.RESPIRATORY_RATE, lambda r: {"rate": r.randint(10, 25)}),
        (
            Kind.BLOOD_PRESSURE,
            lambda r: {"systolic": (s := r.randint(95, 170)), "diastolic": r.randint(55, s - 30)},
        ),
    ),
}


def _history(condition: Condition, size: int, rng: random.Random) -> PatientHistory:
    """``size`` earlier readings spread over the window, classified and grown in turn."""
    plan = template(condition)
    kinds = VALUES[condition]
    history = PatientHistory()
    step = (WINDOW - timedelta(hours=1)) / max(size, 1)
    for i in range(size):
        at = NOW - WINDOW + timedelta(minutes=30) + step * i
        kind, values = kinds[i % len(kinds)]
        reading = Reading(id=f"h{i:04d}", kind=kind, measured_at=at, values=values(rng))
        history.add_reading(reading, classify(reading, plan, history, at).findings)
        if condition is Condition.COVID19 and i % len(kinds) == 0:
            report = Report(
                id=f"q{i:04d}",
                questionnaire="covid-check",
                answered_at=at,
                answers={"new_confusion": rng.choice(("no", "no", "yes"))},
            )
            history.add_report(report, classify_report(report, plan, history, at).findings)
    return history


def run(condition: Condition, size: int, readings: int, rng: random.Random) -> dict[str, Any]:
    plan = template(condition)
    kinds = VALUES[condition]
    new_history = _history(condition, size, rng)
    plain = new_history.to_history()
    old_history = reference.History(
        readings=plain.readings, reports=plain.reports, findings=plain.findings
    )
    samples = [
        Reading(id=f"r{i}", kind=kind, measured_at=NOW, values=values(rng))
        for i in range(readings)
        for kind, values in [kinds[i % len(kinds)]]
    ]
    # the same readings through both paths, in alternating blocks (a noisy machine hits both)
    old_cpu = new_cpu = 0.0
    latencies: list[float] = []
    block = 100
    for start in range(0, readings, block):
        chunk = samples[start : start + block]
        t0 = time.process_time()
        for sample in chunk:
            reference.classify(sample, plan, old_history, NOW)
        old_cpu += time.process_time() - t0
        t0 = time.process_time()
        for sample in chunk:
            w0 = time.perf_counter()
            classify(sample, plan, new_history, NOW)
            latencies.append(time.perf_counter() - w0)
        new_cpu += time.process_time() - t0
    cuts = statistics.quantiles(latencies, n=100)
    in_window = new_history.counts()[0]
    return {
        "old_us": old_cpu / readings * 1e6,
        "new_us": new_cpu / readings * 1e6,
        "p50_us": cuts[49] * 1e6,
        "p99_us": cuts[98] * 1e6,
        "in_window": in_window,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=1000, help="readings per template")
    parser.add_argument(
        "--history",
        type=int,
        action="append",
        help=f"earlier readings per patient in the window (repeatable; default {SIZES})",
    )
    args = parser.parse_args()
    sizes = tuple(args.history) if args.history else SIZES
    rng = random.Random(2026)
    print(f"classify(): {args.readings} readings per template and history size; CPU µs each")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'template':<14} {'history':>7} {'old µs':>8} {'new µs':>8} {'old/new':>8} "
        f"{'p50 µs':>7} {'p99 µs':>7} {'new vs N=' + str(sizes[0]):>10}"
    )
    for condition in Condition:
        first: float | None = None
        for size in sizes:
            r = run(condition, size, args.readings, rng)
            first = r["new_us"] if first is None else first
            print(
                f"{condition.value:<14} {r['in_window']:>7} {r['old_us']:>8.0f} "
                f"{r['new_us']:>8.0f} {r['old_us'] / r['new_us']:>7.1f}x "
                f"{r['p50_us']:>7.0f} {r['p99_us']:>7.0f} {r['new_us'] / first:>9.2f}x"
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
