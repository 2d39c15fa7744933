"""Simulated patients: seeded, reproducible readings and questionnaire answers for five conditions.

For the demo, tests and load tests. Synthetic, not for clinical validation; the physiology model
and its sources are in ``docs/simulation.md``. Pure: no I/O, no clock reads (the caller passes
``start`` and ``days``), randomness only from seeded ``random.Random`` instances::

    patients = make_population(100, seed=7)
    events = simulate_population(patients, start, days=7)   # readings and reports, in order
    patients[0].episodes, patients[0].in_episode(3)         # the ground truth
"""

from devices.simulate.engine import simulate, simulate_population
from devices.simulate.measurements import to_device_measurement
from devices.simulate.model import (
    Adherence,
    Baseline,
    Condition,
    Episode,
    EpisodeKind,
    Event,
    Severity,
    SimulatedPatient,
    SimulatedReading,
    SimulatedReport,
)
from devices.simulate.population import make_patient, make_population

__all__ = [
    "Adherence",
    "Baseline",
    "Condition",
    "Episode",
    "EpisodeKind",
    "Event",
    "Severity",
    "SimulatedPatient",
    "SimulatedReading",
    "SimulatedReport",
    "make_patient",
    "make_population",
    "simulate",
    "simulate_population",
    "to_device_measurement",
]
