"""Benchmark: how fast the pure triage core classifies readings against real templates, and
whether that cost grows with the patient's history.

For each condition template and each history size N (``--history N``; by default 0, 20, 100
and 200), the patient has N earlier readings within the rules' 14-day window (grown as ingest
grows them: each classified in turn, with its yellow and red findings kept; the COVID-19
patient measures the whole NEWS2 round and answers the consciousness question), and
``--readings`` new readings are classified after it. Two paths, in the same run:

* ``old``: the classifier of bab1d7b (``tests/reference/classify_v1.py``), given the plain
  ``History`` it sorted and scanned for every reading;
* ``new``: :func:`triage.domain.classify.classify` given the ``PatientHistory`` that ingest's
  cache holds (sorted once, grown incrementally).

Each new reading is measured after the last (spaced so that the window keeps N readings), is
classified and then added to the history, as ingest does; the oldest readings leave the window.
Prints CPU µs per reading (``time.process_time``, this process: classifying and growing the
history) for both, their ratio, the new path's p50/p99 latency, how the new path's cost
compares with the first history size, the share of non-green verdicts (rules that find
nothing cost less: at N = 0 the trend and baseline rules have no data), and ``copy µs``: what
the history cache's copy-on-write costs per patient and batch (``PatientHistory.copy()`` of the
patient's history plus one reading added to the copy), with the load average (the machine is
shared; compare within a run).

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
    """``readings`` new readings, one after the other, each added to the history after it is
    classified, while the window keeps ``size`` readings (the oldest leave it)."""
    plan = template(condition)
    kinds = VALUES[condition]
    new_history = _history(condition, size, rng)
    plain = new_history.to_history()
    old_history = reference.GrowingHistory(
        reference.History(readings=plain.readings, reports=plain.reports, findings=plain.findings)
    )
    # spaced so that the window keeps ``size`` readings (none: each alone in its window)
    step = WINDOW / size if size else WINDOW + timedelta(minutes=1)
    samples = [
        Reading(id=f"r{i}", kind=kind, measured_at=NOW + step * i, values=values(rng))
        for i in range(readings)
        for kind, values in [kinds[i % len(kinds)]]
    ]
    clock = time.process_time
    old_cpu = new_cpu = 0.0
    latencies: list[float] = []
    breaches = 0
    block = 100
    # the same readings through both paths, in alternating blocks (a noisy machine hits both);
    # timed: classifying and growing the history; not timed: the reference's window cut
    for start in range(0, readings, block):
        chunk = samples[start : start + block]
        for sample in chunk:
            t0 = clock()
            result = reference.classify(sample, plan, old_history.value(), sample.measured_at)
            old_history.add_reading(sample, result.findings)
            old_cpu += clock() - t0
        cutoff = chunk[-1].measured_at - WINDOW
        old_history.readings = [r for r in old_history.readings if r.measured_at >= cutoff]
        old_history.findings = [f for f in old_history.findings if f.at >= cutoff]
        old_history._value = None
        for sample in chunk:
            t0, w0 = clock(), time.perf_counter()
            found = classify(sample, plan, new_history, sample.measured_at)
            new_history.add_reading(sample, found.findings)
            new_history.drop_before(sample.measured_at - WINDOW)
            latencies.append(time.perf_counter() - w0)
            new_cpu += clock() - t0
            breaches += found.colour.rank > 0
    cuts = statistics.quantiles(latencies, n=100)
    # the history cache's copy-on-write per batch: copy the patient's history, add one reading
    extra = Reading(
        id="copy", kind=kinds[0][0], measured_at=NOW + step * readings, values=kinds[0][1](rng)
    )
    copies = 2000
    t0 = clock()
    for _ in range(copies):
        new_history.copy().add_reading(extra, ())
    copy_cpu = clock() - t0
    return {
        "copy_us": copy_cpu / copies * 1e6,
        "old_us": old_cpu / readings * 1e6,
        "new_us": new_cpu / readings * 1e6,
        "p50_us": cuts[49] * 1e6,
        "p99_us": cuts[98] * 1e6,
        "in_window": new_history.counts()[0],
        "breaches": breaches / readings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=1000, help="readings per template")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per case; the least CPU of each path counts"
    )
    parser.add_argument(
        "--history",
        type=int,
        action="append",
        help=f"earlier readings per patient in the window (repeatable; default {SIZES})",
    )
    args = parser.parse_args()
    sizes = tuple(args.history) if args.history else SIZES
    rng = random.Random(2026)
    print(
        f"classify(): {args.readings} readings per template and history size, least of "
        f"{args.rounds} rounds; CPU µs per reading (classify + grow the history)"
    )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'template':<14} {'history':>7} {'old µs':>8} {'new µs':>8} {'old/new':>8} "
        f"{'p50 µs':>7} {'p99 µs':>7} {'new vs first':>12} {'non-green':>9} {'copy µs':>8}"
    )
    for condition in Condition:
        first: float | None = None
        for size in sizes:
            runs = [
                run(condition, size, args.readings, random.Random(rng.random()))
                for _ in range(args.rounds)
            ]
            r = min(runs, key=lambda x: x["new_us"])
            r["old_us"] = min(x["old_us"] for x in runs)
            r["copy_us"] = min(x["copy_us"] for x in runs)
            first = r["new_us"] if first is None else first
            print(
                f"{condition.value:<14} {size:>7} {r['old_us']:>8.0f} "
                f"{r['new_us']:>8.0f} {r['old_us'] / r['new_us']:>7.1f}x "
                f"{r['p50_us']:>7.0f} {r['p99_us']:>7.0f} {r['new_us'] / first:>11.2f}x "
                f"{r['breaches']:>8.0%} {r['copy_us']:>8.1f}"
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
