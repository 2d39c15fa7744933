"""A nurse's morning in a real browser: log in, see the red patient at the top, open it,
acknowledge and resolve the alert. Screenshots of each step in tests/browser/artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.integration.api.conftest import PASSWORD, Login
from tests.integration.dashboard.conftest import Ward


def test_nurse_logs_in_sees_red_first_opens_it_acknowledges_and_resolves(
    page: Page,
    dashboard_url: str,
    ward: Ward,
    http: httpx.Client,
    login: Login,
    shots: Path,
) -> None:
    """The whole path a nurse takes for a red alert, as she sees it in the browser."""
    page.goto(dashboard_url)
    page.get_by_label("Brukernavn").fill("nurse-a")
    page.get_by_label("Passord").fill(PASSWORD)
    page.screenshot(path=shots / "01-login.png")
    page.get_by_role("button", name="Logg inn").click()

    # the worklist: the red patient at the top, impossible to miss
    expect(page.get_by_text("NYTT RØDT VARSEL")).to_be_visible()
    rows = page.locator("[class*='st-key-row-']")
    expect(rows.first).to_contain_text("Testpasient a-copd")
    expect(rows.first).to_contain_text("Rød")
    expect(rows.first).to_contain_text(
        re.compile(
            r"Oksygenmetning 86\s% – rød: 87\s% eller lavere \(egenbehandlingsplan versjon 1\)"
        )
    )
    expect(rows.nth(1)).to_contain_text("Testpasient a-hf")
    page.screenshot(path=shots / "02-worklist.png", full_page=True)

    # open it: the plan's nurse instruction is next to the alert
    rows.first.get_by_role("button", name="Åpne").click()
    expect(page.get_by_role("heading", name="Testpasient a-copd")).to_be_visible()
    expect(page.get_by_text("Sykepleierens oppgave").first).to_be_visible()
    # the SpO2 chart with its zone bands, drawn
    expect(page.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible()
    page.screenshot(path=shots / "03-patient.png", full_page=True)

    # click 1: acknowledge
    page.get_by_role("button", name="Kvitter ut").click()
    expect(page.get_by_text("Varselet er kvittert ut.")).to_be_visible()
    expect(page.get_by_text("Kvittert av Sykepleier A (sykepleier)")).to_be_visible()
    # the outcome, preset to the most common one, and a note field are ready for click 2
    expect(page.get_by_role("combobox", name="Utfall")).to_have_value("Ringte pasienten")
    page.screenshot(path=shots / "04-acknowledged.png", full_page=True)

    # click 2: resolve with the default outcome (phoned the patient)
    page.get_by_role("button", name="Avslutt varsel").click()
    expect(page.get_by_text("Varselet er avsluttet.")).to_be_visible()
    expect(page.get_by_text("Ingen åpne varsler.")).to_be_visible()
    page.screenshot(path=shots / "05-resolved.png", full_page=True)

    alerts = http.get(
        f"/api/v1/patients/{ward.red}/alerts",
        params={"state": "resolved"},
        headers=login(http, "nurse-a"),
    ).json()["items"]
    assert [(a["state"], a["resolved_by"]) for a in alerts] == [("resolved", "nurse-a")]
