"""A section's figures and tables as a reader sees them: each figure and table with its title,
definition and source in the reader's language, each coded cell with its label (municipalities
and centres by name), and values written the reader's way ("93 %", "4,5 dager").

The API's JSON (:mod:`triage.api.routers.programme`), the CSV and Excel exports
(:mod:`triage.programme.exports`) and the printable monthly report
(:mod:`triage.programme.report`) are all built from :func:`section_view`, so they cannot say
different things. Everything here is generic over :data:`triage.programme.registry.DEFINITIONS`:
a figure or table a part adds shows up without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    CODE_LABELS,
    Cell,
    Coded,
    Column,
    Definition,
    Figure,
    SectionResult,
    Table,
    Unit,
)
from triage.texts.catalogue import Language
from triage.texts.numbers import LOCALES, UNIT_SPACE, format_number

#: Each section's heading, after the RE-AIM dimension it answers.
SECTION_TITLES: dict[ProgrammeSection, Text] = {
    ProgrammeSection.REACH: Text(nb="Rekkevidde", en="Reach"),
    ProgrammeSection.ADOPTION: Text(nb="Adopsjon", en="Adoption"),
    ProgrammeSection.FIDELITY: Text(nb="Gjennomføring etter planen", en="Fidelity"),
    ProgrammeSection.ALERT_HANDLING: Text(nb="Håndtering av varsler", en="Alert handling"),
    ProgrammeSection.BENEFIT: Text(nb="Effekt og gevinst", en="Effectiveness and benefit"),
    ProgrammeSection.WORKLOAD: Text(nb="Arbeidsmengde", en="Workload"),
}

#: One line under each section's heading: the question it answers.
SECTION_QUESTIONS: dict[ProgrammeSection, Text] = {
    ProgrammeSection.REACH: Text(
        nb="Når tjenesten de pasientene den er ment for? Hvem er med, og hvem slutter?",
        en="Does the service reach the patients it is meant for? Who is in, who leaves?",
    ),
    ProgrammeSection.ADOPTION: Text(
        nb="Tar kommunene, fastlegene og sykepleierne tjenesten i bruk?",
        en="Do the municipalities, the GPs and the nurses take the service up?",
    ),
    ProgrammeSection.FIDELITY: Text(
        nb="Brukes tjenesten slik den er ment: målinger til planlagt tid, planer tilpasset "
        "pasienten og gjennomgått?",
        en="Is the service used as intended: measurements on schedule, plans personalised "
        "and reviewed?",
    ),
    ProgrammeSection.ALERT_HANDLING: Text(
        nb="Blir varslene håndtert etter rutinen, i tide og med utfall registrert?",
        en="Are alerts handled per the protocol, in time and with an outcome recorded?",
    ),
    ProgrammeSection.BENEFIT: Text(
        nb="Hva gir tjenesten pasientene og kommunen: varsler, grønne dager, utfall, "
        "hjemmebesøk spart?",
        en="What does the service give the patients and the municipality: alerts, green "
        "days, outcomes, home visits avoided?",
    ),
    ProgrammeSection.WORKLOAD: Text(
        nb="Hvor mye arbeid gir tjenesten sykepleierne?",
        en="How much work does the service give the nurses?",
    ),
}

#: How each unit reads after a number (empty: a plain count).
UNIT_WORDS: dict[Unit, Text] = {
    Unit.COUNT: Text(nb="", en=""),
    Unit.SHARE: Text(nb="%", en="%"),
    Unit.DAYS: Text(nb="dager", en="days"),
    Unit.MINUTES: Text(nb="min", en="min"),
    Unit.HOURS: Text(nb="timer", en="hours"),
    Unit.PER_PATIENT_WEEK: Text(nb="per pasientuke", en="per patient-week"),
    Unit.PER_NURSE_DAY: Text(nb="per sykepleierdag", en="per nurse-day"),
    Unit.PER_FTE: Text(nb="per årsverk", en="per FTE"),
}

#: The unit's name, for the documentation and the exports' headings.
UNIT_NAMES: dict[Unit, Text] = {
    Unit.COUNT: Text(nb="antall", en="count"),
    Unit.SHARE: Text(nb="andel (vises i prosent)", en="share (shown as per cent)"),
    Unit.DAYS: Text(nb="dager", en="days"),
    Unit.MINUTES: Text(nb="minutter", en="minutes"),
    Unit.HOURS: Text(nb="timer", en="hours"),
    Unit.PER_PATIENT_WEEK: Text(nb="per pasientuke", en="per patient-week"),
    Unit.PER_NURSE_DAY: Text(nb="per sykepleierdag", en="per nurse-day"),
    Unit.PER_FTE: Text(nb="per årsverk (sykepleier)", en="per nurse FTE"),
}

#: Columns holding the period of a series over time (a chart's x axis).
PERIOD_COLUMNS = frozenset({"month", "week", "day", "date"})
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

_NOTHING_TO_DIVIDE = Text(
    nb="ikke beregnet: ingen å regne av (nevneren er 0)",
    en="not computed: nothing to divide by (the denominator is 0)",
)
_NO_FTE = Text(
    nb="ikke beregnet: antall årsverk er ikke lagt inn",
    en="not computed: the nurse FTEs are not entered",
)
#: the part knows why better than this module can (a median of no alerts, a setting the admin
#: has not entered): the definition says when the figure has no value
_SEE_DEFINITION = Text(
    nb="ikke beregnet: definisjonen sier når tallet mangler",
    en="not computed: the definition says when it has no value",
)

#: Municipality, centre and patient ids → names (the API looks them up; a patient's name only
#: for her nurses); the other codes have labels.
Names = Mapping[Coded, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class FigureValue:
    """One value of a figure: ``key`` tells the values of one definition apart (a state, a
    colour) and ``key_label`` names it; ``missing`` says why there is no value."""

    key: str | None
    key_label: str | None
    value: float | None
    numerator: float | None
    denominator: float | None
    text: str  # the value as the reader writes it ("93 %", "–")
    missing: str | None


@dataclass(frozen=True, slots=True)
class FigureView:
    id: str
    title: str
    definition: str
    source: str
    unit: Unit
    values: tuple[FigureValue, ...]


@dataclass(frozen=True, slots=True)
class ColumnView:
    id: str
    title: str
    unit: Unit | None
    coded: Coded | None


@dataclass(frozen=True, slots=True)
class TableView:
    """A table's rows as computed (``rows``) and as read (``labels``: a coded cell's label,
    None for the other cells)."""

    id: str
    title: str
    definition: str
    source: str
    columns: tuple[ColumnView, ...]
    rows: tuple[tuple[Cell, ...], ...]
    labels: tuple[tuple[str | None, ...], ...]

    @property
    def period_column(self) -> int | None:
        """The index of the month/week column (a series over time), or None."""
        return next((i for i, c in enumerate(self.columns) if c.id in PERIOD_COLUMNS), None)

    def shown(self, row: int, column: int, language: Language) -> str:
        """A cell as the reader reads it: the label of a code, a number the reader's way."""
        label = self.labels[row][column]
        if label is not None:
            return label
        value = self.rows[row][column]
        if isinstance(value, str) and self.columns[column].id in PERIOD_COLUMNS:
            return period_label(self.columns[column].id, value, language)
        return format_cell(value, self.columns[column].unit, language)


@dataclass(frozen=True, slots=True)
class SectionView:
    section: ProgrammeSection
    title: str
    question: str
    figures: tuple[FigureView, ...]
    tables: tuple[TableView, ...]


def section_view(
    result: SectionResult,
    definitions: Mapping[str, Definition],
    language: Language,
    names: Names,
) -> SectionView:
    """``result`` in ``language``: figures grouped by definition (in the order computed), each
    table with its columns' titles and its coded cells' labels."""
    groups: dict[str, list[Figure]] = {}
    for figure in result.figures:
        groups.setdefault(figure.id, []).append(figure)
    figures = tuple(
        _figure_view(figure_id, found, definitions.get(figure_id), language, names)
        for figure_id, found in groups.items()
    )
    tables = tuple(
        _table_view(table, definitions.get(table.id), language, names) for table in result.tables
    )
    return SectionView(
        section=result.section,
        title=SECTION_TITLES[result.section].in_language(language),
        question=SECTION_QUESTIONS[result.section].in_language(language),
        figures=figures,
        tables=tables,
    )


def code_label(coded: Coded, code: str | None, language: Language, names: Names) -> str | None:
    """The label of ``code`` in its family: a municipality's or centre's name, a state's or
    colour's word; the code itself when the family has no label for it; None for no code."""
    if coded in (Coded.MUNICIPALITY, Coded.CENTRE, Coded.PATIENT):
        return None if code is None else names.get(coded, {}).get(code, code)
    labels = CODE_LABELS.get(coded, {})
    key = "none" if code is None else code
    if key in labels:
        return labels[key].in_language(language)
    return code


def key_family(definition: Definition | None, key: str) -> Coded | None:
    """Which codes a figure's key is: the definition's ``key_coded``, else the one family that
    holds such a code (a state "paused", a colour "red"), else None."""
    if definition is not None and definition.key_coded is not None:
        return definition.key_coded
    families = [coded for coded, labels in CODE_LABELS.items() if key in labels]
    return families[0] if len(families) == 1 else None


def missing_reason(figure: Figure, unit: Unit, language: Language) -> str | None:
    """Why ``figure`` has no value (None when it has one)."""
    if figure.value is not None:
        return None
    if unit is Unit.PER_FTE:
        return _NO_FTE.in_language(language)
    if figure.denominator == 0:
        return _NOTHING_TO_DIVIDE.in_language(language)
    return _SEE_DEFINITION.in_language(language)


def format_value(value: float | None, unit: Unit | None, language: Language) -> str:
    """A value with its unit, the reader's way: "93 %" (a share 0.93; one decimal at most),
    "1 234", "4,5 dager", "0,4 per pasientuke"; "–" for no value."""
    if value is None:
        return "–"
    if unit is Unit.SHARE:
        number = format_number(round(value * 100, 1), language)
        return f"{number}%" if language == "en" else f"{number}{UNIT_SPACE}%"
    number = format_number(value, language)
    words = UNIT_WORDS[unit].in_language(language) if unit is not None else ""
    return f"{number}{UNIT_SPACE}{words}" if words else number


def period_label(column: str, value: str, language: Language) -> str:
    """A period cell in words: a month "2026-11" → "nov. 2026", a week "2026-W47" → "uke 47
    2026", a day "2026-11-23" → "23.11.2026"; anything else as it is."""
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


def format_cell(value: Cell, unit: Unit | None, language: Language) -> str:
    """A table cell: a number the reader's way, text as it is, "–" for nothing."""
    if value is None:
        return "–"
    if isinstance(value, bool):  # pragma: no cover - cells hold no booleans
        return str(value)
    if isinstance(value, int | float):
        return format_value(float(value), unit, language)
    return value


def ratio_text(value: FigureValue, language: Language) -> str | None:
    """ "12 av 13" for a figure with a numerator and a denominator; None otherwise."""
    if value.numerator is None or value.denominator is None:
        return None
    word = "of" if language == "en" else "av"
    return (
        f"{format_number(value.numerator, language)} {word} "
        f"{format_number(value.denominator, language)}"
    )


def _figure_view(
    figure_id: str,
    figures: list[Figure],
    definition: Definition | None,
    language: Language,
    names: Names,
) -> FigureView:
    unit = definition.unit if definition is not None else Unit.COUNT
    values = []
    for figure in figures:
        family = key_family(definition, figure.key) if figure.key is not None else None
        label = figure.key
        if family is not None:
            label = code_label(family, figure.key, language, names)
        values.append(
            FigureValue(
                key=figure.key,
                key_label=label,
                value=figure.value,
                numerator=figure.numerator,
                denominator=figure.denominator,
                text=format_value(figure.value, unit, language),
                missing=missing_reason(figure, unit, language),
            )
        )
    return FigureView(
        id=figure_id,
        title=_title(definition, figure_id, language),
        definition=_definition(definition, language),
        source=definition.source.in_language(language) if definition is not None else "",
        unit=unit,
        values=tuple(values),
    )


def _table_view(
    table: Table, definition: Definition | None, language: Language, names: Names
) -> TableView:
    declared = {c.id: c for c in definition.columns} if definition is not None else {}
    columns = tuple(
        _column_view(declared.get(column_id), column_id, language) for column_id in table.columns
    )
    labels = tuple(
        tuple(
            code_label(column.coded, None if cell is None else str(cell), language, names)
            if column.coded is not None
            else None
            for column, cell in zip(columns, row, strict=True)
        )
        for row in table.rows
    )
    return TableView(
        id=table.id,
        title=_title(definition, table.id, language),
        definition=_definition(definition, language),
        source=definition.source.in_language(language) if definition is not None else "",
        columns=columns,
        rows=table.rows,
        labels=labels,
    )


def _column_view(column: Column | None, column_id: str, language: Language) -> ColumnView:
    if column is None:
        return ColumnView(column_id, column_id, None, None)
    return ColumnView(column.id, column.title.in_language(language), column.unit, column.coded)


def _title(definition: Definition | None, fallback: str, language: Language) -> str:
    return definition.title.in_language(language) if definition is not None else fallback


def _definition(definition: Definition | None, language: Language) -> str:
    return definition.definition.in_language(language) if definition is not None else ""
