"""Benchmark: how fast the patient simulator makes a population's readings and answers.

Prints, for 100 patients × 7 days and 1,000 patients × 30 days: the time to draw the population
and to simulate it, events (readings and questionnaire reports) per second, and the episodes
per kind (the ground truth the demo shows). Target: 100 × 7 in well under 2 s.

Run: ``make bench`` or ``python bench/simulate_population.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from devices.simulate import SimulatedReading, make_population, simulate_population

START = datetime(2026, 11, 2, 0, 0, tzinfo=ZoneInfo("Europe/Oslo"))
SIZES = ((100, 7), (1000, 30))


def run(patients: int, days: int, seed: int) -> None:
    t0 = time.perf_counter()
    population = make_population(patients, seed, horizon_days=days)
    t1 = time.perf_counter()
    events = simulate_population(population, START, days)
    t2 = time.perf_counter()
    readings = sum(isinstance(e, SimulatedReading) for e in events)
    reports = len(events) - readings
    episodes = Counter(e.kind.value for p in population for e in p.episodes)
    by_id = {p.id: p for p in population}
    in_episode = sum(
        1
        for e in events
        if isinstance(e, SimulatedReading)
        and by_id[e.patient_id].in_episode(by_id[e.patient_id].day_of(START, e.at))
    )
    total = t2 - t0
    print(
        f"{patients:>5} patients × {days:>2} days: {readings:>7,} readings + {reports:>6,} reports "
        f"in {total:.2f} s (population {t1 - t0:.2f} s, simulation {t2 - t1:.2f} s) — "
        f"{readings / total:,.0f} readings/s, {len(events) / total:,.0f} events/s"
    )
    by_condition = Counter(p.condition.value for p in population)
    print("      conditions: " + ", ".join(f"{k} {v}" for k, v in sorted(by_condition.items())))
    shown = ", ".join(f"{k} {v}" for k, v in sorted(episodes.items())) or "none"
    print(f"      episodes: {sum(episodes.values())} ({shown})")
    print(f"      readings on an episode day: {in_episode:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(f"simulate_population(): seed {args.seed}, start {START:%Y-%m-%d} Europe/Oslo")
    for patients, days in SIZES:
        run(patients, days, args.seed)


if __name__ == "__main__":
    main()
