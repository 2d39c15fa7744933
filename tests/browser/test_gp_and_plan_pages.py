"""The fastlege's overview and the plan editor in a real browser: worst first with the rest
folded, the newest draft with its changes, and the editor's weekday chips and replay table
whole on the page. Screenshots in tests/browser/artifacts/ (look at them)."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.integration.api.conftest import PASSWORD, Login
from tests.integration.dashboard.conftest import Ward


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()


def _draft(http: httpx.Client, login: Login, ward: Ward, red_low: int, note: str) -> None:
    nurse = login(http, "nurse-a")
    plan_id = ward.world.patients["a-copd"].plan.plan_id
    made = http.post(
        f"/api/v1/plans/{plan_id}/versions",
        headers=nurse,
        json={"changes": {"zones": {"spo2": {"red_low": red_low}}}, "note": note},
    )
    assert made.status_code == 201, made.text


def test_the_gp_reads_the_red_first_and_the_newest_draft_with_its_changes(
    page: Page, dashboard_url: str, ward: Ward, http: httpx.Client, login: Login, shots: Path
) -> None:
    _draft(http, login, ward, 86, "Første forslag")
    _draft(http, login, ward, 85, "Rød grense ned til 85")
    _log_in(page, dashboard_url, "gp-1")
    cards = page.locator("[class*='st-key-gp-']")
    expect(cards.first).to_contain_text("Testpasient a-copd")
    expect(cards.first).to_contain_text("Rød")
    expect(page.get_by_text("1 pasient uten avvik")).to_be_visible()
    expect(page.get_by_text("Rød grense ned til 85")).to_be_visible()
    expect(page.get_by_text("Første forslag")).to_have_count(0)
    expect(page.get_by_text("rød under: ≤ 87\u00a0% → ≤ 85\u00a0%")).to_be_visible()
    page.screenshot(path=shots / "gp-01-overview.png", full_page=True)


def test_the_plan_editor_shows_every_weekday_chip_and_the_whole_replay_table(
    page: Page, dashboard_url: str, ward: Ward, http: httpx.Client, login: Login, shots: Path
) -> None:
    """A draft with red SpO2 at ≤ 85 % turns this morning's 86 % yellow: the replay table
    lists it with its last column inside the table. The seven weekday chips of the new
    measurement lie inside their field."""
    _draft(http, login, ward, 85, "Rød grense ned til 85")
    _log_in(page, dashboard_url, "nurse-a")
    page.get_by_role("link", name="Egenbehandlingsplaner").click()
    page.get_by_role("combobox", name="Velg pasient").click()
    page.get_by_role("option", name="Testpasient a-copd").click()
    expect(page.get_by_text("Rød når 85\u00a0% eller lavere").first).to_be_visible()
    expect(page.get_by_text("Målinger som skifter sone")).to_be_visible()
    days = page.locator("[class*='st-key-sched-new-days']")
    field = days.bounding_box()
    assert field is not None
    for chip in ("man", "fre", "lør", "søn"):
        box = days.get_by_text(chip, exact=True).bounding_box()
        assert box is not None, chip
        assert box["x"] + box["width"] <= field["x"] + field["width"], f"{chip} is cut off"
    page.screenshot(path=shots / "plans-01-editor.png", full_page=True)
    schedule = page.locator("[data-testid='stForm']").filter(has_text="Måleplan")
    schedule.scroll_into_view_if_needed()
    schedule.screenshot(path=shots / "plans-02-schedule.png")
    changed = page.locator("[data-testid='stTable']").last
    changed.scroll_into_view_if_needed()
    table = changed.bounding_box()
    last = changed.get_by_text("Hvorfor da", exact=True).bounding_box()
    assert table is not None
    assert last is not None
    assert last["x"] + last["width"] <= table["x"] + table["width"], "the last column is cut off"
    changed.screenshot(path=shots / "plans-03-replay-table.png")
