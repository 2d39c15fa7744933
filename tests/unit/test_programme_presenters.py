"""The programme page's words and numbers: shares in per cent with their numerator and
denominator, decimal commas, "–" with the reason, the periods of the filter, tables as text
and as series over time."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.api_client import (
    ProgrammeColumn,
    ProgrammeFigure,
    ProgrammeFilters,
    ProgrammeTable,
    ProgrammeValue,
)
from dashboard.programme_presenters import (
    Metric,
    figure_metrics,
    format_value,
    month_label,
    period_for,
    period_label,
    population_table,
    population_template,
    recent_months,
    series_chart,
    table_filename,
    table_rows,
    table_series,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "unit", "nb", "en"),
    [
        (0.93, "share", f"93{NBSP}%", "93%"),
        (12 / 13, "share", f"92,3{NBSP}%", "92.3%"),  # 92.307… → one decimal
        (1.0, "share", f"100{NBSP}%", "100%"),
        (1234, "count", f"1{NBSP}234", "1,234"),
        (4.5, "days", f"4,5{NBSP}dager", "4.5 days"),
        (0.375, "per_patient_week", f"0,38{NBSP}per pasientuke", "0.38 per patient-week"),
        (23.5, "per_fte", f"23,5{NBSP}per årsverk", "23.5 per FTE"),
        (None, "share", "–", "–"),
    ],
)
def test_values_are_written_the_readers_way(
    value: float | None, unit: str, nb: str, en: str
) -> None:
    assert format_value(value, unit, "nb") == nb
    assert format_value(value, unit, "en") == en.replace(" ", NBSP, 1)  # before the unit


def test_a_share_shows_its_numerator_and_denominator() -> None:
    figure = ProgrammeFigure(
        id="alert_handling.on_time",
        title="Kvittert i tide",
        unit="share",
        values=[ProgrammeValue(value=12 / 13, numerator=12, denominator=13)],
    )
    assert figure_metrics(figure, "nb") == [Metric("Kvittert i tide", f"92,3{NBSP}%", "12 av 13")]
    assert figure_metrics(figure, "en")[0].note == "12 of 13"


def test_a_value_that_cannot_be_computed_is_a_dash_with_the_reason() -> None:
    reason = "ikke beregnet: antall årsverk er ikke lagt inn"
    figure = ProgrammeFigure(
        id="workload.patients_per_fte",
        title="Pasienter per årsverk",
        unit="per_fte",
        values=[ProgrammeValue(value=None, numerator=40, missing=reason)],
    )
    assert figure_metrics(figure, "nb") == [Metric("Pasienter per årsverk", "–", reason)]


def test_a_figure_with_keys_has_one_metric_per_key_labelled() -> None:
    figure = ProgrammeFigure(
        id="reach.patients_by_state",
        title="Pasienter etter status nå",
        values=[
            ProgrammeValue(key="active", key_label="Aktiv", value=12),
            ProgrammeValue(key="paused", key_label="Pause", value=3),
        ],
    )
    assert figure_metrics(figure, "nb") == [Metric("Aktiv", "12", None), Metric("Pause", "3", None)]


@pytest.mark.parametrize(
    ("choice", "today", "chosen", "expected"),
    [
        # the 30 days before today: 24 October … 22 November
        ("last_30_days", date(2026, 11, 23), (), (date(2026, 10, 24), date(2026, 11, 22))),
        ("last_month", date(2026, 11, 23), (), (date(2026, 10, 1), date(2026, 10, 31))),
        ("last_month", date(2026, 1, 5), (), (date(2025, 12, 1), date(2025, 12, 31))),
        ("last_month", date(2028, 3, 1), (), (date(2028, 2, 1), date(2028, 2, 29))),
        (
            "chosen",
            date(2026, 11, 23),
            (date(2026, 11, 10), date(2026, 11, 1)),
            (date(2026, 11, 1), date(2026, 11, 10)),
        ),
        ("chosen", date(2026, 11, 23), (date(2026, 11, 1),), None),  # one date: wait
    ],
)
def test_the_period_choices_mean_these_days(
    choice: str,
    today: date,
    chosen: tuple[date, ...],
    expected: tuple[date, date] | None,
) -> None:
    assert period_for(choice, today, chosen) == expected  # type: ignore[arg-type]


def test_the_report_can_be_printed_for_this_month_and_the_eleven_before() -> None:
    months = recent_months(date(2026, 2, 14))
    assert months[:3] == ["2026-02", "2026-01", "2025-12"]
    assert len(months) == 12
    assert month_label("2026-11", "nb") == "november 2026"
    assert month_label("2026-11", "en") == "November 2026"


def _monthly(unit: str = "count") -> ProgrammeTable:
    """Enrolments per month and condition (a series over time)."""
    return ProgrammeTable(
        id="reach.enrolments_by_month",
        title="Innskrevne per måned",
        columns=[
            ProgrammeColumn(id="month", title="Måned"),
            ProgrammeColumn(id="condition", title="Diagnose", coded="condition"),
            ProgrammeColumn(id="value", title="Pasienter", unit=unit),
        ],
        rows=[["2026-10", "copd", 3], ["2026-10", "heart_failure", 0.5], ["2026-11", None, 2]],
        labels=[[None, "KOLS", None], [None, "Hjertesvikt", None], [None, "Ingen", None]],
    )


def test_a_table_reads_as_the_page_shows_it() -> None:
    assert table_rows(_monthly(), "nb") == [
        {"Måned": "okt. 2026", "Diagnose": "KOLS", "Pasienter": "3"},
        {"Måned": "okt. 2026", "Diagnose": "Hjertesvikt", "Pasienter": "0,5"},
        {"Måned": "nov. 2026", "Diagnose": "Ingen", "Pasienter": "2"},
    ]
    assert period_label("week", "2026-W07", "nb") == "uke 7 2026"
    assert period_label("day", "2026-11-23", "en") == "23.11.2026"


def test_a_monthly_table_of_counts_is_drawn_as_bars_per_condition() -> None:
    series = table_series(_monthly(), "nb")
    assert series is not None
    assert series.mark == "bar"
    assert [(r["period"], r["series"], r["value"]) for r in series.rows] == [
        ("okt. 2026", "KOLS", 3),
        ("okt. 2026", "Hjertesvikt", 0.5),
        ("nov. 2026", "Ingen", 2),
    ]
    spec = series_chart(series, "nb").to_dict()
    assert spec["mark"]["type"] == "bar"
    assert "replace(datum.label, '.', ',')" in spec["encoding"]["y"]["axis"]["labelExpr"]


def test_a_monthly_share_is_a_line_in_per_cent() -> None:
    table = ProgrammeTable(
        id="fidelity.on_time_by_month",
        title="Målinger i tide per måned",
        columns=[
            ProgrammeColumn(id="month", title="Måned"),
            ProgrammeColumn(id="share", title="I tide", unit="share"),
        ],
        rows=[["2026-10", 0.9], ["2026-11", 0.925]],
        labels=[[None, None], [None, None]],
    )
    series = table_series(table, "nb")
    assert series is not None
    assert (series.mark, series.percent, series.y_title) == ("line", True, "I tide (%)")
    assert [(r["value"], r["text"]) for r in series.rows] == [
        (pytest.approx(90.0), f"90{NBSP}%"),
        (pytest.approx(92.5), f"92,5{NBSP}%"),
    ]


def test_several_measures_per_month_are_lines_side_by_side_never_stacked() -> None:
    """Enrolled, discharged and in follow-up are not parts of one amount: summing them in a
    stacked bar would say 3 + 1 + 2 = 6 of something."""
    table = ProgrammeTable(
        id="reach.monthly",
        title="Innskrevet og avsluttet per måned",
        columns=[
            ProgrammeColumn(id="month", title="Måned"),
            ProgrammeColumn(id="enrolled", title="Innskrevet", unit="count"),
            ProgrammeColumn(id="discharged", title="Avsluttet", unit="count"),
        ],
        rows=[["2026-10", 3, 1], ["2026-11", 0, 0]],
        labels=[[None, None, None], [None, None, None]],
    )
    series = table_series(table, "nb")
    assert series is not None
    assert (series.mark, series.y_title, series.series_title) == ("line", "Antall", "")
    assert [(r["period"], r["series"], r["value"]) for r in series.rows] == [
        ("okt. 2026", "Innskrevet", 3),
        ("okt. 2026", "Avsluttet", 1),
        ("nov. 2026", "Innskrevet", 0),
        ("nov. 2026", "Avsluttet", 0),
    ]
    assert series_chart(series, "nb").to_dict()["mark"]["type"] == "line"


def test_alerts_by_colour_are_drawn_in_their_clinical_colours() -> None:
    table = ProgrammeTable(
        id="benefit.alerts_by_week",
        title="Varsler per uke",
        columns=[
            ProgrammeColumn(id="week", title="Uke"),
            ProgrammeColumn(id="colour", title="Farge", coded="colour"),
            ProgrammeColumn(id="alerts", title="Varsler", unit="count"),
        ],
        rows=[["2026-W47", "red", 2], ["2026-W47", "yellow", 5]],
        labels=[[None, "Rød", None], [None, "Gul", None]],
    )
    series = table_series(table, "nb")
    assert series is not None
    assert series.colours == {"Rød": "#d7191c", "Gul": "#e6b800"}
    scale = series_chart(series, "nb").to_dict()["encoding"]["color"]["scale"]
    assert scale == {"domain": ["Rød", "Gul"], "range": ["#d7191c", "#e6b800"]}


def test_a_table_without_a_period_is_not_a_series() -> None:
    table = ProgrammeTable(
        id="reach.by_reason",
        title="Avsluttet etter grunn",
        columns=[
            ProgrammeColumn(id="reason", title="Grunn", coded="discharge"),
            ProgrammeColumn(id="patients", title="Pasienter", unit="count"),
        ],
        rows=[["died", 1]],
        labels=[["Død", None]],
    )
    assert table_series(table, "nb") is None


def test_filters_become_query_parameters_and_file_names_say_the_period() -> None:
    filters = ProgrammeFilters(
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
        municipality_ids=("m1", "m2"),
        condition="copd",
    )
    assert filters.params() == {
        "start": "2026-10-01",
        "end": "2026-10-31",
        "municipality": ["m1", "m2"],
        "condition": "copd",
    }
    assert ProgrammeFilters(start=date(2026, 10, 1), end=date(2026, 10, 2)).params() == {
        "start": "2026-10-01",
        "end": "2026-10-02",
    }
    assert (
        table_filename("reach", "reach.by month", filters.start, filters.end, "csv")
        == "dho-reach-reach.by_month-2026-10-01_2026-10-31.csv"
    )


def test_a_rate_by_colour_puts_its_unit_in_the_label_and_its_counts_in_words() -> None:
    """Two colours side by side leave no room for "0,21 per pasientuke": the unit moves to the
    label, and "5 av 24" (a share's words) would misread a rate: "5 på 24 pasientuker"."""
    figure = ProgrammeFigure(
        id="benefit.alerts_per_patient_week",
        title="Varsler per pasientuke",
        unit="per_patient_week",
        values=[
            ProgrammeValue(key="red", key_label="Rød", value=5 / 24, numerator=5, denominator=24),
            ProgrammeValue(key="yellow", key_label="Gul", value=None, numerator=0, denominator=0),
        ],
    )
    red, yellow = figure_metrics(figure, "nb")
    assert red == Metric("Rød (per pasientuke)", "0,21", "5 på 24 pasientuker")
    assert (yellow.label, yellow.value) == ("Gul (per pasientuke)", "–")
    assert figure_metrics(figure, "en")[0] == Metric(
        "Rød (per patient-week)",  # the key's label comes from the API, in its language
        "0.21",
        "5 in 24 patient-weeks",
    )
    one = ProgrammeFigure(
        id="workload.patients_per_fte",
        title="Pasienter per årsverk",
        unit="per_fte",
        values=[ProgrammeValue(value=40 / 2.5, numerator=40, denominator=2.5)],
    )
    assert figure_metrics(one, "nb") == [
        Metric("Pasienter per årsverk", f"16{NBSP}per årsverk", "40 på 2,5 årsverk")
    ]


def test_a_mean_per_opening_day_says_so_under_it() -> None:
    """The reds waiting at opening, on average per day: 1 in all over 20 days, not "1 av 20"."""
    figure = ProgrammeFigure(
        id="alert_handling.backlog_at_opening",
        title="Ukvitterte varsler ved åpning (snitt per dag)",
        unit="count",
        values=[
            ProgrammeValue(key="red", key_label="Rød", value=0.05, numerator=1, denominator=20)
        ],
    )
    assert figure_metrics(figure, "nb") == [Metric("Rød", "0,05", "1 i alt på 20 åpningsdager")]


def test_the_population_template_has_a_row_per_sex_and_band_to_fill_in() -> None:
    template = population_template(["0-49", "50-66", "67-79", "80-89", "90+"], 2026)
    lines = template.decode().splitlines()
    assert lines[0] == "year,sex,age_band,count"
    assert lines[1:3] == ["2026,female,0-49,", "2026,female,50-66,"]
    assert len(lines) == 1 + 2 * 5
    assert lines[-1] == "2026,male,90+,"


def test_stored_inhabitants_are_shown_in_norwegian() -> None:
    rows = [{"year": 2026, "sex": "female", "age_band": "80-89", "count": 1234}]
    assert population_table(rows, "nb") == [
        {"År": "2026", "Kjønn": "Kvinner", "Aldersgruppe": "80-89", "Innbyggere": f"1{NBSP}234"}
    ]
