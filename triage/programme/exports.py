"""The programme view's tables as files a leader opens: CSV (one table) and Excel workbooks
(one table, or a whole section: a sheet of figures and one sheet per table).

Both carry the headings and the labels the page shows (a municipality by name, a state in
words), in the reader's language. CSV is for other programs: UTF-8, comma-separated, numbers
with a decimal point, shares as 0–1 (the heading says so). Excel is for people: numbers are
numbers (shares formatted as per cent, so Excel sums and charts them), and a sheet "Om tallene"
/ "About" gives the period, the filters and every definition.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from triage.domain.colours import Text
from triage.domain.programme import Cell, Unit
from triage.programme.view import UNIT_NAMES, FigureView, SectionView, TableView
from triage.texts.catalogue import Language

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Excel's limit on a sheet's name, and the characters it refuses in one
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_PERCENT = "0.0%"
#: A CSV cell starting with one of these is a formula to a spreadsheet (CSV injection): it is
#: prefixed with an apostrophe, as OWASP advises (as the audit export does). Names are typed by
#: people.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_WORDS: dict[str, Text] = {
    "figures": Text(nb="Nøkkeltall", en="Figures"),
    "about": Text(nb="Om tallene", en="About"),
    "figure": Text(nb="Tall", en="Figure"),
    "applies_to": Text(nb="Gjelder", en="Applies to"),
    "value": Text(nb="Verdi", en="Value"),
    "numerator": Text(nb="Teller", en="Numerator"),
    "denominator": Text(nb="Nevner", en="Denominator"),
    "unit": Text(nb="Enhet", en="Unit"),
    "note": Text(nb="Merknad", en="Note"),
    "definition": Text(nb="Definisjon", en="Definition"),
    "source": Text(nb="Kilde", en="Source"),
    "section": Text(nb="Del", en="Section"),
    "period": Text(nb="Periode", en="Period"),
    "municipalities": Text(nb="Kommuner", en="Municipalities"),
    "condition": Text(nb="Diagnose", en="Condition"),
    "made": Text(nb="Laget", en="Made"),
    "share_0_1": Text(nb="andel 0–1", en="share 0–1"),
}


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What a file says about itself: the period and filters it was made for, and when."""

    start: date
    end: date
    municipalities: str  # the names, or "alle" / "all"
    condition: str  # the label, or "alle" / "all"
    made_at: datetime  # Europe/Oslo
    language: Language


def table_filename(section: str, table_id: str, start: date, end: date, extension: str) -> str:
    """``dho-reach-reach.by_month-2026-10-24_2026-11-22.csv``: section, table and period."""
    return f"dho-{section}-{_safe(table_id)}-{start.isoformat()}_{end.isoformat()}.{extension}"


def section_filename(section: str, start: date, end: date, extension: str) -> str:
    return f"dho-{section}-{start.isoformat()}_{end.isoformat()}.{extension}"


def column_heading(title: str, unit: Unit | None, language: Language, *, csv: bool) -> str:
    """A column's heading: its title, with the unit where the numbers alone would not say it
    ("Tid til kvittering (minutter)"; a CSV share "… (andel 0–1)")."""
    if unit is None or unit is Unit.COUNT:
        return title
    if unit is Unit.SHARE:
        return f"{title} ({_WORDS['share_0_1'].in_language(language)})" if csv else title
    return f"{title} ({UNIT_NAMES[unit].in_language(language)})"


def table_csv(table: TableView, language: Language) -> bytes:
    """The table as CSV: labelled headings, coded cells as their labels, numbers as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column_heading(c.title, c.unit, language, csv=True) for c in table.columns])
    for row, labels in zip(table.rows, table.labels, strict=True):
        writer.writerow(
            [
                _csv_cell(label if label is not None else cell)
                for cell, label in zip(row, labels, strict=True)
            ]
        )
    return out.getvalue().encode("utf-8")


def table_workbook(table: TableView, section: SectionView, context: ExportContext) -> bytes:
    """One table as an Excel workbook: the table's sheet and "Om tallene"."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    taken: set[str] = set()
    _table_sheet(sheet, table, context.language, taken)
    _about_sheet(book, section, (table,), (), context, taken)
    return _bytes(book)


def section_workbook(section: SectionView, context: ExportContext) -> bytes:
    """A section as an Excel workbook: "Nøkkeltall" (every figure), one sheet per table, and
    "Om tallene"."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    language = context.language
    taken: set[str] = set()
    sheet.title = _sheet_name(_WORDS["figures"].in_language(language), taken)
    _figures_sheet(sheet, section.figures, language)
    for table in section.tables:
        _table_sheet(book.create_sheet(), table, language, taken)
    _about_sheet(book, section, section.tables, section.figures, context, taken)
    return _bytes(book)


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _append(sheet: Worksheet, values: Sequence[Cell]) -> None:
    """A row of values; text starting with "=" stays text (openpyxl would write a formula)."""
    sheet.append(list(values))
    for cell, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _sheet_name(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (31 characters, no []:*?/\\), unique in the workbook."""
    base = _SHEET_NAME_BAD.sub(" ", title).strip()[:_SHEET_NAME_MAX] or "Ark"
    name, number = base, 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
        number += 1
    taken.add(name.lower())
    return name


def _heading_row(sheet: Worksheet, headings: Sequence[str]) -> None:
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def _table_sheet(sheet: Worksheet, table: TableView, language: Language, taken: set[str]) -> None:
    sheet.title = _sheet_name(table.title, taken)
    _heading_row(
        sheet, [column_heading(c.title, c.unit, language, csv=False) for c in table.columns]
    )
    for row, labels in zip(table.rows, table.labels, strict=True):
        _append(
            sheet,
            [label if label is not None else cell for cell, label in zip(row, labels, strict=True)],
        )
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.title) + 4))
        if column.unit is Unit.SHARE:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = _PERCENT


def _figures_sheet(sheet: Worksheet, figures: Sequence[FigureView], language: Language) -> None:
    keys = (
        "figure",
        "applies_to",
        "value",
        "numerator",
        "denominator",
        "unit",
        "note",
        "definition",
        "source",
    )
    _heading_row(sheet, [_WORDS[k].in_language(language) for k in keys])
    for figure in figures:
        unit = UNIT_NAMES[figure.unit].in_language(language)
        for value in figure.values:
            _append(
                sheet,
                [
                    figure.title,
                    value.key_label,
                    value.value,
                    value.numerator,
                    value.denominator,
                    unit,
                    value.missing,
                    figure.definition,
                    figure.source,
                ],
            )
            if figure.unit is Unit.SHARE:
                sheet.cell(row=sheet.max_row, column=3).number_format = _PERCENT
    for letter, width in zip("ABCDEFGHI", (36, 24, 10, 10, 10, 18, 30, 80, 40), strict=True):
        sheet.column_dimensions[letter].width = width


def _about_sheet(
    book: Workbook,
    section: SectionView,
    tables: Sequence[TableView],
    figures: Sequence[FigureView],
    context: ExportContext,
    taken: set[str],
) -> None:
    language = context.language
    sheet = book.create_sheet(_sheet_name(_WORDS["about"].in_language(language), taken))

    def word(key: str) -> str:
        return _WORDS[key].in_language(language)

    sheet.append([word("section"), section.title])
    sheet.append([word("period"), f"{_date(context.start)} – {_date(context.end)}"])
    _append(sheet, [word("municipalities"), context.municipalities])
    sheet.append([word("condition"), context.condition])
    sheet.append([word("made"), context.made_at.strftime("%d.%m.%Y %H:%M")])
    sheet.append([])
    _bold_row(sheet, [word("figure"), word("definition"), word("source")])
    described = [(f.title, f.definition, f.source) for f in figures]
    described += [(t.title, t.definition, t.source) for t in tables]
    for title, definition, source in described:
        _append(sheet, [title, definition, source])
        sheet.cell(row=sheet.max_row, column=2).alignment = Alignment(wrap_text=True)
    for cell in sheet["A"][:5]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 90
    sheet.column_dimensions["C"].width = 40


def _bold_row(sheet: Worksheet, values: Sequence[str]) -> None:
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
