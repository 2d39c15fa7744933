"""Patient, Practitioner and Device (the patient's meters and gateway).

The Patient carries the (synthetic, in tests and demos) fødselsnummer under Norway's OID
``urn:oid:2.16.578.1.12.4.1.4.1`` and DHO's own id; the GP is referenced by the HPR number
(``urn:oid:2.16.578.1.12.4.1.4.4``), as HL7 Norway's no-basis profiles identify people. The
meter Devices follow the HL7 PHD IG's PhdDevice shape (Bluetooth MAC and serial identifiers,
model, the 11073 specialization); the gateway is the PHG the Observations name in their
``observation-gatewayDevice`` extension.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from triage.fhir.codes import MDC
from triage.fhir.ids import (
    BLUETOOTH_MAC_SYSTEM,
    DEVICE_SYSTEM,
    EUI64_SYSTEM,
    FNR_SYSTEM,
    GATEWAY_SYSTEM,
    HPR_SYSTEM,
    PATIENT_SYSTEM,
    USER_SYSTEM,
    gateway_device_id,
    logical_id,
    meter_device_id,
)
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import GatewaySource, PatientSource, PersonSource

PHD_DEVICE_IDS: Final = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"
V2_IDENTIFIER_TYPE: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"

#: the IEEE 11073-20601 device specialization (MDC_DEV_SPEC_PROFILE_*) per reading kind
#: (``device.profile`` in dho.reading/1 is the kind); none for heart rate and peak flow,
#: whose Bluetooth profiles are not 11073 specializations DHO can name with certainty
SPECIALIZATION: Final = MappingProxyType(
    {
        "blood_pressure": ("528391", "MDC_DEV_SPEC_PROFILE_BPM: Blood Pressure Monitor"),
        "spo2": ("528388", "MDC_DEV_SPEC_PROFILE_PULS_OXIM: Pulse Oximeter"),
        "body_temperature": ("528392", "MDC_DEV_SPEC_PROFILE_TEMP: Thermometer"),
        "body_weight": ("528399", "MDC_DEV_SPEC_PROFILE_SCALE: Weighing Scale"),
        "glucose": ("528401", "MDC_DEV_SPEC_PROFILE_GLUCOSE: Glucose Meter"),
    }
)
_PHD_TYPE: Final = {
    "coding": [{"system": MDC, "code": "65573", "display": "MDC_MOC_VMS_MDS_SIMP"}],
    "text": "Personal Health Device",
}
_GATEWAY_TYPE: Final = {
    "coding": [{"system": MDC, "code": "531981", "display": "MDC_MOC_VMS_MDS_AHD"}],
    "text": "Personal Health Gateway",
}


def _human_name(text: str) -> dict[str, Any]:
    """A HumanName from a display name: the last word as family, the rest as given."""
    words = text.split()
    name: dict[str, Any] = {"use": "official", "text": text}
    if words:
        name["family"] = words[-1]
        if len(words) > 1:
            name["given"] = words[:-1]
    return name


def person_reference(person: PersonSource) -> dict[str, Any]:
    """A logical reference to a health worker: by HPR number when known, else DHO's user id,
    with the name as display."""
    if person.hpr_number:
        identifier = {"system": HPR_SYSTEM, "value": person.hpr_number}
    else:
        identifier = {"system": USER_SYSTEM, "value": person.id}
    return {"type": "Practitioner", "identifier": identifier, "display": person.display_name}


def patient(patient: PatientSource, gp: PersonSource | None) -> dict[str, Any]:
    """The Patient: fødselsnummer and DHO id, name, active unless discharged, the GP."""
    identifiers: list[dict[str, Any]] = []
    if patient.national_id:
        identifiers.append({"use": "official", "system": FNR_SYSTEM, "value": patient.national_id})
    identifiers.append({"use": "secondary", "system": PATIENT_SYSTEM, "value": patient.id})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": logical_id(patient.id),
        "identifier": identifiers,
        "active": patient.state != "discharged",
        "name": [_human_name(patient.display_name)],
    }
    if gp is not None:
        resource["generalPractitioner"] = [person_reference(gp)]
    return resource


def practitioner(person: PersonSource) -> dict[str, Any]:
    """A Practitioner for a DHO user (HPR number when known)."""
    identifiers: list[dict[str, Any]] = []
    if person.hpr_number:
        identifiers.append({"system": HPR_SYSTEM, "value": person.hpr_number})
    identifiers.append({"system": USER_SYSTEM, "value": person.id})
    return {
        "resourceType": "Practitioner",
        "id": logical_id(person.id),
        "identifier": identifiers,
        "name": [_human_name(person.display_name)],
    }


def _mac(value: str) -> str | None:
    """A Bluetooth address as the PHD IG writes EUI-48 ("00-1C-05-FF-E8-74"); None if it is
    not one (an app's random id)."""
    hexes = "".join(c for c in value if c.isalnum()).upper()
    if len(hexes) != 12 or any(c not in "0123456789ABCDEF" for c in hexes):
        return None
    return "-".join(hexes[i : i + 2] for i in range(0, 12, 2))


def meter_device(
    patient_id: str, device: Mapping[str, Any], refs: References = LOCAL
) -> dict[str, Any] | None:
    """The Device for the meter named in a reading's ``device`` (``{"profile", "address",
    "model", …}``), one per patient and meter; None when it names none (a typed value)."""
    device_id = meter_device_id(patient_id, device)
    if device_id is None:
        return None
    identifiers: list[dict[str, Any]] = [{"system": DEVICE_SYSTEM, "value": device_id}]
    address = device.get("address")
    if isinstance(address, str) and address:
        mac = _mac(address)
        if mac is not None:
            identifiers.append(
                {
                    "type": {"coding": [{"system": PHD_DEVICE_IDS, "code": "BTMAC"}]},
                    "system": BLUETOOTH_MAC_SYSTEM,
                    "value": mac,
                }
            )
        else:
            identifiers.append({"system": "urn:dho:device-address", "value": address})
    system_id = device.get("system_id")
    if isinstance(system_id, str) and system_id:
        identifiers.append(
            {
                "type": {"coding": [{"system": PHD_DEVICE_IDS, "code": "SYSID"}]},
                "system": EUI64_SYSTEM,
                "value": system_id,
            }
        )
    serial = device.get("serial_number") or device.get("serial")
    resource: dict[str, Any] = {"resourceType": "Device", "id": device_id}
    if isinstance(serial, str) and serial:
        identifiers.append(
            {
                "type": {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": "SNO"}]},
                "value": serial,
            }
        )
    resource["identifier"] = identifiers
    resource["status"] = "active"
    manufacturer = device.get("manufacturer")
    if isinstance(manufacturer, str) and manufacturer:
        resource["manufacturer"] = manufacturer
    if isinstance(serial, str) and serial:
        resource["serialNumber"] = serial
    model = device.get("model")
    if isinstance(model, str) and model:
        resource["deviceName"] = [{"name": model, "type": "model-name"}]
        resource["modelNumber"] = model
    resource["type"] = _PHD_TYPE
    profile = device.get("profile")
    if isinstance(profile, str) and profile in SPECIALIZATION:
        code, display = SPECIALIZATION[profile]
        resource["specialization"] = [
            {"systemType": {"coding": [{"system": MDC, "code": code}], "text": display}}
        ]
    firmware = device.get("firmware")
    if isinstance(firmware, str) and firmware:
        resource["version"] = [
            {
                "type": {
                    "coding": [{"system": MDC, "code": "531976"}],
                    "text": "MDC_ID_PROD_SPEC_FW: Firmware revision",
                },
                "value": firmware,
            }
        ]
    resource["patient"] = refs.patient(patient_id)
    return resource


def gateway_device(gateway: GatewaySource, refs: References = LOCAL) -> dict[str, Any]:
    """The Device for a patient's gateway (hub or app): DHO's id, active until revoked,
    online or not (its last status message)."""
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": gateway_device_id(gateway.id),
        "identifier": [
            {"system": DEVICE_SYSTEM, "value": gateway_device_id(gateway.id)},
            {"system": GATEWAY_SYSTEM, "value": gateway.id},
        ],
        "status": "inactive" if gateway.revoked_at is not None else "active",
        "deviceName": [{"name": "DHO gateway", "type": "user-friendly-name"}],
        "type": _GATEWAY_TYPE,
        "property": [
            {
                "type": {"text": "online"},
                "valueCode": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0136",
                                "code": "Y" if gateway.online else "N",
                            }
                        ]
                    }
                ],
            }
        ],
    }
    version = gateway.status.get("version")
    if isinstance(version, str) and version:
        resource["version"] = [{"type": {"text": "software"}, "value": version}]
    if gateway.patient_id is not None:
        resource["patient"] = refs.patient(gateway.patient_id)
    return resource
