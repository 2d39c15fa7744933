"""FHIR bulk export: DHO's stored data as NDJSON files in the FHIR Bulk Data format.

``dho export fhir --since … --out DIR`` (:func:`export_fhir`) writes one file per resource type
(``Observation.ndjson``, ``Patient.ndjson``, …: one resource a line, UTF-8) and the Bulk Data
manifest ``manifest.json`` (``transactionTime``, ``request``, ``requiresAccessToken``,
``output`` [{type, url, count}], ``error``). Every resource is built by the pure mapping
(:mod:`triage.fhir`); this module only reads rows and writes bytes.

What ``--since`` selects (as Bulk Data's ``_since``: what was stored or changed after it):

* readings → ``readings.stored_at`` (when DHO stored it; readings never change afterwards);
* questionnaire answers → ``reports.stored_at``;
* alerts → any of ``opened_at``, ``last_breach_at``, ``acknowledged_at``, ``resolved_at``,
  ``back_in_range_at``, ``escalated_at``, or an ``alert_events.at`` / ``alert_actions.at`` of the
  alert after it (an alert acknowledged or closed since is exported again, whole);
* patients (with their gateways, plans and colour Flag) → the patients of the data above, and
  those enrolled (``enrolled_at``) or whose state changed (``state_changed_at``) since; the
  meters (Device) → those of the exported readings.

Without ``--since`` everything is exported. The rows are read in one read-only
``REPEATABLE READ`` transaction on PostgreSQL, one read transaction on SQLite (one snapshot:
the files agree with each other); ``transactionTime`` is the time taken just before it began.

Memory stays constant in the number of readings: rows are streamed from a server-side cursor
(psycopg's named cursor, ``ITERSIZE`` rows a fetch) and written as they come; what is kept is
bounded by the number of patients and meters (the set of exported patients' ids, one key per
meter), not readings. On PostgreSQL rows are fetched as plain tuples with psycopg (no ORM
objects); JSON columns are parsed and resources serialised with orjson.

Files are written under temporary names (``.Observation.ndjson.<token>.part``) in DIR and
renamed to their final names only when everything has been written and the audit row
committed; a failure removes them, so a final-named file is always complete. The manifest is
renamed last.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from psycopg import Error as PsycopgError
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    String,
    Text,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from triage.api.people import add_audit
from triage.fhir.alerts import closing_note, detected_issue
from triage.fhir.care_plans import care_plan, goals
from triage.fhir.flags import colour_flag
from triage.fhir.ids import logical_id, meter_device_id
from triage.fhir.observations import reading_observations
from triage.fhir.patients import gateway_device, meter_device, patient
from triage.fhir.questionnaires import questionnaire_response, report_observation
from triage.fhir.references import LOCAL
from triage.fhir.sources import (
    AlertActionSource,
    AlertSource,
    GatewaySource,
    PatientSource,
    PersonSource,
    PlanVersionSource,
    ReadingSource,
    ReportSource,
)
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    GatewayRow,
    PatientRow,
    PlanRow,
    PlanVersionRow,
    ReadingRow,
    ReportRow,
    UserRow,
)

#: Every resource type the export writes, in the manifest's order.
RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "Device",
    "Observation",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Flag",
    "DetectedIssue",
    "Composition",
)

#: The audit log's actor for an export (the operating-system user is in its details).
ACTOR = "dho export fhir"

#: Rows fetched per round trip from the server-side cursor.
ITERSIZE = 5000
#: ... of plan versions, whose documents (dho.plan/1) are tens of kB each once parsed
PLAN_ITERSIZE = 100

_NDJSON = orjson.OPT_APPEND_NEWLINE
_FORMAT = "application/fhir+ndjson"


class ExportError(Exception):
    """An export that could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: resources per type (types with none are left out), the files."""

    transaction_time: datetime
    counts: dict[str, int]
    files: list[Path]
    manifest: Path


# ----------------------------------------------------------------------------- files


class _Files:
    """One NDJSON file per type under a temporary name in ``out``, renamed by :meth:`commit`."""

    def __init__(self, out: Path, types: Sequence[str]) -> None:
        self.out = out
        self.token = secrets.token_hex(4)
        self.counts: dict[str, int] = dict.fromkeys(types, 0)
        self.temp: dict[str, Path] = {}
        self.handles: dict[str, IO[bytes]] = {}
        try:
            out.mkdir(parents=True, exist_ok=True)
            for kind in types:
                path = out / f".{kind}.ndjson.{self.token}.part"
                self.handles[kind] = path.open("xb", buffering=1 << 20)
                self.temp[kind] = path
        except OSError as err:
            self.abort()
            raise ExportError(
                f"cannot write to {out}: {err.strerror or err} (choose a folder you may write in)"
            ) from err

    def writer(self, kind: str) -> Callable[[dict[str, Any]], None] | None:
        """A function writing one ``kind`` resource, or None when ``kind`` is not exported."""
        handle = self.handles.get(kind)
        if handle is None:
            return None
        write = handle.write
        dumps = orjson.dumps
        counts = self.counts

        def one(resource: dict[str, Any]) -> None:
            write(dumps(resource, option=_NDJSON))
            counts[kind] += 1

        return one

    def commit(self) -> list[Path]:
        """Close every file and give it its final name; a type with nothing is left out."""
        for handle in self.handles.values():
            handle.close()
        written: list[Path] = []
        for kind, temp in self.temp.items():
            if self.counts[kind] == 0:
                temp.unlink(missing_ok=True)
                continue
            final = self.out / f"{kind}.ndjson"
            os.replace(temp, final)
            written.append(final)
        self.temp = {}
        return written

    def abort(self) -> None:
        """Close and remove every temporary file (nothing under a final name is touched)."""
        for handle in self.handles.values():
            handle.close()
        for temp in self.temp.values():
            temp.unlink(missing_ok=True)
        self.temp = {}


# ----------------------------------------------------------------------------- reading rows


class _Rows:
    """Runs the export's queries in one transaction: psycopg's server-side cursors and plain
    tuples on PostgreSQL, SQLAlchemy Core (its types: aware UTC datetimes, parsed JSON) on
    SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.cursors = 0

    @contextmanager
    def transaction(self) -> Iterator[_Rows]:
        with self.engine.connect() as connection:
            self.connection = connection
            if self.postgres:
                from psycopg.types.json import set_json_loads

                driver = cast(Any, connection.connection.driver_connection)
                driver.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                set_json_loads(orjson.loads, driver)
                self.driver = driver
            else:  # SQLite (WAL): a read transaction from the first SELECT on is one snapshot
                connection.exec_driver_sql("BEGIN DEFERRED")
            try:
                yield self
            finally:
                connection.rollback()

    def ordered(self, column: Any) -> Any:
        """``column`` ordered as Python compares strings (code points), for merging two
        ordered streams: PostgreSQL's "C" collation (SQLite's default already is)."""
        return column.collate("C") if self.postgres else column

    def stream(self, statement: Any, itersize: int = ITERSIZE) -> Iterator[Any]:
        """The statement's rows, one at a time; each row has its columns as attributes.
        ``itersize``: rows a fetch (fewer for large rows: plan documents)."""
        if not self.postgres:
            yield from self.connection.execute(statement)
            return
        from psycopg.rows import namedtuple_row

        compiled = statement.compile(
            dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        self.cursors += 1
        with self.driver.cursor(
            name=f"fhir_export_{self.cursors}", row_factory=namedtuple_row
        ) as cursor:
            cursor.itersize = itersize
            cursor.execute(str(compiled), compiled.params)
            yield from cursor


# ----------------------------------------------------------------------------- the export


@dataclass
class _Seen:
    """What the streamed data touched: bounded by patients and meters, never by readings."""

    patients: set[str] = field(default_factory=set)
    #: each meter's identifying fields → its Device id (None: no meter, a typed value)
    meters: dict[tuple[Any, ...], str | None] = field(default_factory=dict)
    #: the Device ids written
    devices: set[str] = field(default_factory=set)


def export_fhir(
    engine: Engine,
    out: Path,
    *,
    now: datetime,
    since: datetime | None = None,
    types: Iterable[str] | None = None,
    os_user: str = "",
    on_progress: Callable[[str, int], None] | None = None,
) -> ExportResult:
    """Export to ``out`` (made when missing) the resources of ``types`` (default: all)
    stored or changed after ``since`` (default: everything); write the audit row.

    Raises :class:`ExportError` for an unknown type, a folder that cannot be written, or a
    database that cannot be read; nothing is left under a final name then."""
    chosen = _types(types)
    if since is not None and since.tzinfo is None:
        raise ExportError("--since needs a time zone (an aware datetime)")
    files = _Files(out, chosen)
    try:
        with _Rows(engine).transaction() as rows:
            _export(rows, files, since, set(chosen), on_progress)
        counts = {kind: n for kind, n in files.counts.items() if n}
        _audit(engine, now=now, since=since, types=chosen, counts=counts, out=out, user=os_user)
        written = files.commit()
    except ExportError:
        files.abort()
        raise
    except OSError as err:
        files.abort()
        raise ExportError(f"cannot write to {out}: {err.strerror or err}") from err
    except (SQLAlchemyError, PsycopgError) as err:
        files.abort()
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise ExportError(
            f"cannot read the database ({engine.url.render_as_string(hide_password=True)}): "
            f"{first} (is it DHO's database, migrated by `dho serve` or `dho api`?)"
        ) from err
    except BaseException:
        files.abort()
        raise
    manifest = _write_manifest(out, now, since, chosen, counts)
    return ExportResult(now, counts, written, manifest)


#: The zone of a ``--since`` given as a date or without an offset (DHO's centres' zone).
SINCE_ZONE = "Europe/Oslo"


def parse_since(value: str) -> datetime:
    """``--since``: ``YYYY-MM-DD`` (midnight in Europe/Oslo) or an ISO 8601 datetime (with its
    offset, or in Europe/Oslo without one)."""
    text = value.strip()
    zone = ZoneInfo(SINCE_ZONE)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ExportError(
            f"--since {value!r}: expected YYYY-MM-DD or an ISO datetime such as "
            "2026-12-01T08:00:00+01:00"
        ) from err
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _types(types: Iterable[str] | None) -> list[str]:
    if types is None:
        return list(RESOURCE_TYPES)
    wanted = set(types)
    unknown = sorted(wanted - set(RESOURCE_TYPES))
    if unknown:
        raise ExportError(
            f"unknown resource type {', '.join(unknown)}: choose from {', '.join(RESOURCE_TYPES)}"
        )
    if not wanted:
        return list(RESOURCE_TYPES)
    return [kind for kind in RESOURCE_TYPES if kind in wanted]


def _export(
    rows: _Rows,
    files: _Files,
    since: datetime | None,
    types: set[str],
    on_progress: Callable[[str, int], None] | None,
) -> None:
    seen = _Seen()
    people = _people(rows)
    per_patient = types & {"Patient", "Device", "CarePlan", "Goal", "Flag"}
    # with --since the patients are those of the exported data: every stream is read
    touched = since is not None and bool(per_patient)
    if touched or types & {"Observation", "Device"}:
        _readings(rows, files, since, seen, types)
        if on_progress:
            on_progress("readings", files.counts.get("Observation", 0))
    if touched or types & {"QuestionnaireResponse", "Observation"}:
        _reports(rows, files, since, seen)
        if on_progress:
            on_progress("reports", files.counts.get("QuestionnaireResponse", 0))
    if touched or types & {"DetectedIssue", "Composition"}:
        _alerts(rows, files, since, seen, people)
        if on_progress:
            on_progress("alerts", files.counts.get("DetectedIssue", 0))
    if per_patient:
        _patients(rows, files, since, seen, people)


def _readings(
    rows: _Rows, files: _Files, since: datetime | None, seen: _Seen, types: set[str]
) -> None:
    r = ReadingRow
    statement = select(
        r.id,
        r.patient_id,
        r.gateway_id,
        r.kind,
        r.values,
        r.device,
        r.measured_at,
        r.timezone,
        r.colour,
        r.findings,
        r.flags,
        r.plan_id,
        r.plan_version,
    )
    if since is not None:
        statement = statement.where(r.stored_at > since)
    observation = files.writer("Observation") if "Observation" in types else None
    device = files.writer("Device")
    patients = seen.patients
    meters = seen.meters
    add_patient = patients.add
    for row in rows.stream(statement):
        reading = cast(ReadingSource, row)
        pid = row.patient_id
        if pid not in patients:
            add_patient(pid)
        if observation is not None:
            for resource in reading_observations(reading, LOCAL):
                observation(resource)
        if device is not None and row.device:
            key = _meter_key(pid, row.device)
            if key not in meters:
                meters[key] = meter = meter_device_id(pid, row.device)
                if meter is not None and meter not in seen.devices:
                    seen.devices.add(meter)
                    made = meter_device(pid, row.device, LOCAL)
                    if made is not None:
                        device(made)


def _meter_key(patient_id: str, device: Mapping[str, Any]) -> tuple[Any, ...]:
    """One meter of one patient: what identifies it (not the per-reading clock fields)."""
    key = (
        patient_id,
        device.get("address"),
        device.get("serial_number"),
        device.get("serial"),
        device.get("system_id"),
        device.get("model"),
        device.get("profile"),
    )
    try:
        hash(key)
    except TypeError:  # an odd device document: its text identifies it
        return (patient_id, orjson.dumps(device, option=orjson.OPT_SORT_KEYS))
    return key


def _reports(rows: _Rows, files: _Files, since: datetime | None, seen: _Seen) -> None:
    q = ReportRow
    statement = select(
        q.id,
        q.patient_id,
        q.gateway_id,
        q.questionnaire,
        q.answered_at,
        q.received_at,
        q.answers,
        q.score,
        q.plan_id,
        q.plan_version,
        q.colour,
        q.findings,
        q.flags,
        PatientRow.timezone,
    ).join(PatientRow, PatientRow.id == q.patient_id)
    if since is not None:
        statement = statement.where(q.stored_at > since)
    response = files.writer("QuestionnaireResponse")
    score = files.writer("Observation")
    patients = seen.patients
    for row in rows.stream(statement):
        report = cast(ReportSource, row)
        patients.add(row.patient_id)
        if response is not None:
            response(questionnaire_response(report, LOCAL, timezone=row.timezone))
        if score is not None:
            resource = report_observation(report, LOCAL, timezone=row.timezone)
            if resource is not None:
                score(resource)


#: Separates the ids in an alert's list of implicated readings and reports.
_SEP = "\x1f"


def _alert_changed(since: datetime) -> ColumnElement[bool]:
    a = AlertRow
    events, actions = aliased(AlertEventRow), aliased(AlertActionRow)  # never correlated away
    return or_(
        a.opened_at > since,
        a.last_breach_at > since,
        a.acknowledged_at > since,
        a.resolved_at > since,
        a.back_in_range_at > since,
        a.escalated_at > since,
        exists().where(events.alert_id == a.id, events.at > since),
        exists().where(actions.alert_id == a.id, actions.at > since),
    )


def _implicated(source: Any, at: Any, alert_rule: Any) -> Select[Any]:
    """The ids of the patient's yellow/red readings (or reports) between the alert's opening
    and its last breach whose findings name the alert's rule."""
    a = AlertRow
    rule = literal('%"rule_id": "', String) + alert_rule + literal('"%', String)
    return (
        select(func.aggregate_strings(source.id, _SEP))
        .where(
            source.patient_id == a.patient_id,
            at >= a.opened_at,
            at <= a.last_breach_at,
            source.colour.in_(("yellow", "red")),
            sql_cast(source.findings, Text).like(rule),
        )
        .correlate(a)
    )


def _alerts(
    rows: _Rows,
    files: _Files,
    since: datetime | None,
    seen: _Seen,
    people: Mapping[str, PersonSource],
) -> None:
    issue = files.writer("DetectedIssue")
    note = files.writer("Composition")
    a = AlertRow
    extra: list[Any] = [PatientRow.timezone.label("patient_timezone")]
    if issue is not None:
        readings = _implicated(ReadingRow, ReadingRow.measured_at, a.rule_id)
        reports = _implicated(ReportRow, ReportRow.answered_at, a.rule_id)
        extra += [
            readings.scalar_subquery().label("implicated_readings"),
            reports.scalar_subquery().label("implicated_reports"),
        ]
    statement = select(*a.__table__.columns, *extra).join(PatientRow, PatientRow.id == a.patient_id)
    if since is not None:
        statement = statement.where(_alert_changed(since))
    statement = statement.order_by(rows.ordered(a.id))
    wanted = issue is not None or note is not None
    actions = _actions(rows, since, closed_only=issue is None) if wanted else iter(())
    pending: Any = next(actions, None)
    patients = seen.patients
    for row in rows.stream(statement):
        alert = cast(AlertSource, row)
        patients.add(row.patient_id)
        mine: list[AlertActionSource] = []
        while pending is not None and pending.alert_id < row.id:
            pending = next(actions, None)
        while pending is not None and pending.alert_id == row.id:
            mine.append(cast(AlertActionSource, pending))
            pending = next(actions, None)
        zone = row.patient_timezone
        if issue is not None:
            implicated = [
                f"Observation/{logical_id(i)}" for i in _split(row.implicated_readings)
            ] + [f"QuestionnaireResponse/{logical_id(i)}" for i in _split(row.implicated_reports)]
            issue(
                detected_issue(
                    alert, sorted(implicated), LOCAL, actions=mine, people=people, timezone=zone
                )
            )
        if note is not None and row.state == "resolved":
            closer = people.get(row.resolved_by or "")
            note(closing_note(alert, mine, closer, LOCAL, people=people, timezone=zone))


def _actions(rows: _Rows, since: datetime | None, *, closed_only: bool) -> Iterator[Any]:
    """The actions of the exported alerts, ordered by alert (merged with the alerts' stream:
    a second server-side cursor in the same transaction)."""
    a = AlertRow
    x = AlertActionRow
    statement = select(x.alert_id, x.at, x.by, x.outcome, x.note, x.home_visit_avoided).join(
        a, a.id == x.alert_id
    )
    if since is not None:
        statement = statement.where(_alert_changed(since))
    if closed_only:
        statement = statement.where(a.state == "resolved")
    return rows.stream(statement.order_by(rows.ordered(x.alert_id), x.at, x.id))


def _split(ids: str | None) -> list[str]:
    return ids.split(_SEP) if ids else []


def _people(rows: _Rows) -> dict[str, PersonSource]:
    """The staff (GPs, nurses): a few hundred rows, kept for the Patients' GPs and the
    closing notes' authors."""
    u = UserRow
    statement = select(u.id, u.display_name, u.hpr_number, u.role)
    return {row.id: cast(PersonSource, row) for row in rows.stream(statement)}


def _patients(
    rows: _Rows,
    files: _Files,
    since: datetime | None,
    seen: _Seen,
    people: Mapping[str, PersonSource],
) -> None:
    p = PatientRow
    statement = select(*p.__table__.columns)
    chosen: dict[str, str] = {}  # id → zone
    write = files.writer("Patient")
    for row in rows.stream(statement):
        if since is not None and row.id not in seen.patients:
            changed = row.enrolled_at > since or row.state_changed_at > since
            if not changed:
                continue
        chosen[row.id] = row.timezone
        if write is not None:
            gp = people.get(row.gp_user_id) if row.gp_user_id else None
            write(patient(cast(PatientSource, row), gp))
    device = files.writer("Device")
    if device is not None:
        g = GatewayRow
        for row in rows.stream(select(*g.__table__.columns).order_by(g.id)):
            if row.patient_id in chosen:
                device(gateway_device(cast(GatewaySource, row)))
    care, goal = files.writer("CarePlan"), files.writer("Goal")
    if care is not None or goal is not None:
        v = PlanVersionRow
        statement = (
            select(
                v.plan_id,
                v.version,
                v.status,
                v.document,
                v.approved_at,
                v.approved_by,
                v.retired_at,
                v.created_at,
                PlanRow.patient_id,
            )
            .join(PlanRow, PlanRow.id == v.plan_id)
            .where(v.approved_at.is_not(None))
            .order_by(v.plan_id, v.version)
        )
        for row in rows.stream(statement, itersize=PLAN_ITERSIZE):
            if row.patient_id not in chosen:
                continue
            version = cast(PlanVersionSource, row)
            if care is not None:
                care(care_plan(version, row.patient_id, LOCAL))
            if goal is not None:
                for resource in goals(version, row.patient_id, LOCAL):
                    goal(resource)
    flag = files.writer("Flag")
    if flag is not None:
        colours = _open_colours(rows)
        for pid, zone in sorted(chosen.items()):
            colour, opened = colours.get(pid, (None, None))
            flag(colour_flag(pid, colour, opened, LOCAL, timezone=zone))


_RANK = {"red": 2, "yellow": 1}


def _open_colours(rows: _Rows) -> dict[str, tuple[str, datetime]]:
    """Each patient's current colour (the worst among the open clinical alerts, as the
    worklist shows it) and since when (the oldest open alert of that colour)."""
    a = AlertRow
    statement = select(a.patient_id, a.colour, a.opened_at).where(
        a.state != "resolved", a.category == "clinical"
    )
    worst: dict[str, tuple[str, datetime]] = {}
    for row in rows.stream(statement):
        if row.colour not in _RANK:
            continue
        held = worst.get(row.patient_id)
        if (
            held is None
            or _RANK[row.colour] > _RANK[held[0]]
            or (row.colour == held[0] and row.opened_at < held[1])
        ):
            worst[row.patient_id] = (row.colour, row.opened_at)
    return worst


# ----------------------------------------------------------------------------- audit, manifest


def _audit(
    engine: Engine,
    *,
    now: datetime,
    since: datetime | None,
    types: Sequence[str],
    counts: Mapping[str, int],
    out: Path,
    user: str,
) -> None:
    with Session(engine) as session, session.begin():
        add_audit(
            session,
            at=now,
            actor=ACTOR,
            action="export",
            object_type="fhir_bulk_export",
            object_id=None,
            details={
                "os_user": user,
                "since": since.isoformat() if since else None,
                "types": list(types),
                "counts": dict(counts),
                "out": str(out.resolve()),
            },
        )


def request_line(since: datetime | None, types: Sequence[str]) -> str:
    """The Bulk Data kick-off request this export answers (there is no HTTP endpoint: the
    manifest's ``request`` names the equivalent ``$export``)."""
    query = {"_outputFormat": _FORMAT}
    if since is not None:
        query["_since"] = _instant(since)
    if list(types) != list(RESOURCE_TYPES):
        query["_type"] = ",".join(types)
    return "$export?" + urlencode(query, safe=",:")


def _instant(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds" if at.microsecond else "seconds")


def _write_manifest(
    out: Path,
    now: datetime,
    since: datetime | None,
    types: Sequence[str],
    counts: Mapping[str, int],
) -> Path:
    manifest = {
        "transactionTime": _instant(now),
        "request": request_line(since, types),
        "requiresAccessToken": False,
        "output": [
            {"type": kind, "url": f"{kind}.ndjson", "count": counts[kind]}
            for kind in types
            if counts.get(kind)
        ],
        "error": [],
    }
    final = out / "manifest.json"
    temp = out / f".manifest.json.{secrets.token_hex(4)}.part"
    try:
        temp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | _NDJSON))
        os.replace(temp, final)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise ExportError(f"cannot write the manifest in {out}: {err.strerror or err}") from err
    return final
