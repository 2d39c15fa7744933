"""A worker's cache of its patients' recent history, so that a batch does not read again from the
database what the worker already holds.

Classification looks back at each patient's readings, reports and yellow/red findings (the
plan's history window, at most ``per_patient`` of each kind). Without a cache every batch loads
that history afresh for every patient in it — the largest cost of ingest once a region has weeks
of data. With it, a batch asks the database only *how many* rows each cached patient has in the
cached window (:func:`triage.storage.repositories.history_counts`, one indexed query per table)
and loads only the patients whose count differs: another worker (shared subscription), the HTTP
API or an import wrote to them, or the cache was dropped.

Correct because rows are only ever added to readings and reports (never updated, never deleted
while a patient is followed): the same count in the same window means the same rows. A batch's
own rows are added to the cache only after its transaction committed (:meth:`commit`, called
by :func:`triage.ingest.pipeline.store`), so a rolled-back batch never leaves rows in the cache
that the database does not have. Thread-safe (the HTTP API shares one cache between
request threads); entries are replaced, never changed, so a batch's snapshot stays fixed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage.domain.classify import History
from triage.domain.findings import Finding
from triage.domain.readings import Reading, Report
from triage.storage import repositories

#: History per patient that classification may look back at (the newest, within the window).
HISTORY_PER_PATIENT = 200
#: Patients a worker keeps (each ~20–60 KiB with two weeks of readings).
CACHE_PATIENTS = 10_000


@dataclass(frozen=True, slots=True)
class Entry:
    """All of a patient's readings and reports from ``since`` on (the newest ``per_patient`` of
    each kind), with their yellow and red findings."""

    since: datetime
    readings: tuple[Reading, ...]
    reports: tuple[Report, ...]
    findings: tuple[Finding, ...]

    def history(self) -> History:
        return History.model_construct(
            readings=self.readings, reports=self.reports, findings=self.findings
        )

    @property
    def counts(self) -> tuple[int, int]:
        return len(self.readings), len(self.reports)


def make_entry(
    since: datetime,
    readings: Iterable[Reading],
    reports: Iterable[Report],
    findings: Iterable[Finding],
    per_patient: int,
) -> Entry:
    """An entry holding what the database holds from ``since`` on, cut to the newest
    ``per_patient`` readings and reports; a cut moves ``since`` up to the oldest row kept, and
    everything older is dropped, so the entry still equals "all rows from ``since`` on"."""
    kept_readings = sorted(readings, key=lambda r: r.measured_at)
    kept_reports = sorted(reports, key=lambda r: r.answered_at)
    if len(kept_readings) >= per_patient:
        kept_readings = kept_readings[-per_patient:]
        since = max(since, kept_readings[0].measured_at)
    if len(kept_reports) >= per_patient:
        kept_reports = kept_reports[-per_patient:]
        since = max(since, kept_reports[0].answered_at)
    return Entry(
        since=since,
        readings=tuple(r for r in kept_readings if r.measured_at >= since),
        reports=tuple(r for r in kept_reports if r.answered_at >= since),
        findings=tuple(f for f in findings if f.is_breach and f.at >= since),
    )


class HistoryCache:
    """Patients' recent history by patient id, least recently used dropped beyond
    ``max_patients``. ``hits`` and ``loads`` count patients served from the cache and read
    from the database."""

    def __init__(
        self, max_patients: int = CACHE_PATIENTS, per_patient: int = HISTORY_PER_PATIENT
    ) -> None:
        self.max_patients = max_patients
        self.per_patient = per_patient
        self.hits = 0
        self.loads = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, patient_id: str) -> Entry | None:
        """The cached entry of a patient, if any (not checked against the database)."""
        with self._lock:
            return self._entries.get(patient_id)

    def load(self, session: Session, needs: Mapping[str, datetime]) -> dict[str, Entry]:
        """Each patient's history from at least ``needs[patient]`` on, checked against the
        database in ``session``'s transaction; loads what the cache lacks or has stale."""
        with self._lock:
            candidates = {
                patient_id: entry
                for patient_id, since in needs.items()
                if (entry := self._entries.get(patient_id)) is not None and entry.since <= since
            }
        found: dict[str, Entry] = {}
        if candidates:
            counts = repositories.history_counts(
                session, {patient_id: entry.since for patient_id, entry in candidates.items()}
            )
            for patient_id, entry in candidates.items():
                if counts.get(patient_id, (0, 0)) == entry.counts:
                    found[patient_id] = entry
        missing = [patient_id for patient_id in needs if patient_id not in found]
        if missing:
            since = min(needs[patient_id] for patient_id in missing)
            loaded = repositories.load_history(session, missing, since, self.per_patient)
            for patient_id in missing:
                history = loaded[patient_id]
                found[patient_id] = make_entry(
                    since, history.readings, history.reports, history.findings, self.per_patient
                )
        with self._lock:
            self.hits += len(needs) - len(missing)
            self.loads += len(missing)
            for patient_id in missing:
                self._put(patient_id, found[patient_id])
        return found

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

    def _put(self, patient_id: str, entry: Entry) -> None:
        self._entries[patient_id] = entry
        self._entries.move_to_end(patient_id)
        while len(self._entries) > self.max_patients:
            self._entries.popitem(last=False)
