"""The programme page ("Program") in a real browser: a centre lead logs in and lands on it, sees
the figures with their definitions in bokmål, narrows them to one municipality and downloads
the monthly report; a nurse sees only the operational sections. Screenshots go to the test's
tmp path and tests/browser/artifacts/ (look at them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.test_bokmal_walk import _UNSEEN, _log_in, _settled, findings
from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld
from triage.storage import seed
from triage.storage.models import CentreRow, PatientRow

#: where the lead's screenshot is copied for the people building issue 18 to look at
NOTES_COPY = Path("/work/wt/notes/programme-page.png")


@pytest.fixture
def lead(sessions: sessionmaker[Session], api_world: ApiWorld) -> ApiWorld:
    """Centre A led by lead-a; a-hf paused and a-diabetes discharged (a-copd stays active)."""
    with sessions.begin() as session:
        for name, state in (("a-hf", "paused"), ("a-diabetes", "discharged")):
            session.execute(
                update(PatientRow)
                .where(PatientRow.id == api_world.patients[name].id)
                .values(state=state)
            )
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
    return api_world


def _metric(page: Page, label: str) -> Locator:
    """The value of one state in the figure "Pasienter etter status nå"."""
    figure = page.locator("[class*='st-key-figure-']").filter(has_text="Pasienter etter status nå")
    metric = figure.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label)
    )
    return metric.locator("[data-testid='stMetricValue']")


def _tab_names(page: Page) -> list[str]:
    return [name.strip() for name in page.get_by_role("tab").all_inner_texts()]


def test_a_lead_sees_the_programme_with_definitions_and_downloads_the_report(
    page: Page,
    dashboard_url: str,
    lead: ApiWorld,
    http: httpx.Client,
    shots: Path,
    tmp_path: Path,
) -> None:
    _log_in(page, dashboard_url, "lead-a")
    expect(page.get_by_role("heading", name="Program")).to_be_visible()
    _settled(page)
    assert _tab_names(page) == [
        "Rekkevidde",
        "Adopsjon",
        "Gjennomføring etter planen",
        "Håndtering av varsler",
        "Effekt og gevinst",
        "Arbeidsmengde",
    ]
    # centre A today: a-copd active, a-hf paused, a-diabetes discharged (centre B not counted)
    for label, value in (("Prøveperiode", "0"), ("Aktiv", "1"), ("Pause", "1"), ("Avsluttet", "1")):
        expect(_metric(page, label)).to_have_text(value)
    # the definition and the source beside the figure
    figure = page.locator("[class*='st-key-figure-']").filter(has_text="Pasienter etter status nå")
    expect(figure).to_contain_text("Definisjon:")
    expect(figure).to_contain_text("Kilde:")
    expect(figure).to_contain_text("RE-AIM")
    expect(page.get_by_text("Viser 24.10.2026–22.11.2026 · Alle kommuner")).to_be_visible()
    page.screenshot(path=tmp_path / "programme-lead.png", full_page=True)
    shutil.copy(tmp_path / "programme-lead.png", shots / "programme-lead.png")
    if NOTES_COPY.parent.is_dir():
        shutil.copy(tmp_path / "programme-lead.png", NOTES_COPY)
    # the text a person reads: no English word, no internal id, no decimal point (the tables'
    # cells are written by dashboard/programme_presenters.py, tested in
    # tests/unit/test_programme_presenters.py); the sources are in bokmål too
    page.add_style_tag(content=_UNSEEN)
    assert findings(page.locator("[data-testid='stMain']").inner_text()) == []
    # every other tab too: labels, definitions, sources, the reasons a value is missing
    for tab in _tab_names(page)[1:]:
        page.get_by_role("tab", name=tab).click()
        _settled(page)
        found = findings(page.locator("[data-testid='stMain']").inner_text())
        (shots / f"programme-{tab}-findings.txt").write_text("\n".join(found))
        assert found == [], f"{tab}: {len(found)} findings\n" + "\n".join(found)
    page.get_by_role("tab", name="Rekkevidde").click()
    _settled(page)

    # one municipality: Testvik has a-copd (active) and a-diabetes (discharged), not a-hf
    page.get_by_role("combobox", name="Kommuner").click()
    page.get_by_role("option", name="Testvik").click()
    page.keyboard.press("Escape")
    _settled(page)
    expect(page.get_by_text("Viser 24.10.2026–22.11.2026 · Testvik")).to_be_visible()
    expect(_metric(page, "Pause")).to_have_text("0")
    expect(_metric(page, "Avsluttet")).to_have_text("1")

    # last month's report, for printing
    page.get_by_text("Månedsrapport til utskrift").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Last ned månedsrapporten").click()
    assert download.value.suggested_filename == "dho-programrapport-2026-10.html"
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "månedsrapport: oktober 2026" in report
    assert "<h2>Rekkevidde</h2>" in report
    assert "Testvik" in report
    page.screenshot(path=shots / "programme-lead-testvik.png", full_page=True)


def test_a_nurse_sees_only_the_operational_sections(
    page: Page, dashboard_url: str, lead: ApiWorld, http: httpx.Client, shots: Path
) -> None:
    _log_in(page, dashboard_url, "nurse-a")
    page.get_by_role("link", name="Program", exact=True).click()
    expect(page.get_by_role("heading", name="Program")).to_be_visible()
    _settled(page)
    assert _tab_names(page) == [
        "Gjennomføring etter planen",
        "Håndtering av varsler",
        "Arbeidsmengde",
    ]
    expect(page.get_by_text("Pasienter etter status nå")).to_have_count(0)
    page.screenshot(path=shots / "programme-nurse.png", full_page=True)
