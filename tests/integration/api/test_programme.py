"""The programme view over real HTTP (SQLite and PostgreSQL): who may see which sections of
whose patients, the period's checks, the definitions and labels in the reader's language, the
CSV and Excel downloads holding the same numbers as the page, and the printable report.

The world (tests/integration/api/conftest.py): centre A serves Testvik and Øyvik (a-copd in
Testvik, a-hf in Øyvik, a-diabetes in Testvik), centre B serves Prøvestad (b-hypertension,
b-covid). Here a-hf is paused and a-diabetes discharged; the others are active. lead-a leads
centre A; nurse-a works there.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld, Login
from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    Coded,
    Column,
    Definition,
    ProgrammeQuery,
    SectionResult,
    Table,
    Unit,
)
from triage.programme import registry
from triage.programme.scope import patient_clauses
from triage.storage import seed
from triage.storage.models import (
    AuditRow,
    CentreRow,
    MunicipalityRow,
    PatientDayRow,
    PatientRow,
)

API = "/api/v1"
OPERATIONAL = ["fidelity", "alert_handling", "workload"]
#: today in Oslo is 2026-11-23 (NOW is 09:30 Oslo time); the default period is the 30 days
#: before it
DEFAULT_START, DEFAULT_END = "2026-10-24", "2026-11-22"


@pytest.fixture
def programme_world(sessions: sessionmaker[Session], api_world: ApiWorld) -> ApiWorld:
    """a-hf paused, a-diabetes discharged; lead-a (centre A) and lead-b (centre B)."""
    with sessions.begin() as session:
        for name, state in (("a-hf", "paused"), ("a-diabetes", "discharged")):
            session.execute(
                update(PatientRow)
                .where(PatientRow.id == api_world.patients[name].id)
                .values(state=state)
            )
        centres = {"lead-a": api_world.centre_a, "lead-b": api_world.centre_b}
        for username, centre_id in centres.items():
            centre = session.get(CentreRow, centre_id)
            assert centre is not None
            row = seed.add_user(
                session,
                username=username,
                display_name=f"Leder {username[-1].upper()}",
                role="nurse",  # seed.add_user's roles predate the lead: changed just below
                now=NOW,
                password=PASSWORD,
                centres=[centre],
            )
            row.role = "lead"
    return api_world


def _states(body: dict[str, object]) -> dict[str, float | None]:
    [figure] = [f for f in body["figures"] if f["id"] == "reach.patients_by_state"]  # type: ignore[attr-defined]
    return {v["key"]: v["value"] for v in figure["values"]}


def _audit(sessions: sessionmaker[Session], actor: str) -> list[tuple[str, str, dict[str, object]]]:
    with sessions() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.outcome, AuditRow.details)
            .where(AuditRow.actor == actor, AuditRow.object_type == "programme")
            .order_by(AuditRow.id)
        ).all()
    return [(a, o, d) for a, o, d in rows]


# ----------------------------------------------------------------------------- access


def test_a_lead_sees_every_section_and_their_centres_municipalities_by_name(
    http: httpx.Client, programme_world: ApiWorld, login: Login
) -> None:
    """lead-a: all six sections; Testvik and Øyvik (centre A's), not Prøvestad; the default
    period is the 30 days before today."""
    answer = http.get(f"{API}/programme/sections", headers=login(http, "lead-a"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["id"] for s in body["sections"]] == [s.value for s in ProgrammeSection]
    assert [s["title"] for s in body["sections"]][:2] == ["Rekkevidde", "Adopsjon"]
    assert [m["name"] for m in body["municipalities"]] == ["Testvik", "Øyvik"]
    assert (body["default_start"], body["default_end"]) == (DEFAULT_START, DEFAULT_END)
    assert {"code": "copd", "label": "KOLS"} in body["conditions"]


def test_a_nurse_sees_only_the_operational_sections(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-a: fidelity, alert handling and workload; reach is refused, and audited."""
    nurse = login(http, "nurse-a")
    body = http.get(f"{API}/programme/sections", headers=nurse).json()
    assert [s["id"] for s in body["sections"]] == OPERATIONAL
    assert http.get(f"{API}/programme/workload", headers=nurse).status_code == 200
    refused = http.get(f"{API}/programme/reach", headers=nurse)
    assert refused.status_code == 403
    assert "centre lead" in refused.json()["detail"]
    assert [(a, o) for a, o, _ in _audit(sessions, "nurse-a")] == [
        ("read", "allowed"),
        ("read", "allowed"),
        ("read", "refused"),
    ]


@pytest.mark.parametrize("path", ["sections", "reach", "workload", "report?month=2026-11"])
def test_a_gp_sees_no_programme_figures(
    http: httpx.Client,
    programme_world: ApiWorld,
    login: Login,
    sessions: sessionmaker[Session],
    path: str,
) -> None:
    answer = http.get(f"{API}/programme/{path}", headers=login(http, "gp-1"))
    assert answer.status_code == 403
    assert [(a, o) for a, o, _ in _audit(sessions, "gp-1")] == [("read", "refused")]


def test_a_lead_counts_only_their_centres_patients_and_the_filters_narrow_them(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Centre A: a-copd active, a-hf paused, a-diabetes discharged → 1, 1, 1 and no trial;
    Testvik only: a-copd and a-diabetes; heart failure only: a-hf. The admin counts both
    centres: a-copd, b-hypertension, b-covid active → 3."""
    lead = login(http, "lead-a")
    testvik = programme_world.municipalities["testvik"]
    everything = http.get(f"{API}/programme/reach", headers=lead).json()
    assert _states(everything) == {"trial": 0, "active": 1, "paused": 1, "discharged": 1}
    assert (everything["start"], everything["end"]) == (DEFAULT_START, DEFAULT_END)
    one_town = http.get(
        f"{API}/programme/reach", params={"municipality": testvik}, headers=lead
    ).json()
    assert _states(one_town) == {"trial": 0, "active": 1, "paused": 0, "discharged": 1}
    assert one_town["municipality_ids"] == [testvik]
    heart = http.get(
        f"{API}/programme/reach", params={"condition": "heart_failure"}, headers=lead
    ).json()
    assert _states(heart) == {"trial": 0, "active": 0, "paused": 1, "discharged": 0}
    admin = http.get(f"{API}/programme/reach", headers=login(http, "admin")).json()
    assert _states(admin) == {"trial": 0, "active": 3, "paused": 1, "discharged": 1}
    [(_, _, details), *_] = _audit(sessions, "lead-a")
    assert details == {
        "section": "reach",
        "start": DEFAULT_START,
        "end": DEFAULT_END,
        "municipalities": None,
        "condition": None,
        "format": "json",
    }


def test_a_municipality_outside_the_leads_centres_is_refused_not_dropped(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """lead-a asking for Prøvestad (centre B's), alone or beside Testvik: 403, audited."""
    lead = login(http, "lead-a")
    towns = programme_world.municipalities
    for asked in ([towns["provestad"]], [towns["testvik"], towns["provestad"]]):
        answer = http.get(f"{API}/programme/reach", params={"municipality": asked}, headers=lead)
        assert answer.status_code == 403, answer.text
        assert towns["provestad"] in answer.json()["detail"]
    assert [o for _, o, _ in _audit(sessions, "lead-a")] == ["refused", "refused"]


# ----------------------------------------------------------------------------- the period


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"start": "2026-11-10", "end": "2026-11-01"}, "after `end`"),
        ({"end": "2026-11-24"}, "in the future"),
        ({"start": "2025-10-01", "end": "2026-11-20"}, "at most 400 days"),
        ({"start": "2026-13-01"}, "start"),
        ({"end": "0001-01-05"}, "before the service's time"),
        ({"condition": "flu"}, "condition"),
    ],
)
def test_a_bad_period_or_filter_is_refused_with_the_reason(
    http: httpx.Client,
    programme_world: ApiWorld,
    login: Login,
    params: dict[str, str],
    says: str,
) -> None:
    answer = http.get(f"{API}/programme/reach", params=params, headers=login(http, "lead-a"))
    assert answer.status_code == 422, answer.text
    assert says in answer.text


def test_a_period_of_400_days_ending_today_is_allowed(
    http: httpx.Client, programme_world: ApiWorld, login: Login
) -> None:
    """2025-10-20 … 2026-11-23 is 400 days (2025-10-20 → 2026-10-20 is 365; +34)."""
    params = {"start": "2025-10-20", "end": "2026-11-23"}
    answer = http.get(f"{API}/programme/reach", params=params, headers=login(http, "lead-a"))
    assert answer.status_code == 200, answer.text


# ----------------------------------------------------------------------------- language


def test_definitions_and_labels_come_in_the_readers_language(
    http: httpx.Client, programme_world: ApiWorld, login: Login
) -> None:
    lead = login(http, "lead-a")
    norsk = http.get(f"{API}/programme/reach", headers=lead).json()
    [figure] = [f for f in norsk["figures"] if f["id"] == "reach.patients_by_state"]
    assert figure["title"] == "Pasienter etter status nå"
    assert "RE-AIM" in figure["source"]
    assert [v["key_label"] for v in figure["values"]] == [
        "Prøveperiode",
        "Aktiv",
        "Pause",
        "Avsluttet",
    ]
    english = http.get(
        f"{API}/programme/reach", headers={**lead, "Accept-Language": "en-GB,en;q=0.9"}
    ).json()
    assert english["title"] == "Reach"
    [figure] = [f for f in english["figures"] if f["id"] == "reach.patients_by_state"]
    assert figure["title"] == "Patients by state now"
    assert figure["values"][3]["key_label"] == "Discharged"


# ----------------------------------------------------------------------------- exports

#: A small real table for the export tests (the base's reach part has figures only): patients
#: of the query by municipality and state, each row's share of all the query's patients.
EXPORT_TABLE = Definition(
    id="test.by_municipality",
    section=ProgrammeSection.REACH,
    unit=Unit.COUNT,
    title=Text(nb="Pasienter etter kommune og status", en="Patients by municipality and state"),
    definition=Text(nb="Antall pasienter per kommune og status.", en="Patients per town."),
    source=Text(nb="DHO (test)", en="DHO (test)"),
    columns=(
        Column("municipality", Text(nb="Kommune", en="Municipality"), coded=Coded.MUNICIPALITY),
        Column("state", Text(nb="Status", en="State"), coded=Coded.STATE),
        Column("patients", Text(nb="Pasienter", en="Patients"), unit=Unit.COUNT),
        Column("share", Text(nb="Andel av alle", en="Share of all"), unit=Unit.SHARE),
    ),
)


def _by_municipality(session: Session, query: ProgrammeQuery) -> SectionResult:
    found = session.execute(
        select(PatientRow.municipality_id, PatientRow.state, func.count())
        .where(*patient_clauses(query))
        .group_by(PatientRow.municipality_id, PatientRow.state)
        .order_by(PatientRow.municipality_id, PatientRow.state)
    ).all()
    total = sum(n for _, _, n in found)
    table = Table(
        EXPORT_TABLE.id,
        tuple(c.id for c in EXPORT_TABLE.columns),
        tuple((m, s, n, n / total) for m, s, n in found),
    )
    return SectionResult(ProgrammeSection.REACH, (), (table,))


@pytest.fixture
def with_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach with the export test's table beside its real figures."""
    parts = {**registry.PARTS}
    parts[ProgrammeSection.REACH] = (*parts[ProgrammeSection.REACH], _by_municipality)
    monkeypatch.setattr(registry, "PARTS", parts)
    monkeypatch.setitem(registry.DEFINITIONS, EXPORT_TABLE.id, EXPORT_TABLE)


def _filename(response: httpx.Response) -> str:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    return disposition.split('filename="')[1].split('"')[0]


def test_the_csv_and_excel_of_a_table_hold_the_same_numbers_as_the_page(
    http: httpx.Client, programme_world: ApiWorld, login: Login, with_table: None
) -> None:
    """Centre A: Testvik has a-copd (active) and a-diabetes (discharged), Øyvik a-hf (paused):
    three rows of 1 patient, each 1/3 of the three."""
    lead = login(http, "lead-a")
    page = http.get(f"{API}/programme/reach", headers=lead).json()
    [table] = [t for t in page["tables"] if t["id"] == EXPORT_TABLE.id]
    assert [c["title"] for c in table["columns"]] == [
        "Kommune",
        "Status",
        "Pasienter",
        "Andel av alle",
    ]
    shown = sorted(
        (labels[0], labels[1], row[2], row[3])
        for row, labels in zip(table["rows"], table["labels"], strict=True)
    )
    assert shown == [
        ("Testvik", "Aktiv", 1, pytest.approx(1 / 3)),
        ("Testvik", "Avsluttet", 1, pytest.approx(1 / 3)),
        ("Øyvik", "Pause", 1, pytest.approx(1 / 3)),
    ]

    as_csv = http.get(f"{API}/programme/reach/tables/test.by_municipality.csv", headers=lead)
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert _filename(as_csv) == (
        f"dho-reach-test.by_municipality-{DEFAULT_START}_{DEFAULT_END}.csv"
    )
    [heading, *rows] = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8"))))
    assert heading == ["Kommune", "Status", "Pasienter", "Andel av alle (andel 0–1)"]
    assert sorted((m, s, int(n), float(p)) for m, s, n, p in rows) == shown

    as_excel = http.get(f"{API}/programme/reach/tables/test.by_municipality.xlsx", headers=lead)
    assert as_excel.status_code == 200, as_excel.text
    assert _filename(as_excel).endswith(f"{DEFAULT_START}_{DEFAULT_END}.xlsx")
    book = load_workbook(io.BytesIO(as_excel.content))
    sheet = book.worksheets[0]
    assert sheet.title == "Pasienter etter kommune og stat"  # Excel's 31 characters
    [heading_row, *cells] = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert heading_row == ["Kommune", "Status", "Pasienter", "Andel av alle"]
    assert sorted((m, s, n, p) for m, s, n, p in cells) == shown
    assert all(isinstance(n, int) and isinstance(p, float) for _, _, n, p in cells)
    assert sheet["D2"].number_format == "0.0%"
    assert book.sheetnames[-1] == "Om tallene"


def test_the_sections_workbook_has_the_figures_and_a_sheet_per_table(
    http: httpx.Client, programme_world: ApiWorld, login: Login, with_table: None
) -> None:
    answer = http.get(
        f"{API}/programme/reach.xlsx",
        params={"start": "2026-11-01", "end": "2026-11-22"},
        headers=login(http, "lead-a"),
    )
    assert answer.status_code == 200, answer.text
    assert _filename(answer) == "dho-reach-2026-11-01_2026-11-22.xlsx"
    book = load_workbook(io.BytesIO(answer.content))
    names = book.sheetnames
    assert (names[0], names[-1]) == ("Nøkkeltall", "Om tallene")
    assert "Pasienter etter kommune og stat" in names  # one sheet per table
    assert len(names) == 2 + len(
        http.get(
            f"{API}/programme/reach",
            params={"start": "2026-11-01", "end": "2026-11-22"},
            headers=login(http, "lead-a"),
        ).json()["tables"]
    )
    figures = [list(r) for r in book["Nøkkeltall"].iter_rows(min_row=2, values_only=True)]
    by_state = [r for r in figures if r[0] == "Pasienter etter status nå"]
    assert [(r[1], r[2]) for r in by_state] == [
        ("Prøveperiode", 0),
        ("Aktiv", 1),
        ("Pause", 1),
        ("Avsluttet", 1),
    ]
    about = {r[0]: r[1] for r in book["Om tallene"].iter_rows(max_row=5, values_only=True)}
    assert about["Periode"] == "01.11.2026 – 22.11.2026"


def test_an_unknown_table_is_not_found(
    http: httpx.Client, programme_world: ApiWorld, login: Login
) -> None:
    answer = http.get(
        f"{API}/programme/reach/tables/reach.nothing.csv", headers=login(http, "lead-a")
    )
    assert answer.status_code == 404
    assert "no table 'reach.nothing'" in answer.json()["detail"]


def test_a_municipality_named_like_a_formula_stays_text_in_the_csv(
    http: httpx.Client,
    programme_world: ApiWorld,
    login: Login,
    sessions: sessionmaker[Session],
    with_table: None,
) -> None:
    """A name starting with "=" is written "'=…" (a spreadsheet would run it)."""
    with sessions.begin() as session:
        session.execute(
            update(MunicipalityRow)
            .where(MunicipalityRow.id == programme_world.municipalities["oyvik"])
            .values(name="=HYPERLINK(1)")
        )
    answer = http.get(
        f"{API}/programme/reach/tables/test.by_municipality.csv", headers=login(http, "lead-a")
    )
    assert "'=HYPERLINK(1)" in answer.content.decode("utf-8")


# ----------------------------------------------------------------------------- the report


def test_the_monthly_report_prints_every_section_with_definitions_in_norwegian(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    answer = http.get(
        f"{API}/programme/report", params={"month": "2026-11"}, headers=login(http, "lead-a")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "@media print" in page
    assert "size: A4" in page
    assert "månedsrapport: november 2026" in page
    assert "01.11.2026–23.11.2026" in page  # to today in the current month
    for title in ("Rekkevidde", "Adopsjon", "Håndtering av varsler", "Arbeidsmengde"):
        assert f"<h2>{title}</h2>" in page
    assert "Pasienter etter status nå" in page
    assert "Oppfølgingstjenesten Testvik" in page
    [(_, _, details)] = _audit(sessions, "lead-a")
    assert details["section"] == "report"
    assert details["month"] == "2026-11"


def test_the_report_escapes_names(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.execute(
            update(CentreRow)
            .where(CentreRow.id == programme_world.centre_a)
            .values(name="<script>alert(1)</script>")
        )
    page = http.get(
        f"{API}/programme/report", params={"month": "2026-10"}, headers=login(http, "lead-a")
    ).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("month", ["2026-12", "2026-13", "0000-01", "november"])
def test_a_month_not_begun_or_not_a_month_is_refused(
    http: httpx.Client, programme_world: ApiWorld, login: Login, month: str
) -> None:
    answer = http.get(
        f"{API}/programme/report", params={"month": month}, headers=login(http, "lead-a")
    )
    assert answer.status_code == 422
    assert "month" in answer.json()["detail"]


def test_the_nurses_report_holds_only_her_sections(
    http: httpx.Client, programme_world: ApiWorld, login: Login
) -> None:
    page = http.get(
        f"{API}/programme/report", params={"month": "2026-10"}, headers=login(http, "nurse-a")
    ).text
    assert "<h2>Arbeidsmengde</h2>" in page
    assert "<h2>Rekkevidde</h2>" not in page


def test_now_is_monday_morning_in_oslo() -> None:
    """The dates above assume NOW is 2026-11-23 09:30 in Oslo."""
    assert datetime(2026, 11, 23, 8, 30, tzinfo=UTC) == NOW


def test_a_patients_adherence_is_named_for_her_nurse_and_numbered_for_the_lead(
    http: httpx.Client, programme_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """a-copd did 1 of 2 scheduled measurements on time on 20 November: her nurse (nurse-a)
    sees her name in the table by patient; the lead (lead-a), who reads no records, sees
    "Pasient 1"; neither label is the internal id."""
    with sessions.begin() as session:
        copd = session.get(PatientRow, programme_world.patients["a-copd"].id)
        assert copd is not None
        name = copd.display_name
        session.add(
            PatientDayRow(
                patient_id=copd.id,
                day=date(2026, 11, 20),
                centre_id=programme_world.centre_a,
                municipality_id=copd.municipality_id,
                condition="copd",
                state="active",
                home_care=False,
                readings=1,
                red=0,
                yellow=0,
                green=1,
                slots_due=2,
                on_time=1,
                late=0,
                missed=1,
                computed_at=NOW,
            )
        )

    def by_patient(username: str) -> list[str | None]:
        body = http.get(f"{API}/programme/fidelity", headers=login(http, username)).json()
        [table] = [t for t in body["tables"] if t["id"] == "fidelity.adherence_by_patient"]
        column = [c["id"] for c in table["columns"]].index("patient_id")
        return [labels[column] for labels in table["labels"]]

    assert by_patient("nurse-a") == [name]
    assert by_patient("lead-a") == ["Pasient 1"]
