"""Logical ids of the FHIR resources made from DHO's rows, and the identifier systems.

Every resource id comes from :func:`logical_id`, so the REST API, the bulk export and the
journal write-back name the same row the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

#: FHIR R4 ``id``: 1–64 of A–Z, a–z, 0–9, "-" and "."
_VALID_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NOT_ID_CHARS = re.compile(r"[^A-Za-z0-9]")

#: identifier systems (DHO's own ids are URNs under urn:dho:; the OIDs are Norway's)
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"  # fødselsnummer
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"  # HPR-nummer (Helsepersonellregisteret)
READING_SYSTEM = "urn:dho:reading"
REPORT_SYSTEM = "urn:dho:report"
ALERT_SYSTEM = "urn:dho:alert"
ALERT_NOTE_SYSTEM = "urn:dho:alert-note"
PATIENT_SYSTEM = "urn:dho:patient"
PLAN_SYSTEM = "urn:dho:plan"
GATEWAY_SYSTEM = "urn:dho:gateway"
USER_SYSTEM = "urn:dho:user"
#: a Device by its logical id (how a journal Bundle names a Device it does not hold)
DEVICE_SYSTEM = "urn:dho:device"
#: a CarePlan by its logical id (the same, for the plan version a reading was triaged by)
CAREPLAN_SYSTEM = "urn:dho:careplan"
#: PHD IG device identifiers: a Bluetooth MAC (EUI-48) and the IEEE EUI-64 system id
BLUETOOTH_MAC_SYSTEM = "http://hl7.org/fhir/sid/eui-48/bluetooth"
EUI64_SYSTEM = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"


@lru_cache(maxsize=65536)
def logical_id(source_id: str, part: str | None = None) -> str:
    """A valid FHIR id for DHO's ``source_id`` (and ``part``: "pulse" for the heart-rate
    Observation split from a BP reading, "score" for a report's score Observation, …).

    The id itself (``<id>.<part>`` with a part) when that is a valid FHIR id; otherwise a
    stable hash form ``h.<40 hex>`` (SHA-256 of both, cut), the same on every call.
    """
    candidate = source_id if part is None else f"{source_id}.{part}"
    if _VALID_ID.fullmatch(candidate):
        return candidate
    digest = hashlib.sha256(f"{source_id}\x00{part or ''}".encode()).hexdigest()
    return f"h.{digest[:40]}"


#: the ``model`` of a value the patient typed on the tablet (dho.reading/1): no meter
TYPED_MODEL = "manual"


def meter_key(device: Mapping[str, Any]) -> str | None:
    """What tells one meter from another in a reading's ``device``: its Bluetooth address,
    else a serial number, else (a meter that names no address, as the simulator's) its
    profile and model; None for a typed value (``"model": "manual"``) or a meter named by
    nothing."""
    for key in ("address", "serial_number", "serial", "system_id"):
        value = device.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    model, profile = device.get("model"), device.get("profile")
    if isinstance(model, str) and model.strip() and model != TYPED_MODEL:
        return f"{profile}-{model}".upper() if isinstance(profile, str) else model.upper()
    return None


def meter_device_id(patient_id: str, device: Mapping[str, Any]) -> str | None:
    """The Device id of the meter in a reading's ``device`` (one per patient and meter), or
    None when the reading names no meter (typed by the patient)."""
    key = meter_key(device)
    if key is None:
        return None
    return logical_id(patient_id, "meter-" + _NOT_ID_CHARS.sub("", key))


def gateway_device_id(gateway_id: str) -> str:
    """The Device id of a gateway (hub or app)."""
    return logical_id(gateway_id, "gateway")
