"""MQTT/HTTP payloads (``dho.reading/1``, ``dho.report/1``) built from simulated events.

The pydantic schemas that *validate* incoming payloads come with the service (issue 4); this
module only writes them, for ``dho simulate`` and load tests.
"""

from __future__ import annotations

from typing import Any

from devices.simulate import SimulatedReading, SimulatedReport


def simulated_payload(event: SimulatedReading | SimulatedReport) -> dict[str, Any]:
    """The payload a patient's gateway would publish for ``event``.

    It carries no patient id: the service finds the patient from the gateway, never from the
    payload (see :func:`simulated_line` for load tests that need the patient).
    """
    if isinstance(event, SimulatedReading):
        return {
            "schema": "dho.reading/1",
            "id": event.id,
            "kind": event.kind,
            "measured_at": event.measured_at.isoformat(),
            "received_at": event.measured_at.isoformat(),
            "values": event.values,
            "device": {"profile": event.device, "model": "DHO simulated"},
        }
    return {
        "schema": "dho.report/1",
        "id": event.id,
        "questionnaire": event.questionnaire,
        "answered_at": event.answered_at.isoformat(),
        "answers": event.answers,
    }


def simulated_line(event: SimulatedReading | SimulatedReport) -> dict[str, Any]:
    """One line of ``dho simulate`` output: which patient's gateway publishes which payload."""
    topic = "readings" if isinstance(event, SimulatedReading) else "reports"
    return {"patient_id": event.patient_id, "topic": topic, "payload": simulated_payload(event)}
