"""A section as the reader sees it (triage/programme/view.py, behind the API, the exports and
the report): definitions in the reader's language, codes as labels, municipalities by name,
numbers the reader's way, and why a figure has no value."""

from __future__ import annotations

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    Coded,
    Column,
    Definition,
    Figure,
    SectionResult,
    Table,
    Unit,
    count,
    ratio,
)
from triage.programme.report import ReportContext, month_name, render_report
from triage.programme.view import format_value, section_view

NBSP = "\u00a0"
SHARE = Definition(
    id="t.on_time",
    section=ProgrammeSection.ALERT_HANDLING,
    unit=Unit.SHARE,
    title=Text(nb="Kvittert i tide", en="Acknowledged in time"),
    definition=Text(nb="Røde kvittert innen 15 minutter.", en="Reds acknowledged in 15 min."),
    source=Text(nb="DHO", en="DHO"),
)
PER_FTE = Definition(
    id="t.per_fte",
    section=ProgrammeSection.ALERT_HANDLING,
    unit=Unit.PER_FTE,
    title=Text(nb="Pasienter per årsverk", en="Patients per FTE"),
    definition=Text(nb="Pasienter delt på årsverk.", en="Patients over FTEs."),
    source=Text(nb="DHO", en="DHO"),
)
BY_TOWN = Definition(
    id="t.by_town",
    section=ProgrammeSection.ALERT_HANDLING,
    unit=Unit.COUNT,
    title=Text(nb="Varsler per kommune", en="Alerts per municipality"),
    definition=Text(nb="Antall varsler.", en="Alerts."),
    source=Text(nb="DHO", en="DHO"),
    columns=(
        Column("month", Text(nb="Måned", en="Month")),
        Column("municipality", Text(nb="Kommune", en="Municipality"), coded=Coded.MUNICIPALITY),
        Column("colour", Text(nb="Farge", en="Colour"), coded=Coded.COLOUR),
        Column("alerts", Text(nb="Varsler", en="Alerts"), unit=Unit.COUNT),
    ),
)
DEFINITIONS = {d.id: d for d in (SHARE, PER_FTE, BY_TOWN)}
NAMES = {Coded.MUNICIPALITY: {"m-1": "Testvik"}, Coded.CENTRE: {}}


def _result(*figures: Figure, tables: tuple[Table, ...] = ()) -> SectionResult:
    return SectionResult(ProgrammeSection.ALERT_HANDLING, figures, tables)


def test_a_share_reads_in_per_cent_and_a_share_of_nothing_says_why() -> None:
    view = section_view(
        _result(ratio("t.on_time", 12, 13, key="red"), ratio("t.on_time", 0, 0, key="yellow")),
        DEFINITIONS,
        "nb",
        NAMES,
    )
    [figure] = view.figures
    assert (figure.title, figure.definition) == ("Kvittert i tide", SHARE.definition.nb)
    red, yellow = figure.values
    assert (red.key_label, red.text, red.missing) == ("Rød", f"92,3{NBSP}%", None)
    assert (yellow.key_label, yellow.text) == ("Gul", "–")
    assert yellow.missing == "ikke beregnet: ingen å regne av (nevneren er 0)"


def test_a_figure_per_fte_without_ftes_says_they_are_not_entered() -> None:
    view = section_view(_result(Figure("t.per_fte", None, 40, None)), DEFINITIONS, "en", NAMES)
    [value] = view.figures[0].values
    assert (value.text, value.missing) == ("–", "not computed: the nurse FTEs are not entered")


def test_another_missing_value_points_to_its_definition() -> None:
    """A median of no alerts, hours saved without minutes per visit: the part knows which;
    the definition says when the figure has no value."""
    view = section_view(_result(Figure("t.on_time", None)), DEFINITIONS, "nb", NAMES)
    [value] = view.figures[0].values
    assert value.missing == "ikke beregnet: definisjonen sier når tallet mangler"


def test_a_tables_codes_are_labelled_and_municipalities_named() -> None:
    table = Table(
        "t.by_town",
        ("month", "municipality", "colour", "alerts"),
        (("2026-11", "m-1", "red", 1234), ("2026-11", "m-unknown", "green", 0)),
    )
    [shown] = section_view(_result(tables=(table,)), DEFINITIONS, "nb", NAMES).tables
    assert [c.title for c in shown.columns] == ["Måned", "Kommune", "Farge", "Varsler"]
    assert shown.labels == ((None, "Testvik", "Rød", None), (None, "m-unknown", "Grønn", None))
    assert [shown.shown(0, c, "nb") for c in range(4)] == [
        "nov. 2026",
        "Testvik",
        "Rød",
        f"1{NBSP}234",
    ]
    assert shown.period_column == 0


def test_a_figure_without_a_definition_still_shows_by_its_id() -> None:
    """A part whose definition is not registered yet: shown by id, not lost."""
    view = section_view(_result(count("t.unregistered", 3)), DEFINITIONS, "nb", NAMES)
    assert (view.figures[0].title, view.figures[0].values[0].text) == ("t.unregistered", "3")


def test_units_read_in_both_languages() -> None:
    assert format_value(4.5, Unit.DAYS, "nb") == f"4,5{NBSP}dager"
    assert format_value(4.5, Unit.DAYS, "en") == f"4.5{NBSP}days"
    assert format_value(0.93, Unit.SHARE, "en") == "93%"
    assert format_value(None, Unit.COUNT, "nb") == "–"


def test_the_report_is_one_page_for_print_with_everything_escaped() -> None:
    from datetime import date, datetime

    view = section_view(_result(ratio("t.on_time", 12, 13)), DEFINITIONS, "nb", NAMES)
    page = render_report(
        [view],
        ReportContext(
            month=date(2026, 10, 1),
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            centres="<b>Senter</b>",
            municipalities="alle",
            condition="alle",
            made_at=datetime(2026, 11, 2, 9, 30),  # noqa: DTZ001 - shown as written
            made_by="Leder A",
            language="nb",
        ),
    )
    assert "@media print" in page
    assert f"92,3{NBSP}%" in page
    assert "(12 av 13)" in page
    assert "&lt;b&gt;Senter&lt;/b&gt;" in page
    assert month_name(date(2026, 10, 1), "nb") == "oktober 2026"
