"""Replay: a patient's stored readings classified again under another plan version (pure).

Before a draft is approved, the nurse and the GP want to know what it would have done: which of
the last weeks' readings would have been yellow or red under it. :func:`replay` answers that
with the very functions ingest uses (:func:`~triage.domain.classify.classify` and
:func:`~triage.domain.classify.classify_report`), in the order ingest uses (by the time each
item was classified at, then by id), with the history growing as it does in ingest:

* the history **before the window** is what was stored: readings, reports and their yellow and
  red findings (under the plan versions in force then — as ingest sees them the moment a new
  version is approved);
* **within the window** each reading and questionnaire report is classified under ``plan``, and
  its new findings — not the stored ones — are what later items look back at (so "n of the last
  m", combinations and baselines behave as they would have under ``plan``).

Only readings are counted and compared; reports are replayed for the rules that combine them
with readings. A stored reading that has no colour (it arrived before the patient had an
approved plan) counts as ``unclassified`` as stored. Nothing here reads the clock: ``now`` is
passed in (classification treats a reading stamped after ``now`` as measured at ``now``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from triage.domain.classify import (
    Classification,
    GrowingHistory,
    History,
    ImplausibleReadingError,
    PatientHistory,
    classify,
    classify_report,
)
from triage.domain.colours import Colour
from triage.domain.findings import Finding
from triage.domain.plan import PlanVersion
from triage.domain.questionnaires import QuestionnaireError
from triage.domain.readings import Reading, Report


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as stored: the reading (``measured_at`` is the time it was classified at), its
    colour (None: not classified), the plan version it was classified with, and its findings."""

    reading: Reading
    colour: Colour | None
    plan_version: int | None
    findings: tuple[Finding, ...]


class ZoneCounts(BaseModel):
    """How many readings were red, yellow and green; ``unclassified``: no colour (no plan in
    force when it arrived, or it cannot be classified under this version)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    red: int = 0
    yellow: int = 0
    green: int = 0
    unclassified: int = 0

    @classmethod
    def of(cls, colours: Iterable[Colour | None]) -> ZoneCounts:
        tally = {"red": 0, "yellow": 0, "green": 0, "unclassified": 0}
        for colour in colours:
            tally[colour.value if colour is not None else "unclassified"] += 1
        return cls(**tally)


class ReplayChange(BaseModel):
    """One reading whose zone differs under the replayed version: when, what, and why — the
    stored colour with its plan version and reasons, the new colour with its reasons. ``worse``:
    the new colour is more urgent (an earlier alert); ``better``: less urgent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reading_id: str
    kind: str
    measured_at: AwareDatetime
    values: dict[str, Any]
    before: Colour | None
    before_plan_version: int | None
    before_reasons: tuple[Finding, ...]
    after: Colour | None
    after_plan_version: int
    after_reasons: tuple[Finding, ...]
    direction: Literal["worse", "better"]


class Replay(BaseModel):
    """The readings replayed under one plan version: counts before and after, and each change
    (oldest first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    plan_version: int
    readings: int
    under_version: ZoneCounts
    as_stored: ZoneCounts
    stored_plan_versions: tuple[int, ...]
    changes: tuple[ReplayChange, ...]


def replay(
    plan: PlanVersion,
    readings: Sequence[StoredReading],
    *,
    reports: Sequence[Report] = (),
    before: History | None = None,
    now: datetime,
) -> Replay:
    """Classify ``readings`` (and ``reports``, for rules that combine them) under ``plan``,
    looking back at ``before`` (the stored history before the window), and compare each
    reading's new colour with its stored one."""
    before = before or History()
    # Rules look back at the yellow and red findings (ingest keeps only those, too).
    history = GrowingHistory(before)  # keeps the yellow and red findings only
    items: list[tuple[datetime, str, StoredReading | Report]] = [
        (s.reading.measured_at, s.reading.id, s) for s in readings
    ]
    items += [(r.answered_at, r.id, r) for r in reports]
    items.sort(key=lambda item: (item[0], item[1]))
    after: dict[str, Classification | None] = {}
    for _, _, item in items:
        if isinstance(item, StoredReading):
            result = _classify_reading(item.reading, plan, history.value(), now)
            history.add_reading(item.reading, result.findings if result is not None else ())
            after[item.reading.id] = result
        else:
            report = _classify_report(item, plan, history.value(), now)
            history.add_report(item, report.findings if report is not None else ())
    ordered = sorted(readings, key=lambda s: (s.reading.measured_at, s.reading.id))
    changes = [
        change
        for stored in ordered
        if (change := _change(stored, after[stored.reading.id], plan)) is not None
    ]
    return Replay(
        plan_id=plan.plan_id,
        plan_version=plan.version,
        readings=len(readings),
        under_version=ZoneCounts.of(_colour(after[s.reading.id]) for s in readings),
        as_stored=ZoneCounts.of(s.colour for s in readings),
        stored_plan_versions=tuple(
            sorted({s.plan_version for s in readings if s.plan_version is not None})
        ),
        changes=tuple(changes),
    )


def reasons(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Why an item has its colour: the yellow and red findings, worst first; all the (green)
    findings when there are none."""
    found = tuple(findings)
    breaches = sorted((f for f in found if f.is_breach), key=lambda f: -f.colour.rank)
    return tuple(breaches) or found


def _classify_reading(
    reading: Reading, plan: PlanVersion, history: PatientHistory, now: datetime
) -> Classification | None:
    try:
        return classify(reading, plan, history, now)
    except ImplausibleReadingError:
        return None  # stored readings passed this check; a stricter check since leaves it out


def _classify_report(
    report: Report, plan: PlanVersion, history: PatientHistory, now: datetime
) -> Classification | None:
    try:
        return classify_report(report, plan, history, now)
    except QuestionnaireError:
        return None


def _colour(result: Classification | None) -> Colour | None:
    """The colour as ingest stores it: none when no rule of the plan looked at the item."""
    if result is None or not result.findings:
        return None
    return result.colour


def _change(
    stored: StoredReading, result: Classification | None, plan: PlanVersion
) -> ReplayChange | None:
    new = _colour(result)
    if new == stored.colour:
        return None
    old_rank = stored.colour.rank if stored.colour is not None else -1
    new_rank = new.rank if new is not None else -1
    reading = stored.reading
    return ReplayChange(
        reading_id=reading.id,
        kind=reading.kind.value,
        measured_at=reading.measured_at,
        values=dict(reading.values),
        before=stored.colour,
        before_plan_version=stored.plan_version,
        before_reasons=reasons(stored.findings),
        after=new,
        after_plan_version=plan.version,
        after_reasons=reasons(result.findings) if result is not None else (),
        direction="worse" if new_rank > old_rank else "better",
    )
