"""The journal write-back over real HTTP (SQLite and PostgreSQL): a nurse resolves an alert
through the API, the closing's FHIR transaction Bundle lands in the journal outbox in the same
transaction, and the journal sender POSTs it to the test FHIR server (Node,
tests/fhir_server/server.js), which validates every entry against the official FHIR R4 JSON
Schema and honours ifNoneExist. Every sender run is given an explicit ``now``; nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fhir_schema import assert_valid
from tests.fhir_server import TOKEN, FhirServer
from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from tests.integration.api.test_alerts import red_alert
from tests.integration.api.test_metrics import scrape, value
from tests.integration.api.test_worklist import worklist
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.alerts import OpenAlert
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.undelivered import journal_undelivered_finding
from triage.jobs import send_journal
from triage.jobs.journal import lease_for, retry_delay
from triage.journal.implicated import implicated
from triage.storage import repositories
from triage.storage.models import (
    AlertRow,
    AuditRow,
    JournalAttemptRow,
    JournalEntryRow,
)

Sessions = sessionmaker[Session]
API = "/api/v1"
BASE_S = 60.0
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def _settings(server: FhirServer, **changes: Any) -> Settings:
    return Settings(
        demo=True,
        fhir_journal_url=server.base_url,
        fhir_journal_max_attempts=changes.pop("max_attempts", 6),
        fhir_journal_retry_base_s=BASE_S,
        fhir_journal_retry_max_s=3600,
        fhir_journal_timeout_s=10,
        **changes,
    )


@pytest.fixture
def journalling(
    sessions: Sessions, api_world: ApiWorld, fhir_server: FhirServer
) -> Iterator[httpx.Client]:
    """The API with the journal write-back pointed at the test FHIR server."""
    del api_world
    app = create_app(_settings(fhir_server), sessions, clock=lambda: NOW)
    with serving(app) as client:
        yield client


def _resolve(http: httpx.Client, headers: dict[str, str], alert_id: str) -> httpx.Response:
    acknowledged = http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=headers)
    assert acknowledged.status_code == 200, acknowledged.text
    return http.post(
        f"{API}/alerts/{alert_id}/resolve",
        json={"outcome": "advised_per_plan", "note": "Ny måling 95 %, ringte pasienten"},
        headers=headers,
    )


def _entries(sessions: Sessions) -> list[JournalEntryRow]:
    with sessions() as session:
        return list(session.scalars(select(JournalEntryRow).order_by(JournalEntryRow.created_at)))


def _attempts(sessions: Sessions, entry_id: str) -> list[JournalAttemptRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(JournalAttemptRow)
                .where(JournalAttemptRow.entry_id == entry_id)
                .order_by(JournalAttemptRow.at, JournalAttemptRow.id)
            )
        )


def _audits(sessions: Sessions, action: str) -> list[AuditRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditRow).where(
                    AuditRow.actor == "system:journal", AuditRow.action == action
                )
            )
        )


def _closed(sessions: Sessions, world: ApiWorld, http: httpx.Client, login: Login) -> str:
    """A red alert resolved by nurse-a through the API: the id of its journal entry."""
    alert_id = red_alert(sessions, world)
    resolved = _resolve(http, login(http, "nurse-a"), alert_id)
    assert resolved.status_code == 200, resolved.text
    [entry] = _entries(sessions)
    assert entry.alert_id == alert_id
    return entry.id


def _types(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


def _stored_counts(server: FhirServer) -> dict[str, int]:
    return {kind: len(found) for kind, found in server.store()["resources"].items()}


# ----------------------------------------------------------------------------- the outbox


def test_resolving_an_alert_writes_one_valid_bundle_in_the_outbox(
    sessions: Sessions, api_world: ApiWorld, journalling: httpx.Client, login: Login
) -> None:
    copd = api_world.patients["a-copd"]
    entry_id = _closed(sessions, api_world, journalling, login)

    [entry] = _entries(sessions)
    assert entry.id == entry_id
    assert (entry.patient_id, entry.centre_id) == (copd.id, api_world.centre_a)
    assert (entry.status, entry.attempts, entry.created_at, entry.due_at) == (
        "pending",
        0,
        NOW,
        NOW,
    )
    bundle = entry.bundle
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "transaction")
    assert_valid(bundle)
    types = _types(bundle)
    assert types.count("DetectedIssue") == 1
    assert types.count("Composition") == 1
    assert "Observation" in types  # the SpO2 86 % reading that opened the alert
    for item in bundle["entry"]:
        assert item["request"]["method"] == "POST"
        assert item["request"]["url"] == item["resource"]["resourceType"]
        assert item["request"]["ifNoneExist"].startswith("identifier=")


def test_a_refused_resolve_writes_nothing_and_a_second_resolve_is_refused(
    sessions: Sessions, api_world: ApiWorld, journalling: httpx.Client, login: Login
) -> None:
    nurse = login(journalling, "nurse-a")
    alert_id = red_alert(sessions, api_world)

    early = journalling.post(f"{API}/alerts/{alert_id}/resolve", headers=nurse)
    assert early.status_code == 409  # not acknowledged
    assert _entries(sessions) == []
    assert _resolve(journalling, nurse, alert_id).status_code == 200
    again = journalling.post(f"{API}/alerts/{alert_id}/resolve", headers=nurse)
    assert again.status_code == 409
    assert len(_entries(sessions)) == 1


def test_with_the_journal_off_resolving_writes_nothing(
    sessions: Sessions, api_world: ApiWorld, http: httpx.Client, login: Login
) -> None:
    alert_id = red_alert(sessions, api_world)
    assert _resolve(http, login(http, "nurse-a"), alert_id).status_code == 200
    assert _entries(sessions) == []
    result = send_journal(sessions, Settings(demo=True), NOW)
    assert (result.status, result.detail.get("journal_off")) == ("ok", 1)


def _open(sessions: Sessions, patient_id: str, finding: Finding) -> str:
    with sessions.begin() as session:
        [alert] = repositories.apply_alert_changes(
            session, [], [OpenAlert(patient_id=patient_id, finding=finding)]
        )
        return alert.id


def test_a_missing_measurement_is_journalled_without_data_and_a_service_alert_is_not(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    """VKP's "missing measurement" alert: the DetectedIssue and the note, nothing implicated,
    accepted by the server. A technical alert about the journal itself stays out of the record
    (journalling it would go to the endpoint that failed)."""
    copd = api_world.patients["a-copd"]
    nurse = login(journalling, "nurse-a")
    missing = _open(sessions, copd.id, _missing())
    service = _open(sessions, copd.id, journal_undelivered_finding(6, NOW - MINUTE))

    assert _resolve(journalling, nurse, missing).status_code == 200
    assert _resolve(journalling, nurse, service).status_code == 200

    [entry] = _entries(sessions)
    assert entry.alert_id == missing
    assert _types(entry.bundle) == ["DetectedIssue", "Composition"]
    assert_valid(entry.bundle)
    send_journal(sessions, _settings(fhir_server), NOW)
    assert _entries(sessions)[0].status == "sent"
    [issue] = fhir_server.resources("DetectedIssue")
    assert "implicated" not in issue


def test_the_alert_implicates_its_own_breaches_only_the_latest_when_many(
    sessions: Sessions, api_world: ApiWorld
) -> None:
    """The readings whose findings carry the alert's rule in yellow or red between its opening
    and its last breach; not a green one, not one of another alert; the latest when capped."""
    copd = api_world.patients["a-copd"]
    alert_id = red_alert(sessions, api_world)  # "red-1", SpO2 86 % five minutes ago
    ingest(
        sessions,
        copd.gateway_id,
        [
            ("red-2", "spo2", {"spo2": 85, "pulse": 90}, NOW - 4 * MINUTE),
            ("green-1", "spo2", {"spo2": 97, "pulse": 70}, NOW - 3 * MINUTE),
        ],
    )
    with sessions() as session:
        alert = session.get(AlertRow, alert_id)
        assert alert is not None
        assert alert.breaches == 2
        readings, reports = implicated(session, alert)
        assert [r.id for r in readings] == ["red-1", "red-2"]
        assert reports == []
        latest, _ = implicated(session, alert, limit=1)
        assert [r.id for r in latest] == ["red-2"]
        other = AlertRow(
            **{c: getattr(alert, c) for c in ("patient_id", "opened_at", "last_breach_at")}
        )
        other.rule_id = "threshold:pulse"
        assert implicated(session, other) == ([], [])


# ----------------------------------------------------------------------------- delivery


def test_the_sender_delivers_and_the_record_holds_the_closing(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    entry_id = _closed(sessions, api_world, journalling, login)
    [entry] = _entries(sessions)
    sent_types = _types(entry.bundle)

    result = send_journal(sessions, _settings(fhir_server), NOW)

    assert (result.status, result.detail.get("sent")) == ("ok", 1)
    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts, entry.sent_at, entry.last_error) == ("sent", 1, NOW, None)
    assert entry.claimed_until is None
    assert entry.answer is not None
    assert [e["status"] for e in entry.answer["entries"]] == ["201 Created"] * len(sent_types)
    [attempt] = _attempts(sessions, entry_id)
    assert (attempt.ok, attempt.http_status, attempt.at) == (True, 200, NOW)
    stored = fhir_server.store()["resources"]
    [issue] = stored["DetectedIssue"]
    assert len(stored["Composition"]) == 1
    assert len(stored["Observation"]) == sent_types.count("Observation") >= 1
    # the DetectedIssue points at what the server stored, not at the Bundle's urn:uuid
    observation_ids = {f"Observation/{o['id']}" for o in stored["Observation"]}
    implicated = {i["reference"] for i in issue.get("implicated", [])}
    assert implicated
    assert implicated <= observation_ids | {
        f"QuestionnaireResponse/{q['id']}" for q in stored.get("QuestionnaireResponse", [])
    }
    [audit] = _audits(sessions, "journal_delivered")
    assert (audit.object_id, audit.patient_id) == (entry_id, api_world.patients["a-copd"].id)
    # sent: a later run sends nothing more
    send_journal(sessions, _settings(fhir_server), NOW + timedelta(hours=1))
    assert len(_attempts(sessions, entry_id)) == 1


def test_a_bundle_sent_again_creates_nothing_new(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    """The answer is lost after the server stored the Bundle: the retry finds every resource
    (ifNoneExist) and the record holds each once; so does a re-queued Bundle."""
    entry_id = _closed(sessions, api_world, journalling, login)
    settings = _settings(fhir_server)
    fhir_server.fail(1, 504, after_store=True)

    send_journal(sessions, settings, NOW)
    after_first = _stored_counts(fhir_server)
    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts) == ("pending", 1)
    assert entry.last_error is not None
    assert entry.last_error.startswith("HTTP 504")
    send_journal(sessions, settings, NOW + retry_delay(settings, 1))

    [entry] = _entries(sessions)
    assert entry.status == "sent"
    assert entry.answer is not None
    assert {e["status"] for e in entry.answer["entries"]} == {"200 OK"}
    assert _stored_counts(fhir_server) == after_first
    assert after_first["DetectedIssue"] == 1
    with sessions.begin() as session:  # an operator re-queues it
        session.execute(
            update(JournalEntryRow)
            .where(JournalEntryRow.id == entry_id)
            .values(status="pending", due_at=NOW + timedelta(hours=2))
        )
    send_journal(sessions, settings, NOW + timedelta(hours=2))
    assert _entries(sessions)[0].status == "sent"
    assert _stored_counts(fhir_server) == after_first
    assert [t.get("created") for t in fhir_server.store()["transactions"]] == [
        after_first["DetectedIssue"]
        + after_first["Composition"]
        + after_first["Observation"]
        + after_first.get("QuestionnaireResponse", 0),
        0,
        0,
    ]


def test_two_failures_are_retried_with_doubling_waits_then_sent(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    entry_id = _closed(sessions, api_world, journalling, login)
    settings = _settings(fhir_server)
    fhir_server.fail(2, 503)

    send_journal(sessions, settings, NOW)
    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts, entry.due_at) == ("pending", 1, NOW + 60 * SECOND)
    send_journal(sessions, settings, NOW + 30 * SECOND)  # not due yet: nothing
    assert len(_attempts(sessions, entry_id)) == 1
    second = NOW + 60 * SECOND
    send_journal(sessions, settings, second)
    [entry] = _entries(sessions)
    assert (entry.attempts, entry.due_at) == (2, second + 120 * SECOND)
    third = second + 120 * SECOND
    send_journal(sessions, settings, third)

    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts, entry.sent_at) == ("sent", 3, third)
    attempts = _attempts(sessions, entry_id)
    assert [(a.at, a.ok, a.http_status) for a in attempts] == [
        (NOW, False, 503),
        (second, False, 503),
        (third, True, 200),
    ]
    assert "planned failure" in attempts[0].answer
    assert len(fhir_server.resources("DetectedIssue")) == 1


def test_a_bundle_never_accepted_dies_and_shows_on_the_worklist(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    copd = api_world.patients["a-copd"]
    entry_id = _closed(sessions, api_world, journalling, login)
    settings = _settings(fhir_server, max_attempts=3)
    fhir_server.fail(100, 503)
    at = NOW
    for attempt in range(1, 4):
        send_journal(sessions, settings, at)
        at += retry_delay(settings, attempt)

    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts, entry.sent_at) == ("dead", 3, None)
    assert entry.dead_at is not None
    assert len(_attempts(sessions, entry_id)) == 3
    send_journal(sessions, settings, at + timedelta(days=1))  # dead: never tried again
    assert len(_attempts(sessions, entry_id)) == 3
    [audit] = _audits(sessions, "journal_dead")
    assert (audit.object_id, audit.patient_id) == (entry_id, copd.id)
    with sessions() as session:
        [technical] = session.scalars(
            select(AlertRow).where(AlertRow.patient_id == copd.id, AlertRow.category == "technical")
        ).all()
    assert (technical.rule_id, technical.rule_type, technical.colour) == (
        "journal_undelivered",
        "journal",
        "yellow",
    )
    [item] = [
        i
        for i in worklist(journalling, login(journalling, "nurse-a"))
        if i["patient_id"] == copd.id
    ]
    [shown] = [a for a in item["alerts"] if a["category"] == "technical"]
    assert (shown["rule_id"], shown["state"]) == ("journal_undelivered", "open")
    assert "ble ikke journalført" in shown["reason"]["reason"]
    assert "3 forsøk" in shown["reason"]["reason"]
    assert item["lost_contact"] is False
    metrics = scrape(journalling)
    assert value(metrics, "dho_journal_dead_total") == 1
    assert value(metrics, "dho_journal_entries", status="dead") == 1


def test_the_servers_operation_outcome_is_kept_in_last_error(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    """A Bundle the server refuses (here one broken on purpose in the outbox) fails with the
    server's own diagnostics, and nothing of it is stored."""
    entry_id = _closed(sessions, api_world, journalling, login)
    [entry] = _entries(sessions)
    broken = entry.bundle
    issue = next(
        e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "DetectedIssue"
    )
    issue["severity"] = "catastrophic"  # not a DetectedIssue severity
    with sessions.begin() as session:
        session.execute(
            update(JournalEntryRow).where(JournalEntryRow.id == entry_id).values(bundle=broken)
        )

    send_journal(sessions, _settings(fhir_server), NOW)

    [entry] = _entries(sessions)
    assert (entry.status, entry.attempts) == ("pending", 1)
    assert entry.last_error is not None
    assert entry.last_error.startswith("HTTP 400: error invalid: Bundle.entry[")
    assert "(DetectedIssue) at /severity" in entry.last_error
    [attempt] = _attempts(sessions, entry_id)
    assert (attempt.ok, attempt.http_status) == (False, 400)
    assert fhir_server.store()["resources"] == {}


def test_the_bearer_token_comes_from_the_token_file(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server_with_token: FhirServer,
    tmp_path: Path,
) -> None:
    _closed(sessions, api_world, journalling, login)
    fhir_server_with_token.reset()
    token_file = tmp_path / "journal-token"
    token_file.write_text("wrong-token\n", encoding="utf-8")
    settings = _settings(fhir_server_with_token, fhir_journal_token_file=token_file)

    send_journal(sessions, settings, NOW)
    [entry] = _entries(sessions)
    assert entry.last_error is not None
    assert entry.last_error.startswith("HTTP 401")
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")  # rotated: read at every delivery
    send_journal(sessions, settings, NOW + retry_delay(settings, 1))

    assert _entries(sessions)[0].status == "sent"
    assert len(fhir_server_with_token.resources("DetectedIssue")) == 1


# ----------------------------------------------------------------------------- several senders


def _missing() -> Finding:
    """A yellow missing-SpO2 finding (the plan's 09:00 measurement)."""
    return Finding(
        rule_id="missing:spo2",
        rule_type=RuleType.MISSING,
        colour=Colour.YELLOW,
        at=NOW - 2 * MINUTE,
        message="missing",
        args={"what": {"key": "kind.spo2", "args": {}}, "due": "09:00", "date": "2026-11-23"},
    )


def test_two_senders_racing_deliver_each_bundle_once(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    nurse = login(journalling, "nurse-a")
    for name in ("a-copd", "a-hf", "a-diabetes"):
        patient_id = api_world.patients[name].id
        alert_id = _open(sessions, patient_id, _missing())
        assert _resolve(journalling, nurse, alert_id).status_code == 200
    entries = _entries(sessions)
    assert len(entries) == 3
    settings = _settings(fhir_server)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            send_journal(sessions, settings, NOW)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    transactions = fhir_server.store()["transactions"]
    assert [t["status"] for t in transactions] == [200, 200, 200]  # one POST per Bundle
    assert len(fhir_server.resources("DetectedIssue")) == 3
    for entry in _entries(sessions):
        assert entry.status == "sent"
        assert len(_attempts(sessions, entry.id)) == 1


def test_a_claimed_bundle_waits_for_the_lease_to_run_out(
    sessions: Sessions,
    api_world: ApiWorld,
    journalling: httpx.Client,
    login: Login,
    fhir_server: FhirServer,
) -> None:
    """A sender that died while delivering leaves its lease: the Bundle goes out once the lease
    has run out, not before."""
    entry_id = _closed(sessions, api_world, journalling, login)
    settings = _settings(fhir_server)
    lease = lease_for(settings)
    with sessions.begin() as session:
        session.execute(
            update(JournalEntryRow)
            .where(JournalEntryRow.id == entry_id)
            .values(claimed_until=NOW + lease)
        )

    send_journal(sessions, settings, NOW + lease - SECOND)
    assert _attempts(sessions, entry_id) == []
    send_journal(sessions, settings, NOW + lease + SECOND)
    assert _entries(sessions)[0].status == "sent"
