"""The programme view (issue 18; docs/programme.md): figures and tables about the service as a
whole (reach, adoption, fidelity, alert handling, benefit, workload), as JSON, CSV, Excel and a
printable monthly report.

Who sees what is :func:`triage.domain.access.programme_scope`: a centre lead every section of
their centres' patients, a nurse the operational sections of hers, the admin everything; a GP
nothing. A municipality outside the caller's centres is refused, never silently dropped. Every
read is audited (``read`` of ``programme``, with the section and the filters), every refusal
too. The figures are counts and shares; no patient is named.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ForbiddenError, NotFoundError
from triage.api.language import request_language
from triage.api.people import Caller, CallerDep
from triage.api.schemas_programme import (
    ConditionInfo,
    MunicipalityInfo,
    ProgrammeOverview,
    SectionInfo,
    SectionRead,
)
from triage.domain.access import ProgrammeScope, ProgrammeSection, Role, programme_scope
from triage.domain.plan import Condition
from triage.domain.programme import CODE_LABELS, Coded, ProgrammeQuery, SectionResult
from triage.programme import exports, registry
from triage.programme.report import ReportContext, render_report
from triage.programme.scope import OSLO
from triage.programme.view import (
    SECTION_QUESTIONS,
    SECTION_TITLES,
    Names,
    SectionView,
    TableView,
    section_view,
)
from triage.storage.models import CentreMunicipalityRow, CentreRow, MunicipalityRow, PatientRow
from triage.texts.catalogue import Language

router = APIRouter(tags=["programme"])

#: The default period: the 30 whole days before today (today's aggregates are made tonight).
DEFAULT_DAYS = 30
#: The longest period one request may ask for (a year and a month, for a year-on-year look).
MAX_DAYS = 400
OBJECT_TYPE = "programme"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: The report is a page of its own: not cached, not framed, no scripts.
REPORT_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {
        "description": "Not allowed (a GP; a section not for the caller's role; a "
        "municipality outside the caller's centres): audited."
    },
    422: {"description": "A bad period (start after end, end in the future, too long)."},
}

StartQuery = Annotated[
    date | None,
    Query(description="the first day (Europe/Oslo), default 30 days before `end`"),
]
EndQuery = Annotated[
    date | None,
    Query(description="the last day, inclusive (Europe/Oslo), default yesterday; not after today"),
]
MunicipalityQuery = Annotated[
    list[str] | None,
    Query(
        alias="municipality",
        description="only these municipalities (ids; repeat the parameter); each must be served "
        "by one of your centres. Default: all of yours",
    ),
]
ConditionQuery = Annotated[
    Condition | None, Query(description="only patients followed up for this condition")
]
SectionPath = Annotated[ProgrammeSection, Path(description="the section")]


@dataclass(frozen=True, slots=True)
class Selection:
    """A checked request: the scope, the period, the filters, and the query for the parts."""

    scope: ProgrammeScope
    start: date
    end: date
    municipality_ids: list[str] | None
    condition: str | None
    query: ProgrammeQuery

    def details(self, section: str, **extra: Any) -> dict[str, Any]:
        """What the audit row keeps: the section and the filters."""
        return {
            "section": section,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "municipalities": self.municipality_ids,
            "condition": self.condition,
            **extra,
        }


# ----------------------------------------------------------------------------- endpoints


@router.get(
    "/programme/sections",
    response_model=ProgrammeOverview,
    summary="The programme sections and filters you may use",
    responses=_ERRORS,
)
def programme_sections(caller: CallerDep) -> ProgrammeOverview:
    """The sections of the programme view you may see (a centre lead and the admin: all; a
    nurse: fidelity, alert handling and workload), the municipalities your centres serve (the
    admin: all) by name, the conditions, and the default period (the 30 days before today,
    Europe/Oslo). Audited."""
    scope = _scope(caller, "sections")
    language = request_language()
    today = _today(caller)
    with caller.sessions.begin() as session:
        municipalities = _municipalities(session, scope)
        caller.audit(session, "read", OBJECT_TYPE, "sections", None, details={"section": None})
    default_end = today - timedelta(days=1)
    return ProgrammeOverview(
        sections=[
            SectionInfo(
                id=section,
                title=SECTION_TITLES[section].in_language(language),
                question=SECTION_QUESTIONS[section].in_language(language),
            )
            for section in ProgrammeSection
            if scope.allows(section)
        ],
        municipalities=[
            MunicipalityInfo(id=m.id, number=m.number, name=m.name) for m in municipalities
        ],
        conditions=[
            ConditionInfo(code=c.value, label=_condition_label(c.value, language))
            for c in Condition
        ],
        today=today,
        default_start=default_end - timedelta(days=DEFAULT_DAYS - 1),
        default_end=default_end,
        max_days=MAX_DAYS,
    )


@router.get(
    "/programme/report",
    response_class=HTMLResponse,
    summary="The printable monthly report",
    responses={
        **_ERRORS,
        200: {"content": {"text/html": {}}, "description": "One HTML page laid out for A4."},
        422: {"description": "`month` is not YYYY-MM, or is in the future."},
    },
)
def programme_report(
    caller: CallerDep,
    month: Annotated[str, Query(description="the month, YYYY-MM (Europe/Oslo)")],
    municipalities: MunicipalityQuery = None,
    condition: ConditionQuery = None,
) -> HTMLResponse:
    """Every section you may see for one month (up to today for the current month): each figure
    with its definition and source, every table; an HTML page with print CSS (A4), numbers
    written the reader's way (`Accept-Language`; bokmål: "93 %", decimal comma). Audited."""
    scope = _scope(caller, "report")
    first, start, end = _month(month, _today(caller))
    language = request_language()
    with caller.sessions.begin() as session:
        selection = _select(caller, session, scope, "report", start, end, municipalities, condition)
        names = _names(session)
        sections = [
            _view(session, section, selection, language, names, caller)
            for section in ProgrammeSection
            if scope.allows(section)
        ]
        centre_names = _centre_names(scope, names, language)
        caller.audit(
            session,
            "read",
            OBJECT_TYPE,
            "report",
            None,
            details=selection.details("report", month=month),
        )
    context = ReportContext(
        month=first,
        start=start,
        end=end,
        centres=centre_names,
        municipalities=_municipality_text(selection, names, language),
        condition=_condition_text(selection.condition, language),
        made_at=caller.now.astimezone(OSLO),
        made_by=caller.principal.display_name,
        language=language,
    )
    filename = f"dho-programrapport-{first:%Y-%m}.html"
    return HTMLResponse(
        render_report(sections, context),
        headers={**REPORT_HEADERS, "Content-Disposition": _disposition("inline", filename)},
    )


@router.get(
    "/programme/{section}.xlsx",
    response_class=Response,
    summary="A section as an Excel workbook",
    responses={
        **_ERRORS,
        200: {"content": {exports.XLSX_MEDIA_TYPE: {}}, "description": "The workbook."},
    },
)
def programme_section_workbook(
    caller: CallerDep,
    section: SectionPath,
    start: StartQuery = None,
    end: EndQuery = None,
    municipalities: MunicipalityQuery = None,
    condition: ConditionQuery = None,
) -> Response:
    """The section as a workbook: a sheet of figures (value, numerator, denominator, unit,
    definition, source), one sheet per table (headings and labels in your language, numbers as
    numbers, shares formatted as per cent) and a sheet about the period and the filters.
    Audited."""
    view, selection, names = _section(
        caller, section, start, end, municipalities, condition, "xlsx"
    )
    language = request_language()
    body = exports.section_workbook(view, _export_context(caller, selection, names, language))
    filename = exports.section_filename(section.value, selection.start, selection.end, "xlsx")
    return _attachment(body, exports.XLSX_MEDIA_TYPE, filename)


@router.get(
    "/programme/{section}",
    response_model=SectionRead,
    summary="One section's figures and tables",
    responses=_ERRORS,
)
def programme_section(
    caller: CallerDep,
    section: SectionPath,
    start: StartQuery = None,
    end: EndQuery = None,
    municipalities: MunicipalityQuery = None,
    condition: ConditionQuery = None,
) -> SectionRead:
    """The section's figures (each with its title, definition and source in your language —
    `Accept-Language`, bokmål by default — its numerator and denominator, and why it has no
    value when it has none) and tables (column titles, and each coded cell's label beside the
    code: a municipality by name, a state in words) for the period (default: the 30 days
    before today; at most 400 days; not after today) and the filters. Audited."""
    view, selection, _ = _section(caller, section, start, end, municipalities, condition, "json")
    return SectionRead.of(
        view, selection.start, selection.end, selection.municipality_ids, selection.condition
    )


@router.get(
    "/programme/{section}/tables/{table_id}.csv",
    response_class=Response,
    summary="One table as CSV",
    responses={
        **_ERRORS,
        200: {"content": {"text/csv": {}}, "description": "The table."},
        404: {"description": "The section has no such table."},
    },
)
def programme_table_csv(
    caller: CallerDep,
    section: SectionPath,
    table_id: str,
    start: StartQuery = None,
    end: EndQuery = None,
    municipalities: MunicipalityQuery = None,
    condition: ConditionQuery = None,
) -> Response:
    """The table as CSV (UTF-8, comma-separated, one heading line): headings in your language,
    coded cells as their labels, numbers with a decimal point, shares as 0–1 (the heading says
    so). Audited."""
    view, selection, _ = _section(
        caller, section, start, end, municipalities, condition, "csv", table_id
    )
    table = _table(view, table_id)
    body = exports.table_csv(table, request_language())
    filename = exports.table_filename(
        section.value, table_id, selection.start, selection.end, "csv"
    )
    return _attachment(body, exports.CSV_MEDIA_TYPE, filename)


@router.get(
    "/programme/{section}/tables/{table_id}.xlsx",
    response_class=Response,
    summary="One table as an Excel workbook",
    responses={
        **_ERRORS,
        200: {"content": {exports.XLSX_MEDIA_TYPE: {}}, "description": "The workbook."},
        404: {"description": "The section has no such table."},
    },
)
def programme_table_workbook(
    caller: CallerDep,
    section: SectionPath,
    table_id: str,
    start: StartQuery = None,
    end: EndQuery = None,
    municipalities: MunicipalityQuery = None,
    condition: ConditionQuery = None,
) -> Response:
    """The table as a workbook (its sheet, and a sheet about the period, the filters and the
    definition): numbers as numbers, shares formatted as per cent. Audited."""
    view, selection, names = _section(
        caller, section, start, end, municipalities, condition, "xlsx", table_id
    )
    table = _table(view, table_id)
    language = request_language()
    body = exports.table_workbook(table, view, _export_context(caller, selection, names, language))
    filename = exports.table_filename(
        section.value, table_id, selection.start, selection.end, "xlsx"
    )
    return _attachment(body, exports.XLSX_MEDIA_TYPE, filename)


# ----------------------------------------------------------------------------- checks


def _scope(
    caller: Caller, object_id: str, section: ProgrammeSection | None = None
) -> ProgrammeScope:
    """The caller's programme scope; 403 (audited) for whoever may see none, or not
    ``section``."""
    scope = programme_scope(caller.principal)
    if scope.refused is not None:
        caller.refuse("read", OBJECT_TYPE, object_id, None, scope.refused)
        raise ForbiddenError(f"not allowed: {scope.refused}")
    if section is not None and not scope.allows(section):
        why = f"the {section.value} section is for the centre lead and the admin"
        caller.refuse("read", OBJECT_TYPE, object_id, None, why)
        raise ForbiddenError(f"not allowed: {why}")
    return scope


def _today(caller: Caller) -> date:
    return caller.now.astimezone(OSLO).date()


def check_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, or the default (the 30 days before today); 422 with the reason for
    a start after the end, an end after today, or more than :data:`MAX_DAYS` days."""
    if end is None:
        end = today - timedelta(days=1)
        if start is not None and start > end:
            end = min(start, today)
    if start is None:
        if end < date.min + timedelta(days=DEFAULT_DAYS):
            raise ApiError(422, f"`end` ({end.isoformat()}) is before the service's time")
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end > today:
        raise ApiError(
            422,
            f"`end` ({end.isoformat()}) is in the future: the last day can be today "
            f"({today.isoformat()}) at the latest",
        )
    if start > end:
        raise ApiError(
            422, f"`start` ({start.isoformat()}) is after `end` ({end.isoformat()}): swap them"
        )
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ApiError(
            422,
            f"the period has {days} days; ask for at most {MAX_DAYS} days at a time "
            "(one request per year)",
        )
    return start, end


def _month(month: str, today: date) -> tuple[date, date, date]:
    """The month's first day and the period it covers (to today for the current month)."""
    found = _MONTH.match(month)
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise ApiError(422, f"`month` must be a month as YYYY-MM, e.g. 2026-11 (got {month!r})")
    year, number = int(found.group(1)), int(found.group(2))
    first = date(year, number, 1)
    if first > today:
        raise ApiError(
            422, f"`month` {month} has not begun yet (today is {today.isoformat()}, Europe/Oslo)"
        )
    last = date(year, number, monthrange(year, number)[1])
    start, end = check_period(first, min(last, today), today)
    return first, start, end


def _select(
    caller: Caller,
    session: Session,
    scope: ProgrammeScope,
    object_id: str,
    start: date,
    end: date,
    municipalities: list[str] | None,
    condition: Condition | None,
) -> Selection:
    """The checked selection; 403 (audited) for a municipality outside the caller's centres."""
    chosen: list[str] | None = None
    if municipalities:
        chosen = sorted(set(municipalities))
        allowed = {m.id for m in _municipalities(session, scope)}
        outside = [m for m in chosen if m not in allowed]
        if outside:
            why = f"municipality {', '.join(outside)} is not served by your centres"
            caller.refuse("read", OBJECT_TYPE, object_id, None, why)
            raise ForbiddenError(f"not allowed: {why}")
    query = ProgrammeQuery(
        start=start,
        end=end,
        now=caller.now,
        centre_ids=None if scope.all_centres else scope.centre_ids,
        municipality_ids=frozenset(chosen) if chosen is not None else None,
        condition=condition.value if condition is not None else None,
        default_on_call_after=timedelta(minutes=caller.settings.escalate_after_min),
    )
    return Selection(
        scope=scope,
        start=start,
        end=end,
        municipality_ids=chosen,
        condition=query.condition,
        query=query,
    )


def _section(
    caller: Caller,
    section: ProgrammeSection,
    start: date | None,
    end: date | None,
    municipalities: list[str] | None,
    condition: Condition | None,
    form: str,
    table_id: str | None = None,
) -> tuple[SectionView, Selection, Names]:
    """The checked, computed and audited section in the request's language."""
    scope = _scope(caller, section.value, section)
    first, last = check_period(start, end, _today(caller))
    language = request_language()
    with caller.sessions.begin() as session:
        selection = _select(
            caller, session, scope, section.value, first, last, municipalities, condition
        )
        names = _names(session)
        view = _view(session, section, selection, language, names, caller)
        extra: dict[str, Any] = {"format": form}
        if table_id is not None:
            extra["table"] = table_id
        caller.audit(
            session,
            "read",
            OBJECT_TYPE,
            section.value,
            None,
            details=selection.details(section.value, **extra),
        )
    return view, selection, names


def _view(
    session: Session,
    section: ProgrammeSection,
    selection: Selection,
    language: Language,
    names: Names,
    caller: Caller,
) -> SectionView:
    result = registry.compute(session, section, selection.query)
    patients = _patient_names(session, result, caller, language)
    return section_view(result, registry.DEFINITIONS, language, {**names, Coded.PATIENT: patients})


def _patient_names(
    session: Session, result: SectionResult, caller: Caller, language: Language
) -> dict[str, str]:
    """The patients in ``result``'s tables by name for a nurse of their centre (she reads their
    records anyway); "Pasient 1", "Pasient 2" … in the table's order for anyone else (a lead or
    the admin see figures, not patients)."""
    ids: list[str] = []
    for table in result.tables:
        definition = registry.DEFINITIONS.get(table.id)
        columns = definition.columns if definition is not None else ()
        for index, column in enumerate(columns):
            if column.coded is Coded.PATIENT:
                ids += [str(row[index]) for row in table.rows if row[index] is not None]
    ordered = list(dict.fromkeys(ids))
    if not ordered:
        return {}
    named: dict[str, str] = {}
    if caller.principal.role is Role.NURSE:
        named = dict(
            session.execute(
                select(PatientRow.id, PatientRow.display_name).where(
                    PatientRow.id.in_(ordered),
                    PatientRow.centre_id.in_(sorted(caller.principal.centre_ids)),
                )
            ).all()
        )
    word = "Patient" if language == "en" else "Pasient"
    return {
        patient_id: named.get(patient_id, f"{word} {number}")
        for number, patient_id in enumerate(ordered, start=1)
    }


def _table(view: SectionView, table_id: str) -> TableView:
    found = next((t for t in view.tables if t.id == table_id), None)
    if found is None:
        known = ", ".join(t.id for t in view.tables) or "none"
        raise NotFoundError(
            f"the {view.section.value} section has no table {table_id!r} (its tables: {known})"
        )
    return found


# ----------------------------------------------------------------------------- look-ups


def _municipalities(session: Session, scope: ProgrammeScope) -> list[MunicipalityRow]:
    """The municipalities served by the scope's centres (every one for the admin), by name."""
    statement = select(MunicipalityRow).order_by(MunicipalityRow.name, MunicipalityRow.number)
    if not scope.all_centres:
        served = select(CentreMunicipalityRow.municipality_id).where(
            CentreMunicipalityRow.centre_id.in_(sorted(scope.centre_ids))
        )
        statement = statement.where(MunicipalityRow.id.in_(served))
    return list(session.scalars(statement))


def _names(session: Session) -> Names:
    """Municipality and centre ids → names (small tables: a few hundred rows at most)."""
    return {
        Coded.MUNICIPALITY: dict(
            session.execute(select(MunicipalityRow.id, MunicipalityRow.name)).all()
        ),
        Coded.CENTRE: dict(session.execute(select(CentreRow.id, CentreRow.name)).all()),
    }


def _all(language: Language) -> str:
    return "all" if language == "en" else "alle"


def _centre_names(scope: ProgrammeScope, names: Names, language: Language) -> str:
    if scope.all_centres:
        return _all(language)
    centres = names[Coded.CENTRE]
    return ", ".join(sorted(centres.get(c, c) for c in scope.centre_ids)) or "–"


def _municipality_text(selection: Selection, names: Names, language: Language) -> str:
    if selection.municipality_ids is None:
        return _all(language)
    found = names[Coded.MUNICIPALITY]
    return ", ".join(sorted(found.get(m, m) for m in selection.municipality_ids))


def _condition_label(code: str, language: Language) -> str:
    label = CODE_LABELS[Coded.CONDITION].get(code)
    return label.in_language(language) if label is not None else code


def _condition_text(condition: str | None, language: Language) -> str:
    return _all(language) if condition is None else _condition_label(condition, language)


def _export_context(
    caller: Caller, selection: Selection, names: Names, language: Language
) -> exports.ExportContext:
    return exports.ExportContext(
        start=selection.start,
        end=selection.end,
        municipalities=_municipality_text(selection, names, language),
        condition=_condition_text(selection.condition, language),
        made_at=caller.now.astimezone(OSLO),
        language=language,
    )


def _disposition(kind: str, filename: str) -> str:
    """``attachment; filename="…"`` (ASCII file names; RFC 5987 form beside it)."""
    return f"{kind}; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": _disposition("attachment", filename),
            "Cache-Control": "no-store",
        },
    )
