"""The programme page's words and numbers (pure: the API's answer in, what the page shows out).

Shares are shown in per cent with the numerator and denominator beside them ("93 %", "12 av
13"); a value the API could not compute is "–" with its reason; numbers have the reader's
decimal sign (:mod:`dashboard.numbers`). A table with a month or week column is also a series
over time, drawn by :func:`series_chart`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import altair as alt
from babel.dates import format_date

from dashboard.api_client import ProgrammeFigure, ProgrammeTable, ProgrammeValue
from dashboard.i18n import WORDS, Language, t
from dashboard.numbers import LOCALES, UNIT_SPACE, format_number

PeriodChoice = Literal["last_30_days", "last_month", "chosen"]
PERIOD_CHOICES: tuple[PeriodChoice, ...] = ("last_30_days", "last_month", "chosen")

#: The words after a number, per unit (the API's ``Unit``); a count has none.
_UNIT_WORDS: dict[str, tuple[str, str]] = {
    "days": ("dager", "days"),
    "minutes": ("min", "min"),
    "hours": ("timer", "hours"),
    "per_patient_week": ("per pasientuke", "per patient-week"),
    "per_nurse_day": ("per sykepleierdag", "per nurse-day"),
    "per_fte": ("per årsverk", "per FTE"),
}
#: Columns holding the period of a series over time.
PERIOD_COLUMNS = ("month", "week", "day", "date")
#: Units whose series are drawn as bars (amounts per period); the others as lines (rates).
_BAR_UNITS = frozenset({"count", "hours", "minutes"})
_CHART_HEIGHT = 240
#: the series' colours: Vega's "dark2" (teal, orange, purple, pink …): no clinical red first
_PALETTE: Literal["dark2"] = "dark2"
#: the clinical colours, as the patient charts draw them (dashboard/presenters.CHART_COLOURS)
CLINICAL_COLOURS: dict[str, str] = {"red": "#d7191c", "yellow": "#e6b800", "green": "#009e73"}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Metric:
    """One value as the page shows it: its label, the value, and under it the numerator and
    denominator ("12 av 13") or why there is none."""

    label: str
    value: str
    note: str | None


@dataclass(frozen=True, slots=True)
class Series:
    """A table drawn over time: one row per period and series, values in the chart's unit."""

    rows: list[dict[str, Any]]
    mark: Literal["bar", "line"]
    x_title: str
    y_title: str
    series_title: str
    percent: bool
    #: a series' colour when the series are the clinical colours (a red alert drawn red);
    #: else a palette without the clinical red, yellow and green
    colours: dict[str, str] | None = None


def format_value(value: float | None, unit: str | None, language: Language) -> str:
    """A value the reader's way: a share 0.93 → "93 %" (one decimal at most), "4,5 dager",
    "1 234"; "–" for no value."""
    if value is None:
        return "–"
    if unit == "share":
        number = format_number(round(value * 100, 1), language)
        return f"{number}%" if language == "en" else f"{number}{UNIT_SPACE}%"
    number = format_number(round(value, 2), language)
    words = _UNIT_WORDS.get(unit or "")
    if words is None:
        return number
    return f"{number}{UNIT_SPACE}{words[1] if language == 'en' else words[0]}"


#: Rates: the value is shown as a number with the unit in the label ("Rød (per pasientuke)",
#: "0,21"), the numerator and denominator in the rate's words ("5 på 24 pasientuker").
RATE_UNITS = frozenset({"per_patient_week", "per_nurse_day", "per_fte"})


def ratio_text(
    value: ProgrammeValue,
    language: Language,
    unit: str | None = None,
    figure_id: str | None = None,
) -> str | None:
    """ "12 av 13" when the value has a numerator and a denominator; for a rate, its own words
    ("5 på 24 pasientuker"); a figure with words of its own in the catalogue
    (``programme_ratio_<figure id>``, e.g. a mean per day) has those."""
    if value.numerator is None or value.denominator is None:
        return None
    key = "programme_ratio"
    if f"programme_ratio_{figure_id}" in WORDS:
        key = f"programme_ratio_{figure_id}"
    elif unit in RATE_UNITS:
        key = f"programme_ratio_{unit}"
    return t(
        key,
        language,
        numerator=format_number(value.numerator, language),
        denominator=format_number(value.denominator, language),
    )


def value_note(
    value: ProgrammeValue,
    language: Language,
    unit: str | None = None,
    figure_id: str | None = None,
) -> str | None:
    """What is shown under a value: its reason when it has none, else its ratio."""
    if value.value is None:
        return value.missing or t("programme_not_computed", language)
    return ratio_text(value, language, unit, figure_id)


def figure_metrics(figure: ProgrammeFigure, language: Language) -> list[Metric]:
    """A figure's values as metrics: one per key (labelled by the key's label), or a single
    one labelled by the figure's title."""
    single = len(figure.values) == 1 and figure.values[0].key is None
    rate = figure.unit in RATE_UNITS
    words = _UNIT_WORDS.get(figure.unit or "", ("", ""))
    metrics = []
    for v in figure.values:
        label = figure.title if single else (v.key_label or v.key or figure.title)
        if rate and not single:
            # a narrow column: the unit goes with the label, the number stands alone
            label = f"{label} ({words[1] if language == 'en' else words[0]})"
        metrics.append(
            Metric(
                label=label,
                value=(
                    format_value(v.value, None, language)
                    if rate and not single and v.value is not None
                    else format_value(v.value, figure.unit, language)
                ),
                note=value_note(v, language, figure.unit, figure.id),
            )
        )
    return metrics


def period_label(column: str, value: str, language: Language) -> str:
    """A period cell in words: a month "2026-11" → "nov. 2026", a week "2026-W47" → "uke 47
    2026" ("week 47 2026"), a day "2026-11-23" → "23.11.2026"; anything else as it is."""
    month = _MONTH.match(value)
    if column == "month" and month:
        first = date(int(month.group(1)), int(month.group(2)), 1)
        text: str = format_date(first, "MMM y", locale=LOCALES[language])
        return text
    week = _WEEK.match(value)
    if column == "week" and week:
        word = "week" if language == "en" else "uke"
        return f"{word} {int(week.group(2))} {week.group(1)}"
    day = _DAY.match(value)
    if day:
        return f"{day.group(3)}.{day.group(2)}.{day.group(1)}"
    return value


def cell_text(table: ProgrammeTable, row: int, column: int, language: Language) -> str:
    """A table cell as read: a code's label, a period in words, a number the reader's way, "–"
    for nothing."""
    label = table.labels[row][column] if row < len(table.labels) else None
    if label is not None:
        return label
    value = table.rows[row][column]
    if value is None:
        return "–"
    if isinstance(value, str) and table.columns[column].id in PERIOD_COLUMNS:
        return period_label(table.columns[column].id, value, language)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_value(float(value), table.columns[column].unit, language)
    return str(value)


def table_rows(table: ProgrammeTable, language: Language) -> list[dict[str, str]]:
    """The table as the page shows it: one dict per row, keyed by the columns' titles."""
    titles = _unique_titles(table)
    return [
        {titles[c]: cell_text(table, r, c, language) for c in range(len(table.columns))}
        for r in range(len(table.rows))
    ]


def period_column(table: ProgrammeTable) -> int | None:
    return next((i for i, c in enumerate(table.columns) if c.id in PERIOD_COLUMNS), None)


def table_series(table: ProgrammeTable, language: Language) -> Series | None:
    """The table as a series over time, when it has a month/week column and numbers: the
    period on x, each number column (and each combination of the coded columns' labels) a
    series. None for a table that is no series."""
    x = period_column(table)
    if x is None or not table.rows:
        return None
    numbers = [
        i for i, c in enumerate(table.columns) if i != x and c.unit is not None and c.coded is None
    ]
    if not numbers:
        return None
    units = {table.columns[i].unit for i in numbers}
    percent = units == {"share"}
    groups = [
        i for i, c in enumerate(table.columns) if i != x and i not in numbers and c.unit is None
    ]
    colours: dict[str, str] | None = None
    if len(groups) == 1 and table.columns[groups[0]].coded == "colour" and len(numbers) == 1:
        colours = {
            cell_text(table, r, groups[0], language): CLINICAL_COLOURS[str(row[groups[0]])]
            for r, row in enumerate(table.rows)
            if str(row[groups[0]]) in CLINICAL_COLOURS
        }
    rows: list[dict[str, Any]] = []
    for r, row in enumerate(table.rows):
        group = " · ".join(cell_text(table, r, g, language) for g in groups)
        for n in numbers:
            value = row[n]
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            name = table.columns[n].title if len(numbers) > 1 or not group else ""
            series = " · ".join(part for part in (group, name) if part) or table.columns[n].title
            rows.append(
                {
                    "period": cell_text(table, r, x, language),
                    "series": series,
                    "value": value * 100 if percent else value,
                    "text": cell_text(table, r, n, language),
                }
            )
    if not rows:
        return None
    if len(numbers) == 1:
        y_title = table.columns[numbers[0]].title
    else:  # several measures (enrolled, discharged, in follow-up): side by side, never summed
        y_title = t(
            "programme_axis_count" if units == {"count"} else "programme_axis_value", language
        )
    if percent:
        y_title = f"{y_title} (%)"
    return Series(
        rows=rows,
        # bars stack the parts of one amount (per condition, per colour); several measures or
        # rates and shares are lines
        mark="bar" if units <= _BAR_UNITS and len(numbers) == 1 else "line",
        x_title=table.columns[x].title,
        y_title=y_title,
        series_title=" · ".join(table.columns[g].title for g in groups),
        percent=percent,
        colours=colours or None,
    )


def series_chart(series: Series, language: Language) -> alt.Chart:
    """An Altair chart of ``series``: bars per period (stacked by series) for amounts, lines
    for rates and shares; the tooltip writes each value the reader's way."""
    data: alt.Data = alt.Data(values=series.rows)  # type: ignore[no-untyped-call]
    x = alt.X("period:O", title=series.x_title, sort=None, axis=alt.Axis(labelAngle=0))
    axis = alt.Axis(title=series.y_title, format="~r")
    if language == "nb":
        axis = alt.Axis(
            title=series.y_title, format="~r", labelExpr="replace(datum.label, '.', ',')"
        )
    y = alt.Y("value:Q", axis=axis)
    scale = alt.Scale(scheme=_PALETTE)
    if series.colours:
        scale = alt.Scale(domain=list(series.colours), range=list(series.colours.values()))
    colour = alt.Color(
        "series:N",
        title=series.series_title or None,
        scale=scale,
        legend=alt.Legend(orient="bottom", labelLimit=320),
    )
    tooltip = [
        alt.Tooltip("period:N", title=series.x_title),
        alt.Tooltip("series:N", title=series.series_title or " "),
        alt.Tooltip("text:N", title=series.y_title),
    ]
    chart = alt.Chart(data)
    marked = chart.mark_bar() if series.mark == "bar" else chart.mark_line(point=True)
    built: alt.Chart = marked.encode(x=x, y=y, color=colour, tooltip=tooltip).properties(
        height=_CHART_HEIGHT
    )
    return built


def period_for(
    choice: PeriodChoice, today: date, chosen: Sequence[date] = ()
) -> tuple[date, date] | None:
    """The days a period choice means: the 30 days before today, last calendar month, or the
    two chosen dates (None until both are chosen)."""
    if choice == "last_30_days":
        end = today - timedelta(days=1)
        return end - timedelta(days=29), end
    if choice == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if len(chosen) == 2:
        first, last = sorted(chosen)
        return first, last
    return None


def period_text(start: date, end: date) -> str:
    """ "24.10.2026–22.11.2026"."""
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def recent_months(today: date, count: int = 12) -> list[str]:
    """The months a report can be printed for, newest first (this month, then back)."""
    months: list[str] = []
    first = today.replace(day=1)
    for _ in range(count):
        months.append(f"{first:%Y-%m}")
        first = (first - timedelta(days=1)).replace(day=1)
    return months


def month_label(month: str, language: Language) -> str:
    """ "2026-11" → "november 2026"."""
    year, number = (int(part) for part in month.split("-"))
    text: str = format_date(date(year, number, 1), "LLLL y", locale=LOCALES[language])
    return text


def table_filename(section: str, table_id: str, start: date, end: date, extension: str) -> str:
    """The download's name (as the API names it): section, table and period."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in table_id)
    return f"dho-{section}-{safe}-{start.isoformat()}_{end.isoformat()}.{extension}"


def section_filename(section: str, start: date, end: date) -> str:
    return f"dho-{section}-{start.isoformat()}_{end.isoformat()}.xlsx"


def _unique_titles(table: ProgrammeTable) -> list[str]:
    """Column titles as dict keys (a repeated title gets its id beside it)."""
    seen: set[str] = set()
    titles: list[str] = []
    for column in table.columns:
        title = column.title if column.title not in seen else f"{column.title} ({column.id})"
        seen.add(title)
        titles.append(title)
    return titles


# ----------------------------------------------------------------------------- population


def population_template(age_bands: Sequence[str], year: int) -> bytes:
    """The CSV the admin fills in: the API's header (``year,sex,age_band,count``) and a row per
    sex and age band of ``year`` with the count left empty (an unfilled row is refused by the
    API with its line named, never stored as 0)."""
    lines = ["year,sex,age_band,count"]
    lines += [f"{year},{sex},{band}," for sex in ("female", "male") for band in age_bands]
    return ("\n".join(lines) + "\n").encode()


def population_table(rows: Sequence[Mapping[str, Any]], language: Language) -> list[dict[str, str]]:
    """The stored inhabitants as the page shows them: Norwegian headings, "Kvinner"/"Menn",
    numbers with the reader's grouping."""
    return [
        {
            t("population_year", language): str(row["year"]),
            t("population_sex", language): t(f"population_sex_{row['sex']}", language),
            t("population_age_band", language): str(row["age_band"]),
            t("population_count", language): format_number(row["count"], language),
        }
        for row in rows
    ]
