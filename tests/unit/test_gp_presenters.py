"""The fastlege's overview (dashboard.gp_presenters): worst first, the patients without
deviations folded, and only the newest draft of each plan offered for approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.api_client import AlertDetail, Patient, PlanDraft
from dashboard.gp_presenters import gp_overview, newest_drafts

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def patient(name: str, state: str = "active") -> Patient:
    return Patient.model_validate(
        {
            "id": f"p-{name}",
            "display_name": name,
            "municipality_id": "m",
            "municipality_name": "Kommune",
            "centre_id": "c",
            "centre_name": "Senter",
            "state": state,
            "enrolled_at": NOW - timedelta(days=30),
        }
    )


def alert(name: str, colour: str, hours_ago: float, **extra: Any) -> AlertDetail:
    return AlertDetail.model_validate(
        {
            "id": f"{name}-{colour}-{hours_ago}",
            "patient_id": f"p-{name}",
            "rule_id": "threshold:spo2",
            "colour": colour,
            "state": "open",
            "opened_at": NOW - timedelta(hours=hours_ago),
            "reason": {
                "rule_id": "threshold:spo2",
                "rule_type": "threshold",
                "colour": colour,
                "at": NOW - timedelta(hours=hours_ago),
                "text": {"nb": "", "en": ""},
            },
            **extra,
        }
    )


def test_red_comes_first_then_yellow_newest_first_and_the_rest_are_folded() -> None:
    """Alphabetically Anne (green) came first and the red last; now the red is first, the
    yellows follow with the newest deviation first, and the greens are only counted."""
    patients = [patient(n) for n in ("Anne", "Bjørn", "Cecilie", "Dag", "Eva", "Øystein")]
    patients.append(patient("Ferdig", state="discharged"))
    by_patient = {
        "p-Øystein": [alert("Øystein", "red", 5)],
        "p-Bjørn": [alert("Bjørn", "yellow", 10)],
        "p-Dag": [alert("Dag", "yellow", 1)],
        # a red the centre already closed still puts the patient among the reds
        "p-Eva": [alert("Eva", "yellow", 0.5), alert("Eva", "red", 8, resolved_at=NOW)],
    }
    overview = gp_overview(patients, by_patient)
    assert [d.patient.display_name for d in overview.deviated] == ["Øystein", "Eva", "Dag", "Bjørn"]
    assert [d.colour for d in overview.deviated] == ["red", "red", "yellow", "yellow"]
    assert [p.display_name for p in overview.without] == ["Anne", "Cecilie"]


def test_a_yellow_that_turned_red_counts_from_when_it_turned_red() -> None:
    """Dag's alert opened yellow ten hours ago and turned red an hour ago: newer than
    Øystein's red of five hours ago."""
    raised = {"event": "raised", "at": NOW - timedelta(hours=1), "colour": "red"}
    opened = {"event": "opened", "at": NOW - timedelta(hours=10), "colour": "yellow"}
    by_patient = {
        "p-Øystein": [alert("Øystein", "red", 5)],
        "p-Dag": [alert("Dag", "red", 10, events=[opened, raised])],
    }
    overview = gp_overview([patient("Dag"), patient("Øystein")], by_patient)
    assert [d.patient.display_name for d in overview.deviated] == ["Dag", "Øystein"]


def draft(plan: str, version: int, patient_id: str = "p-Anne") -> PlanDraft:
    return PlanDraft.model_validate(
        {
            "patient_id": patient_id,
            "patient_name": "Anne",
            "plan_id": plan,
            "version": version,
            "created_at": NOW,
            "note": f"v{version}",
            "in_use_version": 1,
            "changes": {"changes": [], "looser": 0},
        }
    )


def test_only_the_newest_draft_of_each_plan_is_offered() -> None:
    """v2, v3 and v4 of one plan wait: only v4 is offered, saying two older ones wait too."""
    found = newest_drafts([draft("plan-a", 3), draft("plan-a", 4), draft("plan-a", 2)])
    [only] = found["p-Anne"]
    assert (only.draft.version, only.older) == (4, 2)
    two = newest_drafts([draft("plan-a", 2), draft("plan-b", 5, patient_id="p-Bjørn")])
    assert {p: [d.draft.version for d in ds] for p, ds in two.items()} == {
        "p-Anne": [2],
        "p-Bjørn": [5],
    }
