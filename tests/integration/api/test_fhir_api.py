"""The FHIR R4 REST API (read) under /fhir/r4 over real HTTP (SQLite and PostgreSQL): access by
role and tenant with the audit log, paging, the date and code filters, the content type, the
OperationOutcome of every error, and every resource against the official FHIR R4 JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.fhir_schema import assert_valid
from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld, Login
from tests.integration.api.test_timeline import send_report
from tests.integration.api.test_worklist import audit_rows, ingest, reading
from tests.integration.test_ingest_pipeline import COPD_CALM, report
from triage.storage import seed
from triage.storage.models import CentreRow

FHIR = "/fhir/r4"
FHIR_JSON = "application/fhir+json; charset=utf-8"
REASON = "support case 2026-119: FHIR export checked"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


#: a-copd's readings: (id, kind, values, measured at UTC) — Oslo is UTC+1 in November, so
#: "o18-late" (23:30 UTC on the 18th) is on the 19th in the patient's zone
READINGS: list[tuple[str, str, dict[str, float], datetime]] = [
    ("o16", "spo2", {"spo2": 95, "pulse": 72}, utc("2026-11-16T08:00:00+00:00")),
    (
        "o17",
        "blood_pressure",
        {"systolic": 128, "diastolic": 78, "pulse": 70},
        utc("2026-11-17T08:00:00+00:00"),
    ),
    ("o18", "heart_rate", {"pulse": 71}, utc("2026-11-18T08:00:00+00:00")),
    ("o18-late", "spo2", {"spo2": 96, "pulse": 74}, utc("2026-11-18T23:30:00+00:00")),
    ("o19", "spo2", {"spo2": 94, "pulse": 75}, utc("2026-11-19T08:00:00+00:00")),
    ("o20", "body_weight", {"weight": 81.5}, utc("2026-11-20T08:00:00+00:00")),
    (
        "o21",
        "blood_pressure",
        {"systolic": 131, "diastolic": 82, "pulse": 68},
        utc("2026-11-21T08:00:00+00:00"),
    ),
    ("o22", "heart_rate", {"pulse": 69}, utc("2026-11-22T08:00:00+00:00")),
]
#: every Observation's identifier (the reading id; ":pulse" for the heart rate split off)
ALL_OBSERVATIONS = {
    "o16", "o16:pulse", "o17", "o17:pulse", "o18", "o18-late", "o18-late:pulse",
    "o19", "o19:pulse", "o20", "o21", "o21:pulse", "o22",
}  # fmt: skip


@pytest.fixture
def copd(sessions: sessionmaker[Session], api_world: ApiWorld) -> str:
    """a-copd with the readings above and a lead of centre A; the patient's id."""
    ingest(
        sessions,
        api_world,
        "a-copd",
        *(reading(id_, kind, values, at) for id_, kind, values, at in READINGS),
    )
    with sessions.begin() as session:
        centre = session.get(CentreRow, api_world.centre_a)
        assert centre is not None
        seed.add_user(
            session,
            username="lead-a",
            display_name="Leder A",
            role="lead",
            now=NOW,
            password=PASSWORD,
            centres=[centre],
        )
    return api_world.patients["a-copd"].id


def fhir_get(
    http: httpx.Client, path: str, headers: dict[str, str], expect: int = 200, **params: Any
) -> dict[str, Any]:
    """GET a FHIR path (or a full URL from a link); checks status, content type and schema."""
    url = path if path.startswith("http") else FHIR + path
    response = http.get(url, headers=headers, params=params or None)
    assert response.status_code == expect, response.text
    assert response.headers["content-type"] == FHIR_JSON
    body: dict[str, Any] = response.json()
    assert_valid(body)
    if expect >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"]
        assert body["issue"][0]["severity"] == "error"
    return body


def issue_code(body: dict[str, Any]) -> str:
    code: str = body["issue"][0]["code"]
    return code


def link(bundle: dict[str, Any], relation: str) -> str | None:
    for item in bundle.get("link", []):
        if item["relation"] == relation:
            url: str = item["url"]
            return url
    return None


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def identifiers(bundle: dict[str, Any]) -> list[str]:
    return [r["identifier"][0]["value"] for r in resources(bundle)]


def references(value: Any) -> Iterator[str]:
    """Every literal reference (``{"reference": "Type/id"}``) anywhere in ``value``."""
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str):
            yield reference
        for child in value.values():
            yield from references(child)
    elif isinstance(value, list):
        for child in value:
            yield from references(child)


def walk(
    http: httpx.Client, headers: dict[str, str], first: str, **params: Any
) -> list[dict[str, Any]]:
    """Every page of a search, following link.next until it is absent."""
    pages = [fhir_get(http, first, headers, **params)]
    while (following := link(pages[-1], "next")) is not None:
        pages.append(fhir_get(http, following, headers))
        assert len(pages) < 100, "link.next never ends"
    return pages


# ----------------------------------------------------------------------------- access


def test_each_role_reads_only_its_own_patients_and_every_answer_is_audited(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    login: Login,
    copd: str,
) -> None:
    """Nurse of the centre and the patient's GP read; the other centre's nurse, another GP, a
    lead and an admin without a reason get 403 OperationOutcome (forbidden); no token 401
    (login). Each answer leaves an audit row with the resource and the parameters."""
    allowed = {
        "nurse-a": login(http, "nurse-a"),
        "gp-1": login(http, "gp-1"),
        "admin": login(http, "admin", reason=REASON),
    }
    refused = {
        "nurse-b": login(http, "nurse-b"),
        "gp-2": login(http, "gp-2"),
        "lead-a": login(http, "lead-a"),
        "admin-no-reason": login(http, "admin"),
    }
    for name, headers in allowed.items():
        found = fhir_get(http, f"/Patient/{copd}", headers)
        assert (found["resourceType"], found["id"]) == ("Patient", copd), name
        bundle = fhir_get(http, "/Observation", headers, patient=copd, code="8867-4")
        assert bundle["type"] == "searchset", name
    for name, headers in refused.items():
        for path, params in (
            (f"/Patient/{copd}", {}),
            ("/Observation", {"patient": copd}),
            ("/Flag", {"patient": f"Patient/{copd}"}),
            (f"/Patient/{copd}/$everything", {}),
        ):
            body = fhir_get(http, path, headers, 403, **params)
            assert issue_code(body) == "forbidden", (name, path)
    for path in (f"/Patient/{copd}", "/Observation", "/DetectedIssue"):
        body = fhir_get(http, path, {}, 401, patient=copd)
        assert issue_code(body) == "login"
    response = http.get(f"{FHIR}/Patient/{copd}")
    assert response.headers["www-authenticate"].startswith("Bearer")

    rows = audit_rows(sessions, object_type="fhir", patient_id=copd)
    by_actor: dict[str, list[Any]] = {}
    for row in rows:
        by_actor.setdefault(row.actor, []).append(row)
    assert {r.outcome for r in by_actor["nurse-a"]} == {"allowed"}
    search = next(r for r in by_actor["nurse-a"] if r.action == "search")
    assert search.details["resource"] == "Observation"
    assert search.details["params"] == {"patient": [copd], "code": ["8867-4"]}
    assert [r.details["resource"] for r in by_actor["gp-2"]] == [
        "Patient",
        "Observation",
        "Flag",
        "Patient",
    ]
    for actor in ("nurse-b", "gp-2", "lead-a"):
        assert {r.outcome for r in by_actor[actor]} == {"refused"}, actor
        assert all(r.details["refused"] for r in by_actor[actor])
    assert by_actor["admin"][0].reason == REASON


def test_the_lead_is_refused_before_any_patient_is_named(
    http: httpx.Client, login: Login, copd: str, sessions: sessionmaker[Session]
) -> None:
    """A lead asking for an unknown patient gets 404 (audited) — never data; searches without a
    patient are 400 for everyone."""
    headers = login(http, "lead-a")
    assert issue_code(fhir_get(http, "/Patient/no-such-patient", headers, 404)) == "not-found"
    assert audit_rows(sessions, object_id="no-such-patient")[0].outcome == "refused"
    for resource in ("Observation", "DetectedIssue", "CarePlan", "Flag", "QuestionnaireResponse"):
        body = fhir_get(http, f"/{resource}", headers, 400)
        assert "patient" in body["issue"][0]["diagnostics"]


# ----------------------------------------------------------------------------- errors


def test_every_error_on_fhir_paths_is_an_operation_outcome(
    http: httpx.Client, login: Login, copd: str
) -> None:
    headers = login(http, "nurse-a")
    assert issue_code(fhir_get(http, "/Patient/unknown-id", headers, 404)) == "not-found"
    assert issue_code(fhir_get(http, "/NoSuchType", headers, 404)) == "not-found"
    assert (
        issue_code(fhir_get(http, "/Observation", headers, 400, patient=copd, date="2026-13-01"))
        == "invalid"
    )
    assert (
        issue_code(fhir_get(http, "/Observation", headers, 400, patient=copd, date="ap2026-11-01"))
        == "not-supported"
    )
    assert (
        issue_code(fhir_get(http, "/Observation", headers, 400, patient=copd, _count="many"))
        == "invalid"
    )
    assert (
        issue_code(fhir_get(http, "/Observation", headers, 400, patient=copd, _cursor="not-ours"))
        == "invalid"
    )
    assert (
        issue_code(fhir_get(http, "/Observation", headers, 400, patient=f"{copd},x")) == "invalid"
    )
    # a cursor of another search is refused
    page = fhir_get(http, "/Observation", headers, patient=copd, _count=1)
    cursor = str(httpx.URL(link(page, "next") or "").params["_cursor"])
    other = fhir_get(
        http, "/Observation", headers, 400, patient=copd, code="8867-4", _cursor=cursor
    )
    assert "_cursor" in other["issue"][0]["diagnostics"]
    # the method, the format, NUL in the query
    response = http.post(f"{FHIR}/Patient/{copd}", headers=headers, json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == FHIR_JSON
    assert response.json()["resourceType"] == "OperationOutcome"
    too_large = http.request(
        "GET", f"{FHIR}/Patient/{copd}", headers=headers, content=b"x" * 2_000_000
    )
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == FHIR_JSON
    assert too_large.json()["issue"][0]["code"] == "too-long"
    xml = {**headers, "Accept": "application/fhir+xml"}
    assert issue_code(fhir_get(http, f"/Patient/{copd}", xml, 406)) == "not-supported"
    assert (
        issue_code(fhir_get(http, f"/Patient/{copd}", headers, 406, _format="xml"))
        == "not-supported"
    )
    nul = fhir_get(http, "/Observation", headers, 422, patient=copd, code="a\x00b")
    assert issue_code(nul) == "invalid"
    # the rest of the API keeps problem details
    other_api = http.get("/api/v1/patients/unknown-id", headers=headers)
    assert other_api.status_code == 404
    assert other_api.headers["content-type"] == "application/problem+json"


def test_unknown_parameters_are_ignored_or_refused_with_strict_handling(
    http: httpx.Client, login: Login, copd: str
) -> None:
    headers = login(http, "nurse-a")
    lenient = fhir_get(http, "/Observation", headers, patient=copd, code="8867-4", colour="red")
    self_url = httpx.URL(link(lenient, "self") or "")
    assert "colour" not in self_url.params
    assert (self_url.params["code"], self_url.params["patient"]) == ("8867-4", copd)
    strict = {**headers, "Prefer": "handling=strict"}
    body = fhir_get(http, "/Observation", strict, 400, patient=copd, colour="red")
    assert issue_code(body) == "not-supported"
    assert "colour" in body["issue"][0]["diagnostics"]


# ----------------------------------------------------------------------------- paging


def test_paging_gives_every_observation_exactly_once_even_when_readings_arrive(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    login: Login,
    copd: str,
) -> None:
    """_count=2 walks all 13 Observations (a BP or SpO2 reading gives two, which may fall on
    two pages), newest first, once each; the last page has no next link. A reading stored
    while paging does not shift the pages."""
    headers = login(http, "nurse-a")
    first = fhir_get(http, "/Observation", headers, patient=copd, _count=2)
    assert len(resources(first)) == 2
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("o23", "spo2", {"spo2": 95, "pulse": 70}, NOW - timedelta(minutes=5)),
    )
    pages = [first]
    while (following := link(pages[-1], "next")) is not None:
        pages.append(fhir_get(http, following, headers))
    seen = [value for page in pages for value in identifiers(page)]
    assert len(seen) == len(set(seen)) == len(ALL_OBSERVATIONS)
    assert set(seen) == ALL_OBSERVATIONS
    assert [len(resources(page)) for page in pages] == [2] * 6 + [1]
    times = [r["effectiveDateTime"] for page in pages for r in resources(page)]
    assert [utc(t) for t in times] == sorted((utc(t) for t in times), reverse=True)
    # a fresh search sees the new reading first
    assert identifiers(fhir_get(http, "/Observation", headers, patient=copd, _count=2))[0] == "o23"
    # exactly _count on the last page (15 with o23): no next link after it
    exact = walk(http, headers, "/Observation", patient=copd, _count=5)
    assert [len(resources(p)) for p in exact] == [5, 5, 5]
    assert link(exact[-1], "next") is None


def test_everything_pages_through_the_whole_record_once(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    login: Login,
    copd: str,
) -> None:
    send_report(sessions, api_world, "a-copd", report("rep-1", COPD_CALM, NOW - timedelta(hours=2)))
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("red-1", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=5)),
    )
    metered = json.loads(reading("m-1", "spo2", {"spo2": 95}, NOW - timedelta(hours=3)))
    for n, address in enumerate(("A4:C1:38:00:00:01", "A4:C1:38:00:00:01", "A4:C1:38:00:00:02")):
        metered |= {
            "id": f"m-{n}",
            "device": {"profile": "spo2", "model": f"v{n}", "address": address},
        }
        ingest(sessions, api_world, "a-copd", json.dumps(metered).encode())
    headers = login(http, "gp-1")
    whole = fhir_get(http, f"/Patient/{copd}/$everything", headers, _count=500)
    assert link(whole, "next") is None
    everything = resources(whole)
    keys = [(r["resourceType"], r["id"]) for r in everything]
    assert len(keys) == len(set(keys))
    types = {t for t, _ in keys}
    assert {"Patient", "Device", "Observation", "QuestionnaireResponse", "CarePlan", "Goal",
            "Flag", "DetectedIssue"} <= types  # fmt: skip
    assert keys[0] == ("Patient", copd)
    assert keys[1] == ("Practitioner", api_world.users["gp-1"])
    # the record is whole: every literal reference in it resolves to an entry of it
    present = {f"{t}/{i}" for t, i in keys}
    dangling = {ref for r in everything for ref in references(r)} - present
    assert not dangling
    assert {"CarePlan", "Device", "Observation", "Patient"} <= {
        ref.split("/")[0] for r in everything for ref in references(r)
    }
    devices = [r for r in everything if r["resourceType"] == "Device"]
    macs = [i["value"] for d in devices for i in d.get("identifier", []) if "eui-48" in i["system"]]
    assert sorted(macs) == ["A4-C1-38-00-00-01", "A4-C1-38-00-00-02"]  # one Device per meter
    observations = [
        r
        for r in everything
        if r["resourceType"] == "Observation" and r["identifier"][0]["value"].startswith("m-")
    ]
    assert len(observations) == 3
    assert len({ref for o in observations for ref in references(o.get("device"))}) == 2
    pages = walk(http, headers, f"/Patient/{copd}/$everything", _count=2)
    paged = [(r["resourceType"], r["id"]) for page in pages for r in resources(page)]
    assert paged == keys
    assert all(len(resources(page)) == 2 for page in pages[:-1])


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # the patient's days (Europe/Oslo): o18-late (23:30 UTC on the 18th) is on the 19th
        ({"date": "2026-11-18"}, {"o18"}),
        ({"date": "eq2026-11-19"}, {"o18-late", "o18-late:pulse", "o19", "o19:pulse"}),
        (
            {"date": ["ge2026-11-18", "lt2026-11-20"]},
            {"o18", "o18-late", "o18-late:pulse", "o19", "o19:pulse"},
        ),
        ({"date": "gt2026-11-20"}, {"o21", "o21:pulse", "o22"}),
        ({"date": "le2026-11-16"}, {"o16", "o16:pulse"}),
        ({"date": "lt2026-11"}, set()),
        ({"date": "ne2026-11"}, set()),
        (
            {"date": ["ge2026-11-18T09:00:00+01:00", "le2026-11-18T23:30:00Z"]},
            {"o18", "o18-late", "o18-late:pulse"},
        ),
        (
            {"date": "gt2026-11-18T09:00:00+01:00"},
            {"o18-late", "o18-late:pulse", "o19", "o19:pulse", "o20", "o21", "o21:pulse", "o22"},
        ),
        ({"date": "sa2026-11-21"}, {"o22"}),
        ({"date": "eb2026-11-17"}, {"o16", "o16:pulse"}),
        # codes: heart rate is the pulse split from BP and SpO2 and the heart-rate readings
        (
            {"code": "http://loinc.org|8867-4"},
            {"o16:pulse", "o17:pulse", "o18", "o18-late:pulse", "o19:pulse", "o21:pulse", "o22"},
        ),
        ({"code": "85354-9"}, {"o17", "o21"}),
        ({"code": "http://loinc.org|59408-5"}, {"o16", "o18-late", "o19"}),
        ({"code": "http://snomed.info/sct|85354-9"}, set()),
        ({"code": "29463-7,85354-9"}, {"o17", "o20", "o21"}),
        ({"code": "85354-9", "date": "ge2026-11-20"}, {"o21"}),
        (
            {
                "category": "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
                "code": "29463-7",
            },
            {"o20"},
        ),
        ({"category": "laboratory"}, set()),
    ],
)
def test_date_prefixes_and_codes_select_exactly_the_right_observations(
    http: httpx.Client, login: Login, copd: str, params: dict[str, Any], expected: set[str]
) -> None:
    headers = login(http, "nurse-a")
    pages = walk(http, headers, "/Observation", patient=copd, _count=3, **params)
    found = [value for page in pages for value in identifiers(page)]
    assert len(found) == len(set(found))
    assert set(found) == expected


# ----------------------------------------------------------------------------- other resources


def test_alerts_plans_colour_and_answers_as_resources(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    login: Login,
    copd: str,
) -> None:
    """A red SpO2 opens an alert: a DetectedIssue implicating its Observation, a red Flag; the
    approved plan is the active CarePlan; a report is a QuestionnaireResponse."""
    headers = login(http, "nurse-a")
    green_flag = resources(fhir_get(http, "/Flag", headers, patient=copd))
    assert len(green_flag) == 1
    assert resources(fhir_get(http, "/DetectedIssue", headers, patient=copd)) == []
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("red-1", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=5)),
    )
    send_report(sessions, api_world, "a-copd", report("rep-1", COPD_CALM, NOW - timedelta(hours=2)))

    issues = resources(fhir_get(http, "/DetectedIssue", headers, patient=copd))
    assert issues  # the SpO2 rule's alert and any other rule the reading broke
    for issue in issues:  # the breaching SpO2 Observation, not the normal pulse split off
        assert [ref["reference"] for ref in issue["implicated"]] == ["Observation/red-1"]
    before = fhir_get(http, "/DetectedIssue", headers, patient=copd, date="lt2026-11-23")
    assert resources(before) == []
    today = fhir_get(http, "/DetectedIssue", headers, patient=copd, date="ge2026-11-23")
    assert len(resources(today)) == len(issues)

    [flag] = resources(fhir_get(http, "/Flag", headers, patient=copd))
    assert [c["code"] for c in green_flag[0]["code"]["coding"]] == ["green"]
    assert [c["code"] for c in flag["code"]["coding"]] == ["red"]
    assert flag["status"] == "active"
    assert flag["period"]["start"].startswith("2026-11-23T09:25:00")  # the alert, Oslo time

    active = fhir_get(http, "/CarePlan", headers, patient=copd, status="active")
    [plan] = resources(active)
    assert plan["status"] == "active"
    assert active["total"] == 1
    assert resources(fhir_get(http, "/CarePlan", headers, patient=copd, status="completed")) == []

    bundle = fhir_get(http, "/QuestionnaireResponse", headers, patient=copd)
    [answers] = resources(bundle)
    assert answers["resourceType"] == "QuestionnaireResponse"
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/r4/QuestionnaireResponse/{answers['id']}")
    # the report's score is an Observation too (category survey), merged with the readings
    survey = fhir_get(http, "/Observation", headers, patient=copd, category="survey")
    assert identifiers(survey) == ["rep-1:score"]
    everything = identifiers(fhir_get(http, "/Observation", headers, patient=copd, _count=3))
    assert everything == ["red-1", "red-1:pulse", "rep-1:score"]
    authored = fhir_get(
        http, "/QuestionnaireResponse", headers, patient=copd, authored="2026-11-23"
    )
    assert resources(authored) == [answers]
    assert (
        resources(
            fhir_get(http, "/QuestionnaireResponse", headers, patient=copd, date="lt2026-11-23")
        )
        == []
    )


def test_every_resource_a_search_gives_can_be_read_by_its_id(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    login: Login,
    copd: str,
) -> None:
    """Observation (a reading's, its pulse, a score), QuestionnaireResponse, DetectedIssue,
    CarePlan and Flag: read by the id the search gave, the same resource; another centre's
    nurse 403, an unknown id 404 — audited with the resource's id."""
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("red-1", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=5)),
    )
    send_report(sessions, api_world, "a-copd", report("rep-1", COPD_CALM, NOW - timedelta(hours=2)))
    headers, other = login(http, "nurse-a"), login(http, "nurse-b")
    searched = [
        *resources(fhir_get(http, "/Observation", headers, patient=copd, date="ge2026-11-23")),
        *resources(fhir_get(http, "/QuestionnaireResponse", headers, patient=copd)),
        *resources(fhir_get(http, "/DetectedIssue", headers, patient=copd)),
        *resources(fhir_get(http, "/CarePlan", headers, patient=copd)),
        *resources(fhir_get(http, "/Flag", headers, patient=copd)),
    ]
    assert {r["resourceType"] for r in searched} == {
        "Observation", "QuestionnaireResponse", "DetectedIssue", "CarePlan", "Flag"
    }  # fmt: skip
    assert {"red-1", "red-1.pulse", "rep-1.score"} <= {r["id"] for r in searched}
    for resource in searched:
        path = f"/{resource['resourceType']}/{resource['id']}"
        assert fhir_get(http, path, headers) == resource, path
        assert issue_code(fhir_get(http, path, other, 403)) == "forbidden", path
    for path in ("/Observation/nothing", "/Observation/red-1.colour", "/Observation/rep-1",
                 "/CarePlan/nothing.v1", f"/Flag/{copd}", "/DetectedIssue/nothing"):  # fmt: skip
        assert issue_code(fhir_get(http, path, headers, 404)) == "not-found", path
    read = audit_rows(sessions, object_type="fhir", object_id="red-1.pulse")
    assert [(r.actor, r.outcome, r.details["resource"]) for r in read] == [
        ("nurse-a", "allowed", "Observation"),
        ("nurse-b", "refused", "Observation"),
    ]
    assert read[0].patient_id == copd
    assert audit_rows(sessions, object_id="nothing.v1")[0].outcome == "refused"


def test_the_capability_statement_is_open_and_valid(http: httpx.Client) -> None:
    statement = fhir_get(http, "/metadata", {})
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"].startswith("4.0")
    [rest] = statement["rest"]
    assert "patient=<id>" in rest["documentation"]
    searches = {
        r["type"]: sorted(p["name"] for p in r.get("searchParam", [])) for r in rest["resource"]
    }
    assert searches["Observation"] == ["category", "code", "date", "patient"]
    assert searches["QuestionnaireResponse"] == ["authored", "date", "patient"]
    assert searches["Patient"] == []
