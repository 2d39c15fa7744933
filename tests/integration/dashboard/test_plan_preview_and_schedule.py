"""The plans page: a draft previewed against the last 30 days' readings, and the measurement
schedule edited into a draft (AppTest against the real API, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import time, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import NOW, Login, ingest
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in


def _text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [str(h.value) for h in at.subheader] + [str(s.value) for s in at.success]
    parts += [str(w.value) for w in at.warning]
    return "\n".join(parts)


def _chart_rows(spec: str) -> list[dict[str, Any]]:
    """Every data row of a Vega-Lite spec (inline values, per layer or in datasets)."""
    rows: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            values = node.get("values")
            if isinstance(values, list):
                rows.extend(v for v in values if isinstance(v, dict))
            for key, value in node.items():
                if key == "datasets" and isinstance(value, dict):
                    for data in value.values():
                        rows.extend(d for d in data if isinstance(d, dict))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(spec))
    return rows


def _plans_page(app: AppFactory, patient_id: str) -> AppTest:
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/plans.py").run()
    at.selectbox(key="plans_patient").set_value(patient_id).run()
    assert not at.exception, at.exception
    return at


def test_a_draft_is_previewed_against_the_last_30_days_in_words_and_icons(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login, sessions: sessionmaker[Session]
) -> None:
    """a-copd had SpO2 93 % (green) five days ago and 86 % (red) this morning. A draft with
    yellow at ≤ 93 % shows: one of two readings changes, the counts side by side, the 93 %
    now yellow with the draft's reason, and a chart with the draft's bands."""
    ingest(
        sessions,
        "gw-a-copd",
        [("copd-93", "spo2", {"spo2": 93, "pulse": 72}, NOW - timedelta(days=5))],
    )
    nurse = login(http, "nurse-a")
    plan = http.get(f"/api/v1/patients/{ward.red}/plans", headers=nurse).json()["items"][0]
    drafted = http.post(
        f"/api/v1/plans/{plan['plan_id']}/versions",
        json={"changes": {"zones": {"spo2": {"yellow_low": 93}}}, "note": "Strengere SpO2"},
        headers=nurse,
    )
    assert drafted.status_code == 201, drafted.text

    at = _plans_page(app, ward.red)
    text = _text(at)
    assert "Forhåndsvis mot siste 30 dager" in text
    assert (
        "1 av 2 målinger fra de siste 30 dagene ville fått en annen sone med v2: "
        "1 mer alvorlig, 0 mindre alvorlig." in text
    )
    counts = at.table[0].value
    assert list(counts.columns) == ["Sone", "Slik de ble vurdert", "Med utkastet v2", "Endring"]
    assert counts.values.tolist() == [
        ["🔴 Rød", 1, 1, "0"],
        ["🟡 Gul", 0, 1, "+1"],
        ["🟢 Grønn", 1, 0, "−1"],
    ]
    changes = at.table[-1].value
    [row] = changes.to_dict("records")
    assert row["Tid"] == "18.11 09:30"
    assert row["Slik de ble vurdert"] == "🟢 Grønn (plan v1)"
    assert row["Med utkastet"] == "🟡 Gul (plan v2)"
    assert row[""] == "⬆ mer alvorlig"
    assert row["Hvorfor med utkastet"] == (
        "Oksygenmetning 93\u00a0% – gul: 93\u00a0% eller lavere (egenbehandlingsplan versjon 2)"
    )
    [chart] = at.get("vega_lite_chart")  # one chart: SpO2, the parameter that changed
    assert "Oksygenmetning (SpO2) (%)" in text
    bands = [row for row in _chart_rows(chart.proto.spec) if "low" in row and "zone" in row]
    assert {(b["zone"], b["high"]) for b in bands if b["zone"] == "Gul"} == {("Gul", 93.0)}

    at.sidebar.radio[0].set_value("en").run()  # the language switch
    assert "Preview against the last 30 days" in _text(at)
    assert "1 more urgent, 0 less urgent" in _text(at)


def test_a_nurse_moves_a_measurement_and_the_draft_diff_shows_it(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """COPD's Mon/Thu 12:00 measurement moved to 09:30 becomes draft v2; the differences say
    what moved; the preview says no reading changes zone."""
    at = _plans_page(app, ward.red)
    assert "Klokkeslett er lokal tid i Europe/Oslo." in _text(at)
    assert at.time_input(key="sched-0-due").value == time(12, 0)
    at.time_input(key="sched-0-due").set_value(time(9, 30))
    at.text_input(key="schedule_note").input("Pasienten er hjemme om formiddagen")
    at.button(key="FormSubmitter:plan_schedule-Lagre måleplan som utkast").click().run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "Utkast lagret: v2" in text
    assert (
        "Måling endret: oksygenmetning, temperatur, daglig KOLS-sjekk · man, tor · innen 12:00 → "
        "man, tor · innen 09:30" in text
    )
    assert "Den ene målingen fra de siste 30 dagene ville fått samme sone med v2." in text
    stored = http.get(f"/api/v1/patients/{ward.red}/plans", headers=login(http, "nurse-a")).json()[
        "items"
    ][0]
    assert (stored["version"], stored["status"], stored["note"]) == (
        2,
        "draft",
        "Pasienten er hjemme om formiddagen",
    )


def test_a_measurement_twice_at_the_same_time_is_refused_with_the_apis_reason(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """A new SpO2 on Monday at 12:00, where the plan already has one: the API's reason is
    shown and no draft is saved; an unchanged schedule saves nothing either."""
    at = _plans_page(app, ward.red)
    at.button(key="FormSubmitter:plan_schedule-Lagre måleplan som utkast").click().run()
    assert "Måleplanen er ikke endret; ingenting er lagret." in [i.value for i in at.info]

    at.multiselect(key="sched-new-kinds").set_value(["spo2"])
    at.multiselect(key="sched-new-days").set_value([1])
    at.time_input(key="sched-new-due").set_value(time(12, 0))
    at.text_input(key="schedule_note").input("Ekstra måling mandag")
    at.button(key="FormSubmitter:plan_schedule-Lagre måleplan som utkast").click().run()
    assert not at.exception, at.exception
    errors = "\n".join(str(e.value) for e in at.error)
    assert "SpO2 is already scheduled at 12:00 (Europe/Oslo) on Monday in items[0]" in errors
    versions = http.get(f"/api/v1/patients/{ward.red}/plans", headers=login(http, "nurse-a"))
    assert [v["version"] for v in versions.json()["items"]] == [1]
