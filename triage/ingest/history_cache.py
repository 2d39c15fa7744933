"""A worker's cache of its patients' recent history, so that a batch does not read again from the
database what the worker already holds.

Classification looks back at each patient's readings, reports and yellow/red findings (the
plan's history window, at most ``per_patient`` of each kind). Without a cache every batch loads
that history afresh for every patient in it — the largest cost of ingest once a region has weeks
of data. With it, a batch asks the database only *how many* rows each cached patient has in the
cached window (:func:`triage.storage.repositories.history_counts`, one indexed query per table):

* equal counts — the entry is used as it is (a *hit*);
* the database has ``k`` more — another worker (a ``$share`` subscription: with random arrivals
  almost every patient of a batch has a row the other worker stored), the HTTP API or an import
  wrote to the patient. Only the missing rows are read (a *delta load*): the patient's newest
  ``k + DELTA_SLACK`` rows of the window by ``stored_at``, with the window's row count in the
  same statement (:func:`~triage.storage.repositories.load_history_delta`); those the entry
  lacks (``has_reading``/``has_report``) are added to a copy, and the copy is used only if its
  counts now equal that count. Otherwise, and for patients not cached, the whole window is read
  again (a *full load*).

Why this is correct. Rows are only ever added to readings and reports (never updated, never
deleted while a patient is followed). An entry holds exactly rows of the database in its window
``E`` (loaded from it, or stored by a committed batch), so ``E ⊆ D``, the window's rows. The
delta rows ``Δ`` come from the database in the same window, read in one statement together with
``|D|`` (one snapshot), so ``Δ ⊆ D``; and if ``|E ∪ Δ| = |D|`` then ``E ∪ Δ = D`` — the entry
after the delta is what a full load would give. If the newest ``k + slack`` by ``stored_at``
did not include every missing row (a batch that committed late with an early ``stored_at``),
the counts differ and the patient is loaded in full: a slower path, never a wrong one. The
same holds for a hit: equal counts in the same window mean the same rows.

Copy-on-write: an entry in the cache is never changed. A batch grows a copy
(:meth:`PatientHistory.copy`, or the copy the delta made) with its own rows, and that copy
enters the cache only after the batch's transaction committed (:meth:`commit`, called by
:func:`triage.ingest.pipeline.store`), so a rolled-back batch never leaves rows in the cache that
the database does not have, and a concurrent reader's snapshot stays fixed. Thread-safe (the
HTTP API shares one cache between request threads).

Size: see :mod:`triage.ingest.cache_capacity` (the population, or eviction pressure, never a
silent cliff).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage.domain.findings import Finding
from triage.domain.history import History, PatientHistory
from triage.domain.readings import Reading, Report
from triage.ingest.cache_capacity import Capacity
from triage.storage import repositories

#: History per patient that classification may look back at (the newest, within the window).
HISTORY_PER_PATIENT = 200
#: Patients a worker keeps at least (each ~20–60 KiB with two weeks of readings); the cache
#: grows with the population (:mod:`triage.ingest.cache_capacity`).
CACHE_PATIENTS = 10_000
#: A delta load reads this many rows more than the count says are missing (rows committed in
#: another order than their ``stored_at``).
DELTA_SLACK = 2
#: A patient missing more rows than this is loaded in full (a delta would read as much).
MAX_DELTA = 32


@dataclass(frozen=True, slots=True)
class Entry:
    """All of a patient's readings and reports from ``since`` on (the newest ``per_patient`` of
    each kind), with their yellow and red findings, as a :class:`PatientHistory`. Never changed
    once in the cache (a batch grows :meth:`grown`'s copy)."""

    since: datetime
    history: PatientHistory

    @property
    def readings(self) -> tuple[Reading, ...]:
        return tuple(self.history.readings)

    @property
    def reports(self) -> tuple[Report, ...]:
        return tuple(self.history.reports)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(self.history.findings)

    @property
    def counts(self) -> tuple[int, int]:
        return self.history.counts()

    def to_history(self) -> History:
        return self.history.to_history()


def cut(since: datetime, history: PatientHistory, per_patient: int) -> Entry:
    """``history`` (changed in place) as an entry that still equals "all rows from ``since``
    on": cut to the newest ``per_patient`` readings and reports; a cut moves ``since`` up to the
    oldest row kept, and everything older is dropped."""
    readings, reports = history.counts()
    if readings >= per_patient or reports >= per_patient:
        history.keep_newest(per_patient)
        if readings >= per_patient:
            since = max(since, history.readings[0].measured_at)
        if reports >= per_patient:
            since = max(since, history.reports[0].answered_at)
    history.drop_before(since)
    return Entry(since, history)


def make_entry(
    since: datetime,
    readings: Iterable[Reading],
    reports: Iterable[Report],
    findings: Iterable[Finding],
    per_patient: int,
) -> Entry:
    """An entry holding what the database holds from ``since`` on, cut to the newest
    ``per_patient`` readings and reports (:func:`cut`)."""
    history = PatientHistory.from_history(
        History.model_construct(
            readings=tuple(readings),
            reports=tuple(reports),
            findings=tuple(f for f in findings if f.is_breach),
        )
    )
    return cut(since, history, per_patient)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A batch's view of its patients' history: ``entries`` by patient, and which of them the
    batch owns (built for it, not in the cache: it may grow them without a copy)."""

    entries: dict[str, Entry]
    owned: frozenset[str]


class HistoryCache:
    """Patients' recent history by patient id, least recently used dropped beyond
    ``max_patients`` (which grows with the population, :mod:`triage.ingest.cache_capacity`).

    Counters: ``hits`` (patients served from the cache as they were), ``loads`` (patients read
    from the database, in full or in part), of which ``delta_loads`` (only the missing rows
    read) and ``full_loads`` (the whole window read)."""

    def __init__(
        self, max_patients: int = CACHE_PATIENTS, per_patient: int = HISTORY_PER_PATIENT
    ) -> None:
        self.capacity = Capacity("history", max_patients)
        self.per_patient = per_patient
        self.hits = 0
        self.loads = 0
        self.delta_loads = 0
        self.full_loads = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def max_patients(self) -> int:
        return self.capacity.size

    @max_patients.setter
    def max_patients(self, value: int) -> None:
        self.capacity.size = value

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, int]:
        return {
            "patients": len(self._entries),
            "max_patients": self.capacity.size,
            "hits": self.hits,
            "loads": self.loads,
            "delta_loads": self.delta_loads,
            "full_loads": self.full_loads,
            "evicted": self.capacity.evicted,
            "evicted_recent": self.capacity.evicted_recent,
        }

    def get(self, patient_id: str) -> Entry | None:
        """The cached entry of a patient, if any (not checked against the database)."""
        with self._lock:
            return self._entries.get(patient_id)

    def load(self, session: Session, needs: Mapping[str, datetime]) -> dict[str, Entry]:
        """Each patient's history from at least ``needs[patient]`` on, checked against the
        database in ``session``'s transaction (the entries must not be changed)."""
        return self.load_for_batch(session, needs).entries

    def load_for_batch(self, session: Session, needs: Mapping[str, datetime]) -> Loaded:
        """Each patient's history from at least ``needs[patient]`` on, checked against the
        database in ``session``'s transaction: hits as they are, stale entries completed by a
        delta load, the rest loaded in full. Nothing enters the cache here (:meth:`commit`)."""
        with self._lock:
            batch = self.capacity.batch
            candidates: dict[str, Entry] = {}
            for patient_id, since in needs.items():
                entry = self._entries.get(patient_id)
                if entry is not None and entry.since <= since:
                    candidates[patient_id] = entry
                    self._used[patient_id] = batch
        found: dict[str, Entry] = {}
        owned: set[str] = set()
        stale: dict[str, Entry] = {}
        newest: dict[str, int] = {}
        if candidates:
            counts = repositories.history_counts(
                session, {patient_id: entry.since for patient_id, entry in candidates.items()}
            )
            for patient_id, entry in candidates.items():
                now_r, now_p = counts.get(patient_id, (0, 0))
                had_r, had_p = entry.counts
                if (now_r, now_p) == (had_r, had_p):
                    found[patient_id] = entry
                elif now_r >= had_r and now_p >= had_p:
                    missing = max(now_r - had_r, now_p - had_p)
                    if missing <= MAX_DELTA:
                        stale[patient_id] = entry
                        newest[patient_id] = missing + DELTA_SLACK
        hits = len(found)
        if stale:
            deltas = repositories.load_history_delta(
                session, {patient_id: entry.since for patient_id, entry in stale.items()}, newest
            )
            for patient_id, entry in stale.items():
                completed = _complete(entry, deltas[patient_id], self.per_patient)
                if completed is not None:
                    found[patient_id] = completed
                    owned.add(patient_id)
        delta_loads = len(owned)
        missing_ids = [patient_id for patient_id in needs if patient_id not in found]
        if missing_ids:
            since = min(needs[patient_id] for patient_id in missing_ids)
            loaded = repositories.load_history(session, missing_ids, since, self.per_patient)
            for patient_id in missing_ids:
                history = loaded[patient_id]
                found[patient_id] = make_entry(
                    since, history.readings, history.reports, history.findings, self.per_patient
                )
                owned.add(patient_id)
        with self._lock:
            self.hits += hits
            self.delta_loads += delta_loads
            self.full_loads += len(missing_ids)
            self.loads += delta_loads + len(missing_ids)
        return Loaded(found, frozenset(owned))

    def next_batch(self) -> None:
        """One more batch on the cache's clock (for "recently used")."""
        with self._lock:
            self.capacity.next_batch()

    def commit(self, entries: Mapping[str, Entry]) -> None:
        """Keep ``entries`` — a committed batch's view of its patients (what it loaded plus
        what it stored)."""
        with self._lock:
            for patient_id, entry in entries.items():
                self._put(patient_id, entry)

    def forget(self, patient_ids: Iterable[str]) -> None:
        with self._lock:
            for patient_id in patient_ids:
                self._entries.pop(patient_id, None)
                self._used.pop(patient_id, None)

    def _put(self, patient_id: str, entry: Entry) -> None:
        self._entries[patient_id] = entry
        self._entries.move_to_end(patient_id)
        self._used[patient_id] = self.capacity.batch
        while len(self._entries) > self.capacity.size:
            old, _ = self._entries.popitem(last=False)
            self.capacity.evicting(self._used.pop(old, 0))


def _complete(entry: Entry, delta: repositories.HistoryDelta, per_patient: int) -> Entry | None:
    """``entry`` plus the rows of ``delta`` it lacks, if that makes it the whole window (its
    counts equal the window's, read with the rows); None when rows are still missing."""
    history = entry.history.copy()
    for reading in delta.readings:
        if not history.has_reading(reading.id):
            history.add_reading(reading, delta.findings.get(reading.id, ()))
    for report in delta.reports:
        if not history.has_report(report.id):
            history.add_report(report, delta.findings.get(report.id, ()))
    if history.counts() != (delta.reading_total, delta.report_total):
        return None
    return cut(entry.since, history, per_patient)
