"""Pure functions for the fastlege's overview: the patients worst first with those without
deviations folded into one line, and only the newest draft of each plan to approve.

No Streamlit, no I/O (``tests/unit/test_gp_presenters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dashboard.api_client import AlertDetail, Patient, PlanDraft
from dashboard.presenters import colour_rank, worst_colour

#: alert events that are a deviation (a reading out of range), not the centre's handling
_DEVIATING = frozenset({"opened", "breach", "raised"})


def deviated_at(alert: AlertDetail) -> datetime:
    """When the alert last deviated in its colour: it opened, or a reading raised it to its
    colour or breached again (a yellow that turned red ten minutes ago is that new)."""
    times = [e.at for e in alert.events if e.event in _DEVIATING and e.colour == alert.colour]
    return max([alert.opened_at, *times])


@dataclass(frozen=True)
class PatientDeviations:
    """A patient with their deviations since the GP last looked, oldest first; ``colour`` is
    the worst of them (handled or not: what happened to the GP's patient)."""

    patient: Patient
    alerts: tuple[AlertDetail, ...]
    colour: str

    @property
    def newest(self) -> datetime:
        """When the patient last deviated in their worst colour (see :func:`deviated_at`)."""
        return max(deviated_at(a) for a in self.alerts if a.colour == self.colour)


@dataclass(frozen=True)
class GpOverview:
    """``deviated`` worst first; ``without`` (no deviation since the last look) by name."""

    deviated: tuple[PatientDeviations, ...]
    without: tuple[Patient, ...]


def gp_overview(
    patients: Iterable[Patient], alerts_by_patient: Mapping[str, Sequence[AlertDetail]]
) -> GpOverview:
    """The GP's patients (discharged ones left out): those with deviations red first, then
    yellow, and within a colour the newest deviation of that colour first — what a GP with
    five minutes should read first; those without deviations by name, to be folded into one
    line."""
    deviated: list[PatientDeviations] = []
    without: list[Patient] = []
    for patient in patients:
        if patient.state == "discharged":
            continue
        alerts = tuple(alerts_by_patient.get(patient.id, ()))
        if alerts:
            colour = worst_colour(a.colour for a in alerts)
            deviated.append(PatientDeviations(patient, alerts, colour))
        else:
            without.append(patient)
    deviated.sort(key=lambda d: d.patient.display_name)
    deviated.sort(key=lambda d: (colour_rank(d.colour), d.newest), reverse=True)
    without.sort(key=lambda p: (p.display_name, p.id))
    return GpOverview(tuple(deviated), tuple(without))


@dataclass(frozen=True)
class DraftToApprove:
    """The newest draft of one plan, and how many older drafts of it wait too (not offered:
    approving the newest replaces the approved version; the older ones then can no longer
    be approved)."""

    draft: PlanDraft
    older: int


def newest_drafts(drafts: Iterable[PlanDraft]) -> dict[str, list[DraftToApprove]]:
    """Per patient, the newest draft of each of their plans, with the number of older ones."""
    per_plan: dict[str, list[PlanDraft]] = {}
    for draft in drafts:
        per_plan.setdefault(draft.plan_id, []).append(draft)
    by_patient: dict[str, list[DraftToApprove]] = {}
    for plan_id in sorted(per_plan):
        versions = sorted(per_plan[plan_id], key=lambda d: d.version)
        newest = versions[-1]
        by_patient.setdefault(newest.patient_id, []).append(
            DraftToApprove(newest, len(versions) - 1)
        )
    return by_patient
