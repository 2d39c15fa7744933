"""Every page of the dashboard in bokmål, in a real browser, as a nurse, a GP and an
administrator (issue 17's check): no visible English word, no internal id (``red_low``,
``threshold:glucose``, ``hf-daily``, ``phoned_patient``), no decimal point between digits and
clock times with ':'. One test per page; each page's visible text goes to
``tests/browser/artifacts/walk-<page>.txt`` and its screenshot to ``walk-<page>.png`` (look at
them).

What is checked is the text a person can read in the page (``innerText``: tables, captions,
buttons, the data grid's cells as the grid lays them out for screen readers). Charts are drawn on
a canvas and are not read here; their numbers are checked in ``tests/unit/test_dashboard_charts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.test_nurse_sees_where_a_red_went import _escalated_before_opening
from tests.integration.api.conftest import NOW, PASSWORD, Login, ingest
from tests.integration.dashboard.conftest import Ward

# ----------------------------------------------------------------------------- the checks

#: English words that must not be on a bokmål page, matched as whole words and case-sensitive
#: as written (so "Blood" but not "blod"). Left out on purpose because they are bokmål too:
#: "to" (two), "for", "by" (town), "is" (ice), "plan", "dag", "no", "ring", "time" (hour),
#: "start", "status", "person", "test", "type", "data", "sensor", "vent", "hold", "and" (duck).
_ENGLISH_LIST = """
red Red yellow Yellow green Green score band bands threshold bound zone zones draft approved
retired template trend breach
Blood blood glucose Glucose weight Weight symptoms Symptoms pressure Pulse Oxygen saturation
Temperature breathing Breathing
from From Choose choose option options Select Search Submit Save Cancel Delete Edit Yes
patient patients Patient nurse alert alerts reading readings opened acknowledged resolved
assigned pending sent failed waiting days hours minutes ago the with of or role active
none None null True False NaN undefined
"""
ENGLISH_WORDS: tuple[str, ...] = tuple(_ENGLISH_LIST.split())
_ENGLISH = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ENGLISH_WORDS)) + r")(?![\w-])")
#: the plan's version the English way ("plan v1"); bokmål writes "versjon 1"
_PLAN_V = re.compile(r"\bplan v\d")
#: an id written with hyphens ("hf-daily", "weight-3-days", "gw-a-copd")
_HYPHEN_ID = re.compile(r"(?<![\w-])[a-z]+-[a-z0-9-]+(?![\w-])")
#: an id with an underscore ("red_low", "phoned_patient", "after_hours")
_SNAKE_ID = re.compile(r"(?<![\w-])[a-z0-9]+_[a-z0-9_]+(?![\w-])")
#: a rule id ("threshold:glucose", "trend:weight")
_COLON_ID = re.compile(r"(?<![\w-])[a-z]+:[a-z][a-z0-9_-]*")
#: a date as bokmål writes it (16.11.2026, 16.11., and 16.11 on a chart's time axis: two digits
#: each) is not a decimal point; "08.00" is no date (no month 00): a clock time with a point and
#: "2.6" are still found
_DATE = re.compile(r"\b(\d{1,2}\.\d{1,2}\.\d{2,4}|(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\b\.?)")
#: a decimal point between digits ("2.6"); a clock time with a point ("08.00") is found too
_DECIMAL_POINT = re.compile(r"\d\.\d")
#: bokmål that looks like English: "for sent" (too late) holds the English "sent"
_BOKMAL_PHRASES = re.compile(r"\bfor sent\b", re.IGNORECASE)
#: a chapter of a cited report ("kapittel 6.5"): a section number, not a decimal
_SECTION_NUMBER = re.compile(r"\b(kapittel|kap\.|avsnitt|punkt) \d+(\.\d+)+")

#: hyphenated words that are bokmål: kept small, each for a reason
NORWEGIAN_HYPHENATED = frozenset(
    {
        "e-post",  # e-mail
        "e-posten",
        "e-postadresse",
    }
)
#: the test data's own names (synthetic patients "Testpasient a-copd", users "nurse-a"): data,
#: not the dashboard's words; usernames only where a person's login is the subject (admin)
TEST_PATIENTS = frozenset({"a-copd", "a-hf", "a-diabetes", "b-hypertension", "b-covid"})
USERNAMES = frozenset({"nurse-a", "nurse-b", "nurse-ab", "gp-1", "gp-2"})
#: gateway ids: printed on the box, typed by the nurse when pairing (the enrolment page)
GATEWAY_IDS = frozenset({f"gw-{name}" for name in TEST_PATIENTS})


def findings(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Every problem in ``text`` as "<kind>: <what> in «<line>»"."""
    found: list[str] = []
    ok = NORWEGIAN_HYPHENATED | TEST_PATIENTS | allowed
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        hits = [f"English {m.group(0)!r}" for m in _ENGLISH.finditer(_BOKMAL_PHRASES.sub("", line))]
        hits += [f"English {m.group(0)!r}" for m in _PLAN_V.finditer(line)]
        hits += [f"id {m.group(0)!r}" for m in _HYPHEN_ID.finditer(line) if m.group(0) not in ok]
        hits += [f"id {m.group(0)!r}" for m in _SNAKE_ID.finditer(line)]
        hits += [f"id {m.group(0)!r}" for m in _COLON_ID.finditer(line)]
        hits += [
            f"decimal point {m.group(0)!r}"
            for m in _DECIMAL_POINT.finditer(_SECTION_NUMBER.sub("", _DATE.sub("", line)))
        ]
        found += [f"{hit} in «{line[:160]}»" for hit in hits]
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Blodsukker 2,6\u00a0mmol/L — rød: < 3\u00a0mmol/L (versjon 1)", []),
        ("Planlagte målinger: for sent (sluttrapport, kapittel 6.5)", []),
        ("sent 2.5", ["'sent'", "decimal point '2.5'"]),
        (
            "Blood glucose 2.6 mmol/L — red: < 3 mmol/L (plan v1)",
            ["'Blood'", "'glucose'", "'red'", "'plan v1'", "decimal point '2.6'"],
        ),
        ("🔴 Rød · glucose", ["'glucose'"]),
        ("Kvittert · threshold:glucose", ["'threshold'", "'glucose'", "id 'threshold:glucose'"]),
        (
            "avvik (symptoms: hf-symptoms; weight: weight-3-days)",
            ["'symptoms'", "'weight'", "id 'hf-symptoms'", "id 'weight-3-days'"],
        ),
        ("Grenser: red_low, Utfall: phoned_patient", ["id 'red_low'", "id 'phoned_patient'"]),
        ("fra / from, til / to", ["'from'"]),
        ("Målt 16.11.2026 kl. 09:30 av Testpasient a-copd, sendt på e-post", []),
        ("kl. 08.00", ["decimal point '8.0'"]),
        ("None", ["'None'"]),
        ("to målinger i går, by og land", []),
    ],
)
def test_the_checks_find_what_the_issue_found_and_leave_bokmal_alone(
    text: str, expected: list[str]
) -> None:
    """The checks themselves: the issue's examples are found, bokmål is left alone."""
    found = [hit.split(" in «")[0].removeprefix("English ") for hit in findings(text)]
    assert found == expected


# ----------------------------------------------------------------------------- the walk


def _settled(page: Page) -> None:
    """Wait until Streamlit has finished running the script (the app's ``script-state``) and
    no element is stale from the run before."""
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=30_000)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=30_000)


#: what Streamlit writes that nobody sees: icon ligatures ("outgoing_mail" drawn as an icon) and
#: the choice boxes' announcements to screen readers ("3 options available.", Streamlit's own)
_UNSEEN = """
[data-testid='stIconMaterial'], [data-testid='stExpanderIcon'] span, [id$='-live-region'],
[data-live-announcer] { display: none !important; }
"""


def _grid_texts(page: Page) -> list[str]:
    """The tables (drawn on a canvas) that are shown: their cells as Streamlit's "Download as
    CSV" writes them, i.e. what the grid shows."""
    texts = []
    grids = page.locator("[data-testid='stDataFrame']")
    for i in range(grids.count()):
        grid = grids.nth(i)
        if not grid.is_visible():
            continue  # in a closed expander: nobody reads it
        grid.scroll_into_view_if_needed()
        grid.hover()
        button = grid.get_by_role("button", name="Download as CSV")
        with page.expect_download() as download:
            button.dispatch_event("click")
        texts.append(Path(download.value.path()).read_text(encoding="utf-8-sig"))
    return texts


#: the placeholders a person sees: of an empty field, of a choice box with nothing chosen (a
#: choice box keeps Streamlit's "Choose an option" behind its value, unseen)
_SHOWN_PLACEHOLDERS = """fields => fields.filter(f => {
    const box = f.closest("[data-baseweb='select']");
    return box ? box.innerText.trim() === "" : !f.value;
}).map(f => f.placeholder)"""


def _open_expanders(page: Page) -> None:
    """Open every folded section of the page (in the browser only: no script run), so that
    what a person finds by unfolding is read too."""
    closed = page.locator("[data-testid='stMain'] details:not([open]) > summary")
    while closed.count():
        closed.first.click()
    _settled(page)


def _visible_text(page: Page) -> str:
    """The page's text as a person reads it (after the screenshot: hides the unseen parts)."""
    page.add_style_tag(content=_UNSEEN)
    placeholders: list[str] = page.eval_on_selector_all(
        "input[placeholder], textarea[placeholder]", _SHOWN_PLACEHOLDERS
    )
    return "\n".join([page.locator("body").inner_text(), *placeholders, *_grid_texts(page)])


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_text("Innlogget som")).to_be_visible()


def _nav(name: str) -> Callable[[Page], None]:
    def go(page: Page) -> None:
        page.get_by_role("link", name=name, exact=True).click()

    return go


def _open_red_patient(page: Page) -> None:
    expect(page.get_by_text("NYTT RØDT VARSEL")).to_be_visible()
    page.locator("[class*='st-key-row-']").first.get_by_role("button", name="Åpne").click()
    expect(page.get_by_role("heading", name="Testpasient a-copd")).to_be_visible()
    expect(page.get_by_text("Tidslinje")).to_be_visible()


def _pick(label: str, option: str) -> Callable[[Page], None]:
    def go(page: Page) -> None:
        page.get_by_role("combobox", name=label).click()
        page.get_by_role("option", name=option).click()

    return go


def _steps(*steps: Callable[[Page], None]) -> Callable[[Page], None]:
    def go(page: Page) -> None:
        for step in steps:
            step(page)
            _settled(page)

    return go


@dataclass(frozen=True)
class Visit:
    """One page: who, how to get there from the first page after login, a text that shows the
    page is drawn, and what else may be on it."""

    name: str
    username: str
    go: Callable[[Page], None]
    shown: str
    allowed: frozenset[str] = field(default_factory=frozenset)


_PATIENT_NURSE = _steps(_open_red_patient)
VISITS: dict[str, Visit] = {
    v.name: v
    for v in (
        Visit("login", "", lambda page: None, "Logg inn"),
        Visit("nurse-worklist", "nurse-a", lambda page: None, "NYTT RØDT VARSEL"),
        Visit("nurse-patient", "nurse-a", _PATIENT_NURSE, "Tidslinje"),
        Visit(
            "nurse-plans",
            "nurse-a",
            _steps(_open_red_patient, _nav("Egenbehandlingsplaner")),
            "Versjoner",
        ),
        Visit(
            "nurse-enrolment",
            "nurse-a",
            _steps(_open_red_patient, _nav("Innskriving")),
            "Innskriving",
            GATEWAY_IDS,
        ),
        Visit("nurse-sent", "nurse-a", _steps(_nav("Sendte varsler")), "Sendte varsler"),
        Visit("gp-overview", "gp-1", lambda page: None, "Siden du sist så"),
        Visit(
            "gp-patient",
            "gp-1",
            _steps(_nav("Pasient"), _pick("Velg pasient", "Testpasient a-copd")),
            "Tidslinje",
        ),
        Visit(
            "gp-plans",
            "gp-1",
            _steps(_nav("Egenbehandlingsplaner"), _pick("Velg pasient", "Testpasient a-copd")),
            "Versjoner",
        ),
        Visit(
            "gp-summary",
            "gp-1",
            _steps(_nav("Utskrift"), _pick("Velg pasient", "Testpasient a-copd")),
            "Sammendrag",
        ),
        Visit("admin", "admin", lambda page: None, "Administrasjon", USERNAMES),
        Visit("admin-sent", "admin", _steps(_nav("Sendte varsler")), "Sendte varsler"),
    )
}


def _param(name: str) -> object:
    return pytest.param(name, id=name)


def _a_handled_week(
    sessions: sessionmaker[Session], ward: Ward, http: httpx.Client, login: Login
) -> None:
    """What makes every page show something: the red COPD alert escalated after hours with a
    message sent; the yellow HF alert acknowledged, acted on and resolved by nurse-a (names on
    the timeline and the GP's overview); a glucose with decimals; a plan draft for the GP."""
    _escalated_before_opening(sessions, ward)
    nurse = login(http, "nurse-a")
    ingest(
        sessions,
        "gw-a-diabetes",
        [("dia-low", "glucose", {"glucose": 3.6}, NOW - timedelta(minutes=20))],
    )
    [hf] = http.get(
        f"/api/v1/patients/{ward.yellow}/alerts", params={"state": "open"}, headers=nurse
    ).json()["items"]
    for path, body in (
        ("acknowledge", {"note": "Ser på det"}),
        ("actions", {"outcome": "phoned_patient", "note": "Ringte, alt vel"}),
        ("resolve", {"outcome": "advised_per_plan", "note": "Ny måling 95 %"}),
    ):
        assert http.post(f"/api/v1/alerts/{hf['id']}/{path}", json=body, headers=nurse).is_success
    copd = ward.world.patients["a-copd"]
    drafted = http.post(
        f"/api/v1/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse
    )
    assert drafted.is_success, drafted.text


@pytest.mark.parametrize("name", [_param(name) for name in VISITS])
def test_a_bokmal_page_has_no_english_no_internal_ids_and_decimal_commas(
    name: str,
    page: Page,
    dashboard_url: str,
    ward: Ward,
    sessions: sessionmaker[Session],
    http: httpx.Client,
    login: Login,
    shots: Path,
) -> None:
    visit = VISITS[name]
    _a_handled_week(sessions, ward, http, login)
    # Streamlit saves a table's CSV through the file picker where there is one: a download here
    page.add_init_script("delete window.showSaveFilePicker;")
    if visit.username:
        _log_in(page, dashboard_url, visit.username)
    else:
        page.goto(dashboard_url)
    _settled(page)
    visit.go(page)
    expect(page.get_by_text(visit.shown).first).to_be_visible()
    _settled(page)
    _open_expanders(page)
    page.screenshot(path=shots / f"walk-{name}.png", full_page=True)
    text = _visible_text(page)
    (shots / f"walk-{name}.txt").write_text(text)
    found = findings(text, visit.allowed)
    (shots / f"walk-{name}-findings.txt").write_text("\n".join(found))
    assert not found, f"{name}: {len(found)} findings\n" + "\n".join(found)
