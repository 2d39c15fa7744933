"""THE table: per kind and parameter, the LOINC and MDC codes, the UCUM unit, the FHIR R4
Vital Signs profile and the Observation category. docs/fhir.md prints it and cites its
sources:

- LOINC codes, UCUM units and profiles: HL7 FHIR R4 Vital Signs
  (https://hl7.org/fhir/R4/observation-vitalsigns.html); glucose 14743-9 in mmol/L (capillary
  blood by glucometer; 2339-0/41653-7 are mass units) with category ``laboratory``;
- MDC codes (ISO/IEEE 11073-10101, ``urn:iso:std:iso:11073:10101``) as the HL7 Personal
  Health Device IG (STU2) asks, beside the LOINC code: the pulse rate keeps the MDC code of the
  meter that measured it (a BP cuff's 149546, an oximeter's 149530, a heart-rate strap's
  147842), all three LOINC 8867-4;
- peak flow has no vital-signs profile: LOINC 19935-6 with MDC 152584 in L/min, category
  ``exam`` (DHO's choice; no Norwegian guide names one).

Also here: the code systems, the v3 interpretation codes and the constant CodeableConcepts the
Observations share (built once at import).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from triage.domain.readings import Kind, Parameter

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:iso:std:iso:11073:10101"
UCUM: Final = "http://unitsofmeasure.org"
SNOMED: Final = "http://snomed.info/sct"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
GATEWAY_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"
VITAL_SIGNS_PROFILE: Final = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
PROFILE_BASE: Final = "http://hl7.org/fhir/StructureDefinition/"
#: DHO's own code systems (data-quality flags, alert types, outcomes, questionnaires)
DHO_FLAG: Final = "urn:dho:code:reading-flag"


@dataclass(frozen=True, slots=True)
class ParameterCode:
    """One row of the table."""

    kind: Kind
    #: None: the kind's panel (the BP panel 85354-9 that holds the components)
    parameter: Parameter | None
    loinc: str
    loinc_display: str
    mdc: str
    mdc_reference_id: str
    ucum: str | None
    #: the FHIR R4 vital-signs profile's id ("bp", "heartrate", …); None: not a vital sign
    profile: str | None
    category: str
    #: further LOINC codings after the first (SpO2 by pulse oximetry 59408-5)
    extra_loinc: tuple[tuple[str, str], ...] = ()

    @property
    def profile_url(self) -> str | None:
        return None if self.profile is None else PROFILE_BASE + self.profile


_BP, _SPO2, _HR = Kind.BLOOD_PRESSURE, Kind.SPO2, Kind.HEART_RATE

TABLE: Final[tuple[ParameterCode, ...]] = (
    ParameterCode(
        _BP, None, "85354-9", "Blood pressure panel with all children optional",
        "150020", "MDC_PRESS_BLD_NONINV", None, "bp", "vital-signs",
    ),
    ParameterCode(
        _BP, Parameter.SYSTOLIC, "8480-6", "Systolic blood pressure",
        "150021", "MDC_PRESS_BLD_NONINV_SYS", "mm[Hg]", "bp", "vital-signs",
    ),
    ParameterCode(
        _BP, Parameter.DIASTOLIC, "8462-4", "Diastolic blood pressure",
        "150022", "MDC_PRESS_BLD_NONINV_DIA", "mm[Hg]", "bp", "vital-signs",
    ),
    ParameterCode(
        _BP, Parameter.MEAN_ARTERIAL, "8478-0", "Mean blood pressure",
        "150023", "MDC_PRESS_BLD_NONINV_MEAN", "mm[Hg]", "bp", "vital-signs",
    ),
    ParameterCode(
        _BP, Parameter.PULSE, "8867-4", "Heart rate",
        "149546", "MDC_PULS_RATE_NON_INV", "/min", "heartrate", "vital-signs",
    ),
    ParameterCode(
        _SPO2, Parameter.SPO2, "2708-6", "Oxygen saturation in Arterial blood",
        "150456", "MDC_PULS_OXIM_SAT_O2", "%", "oxygensat", "vital-signs",
        (("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),),
    ),
    ParameterCode(
        _SPO2, Parameter.PULSE, "8867-4", "Heart rate",
        "149530", "MDC_PULS_OXIM_PULS_RATE", "/min", "heartrate", "vital-signs",
    ),
    ParameterCode(
        _HR, Parameter.PULSE, "8867-4", "Heart rate",
        "147842", "MDC_ECG_HEART_RATE", "/min", "heartrate", "vital-signs",
    ),
    ParameterCode(
        Kind.GLUCOSE, Parameter.GLUCOSE, "14743-9",
        "Glucose [Moles/volume] in Capillary blood by Glucometer",
        "160184", "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", "mmol/L", None, "laboratory",
    ),
    ParameterCode(
        Kind.BODY_WEIGHT, Parameter.WEIGHT, "29463-7", "Body weight",
        "188736", "MDC_MASS_BODY_ACTUAL", "kg", "bodyweight", "vital-signs",
    ),
    ParameterCode(
        Kind.BODY_TEMPERATURE, Parameter.TEMPERATURE, "8310-5", "Body temperature",
        "150364", "MDC_TEMP_BODY", "Cel", "bodytemp", "vital-signs",
    ),
    ParameterCode(
        Kind.RESPIRATORY_RATE, Parameter.RESPIRATORY_RATE, "9279-1", "Respiratory rate",
        "151562", "MDC_RESP_RATE", "/min", "resprate", "vital-signs",
    ),
    ParameterCode(
        Kind.PEAK_FLOW, Parameter.PEAK_FLOW, "19935-6",
        "Maximum expiratory gas flow Respiratory system airway",
        "152584", "MDC_FLOW_AWAY_EXP_FORCED_PEAK", "L/min", None, "exam",
    ),
)  # fmt: skip

CODES: Final = MappingProxyType({(row.kind, row.parameter): row for row in TABLE})


def code_for(kind: Kind, parameter: Parameter | None) -> ParameterCode:
    """The table's row for ``parameter`` measured by a ``kind`` meter (None: the panel)."""
    return CODES[(kind, parameter)]


#: the kind whose row names a parameter on its own (a plan's zones, a Goal's measure): the
#: pulse as a heart rate (8867-4), the BP values as the cuff's
_OWN_KIND: Final = MappingProxyType(
    {
        Parameter.SYSTOLIC: Kind.BLOOD_PRESSURE,
        Parameter.DIASTOLIC: Kind.BLOOD_PRESSURE,
        Parameter.MEAN_ARTERIAL: Kind.BLOOD_PRESSURE,
        Parameter.PULSE: Kind.HEART_RATE,
        Parameter.SPO2: Kind.SPO2,
        Parameter.GLUCOSE: Kind.GLUCOSE,
        Parameter.WEIGHT: Kind.BODY_WEIGHT,
        Parameter.TEMPERATURE: Kind.BODY_TEMPERATURE,
        Parameter.RESPIRATORY_RATE: Kind.RESPIRATORY_RATE,
        Parameter.PEAK_FLOW: Kind.PEAK_FLOW,
    }
)


def parameter_code(parameter: Parameter) -> ParameterCode:
    """The row of ``parameter`` on its own (whatever meter measures it)."""
    return CODES[(_OWN_KIND[parameter], parameter)]


def kind_code(kind: Kind) -> ParameterCode:
    """The row of what a ``kind`` meter measures as a whole (the BP panel; else its value)."""
    if kind is Kind.BLOOD_PRESSURE:
        return CODES[(kind, None)]
    parameter = (
        Parameter.PULSE
        if kind is Kind.HEART_RATE
        else next(p for (k, p) in CODES if k is kind and p is not None and p is not Parameter.PULSE)
    )
    return CODES[(kind, parameter)]


def codeable_concept(row: ParameterCode) -> dict[str, Any]:
    """Observation.code: LOINC first (the vital-signs "magic" code), then MDC."""
    coding: list[dict[str, Any]] = [
        {"system": LOINC, "code": row.loinc, "display": row.loinc_display}
    ]
    coding += [{"system": LOINC, "code": c, "display": d} for c, d in row.extra_loinc]
    coding.append({"system": MDC, "code": row.mdc, "display": row.mdc_reference_id})
    return {"coding": coding, "text": row.loinc_display}


def category_concept(category: str) -> dict[str, Any]:
    display = {
        "vital-signs": "Vital Signs",
        "laboratory": "Laboratory",
        "exam": "Exam",
        "survey": "Survey",
    }[category]
    return {"coding": [{"system": OBSERVATION_CATEGORY, "code": category, "display": display}]}


#: v3 ObservationInterpretation codes and their displays
INTERPRETATION_DISPLAY: Final = MappingProxyType(
    {
        "N": "Normal",
        "L": "Low",
        "H": "High",
        "LL": "Critical low",
        "HH": "Critical high",
        "A": "Abnormal",
        "AA": "Critical abnormal",
    }
)
#: how urgent each code is (red codes 2, yellow 1, normal 0; a direction beats "abnormal")
INTERPRETATION_RANK: Final = MappingProxyType(
    {"N": 0, "A": 1, "L": 1.5, "H": 1.5, "AA": 2, "LL": 2.5, "HH": 2.5}
)
INTERPRETATION_CONCEPT: Final = MappingProxyType(
    {
        code: {"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}
        for code, display in INTERPRETATION_DISPLAY.items()
    }
)
