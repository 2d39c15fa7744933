"""How one resource points at another.

:data:`LOCAL` makes relative literal references ("Patient/<id>", "Device/<id>"), used by the
REST API and the bulk export. The journal's transaction Bundle has its own
(:class:`triage.fhir.bundles.BundleReferences`: urn:uuid fullUrls for the resources in the
Bundle, the Patient by its fødselsnummer identifier).
"""

from __future__ import annotations

from typing import Any, Protocol

from triage.fhir.ids import logical_id


class References(Protocol):
    """Makes FHIR ``Reference`` objects (new dicts on every call: callers may extend them)."""

    def patient(self, patient_id: str) -> dict[str, Any]:
        """The reference to DHO patient ``patient_id``."""
        ...

    def to(self, resource_type: str, source_id: str, part: str | None = None) -> dict[str, Any]:
        """The reference to the ``resource_type`` made from DHO's ``source_id`` (and part),
        whose id is ``logical_id(source_id, part)``. For a Device, ``source_id`` is already
        the logical id (``meter_device_id``/``gateway_device_id``)."""
        ...


class LocalReferences:
    """Relative literal references: ``{"reference": "Patient/<logical id>"}``."""

    def patient(self, patient_id: str) -> dict[str, Any]:
        return {"reference": "Patient/" + logical_id(patient_id)}

    def to(self, resource_type: str, source_id: str, part: str | None = None) -> dict[str, Any]:
        return {"reference": f"{resource_type}/{logical_id(source_id, part)}"}


LOCAL: References = LocalReferences()
