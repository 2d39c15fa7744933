"""Issue 18 (reach) in the dashboard (AppTest against the real API, SQLite and PostgreSQL): the
discharge needs a coded reason, the enrolment form has the home-care box, and the admin enters
the programme's settings."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from dashboard.api_client import ApiClient, ApiError
from tests.integration.api.conftest import PASSWORD
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import CentreRow, MunicipalityRow, PatientRow
from triage.storage.seed import synthetic_national_id


def _text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown]
    parts += [str(x.value) for x in (*at.warning, *at.info, *at.success, *at.error, *at.caption)]
    return "\n".join(parts)


def test_a_discharge_without_a_coded_reason_is_not_sent(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """Without a reason chosen the page says what is missing and the patient stays; with
    "Flyttet fra kommunen" chosen the patient is discharged with that code."""
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/enrolment.py").run()
    at.selectbox(key="enrolment_patient").set_value(ward.red).run()
    assert not at.exception
    box = at.selectbox(key="state_discharge_code")
    assert "Flyttet fra kommunen" in box.options
    at.text_input(key="state_reason").input("flytter til Bergen")
    at.button(key="state-discharge").click().run()
    assert "Velg årsak til avslutning" in _text(at)
    with sessions() as session:
        row = session.get(PatientRow, ward.red)
        assert row is not None
        assert row.state == "active"
    at.selectbox(key="state_discharge_code").set_value("moved")
    at.button(key="state-discharge").click().run()
    assert not at.exception
    with sessions() as session:
        row = session.get(PatientRow, ward.red)
        assert row is not None
        assert (row.state, row.discharge_code, row.state_reason) == (
            "discharged",
            "moved",
            "flytter til Bergen",
        )


def test_the_enrolment_form_sets_the_home_care_flag(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/enrolment.py").run()
    assert at.checkbox(key="enrol_home_care").label == "Mottar også hjemmesykepleie"
    at.text_input(key="enrol_name").input("Testpasient hjemmesykepleie")
    at.text_input(key="enrol_national_id").input(synthetic_national_id(date(1938, 4, 2), 14))
    at.checkbox(key="enrol_home_care").check()
    at.button(key="FormSubmitter:enrol-Skriv inn").click().run()
    assert not at.exception
    with sessions() as session:
        home_care = session.scalar(
            select(PatientRow.home_care).where(
                PatientRow.display_name == "Testpasient hjemmesykepleie"
            )
        )
        assert home_care is True


def test_the_admin_enters_minutes_per_visit_and_nurse_fte(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    at = logged_in(app, "admin")
    assert not at.exception
    assert "Tall til programoversikten" in [h.value.split(" ", 1)[1] for h in at.header]
    municipality = ward.world.municipalities["testvik"]
    at.number_input(key=f"minutes-{municipality}-value").set_value(45)
    at.button(key=f"FormSubmitter:minutes-{municipality}-Lagre").click().run()
    assert not at.exception
    centre = ward.world.centre_a
    at.number_input(key=f"fte-{centre}-value").set_value(3.5)
    at.button(key=f"FormSubmitter:fte-{centre}-Lagre").click().run()
    assert not at.exception
    with sessions() as session:
        m = session.get(MunicipalityRow, municipality)
        c = session.get(CentreRow, centre)
        assert m is not None
        assert c is not None
        assert (m.minutes_per_home_visit, c.nurse_fte) == (45, 3.5)
    at.run()
    assert at.number_input(key=f"minutes-{municipality}-value").value == 45
    assert at.number_input(key=f"fte-{centre}-value").value == 3.5


def test_the_client_uploads_a_population_csv(ward: Ward, dashboard_env: str) -> None:
    """The admin page's upload goes through the client as text/csv; a bad line comes back as
    the API's reason."""
    client = ApiClient(dashboard_env.rstrip("/") + "/api/v1")
    try:
        client.login("admin", PASSWORD)
        municipality = ward.world.municipalities["oyvik"]
        saved = client.upload_population_csv(
            municipality, b"year,sex,age_band,count\n2026,female,80-89,210\n"
        )
        assert saved["rows"] == [{"year": 2026, "sex": "female", "age_band": "80-89", "count": 210}]
        assert client.population(municipality)["rows"] == saved["rows"]
        with pytest.raises(ApiError) as refused:
            client.upload_population_csv(municipality, b"year,sex,age_band,count\n2026,x,1,1\n")
        assert refused.value.status == 422
        assert "line 2" in str(refused.value)
    finally:
        client.close()
