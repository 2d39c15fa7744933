"""Where a device's bytes become an outbox message: decode, build the payload, keep it durably.

Called from the BLE side for every measurement value; never raises for what a device sent. A
value that cannot be decoded, or holds no reading (a control-solution test), or whose payload
the service's contract would refuse (``gateway.contract``: over 64 KiB, or not the schema), is
logged with the device, the characteristic and the bytes in hex — an operator can find it — and
counted; it is never published as a reading and never stops the gateway.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import devices
from devices.measurement import Measurement
from gateway.contract import ContractError, check_message
from gateway.outbox import Channel, Outbox, OutboxFullError
from gateway.payloads import (
    READING_SCHEMA,
    DeviceRef,
    NotAReadingError,
    call_request_payload,
    message_read_payload,
    reading_payload,
    report_payload,
)

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    KEPT = "kept"  # written to the outbox
    ALREADY_KEPT = "already_kept"  # the same measurement again (same id): kept once
    NOT_A_READING = "not_a_reading"
    UNDECODABLE = "undecodable"
    OUTBOX_FULL = "outbox_full"
    REFUSED = "refused"  # the service's contract would refuse it: not kept, logged


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: Outcome
    measurement: Measurement | None = None
    message_id: str | None = None


class Recorder:
    """Turns device values into outbox messages for one hub."""

    def __init__(self, outbox: Outbox, zone: ZoneInfo, clock: Callable[[], datetime]) -> None:
        self.outbox = outbox
        self.zone = zone
        self.clock = clock
        self.counts: Counter[Outcome] = Counter()

    def record(self, device: DeviceRef, characteristic: int, raw: bytes) -> Recorded:
        """Decode ``raw`` from ``device``'s ``characteristic`` and keep the reading."""
        result = self._record(device, characteristic, bytes(raw))
        self.counts[result.outcome] += 1
        return result

    def _record(self, device: DeviceRef, characteristic: int, raw: bytes) -> Recorded:
        context = {"device": device.address, "characteristic": f"{characteristic:#06x}"}
        try:
            measurement = devices.decode(characteristic, raw)
        except devices.DecodeError as err:
            log.warning(
                "undecodable value from %s (%s): %s; bytes %s",
                device.address,
                device.profile,
                err,
                raw.hex(),
                extra=context,
            )
            return Recorded(Outcome.UNDECODABLE)
        now = self.clock()
        try:
            payload = reading_payload(
                measurement,
                characteristic=characteristic,
                raw=raw,
                device=device,
                received_at=now,
                zone=self.zone,
            )
        except NotAReadingError as err:
            log.info("not a reading from %s: %s", device.address, err, extra=context)
            return Recorded(Outcome.NOT_A_READING, measurement)
        message_id = str(payload["id"])
        body = _json(payload)
        try:
            check_message(Channel.READINGS.value, body)
            added = self.outbox.add(
                Channel.READINGS,
                message_id,
                body,
                now,
                kind=str(payload["kind"]),
                at=datetime.fromisoformat(str(payload["measured_at"])),
            )
        except OutboxFullError as err:
            log.error("reading from %s not kept: %s", device.address, err, extra=context)
            return Recorded(Outcome.OUTBOX_FULL, measurement, message_id)
        except ContractError as err:
            log.error(
                "reading from %s not kept: the service would refuse it (%s: %s); bytes %s",
                device.address,
                err.reason_code,
                err.reason,
                raw.hex(),
                extra={**context, "reason_code": err.reason_code},
            )
            return Recorded(Outcome.REFUSED, measurement, message_id)
        return Recorded(Outcome.KEPT if added else Outcome.ALREADY_KEPT, measurement, message_id)

    def report(
        self,
        message_id: str,
        questionnaire: str,
        answers: dict[str, str | int | bool],
        answered_at: datetime | None = None,
    ) -> bool:
        """Keep questionnaire answers given on the tablet, now or at ``answered_at`` (answers
        the tablet kept while the gateway was off); False: this id is already kept. Raises
        :class:`~gateway.contract.ContractError` for answers the service would refuse (over
        64 KiB, or not the contract's shape): they are not kept."""
        now = self.clock()
        when = now if answered_at is None else answered_at
        payload = report_payload(message_id, questionnaire, answers, when.astimezone(self.zone))
        body = _json(payload)
        check_message(Channel.REPORTS.value, body)
        return self.outbox.add(Channel.REPORTS, message_id, body, now, kind=questionnaire, at=when)

    def typed_reading(self, message_id: str, kind: str, values: dict[str, float]) -> bool:
        """Keep a reading the patient typed on the tablet (``"entry": "typed"``, the device
        ``{"profile": kind, "model": "manual", "address": null}``), measured now. Raises
        :class:`~gateway.contract.ContractError` for one the service would refuse."""
        now = self.clock()
        local = now.astimezone(self.zone).isoformat()
        payload: dict[str, object] = {
            "schema": READING_SCHEMA,
            "id": message_id,
            "kind": kind,
            "measured_at": local,
            "received_at": local,
            "values": values,
            "device": {"profile": kind, "model": "manual", "address": None},
            "entry": "typed",
        }
        body = _json(payload)
        check_message(Channel.READINGS.value, body)
        return self.outbox.add(Channel.READINGS, message_id, body, now, kind=kind, at=now)

    def call_request(self, message_id: str) -> bool:
        """Keep a "ring meg" request (``dho.call-request/1``), asked now."""
        now = self.clock()
        payload = call_request_payload(message_id, now.astimezone(self.zone))
        body = _json(payload)
        check_message(Channel.CALLS.value, body)
        return self.outbox.add(Channel.CALLS, message_id, body, now, kind="call_request", at=now)

    def message_read(self, message_id: str, read_message: str) -> bool:
        """Keep the read receipt (``dho.message-read/1``) of the nurse's message
        ``read_message``, read now."""
        now = self.clock()
        payload = message_read_payload(message_id, read_message, now.astimezone(self.zone))
        body = _json(payload)
        check_message(Channel.MESSAGE_READS.value, body)
        return self.outbox.add(
            Channel.MESSAGE_READS,
            message_id,
            body,
            now,
            kind=f"message_read:{read_message}",
            at=now,
        )


def _json(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
