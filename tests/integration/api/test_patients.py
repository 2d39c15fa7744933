"""Patients over real HTTP (SQLite and PostgreSQL): enrolment, the scoped list, reading one
patient, changes, the enrolment states — and the refusals, each in the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login
from tests.integration.api.test_worklist import REASON, audit_rows
from triage.storage.models import PatientRow
from triage.storage.seed import synthetic_national_id


def enrolment(world: ApiWorld, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": "Testpasient ny",
        "national_id": synthetic_national_id(date(1950, 6, 15), 77),
        "condition": "copd",
        "municipality_id": world.municipalities["oyvik"],
        "centre_id": world.centre_a,
        "gp_user_id": world.users["gp-1"],
        "timezone": "Europe/Oslo",
    }
    body.update(changes)
    return body


def enrol(http: httpx.Client, headers: dict[str, str], world: ApiWorld) -> dict[str, Any]:
    response = http.post("/api/v1/patients", headers=headers, json=enrolment(world))
    assert response.status_code == 201, response.text
    patient: dict[str, Any] = response.json()
    return patient


# ----------------------------------------------------------------------------- enrolment


def test_a_nurse_enrols_a_patient_in_the_trial_period(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A nurse of centre A enrols a patient: state trial, names shown, the enrolment audited."""
    headers = login(http, "nurse-a")
    patient = enrol(http, headers, api_world)
    assert patient["state"] == "trial"
    assert patient["centre_name"] == "Oppfølgingstjenesten Testvik"
    assert patient["municipality_name"] == "Øyvik"
    assert patient["gp_name"] == "Fastlege En"
    assert patient["condition"] == "copd"
    assert patient["enrolled_at"].startswith("2026-11-23T08:30")
    read = http.get(f"/api/v1/patients/{patient['id']}", headers=headers)
    assert read.json() == patient
    [row] = audit_rows(sessions, action="enrol")
    assert (row.actor, row.outcome, row.patient_id) == ("nurse-a", "allowed", patient["id"])


def test_only_a_nurse_of_that_centre_may_enrol(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A nurse of another centre, a GP and an admin (even with a reason) are refused, and
    each refusal is audited; nobody was enrolled."""
    for user, reason in (("nurse-b", None), ("gp-1", None), ("admin", REASON)):
        response = http.post(
            "/api/v1/patients", headers=login(http, user, reason), json=enrolment(api_world)
        )
        assert response.status_code == 403, (user, response.text)
    refused = audit_rows(sessions, action="enrol", outcome="refused")
    assert [r.actor for r in refused] == ["nurse-b", "gp-1", "admin"]
    assert "another follow-up centre" in refused[0].details["refused"]
    listed = http.get("/api/v1/patients", headers=login(http, "nurse-a")).json()["items"]
    assert len(listed) == 3


def test_enrolment_checks_what_it_is_given(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """The centre must serve the municipality; the zone must be IANA; identities synthetic;
    the GP a GP; unknown fields are refused; a national id is enrolled once."""
    headers = login(http, "nurse-a")

    def post(**changes: Any) -> httpx.Response:
        return http.post("/api/v1/patients", headers=headers, json=enrolment(api_world, **changes))

    wrong_place = post(municipality_id=api_world.municipalities["provestad"])
    assert wrong_place.status_code == 422
    assert "does not serve municipality" in wrong_place.json()["detail"]
    zone = post(timezone="Europe/Atlantis")
    assert zone.status_code == 422
    assert zone.json()["errors"][0]["field"] == "body.timezone"
    real = post(national_id="01034612345")
    assert real.status_code == 422
    assert "synthetic" in real.json()["detail"]
    assert post(national_id="1234").status_code == 422
    not_gp = post(gp_user_id=api_world.users["nurse-a"])
    assert not_gp.status_code == 422
    assert "is not an active GP" in not_gp.json()["detail"]
    assert post(colour="red").status_code == 422
    assert post().status_code == 201
    again = post(display_name="Samme person")
    assert again.status_code == 409


# ----------------------------------------------------------------------------- reading


def test_the_patient_list_is_scoped_filtered_and_paged(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """nurse-a lists centre A's patients by name, gp-2 his own; filters and pages work; an
    admin needs a reason (the refusal audited)."""
    headers = login(http, "nurse-a")
    listed = http.get("/api/v1/patients", headers=headers).json()
    assert [p["display_name"] for p in listed["items"]] == [
        "Testpasient a-copd",
        "Testpasient a-diabetes",
        "Testpasient a-hf",
    ]
    gp = http.get("/api/v1/patients", headers=login(http, "gp-2")).json()["items"]
    assert sorted(p["id"] for p in gp) == sorted(
        [api_world.patients["a-diabetes"].id, api_world.patients["b-hypertension"].id]
    )
    filtered = http.get(
        "/api/v1/patients", headers=headers, params={"condition": "heart_failure"}
    ).json()["items"]
    assert [p["id"] for p in filtered] == [api_world.patients["a-hf"].id]
    first = http.get("/api/v1/patients", headers=headers, params={"limit": 2}).json()
    second = http.get(
        "/api/v1/patients", headers=headers, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [p["id"] for p in first["items"] + second["items"]] == [p["id"] for p in listed["items"]]
    assert second["next_cursor"] is None

    assert http.get("/api/v1/patients", headers=login(http, "admin")).status_code == 403
    [refused] = audit_rows(sessions, action="list", object_type="patients", outcome="refused")
    assert refused.actor == "admin"
    everyone = http.get("/api/v1/patients", headers=login(http, "admin", REASON)).json()
    assert len(everyone["items"]) == 5


def test_another_centres_nurse_or_gp_cannot_read_a_patient_and_is_audited(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """nurse-b (centre B) and gp-2 (not his GP) get 403 for a-copd; an unknown id is 404; all
    three are in the audit log as refused; the patient's own GP reads it (audited)."""
    copd = api_world.patients["a-copd"].id
    assert http.get(f"/api/v1/patients/{copd}", headers=login(http, "nurse-b")).status_code == 403
    assert http.get(f"/api/v1/patients/{copd}", headers=login(http, "gp-2")).status_code == 403
    missing = http.get("/api/v1/patients/nobody", headers=login(http, "nurse-a"))
    assert missing.status_code == 404
    refused = audit_rows(sessions, action="read", outcome="refused")
    assert [(r.actor, r.patient_id) for r in refused] == [
        ("nurse-b", copd),
        ("gp-2", copd),
        ("nurse-a", None),
    ]
    own = http.get(f"/api/v1/patients/{copd}", headers=login(http, "gp-1"))
    assert own.status_code == 200
    [allowed] = audit_rows(sessions, action="read", outcome="allowed")
    assert (allowed.actor, allowed.patient_id, allowed.object_type) == ("gp-1", copd, "patient")


# ----------------------------------------------------------------------------- changes


def test_a_nurse_assigns_herself_and_moves_the_patient_within_her_centre(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Assigning a nurse of the centre and changing municipality and GP work and are audited;
    a nurse of another centre cannot be assigned; a GP may not change enrolment."""
    copd = api_world.patients["a-copd"].id
    headers = login(http, "nurse-a")
    changed = http.patch(
        f"/api/v1/patients/{copd}",
        headers=headers,
        json={
            "assigned_nurse_id": api_world.users["nurse-a"],
            "municipality_id": api_world.municipalities["oyvik"],
            "gp_user_id": api_world.users["gp-2"],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["assigned_nurse_name"], body["municipality_name"], body["gp_name"]) == (
        "Sykepleier A",
        "Øyvik",
        "Fastlege To",
    )
    [row] = audit_rows(sessions, action="update", outcome="allowed")
    assert row.details["set"]["assigned_nurse_id"] == api_world.users["nurse-a"]
    other = http.patch(
        f"/api/v1/patients/{copd}",
        headers=headers,
        json={"assigned_nurse_id": api_world.users["nurse-b"]},
    )
    assert other.status_code == 422
    assert other.json()["detail"] == (
        f"user {api_world.users['nurse-b']} is not an active nurse of the patient's follow-up "
        "centre: choose one of its nurses (GET /colleagues)"
    )
    cleared = http.patch(
        f"/api/v1/patients/{copd}", headers=headers, json={"assigned_nurse_id": None}
    )
    assert cleared.json()["assigned_nurse_id"] is None
    gp = http.patch(
        f"/api/v1/patients/{copd}", headers=login(http, "gp-2"), json={"gp_user_id": None}
    )
    assert gp.status_code == 403


def test_moving_a_patient_to_another_centre_needs_a_nurse_of_both(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """nurse-a may not hand a patient to centre B (refused, audited); nurse-ab may, with a
    municipality centre B serves; nurse-a then no longer sees the patient."""
    copd = api_world.patients["a-copd"].id
    move = {
        "centre_id": api_world.centre_b,
        "municipality_id": api_world.municipalities["provestad"],
    }
    refused = http.patch(f"/api/v1/patients/{copd}", headers=login(http, "nurse-a"), json=move)
    assert refused.status_code == 403
    [row] = audit_rows(sessions, action="update", outcome="refused")
    assert (row.actor, row.patient_id) == ("nurse-a", copd)
    half = http.patch(
        f"/api/v1/patients/{copd}",
        headers=login(http, "nurse-ab"),
        json={"centre_id": api_world.centre_b},
    )
    assert half.status_code == 422
    moved = http.patch(f"/api/v1/patients/{copd}", headers=login(http, "nurse-ab"), json=move)
    assert moved.status_code == 200
    assert moved.json()["centre_name"] == "Oppfølgingstjenesten Prøvestad"
    assert http.get(f"/api/v1/patients/{copd}", headers=login(http, "nurse-a")).status_code == 403


def test_the_enrolment_states_and_their_audit_trail(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """trial → active → paused (reason, until) → active → discharged; each change audited."""
    headers = login(http, "nurse-a")
    patient_id = enrol(http, headers, api_world)["id"]
    url = f"/api/v1/patients/{patient_id}"
    assert http.post(f"{url}/activate", headers=headers).json()["state"] == "active"
    until = (NOW + timedelta(days=14)).date().isoformat()
    paused = http.post(
        f"{url}/pause", headers=headers, json={"reason": "innlagt på sykehus", "until": until}
    ).json()
    assert (paused["state"], paused["state_reason"], paused["paused_until"]) == (
        "paused",
        "innlagt på sykehus",
        until,
    )
    resumed = http.post(f"{url}/resume", headers=headers).json()
    assert (resumed["state"], resumed["state_reason"], resumed["paused_until"]) == (
        "active",
        None,
        None,
    )
    assert resumed["discharge_code"] is None
    discharged = http.post(
        f"{url}/discharge",
        headers=headers,
        json={"reason": "flyttet fra kommunen", "code": "moved"},
    ).json()
    assert (discharged["state"], discharged["state_reason"], discharged["discharge_code"]) == (
        "discharged",
        "flyttet fra kommunen",
        "moved",
    )
    assert http.get(url, headers=headers).json()["discharge_code"] == "moved"
    trail = [
        (r.action, r.details.get("to"))
        for r in audit_rows(sessions, patient_id=patient_id)
        if r.action != "read"
    ]
    assert trail == [
        ("enrol", None),
        ("activate", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("discharge", "discharged"),
    ]
    [discharge] = audit_rows(sessions, action="discharge")
    assert discharge.details["code"] == "moved"


def test_invalid_state_changes_are_409_with_what_is_allowed(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A trial patient cannot be paused or resumed; an active one not activated again; a
    discharged one stays discharged; a pause must end on a later day."""
    headers = login(http, "nurse-a")
    patient_id = enrol(http, headers, api_world)["id"]
    url = f"/api/v1/patients/{patient_id}"
    pause = {"reason": "ferie i Spania"}
    trial_pause = http.post(f"{url}/pause", headers=headers, json=pause)
    assert trial_pause.status_code == 409
    assert trial_pause.json()["detail"] == (
        "cannot pause a patient who is in the trial period: only a patient who is active can "
        "be paused"
    )
    assert http.post(f"{url}/resume", headers=headers).status_code == 409
    http.post(f"{url}/activate", headers=headers)
    again = http.post(f"{url}/activate", headers=headers)
    assert again.status_code == 409
    assert "who is active" in again.json()["detail"]
    past = http.post(f"{url}/pause", headers=headers, json={**pause, "until": "2026-11-23"})
    assert past.status_code == 422
    assert http.post(f"{url}/pause", headers=headers, json={}).status_code == 422
    http.post(f"{url}/discharge", headers=headers, json={"reason": "avsluttet", "code": "stable"})
    for change, body in (("activate", None), ("discharge", {"reason": "igjen", "code": "other"})):
        refused = http.post(f"{url}/{change}", headers=headers, json=body)
        assert refused.status_code == 409, change
    frozen = http.patch(url, headers=headers, json={"gp_user_id": None})
    assert frozen.status_code == 409


def test_a_gp_cannot_change_the_enrolment_state(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Even the patient's own GP may not discharge: that is the follow-up centre's (audited)."""
    copd = api_world.patients["a-copd"].id
    response = http.post(
        f"/api/v1/patients/{copd}/discharge",
        headers=login(http, "gp-1"),
        json={"reason": "ikke lenger aktuelt", "code": "not_suitable"},
    )
    assert response.status_code == 403
    [row] = audit_rows(sessions, action="discharge")
    assert (row.actor, row.outcome) == ("gp-1", "refused")


def test_a_refused_nurse_or_gp_is_named_only_by_the_id_sent(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Another centre's nurse, a GP's id, a deactivated or unknown user as nurse or GP: one
    422 for each kind, naming only the id sent — never a person of another centre (before,
    "nurse Sykepleier B does not work for the patient's follow-up centre")."""
    copd = api_world.patients["a-copd"].id
    users = api_world.users
    headers = login(http, "nurse-a")
    deactivated = http.patch(
        f"/api/v1/admin/users/{users['gp-2']}",
        headers=login(http, "admin"),
        json={"active": False},
    )
    assert deactivated.status_code == 200, deactivated.text
    answers: dict[str, set[str]] = {"assigned_nurse_id": set(), "gp_user_id": set()}
    for field, user_id in [
        ("assigned_nurse_id", users["nurse-b"]),
        ("assigned_nurse_id", users["gp-1"]),
        ("assigned_nurse_id", "no-such-user"),
        ("gp_user_id", users["nurse-b"]),
        ("gp_user_id", users["gp-2"]),
        ("gp_user_id", "no-such-user"),
    ]:
        response = http.patch(f"/api/v1/patients/{copd}", headers=headers, json={field: user_id})
        assert response.status_code == 422, response.text
        assert "Sykepleier" not in response.text
        assert "Fastlege" not in response.text
        answers[field].add(response.json()["detail"].replace(user_id, "<id>"))
    assert answers == {
        "assigned_nurse_id": {
            "user <id> is not an active nurse of the patient's follow-up centre: "
            "choose one of its nurses (GET /colleagues)"
        },
        "gp_user_id": {"user <id> is not an active GP: choose one of the site's GPs"},
    }


# ----------------------------------------------------------------------------- issue 18: reach


def test_a_discharge_needs_a_known_code(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """The coded reason is required at discharge: none or an unknown one is 422 and the patient
    stays in follow-up; a known one is stored and shown."""
    headers = login(http, "nurse-a")
    patient_id = enrol(http, headers, api_world)["id"]
    url = f"/api/v1/patients/{patient_id}"
    missing = http.post(f"{url}/discharge", headers=headers, json={"reason": "avsluttet"})
    assert missing.status_code == 422
    assert "code" in missing.text
    unknown = http.post(
        f"{url}/discharge", headers=headers, json={"reason": "avsluttet", "code": "bored"}
    )
    assert unknown.status_code == 422
    assert http.get(url, headers=headers).json()["state"] == "trial"
    done = http.post(
        f"{url}/discharge",
        headers=headers,
        json={"reason": "orket ikke mer", "code": "patient_withdrew"},
    )
    assert done.json()["discharge_code"] == "patient_withdrew"
    with sessions() as session:
        row = session.get(PatientRow, patient_id)
        assert row is not None
        assert row.discharge_code == "patient_withdrew"


def test_the_home_care_flag_is_set_at_enrolment_and_changed_later(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Enrolled without the flag: no home care; with it: shown and audited; a change sets it
    and null is refused."""
    headers = login(http, "nurse-a")
    plain = enrol(http, headers, api_world)
    assert plain["home_care"] is False
    body = enrolment(
        api_world,
        national_id=synthetic_national_id(date(1941, 2, 3), 12),
        home_care=True,
    )
    with_care = http.post("/api/v1/patients", headers=headers, json=body).json()
    assert with_care["home_care"] is True
    assert with_care["discharge_code"] is None
    audited = [r.details["home_care"] for r in audit_rows(sessions, action="enrol")]
    assert sorted(audited) == [False, True]
    url = f"/api/v1/patients/{plain['id']}"
    assert http.patch(url, headers=headers, json={"home_care": True}).json()["home_care"] is True
    assert http.get(url, headers=headers).json()["home_care"] is True
    cleared = http.patch(url, headers=headers, json={"home_care": None})
    assert cleared.status_code == 422
