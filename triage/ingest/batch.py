"""One batch through the ingest pipeline, in the caller's transaction, step by step:

:meth:`Batch.run` parses each message (topic → gateway and channel; payload size; JSON and
schema, :mod:`triage.ingest.schemas`) → resolves the gateways' bindings (the patient comes from
the gateway's registration, never from the payload) → stores call requests and message reads →
dedupes readings and reports on their ids (stored before, or earlier in this batch; another
gateway's id is a conflict) → checks plausibility, questionnaire answers and the times (clock
ahead/behind, backfill) → classifies each patient's items in time order with the patient's
active plan version and history (loaded once per batch through the worker's
:class:`~triage.ingest.history_cache.HistoryCache`; earlier items of the same batch count) →
writes the rows, the alert changes, the gateways' status and ``last_seen_at``, and the dead
letters. It never commits (:mod:`triage.ingest.commit` does).

Every message leaves with exactly one :class:`~triage.ingest.outcomes.Outcome`: a step either
sets it (rejected → a dead letter in the same transaction; duplicate; stored; applied) or passes
the message on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from triage.config import Settings
from triage.domain.alerts import Alert, AlertChange, decide
from triage.domain.classify import (
    Classification,
    ImplausibleReadingError,
    classify,
    classify_report,
    history_window,
)
from triage.domain.colours import Colour
from triage.domain.findings import Finding
from triage.domain.history import PatientHistory
from triage.domain.plan import PlanVersion
from triage.domain.questionnaires import QuestionnaireError, get_questionnaire, score
from triage.domain.readings import Reading, Report, check_plausibility, gateway_clock_is_behind
from triage.ingest import sql, wire
from triage.ingest.cache_capacity import Capacity, fit_to_population
from triage.ingest.finding_json import finding_json
from triage.ingest.history_cache import Entry, HistoryCache, Loaded, cut
from triage.ingest.outcomes import (
    MAX_PAYLOAD_BYTES,
    REQUEST_CHANNELS,
    Channel,
    Flag,
    Incoming,
    Outcome,
    OutcomeStatus,
    Reason,
    parse_topic,
)
from triage.ingest.plan_cache import PlanCache
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
    MessageReadRow,
    PatientMessageRow,
    ReadingRow,
    ReportRow,
)

#: The pipeline's log lines keep the logger name operators filter on.
log = logging.getLogger("triage.ingest.pipeline")


class Dedupe(Enum):
    """Where a reading or report stands after the dedupe step."""

    #: Not seen before: it goes on to be checked, classified and stored.
    NEW = "new"
    #: Stored by an earlier batch (same gateway): answered "duplicate" with the stored colour.
    STORED_BEFORE = "stored_before"
    #: A second copy within this batch: answered like the first copy (:attr:`Work.first`).
    COPY_IN_BATCH = "copy_in_batch"


@dataclass(slots=True)
class Work:
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
    dedupe: Dedupe = Dedupe.NEW
    #: The first copy in this batch, when :attr:`dedupe` is ``COPY_IN_BATCH``.
    first: Work | None = None
    score: int | None = None
    row: dict[str, Any] | None = None


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
    return Batch(session, settings, now, plans, None).run(messages)


class Batch:
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
        #: The worker's own caches (a throwaway history cache is neither sized nor counted).
        self.caches: list[tuple[int, Capacity]] = []
        if plans is not None:
            self.caches.append((settings.ingest_plan_cache_size, plans.capacity))
        if histories is not None:
            self.caches.append((settings.ingest_history_cache_patients, histories.capacity))
        #: Each classified patient's history including this batch's rows: for the cache, once
        #: the batch has committed.
        self.history_after: dict[str, Entry] = {}
        self.tolerance = timedelta(seconds=settings.clock_ahead_tolerance_s)
        self.behind_tolerance = timedelta(seconds=settings.clock_behind_tolerance_s)
        self.backfill_before = now - timedelta(hours=settings.backfill_after_h)
        self.dead_letters: list[Work] = []

    # --- the steps, in order

    def run(self, messages: Sequence[Incoming]) -> list[Outcome]:
        if self.caches:
            fit_to_population(self.session, self.caches, self.settings.ingest_cache_ceiling)
            for _, capacity in self.caches:
                capacity.next_batch()
        works = [self._parse(Work(i, m)) for i, m in enumerate(messages)]
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
        stored_before = [w for w in items if w.dedupe is Dedupe.STORED_BEFORE]
        items = [w for w in items if w.outcome is None and w.dedupe is Dedupe.NEW]
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

    def _parse(self, work: Work) -> Work:
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

    def _resolve_gateways(self, works: list[Work]) -> None:
        ids = {w.gateway_id for w in works if w.gateway_id}
        bindings = sql.bindings(self.session, ids)
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

    def _dedupe(self, items: list[Work]) -> None:
        stored: dict[Channel, dict[str, tuple[str, str | None, list[Any]]]] = {}
        for channel, table in ((Channel.READINGS, ReadingRow), (Channel.REPORTS, ReportRow)):
            ids = {w.message_id for w in items if w.channel is channel and w.message_id}
            stored[channel] = sql.stored(self.session, table, ids)
        first: dict[tuple[Channel, str], Work] = {}
        for work in items:
            channel, message_id = cast(Channel, work.channel), cast(str, work.message_id)
            key = (channel, message_id)
            earlier = stored[channel].get(message_id)
            if earlier is not None:
                gateway_id, colour, flags = earlier
                if gateway_id != work.gateway_id:
                    self._reject(work, Reason.ID_CONFLICT, _conflict(work))
                else:
                    work.dedupe = Dedupe.STORED_BEFORE
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
                    work.dedupe = Dedupe.COPY_IN_BATCH
                    work.first = first[key]
            else:
                first[key] = work

    def _check(self, items: list[Work]) -> None:
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

    def _times(self, work: Work, stamped: datetime, gateway_received: datetime | None) -> None:
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
        self, items: list[Work], plans: Mapping[str, PlanVersion]
    ) -> dict[str, list[Finding]]:
        """Classify every item in time order per patient; returns the findings that may change
        alerts (backfill findings are history only)."""
        by_patient: dict[str, list[Work]] = defaultdict(list)
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
        loaded = self.histories.load_for_batch(self.session, needs) if needs else _NOTHING
        alerting: dict[str, list[Finding]] = {}
        for patient_id, works in by_patient.items():
            plan = plans.get(patient_id)
            entry = loaded.entries.get(patient_id)
            owned = patient_id in loaded.owned
            history = _Growing(entry.history if entry else PatientHistory(), owned=owned)
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
            if entry is not None and (history.grown or owned):
                self.history_after[patient_id] = (
                    cut(entry.since, history.history, self.histories.per_patient)
                    if history.grown
                    else entry
                )
        return alerting

    def _classify_one(
        self, work: Work, plan: PlanVersion, history: _Growing
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
        self, work: Work, plan: PlanVersion | None, result: Classification | None
    ) -> None:
        """The row to insert and the stored outcome (colour and advice for the receipt)."""
        colour = result.colour if result is not None and result.findings else None
        backfill = Flag.BACKFILL in work.flags
        advice = plan.actions[colour].patient if plan and colour and not backfill else None
        findings = [finding_json(f) for f in result.findings] if result else []
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
        works: list[Work],
        items: list[Work],
        findings: dict[str, list[Finding]],
        statuses: list[Work],
    ) -> None:
        session = self.session
        readings = [w.row for w in items if w.row is not None and w.channel is Channel.READINGS]
        reports = [w.row for w in items if w.row is not None and w.channel is Channel.REPORTS]
        if readings:
            sql.insert_rows(session, sql.READINGS, readings)
        if reports:
            sql.insert_rows(session, sql.REPORTS, reports)
        if findings:
            open_rules = repositories.open_alert_rules(session, findings)
            deciding = patients_to_decide(findings, open_rules)
            open_alerts = repositories.open_alerts(session, deciding) if deciding else {}
            touched: list[Alert] = []
            changes: list[AlertChange] = []
            for patient_id in (p for p in findings if p in deciding):  # in the batch's order
                alerts = open_alerts.get(patient_id, [])
                patient_changes = decide(patient_id, alerts, findings[patient_id])
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
        sql.touch_last_seen(session, seen, self.now)
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

    def _apply_status(self, work: Work) -> None:
        payload = work.payload
        assert isinstance(payload, StatusPayload)  # noqa: S101
        values: dict[str, Any] = {"online": payload.online, "status": payload.model_dump()}
        if payload.online and not work.incoming.retained:
            values["last_seen_at"] = self.now
        self.session.execute(
            update(sql.GATEWAYS).where(sql.GATEWAYS.c.id == work.gateway_id).values(**values)
        )
        work.outcome = Outcome(
            gateway_id=work.gateway_id,
            message_id=None,
            channel=Channel.STATUS,
            status=OutcomeStatus.APPLIED,
        )

    def _finish_duplicates(self, works: list[Work], plans: Mapping[str, PlanVersion]) -> None:
        """Duplicates answer like the original: its colour, flags and the plan's advice."""
        for work in works:
            if work.dedupe is Dedupe.COPY_IN_BATCH:  # answers like the first copy
                assert work.first is not None  # noqa: S101 - set with the state
                source = work.first.outcome
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
            if work.dedupe is not Dedupe.STORED_BEFORE:
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

    def _store_requests(self, works: list[Work]) -> None:
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

    def _reject(self, work: Work, reason: Reason, text_: str) -> Work:
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


def patients_to_decide(
    findings: Mapping[str, Sequence[Finding]], open_rules: Mapping[str, Mapping[str, bool]]
) -> set[str]:
    """The patients whose findings can change an alert: a yellow or red finding (it opens an
    alert or attaches to one), or a green finding of a rule whose open alert is not yet back in
    range (it marks it so). For every other patient :func:`~triage.domain.alerts.decide`
    returns no change, so their alerts are neither loaded nor decided on."""
    deciding: set[str] = set()
    for patient_id, patient_findings in findings.items():
        rules = open_rules.get(patient_id)
        for finding in patient_findings:
            if finding.is_breach or (rules is not None and rules.get(finding.rule_id) is False):
                deciding.add(patient_id)
                break
    return deciding


class _Growing:
    """A patient's history as this batch grows it, item by item: copied from the cache's entry
    on the first item added (copy-on-write; an entry the batch owns is grown in place)."""

    __slots__ = ("grown", "history", "owned")

    def __init__(self, history: PatientHistory, *, owned: bool) -> None:
        self.history = history
        self.owned = owned
        self.grown = False

    def value(self) -> PatientHistory:
        """What classification looks back at now (not to be changed by the caller)."""
        return self.history

    def add_reading(self, reading: Reading, findings: Iterable[Finding]) -> None:
        self._writable().add_reading(reading, findings)

    def add_report(self, report: Report, findings: Iterable[Finding]) -> None:
        self._writable().add_report(report, findings)

    def _writable(self) -> PatientHistory:
        if not self.owned:
            self.history = self.history.copy()
            self.owned = True
        self.grown = True
        return self.history


#: No history needed (no patient of the batch has a plan).
_NOTHING = Loaded({}, frozenset())


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


def _conflict(work: Work) -> str:
    return f"id {work.message_id} was already used by another gateway"
