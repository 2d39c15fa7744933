"""DHO's ORM rows satisfy the mapping's read-only Protocols as they are (mypy strict checks
the assignments below; the test runs the mapping on real, unsaved rows)."""

from __future__ import annotations

from datetime import UTC, datetime

from triage.fhir.observations import reading_observations
from triage.fhir.sources import (
    AlertActionSource,
    AlertSource,
    GatewaySource,
    PatientSource,
    PersonSource,
    PlanVersionSource,
    ReadingSource,
    ReportSource,
)
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    GatewayRow,
    PatientRow,
    PlanVersionRow,
    ReadingRow,
    ReportRow,
    UserRow,
)

AT = datetime(2026, 12, 7, 7, 15, tzinfo=UTC)


def reading_row() -> ReadingRow:
    return ReadingRow(
        id="r-1",
        patient_id="p-1",
        gateway_id="gw-1",
        kind="body_weight",
        values={"weight": 82.35},
        device={"profile": "body_weight", "address": "AA:BB:CC:DD:EE:FF"},
        measured_at=AT,
        classified_at=AT,
        received_at=AT,
        stored_at=AT,
        timezone="Europe/Oslo",
        plan_id=None,
        plan_version=None,
        colour=None,
        findings=[],
        flags=["no_plan"],
    )


def test_rows_are_sources() -> None:
    # mypy strict fails this file if a row does not satisfy its Protocol
    reading: ReadingSource = reading_row()
    report: ReportSource = ReportRow()
    patient: PatientSource = PatientRow()
    person: PersonSource = UserRow()
    gateway: GatewaySource = GatewayRow()
    version: PlanVersionSource = PlanVersionRow()
    alert: AlertSource = AlertRow()
    action: AlertActionSource = AlertActionRow()
    assert all(
        x is not None for x in (reading, report, patient, person, gateway, version, alert, action)
    )


def test_a_reading_row_maps() -> None:
    (observation,) = reading_observations(reading_row())
    assert observation["id"] == "r-1"
    assert observation["valueQuantity"]["value"] == 82.35
    assert observation["effectiveDateTime"] == "2026-12-07T08:15:00+01:00"
    assert observation["device"] == {"reference": "Device/p-1.meter-AABBCCDDEEFF"}
    assert observation["meta"]["tag"][0]["code"] == "no_plan"
