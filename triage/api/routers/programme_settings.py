"""The programme's settings (issue 18), admins only and audited: each municipality's population
by sex and age band (JSON rows, or a CSV file with the header ``year,sex,age_band,count``) and
its minutes per home-care visit, and each centre's nurse full-time equivalents.

The population is what the programme's reach compares the patients in follow-up with; the
minutes per visit turn the home visits avoided into home-care hours saved; the FTE gives the
patients per nurse.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from email.message import Message
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, NotFoundError
from triage.api.people import Caller, CallerDep, require_role
from triage.api.schemas_programme_settings import (
    CentreProgrammeRead,
    CentreProgrammeUpdate,
    MunicipalityProgrammeRead,
    MunicipalityProgrammeUpdate,
    PopulationRead,
    PopulationRow,
)
from triage.domain.access import Role
from triage.domain.national_id_facts import AGE_BANDS
from triage.storage.models import CentreRow, MunicipalityPopulationRow, MunicipalityRow

router = APIRouter(tags=["admin"])

_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only administrators may do this (the refusal is audited)."},
}
CSV_HEADER = ("year", "sex", "age_band", "count")
MAX_ROWS = 1000


def _admin(caller: Caller, action: str, object_type: str) -> None:
    require_role(caller, Role.ADMIN, action=action, object_type=object_type)


def _municipality(session: Session, municipality_id: str) -> MunicipalityRow:
    row = session.get(MunicipalityRow, municipality_id)
    if row is None:
        raise NotFoundError(f"no municipality {municipality_id}")
    return row


def _centre(session: Session, centre_id: str) -> CentreRow:
    row = session.get(CentreRow, centre_id)
    if row is None:
        raise NotFoundError(f"no centre {centre_id}")
    return row


# ----------------------------------------------------------------------------- population


def _population(session: Session, municipality: MunicipalityRow) -> PopulationRead:
    stored = session.scalars(
        select(MunicipalityPopulationRow).where(
            MunicipalityPopulationRow.municipality_id == municipality.id
        )
    ).all()
    band = {name: i for i, name in enumerate(AGE_BANDS)}
    ordered = sorted(stored, key=lambda r: (r.year, r.sex, band.get(r.age_band, len(band))))
    return PopulationRead(
        municipality_id=municipality.id,
        municipality_name=municipality.name,
        age_bands=list(AGE_BANDS),
        rows=[
            PopulationRow(year=r.year, sex=r.sex, age_band=r.age_band, count=r.count)  # type: ignore[arg-type]
            for r in ordered
        ],
        updated_at=max((r.updated_at for r in stored), default=None),
    )


@router.get(
    "/admin/municipalities/{municipality_id}/population",
    response_model=PopulationRead,
    summary="A municipality's population by sex and age band",
    responses={**_ADMIN_ONLY, 404: {"description": "No such municipality."}},
)
def read_population(municipality_id: str, caller: CallerDep) -> PopulationRead:
    """Every year's inhabitants by sex and age band, as entered (admins only). The programme's
    reach uses, per municipality, the latest year not after the period's end."""
    _admin(caller, "read", "municipality_population")
    with caller.sessions() as session:
        return _population(session, _municipality(session, municipality_id))


def _row_problem(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "row"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


def parse_json_rows(raw: bytes) -> list[PopulationRow]:
    """The rows of a JSON body ``{"rows": [...]}``; 422 naming the first bad row (1 = the
    first)."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(422, f"the body is not valid JSON: {err}") from err
    if not isinstance(body, dict) or set(body) != {"rows"} or not isinstance(body["rows"], list):
        raise ApiError(422, 'send {"rows": [{"year": …, "sex": …, "age_band": …, "count": …}, …]}')
    rows: list[PopulationRow] = []
    for number, item in enumerate(body["rows"], start=1):
        try:
            rows.append(PopulationRow.model_validate(item))
        except ValidationError as err:
            raise ApiError(422, f"row {number}: {_row_problem(err)}") from err
    return rows


def parse_csv_rows(raw: bytes) -> list[PopulationRow]:
    """The rows of a CSV file (UTF-8, comma-separated, header ``year,sex,age_band,count``);
    422 naming the line of the first bad row (line 1 is the header)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ApiError(422, "the CSV file is not UTF-8 text") from err
    lines = csv.reader(io.StringIO(text))
    header = next(lines, None)
    if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
        raise ApiError(
            422, f"line 1 must be the header {','.join(CSV_HEADER)} (got {','.join(header or [])})"
        )
    rows: list[PopulationRow] = []
    for cells in lines:
        number = lines.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (a trailing newline in a spreadsheet's export)
        if len(cells) != len(CSV_HEADER):
            raise ApiError(422, f"line {number}: {len(cells)} values, expected {len(CSV_HEADER)}")
        values = dict(zip(CSV_HEADER, (cell.strip() for cell in cells), strict=True))
        try:
            rows.append(PopulationRow.model_validate(values))
        except ValidationError as err:
            raise ApiError(422, f"line {number}: {_row_problem(err)}") from err
    return rows


def _check_rows(rows: list[PopulationRow], *, line_offset: int, what: str) -> None:
    if not rows:
        raise ApiError(422, "no rows: send at least one")
    if len(rows) > MAX_ROWS:
        raise ApiError(422, f"at most {MAX_ROWS} rows at once ({len(rows)} sent)")
    seen: dict[tuple[int, str, str], int] = {}
    for index, row in enumerate(rows):
        key = (row.year, row.sex, row.age_band)
        if key in seen:
            raise ApiError(
                422,
                f"{what} {index + line_offset}: {row.year} {row.sex} {row.age_band} is given "
                f"twice (also {what} {seen[key] + line_offset})",
            )
        seen[key] = index


def _replace_population(
    caller: Caller, municipality_id: str, rows: list[PopulationRow], source: str
) -> PopulationRead:
    with caller.sessions.begin() as session:
        municipality = _municipality(session, municipality_id)
        years = sorted({row.year for row in rows})
        session.execute(
            delete(MunicipalityPopulationRow).where(
                MunicipalityPopulationRow.municipality_id == municipality.id,
                MunicipalityPopulationRow.year.in_(years),
            )
        )
        now: datetime = caller.now
        for row in rows:
            session.add(
                MunicipalityPopulationRow(
                    municipality_id=municipality.id,
                    year=row.year,
                    sex=row.sex,
                    age_band=row.age_band,
                    count=row.count,
                    updated_at=now,
                    updated_by=caller.user_id,
                )
            )
        session.flush()
        caller.audit(
            session,
            "update",
            "municipality_population",
            municipality.id,
            None,
            details={
                "years": years,
                "rows": len(rows),
                "inhabitants": session.scalar(
                    select(func.sum(MunicipalityPopulationRow.count)).where(
                        MunicipalityPopulationRow.municipality_id == municipality.id,
                        MunicipalityPopulationRow.year.in_(years),
                    )
                ),
                "format": source,
            },
        )
        return _population(session, municipality)


_POPULATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "additionalProperties": False,
                    "properties": {
                        "rows": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_ROWS,
                            "items": {"$ref": "#/components/schemas/PopulationRow"},
                        }
                    },
                },
                "example": {
                    "rows": [
                        {"year": 2026, "sex": "female", "age_band": "80-89", "count": 412},
                        {"year": 2026, "sex": "male", "age_band": "80-89", "count": 298},
                    ]
                },
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "year,sex,age_band,count\n2026,female,80-89,412\n2026,male,80-89,298\n",
            },
        },
    }
}


@router.put(
    "/admin/municipalities/{municipality_id}/population",
    response_model=PopulationRead,
    summary="Replace a municipality's population for the years given",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such municipality."},
        415: {"description": "Neither JSON nor CSV."},
        422: {"description": "A bad row: the message names its row (JSON) or line (CSV)."},
    },
    openapi_extra=_POPULATION_BODY,
)
async def replace_population(
    municipality_id: str, request: Request, caller: CallerDep
) -> PopulationRead:
    """The inhabitants by sex (`female`, `male`) and age band (`0-49`, `50-66`, `67-79`,
    `80-89`, `90+`), as JSON (`{"rows": [{"year", "sex", "age_band", "count"}, …]}`) or as a CSV
    file (`Content-Type: text/csv`, UTF-8, header `year,sex,age_band,count`), e.g. from SSB
    table 07459 summed into the bands. Each year in the upload replaces that year's rows
    entirely; other years are kept. A bad row is refused with 422 naming it, and nothing is
    stored. Admins only; audited."""
    await run_in_threadpool(_admin, caller, "update", "municipality_population")
    message = Message()
    message["content-type"] = request.headers.get("content-type", "")
    kind = message.get_content_type()
    raw = await request.body()
    if kind == "text/csv":
        rows, offset, what, source = parse_csv_rows(raw), 2, "line", "csv"
    elif kind == "application/json":
        rows, offset, what, source = parse_json_rows(raw), 1, "row", "json"
    else:
        raise ApiError(
            415,
            "send the rows as JSON (Content-Type: application/json) or as a CSV file "
            "(Content-Type: text/csv)",
            {"Accept": "application/json, text/csv"},
        )
    _check_rows(rows, line_offset=offset, what=what)
    return await run_in_threadpool(_replace_population, caller, municipality_id, rows, source)


# ----------------------------------------------------------------------------- minutes per visit


def _municipality_programme(row: MunicipalityRow) -> MunicipalityProgrammeRead:
    return MunicipalityProgrammeRead(
        municipality_id=row.id,
        municipality_name=row.name,
        minutes_per_home_visit=row.minutes_per_home_visit,
    )


@router.get(
    "/admin/municipalities/{municipality_id}/programme",
    response_model=MunicipalityProgrammeRead,
    summary="A municipality's programme settings",
    responses={**_ADMIN_ONLY, 404: {"description": "No such municipality."}},
)
def read_municipality_programme(
    municipality_id: str, caller: CallerDep
) -> MunicipalityProgrammeRead:
    """The minutes one home-care visit takes in the municipality (null: not entered)."""
    _admin(caller, "read", "municipality_programme")
    with caller.sessions() as session:
        return _municipality_programme(_municipality(session, municipality_id))


@router.put(
    "/admin/municipalities/{municipality_id}/programme",
    response_model=MunicipalityProgrammeRead,
    summary="Set a municipality's minutes per home-care visit",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such municipality."},
        422: {"description": "Not a whole number of minutes from 1 to 600."},
    },
)
def update_municipality_programme(
    municipality_id: str, body: MunicipalityProgrammeUpdate, caller: CallerDep
) -> MunicipalityProgrammeRead:
    """The home-care time one home visit takes, driving included, as the municipality says
    (1–600 minutes; null clears it). The benefit's home-care hours saved are the visits avoided
    times this. Admins only; audited."""
    _admin(caller, "update", "municipality_programme")
    with caller.sessions.begin() as session:
        row = _municipality(session, municipality_id)
        before = row.minutes_per_home_visit
        row.minutes_per_home_visit = body.minutes_per_home_visit
        caller.audit(
            session,
            "update",
            "municipality",
            row.id,
            None,
            details={"minutes_per_home_visit": {"from": before, "to": row.minutes_per_home_visit}},
        )
        return _municipality_programme(row)


# ----------------------------------------------------------------------------- nurse FTE


def _centre_programme(row: CentreRow) -> CentreProgrammeRead:
    return CentreProgrammeRead(centre_id=row.id, centre_name=row.name, nurse_fte=row.nurse_fte)


@router.get(
    "/admin/centres/{centre_id}/programme",
    response_model=CentreProgrammeRead,
    summary="A centre's programme settings",
    responses={**_ADMIN_ONLY, 404: {"description": "No such centre."}},
)
def read_centre_programme(centre_id: str, caller: CallerDep) -> CentreProgrammeRead:
    """The nurse full-time equivalents of the centre (null: not entered)."""
    _admin(caller, "read", "centre_programme")
    with caller.sessions() as session:
        return _centre_programme(_centre(session, centre_id))


@router.put(
    "/admin/centres/{centre_id}/programme",
    response_model=CentreProgrammeRead,
    summary="Set a centre's nurse full-time equivalents",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such centre."},
        422: {"description": "Not a number above 0 and at most 1000."},
    },
)
def update_centre_programme(
    centre_id: str, body: CentreProgrammeUpdate, caller: CallerDep
) -> CentreProgrammeRead:
    """The nurse full-time equivalents working in the centre (above 0, at most 1000; null
    clears it): the workload figures' patients per nurse FTE. Admins only; audited."""
    _admin(caller, "update", "centre_programme")
    with caller.sessions.begin() as session:
        row = _centre(session, centre_id)
        before = row.nurse_fte
        row.nurse_fte = body.nurse_fte
        caller.audit(
            session,
            "update",
            "centre",
            row.id,
            None,
            details={"nurse_fte": {"from": before, "to": row.nurse_fte}},
        )
        return _centre_programme(row)
