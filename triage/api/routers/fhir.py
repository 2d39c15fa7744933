"""The FHIR R4 REST API (read) under ``/fhir/r4`` (docs/fhir.md).

``metadata`` (the CapabilityStatement, open as FHIR expects), ``Patient/{id}``, the searches
``Observation``, ``DetectedIssue``, ``CarePlan``, ``Flag`` and ``QuestionnaireResponse`` (each
for one patient: ``patient`` is required), reads of those types by id, and
``Patient/{id}/$everything``. Resources come from the pure mapping in :mod:`triage.fhir`; the
rows from :mod:`triage.api.queries.fhir`; parameters and paging from
:mod:`triage.api.fhir_search`.

The same login, roles, tenants and audit as the rest of the API: a person's bearer token; a GP
reads their own patients, a nurse her centres', an admin with ``X-DHO-Reason``; a centre lead
and everyone else is refused (403). Every read, search and refusal is in the audit log
(``object_type`` ``fhir``, the resource and the parameters in ``details``). Every answer is
``application/fhir+json``; every error an OperationOutcome (:func:`outcome_response`, installed
for the ``/fhir`` paths by :func:`triage.api.app.create_app`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.message import Message
from importlib import metadata as package_metadata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from triage.api.errors import ForbiddenError, NotFoundError
from triage.api.fhir_search import (
    FhirError,
    Item,
    Position,
    Search,
    codeable_matches,
    date_windows,
    decode_cursor,
    encode_cursor,
    merged,
    parse_search,
    patient_parameter,
    status_matches,
    strict,
    take,
    token_filter,
    zone_of,
)
from triage.api.input_checks import checked_request
from triage.api.people import Caller, CallerDep
from triage.api.queries import fhir as rows
from triage.api.queries.fhir import Mark, Window
from triage.domain.access import PatientRef, Permission, decide
from triage.fhir.alerts import detected_issue
from triage.fhir.bundles import searchset
from triage.fhir.capability import capability_statement
from triage.fhir.care_plans import care_plan, goals
from triage.fhir.flags import FLAG_PART, colour_flag
from triage.fhir.observations import PARTS, reading_observations
from triage.fhir.outcomes import operation_outcome
from triage.fhir.patients import gateway_device, meter_device, patient, practitioner
from triage.fhir.questionnaires import SCORE_PART, questionnaire_response, report_observation
from triage.storage.models import AlertRow, PatientRow, ReadingRow, ReportRow

FHIR_PREFIX = "/fhir/r4"
FHIR_JSON = "application/fhir+json"

Resource = dict[str, Any]


class FhirResponse(JSONResponse):
    """``application/fhir+json; charset=utf-8``; text that cannot be UTF-8 (an unpaired
    surrogate echoed from a request) is written as a JSON escape instead of failing."""

    media_type = f"{FHIR_JSON}; charset=utf-8"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


#: FHIR issue-type of an error by its HTTP status (a FhirError names its own)
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def outcome_response(
    status: int, detail: str, headers: Mapping[str, str], error: Exception | None
) -> Response:
    """An error on a ``/fhir`` path as an OperationOutcome (the app's error format there)."""
    if isinstance(error, FhirError):
        code = error.code
    else:
        code = ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    return FhirResponse(operation_outcome(code, detail), status, headers=dict(headers))


def acceptable(request: Request) -> None:
    """406 (OperationOutcome) unless the client accepts FHIR JSON (or any JSON, or anything)."""
    accept = request.headers.get("accept")
    if not accept:
        return
    for media_range in accept.split(","):
        message = Message()
        message["content-type"] = media_range.strip() or "*/*"
        kind = message.get_content_type()
        quality = message.get_param("q")
        if isinstance(quality, str) and quality.strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*", "application/json", FHIR_JSON):
            return
    raise FhirError(
        406, "not-supported", f"this server answers {FHIR_JSON} only (Accept: {accept})"
    )


router = APIRouter(
    prefix=FHIR_PREFIX,
    tags=["fhir"],
    dependencies=[Depends(checked_request), Depends(acceptable)],
    default_response_class=FhirResponse,
)

_RESOURCE = {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}
_OUTCOME = {
    FHIR_JSON: {
        "schema": {
            "type": "object",
            "description": "A FHIR R4 OperationOutcome (`issue[].code`: FHIR's issue-type).",
            "required": ["resourceType", "issue"],
            "properties": {
                "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                "issue": {"type": "array", "items": {"type": "object"}},
            },
        }
    }
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "A bad or missing search parameter (OperationOutcome).",
        401: "Not logged in (OperationOutcome, issue code `login`).",
        403: "Not the caller's patient, or a role that reads no records (audited).",
        404: "No such patient or resource (audited).",
        406: "The client does not accept FHIR JSON.",
    }
    return {s: {"description": described[s], "content": _OUTCOME} for s in statuses}


_SEARCH_ERRORS = _errors(400, 401, 403, 404, 406)

PatientQuery = Annotated[
    str | None,
    Query(
        alias="patient",
        description="The patient's id or `Patient/<id>` (required: searches are per patient).",
    ),
]
DateQuery = Annotated[
    list[str] | None,
    Query(
        description="A FHIR date with an optional prefix (eq ne gt lt ge le sa eb), e.g. "
        "`ge2026-12-01`; repeat for a range. Without an offset, in the patient's time zone."
    ),
]
AuthoredQuery = Annotated[
    list[str] | None, Query(description="FHIR's name for `date` here (when answered).")
]
IdentifiedQuery = Annotated[
    list[str] | None, Query(description="FHIR's name for `date` here (when the alert opened).")
]
CountQuery = Annotated[
    str | None,
    Query(alias="_count", description="Resources per page: 1–500 (default 50; more → 500)."),
]
CursorQuery = Annotated[
    str | None,
    Query(alias="_cursor", description="From `link.next` of the previous page; never built."),
]
FormatQuery = Annotated[
    str | None, Query(alias="_format", description="`json` or `application/fhir+json` only.")
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FHIR_PREFIX


def _search(request: Request, known: Sequence[str]) -> Search:
    return parse_search(
        request.query_params.multi_items(),
        known,
        strict_handling=strict(request.headers.get("prefer")),
    )


def _details(resource: str, search: Search, interaction: str) -> dict[str, Any]:
    """What the audit row keeps of a FHIR request: the resource, the interaction and the
    parameters as applied (a page's cursor only as a flag), and what was ignored."""
    params = {k: v for k, v in search.values.items() if k != "_cursor"}
    details: dict[str, Any] = {"resource": resource, "interaction": interaction, "params": params}
    if search.cursor is not None:
        details["page"] = "next"
    if search.ignored:
        details["ignored"] = search.ignored
    return details


def _checked_patient(
    session: Session,
    caller: Caller,
    patient_id: str,
    resource: str,
    search: Search,
    interaction: str,
    resource_id: str | None = None,
) -> PatientRow:
    """The patient if the caller may read their record (:func:`decide`, as everywhere in the
    API), audited in ``session``'s transaction; a refusal (404, 403) is audited in its own
    transaction — it must outlive the failed request — with the parameters too. The audit
    row's object is the patient, or ``resource_id`` when one resource is read."""
    action = "read" if interaction == "read" else "search"
    details = _details(resource, search, interaction)
    object_id = patient_id
    if resource_id is not None:
        details["id"] = resource_id
        object_id = resource_id
    row = session.get(PatientRow, patient_id)
    if row is None:
        _refuse(caller, action, object_id, None, details, "no such patient")
        raise NotFoundError(f"no patient {patient_id}")
    decision = decide(
        caller.principal,
        PatientRef(row.id, row.centre_id, row.gp_user_id),
        Permission.READ,
        reason=caller.reason,
        plan_approvers=caller.settings.plan_approvers,
    )
    if not decision:
        _refuse(caller, action, object_id, row.id, details, decision.why)
        raise ForbiddenError(f"not allowed: {decision.why}")
    caller.audit(session, action, "fhir", object_id[:64], row.id, details=details)
    return row


def _refuse(
    caller: Caller,
    action: str,
    object_id: str,
    patient_id: str | None,
    details: dict[str, Any],
    why: str,
) -> None:
    with caller.sessions.begin() as session:
        caller.audit(
            session,
            action,
            "fhir",
            object_id[:64],
            patient_id,
            details={**details, "refused": why},
            outcome="refused",
        )


def _position(search: Search, resource: str, sections: Sequence[str]) -> Position | None:
    if search.cursor is None:
        return None
    return decode_cursor(search.cursor, search.fingerprint(resource), sections)


def _bundle(
    request: Request,
    path: str,
    search: Search,
    resources: list[Resource],
    following: Position | None,
    total: int | None = None,
) -> FhirResponse:
    base = f"{_base(request)}/{path}"
    next_url = search.link(base, encode_cursor(following)) if following is not None else None
    bundle = searchset(
        resources,
        total=total,
        self_url=search.link(base),
        next_url=next_url,
        base_url=_base(request),
    )
    return FhirResponse(bundle)


# ----------------------------------------------------------------------------- metadata


_PATIENT = ("patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient")
_AUTHORED = "http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-authored"
_IDENTIFIED = "http://hl7.org/fhir/SearchParameter/DetectedIssue-identified"
#: the searches this router answers, for the CapabilityStatement (name, type, definition)
SEARCHES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Observation": (
        _PATIENT,
        ("category", "token", "http://hl7.org/fhir/SearchParameter/Observation-category"),
        ("code", "token", "http://hl7.org/fhir/SearchParameter/clinical-code"),
        ("date", "date", "http://hl7.org/fhir/SearchParameter/clinical-date"),
    ),
    "DetectedIssue": (
        _PATIENT,
        ("identified", "date", _IDENTIFIED),
        ("date", "date", _IDENTIFIED),
    ),
    "CarePlan": (
        _PATIENT,
        ("status", "token", "http://hl7.org/fhir/SearchParameter/CarePlan-status"),
    ),
    "Flag": (_PATIENT,),
    "QuestionnaireResponse": (
        (
            "patient",
            "reference",
            "http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-patient",
        ),
        ("authored", "date", _AUTHORED),
        ("date", "date", _AUTHORED),
    ),
}
SEARCH_RULES = (
    "Every search is for one patient: without patient=<id> it is a 400 OperationOutcome. "
    "Dates take the prefixes eq, ne, gt, lt, ge, le, sa and eb (not ap); a date without an "
    "offset is in the patient's time zone. Unknown parameters are ignored and left out of the "
    "self link, or a 400 with 'Prefer: handling=strict'. _count: 1-500 (default 50); follow "
    "link next (an opaque _cursor) for the next page."
)


def _software_version() -> str:
    try:
        return package_metadata.version("dho")
    except package_metadata.PackageNotFoundError:
        return "unknown"


@router.get(
    "/metadata",
    summary="CapabilityStatement",
    responses={200: {"description": "The server's CapabilityStatement.", **_RESOURCE}},
)
def metadata(request: Request) -> FhirResponse:
    """What this FHIR server offers (FHIR R4 `CapabilityStatement`). Open without a login, as
    FHIR clients read it before they authenticate; it holds no patient data."""
    statement = capability_statement(_base(request), _software_version(), searches=SEARCHES)
    for rest in statement.get("rest", []):
        rest["documentation"] = f"{rest.get('documentation', '')} {SEARCH_RULES}".strip()
    return FhirResponse(statement)


# ----------------------------------------------------------------------------- Patient


@router.get(
    "/Patient/{patient_id}",
    summary="Read a Patient",
    responses={200: {"description": "The Patient.", **_RESOURCE}, **_errors(401, 403, 404, 406)},
)
def read_patient(
    patient_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """One patient as a FHIR `Patient` (fødselsnummer, name, GP by HPR number). The id is the
    resource's logical id, which is DHO's patient id. Audited."""
    search = _search(request, ())
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "Patient", search, "read")
        return FhirResponse(patient(row, rows.user_row(session, row.gp_user_id)))


# ----------------------------------------------------------------------------- Observation

OBSERVATION_PARAMS = ("patient", "category", "code", "date")


def _observation_items(
    session: Session,
    patient_id: str,
    timezone: str,
    windows: Sequence[Window],
    mark: Mark | None,
    batch: int,
    accept: Callable[[Resource], bool],
    kinds: Sequence[str] | None = None,
) -> Iterator[Item]:
    """The patient's Observations, newest first: each reading's (a blood-pressure reading
    gives the panel and the heart rate) and each report's score, those ``accept`` keeps;
    only readings of ``kinds`` are read when given (:func:`_kinds`)."""
    readings = (
        Item("r", row.measured_at, row.id, _kept(reading_observations, row, accept))
        for row in rows.stream(session, "r", patient_id, windows, mark, batch, kinds=kinds)
    )
    reports = (
        Item("q", row.answered_at, row.id, _kept(_score(timezone), row, accept))
        for row in rows.stream(session, "q", patient_id, windows, mark, batch)
    )
    return merged(readings, reports)


def _kept(
    make: Callable[[Any], list[Resource]], row: Any, accept: Callable[[Resource], bool]
) -> Callable[[], list[Resource]]:
    return lambda: [resource for resource in make(row) if accept(resource)]


def _score(timezone: str) -> Callable[[Any], list[Resource]]:
    def make(report: Any) -> list[Resource]:
        found = report_observation(report, timezone=timezone)
        return [found] if found is not None else []

    return make


def _observation_filter(search: Search) -> tuple[Callable[[Resource], bool], list[str] | None]:
    """Whether an Observation matches the search's ``code`` and ``category``, and the reading
    kinds that can give such an Observation (None: every kind) — so a search for a rare code
    reads only the readings of the kinds that carry it (the mapping's table of codes per
    kind, :data:`triage.fhir.observations.PARTS`); the Observations are still checked one by
    one."""
    codes = token_filter(search, "code")
    categories = token_filter(search, "category")

    def accept(resource: Resource) -> bool:
        return codeable_matches([resource.get("code", {})], codes) and codeable_matches(
            resource.get("category", []), categories
        )

    if not codes and not categories:
        return accept, None
    kinds = [
        kind
        for kind, parts in PARTS.items()
        if any(
            codeable_matches([part.code], codes) and codeable_matches(part.category, categories)
            for part in parts
        )
    ]
    return accept, kinds


@router.get(
    "/Observation",
    summary="Search Observations",
    responses={200: {"description": "A searchset Bundle, paged.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def search_observations(
    request: Request,
    caller: CallerDep,
    patient_: PatientQuery = None,
    category: Annotated[
        list[str] | None, Query(description="e.g. `vital-signs`, `laboratory`, `survey`.")
    ] = None,
    code: Annotated[
        list[str] | None,
        Query(description="`system|code` or a bare code, e.g. `http://loinc.org|85354-9`."),
    ] = None,
    date: DateQuery = None,
    _count: CountQuery = None,
    _cursor: CursorQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """The patient's Observations (vital signs and glucose from readings, questionnaire
    scores), newest first, by `category`, `code` and `date` (effective time). Paged by
    `link.next`. Audited."""
    search = _search(request, OBSERVATION_PARAMS)
    patient_id = patient_parameter(search, "Observation")
    accept, kinds = _observation_filter(search)
    position = _position(search, "Observation", ("obs",))
    mark = position.mark if position is not None else None
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "Observation", search, "search-type")
        windows = date_windows(search, zone_of(row.timezone))
        items = _observation_items(
            session, row.id, row.timezone, windows, mark, search.count + 1, accept, kinds
        )
        page, following = take(items, mark, search.count)
    return _bundle(
        request, "Observation", search, page, _at("obs", following, search, "Observation")
    )


def _at(section: str, mark: Mark | None, search: Search, resource: str) -> Position | None:
    if mark is None:
        return None
    return Position(section, mark, search=search.fingerprint(resource))


# ----------------------------------------------------------------------------- answers


def _report_items(
    session: Session,
    patient_id: str,
    timezone: str,
    windows: Sequence[Window],
    mark: Mark | None,
    batch: int,
) -> Iterator[Item]:
    def make(report: Any) -> list[Resource]:
        return [questionnaire_response(report, timezone=timezone)]

    return (
        Item("q", row.answered_at, row.id, _kept(make, row, _all))
        for row in rows.stream(session, "q", patient_id, windows, mark, batch)
    )


def _all(_resource: Resource) -> bool:
    return True


@router.get(
    "/QuestionnaireResponse",
    summary="Search QuestionnaireResponses",
    responses={200: {"description": "A searchset Bundle, paged.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def search_questionnaire_responses(
    request: Request,
    caller: CallerDep,
    patient_: PatientQuery = None,
    date: DateQuery = None,
    authored: AuthoredQuery = None,
    _count: CountQuery = None,
    _cursor: CursorQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """The patient's questionnaire answers (`authored` = when answered), newest first, by
    `date`. Paged. Audited."""
    search = _search(request, ("patient", "date", "authored"))
    patient_id = patient_parameter(search, "QuestionnaireResponse")
    position = _position(search, "QuestionnaireResponse", ("qr",))
    mark = position.mark if position is not None else None
    with caller.sessions.begin() as session:
        row = _checked_patient(
            session, caller, patient_id, "QuestionnaireResponse", search, "search-type"
        )
        windows = date_windows(search, zone_of(row.timezone), ("date", "authored"))
        items = _report_items(session, row.id, row.timezone, windows, mark, search.count + 1)
        page, following = take(items, mark, search.count)
    return _bundle(
        request,
        "QuestionnaireResponse",
        search,
        page,
        _at("qr", following, search, "QuestionnaireResponse"),
    )


# ----------------------------------------------------------------------------- DetectedIssue


def _alert_items(
    session: Session,
    patient_id: str,
    timezone: str,
    windows: Sequence[Window],
    mark: Mark | None,
    batch: int,
) -> Iterator[Item]:
    return (
        Item("a", row.opened_at, row.id, _issue(session, row, timezone))
        for row in rows.stream(session, "a", patient_id, windows, mark, batch)
    )


def _issue(session: Session, alert: AlertRow, timezone: str) -> Callable[[], list[Resource]]:
    """The alert's DetectedIssue: the Observations and answers that breached its rule, what
    the nurses did (``mitigation``, by name)."""

    def make() -> list[Resource]:
        readings, reports = rows.implicated(session, alert)
        references = [
            f"Observation/{observation['id']}"
            for reading in readings
            for observation in _breaching(reading_observations(reading))
        ] + [f"QuestionnaireResponse/{questionnaire_response(report)['id']}" for report in reports]
        actions = rows.alert_actions(session, alert.id)
        people = rows.users(session, {action.by for action in actions})
        issue = detected_issue(alert, references, actions=actions, people=people, timezone=timezone)
        return [issue]

    return make


#: Observation.interpretation codes of a value outside its range
ABNORMAL = frozenset({"L", "H", "LL", "HH", "A", "AA", "LU", "HU"})


def _breaching(observations: list[Resource]) -> list[Resource]:
    """The Observations whose interpretation is abnormal (the SpO2, not the normal pulse split
    off the same reading); all of them when none says (an old reading without findings)."""
    abnormal = [
        o
        for o in observations
        if any(
            coding.get("code") in ABNORMAL
            for concept in o.get("interpretation", [])
            for coding in concept.get("coding", [])
        )
    ]
    return abnormal or observations


@router.get(
    "/DetectedIssue",
    summary="Search DetectedIssues (alerts)",
    responses={200: {"description": "A searchset Bundle, paged.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def search_detected_issues(
    request: Request,
    caller: CallerDep,
    patient_: PatientQuery = None,
    date: DateQuery = None,
    identified: IdentifiedQuery = None,
    _count: CountQuery = None,
    _cursor: CursorQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """The patient's alerts as `DetectedIssue`s (severity from the colour, the explained
    reason, the readings or answers that breached), newest first, by `date` (when the alert
    opened: `identified`). Paged. Audited."""
    search = _search(request, ("patient", "date", "identified"))
    patient_id = patient_parameter(search, "DetectedIssue")
    position = _position(search, "DetectedIssue", ("di",))
    mark = position.mark if position is not None else None
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "DetectedIssue", search, "search-type")
        windows = date_windows(search, zone_of(row.timezone), ("date", "identified"))
        items = _alert_items(session, row.id, row.timezone, windows, mark, search.count + 1)
        page, following = take(items, mark, search.count)
    return _bundle(
        request, "DetectedIssue", search, page, _at("di", following, search, "DetectedIssue")
    )


# ----------------------------------------------------------------------------- CarePlan, Flag


@router.get(
    "/CarePlan",
    summary="Search CarePlans",
    responses={200: {"description": "A searchset Bundle.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def search_care_plans(
    request: Request,
    caller: CallerDep,
    patient_: PatientQuery = None,
    status: Annotated[
        list[str] | None,
        Query(description="`active` (the approved version in use), `revoked` (retired) …"),
    ] = None,
    _count: CountQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """The patient's approved plan versions as `CarePlan`s (the one in use is `active`), by
    `status`; all in one page (a patient has a handful). Audited."""
    search = _search(request, ("patient", "status"))
    patient_id = patient_parameter(search, "CarePlan")
    wanted = token_filter(search, "status")
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "CarePlan", search, "search-type")
        plans = [care_plan(v, row.id) for v in rows.plan_versions(session, row.id)]
    found = [p for p in plans if status_matches(p.get("status"), wanted)]
    return _bundle(request, "CarePlan", search, found, None, total=len(found))


@router.get(
    "/Flag",
    summary="Search Flags (the patient's colour)",
    responses={200: {"description": "A searchset Bundle.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def search_flags(
    request: Request,
    caller: CallerDep,
    patient_: PatientQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """The patient's current colour (red, yellow, green: the worst unresolved clinical alert)
    as one `Flag`. Audited."""
    search = _search(request, ("patient",))
    patient_id = patient_parameter(search, "Flag")
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "Flag", search, "search-type")
        colour = rows.patient_colour(session, row.id)
    flag = colour_flag(row.id, colour.colour, colour.since, timezone=row.timezone)
    return _bundle(request, "Flag", search, [flag], None, total=1)


# ----------------------------------------------------------------------------- reads by id

#: what a resource read needs: the patient whose record holds it, and how to make it (None:
#: no such resource after all, e.g. a part a reading does not have)
Found = tuple[str, Callable[[PatientRow], Resource | None]]


def _read_by_id(
    request: Request, caller: Caller, resource: str, resource_id: str, find: Callable[..., Any]
) -> FhirResponse:
    """One resource by its logical id: 404 (audited) when no row makes it, else the patient's
    access check (audited), then the resource."""
    search = _search(request, ())
    with caller.sessions.begin() as session:
        found: Found | None = find(session, resource_id)
        if found is None:
            details = {**_details(resource, search, "read"), "id": resource_id}
            _refuse(caller, "read", resource_id, None, details, f"no such {resource}")
            raise NotFoundError(f"no {resource} {resource_id}")
        patient_id, make = found
        row = _checked_patient(
            session, caller, patient_id, resource, search, "read", resource_id=resource_id
        )
        made = make(row)
    if made is None or made.get("id") != resource_id:
        raise NotFoundError(f"no {resource} {resource_id}")
    return FhirResponse(made)


def _find_observation(session: Session, resource_id: str) -> Found | None:
    """A reading's Observation (``<reading id>`` or ``<reading id>.<part>``, e.g. ``.pulse``)
    or a report's score (``<report id>.score``)."""
    candidates = [resource_id]
    if "." in resource_id:
        candidates.append(resource_id.rsplit(".", 1)[0])
    for reading_id in candidates:
        reading = session.get(ReadingRow, reading_id)
        if reading is not None:
            return reading.patient_id, lambda _row, r=reading: _with_id(
                reading_observations(r), resource_id
            )
    report_id, _, part = resource_id.rpartition(".")
    report = session.get(ReportRow, report_id) if part == SCORE_PART else None
    if report is not None:
        return report.patient_id, lambda row: report_observation(report, timezone=row.timezone)
    return None


def _with_id(resources: list[Resource], resource_id: str) -> Resource | None:
    return next((r for r in resources if r.get("id") == resource_id), None)


def _find_answers(session: Session, resource_id: str) -> Found | None:
    report = session.get(ReportRow, resource_id)
    if report is None:
        return None
    return report.patient_id, lambda row: questionnaire_response(report, timezone=row.timezone)


def _find_issue(session: Session, resource_id: str) -> Found | None:
    alert = session.get(AlertRow, resource_id)
    if alert is None:
        return None
    return alert.patient_id, lambda row: _issue(session, alert, row.timezone)()[0]


def _find_care_plan(session: Session, resource_id: str) -> Found | None:
    """``<plan id>.v<version>`` of an approved or retired version."""
    plan_id, _, part = resource_id.rpartition(".v")
    if not plan_id or not part.isdigit() or len(part) > 9:
        return None
    version = rows.plan_version(session, plan_id, int(part))
    if version is None:
        return None
    patient_id, found = version
    return patient_id, lambda row: care_plan(found, row.id)


def _find_flag(session: Session, resource_id: str) -> Found | None:
    """``<patient id>.colour``."""
    patient_id, _, part = resource_id.rpartition(".")
    if part != FLAG_PART or rows.patient_row(session, patient_id) is None:
        return None

    def make(row: PatientRow) -> Resource:
        colour = rows.patient_colour(session, row.id)
        return colour_flag(row.id, colour.colour, colour.since, timezone=row.timezone)

    return patient_id, make


_READ_ERRORS = _errors(401, 403, 404, 406)


@router.get(
    "/Observation/{resource_id}",
    summary="Read an Observation",
    responses={200: {"description": "The Observation.", **_RESOURCE}, **_READ_ERRORS},
)
def read_observation(
    resource_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """A reading's Observation (`<reading id>`, `<reading id>.pulse`) or a report's score
    (`<report id>.score`), as the searches and references name them. Audited."""
    return _read_by_id(request, caller, "Observation", resource_id, _find_observation)


@router.get(
    "/QuestionnaireResponse/{resource_id}",
    summary="Read a QuestionnaireResponse",
    responses={200: {"description": "The QuestionnaireResponse.", **_RESOURCE}, **_READ_ERRORS},
)
def read_questionnaire_response(
    resource_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """A report's answers (the id is the report's). Audited."""
    return _read_by_id(request, caller, "QuestionnaireResponse", resource_id, _find_answers)


@router.get(
    "/DetectedIssue/{resource_id}",
    summary="Read a DetectedIssue",
    responses={200: {"description": "The DetectedIssue.", **_RESOURCE}, **_READ_ERRORS},
)
def read_detected_issue(
    resource_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """An alert (the id is the alert's). Audited."""
    return _read_by_id(request, caller, "DetectedIssue", resource_id, _find_issue)


@router.get(
    "/CarePlan/{resource_id}",
    summary="Read a CarePlan",
    responses={200: {"description": "The CarePlan.", **_RESOURCE}, **_READ_ERRORS},
)
def read_care_plan(
    resource_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """An approved or retired plan version (`<plan id>.v<version>`). Audited."""
    return _read_by_id(request, caller, "CarePlan", resource_id, _find_care_plan)


@router.get(
    "/Flag/{resource_id}",
    summary="Read a Flag",
    responses={200: {"description": "The Flag.", **_RESOURCE}, **_READ_ERRORS},
)
def read_flag(
    resource_id: str, request: Request, caller: CallerDep, _format: FormatQuery = None
) -> FhirResponse:
    """The patient's colour (`<patient id>.colour`). Audited."""
    return _read_by_id(request, caller, "Flag", resource_id, _find_flag)


# ----------------------------------------------------------------------------- $everything

EVERYTHING_SECTIONS = ("head", "obs", "qr", "di")

Section = Callable[[Position, int], tuple[list[Resource], Position | None]]


def _head(session: Session, row: PatientRow) -> list[Resource]:
    """The patient's record apart from the time series: Patient, the GP (Practitioner),
    Devices (gateways and the
    meters the readings came from), each approved or retired plan version's CarePlan and
    Goals, the Flag."""
    gp = rows.user_row(session, row.gp_user_id)
    found: list[Resource] = [patient(row, gp)]
    if gp is not None:  # named by HPR number in Patient.generalPractitioner
        found.append(practitioner(gp))
    found.extend(gateway_device(g) for g in rows.gateways(session, row.id))
    for device in rows.meters(session, row.id):
        meter = meter_device(row.id, device)
        if meter is not None:
            found.append(meter)
    versions = rows.plan_versions(session, row.id)
    for version in versions:  # each plan version's CarePlan points at its own Goals
        found.append(care_plan(version, row.id))
        found.extend(goals(version, row.id))
    colour = rows.patient_colour(session, row.id)
    found.append(colour_flag(row.id, colour.colour, colour.since, timezone=row.timezone))
    unique: dict[tuple[str, str], Resource] = {}
    for resource in found:
        unique.setdefault((resource["resourceType"], str(resource.get("id"))), resource)
    return list(unique.values())


def _sections(session: Session, row: PatientRow, fingerprint: str) -> dict[str, Section]:
    head: list[Resource] | None = None

    def heads(position: Position, count: int) -> tuple[list[Resource], Position | None]:
        nonlocal head
        if head is None:
            head = _head(session, row)
        end = position.offset + count
        following = Position("head", None, end, fingerprint) if end < len(head) else None
        return head[position.offset : end], following

    def keyset(section: str, items: Callable[[Mark | None, int], Iterator[Item]]) -> Section:
        def page(position: Position, count: int) -> tuple[list[Resource], Position | None]:
            found, mark = take(items(position.mark, count + 1), position.mark, count)
            following = Position(section, mark, 0, fingerprint) if mark is not None else None
            return found, following

        return page

    return {
        "head": heads,
        "obs": keyset(
            "obs",
            lambda mark, batch: _observation_items(
                session, row.id, row.timezone, [], mark, batch, _all
            ),
        ),
        "qr": keyset(
            "qr",
            lambda mark, batch: _report_items(session, row.id, row.timezone, [], mark, batch),
        ),
        "di": keyset(
            "di",
            lambda mark, batch: _alert_items(session, row.id, row.timezone, [], mark, batch),
        ),
    }


def everything_page(
    sections: Mapping[str, Section], start: Position, count: int, fingerprint: str
) -> tuple[list[Resource], Position | None]:
    """Up to ``count`` resources from ``start`` on through the sections in order, and where the
    next page starts (None when nothing is left — checked, so the last page has no next)."""
    names = list(EVERYTHING_SECTIONS)
    page: list[Resource] = []
    for index in range(names.index(start.section), len(names)):
        name = names[index]
        position = start if name == start.section else Position(name, search=fingerprint)
        found, following = sections[name](position, count - len(page))
        page.extend(found)
        if following is not None:
            return page, following
        if len(page) == count:
            for later in names[index + 1 :]:
                fresh = Position(later, search=fingerprint)
                if sections[later](fresh, 1)[0]:
                    return page, fresh
            return page, None
    return page, None


@router.get(
    "/Patient/{patient_id}/$everything",
    summary="Patient $everything",
    responses={200: {"description": "A searchset Bundle, paged.", **_RESOURCE}, **_SEARCH_ERRORS},
)
def patient_everything(
    patient_id: str,
    request: Request,
    caller: CallerDep,
    _count: CountQuery = None,
    _cursor: CursorQuery = None,
    _format: FormatQuery = None,
) -> FhirResponse:
    """Everything about one patient (FHIR `Patient/$everything`): the Patient, Devices,
    CarePlans and Goals, the Flag, then the Observations, the QuestionnaireResponses and the
    DetectedIssues, newest first within each. Paged by `link.next`. Audited."""
    search = _search(request, ())
    fingerprint = search.fingerprint(f"Patient/{patient_id}/$everything")
    position = (
        decode_cursor(search.cursor, fingerprint, EVERYTHING_SECTIONS)
        if search.cursor is not None
        else Position("head", search=fingerprint)
    )
    with caller.sessions.begin() as session:
        row = _checked_patient(session, caller, patient_id, "Patient", search, "$everything")
        sections = _sections(session, row, fingerprint)
        page, following = everything_page(sections, position, search.count, fingerprint)
    return _bundle(request, f"Patient/{patient_id}/$everything", search, page, following)
