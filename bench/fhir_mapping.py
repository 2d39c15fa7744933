"""Benchmark: the cost of making a reading's FHIR Observations (``reading_observations``), and
of writing them with the standard library's ``json``.

The bulk export needs ≥ 20,000 resources/s on a 2-CPU machine; this is the mapping's share.
Prints µs per reading and per Observation (``timeit``, best of ``--repeat`` runs).

Run: ``python bench/fhir_mapping.py [--number N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import timeit
from dataclasses import replace

from triage.fhir.examples import SampleReading
from triage.fhir.observations import reading_observations

CASES = {
    "BP + pulse, red finding": SampleReading(),
    "SpO2 alone, green, no findings": replace(
        SampleReading(), kind="spo2", values={"spo2": 95.0}, findings=[], colour="green"
    ),
    "weight, typed, two flags": replace(
        SampleReading(),
        kind="body_weight",
        values={"weight": 82.35},
        findings=[],
        flags=["patient_typed", "backfill"],
        device={"profile": "body_weight", "model": "manual", "address": None},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, reading in CASES.items():
        count = len(reading_observations(reading))

        def make(r: SampleReading = reading) -> object:
            return reading_observations(r)

        def make_and_write(r: SampleReading = reading) -> object:
            return [json.dumps(o) for o in reading_observations(r)]

        best = min(timeit.repeat(make, number=args.number, repeat=args.repeat))
        written = min(timeit.repeat(make_and_write, number=args.number, repeat=args.repeat))
        per_reading = best / args.number * 1e6
        print(
            f"{name}: {per_reading:.2f} µs/reading, {per_reading / count:.2f} µs/Observation; "
            f"made and written with json.dumps {written / args.number / count * 1e6:.2f} "
            "µs/Observation"
        )


if __name__ == "__main__":
    main()
