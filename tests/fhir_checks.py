"""Three independent checks of a FHIR resource the mapping makes (tests only):

- :func:`tests.fhir_schema.assert_valid` — the official FHIR R4 JSON Schema;
- :func:`model_errors` — the ``fhir.resources`` R4B model of its type (pydantic);
- :func:`vital_signs_problems` — the FHIR R4 Vital Signs profile rules, from the profile's own
  table (written out here from https://hl7.org/fhir/R4/observation-vitalsigns.html, not taken
  from the mapping's table, so that a wrong row there fails here): category vital-signs, the
  LOINC code, the UCUM unit and system, a subject, an effective time with its offset, a value
  (or components, or a data-absent reason). Glucose (14743-9, mmol/L, category laboratory) is
  checked the same way by :data:`LABORATORY`.

:func:`check_resource` runs all three (the third only on Observations).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from tests.fhir_schema import assert_valid

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

#: the R4 vital-signs profiles: LOINC code → (profile id, allowed UCUM units)
VITAL_SIGNS: dict[str, tuple[str, frozenset[str]]] = {
    "85354-9": ("bp", frozenset()),  # a panel: components carry the values
    "8867-4": ("heartrate", frozenset({"/min"})),
    "2708-6": ("oxygensat", frozenset({"%"})),
    "29463-7": ("bodyweight", frozenset({"kg", "g", "[lb_av]"})),
    "8310-5": ("bodytemp", frozenset({"Cel", "[degF]"})),
    "9279-1": ("resprate", frozenset({"/min"})),
}
#: the bp profile's required components: LOINC code → UCUM unit
BP_COMPONENTS = {"8480-6": "mm[Hg]", "8462-4": "mm[Hg]"}
#: DHO's laboratory Observation (not a vital sign): LOINC code → UCUM unit
LABORATORY = {"14743-9": "mmol/L"}
#: a FHIR dateTime to the second with an offset (the profile wants the offset)
DATETIME_WITH_OFFSET = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-](0\d|1[0-4]):[0-5]\d)"
)


def model_errors(resource: dict[str, Any]) -> str | None:
    """Why the R4B model of the resource's type refuses it (None: it accepts it)."""
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return str(error)
    return None


def _codings(concept: dict[str, Any], system: str) -> list[str]:
    return [c.get("code", "") for c in concept.get("coding", []) if c.get("system") == system]


def _quantity_problems(where: str, quantity: Any, unit: str | frozenset[str]) -> list[str]:
    if not isinstance(quantity, dict):
        return [f"{where}: no valueQuantity"]
    problems = []
    allowed = {unit} if isinstance(unit, str) else unit
    if not isinstance(quantity.get("value"), int | float) or isinstance(
        quantity.get("value"), bool
    ):
        problems.append(f"{where}: value {quantity.get('value')!r} is not a number")
    if quantity.get("system") != UCUM:
        problems.append(f"{where}: unit system {quantity.get('system')!r} is not UCUM")
    if quantity.get("code") not in allowed:
        problems.append(f"{where}: UCUM code {quantity.get('code')!r} not in {sorted(allowed)}")
    return problems


def vital_signs_problems(observation: dict[str, Any]) -> list[str]:
    """Every way a vital-sign (or DHO laboratory) Observation breaks the profile's rules."""
    problems: list[str] = []
    loinc = _codings(observation.get("code", {}), LOINC)
    categories = [
        code
        for concept in observation.get("category", [])
        for code in _codings(concept, CATEGORY_SYSTEM)
    ]
    vital = [code for code in loinc if code in VITAL_SIGNS]
    lab = [code for code in loinc if code in LABORATORY]
    if not vital and not lab:
        return [f"no vital-signs or laboratory LOINC code among {loinc}"]
    if observation.get("status") not in (
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
    ):
        problems.append(f"status {observation.get('status')!r}")
    subject = observation.get("subject")
    if not isinstance(subject, dict) or not (subject.get("reference") or subject.get("identifier")):
        problems.append("no subject")
    effective = observation.get("effectiveDateTime")
    if not isinstance(effective, str) or not DATETIME_WITH_OFFSET.fullmatch(effective):
        problems.append(f"effectiveDateTime {effective!r} is not a dateTime with an offset")
    if vital:
        code = vital[0]
        profile, units = VITAL_SIGNS[code]
        if "vital-signs" not in categories:
            problems.append(f"category {categories} lacks vital-signs")
        wanted = f"http://hl7.org/fhir/StructureDefinition/{profile}"
        if wanted not in observation.get("meta", {}).get("profile", []):
            problems.append(f"meta.profile lacks {wanted}")
        if code == "85354-9":
            components = {
                c: comp
                for comp in observation.get("component", [])
                for c in _codings(comp.get("code", {}), LOINC)
            }
            for component_code, unit in BP_COMPONENTS.items():
                if component_code not in components:
                    problems.append(f"bp lacks component {component_code}")
                else:
                    problems += _quantity_problems(
                        component_code, components[component_code].get("valueQuantity"), unit
                    )
        elif "dataAbsentReason" not in observation:
            problems += _quantity_problems(code, observation.get("valueQuantity"), units)
    else:
        code = lab[0]
        if "laboratory" not in categories:
            problems.append(f"category {categories} lacks laboratory")
        problems += _quantity_problems(code, observation.get("valueQuantity"), LABORATORY[code])
    return problems


def check_resource(resource: dict[str, Any], *, vital_sign: bool | None = None) -> None:
    """All three checks; ``vital_sign`` True/False insists the Observation is/is not one
    (None: check the profile rules when it carries a vital-signs or laboratory code)."""
    assert_valid(resource)
    errors = model_errors(resource)
    assert errors is None, errors
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            errors = model_errors(entry["resource"])
            assert errors is None, errors
    if resource["resourceType"] != "Observation":
        return
    loinc = _codings(resource.get("code", {}), LOINC)
    measured = any(c in VITAL_SIGNS or c in LABORATORY for c in loinc)
    if vital_sign is None:
        vital_sign = measured
    if vital_sign:
        problems = vital_signs_problems(resource)
        assert not problems, problems
    else:
        assert not any(c in VITAL_SIGNS for c in loinc), loinc
