"""A typed httpx client for the DHO API (``/api/v1``): the only way the dashboard reaches data.

Every failure becomes an :class:`ApiError` carrying the API's problem details (RFC 9457
``title`` and ``detail``) so a page can show the reason, never a stack trace. An expired access
token is refreshed once with the single-use refresh token, and the request retried.

The response models copy the API's schemas (the dashboard may not import ``triage``); they
ignore fields they do not use, so the API can grow without breaking the dashboard.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any, Literal, TypeVar

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dashboard.i18n import Language

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

Colour = Literal["green", "yellow", "red"]


class ApiError(Exception):
    """The API refused or could not be reached; ``title`` and ``detail`` say why."""

    def __init__(self, status: int | None, title: str, detail: str = "") -> None:
        super().__init__(f"{title}: {detail}" if detail else title)
        self.status = status
        self.title = title
        self.detail = detail

    @property
    def is_unauthorised(self) -> bool:
        """The login has ended (expired, logged out elsewhere, or refused)."""
        return self.status == 401


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# ----------------------------------------------------------------------------- people


class Tokens(_Model):
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


class Me(_Model):
    user_id: str
    username: str
    display_name: str
    role: Literal["nurse", "gp", "admin", "lead"]  # issue 18: the centre lead
    centre_ids: list[str] = Field(default_factory=list)


class OidcProvider(_Model):
    """A sign-in service the API is set up with (``GET /auth/oidc/providers``): the button's
    label and where the browser starts the sign-in (absolute, or a path on the API)."""

    id: str
    label: str
    start_url: str


class SignInOptions(_Model):
    """How a person may log in: the OpenID Connect providers, and whether the password form is
    offered (the API says ``password_login: false`` when no role may use it)."""

    providers: list[OidcProvider] = Field(default_factory=list)
    password_login: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        """The API may answer a bare list of providers (then the password form stays)."""
        return {"providers": data} if isinstance(data, list) else data


class Handoff(_Model):
    """The tokens of a finished OpenID Connect sign-in and where to go next."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    next: str | None = None


class Person(_Model):
    """Someone named in a response (who acknowledged, resolved, did, has): the name to show and
    the role (the API's ``…_person`` fields)."""

    user_id: str
    username: str
    display_name: str
    role: str


class Colleague(_Model):
    """An active nurse of one of the caller's centres (whom an alert may be assigned to)."""

    user_id: str
    display_name: str


class OverviewLook(_Model):
    """When the GP last marked the overview seen (null: never)."""

    seen_through: datetime | None = None
    marked_at: datetime | None = None


# ----------------------------------------------------------------------------- centres


class ClosedDay(_Model):
    date: date
    name: Text | None = None


class ServiceHours(_Model):
    """When one of the caller's centres is staffed (the API's ``ServiceHours``)."""

    centre_id: str
    centre_name: str
    timezone: str = "Europe/Oslo"
    opens: time
    closes: time
    open_now: bool
    today: date
    today_opens_at: datetime | None = None
    today_closes_at: datetime | None = None
    today_closed: ClosedDay | None = None
    next_opening: datetime
    last_closing: datetime
    closed_days: list[ClosedDay] = Field(default_factory=list)
    calendar_problem: str | None = None


# ----------------------------------------------------------------------------- worklist


class Text(_Model):
    nb: str
    en: str


class Finding(_Model):
    """Why something has its colour (the API's ``FindingRead``): ``reason`` is in the language
    the client asked for (``Accept-Language``)."""

    rule_id: str
    rule_type: str
    colour: Colour
    at: datetime
    reason: str = ""
    text: Text | None = None
    parameter: str | None = None
    value: float | None = None
    bound: str | None = None
    plan_id: str | None = None
    plan_version: int | None = None


class AlertBrief(_Model):
    id: str
    rule_id: str
    rule_type: str
    category: str
    colour: Colour
    state: str
    opened_at: datetime
    last_breach_at: datetime
    breaches: int
    acknowledged: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_by_person: Person | None = None
    assigned_to: str | None = None
    assigned_to_person: Person | None = None
    back_in_range_at: datetime | None = None
    escalated_at: datetime | None = None
    reason: Finding


class LastReading(_Model):
    id: str
    kind: str
    values: dict[str, Any]
    colour: Colour | None = None
    measured_at: datetime


class CallRequest(_Model):
    """The patient asked the centre to call ("Ring meg"): not a clinical colour."""

    id: str
    patient_id: str
    asked_at: datetime
    handled_at: datetime | None = None
    handled_by_name: str | None = None


class Message(_Model):
    """A nurse's message to the patient's tablet, and when it was read."""

    id: str
    text: str
    sent_at: datetime
    sent_by_name: str
    read_at: datetime | None = None


class WorklistItem(_Model):
    patient_id: str
    display_name: str
    condition: str | None = None
    centre_id: str
    centre_name: str
    municipality_name: str
    assigned_nurse_id: str | None = None
    assigned_nurse_name: str | None = None
    gp_user_id: str | None = None
    gp_name: str | None = None
    state: str
    colour: Colour
    waiting_since: datetime | None = None
    missing_data: bool = False
    lost_contact: bool = False
    lost_contact_since: datetime | None = None
    alerts: list[AlertBrief] = Field(default_factory=list)
    last_readings: list[LastReading] = Field(default_factory=list)
    greens_waiting: int = 0
    call_requests: list[CallRequest] = Field(default_factory=list)


class GreensAcknowledged(_Model):
    through: datetime
    readings: int


# ----------------------------------------------------------------------------- patients


class Patient(_Model):
    id: str
    display_name: str
    national_id: str | None = None
    condition: str | None = None
    municipality_id: str
    municipality_name: str
    centre_id: str
    centre_name: str
    gp_user_id: str | None = None
    gp_name: str | None = None
    assigned_nurse_id: str | None = None
    assigned_nurse_name: str | None = None
    timezone: str = "Europe/Oslo"
    state: str
    state_reason: str | None = None
    enrolled_at: datetime
    # issue 18: reach
    discharge_code: str | None = None
    home_care: bool = False


class Reading(_Model):
    id: str
    kind: str
    values: dict[str, Any]
    measured_at: datetime
    colour: Colour | None = None
    findings: list[Finding] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    plan_version: int | None = None


class Report(_Model):
    id: str
    questionnaire: str
    answers: dict[str, Any]
    answered_at: datetime
    score: int | None = None
    colour: Colour | None = None
    findings: list[Finding] = Field(default_factory=list)


class TimelineEntry(_Model):
    """One timeline item; ``type`` is reading, report, alert_event or alert_action."""

    type: Literal["reading", "report", "alert_event", "alert_action"]
    at: datetime
    kind: str | None = None
    values: dict[str, Any] | None = None
    questionnaire: str | None = None
    score: int | None = None
    colour: Colour | None = None
    findings: list[Finding] = Field(default_factory=list)
    alert_id: str | None = None
    rule_id: str | None = None
    event: str | None = None
    by: str | None = None
    by_person: Person | None = None
    outcome: str | None = None
    note: str | None = None
    flags: list[str] = Field(default_factory=list)


class AlertEvent(_Model):
    event: str
    at: datetime
    by: str | None = None
    by_person: Person | None = None
    colour: Colour
    note: str = ""


class AlertAction(_Model):
    at: datetime
    by_username: str | None = None
    by_person: Person | None = None
    outcome: str
    note: str = ""
    home_visit_avoided: bool = False  # issue 18: alerts


class AlertDetail(_Model):
    id: str
    patient_id: str
    rule_id: str
    colour: Colour
    state: str
    opened_at: datetime
    reason: Finding
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_by_person: Person | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolved_by_person: Person | None = None
    assigned_to: str | None = None
    assigned_to_person: Person | None = None
    escalated_at: datetime | None = None
    escalated_to: str | None = None
    category: str = "clinical"
    events: list[AlertEvent] = Field(default_factory=list)
    actions: list[AlertAction] = Field(default_factory=list)
    escalations: list[EscalationStep] = Field(default_factory=list)

    @field_validator("events", "actions", "escalations", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        """A list without ``history=true`` answers null for these."""
        return [] if value is None else value


# ----------------------------------------------------------------------------- plans


class PlanVersionSummary(_Model):
    plan_id: str
    version: int
    status: Literal["draft", "approved", "retired"]
    condition: str | None = None
    created_at: datetime
    created_by: str | None = None
    created_by_person: Person | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    approved_by_person: Person | None = None
    note: str | None = None


class PlanVersion(PlanVersionSummary):
    document: dict[str, Any]


class PlanDraft(_Model):
    """A draft waiting for the caller's approval, with whose plan it is."""

    patient_id: str
    patient_name: str
    plan_id: str
    version: int
    condition: str | None = None
    created_at: datetime
    created_by: str | None = None
    created_by_person: Person | None = None
    note: str | None = None
    in_use_version: int | None = None
    changes: dict[str, Any] | None = None  # the plan diff against ``in_use_version``


class ZoneCounts(_Model):
    red: int = 0
    yellow: int = 0
    green: int = 0
    unclassified: int = 0


class ReplayChange(_Model):
    """A reading whose zone differs under the replayed version (the API's ``ReplayChange``)."""

    reading_id: str
    kind: str
    measured_at: datetime
    values: dict[str, Any]
    before: Colour | None = None
    before_plan_version: int | None = None
    before_reasons: list[Finding] = Field(default_factory=list)
    after: Colour | None = None
    after_plan_version: int
    after_reasons: list[Finding] = Field(default_factory=list)
    direction: Literal["worse", "better"]


class PlanReplay(_Model):
    """A plan version replayed against the patient's recent readings (``PlanReplayRead``)."""

    plan_id: str
    version: int
    status: Literal["draft", "approved", "retired"]
    patient_id: str
    days: int
    since: datetime
    until: datetime
    readings: int
    truncated: bool = False
    under_version: ZoneCounts
    as_stored: ZoneCounts
    stored_plan_versions: list[int] = Field(default_factory=list)
    changed: int
    changes: list[ReplayChange] = Field(default_factory=list)
    changes_truncated: bool = False


class GatewayCredentials(_Model):
    gateway_id: str
    secret: str
    http_token: str
    mqtt_username: str
    mqtt_topic_prefix: str
    note: str


class Gateway(_Model):
    id: str
    created_at: datetime
    revoked_at: datetime | None = None
    online: bool = False
    last_seen_at: datetime | None = None


# ----------------------------------------------------------------------------- notifications

#: the escalation chain's delays, as the API names them (whole minutes)
DELAYS: tuple[str, ...] = (
    "on_call_after_min",
    "second_nurse_after_min",
    "after_hours_after_min",
    "centre_lead_after_min",
)


class NotificationTarget(_Model):
    """A receiver of a centre's escalations; the URL only masked (``url_masked``), never whole."""

    id: str
    role: str
    label: str
    channel: str = ""
    secure: bool = False
    active: bool = True
    url_masked: str | None = None
    centre_id: str | None = None


class CentreEscalation(_Model):
    """Where a centre's reds go (``GET /centres/{id}/escalation``): the chain's delays in
    minutes and the detail level (``policy``, flattened here), the receivers (without their
    address), the chain roles nobody receives, and who gets a red outside staffed hours
    (``after_hours_role``: after_hours, or the next role with a receiver; None: nobody)."""

    centre_id: str | None = None
    centre_name: str | None = None
    on_call_after_min: int | None = None
    second_nurse_after_min: int | None = None
    after_hours_after_min: int | None = None
    centre_lead_after_min: int | None = None
    detail: str = "none"
    policy_problem: str | None = None
    targets: list[NotificationTarget] = Field(default_factory=list)
    roles_without_target: list[str] = Field(default_factory=list)
    after_hours_role: str | None = "after_hours"
    after_hours_receivers: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """The API nests the policy (``policy: {...}``)."""
        if isinstance(data, dict) and isinstance(data.get("policy"), dict):
            flat = {k: v for k, v in data.items() if k != "policy"}
            return {**data["policy"], **flat}
        return data


class NotificationAttempt(_Model):
    at: datetime
    ok: bool
    answer: str = ""
    duration_ms: int = 0


class Notification(_Model):
    """One message of the outbox (``GET /centres/{id}/notifications``)."""

    id: str
    kind: str
    alert_id: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    recipient: str
    role: str | None = None
    channel: str = ""
    status: str
    created_at: datetime
    sent_at: datetime | None = None
    dead_at: datetime | None = None
    cancelled_at: datetime | None = None
    received_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    title: str = ""
    body: str = ""
    #: the detail (``GET /notifications/{id}``) only: every attempt, oldest first
    attempt_log: list[NotificationAttempt] = Field(default_factory=list)


class StepNotification(_Model):
    """One receiver of one escalation step."""

    id: str
    recipient: str
    channel: str = ""
    status: str
    attempts: int = 0
    sent_at: datetime | None = None
    received_at: datetime | None = None
    cancelled_at: datetime | None = None
    dead_at: datetime | None = None
    last_error: str | None = None


class EscalationStep(_Model):
    """One step of an alert's escalation chain (``GET /alerts/{id}``, ``escalations``)."""

    step: int
    role: str
    due_since: datetime | None = None
    created_at: datetime
    reason: Text | None = None
    patient_instruction: Text | None = None
    notifications: list[StepNotification] = Field(default_factory=list)


class Digest(_Model):
    """The GP's choice of a summary by e-mail (``GET /me/digest``)."""

    frequency: Literal["none", "daily", "weekly"] = "none"
    email: str | None = None
    sending_configured: bool = False


class Centre(_Model):
    id: str
    name: str
    timezone: str = "Europe/Oslo"


# ----------------------------------------------------------------------------- the client


def _problem(response: httpx.Response) -> ApiError:
    """The API's problem details as an :class:`ApiError` (a plain reason when not JSON)."""
    title = response.reason_phrase or f"HTTP {response.status_code}"
    detail = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = str(body.get("title") or title)
        detail = str(body.get("detail") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = [
                f"{e.get('field', '?')}: {e.get('message', '')}"
                for e in errors
                if isinstance(e, dict)
            ]
            detail = "; ".join(filter(None, [detail, *parts]))
    return ApiError(response.status_code, title, detail)


class ApiClient:
    """One logged-in (or not yet logged-in) person's connection to the API.

    ``transport`` lets a test hand in an httpx transport; normally it is the network.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._tokens: Tokens | None = None
        self.language: Language = "nb"

    def set_language(self, language: Language) -> None:
        """The language the API writes reasons in for this person (``Accept-Language``)."""
        self.language = language

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- login

    @property
    def is_logged_in(self) -> bool:
        return self._tokens is not None

    def login(self, username: str, password: str) -> Me:
        """Log in; raises :class:`ApiError` with the API's reason when refused."""
        data = self._send("POST", "/auth/login", json={"username": username, "password": password})
        self._tokens = _parse(Tokens, data)
        return self.me()

    def sign_in_options(self) -> SignInOptions:
        """The sign-in services to offer (no login needed)."""
        return _parse(SignInOptions, self._send("GET", "/auth/oidc/providers"))

    def exchange_handoff(self, handoff: str) -> tuple[Me, str | None]:
        """Swap the one-time code the API's sign-in callback sent the browser back with for
        DHO's tokens (single use, short-lived); the person and where to go next (``next``)."""
        data = self._send("POST", "/auth/oidc/exchange", json={"handoff": handoff})
        handed = _parse(Handoff, data)
        self._tokens = _parse(Tokens, data)
        return self.me(), handed.next

    def logout(self) -> None:
        """End the login on the server too; the client forgets its tokens whatever happens."""
        try:
            if self._tokens is not None:
                self._send("POST", "/auth/logout", authorised=True, retry=False)
        finally:
            self._tokens = None

    def me(self) -> Me:
        return _parse(Me, self._get("/me"))

    # --- worklist and greens

    def worklist(self, *, colour: Colour | None = None, limit: int = 200) -> list[WorklistItem]:
        """The caller's worklist in triage order (every page, up to ``limit`` per page)."""
        params: dict[str, Any] = {"limit": limit}
        if colour is not None:
            params["colour"] = colour
        return [_parse(WorklistItem, item) for item in self._all("/worklist", params)]

    def acknowledge_greens(self, patient_ids: list[str] | None = None) -> GreensAcknowledged:
        body: dict[str, Any] = {} if patient_ids is None else {"patient_ids": patient_ids}
        return _parse(GreensAcknowledged, self._post("/greens/acknowledge", body))

    # --- contact with the patient's tablet

    def messages(self, patient_id: str) -> list[Message]:
        return [_parse(Message, m) for m in _items(self._get(f"/patients/{patient_id}/messages"))]

    def send_message(self, patient_id: str, text: str) -> Message:
        return _parse(Message, self._post(f"/patients/{patient_id}/messages", {"text": text}))

    def call_done(self, patient_id: str, call_id: str) -> CallRequest:
        """Mark the patient's "ring meg" done (the nurse called)."""
        path = f"/patients/{patient_id}/call-requests/{call_id}/done"
        return _parse(CallRequest, self._post(path, None))

    # --- patients

    def patients(self) -> list[Patient]:
        return [_parse(Patient, p) for p in self._all("/patients", {"limit": 500})]

    def patient(self, patient_id: str) -> Patient:
        return _parse(Patient, self._get(f"/patients/{patient_id}"))

    def enrol(self, body: dict[str, Any]) -> Patient:
        return _parse(Patient, self._post("/patients", body))

    def change_state(self, patient_id: str, action: str, body: dict[str, Any] | None) -> Patient:
        """``action``: activate, pause, resume or discharge."""
        return _parse(Patient, self._post(f"/patients/{patient_id}/{action}", body))

    def readings(self, patient_id: str, *, since: datetime | None = None) -> list[Reading]:
        params: dict[str, Any] = {"limit": 500}
        if since is not None:
            params["since"] = since.isoformat()
        return [_parse(Reading, r) for r in self._all(f"/patients/{patient_id}/readings", params)]

    def reports(self, patient_id: str, *, since: datetime | None = None) -> list[Report]:
        params: dict[str, Any] = {"limit": 500}
        if since is not None:
            params["since"] = since.isoformat()
        return [_parse(Report, r) for r in self._all(f"/patients/{patient_id}/reports", params)]

    def timeline(self, patient_id: str, *, limit: int = 100) -> list[TimelineEntry]:
        data = self._get(f"/patients/{patient_id}/timeline", {"limit": limit})
        return [_parse(TimelineEntry, item) for item in _items(data)]

    def alerts(
        self,
        patient_id: str,
        *,
        state: str = "unresolved",
        opened_since: datetime | None = None,
        history: bool = False,
    ) -> list[AlertDetail]:
        """The patient's alerts (with ``history``: each with its history and actions, in the
        same request)."""
        params: dict[str, Any] = {"state": state, "limit": 200}
        if opened_since is not None:
            params["opened_since"] = opened_since.isoformat()
        if history:
            params["history"] = "true"
        data = self._all(f"/patients/{patient_id}/alerts", params)
        return [_parse(AlertDetail, a) for a in data]

    def deviations(self, since: datetime) -> list[AlertDetail]:
        """Every alert opened since ``since`` of the patients the caller may see, each with its
        history and what the centre did: one request, one audit row (``GET /alerts``)."""
        params = {"opened_since": since.isoformat(), "history": "true", "limit": 500}
        return [_parse(AlertDetail, a) for a in self._all("/alerts", params)]

    def gateways(self, patient_id: str) -> list[Gateway]:
        return [_parse(Gateway, g) for g in self._all(f"/patients/{patient_id}/gateways", {})]

    def register_gateway(self, patient_id: str) -> GatewayCredentials:
        return _parse(GatewayCredentials, self._post(f"/patients/{patient_id}/gateways", {}))

    def rotate_gateway(self, gateway_id: str) -> GatewayCredentials:
        """A new secret for the gateway (shown once; the old one stops working)."""
        return _parse(GatewayCredentials, self._post(f"/gateways/{gateway_id}/rotate", None))

    def revoke_gateway(self, gateway_id: str) -> Gateway:
        """The gateway's data are refused from now on."""
        return _parse(Gateway, self._post(f"/gateways/{gateway_id}/revoke", None))

    # --- the caller's centres and overview

    def colleagues(self, centre_id: str | None = None) -> list[Colleague]:
        """The active nurses of the caller's centres (of ``centre_id`` only, when given)."""
        params: dict[str, Any] = {"limit": 500}
        if centre_id is not None:
            params["centre"] = centre_id
        return [_parse(Colleague, c) for c in self._all("/colleagues", params)]

    def service_hours(self) -> list[ServiceHours]:
        """When each of the caller's centres is staffed."""
        return [_parse(ServiceHours, h) for h in _items(self._get("/service-hours"))]

    def overview_seen(self) -> OverviewLook:
        return _parse(OverviewLook, self._get("/me/overview-seen"))

    def mark_overview_seen(self, through: datetime) -> OverviewLook:
        body = {"through": through.isoformat()}
        return _parse(OverviewLook, self._post("/me/overview-seen", body))

    # --- alerts

    def acknowledge(self, alert_id: str, note: str = "") -> AlertDetail:
        return _parse(AlertDetail, self._post(f"/alerts/{alert_id}/acknowledge", {"note": note}))

    def assign(self, alert_id: str, user_id: str) -> AlertDetail:
        body = {"user_id": user_id}
        return _parse(AlertDetail, self._post(f"/alerts/{alert_id}/assign", body))

    def record_action(
        self, alert_id: str, outcome: str, note: str = "", home_visit_avoided: bool = False
    ) -> AlertDetail:
        body = {"outcome": outcome, "note": note, "home_visit_avoided": home_visit_avoided}
        return _parse(AlertDetail, self._post(f"/alerts/{alert_id}/actions", body))

    def resolve(
        self,
        alert_id: str,
        outcome: str | None = None,
        note: str = "",
        home_visit_avoided: bool = False,
    ) -> AlertDetail:
        body: dict[str, Any] = {"note": note}
        if outcome is not None:
            body["outcome"] = outcome
            body["home_visit_avoided"] = home_visit_avoided
        return _parse(AlertDetail, self._post(f"/alerts/{alert_id}/resolve", body))

    # --- plans

    def plan_versions(self, patient_id: str) -> list[PlanVersionSummary]:
        data = self._get(f"/patients/{patient_id}/plans")
        return [_parse(PlanVersionSummary, v) for v in _items(data)]

    def plan_drafts(self) -> list[PlanDraft]:
        """Every draft the caller may approve, across their patients (403 for whoever approves
        no plans at this site)."""
        return [_parse(PlanDraft, d) for d in self._all("/plans/drafts", {"limit": 500})]

    def plan_version(self, plan_id: str, version: int) -> PlanVersion:
        return _parse(PlanVersion, self._get(f"/plans/{plan_id}/versions/{version}"))

    def plan_in_use(self, patient_id: str) -> PlanVersion | None:
        """The patient's plan version in use (the newest approved one), or None."""
        approved = [v for v in self.plan_versions(patient_id) if v.status == "approved"]
        newest = max(approved, key=lambda v: v.version, default=None)
        return self.plan_version(newest.plan_id, newest.version) if newest else None

    def plan_from_template(self, patient_id: str, condition: str, note: str) -> PlanVersion:
        body = {"condition": condition, "note": note}
        return _parse(PlanVersion, self._post(f"/patients/{patient_id}/plans", body))

    def plan_proposal(self, patient_id: str) -> dict[str, Any]:
        return _object(self._get(f"/patients/{patient_id}/plans/proposal"))

    def new_plan_version(
        self, plan_id: str, changes: dict[str, Any], note: str, base_version: int | None = None
    ) -> PlanVersion:
        body: dict[str, Any] = {"changes": changes, "note": note}
        if base_version is not None:
            body["base_version"] = base_version
        return _parse(PlanVersion, self._post(f"/plans/{plan_id}/versions", body))

    def approve_plan(self, plan_id: str, version: int) -> PlanVersion:
        path = f"/plans/{plan_id}/versions/{version}/approve"
        return _parse(PlanVersion, self._post(path, None))

    def plan_replay(
        self, plan_id: str, version: int, *, days: int = 30, limit: int = 100
    ) -> PlanReplay:
        """Version ``version`` replayed against the patient's readings of the last ``days``."""
        path = f"/plans/{plan_id}/versions/{version}/replay"
        return _parse(PlanReplay, self._get(path, {"days": days, "limit": limit}))

    def users(self) -> list[dict[str, Any]]:
        """Every user (admins only)."""
        return [_object(u) for u in self._all("/admin/users", {"limit": 500})]

    def plan_diff(self, plan_id: str, from_version: int, to_version: int) -> dict[str, Any]:
        params = {"from": from_version, "to": to_version}
        return _object(self._get(f"/plans/{plan_id}/diff", params))

    # --- escalation and notifications

    def alert(self, alert_id: str) -> AlertDetail:
        """One alert with its history and its escalation steps."""
        return _parse(AlertDetail, self._get(f"/alerts/{alert_id}"))

    def centre_escalation(self, centre_id: str) -> CentreEscalation:
        """Where the centre's reds go: the chain's delays and its receivers (no addresses)."""
        return _parse(CentreEscalation, self._get(f"/centres/{centre_id}/escalation"))

    def centres(self) -> list[Centre]:
        """Every follow-up centre (admins only)."""
        return [_parse(Centre, c) for c in self._all("/admin/centres", {"limit": 200})]

    def change_escalation(self, centre_id: str, body: dict[str, Any]) -> CentreEscalation:
        """Admin: the chain's delays (minutes) and the detail level."""
        path = f"/admin/centres/{centre_id}/escalation"
        return _parse(CentreEscalation, self._send("PATCH", path, json=body, authorised=True))

    def notification_targets(self, centre_id: str) -> list[NotificationTarget]:
        path = f"/admin/centres/{centre_id}/notification-targets"
        return [_parse(NotificationTarget, x) for x in self._all(path, {"limit": 200})]

    def add_notification_target(self, centre_id: str, body: dict[str, Any]) -> NotificationTarget:
        path = f"/admin/centres/{centre_id}/notification-targets"
        return _parse(NotificationTarget, self._post(path, body))

    def change_notification_target(
        self, target_id: str, body: dict[str, Any]
    ) -> NotificationTarget:
        path = f"/admin/notification-targets/{target_id}"
        return _parse(NotificationTarget, self._send("PATCH", path, json=body, authorised=True))

    def deactivate_notification_target(self, target_id: str) -> None:
        self._send("DELETE", f"/admin/notification-targets/{target_id}", authorised=True)

    def test_notification_target(self, target_id: str) -> dict[str, Any]:
        """Queue a test message to the target (the sender delivers it like any other)."""
        path = f"/admin/notification-targets/{target_id}/test"
        return _object(self._post(path, None))

    def notifications(
        self,
        centre_id: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        reason: str | None = None,
    ) -> list[Notification]:
        """The centre's sent (and waiting) notifications, newest first: one page (an
        administrator gives a ``reason``: they name patients)."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if kind:
            params["kind"] = kind
        data = self._get(f"/centres/{centre_id}/notifications", params, reason)
        return [_parse(Notification, n) for n in _items(data)]

    def notification(self, notification_id: str, reason: str | None = None) -> Notification:
        """One notification with its attempts and the provider's answers."""
        path = f"/notifications/{notification_id}"
        return _parse(Notification, self._get(path, None, reason))

    def digest(self) -> Digest:
        return _parse(Digest, self._get("/me/digest"))

    def set_digest(self, frequency: str, email: str | None) -> Digest:
        body = {"frequency": frequency, "email": email or None}
        return _parse(Digest, self._send("PUT", "/me/digest", json=body, authorised=True))

    # --- issue 18: page (the programme view)

    def programme_sections(self) -> ProgrammeOverview:
        """The programme sections the caller may see, the municipalities in scope, the
        conditions and the default period."""
        return _parse(ProgrammeOverview, self._get("/programme/sections"))

    def programme_section(self, section: str, filters: ProgrammeFilters) -> ProgrammeSection:
        """One section's figures and tables for the period and the filters."""
        return _parse(ProgrammeSection, self._get(f"/programme/{section}", filters.params()))

    def programme_table_file(
        self,
        section: str,
        table_id: str,
        extension: Literal["csv", "xlsx"],
        filters: ProgrammeFilters,
    ) -> bytes:
        """One table as the API writes it: CSV or an Excel workbook."""
        path = f"/programme/{section}/tables/{table_id}.{extension}"
        return self._get_bytes(path, filters.params())

    def programme_section_workbook(self, section: str, filters: ProgrammeFilters) -> bytes:
        """A whole section as an Excel workbook."""
        return self._get_bytes(f"/programme/{section}.xlsx", filters.params())

    def programme_report(
        self, month: str, municipality_ids: list[str], condition: str | None = None
    ) -> bytes:
        """The printable monthly report (HTML) of ``month`` (YYYY-MM)."""
        params: dict[str, Any] = {"month": month}
        if municipality_ids:
            params["municipality"] = municipality_ids
        if condition:
            params["condition"] = condition
        return self._get_bytes("/programme/report", params)

    def _get_bytes(self, path: str, params: dict[str, Any], *, retry: bool = True) -> bytes:
        """A file from the API, as bytes (the same login, refresh and errors as
        :meth:`_send`)."""
        if self._tokens is None:
            raise ApiError(401, "Ikke innlogget", "Logg inn for å fortsette.")
        headers = {
            "Accept-Language": self.language,
            "Authorization": f"Bearer {self._tokens.access_token}",
        }
        try:
            response = self._http.get(path, params=params, headers=headers)
        except httpx.HTTPError as err:
            raise ApiError(
                None,
                "The DHO service does not answer",
                f"{type(err).__name__} reaching {self._http.base_url}; check that the service "
                "is running and try again.",
            ) from err
        if response.status_code == 401 and retry and self._refresh():
            return self._get_bytes(path, params, retry=False)
        if response.is_error:
            if response.status_code == 401:
                self._tokens = None
            raise _problem(response)
        return response.content

    # --- plumbing

    def _get(
        self, path: str, params: dict[str, Any] | None = None, reason: str | None = None
    ) -> Any:
        return self._send("GET", path, params=params, authorised=True, reason=reason)

    def _post(self, path: str, body: dict[str, Any] | None) -> Any:
        return self._send("POST", path, json=body, authorised=True)

    def _all(self, path: str, params: dict[str, Any]) -> list[Any]:
        """Every item of a paginated list (follows ``next_cursor``)."""
        items: list[Any] = []
        cursor: str | None = None
        while True:
            page = self._get(path, {**params, "cursor": cursor} if cursor else params)
            items.extend(_items(page))
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if not cursor:
                return items

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        authorised: bool = False,
        retry: bool = True,
        reason: str | None = None,
    ) -> Any:
        headers: dict[str, Any] = {"Accept-Language": self.language}
        if reason:
            # an administrator's reason to see patient data, as UTF-8 (æøå kept)
            headers["X-DHO-Reason"] = reason.encode("utf-8")
        if authorised:
            if self._tokens is None:
                raise ApiError(401, "Ikke innlogget", "Logg inn for å fortsette.")
            headers["Authorization"] = f"Bearer {self._tokens.access_token}"
        try:
            response = self._http.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as err:
            raise ApiError(
                None,
                "The DHO service does not answer",
                f"{type(err).__name__} reaching {self._http.base_url}; check that the service "
                "is running and try again.",
            ) from err
        if response.status_code == 401 and authorised and retry and self._refresh():
            return self._send(
                method,
                path,
                params=params,
                json=json,
                authorised=True,
                retry=False,
                reason=reason,
            )
        if response.is_error:
            if response.status_code == 401 and authorised:
                self._tokens = None
            raise _problem(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _refresh(self) -> bool:
        """Swap the refresh token for new tokens; False when the login has ended."""
        if self._tokens is None:
            return False
        try:
            data = self._send(
                "POST", "/auth/refresh", json={"refresh_token": self._tokens.refresh_token}
            )
        except ApiError as err:
            logger.info("token refresh refused", extra={"status": err.status, "title": err.title})
            self._tokens = None
            return False
        self._tokens = _parse(Tokens, data)
        return True

    # issue 18: reach — the programme's settings (admins)

    def municipalities(self) -> list[dict[str, Any]]:
        """Every municipality (admins only): id, number, name."""
        return [_object(m) for m in self._all("/admin/municipalities", {"limit": 200})]

    def population(self, municipality_id: str) -> dict[str, Any]:
        return _object(self._get(f"/admin/municipalities/{municipality_id}/population"))

    def upload_population_csv(self, municipality_id: str, text: bytes) -> dict[str, Any]:
        """Replace the years in the CSV file (header ``year,sex,age_band,count``); the API
        names a bad line."""
        path = f"/admin/municipalities/{municipality_id}/population"
        for attempt in (1, 2):
            if self._tokens is None:
                raise ApiError(401, "Ikke innlogget", "Logg inn for å fortsette.")
            headers = {
                "Accept-Language": self.language,
                "Authorization": f"Bearer {self._tokens.access_token}",
                "Content-Type": "text/csv",
            }
            try:
                response = self._http.request("PUT", path, content=text, headers=headers)
            except httpx.HTTPError as err:
                raise ApiError(None, "The DHO service does not answer", str(err)) from err
            if response.status_code == 401 and attempt == 1 and self._refresh():
                continue
            if response.is_error:
                raise _problem(response)
            return _object(response.json())
        raise ApiError(401, "Ikke innlogget", "Logg inn for å fortsette.")

    def municipality_programme(self, municipality_id: str) -> dict[str, Any]:
        return _object(self._get(f"/admin/municipalities/{municipality_id}/programme"))

    def set_minutes_per_home_visit(self, municipality_id: str, minutes: int | None) -> Any:
        path = f"/admin/municipalities/{municipality_id}/programme"
        body = {"minutes_per_home_visit": minutes}
        return self._send("PUT", path, json=body, authorised=True)

    def centre_programme(self, centre_id: str) -> dict[str, Any]:
        return _object(self._get(f"/admin/centres/{centre_id}/programme"))

    def set_nurse_fte(self, centre_id: str, fte: float | None) -> Any:
        path = f"/admin/centres/{centre_id}/programme"
        return self._send("PUT", path, json={"nurse_fte": fte}, authorised=True)


def _items(page: Any) -> list[Any]:
    if isinstance(page, dict) and isinstance(page.get("items"), list):
        return list(page["items"])
    if isinstance(page, list):
        return page
    raise ApiError(None, "Unexpected answer from the DHO service", "expected a list of items")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(None, "Unexpected answer from the DHO service", "expected an object")
    return data


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(
            None,
            "Unexpected answer from the DHO service",
            f"{model.__name__}: {err.error_count()} field(s) did not match; is the dashboard "
            "the same version as the service?",
        ) from err


# ----------------------------------------------------------------------------- issue 18: page


class ProgrammeSectionInfo(_Model):
    """A programme section the caller may see."""

    id: str
    title: str
    question: str = ""


class ProgrammeMunicipality(_Model):
    id: str
    number: str = ""
    name: str


class ProgrammeCondition(_Model):
    code: str
    label: str


class ProgrammeOverview(_Model):
    """What the caller may look at in the programme view (``GET /programme/sections``)."""

    sections: list[ProgrammeSectionInfo]
    municipalities: list[ProgrammeMunicipality] = Field(default_factory=list)
    conditions: list[ProgrammeCondition] = Field(default_factory=list)
    today: date
    default_start: date
    default_end: date
    max_days: int = 400


class ProgrammeValue(_Model):
    """One value of a figure (a figure of one definition may have one per state, colour…)."""

    key: str | None = None
    key_label: str | None = None
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    text: str = "–"
    missing: str | None = None


class ProgrammeFigure(_Model):
    id: str
    title: str
    definition: str = ""
    source: str = ""
    unit: str = "count"
    values: list[ProgrammeValue] = Field(default_factory=list)


class ProgrammeColumn(_Model):
    id: str
    title: str
    unit: str | None = None
    coded: str | None = None


class ProgrammeTable(_Model):
    """A table: ``rows`` as computed, ``labels`` the coded cells' labels (null elsewhere)."""

    id: str
    title: str
    definition: str = ""
    source: str = ""
    columns: list[ProgrammeColumn]
    rows: list[list[str | int | float | None]] = Field(default_factory=list)
    labels: list[list[str | None]] = Field(default_factory=list)


class ProgrammeSection(_Model):
    """One section's figures and tables (``GET /programme/{section}``)."""

    section: str
    title: str
    question: str = ""
    start: date
    end: date
    municipality_ids: list[str] | None = None
    condition: str | None = None
    figures: list[ProgrammeFigure] = Field(default_factory=list)
    tables: list[ProgrammeTable] = Field(default_factory=list)


class ProgrammeFilters(_Model):
    """The programme page's filters, as query parameters."""

    start: date
    end: date
    municipality_ids: tuple[str, ...] = ()
    condition: str | None = None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.municipality_ids:
            params["municipality"] = list(self.municipality_ids)
        if self.condition:
            params["condition"] = self.condition
        return params
