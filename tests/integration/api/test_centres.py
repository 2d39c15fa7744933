"""The caller's own centres over real HTTP (SQLite and PostgreSQL): the colleagues a nurse may
assign an alert to, and when her centres are staffed, from each centre's service calendar."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import ApiWorld, Login
from triage.storage.models import AuditRow, CentreRow, UserRow

API = "/api/v1"


def _names(page: dict[str, Any]) -> list[str]:
    return [c["display_name"] for c in page["items"]]


# ----------------------------------------------------------------------------- colleagues


def test_a_nurse_lists_the_active_nurses_of_her_own_centres_only(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-a (centre A) sees herself and nurse-ab, by name, with their id and name only;
    nurse-ab (A and B) sees all three; a deactivated nurse is not offered."""
    users = api_world.users
    nurse_a = login(http, "nurse-a")
    mine = http.get(f"{API}/colleagues", headers=nurse_a)
    assert mine.status_code == 200, mine.text
    assert mine.json() == {
        "items": [
            {"user_id": users["nurse-a"], "display_name": "Sykepleier A"},
            {"user_id": users["nurse-ab"], "display_name": "Sykepleier AB"},
        ],
        "next_cursor": None,
    }
    nurse_ab = login(http, "nurse-ab")
    assert _names(http.get(f"{API}/colleagues", headers=nurse_ab).json()) == [
        "Sykepleier A",
        "Sykepleier AB",
        "Sykepleier B",
    ]
    only_b = http.get(f"{API}/colleagues", params={"centre": api_world.centre_b}, headers=nurse_ab)
    assert _names(only_b.json()) == ["Sykepleier AB", "Sykepleier B"]

    with sessions.begin() as session:
        row = session.get(UserRow, users["nurse-b"])
        assert row is not None
        row.active = False
    assert _names(http.get(f"{API}/colleagues", headers=nurse_ab).json()) == [
        "Sykepleier A",
        "Sykepleier AB",
    ]


def test_colleagues_come_page_by_page(http: httpx.Client, login: Login) -> None:
    """A long list is paginated like every other list."""
    nurse_ab = login(http, "nurse-ab")
    first = http.get(f"{API}/colleagues", params={"limit": 2}, headers=nurse_ab).json()
    assert _names(first) == ["Sykepleier A", "Sykepleier AB"]
    rest = http.get(
        f"{API}/colleagues", params={"limit": 2, "cursor": first["next_cursor"]}, headers=nurse_ab
    ).json()
    assert (_names(rest), rest["next_cursor"]) == (["Sykepleier B"], None)


def test_another_centres_nurses_and_non_nurses_are_refused_and_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-a asking for centre B's nurses, and a GP asking at all, get 403 with the reason;
    both refusals are in the audit log."""
    other = http.get(
        f"{API}/colleagues", params={"centre": api_world.centre_b}, headers=login(http, "nurse-a")
    )
    assert other.status_code == 403
    assert f"centre {api_world.centre_b} is not one of your centres" in other.json()["detail"]
    gp = http.get(f"{API}/colleagues", headers=login(http, "gp-1"))
    assert gp.status_code == 403
    assert "only nurse may list colleagues" in gp.json()["detail"]
    with sessions() as session:
        refused = session.execute(
            select(AuditRow.actor, AuditRow.object_type).where(
                AuditRow.outcome == "refused", AuditRow.action == "list"
            )
        ).all()
    assert sorted(refused) == [("gp-1", "colleagues"), ("nurse-a", "colleagues")]


# ----------------------------------------------------------------------------- service hours


def test_a_monday_morning_at_a_centre_with_the_default_calendar(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Monday 23 November 09:30 Oslo: open since 08:00, closes 15:00, last closed Friday 15:00;
    Christmas Day (a Friday) is the next holiday; Boxing Day (a Saturday) is not listed."""
    answer = http.get(f"{API}/service-hours", headers=login(http, "nurse-a"))
    assert answer.status_code == 200, answer.text
    [hours] = answer.json()
    assert {k: v for k, v in hours.items() if k != "closed_days"} == {
        "centre_id": api_world.centre_a,
        "centre_name": "Oppfølgingstjenesten Testvik",
        "timezone": "Europe/Oslo",
        "opens": "08:00:00",
        "closes": "15:00:00",
        "weekdays": [1, 2, 3, 4, 5],
        "open_now": True,
        "today": "2026-11-23",
        "today_opens_at": "2026-11-23T08:00:00+01:00",
        "today_closes_at": "2026-11-23T15:00:00+01:00",
        "today_closed": None,
        "next_opening": "2026-11-23T09:30:00+01:00",
        "last_closing": "2026-11-20T15:00:00+01:00",
        "calendar_problem": None,
    }
    days = [(d["date"], d["name"]["nb"] if d["name"] else None) for d in hours["closed_days"]]
    assert days[:3] == [
        ("2026-12-25", "Første juledag"),
        ("2027-01-01", "Første nyttårsdag"),
        ("2027-03-25", "Skjærtorsdag"),
    ]
    assert ("2026-12-26", "Andre juledag") not in days
    assert hours["closed_days"][0]["name"]["en"] == "Christmas Day"


def test_a_centres_own_calendar_decides_and_each_nurse_sees_her_centres(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Centre B opens 07:30–15:30 and is closed today for a course: closed now, opens Tuesday
    07:30, last closed Friday 15:30. nurse-ab sees both centres; a GP (no centre) none."""
    with sessions.begin() as session:
        centre = session.get(CentreRow, api_world.centre_b)
        assert centre is not None
        centre.calendar = {"opens": "07:30", "closes": "15:30", "closed_dates": ["2026-11-23"]}
    both = http.get(f"{API}/service-hours", headers=login(http, "nurse-ab")).json()
    assert [h["centre_name"] for h in both] == [
        "Oppfølgingstjenesten Prøvestad",
        "Oppfølgingstjenesten Testvik",
    ]
    b = both[0]
    assert (b["open_now"], b["today_opens_at"], b["today_closes_at"]) == (False, None, None)
    assert b["today_closed"] == {"date": "2026-11-23", "name": None}
    assert b["next_opening"] == "2026-11-24T07:30:00+01:00"
    assert b["last_closing"] == "2026-11-20T15:30:00+01:00"
    assert b["closed_days"][0] == {"date": "2026-11-23", "name": None}
    assert both[1]["open_now"] is True
    assert http.get(f"{API}/service-hours", headers=login(http, "gp-1")).json() == []


def test_an_unreadable_calendar_shows_the_defaults_and_says_why(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A calendar stored with closing before opening is not silently used: the defaults are
    answered, with the reason for an administrator."""
    with sessions.begin() as session:
        centre = session.get(CentreRow, api_world.centre_a)
        assert centre is not None
        centre.calendar = {"opens": "15:00", "closes": "08:00"}
    [hours] = http.get(f"{API}/service-hours", headers=login(http, "nurse-a")).json()
    assert (hours["opens"], hours["closes"], hours["open_now"]) == ("08:00:00", "15:00:00", True)
    assert hours["calendar_problem"].startswith(
        f"the service calendar of centre {api_world.centre_a} cannot be read"
    )
    assert "opens (15:00) must be before closes (08:00)" in hours["calendar_problem"]
