"""The programme's settings over real HTTP (SQLite and PostgreSQL): a municipality's population
(JSON or CSV, replacing the years sent), its minutes per home-care visit and a centre's nurse
FTE — admins only, audited, bad rows refused naming the row."""

from __future__ import annotations

from typing import Any, get_args

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import ApiWorld, Login
from tests.integration.api.test_admin import audit_rows
from triage.api.schemas_programme_settings import AgeBand
from triage.domain.national_id_facts import AGE_BANDS

API = "/api/v1/admin"


def population_url(world: ApiWorld, name: str = "testvik") -> str:
    return f"{API}/municipalities/{world.municipalities[name]}/population"


def row(year: int, sex: str, band: str, count: int) -> dict[str, Any]:
    return {"year": year, "sex": sex, "age_band": band, "count": count}


def put_csv(http: httpx.Client, url: str, headers: dict[str, str], text: str) -> httpx.Response:
    return http.put(url, headers={**headers, "Content-Type": "text/csv"}, content=text.encode())


def test_the_age_bands_of_the_api_are_the_programmes() -> None:
    assert get_args(AgeBand) == AGE_BANDS


def test_an_admin_enters_the_population_as_json_and_a_year_is_replaced_whole(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """2025 and 2026 entered; sending 2026 again replaces 2026's rows (the 90+ row left out is
    gone) and keeps 2025's."""
    admin = login(http, "admin")
    url = population_url(api_world)
    assert http.get(url, headers=admin).json()["rows"] == []
    first = http.put(
        url,
        headers=admin,
        json={
            "rows": [
                row(2026, "male", "80-89", 120),
                row(2026, "female", "90+", 40),
                row(2026, "female", "80-89", 210),
                row(2025, "female", "80-89", 200),
            ]
        },
    )
    assert first.status_code == 200, first.text
    assert first.json()["rows"] == [
        row(2025, "female", "80-89", 200),
        row(2026, "female", "80-89", 210),
        row(2026, "female", "90+", 40),
        row(2026, "male", "80-89", 120),
    ]
    assert first.json()["age_bands"] == ["0-49", "50-66", "67-79", "80-89", "90+"]
    again = http.put(url, headers=admin, json={"rows": [row(2026, "female", "80-89", 215)]})
    assert again.status_code == 200
    read = http.get(url, headers=admin).json()
    assert read["rows"] == [row(2025, "female", "80-89", 200), row(2026, "female", "80-89", 215)]
    assert read["municipality_name"] == "Testvik"
    audited = audit_rows(sessions, action="update", object_type="municipality_population")
    assert [(r.actor, r.details["years"], r.details["rows"]) for r in audited] == [
        ("admin", [2025, 2026], 4),
        ("admin", [2026], 1),
    ]
    assert audited[1].details["inhabitants"] == 215


def test_the_population_as_a_csv_file(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A CSV file with the header year,sex,age_band,count (a spreadsheet's byte-order mark and
    trailing blank line are fine) stores the same rows as JSON."""
    admin = login(http, "admin")
    url = population_url(api_world, "oyvik")
    text = "\ufeffyear,sex,age_band,count\n2026,female,67-79,300\r\n2026,male,90+,12\n\n"
    response = put_csv(http, url, admin, text)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [
        row(2026, "female", "67-79", 300),
        row(2026, "male", "90+", 12),
    ]


def test_bad_rows_are_refused_naming_the_row_and_nothing_is_stored(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    admin = login(http, "admin")
    url = population_url(api_world)
    http.put(url, headers=admin, json={"rows": [row(2026, "female", "80-89", 210)]})
    cases = [
        ("year,sex,age_band,count\n2026,female,80-89,1\n2026,kvinne,90+,3\n", "line 3: sex"),
        ("year,sex,age_band,count\n2026,female,80+,1\n", "line 2: age_band"),
        ("year,sex,age_band,count\n2026,female,80-89,-4\n", "line 2: count"),
        ("year,sex,age_band,count\n2026,female,80-89,mange\n", "line 2: count"),
        ("year,sex,age_band,count\n2026,female,80-89\n", "line 2: 3 values, expected 4"),
        ("year;sex;age_band;count\n2026;female;80-89;1\n", "line 1 must be the header"),
        ("year,sex,age_band,count\n", "no rows"),
        (
            "year,sex,age_band,count\n2026,male,0-49,1\n2026,male,0-49,2\n",
            "line 3: 2026 male 0-49 is given twice (also line 2)",
        ),
    ]
    for text, expected in cases:
        refused = put_csv(http, url, admin, text)
        assert refused.status_code == 422, text
        assert expected in refused.json()["detail"], (text, refused.json())
    bad_json = http.put(
        url,
        headers=admin,
        json={"rows": [row(2026, "male", "0-49", 5), row(1800, "male", "0-49", 5)]},
    )
    assert bad_json.status_code == 422
    assert bad_json.json()["detail"].startswith("row 2: year")
    assert http.put(url, headers=admin, json={"rows": []}).status_code == 422
    assert http.put(url, headers=admin, json=[row(2026, "male", "0-49", 5)]).status_code == 422
    assert http.get(url, headers=admin).json()["rows"] == [row(2026, "female", "80-89", 210)]
    other = http.put(url, headers={**admin, "Content-Type": "text/plain"}, content=b"x")
    assert other.status_code == 415


def test_only_an_admin_may_read_or_change_the_settings(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A nurse is refused (403, audited) even with a CSV body; unknown ids are 404."""
    nurse = login(http, "nurse-a")
    url = population_url(api_world)
    assert http.get(url, headers=nurse).status_code == 403
    assert put_csv(http, url, nurse, "year,sex,age_band,count\n").status_code == 403
    centre = f"{API}/centres/{api_world.centre_a}/programme"
    assert http.put(centre, headers=nurse, json={"nurse_fte": 3}).status_code == 403
    refused = audit_rows(sessions, outcome="refused", actor="nurse-a")
    assert [(r.action, r.object_type) for r in refused] == [
        ("read", "municipality_population"),
        ("update", "municipality_population"),
        ("update", "centre_programme"),
    ]
    admin = login(http, "admin")
    assert http.get(f"{API}/municipalities/nope/population", headers=admin).status_code == 404
    assert http.get(f"{API}/centres/nope/programme", headers=admin).status_code == 404
    missing = put_csv(
        http,
        f"{API}/municipalities/nope/population",
        admin,
        "year,sex,age_band,count\n2026,male,0-49,1\n",
    )
    assert missing.status_code == 404


def test_minutes_per_home_visit(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    admin = login(http, "admin")
    url = f"{API}/municipalities/{api_world.municipalities['testvik']}/programme"
    assert http.get(url, headers=admin).json()["minutes_per_home_visit"] is None
    saved = http.put(url, headers=admin, json={"minutes_per_home_visit": 45})
    assert saved.json() == {
        "municipality_id": api_world.municipalities["testvik"],
        "municipality_name": "Testvik",
        "minutes_per_home_visit": 45,
    }
    assert http.get(url, headers=admin).json()["minutes_per_home_visit"] == 45
    for bad in ({"minutes_per_home_visit": 0}, {"minutes_per_home_visit": 601}, {}, {"x": 1}):
        assert http.put(url, headers=admin, json=bad).status_code == 422, bad
    assert http.put(url, headers=admin, json={"minutes_per_home_visit": 2.5}).status_code == 422
    cleared = http.put(url, headers=admin, json={"minutes_per_home_visit": None})
    assert cleared.json()["minutes_per_home_visit"] is None
    changes = [
        r.details["minutes_per_home_visit"]
        for r in audit_rows(sessions, action="update", object_type="municipality")
    ]
    assert changes == [{"from": None, "to": 45}, {"from": 45, "to": None}]


def test_nurse_fte_of_a_centre(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    admin = login(http, "admin")
    url = f"{API}/centres/{api_world.centre_a}/programme"
    assert http.get(url, headers=admin).json()["nurse_fte"] is None
    saved = http.put(url, headers=admin, json={"nurse_fte": 3.5})
    assert saved.json() == {
        "centre_id": api_world.centre_a,
        "centre_name": "Oppfølgingstjenesten Testvik",
        "nurse_fte": 3.5,
    }
    for bad in ({"nurse_fte": 0}, {"nurse_fte": -1}, {"nurse_fte": 1000.5}, {}):
        assert http.put(url, headers=admin, json=bad).status_code == 422, bad
    assert http.put(url, headers=admin, json={"nurse_fte": 1000}).json()["nurse_fte"] == 1000
    assert http.put(url, headers=admin, json={"nurse_fte": None}).json()["nurse_fte"] is None
    [first, *_] = audit_rows(sessions, action="update", object_type="centre")
    assert first.details == {"nurse_fte": {"from": None, "to": 3.5}}
