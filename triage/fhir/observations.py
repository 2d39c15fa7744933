"""Observations from readings: one per reading, two when a pulse rides along (the BP panel or
the SpO2 value, and a separate heart-rate Observation, as the Vital Signs profiles split them).

Every Observation follows the FHIR R4 Vital Signs profile of its parameter (``meta.profile``,
category vital-signs, the LOINC code, the UCUM unit), carries the MDC code beside LOINC and
the gateway as the ``observation-gatewayDevice`` extension (HL7 PHD IG), ``basedOn`` the
plan version that triaged it (the CarePlan), an identifier
``urn:dho:reading|<reading id>`` for conditional create, ``effectiveDateTime`` with the offset
of the reading's own zone, and ``interpretation`` from the reading's findings.

Cheap by design (the bulk export needs ≥ 20,000 resources/s): the constant parts (code,
category, meta) are built once at import and *shared* between the returned resources — treat
what this module returns as read-only (serialise it, don't edit it in place).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from triage.domain.readings import VALUE_KEYS, Kind, Parameter
from triage.fhir.codes import (
    DHO_FLAG,
    GATEWAY_EXTENSION,
    INTERPRETATION_CONCEPT,
    INTERPRETATION_RANK,
    UCUM,
    ParameterCode,
    category_concept,
    code_for,
    codeable_concept,
)
from triage.fhir.ids import READING_SYSTEM, gateway_device_id, logical_id, meter_device_id
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import ReadingSource
from triage.fhir.times import fhir_datetime

#: the part (logical_id(reading.id, PULSE_PART)) of the heart-rate Observation split off
PULSE_PART: Final = "pulse"

#: data-quality flags (ReadingRow.flags) as meta.tag codings
FLAG_DISPLAY: Final = MappingProxyType(
    {
        "device_clock_ahead": "Device clock ahead: time taken from the gateway",
        "gateway_clock_ahead": "Gateway clock ahead",
        "gateway_clock_behind": "Gateway clock behind: time taken from the device",
        "backfill": "Sent late (backfill): not triaged as new",
        "no_plan": "No approved plan: not triaged",
        "timed_by_gateway": "Device clock unset: timed by the gateway on receipt",
        "patient_typed": "Typed by the patient, not measured by a device",
    }
)
_FLAG_TAGS: Final = MappingProxyType(
    {flag: {"system": DHO_FLAG, "code": flag, "display": d} for flag, d in FLAG_DISPLAY.items()}
)
TYPED_FLAG: Final = "patient_typed"


@dataclass(frozen=True, slots=True)
class _Part:
    """One Observation a reading of some kind gives: its row, value keys and constant parts."""

    row: ParameterCode
    #: (value key, parameter, component code or None for Observation.value, unit, ucum)
    values: tuple[tuple[str, Parameter, dict[str, Any] | None, str, str], ...]
    id_part: str | None
    parameters: frozenset[str]
    meta: dict[str, Any]
    category: list[dict[str, Any]]
    code: dict[str, Any]


def _part(
    kind: Kind, parameters: Sequence[Parameter], *, panel: bool, id_part: str | None
) -> _Part:
    keys = {p: k for k, p in VALUE_KEYS[kind].items()}
    row = code_for(kind, None if panel else parameters[0])
    values = tuple(
        (
            keys[p],
            p,
            codeable_concept(code_for(kind, p)) if panel else None,
            p.unit,
            p.ucum,
        )
        for p in parameters
    )
    profile = row.profile_url
    return _Part(
        row=row,
        values=values,
        id_part=id_part,
        parameters=frozenset(p.value for p in parameters),
        meta={"profile": [profile]} if profile else {},
        category=[category_concept(row.category)],
        code=codeable_concept(row),
    )


def _parts(kind: Kind) -> tuple[_Part, ...]:
    if kind is Kind.BLOOD_PRESSURE:
        bp = [Parameter.SYSTOLIC, Parameter.DIASTOLIC, Parameter.MEAN_ARTERIAL]
        pulse = _part(kind, [Parameter.PULSE], panel=False, id_part=PULSE_PART)
        return (_part(kind, bp, panel=True, id_part=None), pulse)
    if kind is Kind.SPO2:
        pulse = _part(kind, [Parameter.PULSE], panel=False, id_part=PULSE_PART)
        return (_part(kind, [Parameter.SPO2], panel=False, id_part=None), pulse)
    (parameter,) = VALUE_KEYS[kind].values()
    return (_part(kind, [parameter], panel=False, id_part=None),)


#: per kind (its string value): the Observations of a reading, the main one first
PARTS: Final = MappingProxyType({kind.value: _parts(kind) for kind in Kind})


def fhir_number(value: Any) -> Any:
    """A whole float as an int (128 rather than 128.0); anything else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _direction(finding: Mapping[str, Any]) -> str | None:
    """ "low"/"high" for a threshold finding (from ``args.bound_op``, else the stored bound's
    first sign, as old findings keep it), else None."""
    args = finding.get("args")
    op = args.get("bound_op") if isinstance(args, Mapping) else None
    if op in ("le", "lt"):
        return "low"
    if op in ("ge", "gt"):
        return "high"
    bound = finding.get("bound")
    if isinstance(bound, str) and bound:
        if bound[0] in "<≤":
            return "low"
        if bound[0] in ">≥":
            return "high"
    return None


def finding_interpretation(finding: Mapping[str, Any]) -> str | None:
    """The v3 interpretation code of one stored finding: red below LL, yellow below L, yellow
    above H, red above HH; another rule's yellow A, red AA; green N (None: no colour)."""
    colour = finding.get("colour")
    if colour == "green":
        return "N"
    if colour not in ("yellow", "red"):
        return None
    red = colour == "red"
    if finding.get("rule_type") == "threshold":
        direction = _direction(finding)
        if direction == "low":
            return "LL" if red else "L"
        if direction == "high":
            return "HH" if red else "H"
    return "AA" if red else "A"


def interpretations(findings: Sequence[Any]) -> dict[str | None, str]:
    """The most urgent interpretation code per parameter (None: findings about no single
    parameter, e.g. NEWS2 or a combination rule)."""
    worst: dict[str | None, str] = {}
    for finding in findings:
        if not isinstance(finding, Mapping):
            continue
        code = finding_interpretation(finding)
        if code is None:
            continue
        parameter = finding.get("parameter")
        key = parameter if isinstance(parameter, str) else None
        held = worst.get(key)
        if held is None or INTERPRETATION_RANK[code] > INTERPRETATION_RANK[held]:
            worst[key] = code
    return worst


def _worst(codes: Mapping[str | None, str], keys: frozenset[str], main: bool) -> str | None:
    best: str | None = None
    for key, code in codes.items():
        if (key in keys if key is not None else main) and (
            best is None or INTERPRETATION_RANK[code] > INTERPRETATION_RANK[best]
        ):
            best = code
    return best


def reading_observations(reading: ReadingSource, refs: References = LOCAL) -> list[dict[str, Any]]:
    """The reading's Observations (1–2), JSON-ready; the main one first.

    Raises ValueError for a kind DHO does not know (stored rows never have one).
    """
    parts = PARTS.get(reading.kind)
    if parts is None:
        raise ValueError(f"reading {reading.id!r}: unknown kind {reading.kind!r}")
    values = reading.values
    findings = reading.findings
    codes = interpretations(findings) if findings else {}
    # green with no finding to say why (nothing judged it against a bound): normal throughout
    all_normal = not codes and reading.colour == "green"
    flags = reading.flags
    effective = fhir_datetime(reading.measured_at, reading.timezone)
    patient_id = reading.patient_id
    typed = TYPED_FLAG in flags
    meter = None if typed else meter_device_id(patient_id, reading.device)
    gateway = reading.gateway_id
    plan_id, plan_version = reading.plan_id, reading.plan_version
    based_on = (
        [refs.to("CarePlan", plan_id, f"v{plan_version}")]
        if plan_id is not None and plan_version is not None
        else None
    )
    out: list[dict[str, Any]] = []
    for index, part in enumerate(parts):
        main = index == 0
        present = [v for v in part.values if v[0] in values]
        if not present:
            continue
        ident = reading.id if part.id_part is None else f"{reading.id}:{part.id_part}"
        meta = part.meta
        if flags:
            tags = [_FLAG_TAGS[f] for f in flags if f in _FLAG_TAGS]
            if tags:
                meta = {**meta, "tag": tags}
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": logical_id(reading.id, part.id_part),
        }
        if meta:
            obs["meta"] = meta
        if gateway:
            obs["extension"] = [
                {
                    "url": GATEWAY_EXTENSION,
                    "valueReference": refs.to("Device", gateway_device_id(gateway)),
                }
            ]
        obs["identifier"] = [{"system": READING_SYSTEM, "value": ident}]
        if based_on is not None:
            obs["basedOn"] = based_on
        obs["status"] = "final"
        obs["category"] = part.category
        obs["code"] = part.code
        obs["subject"] = refs.patient(patient_id)
        obs["effectiveDateTime"] = effective
        if typed:
            obs["performer"] = [refs.patient(patient_id)]
        worst = _worst(codes, part.parameters, main) if codes else ("N" if all_normal else None)
        if worst is not None:
            obs["interpretation"] = [INTERPRETATION_CONCEPT[worst]]
        if part.values[0][2] is None:  # a single value
            key, _, _, unit, ucum = present[0]
            obs["valueQuantity"] = {
                "value": fhir_number(values[key]),
                "unit": unit,
                "system": UCUM,
                "code": ucum,
            }
        else:
            components = []
            for key, parameter, code, unit, ucum in present:
                component: dict[str, Any] = {
                    "code": code,
                    "valueQuantity": {
                        "value": fhir_number(values[key]),
                        "unit": unit,
                        "system": UCUM,
                        "code": ucum,
                    },
                }
                own = codes.get(parameter.value)
                if own is not None:
                    component["interpretation"] = [INTERPRETATION_CONCEPT[own]]
                components.append(component)
            obs["component"] = components
        if meter is not None:
            obs["device"] = refs.to("Device", meter)
        out.append(obs)
    return out
