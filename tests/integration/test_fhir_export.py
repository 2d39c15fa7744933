"""The FHIR bulk export (``dho export fhir``) on SQLite and PostgreSQL.

Readings classified by the real triage core with the patients' template plans, a
questionnaire answer set, an open and a closed alert are stored; the export's NDJSON is read
back line by line and compared with what was stored (values, units, instants, codes), the
manifest with the lines, ``--since`` with the stored times; every line is checked with the
``fhir.resources`` R4B models and one of each type against the official FHIR R4 JSON Schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import triage.export.fhir_ndjson as fhir_ndjson
from tests.fhir_schema import assert_valid
from tests.integration.conftest import NOW
from tests.integration.world import World
from triage.cli import app
from triage.domain.classify import History, classify
from triage.domain.plan import Condition
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES
from triage.domain.readings import Kind, Reading
from triage.export.fhir_ndjson import RESOURCE_TYPES, ExportError, export_fhir, parse_since
from triage.fhir.ids import logical_id
from triage.fhir.observations import reading_observations
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    AuditRow,
    ReadingRow,
    ReportRow,
)

#: data stored before CUT and after it (the --since test)
CUT = NOW - timedelta(days=1)
T_OLD = NOW - timedelta(days=2)
T_NEW = NOW - timedelta(hours=6)
METER = {"profile": "plx", "model": "Nonin 3230", "address": "00:1c:05:aa:bb:cc"}
CUFF = {"profile": "bp", "model": "A&D UA-651BLE", "address": "5C:31:3E:01:02:03"}

#: per kind: (condition, values, device) — every kind DHO stores
READINGS: list[tuple[Kind, Condition, dict[str, float], dict[str, Any]]] = [
    (Kind.SPO2, Condition.COPD, {"spo2": 87, "pulse": 104}, METER),
    (
        Kind.BLOOD_PRESSURE,
        Condition.HYPERTENSION,
        {"systolic": 172, "diastolic": 96, "pulse": 71},
        CUFF,
    ),
    (Kind.HEART_RATE, Condition.HEART_FAILURE, {"pulse": 64}, {}),
    (Kind.GLUCOSE, Condition.DIABETES, {"glucose": 13.4}, {"profile": "glucose"}),
    (Kind.BODY_WEIGHT, Condition.HEART_FAILURE, {"weight": 82.4}, {"profile": "weight"}),
    (Kind.BODY_TEMPERATURE, Condition.COVID19, {"temperature": 38.6}, {}),
    (Kind.RESPIRATORY_RATE, Condition.COVID19, {"rate": 24}, {}),
    (Kind.PEAK_FLOW, Condition.COPD, {"pef": 310}, {}),
]

#: the issue's table: the main Observation's LOINC code and UCUM unit per kind
MAIN_CODE: dict[Kind, tuple[str, str | None, str | None]] = {
    Kind.SPO2: ("2708-6", "spo2", "%"),
    Kind.BLOOD_PRESSURE: ("85354-9", None, None),  # a panel: components
    Kind.HEART_RATE: ("8867-4", "pulse", "/min"),
    Kind.GLUCOSE: ("14743-9", "glucose", "mmol/L"),
    Kind.BODY_WEIGHT: ("29463-7", "weight", "kg"),
    Kind.BODY_TEMPERATURE: ("8310-5", "temperature", "Cel"),
    Kind.RESPIRATORY_RATE: ("9279-1", "rate", "/min"),
    Kind.PEAK_FLOW: ("19935-6", "pef", "L/min"),
}
BP_COMPONENTS = {"8480-6": ("systolic", "mm[Hg]"), "8462-4": ("diastolic", "mm[Hg]")}


def _store(session: Session, world: World, at: datetime, tag: str) -> list[ReadingRow]:
    rows = []
    for n, (kind, condition, values, device) in enumerate(READINGS):
        fixture = world.patients[condition]
        measured = at + timedelta(minutes=n)
        reading = Reading(id=f"{tag}-{n}", kind=kind, measured_at=measured, values=values)
        result = classify(reading, fixture.plan, History(), measured)
        row = ReadingRow(
            id=f"{tag}:{kind.value}:{n}",  # ":" is not allowed in a FHIR id: a hashed id
            patient_id=fixture.id,
            gateway_id=fixture.gateway_id,
            kind=kind.value,
            values=values,
            device=device,
            measured_at=measured,
            classified_at=measured,
            received_at=measured + timedelta(seconds=30),
            stored_at=measured + timedelta(seconds=31),
            timezone="Europe/Oslo",
            plan_id=fixture.plan.plan_id,
            plan_version=fixture.plan.version,
            colour=result.colour.value if result.findings else None,
            findings=[f.model_dump(mode="json") for f in result.findings],
            flags=[],
        )
        session.add(row)
        rows.append(row)
    questionnaire = BUILTIN_QUESTIONNAIRES["copd-daily"]
    copd = world.patients[Condition.COPD]
    session.add(
        ReportRow(
            id=f"{tag}-report",
            patient_id=copd.id,
            gateway_id=copd.gateway_id,
            questionnaire=questionnaire.id,
            answered_at=at + timedelta(minutes=30),
            received_at=at + timedelta(minutes=31),
            stored_at=at + timedelta(minutes=31),
            answers={item.id: item.options[-1].value for item in questionnaire.items},
            score=9,
            plan_id=copd.plan.plan_id,
            plan_version=copd.plan.version,
            colour="red",
            findings=[],
            flags=[],
        )
    )
    session.flush()
    return rows


def _alert(
    session: Session, world: World, reading: ReadingRow, name: str, *, closed: bool
) -> AlertRow:
    reason = next(f for f in reading.findings if f["colour"] in ("red", "yellow"))
    opened = reading.measured_at
    row = AlertRow(
        id=name,
        patient_id=reading.patient_id,
        rule_id=reason["rule_id"],
        rule_type=reason["rule_type"],
        category="clinical",
        colour=reason["colour"],
        state="resolved" if closed else "open",
        opened_at=opened,
        last_breach_at=opened,
        breaches=1,
        reason=reason,
        acknowledged_at=opened + timedelta(minutes=20) if closed else None,
        acknowledged_by=world.nurse_id if closed else None,
        resolved_at=opened + timedelta(minutes=40) if closed else None,
        resolved_by=world.nurse_id if closed else None,
        raised_at=opened,
    )
    session.add(row)
    session.flush()
    session.add(
        AlertEventRow(alert_id=name, event="opened", at=opened, to_state="open", colour=row.colour)
    )
    if closed:
        session.add(
            AlertActionRow(
                alert_id=name,
                patient_id=reading.patient_id,
                at=opened + timedelta(minutes=35),
                by=world.nurse_id,
                outcome="phoned_patient",
                note="Ringte, fikk råd etter planen.",
                home_visit_avoided=True,
            )
        )
    session.flush()
    return row


@pytest.fixture
def stored(
    sessions: sessionmaker[Session], world: World
) -> tuple[list[ReadingRow], list[ReadingRow]]:
    """Readings of every kind before CUT and after it; a closed alert on an old red reading,
    an open one on a new one."""
    with sessions.begin() as session:
        old = _store(session, world, T_OLD, "old")
        new = _store(session, world, T_NEW, "new")
        _alert(session, world, old[0], "alert-closed", closed=True)
        _alert(session, world, new[1], "alert-open", closed=False)
        session.expunge_all()
    return old, new


def _lines(out: Path, kind: str) -> list[dict[str, Any]]:
    path = out / f"{kind}.ndjson"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _by_identifier(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for resource in resources:
        identifier = resource["identifier"]
        first = identifier[0] if isinstance(identifier, list) else identifier
        out[first["value"]] = resource
    return out


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    assert at.tzinfo is not None, f"{text}: no offset"
    return at


def _coding(concept: dict[str, Any], system: str = "http://loinc.org") -> set[str]:
    return {c["code"] for c in concept["coding"] if c["system"] == system}


def test_round_trip(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    """Every stored reading, report and alert comes back with the same values, units,
    instants and codes; the manifest's counts are the files' lines."""
    old, new = stored
    out = tmp_path / "export"
    result = export_fhir(engine, out, now=NOW, os_user="tester")

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    assert _instant(manifest["transactionTime"]) == NOW
    assert manifest["request"].startswith("$export?")
    listed = {entry["type"]: entry for entry in manifest["output"]}
    assert set(listed) == set(RESOURCE_TYPES)
    for kind, entry in listed.items():
        assert entry["url"] == f"{kind}.ndjson"
        assert entry["count"] == len(_lines(out, kind)) == result.counts[kind]
    assert not list(out.glob(".*")), "temporary files left behind"

    observations = _by_identifier(_lines(out, "Observation"))
    for row in old + new:
        kind = Kind(row.kind)
        obs = observations[row.id]
        assert obs["id"] == logical_id(row.id)
        assert obs["subject"] == {"reference": f"Patient/{logical_id(row.patient_id)}"}
        assert _instant(obs["effectiveDateTime"]) == row.measured_at
        assert obs["effectiveDateTime"].endswith("+01:00")  # Oslo in November
        loinc, key, ucum = MAIN_CODE[kind]
        assert loinc in _coding(obs["code"]), obs["code"]
        if key is not None:
            assert obs["valueQuantity"]["value"] == row.values[key]
            assert obs["valueQuantity"]["code"] == ucum
            assert obs["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        else:
            components = {
                code: c["valueQuantity"] for c in obs["component"] for code in _coding(c["code"])
            }
            for code, (value_key, unit) in BP_COMPONENTS.items():
                assert components[code]["value"] == row.values[value_key]
                assert components[code]["code"] == unit
        if row.colour in ("red", "yellow"):
            assert obs["interpretation"], f"{row.id}: {row.colour} without interpretation"
        if "pulse" in row.values and kind is not Kind.HEART_RATE:
            pulse = observations[f"{row.id}:pulse"]
            assert "8867-4" in _coding(pulse["code"])
            assert pulse["valueQuantity"]["value"] == row.values["pulse"]
            assert pulse["valueQuantity"]["code"] == "/min"
            assert _instant(pulse["effectiveDateTime"]) == row.measured_at
    readings_observations = [
        o for o in observations.values() if o["identifier"][0]["system"] == "urn:dho:reading"
    ]
    pulses = sum(1 for _, _, values, _ in READINGS if "pulse" in values and len(values) > 1)
    assert len(readings_observations) == 2 * (len(READINGS) + pulses)

    responses = _by_identifier(_lines(out, "QuestionnaireResponse"))
    assert set(responses) == {"old-report", "new-report"}
    with Session(engine) as session:
        reports = {r.id: r for r in session.scalars(select(ReportRow))}
    for report_id, response in responses.items():
        assert _instant(response["authored"]) == reports[report_id].answered_at
        assert response["status"] == "completed"
        answered = {item["linkId"] for item in response["item"]}
        assert answered == set(reports[report_id].answers)
    scores = [o for o in observations.values() if o.get("valueInteger") is not None]
    assert sorted(o["valueInteger"] for o in scores) == [9, 9]

    issues = _by_identifier(_lines(out, "DetectedIssue"))
    assert set(issues) == {"alert-closed", "alert-open"}
    assert issues["alert-closed"]["severity"] == "high"  # red
    assert {"reference": f"Observation/{logical_id(old[0].id)}"} in issues["alert-closed"][
        "implicated"
    ]
    assert {"reference": f"Observation/{logical_id(new[1].id)}"} in issues["alert-open"][
        "implicated"
    ]
    notes = _lines(out, "Composition")
    assert len(notes) == 1  # the closed alert only
    assert "phoned_patient" in json.dumps(notes[0])

    patients = _lines(out, "Patient")
    assert len(patients) == len(Condition)
    devices = _lines(out, "Device")
    gateways = [d for d in devices if "gateway" in json.dumps(d).lower()]
    assert len(gateways) >= len(Condition)
    meters = {d["id"] for d in devices} - {g["id"] for g in gateways}
    assert len(meters) == 2  # the oximeter and the cuff (the others name no address)
    referenced = {o["device"]["reference"] for o in observations.values() if "device" in o}
    assert referenced == {f"Device/{m}" for m in meters}
    assert len(_lines(out, "CarePlan")) == len(Condition)
    assert len(_lines(out, "Goal")) > len(Condition)
    flags = _lines(out, "Flag")
    assert len(flags) == len(Condition)
    assert sum(1 for f in flags if f["status"] == "active") >= 1  # the open alert's patient


def test_every_line_is_valid_fhir(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    """Every line parses with the fhir.resources R4B model of its type; the first two of each
    type (and every Observation) validate against the official FHIR R4 JSON Schema."""
    out = tmp_path / "export"
    export_fhir(engine, out, now=NOW)
    for kind in RESOURCE_TYPES:
        lines = _lines(out, kind)
        assert lines, f"no {kind}"
        model = get_fhir_model_class(kind)
        for resource in lines:
            assert resource["resourceType"] == kind
            model.model_validate(resource)
        for resource in lines if kind == "Observation" else lines[:2]:
            assert_valid(resource)


def test_since_selects_exactly_the_later_data(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    """--since: readings and reports by stored_at, alerts by their changes; an alert closed
    since is exported again, whole."""
    old, new = stored
    out = tmp_path / "later"
    export_fhir(engine, out, now=NOW, since=CUT)
    observations = _by_identifier(_lines(out, "Observation"))
    readings = {
        key.split(":pulse")[0]
        for key, o in observations.items()
        if o["identifier"][0]["system"] == "urn:dho:reading"
    }
    assert readings == {r.id for r in new}
    assert set(_by_identifier(_lines(out, "QuestionnaireResponse"))) == {"new-report"}
    assert set(_by_identifier(_lines(out, "DetectedIssue"))) == {"alert-open"}
    assert _lines(out, "Composition") == []
    assert not (out / "Composition.ndjson").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "Composition" not in {entry["type"] for entry in manifest["output"]}
    query = parse_qs(urlsplit(manifest["request"]).query)
    assert query["_outputFormat"] == ["application/fhir+ndjson"]
    assert [_instant(v) for v in query["_since"]] == [CUT]

    # the old alert acknowledged again after CUT: exported again
    with Session(engine) as session, session.begin():
        session.add(
            AlertActionRow(
                alert_id="alert-closed",
                patient_id=old[0].patient_id,
                at=NOW - timedelta(hours=1),
                by=session.scalars(select(AlertActionRow.by)).first() or "",
                outcome="contacted_gp",
                note="",
                home_visit_avoided=False,
            )
        )
    again = tmp_path / "again"
    export_fhir(engine, again, now=NOW, since=CUT)
    assert set(_by_identifier(_lines(again, "DetectedIssue"))) == {"alert-closed", "alert-open"}
    assert len(_lines(again, "Composition")) == 1

    nothing = tmp_path / "nothing"
    result = export_fhir(engine, nothing, now=NOW, since=NOW)
    assert result.counts == {}
    assert json.loads((nothing / "manifest.json").read_text(encoding="utf-8"))["output"] == []


def test_types_are_chosen(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    out = tmp_path / "obs"
    result = export_fhir(engine, out, now=NOW, types=["Observation"])
    assert set(result.counts) == {"Observation"}
    assert sorted(p.name for p in out.iterdir()) == ["Observation.ndjson", "manifest.json"]
    with pytest.raises(ExportError, match="unknown resource type Obsrvation"):
        export_fhir(engine, out, now=NOW, types=["Obsrvation"])


def test_a_failure_midway_leaves_no_final_file(
    engine: Engine,
    stored: tuple[list[ReadingRow], list[ReadingRow]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mapping fails on the alerts, after the readings were written: no file under a final
    name (nor a temporary one) is left, and no audit row claims an export."""
    out = tmp_path / "broken"

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("mapping broke")

    written: list[int] = []
    real = fhir_ndjson._Files.commit

    def spy(self: fhir_ndjson._Files) -> list[Path]:
        written.append(1)
        return real(self)

    monkeypatch.setattr(fhir_ndjson, "detected_issue", broken)
    monkeypatch.setattr(fhir_ndjson._Files, "commit", spy)
    with pytest.raises(RuntimeError, match="mapping broke"):
        export_fhir(engine, out, now=NOW)
    assert list(out.iterdir()) == []
    assert written == []
    with Session(engine) as session:
        assert session.scalars(select(AuditRow).where(AuditRow.action == "export")).all() == []


def test_a_failed_export_leaves_the_previous_one_alone(
    engine: Engine,
    stored: tuple[list[ReadingRow], list[ReadingRow]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "daily"
    export_fhir(engine, out, now=NOW, since=CUT)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("mapping broke")

    monkeypatch.setattr(fhir_ndjson, "closing_note", broken)
    with pytest.raises(RuntimeError):
        export_fhir(engine, out, now=NOW + timedelta(hours=1))  # everything, closed alert too
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_observations_were_written_before_the_failure(
    engine: Engine,
    stored: tuple[list[ReadingRow], list[ReadingRow]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failure test above is not vacuous: when it fails the Observations' temporary file
    already holds lines (removed by the abort)."""
    sizes: dict[str, int] = {}
    real = fhir_ndjson._Files.abort

    def spy(self: fhir_ndjson._Files) -> None:
        for kind, handle in self.handles.items():
            handle.flush()
            sizes[kind] = self.temp[kind].stat().st_size
        real(self)

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("mapping broke")

    monkeypatch.setattr(fhir_ndjson, "detected_issue", broken)
    monkeypatch.setattr(fhir_ndjson._Files, "abort", spy)
    with pytest.raises(RuntimeError):
        export_fhir(engine, tmp_path / "broken", now=NOW)
    assert sizes["Observation"] > 0


def test_audit_row(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    result = export_fhir(engine, tmp_path / "a", now=NOW, since=CUT, os_user="kari")
    with Session(engine) as session:
        row = session.scalars(select(AuditRow).where(AuditRow.action == "export")).one()
    assert row.actor == "dho export fhir"
    assert row.at == NOW
    assert row.details["os_user"] == "kari"
    assert _instant(row.details["since"]) == CUT
    assert row.details["counts"] == result.counts


# ----------------------------------------------------------------------------- the command


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from triage.storage.database import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def test_cli_exports_and_audits(sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(
        app, ["export", "fhir", "--out", str(out), "--database-url", sqlite_url]
    )
    assert result.exit_code == 0, result.output
    assert "manifest.json" in result.output
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["output"] == []
    from triage.storage.database import make_engine

    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        row = session.scalars(select(AuditRow)).one()
    engine.dispose()
    assert row.actor == "dho export fhir"
    assert row.details["os_user"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--since", "2026-13-01"], 2, "--since '2026-13-01': expected YYYY-MM-DD"),
        (["--since", "last tuesday"], 2, "expected YYYY-MM-DD or an ISO datetime"),
        (["--type", "Observaton"], 1, "unknown resource type Observaton"),
    ],
)
def test_cli_errors(
    sqlite_url: str, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = CliRunner().invoke(
        app,
        ["export", "fhir", "--out", str(tmp_path / "o"), "--database-url", sqlite_url, *args],
    )
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_cli_unwritable_folder(sqlite_url: str, tmp_path: Path) -> None:
    """A folder that cannot be made (a file stands in its way; permissions do not stop root,
    who runs CI)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        app,
        ["export", "fhir", "--out", str(blocker / "out"), "--database-url", sqlite_url],
    )
    assert result.exit_code == 1, result.output
    assert f"cannot write to {blocker / 'out'}" in result.output


def test_parse_since() -> None:
    assert parse_since("2026-12-01") == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert parse_since("2026-12-01T08:00:00+01:00") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert parse_since("2026-12-01T08:00:00Z") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_since("2026-07-01T08:00") == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # summer
    with pytest.raises(ExportError):
        parse_since("01.12.2026")


def test_one_snapshot(
    engine: Engine,
    stored: tuple[list[ReadingRow], list[ReadingRow]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer set committed while the readings are being exported is not in the same
    export's QuestionnaireResponses (one snapshot: REPEATABLE READ on PostgreSQL, one read
    transaction in SQLite's WAL; READ COMMITTED, or SQLite without a transaction, would show it
    to the later query)."""
    real = reading_observations
    done: list[bool] = []

    def and_commit_a_report(reading: Any, refs: Any) -> list[dict[str, Any]]:
        if not done:
            done.append(True)
            with Session(engine) as session, session.begin():
                template = session.get(ReportRow, "new-report")
                assert template is not None
                session.add(
                    ReportRow(
                        id="during-export",
                        patient_id=template.patient_id,
                        gateway_id=template.gateway_id,
                        questionnaire=template.questionnaire,
                        answered_at=NOW,
                        received_at=NOW,
                        stored_at=NOW,
                        answers=template.answers,
                        findings=[],
                        flags=[],
                    )
                )
        return real(reading, refs)

    monkeypatch.setattr(fhir_ndjson, "reading_observations", and_commit_a_report)
    out = tmp_path / "snapshot"
    export_fhir(engine, out, now=NOW)
    assert done
    assert set(_by_identifier(_lines(out, "QuestionnaireResponse"))) == {
        "old-report",
        "new-report",
    }
    later = tmp_path / "later"
    monkeypatch.setattr(fhir_ndjson, "reading_observations", real)
    export_fhir(engine, later, now=NOW)
    assert "during-export" in _by_identifier(_lines(later, "QuestionnaireResponse"))


def test_cli_database_that_is_not_dho(tmp_path: Path) -> None:
    """A database without DHO's tables: a plain message, exit 1, no files."""
    empty = tmp_path / "empty.sqlite3"
    result = CliRunner().invoke(
        app,
        ["export", "fhir", "--out", str(tmp_path / "o"), "--database-url", f"sqlite:///{empty}"],
    )
    assert result.exit_code == 1, result.output
    assert "cannot read the database" in result.output
    assert "no such table" in result.output
    assert list((tmp_path / "o").iterdir()) == []


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str):
            yield reference
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def test_every_reference_resolves_within_a_full_export(
    engine: Engine, stored: tuple[list[ReadingRow], list[ReadingRow]], tmp_path: Path
) -> None:
    out = tmp_path / "full"
    export_fhir(engine, out, now=NOW)
    ids = {f"{kind}/{r['id']}" for kind in RESOURCE_TYPES for r in _lines(out, kind)}
    references = {ref for kind in RESOURCE_TYPES for ref in _references(_lines(out, kind))}
    assert any(ref.startswith("CarePlan/") for ref in references)
    assert references - ids == set()
