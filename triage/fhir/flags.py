"""The Flag for a patient's current triage colour (green, yellow, red)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from triage.fhir.ids import logical_id
from triage.fhir.references import LOCAL, References
from triage.fhir.times import fhir_datetime

COLOUR_SYSTEM: Final = "urn:dho:code:triage-colour"
FLAG_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/flag-category"
#: the colour's words in bokmål, as the dashboard shows them
COLOUR_NB: Final = {"green": "Grønn", "yellow": "Gul", "red": "Rød"}
#: the part of the Flag's logical id (logical_id(patient_id, FLAG_PART))
FLAG_PART: Final = "colour"


def colour_flag(
    patient_id: str,
    colour: str | None,
    since: datetime | None,
    refs: References = LOCAL,
    *,
    timezone: str = "Europe/Oslo",
) -> dict[str, Any]:
    """The patient's current colour as a clinical Flag; ``since``: when it took this colour.
    No colour (nothing classified yet): an inactive Flag coded "none"."""
    if colour is not None and colour not in COLOUR_NB:
        raise ValueError(f"unknown colour {colour!r}")
    words = COLOUR_NB[colour] if colour is not None else "Ingen farge"
    code = colour if colour is not None else "none"
    flag: dict[str, Any] = {
        "resourceType": "Flag",
        "id": logical_id(patient_id, FLAG_PART),
        "status": "active" if colour is not None else "inactive",
        "category": [
            {"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}
        ],
        "code": {
            "coding": [{"system": COLOUR_SYSTEM, "code": code, "display": words}],
            "text": f"Triagefarge: {words.lower()}",
        },
        "subject": refs.patient(patient_id),
    }
    if since is not None:
        flag["period"] = {"start": fhir_datetime(since, timezone)}
    return flag
