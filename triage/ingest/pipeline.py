"""The ingest pipeline, shared by MQTT and HTTP: a batch of incoming messages in, one outcome
per message out.

For each message: validate the payload (:mod:`triage.ingest.schemas`) → find the gateway from
the *topic* and its patient from the gateway's registration (never from the payload) → dedupe
on the message id (the tables' primary key, and within the batch) → plausibility → classify with
the patient's active plan version and history (loaded once per batch; earlier items of the same
batch count, in time order) → write the rows and the alert changes. :func:`process_batch` does
all of that in the caller's transaction and never commits; :func:`store` commits (retrying a
clash with a concurrent worker) and counts the outcomes. Only after that commit may a message
be acknowledged and its receipt sent.

Bad input never stops the service and is never silently dropped: each rejected message becomes
a dead letter (reason code, reason, raw payload, topic) in the same transaction, and an outcome
that the gateway's receipt reports.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import JSON, Table, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import Alert, AlertChange, decide
from triage.domain.classify import (
    Classification,
    GrowingHistory,
    ImplausibleReadingError,
    classify,
    classify_report,
    history_window,
)
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding
from triage.domain.plan import PlanVersion
from triage.domain.questionnaires import QuestionnaireError, get_questionnaire, score
from triage.domain.readings import Reading, Report, check_plausibility, gateway_clock_is_behind
from triage.ingest import wire
from triage.ingest.history_cache import Entry, HistoryCache, make_entry
from triage.ingest.schemas import (
    CallRequestPayload,
    MessageReadPayload,
    ReadingPayload,
    ReportPayload,
    StatusPayload,
)
from triage.ingest.wire import echoable_id, recover_id
from triage.storage import repositories
from triage.storage.models import (
    CallRequestRow,
    GatewayRow,
    MessageReadRow,
    PatientMessageRow,
    PatientRow,
    ReadingRow,
    ReportRow,
)

log = logging.getLogger(__name__)

TOPIC_ROOT = "dho/v1"
#: Larger payloads are refused unread (a reading is ~300 bytes); the dead letter keeps them.
MAX_PAYLOAD_BYTES = 64 * 1024
#: How many plan versions a worker keeps parsed (an approved version never changes): ~100 MiB.
PLAN_CACHE_SIZE = 5000

#: The tables written on the hot path, as Core tables (bulk executemany, no ORM unit of work).
READINGS = cast(Table, ReadingRow.__table__)
REPORTS = cast(Table, ReportRow.__table__)
GATEWAYS = cast(Table, GatewayRow.__table__)


class Channel(StrEnum):
    """The last topic segment: what kind of message it is."""

    READINGS = "readings"
    REPORTS = "reports"
    STATUS = "status"
    CALLS = "calls"  # dho.call-request/1: "ring meg"
    MESSAGE_READS = "message-reads"  # dho.message-read/1


#: Channels whose messages are small patient requests, not clinical data: stored once per id,
#: receipted, never classified (:meth:`_Batch._store_requests`).
REQUEST_CHANNELS = frozenset({Channel.CALLS, Channel.MESSAGE_READS})


class OutcomeStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    APPLIED = "applied"  # a gateway status message


class Flag(StrEnum):
    """Data-quality flags on a stored reading or report (``ReadingRow.flags``, receipts)."""

    DEVICE_CLOCK_AHEAD = "device_clock_ahead"
    GATEWAY_CLOCK_AHEAD = "gateway_clock_ahead"
    #: The gateway says it received the value before the device measured it, and the device's
    #: time agrees with the service's clock: the gateway's clock runs behind.
    GATEWAY_CLOCK_BEHIND = "gateway_clock_behind"
    BACKFILL = "backfill"
    NO_PLAN = "no_plan"
    #: The device's clock was unset or wrong; the gateway timed it on receipt (DESIGN.md, Time).
    TIMED_BY_GATEWAY = "timed_by_gateway"
    #: The patient typed the value on the tablet (``"entry": "typed"``), no device measured it.
    PATIENT_TYPED = "patient_typed"


class Reason(StrEnum):
    """Why a message was rejected: the dead letter's ``reason_code`` and the receipt's."""

    BAD_TOPIC = "bad_topic"
    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    SCHEMA = "schema"
    UNKNOWN_GATEWAY = "unknown_gateway"
    GATEWAY_REVOKED = "gateway_revoked"
    GATEWAY_UNBOUND = "gateway_unbound"
    PATIENT_DISCHARGED = "patient_discharged"
    ID_CONFLICT = "id_conflict"
    IMPLAUSIBLE = "implausible"
    QUESTIONNAIRE = "questionnaire"
    #: A dho.message-read/1 naming a message that is not this patient's.
    UNKNOWN_MESSAGE = "unknown_message"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as received: the topic (``dho/v1/{gateway_id}/readings|reports|status``,
    without any deployment prefix), the raw payload, and where it came from. For HTTP the
    caller authenticates the gateway and passes ``dho/v1/{gateway_id}/readings``."""

    topic: str
    payload: bytes
    source: Literal["mqtt", "http"] = "mqtt"
    retained: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message. ``receipt`` says whether its gateway is told (the gateway
    is registered and not revoked, and the message was a reading or a report)."""

    gateway_id: str | None
    message_id: str | None
    channel: Channel | None
    status: OutcomeStatus
    reason_code: str | None = None
    reason: str | None = None
    colour: Colour | None = None
    advice: Text | None = None
    flags: tuple[str, ...] = ()
    receipt: bool = False


class PlanCache(OrderedDict[tuple[str, int], PlanVersion]):
    """Parsed plan versions by (plan id, version), the least recently used dropped beyond
    ``maxsize`` (a parsed template plan takes ~20 KiB)."""

    def __init__(self, maxsize: int = PLAN_CACHE_SIZE) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: tuple[str, int], default: Any = None) -> Any:
        if key in self:
            self.move_to_end(key)
            return super().__getitem__(key)
        return default

    def __setitem__(self, key: tuple[str, int], value: PlanVersion) -> None:
        super().__setitem__(key, value)
        while len(self) > self.maxsize:
            self.popitem(last=False)


# ----------------------------------------------------------------------------- counters


class Counters:
    """In-process counters of outcomes (metrics come later); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Count committed outcomes: received, stored/duplicate/rejected per channel and reason."""
        counts: Counter[str] = Counter()
        for outcome in outcomes:
            counts["received"] += 1
            counts[outcome.status.value] += 1
            if outcome.channel is not None and outcome.status is not OutcomeStatus.REJECTED:
                counts[f"{outcome.status.value}.{outcome.channel.value}"] += 1
            if outcome.reason_code:
                counts[f"rejected.{outcome.reason_code}"] += 1
            for flag in outcome.flags:
                counts[f"flag.{flag}"] += 1
        with self._lock:
            self._counts.update(counts)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


#: The process's ingest counters (both MQTT and HTTP count here).
COUNTERS = Counters()


def stats() -> dict[str, int]:
    """The process's ingest counters: ``received``, ``stored``, ``duplicate``, ``rejected``,
    ``rejected.<reason_code>``, ``stored.readings``, ``flag.backfill``, …"""
    return COUNTERS.snapshot()


# ----------------------------------------------------------------------------- topics


def parse_topic(topic: str) -> tuple[str, Channel] | None:
    """``(gateway_id, channel)`` of ``dho/v1/{gateway_id}/{channel}``; None for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT:
        return None
    gateway_id, channel = parts[2], parts[3]
    if not gateway_id or len(gateway_id) > 64 or gateway_id in ("+", "#"):
        return None
    try:
        return gateway_id, Channel(channel)
    except ValueError:
        return None


def topic_for(gateway_id: str, channel: Channel | Literal["receipts", "tablet"]) -> str:
    return f"{TOPIC_ROOT}/{gateway_id}/{channel}"


# ----------------------------------------------------------------------------- the batch


@dataclass(slots=True)
class _Work:
    """One message on its way through the batch."""

    index: int
    incoming: Incoming
    gateway_id: str | None = None
    channel: Channel | None = None
    payload: ReadingPayload | ReportPayload | StatusPayload | _RequestPayload | None = None
    message_id: str | None = None
    outcome: Outcome | None = None
    receipt: bool = False
    patient_id: str | None = None
    timezone: str = "Europe/Oslo"
    received_at: datetime | None = None
    classified_at: datetime | None = None
    flags: list[str] = field(default_factory=list)
    duplicate_of: _Work | None = None
    score: int | None = None
    row: dict[str, Any] | None = None


class _Binding:
    """A gateway's registration as ingest needs it (one Core query per batch, no ORM)."""

    __slots__ = ("patient_id", "patient_state", "revoked", "timezone")

    def __init__(
        self, patient_id: str | None, revoked: bool, patient_state: str | None, timezone: str
    ) -> None:
        self.patient_id = patient_id
        self.revoked = revoked
        self.patient_state = patient_state
        self.timezone = timezone


def process_batch(
    session: Session,
    messages: Sequence[Incoming],
    settings: Settings,
    now: datetime,
    *,
    plans: PlanCache | None = None,
) -> list[Outcome]:
    """Validate, dedupe, classify and write ``messages`` in ``session``'s transaction; one
    :class:`Outcome` per message, in order. Never commits: the caller commits, then
    acknowledges, then sends the receipts (see :func:`store`). ``now`` is the service's
    receive time; ``plans`` is the worker's plan cache."""
    return _Batch(session, settings, now, plans, None).run(messages)


class _Batch:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        now: datetime,
        plans: PlanCache | None,
        histories: HistoryCache | None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.plans_cache = plans
        self.histories = histories if histories is not None else HistoryCache()
        #: Each classified patient's history including this batch's rows: for the cache, once
        #: the batch has committed.
        self.history_after: dict[str, Entry] = {}
        self.tolerance = timedelta(seconds=settings.clock_ahead_tolerance_s)
        self.behind_tolerance = timedelta(seconds=settings.clock_behind_tolerance_s)
        self.backfill_before = now - timedelta(hours=settings.backfill_after_h)
        self.dead_letters: list[_Work] = []

    # --- the steps, in order

    def run(self, messages: Sequence[Incoming]) -> list[Outcome]:
        works = [self._parse(_Work(i, m)) for i, m in enumerate(messages)]
        self._resolve_gateways(works)
        statuses = [w for w in works if w.outcome is None and w.channel is Channel.STATUS]
        self._store_requests(
            [w for w in works if w.outcome is None and w.channel in REQUEST_CHANNELS]
        )
        items = [
            w
            for w in works
            if w.outcome is None
            and w.channel is not Channel.STATUS
            and w.channel not in REQUEST_CHANNELS
        ]
        self._dedupe(items)
        stored_before = [w for w in items if w.duplicate_of is w]
        items = [w for w in items if w.outcome is None and w.duplicate_of is None]
        self._check(items)
        items = [w for w in items if w.outcome is None]
        patients = {w.patient_id for w in [*items, *stored_before] if w.patient_id}
        plans = repositories.active_plans(self.session, patients, self.plans_cache)
        findings = self._classify(items, plans)
        self._write(works, items, findings, statuses)
        self._finish_duplicates(works, plans)
        outcomes = []
        for work in works:
            assert work.outcome is not None  # noqa: S101 - every step sets one or passes on
            outcomes.append(work.outcome)
        return outcomes

    def _parse(self, work: _Work) -> _Work:
        incoming = work.incoming
        parsed = parse_topic(incoming.topic)
        if parsed is None:
            return self._reject(work, Reason.BAD_TOPIC, f"not a dho/v1 topic: {incoming.topic!r}")
        work.gateway_id, work.channel = parsed
        if work.channel is Channel.STATUS and not incoming.payload:
            # an empty retained message clears the gateway's status on the broker: nothing to do
            work.outcome = Outcome(work.gateway_id, None, work.channel, OutcomeStatus.APPLIED)
            return work
        if len(incoming.payload) > MAX_PAYLOAD_BYTES:
            work.message_id = recover_id(incoming.payload)
            return self._reject(
                work,
                Reason.TOO_LARGE,
                f"payload of {len(incoming.payload)} bytes (at most {MAX_PAYLOAD_BYTES})",
            )
        model = _MODELS[work.channel]
        try:
            data = wire.decode(incoming.payload)
        except wire.WireError as err:
            work.message_id = recover_id(incoming.payload)
            if err.kind == "malformed_json":
                return self._reject(work, Reason.MALFORMED_JSON, str(err))
            return self._reject(work, Reason.SCHEMA, f"not a valid {_SCHEMA_NAMES[model]}: {err}")
        try:
            payload = model.model_validate_json(incoming.payload)
        except ValidationError as err:
            errors = err.errors(include_url=False)
            if any(e["type"] == "json_invalid" for e in errors):
                return self._reject(work, Reason.MALFORMED_JSON, f"not JSON: {errors[0]['msg']}")
            work.message_id = echoable_id(data.get("id")) if isinstance(data, dict) else None
            return self._reject(work, Reason.SCHEMA, _describe(errors, model))
        work.payload = payload
        if not isinstance(payload, StatusPayload):
            work.message_id = payload.id
        return work

    def _resolve_gateways(self, works: list[_Work]) -> None:
        ids = {w.gateway_id for w in works if w.gateway_id}
        bindings = _bindings(self.session, ids)
        for work in works:
            if work.gateway_id is None:
                continue
            binding = bindings.get(work.gateway_id)
            known = binding is not None and not binding.revoked
            work.receipt = known and work.channel is not Channel.STATUS
            if work.outcome is not None:  # already rejected: the receipt says so when known
                work.outcome = _with_receipt(work.outcome, work.receipt)
                continue
            if binding is None:
                self._reject(work, Reason.UNKNOWN_GATEWAY, f"no gateway {work.gateway_id!r}")
            elif binding.revoked:
                self._reject(work, Reason.GATEWAY_REVOKED, f"gateway {work.gateway_id} is revoked")
            elif work.channel is Channel.STATUS:
                continue
            elif binding.patient_id is None:
                self._reject(
                    work,
                    Reason.GATEWAY_UNBOUND,
                    f"gateway {work.gateway_id} is not bound to a patient",
                )
            elif binding.patient_state == "discharged":
                self._reject(
                    work,
                    Reason.PATIENT_DISCHARGED,
                    f"the patient of gateway {work.gateway_id} is discharged",
                )
            else:
                work.patient_id = binding.patient_id
                work.timezone = binding.timezone

    def _dedupe(self, items: list[_Work]) -> None:
        stored: dict[Channel, dict[str, tuple[str, str | None, list[Any]]]] = {}
        for channel, table in ((Channel.READINGS, ReadingRow), (Channel.REPORTS, ReportRow)):
            ids = {w.message_id for w in items if w.channel is channel and w.message_id}
            stored[channel] = _stored(self.session, table, ids)
        first: dict[tuple[Channel, str], _Work] = {}
        for work in items:
            channel, message_id = cast(Channel, work.channel), cast(str, work.message_id)
            key = (channel, message_id)
            earlier = stored[channel].get(message_id)
            if earlier is not None:
                gateway_id, colour, flags = earlier
                if gateway_id != work.gateway_id:
                    self._reject(work, Reason.ID_CONFLICT, _conflict(work))
                else:
                    work.duplicate_of = work
                    work.outcome = Outcome(
                        gateway_id=work.gateway_id,
                        message_id=work.message_id,
                        channel=work.channel,
                        status=OutcomeStatus.DUPLICATE,
                        colour=Colour(colour) if colour else None,
                        flags=tuple(str(f) for f in flags or ()),
                        receipt=work.receipt,
                    )
            elif key in first:
                if first[key].gateway_id != work.gateway_id:
                    self._reject(work, Reason.ID_CONFLICT, _conflict(work))
                else:
                    work.duplicate_of = first[key]
            else:
                first[key] = work

    def _check(self, items: list[_Work]) -> None:
        """Plausibility, questionnaire answers, and the times: clock ahead, backfill."""
        for work in items:
            payload = work.payload
            if isinstance(payload, ReadingPayload):
                problems = check_plausibility(payload.kind, payload.values)
                if problems:
                    self._reject(work, Reason.IMPLAUSIBLE, "; ".join(p.message for p in problems))
                    continue
                stamped = payload.measured_at
                if payload.device.get("time_source") == "gateway":
                    work.flags.append(Flag.TIMED_BY_GATEWAY)
                    own = _device_time(payload.device)
                    if (
                        own is not None
                        and payload.received_at is not None
                        and gateway_clock_is_behind(
                            own, payload.received_at, self.now, self.behind_tolerance
                        )
                    ):
                        # the hub found a device "ahead" that agrees with our clock: the hub
                        # is behind; judge the reading by the device's time (flagged in _times)
                        stamped = own
                if payload.entry == "typed":
                    work.flags.append(Flag.PATIENT_TYPED)
            else:
                assert isinstance(payload, ReportPayload)  # noqa: S101 - items are data
                try:
                    work.score = score(
                        get_questionnaire(payload.questionnaire), payload.answers
                    ).total
                except QuestionnaireError as err:
                    self._reject(work, Reason.QUESTIONNAIRE, str(err))
                    continue
                stamped = payload.answered_at
            self._times(work, stamped, payload.received_at)

    def _times(self, work: _Work, stamped: datetime, gateway_received: datetime | None) -> None:
        now = self.now
        work.received_at = gateway_received or now
        if work.received_at > now + self.tolerance:
            work.flags.append(Flag.GATEWAY_CLOCK_AHEAD)
        reference = min(work.received_at, now)  # never later than our own clock
        if gateway_received is not None and gateway_clock_is_behind(
            stamped, gateway_received, now, self.behind_tolerance
        ):
            # the device's time agrees with ours: classify at it, not at the gateway's
            work.flags.append(Flag.GATEWAY_CLOCK_BEHIND)
            work.classified_at = min(stamped, now)
        elif stamped > reference + self.tolerance:
            work.flags.append(Flag.DEVICE_CLOCK_AHEAD)
            work.classified_at = reference
        else:
            work.classified_at = min(stamped, now)
        if work.classified_at < self.backfill_before:
            work.flags.append(Flag.BACKFILL)

    def _classify(
        self, items: list[_Work], plans: Mapping[str, PlanVersion]
    ) -> dict[str, list[Finding]]:
        """Classify every item in time order per patient; returns the findings that may change
        alerts (backfill findings are history only)."""
        by_patient: dict[str, list[_Work]] = defaultdict(list)
        for work in items:
            assert work.patient_id is not None  # noqa: S101 - resolved above
            if work.patient_id not in plans:
                work.flags.append(Flag.NO_PLAN)
            by_patient[work.patient_id].append(work)
        needs: dict[str, datetime] = {}
        windows: dict[int, timedelta] = {}
        for patient_id, works in by_patient.items():
            plan = plans.get(patient_id)
            if plan is None:
                continue
            window = windows.get(id(plan))
            if window is None:
                window = windows[id(plan)] = history_window(plan)
            earliest = min(cast(datetime, w.classified_at) for w in works)
            needs[patient_id] = earliest - window
        entries = self.histories.load(self.session, needs) if needs else {}
        alerting: dict[str, list[Finding]] = {}
        for patient_id, works in by_patient.items():
            plan = plans.get(patient_id)
            entry = entries.get(patient_id)
            history = GrowingHistory(entry.history() if entry else None)
            works.sort(key=lambda w: (w.classified_at, w.index))
            found: list[Finding] = []
            for work in works:
                result = self._classify_one(work, plan, history) if plan else None
                if work.outcome is not None:
                    continue  # rejected while classifying
                self._stage_row(work, plan, result)
                if result is not None and Flag.BACKFILL not in work.flags:
                    found.extend(result.findings)
            if found:
                alerting[patient_id] = found
            if entry is not None:
                self.history_after[patient_id] = _entry_after(
                    history, entry, self.histories.per_patient
                )
        return alerting

    def _classify_one(
        self, work: _Work, plan: PlanVersion, history: GrowingHistory
    ) -> Classification | None:
        payload = work.payload
        at = work.classified_at
        assert at is not None  # noqa: S101 - set by _times
        try:
            if isinstance(payload, ReadingPayload):
                reading = Reading.model_construct(
                    id=payload.id, kind=payload.kind, measured_at=at, values=payload.values
                )
                result = classify(reading, plan, history.value(), self.now)
                history.add_reading(reading, result.findings)
            else:
                assert isinstance(payload, ReportPayload)  # noqa: S101
                report = Report.model_construct(
                    id=payload.id,
                    questionnaire=payload.questionnaire,
                    answered_at=at,
                    answers=payload.answers,
                )
                result = classify_report(report, plan, history.value(), self.now)
                history.add_report(report, result.findings)
        except ImplausibleReadingError as err:
            self._reject(work, Reason.IMPLAUSIBLE, str(err))
            return None
        except QuestionnaireError as err:
            self._reject(work, Reason.QUESTIONNAIRE, str(err))
            return None
        except Exception as err:  # a bug must not stop ingest: the message is kept
            log.exception("classification failed", extra={"message_id": work.message_id})
            self._reject(work, Reason.INTERNAL_ERROR, f"classification failed: {err!r}")
            return None
        return result

    def _stage_row(
        self, work: _Work, plan: PlanVersion | None, result: Classification | None
    ) -> None:
        """The row to insert and the stored outcome (colour and advice for the receipt)."""
        colour = result.colour if result is not None and result.findings else None
        backfill = Flag.BACKFILL in work.flags
        advice = plan.actions[colour].patient if plan and colour and not backfill else None
        findings = [f.model_dump(mode="json") for f in result.findings] if result else []
        common: dict[str, Any] = {
            "id": work.message_id,
            "patient_id": work.patient_id,
            "gateway_id": work.gateway_id,
            "received_at": work.received_at,
            "stored_at": self.now,
            "plan_id": plan.plan_id if plan and result else None,
            "plan_version": plan.version if plan and result else None,
            "colour": colour.value if colour else None,
            "findings": findings,
            "flags": list(work.flags),
        }
        payload = work.payload
        if isinstance(payload, ReadingPayload):
            common.update(
                kind=payload.kind.value,
                values=payload.values,
                device=payload.device,
                measured_at=payload.measured_at,
                classified_at=work.classified_at,
                timezone=work.timezone,
            )
        else:
            assert isinstance(payload, ReportPayload)  # noqa: S101
            common.update(
                questionnaire=payload.questionnaire,
                answered_at=payload.answered_at,
                answers=payload.answers,
                score=work.score,
            )
        work.row = common
        work.outcome = Outcome(
            gateway_id=work.gateway_id,
            message_id=work.message_id,
            channel=work.channel,
            status=OutcomeStatus.STORED,
            colour=colour,
            advice=advice,
            flags=tuple(work.flags),
            receipt=work.receipt,
        )

    def _write(
        self,
        works: list[_Work],
        items: list[_Work],
        findings: dict[str, list[Finding]],
        statuses: list[_Work],
    ) -> None:
        session = self.session
        readings = [w.row for w in items if w.row is not None and w.channel is Channel.READINGS]
        reports = [w.row for w in items if w.row is not None and w.channel is Channel.REPORTS]
        if readings:
            _insert(session, READINGS, readings)
        if reports:
            _insert(session, REPORTS, reports)
        if findings:
            open_alerts = repositories.open_alerts(session, findings)
            touched: list[Alert] = []
            changes: list[AlertChange] = []
            for patient_id, patient_findings in findings.items():
                alerts = open_alerts.get(patient_id, [])
                patient_changes = decide(patient_id, alerts, patient_findings)
                if patient_changes:
                    touched += alerts
                    changes += patient_changes
            if changes:  # all patients at once: three statements for the whole batch
                repositories.apply_alert_changes(session, touched, changes)
        for work in statuses:
            self._apply_status(work)
        seen = {
            w.gateway_id
            for w in works
            if w.receipt and w.channel is not Channel.STATUS and w.gateway_id
        }
        if seen:
            session.execute(
                update(GATEWAYS)
                .where(
                    repositories.among(session, GATEWAYS.c.id, seen),
                    GATEWAYS.c.last_seen_at.is_(None) | (GATEWAYS.c.last_seen_at < self.now),
                )
                .values(last_seen_at=self.now)
            )
        for work in self.dead_letters:
            assert work.outcome is not None  # noqa: S101
            repositories.add_dead_letter(
                session,
                received_at=self.now,
                source=work.incoming.source,
                topic=work.incoming.topic[:255],
                gateway_id=work.gateway_id[:64] if work.gateway_id else None,
                message_id=work.message_id,
                reason_code=work.outcome.reason_code or Reason.INTERNAL_ERROR,
                reason=work.outcome.reason or "",
                payload=work.incoming.payload,
            )

    def _apply_status(self, work: _Work) -> None:
        payload = work.payload
        assert isinstance(payload, StatusPayload)  # noqa: S101
        values: dict[str, Any] = {"online": payload.online, "status": payload.model_dump()}
        if payload.online and not work.incoming.retained:
            values["last_seen_at"] = self.now
        self.session.execute(
            update(GATEWAYS).where(GATEWAYS.c.id == work.gateway_id).values(**values)
        )
        work.outcome = Outcome(
            gateway_id=work.gateway_id,
            message_id=None,
            channel=Channel.STATUS,
            status=OutcomeStatus.APPLIED,
        )

    def _finish_duplicates(self, works: list[_Work], plans: Mapping[str, PlanVersion]) -> None:
        """Duplicates answer like the original: its colour, flags and the plan's advice."""
        for work in works:
            original = work.duplicate_of
            if original is None:
                continue
            if original is not work:  # a copy within this batch answers like the first
                source = original.outcome
                assert source is not None  # noqa: S101 - the first copy went first
                rejected = source.status is OutcomeStatus.REJECTED  # its dead letter is kept
                work.outcome = Outcome(
                    gateway_id=work.gateway_id,
                    message_id=work.message_id,
                    channel=work.channel,
                    status=OutcomeStatus.REJECTED if rejected else OutcomeStatus.DUPLICATE,
                    reason_code=source.reason_code,
                    reason=source.reason,
                    colour=source.colour,
                    advice=source.advice,
                    flags=source.flags,
                    receipt=work.receipt,
                )
                continue
            outcome = work.outcome
            assert outcome is not None  # noqa: S101
            plan = plans.get(work.patient_id or "")
            if outcome.colour and plan and Flag.BACKFILL not in outcome.flags:
                work.outcome = Outcome(
                    gateway_id=outcome.gateway_id,
                    message_id=outcome.message_id,
                    channel=outcome.channel,
                    status=outcome.status,
                    colour=outcome.colour,
                    advice=plan.actions[outcome.colour].patient,
                    flags=outcome.flags,
                    receipt=outcome.receipt,
                )

    def _store_requests(self, works: list[_Work]) -> None:
        """Call requests and message reads: dedupe on the id (stored before, or earlier in
        the batch), check a read names one of the patient's messages, insert the row, set the
        message's ``read_at`` (the first read wins), and ask for the patient's tablet state to
        be published again (the tablet outbox, in this transaction)."""
        if not works:
            return
        session = self.session
        stored: dict[str, str] = {}
        for channel, table in (
            (Channel.CALLS, CallRequestRow),
            (Channel.MESSAGE_READS, MessageReadRow),
        ):
            ids = {w.message_id for w in works if w.channel is channel and w.message_id}
            if ids:
                rows = session.execute(
                    select(table.id, table.gateway_id).where(
                        repositories.among(session, table.id, ids)
                    )
                )
                stored.update({f"{channel}:{id_}": gw for id_, gw in rows})
        message_ids = {
            w.payload.message_id for w in works if isinstance(w.payload, MessageReadPayload)
        }
        owners = (
            dict(
                session.execute(
                    select(PatientMessageRow.id, PatientMessageRow.patient_id).where(
                        repositories.among(session, PatientMessageRow.id, message_ids)
                    )
                ).all()
            )
            if message_ids
            else {}
        )
        seen: dict[str, str | None] = {}  # earlier in this batch: key → its gateway
        touched: set[str] = set()
        for work in works:
            key = f"{work.channel}:{work.message_id}"
            earlier = stored.get(key, seen.get(key))
            if earlier is not None and earlier != work.gateway_id:
                self._reject(work, Reason.ID_CONFLICT, _conflict(work))
                continue
            if earlier is not None:
                work.outcome = Outcome(
                    gateway_id=work.gateway_id,
                    message_id=work.message_id,
                    channel=work.channel,
                    status=OutcomeStatus.DUPLICATE,
                    receipt=work.receipt,
                )
                continue
            payload = work.payload
            if isinstance(payload, MessageReadPayload):
                if owners.get(payload.message_id) != work.patient_id:
                    self._reject(
                        work,
                        Reason.UNKNOWN_MESSAGE,
                        f"no message {payload.message_id!r} for this gateway's patient",
                    )
                    continue
                session.add(
                    MessageReadRow(
                        id=payload.id,
                        message_id=payload.message_id,
                        gateway_id=work.gateway_id,
                        read_at=payload.read_at,
                        stored_at=self.now,
                    )
                )
                session.execute(
                    update(PatientMessageRow)
                    .where(
                        PatientMessageRow.id == payload.message_id,
                        PatientMessageRow.read_at.is_(None),
                    )
                    .values(read_at=payload.read_at)
                )
            else:
                assert isinstance(payload, CallRequestPayload)  # noqa: S101 - channel says so
                session.add(
                    CallRequestRow(
                        id=payload.id,
                        patient_id=work.patient_id,
                        gateway_id=work.gateway_id,
                        asked_at=payload.asked_at,
                        stored_at=self.now,
                    )
                )
            seen[key] = work.gateway_id
            touched.add(cast(str, work.patient_id))
            work.outcome = Outcome(
                gateway_id=work.gateway_id,
                message_id=work.message_id,
                channel=work.channel,
                status=OutcomeStatus.STORED,
                receipt=work.receipt,
            )
        for patient_id in sorted(touched):
            repositories.request_tablet_publish(session, patient_id, "patient_request", self.now)
        session.flush()

    # --- helpers

    def _reject(self, work: _Work, reason: Reason, text_: str) -> _Work:
        work.outcome = Outcome(
            gateway_id=work.gateway_id,
            message_id=work.message_id,
            channel=work.channel,
            status=OutcomeStatus.REJECTED,
            reason_code=reason.value,
            reason=text_,
            receipt=work.receipt,
        )
        self.dead_letters.append(work)
        log.info(
            "message rejected",
            extra={
                "reason_code": reason.value,
                "topic": work.incoming.topic,
                "gateway_id": work.gateway_id,
                "message_id": work.message_id,
                "source": work.incoming.source,
            },
        )
        return work


def _entry_after(history: GrowingHistory, loaded: Entry, per_patient: int) -> Entry:
    """The cache entry after this batch: ``loaded`` plus what the batch classified."""
    if not history.grown:
        return loaded
    return make_entry(
        loaded.since, history.readings, history.reports, history.findings, per_patient
    )


# ----------------------------------------------------------------------------- look-ups


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: COPY on PostgreSQL (~10x fewer client round trips and Python work than
    executemany), executemany elsewhere. Same transaction as everything else.

    COPY runs on the driver's own cursor, past SQLAlchemy, so its errors are wrapped here as
    SQLAlchemy wraps every other statement's (:class:`~sqlalchemy.exc.DBAPIError`, e.g. an
    ``IntegrityError`` when another worker stored the same id first): :func:`store` retries
    those, and a lost connection is marked invalid so the pool does not hand it out again."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    types = [table.c[name].type for name in columns]
    is_json = [isinstance(t, JSON) for t in types]
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    driver_error: type[Exception] = dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[name]) if json_ and row[name] is not None else row[name]
                        for name, json_ in zip(columns, is_json, strict=True)
                    ]
                )
    except driver_error as err:
        lost = dialect.is_disconnect(cast(Any, err), driver, None)
        if lost:
            connection.invalidate(err)
        raise DBAPIError.instance(
            statement, None, err, driver_error, connection_invalidated=lost, dialect=dialect
        ) from err


def _bindings(session: Session, ids: set[str]) -> dict[str, _Binding]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            GatewayRow.id,
            GatewayRow.patient_id,
            GatewayRow.revoked_at,
            PatientRow.state,
            PatientRow.timezone,
        )
        .outerjoin(PatientRow, PatientRow.id == GatewayRow.patient_id)
        .where(repositories.among(session, GatewayRow.id, ids))
    )
    return {
        gateway_id: _Binding(patient_id, revoked_at is not None, state, timezone or "Europe/Oslo")
        for gateway_id, patient_id, revoked_at, state, timezone in rows
    }


def _device_time(device: Mapping[str, Any]) -> datetime | None:
    """``device.device_time``: the device's own time that the gateway found too far ahead of
    its clock (docs/contracts/receipts.md, gateway_clock_behind); None when absent or not an
    ISO 8601 time with an offset."""
    raw = device.get("device_time")
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _stored(
    session: Session, table: type[ReadingRow] | type[ReportRow], ids: set[str]
) -> dict[str, tuple[str, str | None, list[Any]]]:
    """Ids already stored: their gateway, colour and flags."""
    if not ids:
        return {}
    rows = session.execute(
        select(table.id, table.gateway_id, table.colour, table.flags).where(
            repositories.among(session, table.id, ids)
        )
    )
    return {id_: (gateway_id, colour, flags) for id_, gateway_id, colour, flags in rows}


# ----------------------------------------------------------------------------- small pieces


def _with_receipt(outcome: Outcome, receipt: bool) -> Outcome:
    return outcome if outcome.receipt == receipt else replace(outcome, receipt=receipt)


def _describe(errors: Sequence[Any], model: type[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "(payload)"
        parts.append(f"{where}: {error['msg']}")
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"not a valid {_SCHEMA_NAMES.get(model, model.__name__)}: " + "; ".join(parts) + more


_RequestPayload = CallRequestPayload | MessageReadPayload

_MODELS: dict[Channel, type[Any]] = {
    Channel.READINGS: ReadingPayload,
    Channel.REPORTS: ReportPayload,
    Channel.STATUS: StatusPayload,
    Channel.CALLS: CallRequestPayload,
    Channel.MESSAGE_READS: MessageReadPayload,
}

_SCHEMA_NAMES: dict[type[Any], str] = {
    ReadingPayload: "dho.reading/1",
    ReportPayload: "dho.report/1",
    StatusPayload: "gateway status",
    CallRequestPayload: "dho.call-request/1",
    MessageReadPayload: "dho.message-read/1",
}


def _conflict(work: _Work) -> str:
    return f"id {work.message_id} was already used by another gateway"


# ----------------------------------------------------------------------------- committing


class DatabaseUnavailableError(RuntimeError):
    """The database did not answer; nothing was committed, so nothing may be acknowledged."""


def store(
    sessions: sessionmaker[Session],
    messages: Sequence[Incoming],
    settings: Settings,
    now: datetime,
    *,
    plans: PlanCache | None = None,
    histories: HistoryCache | None = None,
    before_commit: Callable[[Sequence[Incoming]], None] | None = None,
    counters: Counters = COUNTERS,
) -> list[Outcome]:
    """:func:`process_batch` in one transaction, committed; the outcomes are counted.
    ``plans`` and ``histories`` are the worker's caches; a batch's history is kept in
    ``histories`` only once it has committed.

    A batch that fails to commit (a concurrent worker stored the same id or opened the same
    alert first; a deadlock) is retried once — the retry sees the other worker's rows and
    answers "duplicate". If it fails again, or fails with anything but a database error, it is
    split in halves, each committed on its own and split again while it fails, down to single
    messages: one that still fails alone is dead-lettered as ``internal_error`` (and if even
    its dead letter cannot be stored, it is logged with its bytes and answered rejected), so one
    poison message never blocks the rest and never comes back. Raises
    :class:`DatabaseUnavailableError`, and nothing of the failed part is acknowledged, when
    the database cannot be reached. ``before_commit`` is a test hook, called with the batch
    before each commit.
    """
    failure: BaseException | None = None
    for attempt in (1, 2):
        try:
            outcomes = _commit(sessions, messages, settings, now, plans, histories, before_commit)
        except DBAPIError as err:
            _raise_if_unreachable(sessions, err)
            log.warning("ingest batch failed", extra={"attempt": attempt, "error": _first(err)})
            counters.add("commit_retries")
            failure = err
        except Exception as err:  # a bug, or a message that breaks it: find it, keep the rest
            _raise_if_unreachable(sessions, err)
            log.exception("ingest batch failed", extra={"attempt": attempt})
            failure = err
            break
        else:
            counters.record(outcomes)
            return outcomes
    counters.add("split_batches")
    split = _Split(sessions, settings, now, plans, histories, before_commit, counters)
    outcomes = split.failed(messages, failure)
    counters.record(outcomes)
    return outcomes


@dataclass
class _Split:
    """Commits the parts of a batch that failed as a whole: halves, then their halves, down to
    the one message that fails alone (about 2·log2(n) commits per poison message)."""

    sessions: sessionmaker[Session]
    settings: Settings
    now: datetime
    plans: PlanCache | None
    histories: HistoryCache | None
    before_commit: Callable[[Sequence[Incoming]], None] | None
    counters: Counters

    def failed(self, messages: Sequence[Incoming], err: BaseException | None) -> list[Outcome]:
        """Outcomes for ``messages``, which failed to commit together (with ``err``)."""
        if len(messages) == 1:
            self.counters.add("failed_alone")
            return [dead_letter_alone(self.sessions, messages[0], self.now, err, self.counters)]
        middle = len(messages) // 2
        return self._part(messages[:middle]) + self._part(messages[middle:])

    def _part(self, messages: Sequence[Incoming]) -> list[Outcome]:
        try:
            return self._commit_losing_races(messages)
        except Exception as err:
            _raise_if_unreachable(self.sessions, err)
            if len(messages) == 1:
                log.exception(
                    "message failed alone",
                    extra={
                        "topic": messages[0].topic,
                        "message_id": recover_id(messages[0].payload),
                    },
                )
            return self.failed(messages, err)

    def _commit_losing_races(self, messages: Sequence[Incoming]) -> list[Outcome]:
        """Commit ``messages``; a unique-key clash means a concurrent worker stored the same id
        (or opened the same alert) first, so the part is tried once more, and the retry sees the
        other worker's rows and answers "duplicate" — never a dead letter for a stored reading."""
        args = (self.settings, self.now, self.plans, self.histories, self.before_commit)
        try:
            return _commit(self.sessions, messages, *args)
        except IntegrityError:
            return _commit(self.sessions, messages, *args)


def dead_letter_alone(
    sessions: sessionmaker[Session],
    message: Incoming,
    now: datetime,
    err: BaseException | None,
    counters: Counters = COUNTERS,
) -> Outcome:
    """Keep a message that could not be stored as an ``internal_error`` dead letter, and answer
    it rejected. If even the dead letter cannot be stored (while the database answers), the
    message is logged at ERROR with its bytes (base64, the first 4 KiB) and still answered
    rejected: acknowledging it is better than a worker that retries it for ever."""
    parsed = parse_topic(message.topic)
    gateway_id, channel = parsed if parsed else (None, None)
    message_id = recover_id(message.payload)
    cause = f"{type(err).__name__}: {_first(err)}" if err is not None else "a fault"
    reason = f"could not be stored: {cause}"
    context = {
        "reason_code": Reason.INTERNAL_ERROR.value,
        "topic": message.topic,
        "gateway_id": gateway_id,
        "message_id": message_id,
        "source": message.source,
    }
    log.error("message dead-lettered: it could not be stored", extra=context)
    try:
        with sessions.begin() as session:
            repositories.add_dead_letter(
                session,
                received_at=now,
                source=message.source,
                topic=message.topic,
                gateway_id=gateway_id,
                message_id=message_id,
                reason_code=Reason.INTERNAL_ERROR,
                reason=reason,
                payload=message.payload,
            )
    except Exception as again:
        _raise_if_unreachable(sessions, again)
        counters.add("dead_letter_failed")
        log.error(
            "message acknowledged without a dead letter: even its dead letter could not be "
            "stored; its bytes are in this line",
            extra={
                **context,
                "error": f"{type(again).__name__}: {_first(again)}",
                "payload_bytes": len(message.payload),
                "payload_base64": base64.b64encode(message.payload[:LOGGED_BYTES]).decode(),
            },
        )
    return Outcome(
        gateway_id=gateway_id,
        message_id=message_id,
        channel=channel,
        status=OutcomeStatus.REJECTED,
        reason_code=Reason.INTERNAL_ERROR,
        reason=reason,
        receipt=channel is not None and channel is not Channel.STATUS,
    )


#: How much of a message that could not even be dead-lettered goes into the log (base64).
LOGGED_BYTES = 4096


def _first(err: BaseException | None) -> str:
    """The first line of an error's text, bounded (SQLAlchemy appends the SQL and its
    parameters on later lines: those stay out of reasons and logs)."""
    text_ = str(getattr(err, "orig", None) or err) if err is not None else ""
    lines = text_.splitlines()
    return lines[0][:300] if lines else ""


def _commit(
    sessions: sessionmaker[Session],
    messages: Sequence[Incoming],
    settings: Settings,
    now: datetime,
    plans: PlanCache | None,
    histories: HistoryCache | None,
    before_commit: Callable[[Sequence[Incoming]], None] | None,
) -> list[Outcome]:
    with sessions.begin() as session:
        batch = _Batch(session, settings, now, plans, histories)
        outcomes = batch.run(messages)
        if before_commit is not None:
            before_commit(messages)
    if histories is not None:
        histories.commit(batch.history_after)
    return outcomes


def _raise_if_unreachable(sessions: sessionmaker[Session], err: BaseException) -> None:
    """Raise :class:`DatabaseUnavailableError` when ``err`` came from a database that does not
    answer (nothing may be acknowledged then); return when the database answers, so the failure
    is the message's."""
    if isinstance(err, DatabaseUnavailableError):
        raise err
    invalidated = isinstance(err, DBAPIError) and err.connection_invalidated
    if invalidated or not database_answers(sessions):
        raise DatabaseUnavailableError(f"the database did not answer: {_first(err)}") from err


def database_answers(sessions: sessionmaker[Session]) -> bool:
    """Whether a fresh connection can run ``SELECT 1``."""
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
