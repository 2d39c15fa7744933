"""The nurse's worklist: one entry per patient, in the order they should be looked at.

Order (exact; :func:`worklist_order`)
-------------------------------------
1. **Tier**, most urgent first:

   a. red patients (clinical colour red);
   b. yellow patients;
   c. patients with *only* lost contact (clinical colour green, an open technical alert);
   d. green patients.

   The tier is set by the clinical colour alone, so lost contact or missing data never lifts a
   patient above a clinical red: a lost-contact patient who is also red sorts as red, one who
   is yellow sorts as yellow, and one with only lost contact after every yellow and before
   every green. Missing measurements are clinical (yellow) alerts and sort by their colour.
2. Within a tier, patients with an **unacknowledged** alert of their colour come first, the
   one that has waited longest (oldest ``oldest_unacknowledged_at``) first; then patients whose
   alerts of that colour are all acknowledged. In the lost-contact tier, the longest silence
   (oldest ``lost_contact_since``) comes first.
3. Then ``patient_id``, and then the remaining fields, so that the order is total and the same
   whatever order the entries came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.domain.alerts import Alert, AlertCategory, AlertState, patient_colour
from triage.domain.colours import Colour
from triage.domain.findings import RuleType


class WorklistEntry(BaseModel):
    """One patient on the worklist.

    ``colour`` is the worst colour among the patient's open clinical alerts;
    ``oldest_unacknowledged_at`` the oldest ``opened_at`` among the unacknowledged (state OPEN)
    clinical alerts of that colour; ``open_alerts`` counts every unresolved alert, technical
    ones included; ``lost_contact`` is true while a lost-contact alert is unresolved and not back
    in range, and ``lost_contact_since`` is the oldest such alert's ``opened_at``;
    ``missing_data`` is true while a clinical missing-measurement alert is unresolved.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str
    colour: Colour
    oldest_unacknowledged_at: AwareDatetime | None = None
    open_alerts: int = Field(default=0, ge=0)
    lost_contact: bool = False
    lost_contact_since: AwareDatetime | None = None
    missing_data: bool = False


def entry_for(patient_id: str, alerts: Iterable[Alert]) -> WorklistEntry:
    """The worklist entry of ``patient_id`` from its alerts (others' alerts are ignored)."""
    mine = [a for a in alerts if a.patient_id == patient_id and a.is_open]
    clinical = [a for a in mine if a.category is AlertCategory.CLINICAL]
    lost = [
        a
        for a in mine
        if a.category is AlertCategory.TECHNICAL
        and a.rule_type is RuleType.LOST_CONTACT  # not a notification that reached nobody
        and a.back_in_range_at is None
    ]
    colour = patient_colour(clinical)
    unacknowledged = [
        a.opened_at for a in clinical if a.state is AlertState.OPEN and a.colour is colour
    ]
    return WorklistEntry(
        patient_id=patient_id,
        colour=colour,
        oldest_unacknowledged_at=min(unacknowledged, default=None),
        open_alerts=len(mine),
        lost_contact=bool(lost),
        lost_contact_since=min((a.opened_at for a in lost), default=None),
        missing_data=any(a.rule_type is RuleType.MISSING for a in clinical),
    )


def worklist_order(entries: Iterable[WorklistEntry]) -> list[WorklistEntry]:
    """``entries`` in worklist order (see the module docstring)."""
    return sorted(entries, key=_sort_key)


def tier(entry: WorklistEntry) -> int:
    """0 red, 1 yellow, 2 lost contact only, 3 green."""
    if entry.colour is Colour.RED:
        return 0
    if entry.colour is Colour.YELLOW:
        return 1
    return 2 if entry.lost_contact else 3


_LAST = datetime.max.replace(tzinfo=UTC)


def _sort_key(
    entry: WorklistEntry,
) -> tuple[int, int, datetime, datetime, str, int, bool, bool]:
    waiting = entry.oldest_unacknowledged_at
    return (
        tier(entry),
        0 if waiting is not None else 1,
        waiting if waiting is not None else _LAST,
        entry.lost_contact_since if entry.lost_contact_since is not None else _LAST,
        entry.patient_id,
        # Only to make the order total; these never put one patient before another above.
        -entry.open_alerts,
        not entry.lost_contact,
        not entry.missing_data,
    )
