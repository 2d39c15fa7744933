"""Sign-in with an OpenID Connect provider (HelseID), the hand-over to the dashboard, the
provider's back-channel logout, and the launch from the GP's record (EPJ): ``/auth/oidc/…`` and
``/launch`` (docs/identity.md).

The browser goes ``start`` → the provider → ``callback``; the callback validates everything,
maps the person to a DHO user (HPR number, else an admin-registered subject; never creates one),
starts a DHO login session that follows the provider's, and sends the browser to the dashboard
with a one-time code that the dashboard exchanges (``exchange``) for the session's tokens. Every
refusal is audited and sends the browser to the dashboard with a ``dho_login_error`` code.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.api.deps import ClockDep, SessionsDep, SettingsDep
from triage.api.errors import ApiError, NotFoundError, UnauthorizedError
from triage.api.people import REALM, add_audit
from triage.api.routers.auth import _limit
from triage.auth import logins
from triage.auth.oidc import (
    OidcProviders,
    OidcRefusedError,
    PersonKeys,
    ProviderClient,
    handoff_hash,
    new_code_verifier,
    new_state,
    person_keys,
    security_problem,
)
from triage.config import Settings
from triage.storage.models import (
    AuthSessionRow,
    MembershipRow,
    OidcHandoffRow,
    OidcLoginAttemptRow,
    OidcLogoutTokenRow,
    PatientRow,
    UserRow,
)

router = APIRouter(tags=["auth"])

#: A sign-in must come back from the provider within this time.
ATTEMPT_TTL = timedelta(minutes=10)
#: The dashboard must exchange the handoff code within this time.
HANDOFF_TTL = timedelta(seconds=60)
#: A dashboard location: ``gp_patient:<patient id>``, ``alert:<alert id>``, ``worklist``.
NEXT_PATTERN = r"^[a-z][a-z0-9_]{0,39}(:[A-Za-z0-9_.-]{1,64})?$"
#: Norwegian national identifiers (synthetic in tests and demos): fødselsnummer and D-number.
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
PATIENT_PATTERN = rf"^({re.escape(FNR_SYSTEM)}|{re.escape(DNR_SYSTEM)})\|[0-9]{{11}}$"
#: Roles that may sign in with a provider: the people DHO matches by HPR or subject.
OIDC_ROLES = ("gp", "nurse")


class ProviderInfo(BaseModel):
    id: str
    label: str = Field(description="What the login button says, e.g. 'HelseID'.")
    start_url: str = Field(description="Where the button goes (add `?next=` to come back).")


class HandoffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handoff: Annotated[str, Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class HandoffTokens(BaseModel):
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    access_token: str
    access_expires_at: AwareDatetime
    refresh_token: str = Field(description="single use: each refresh returns a new one")
    refresh_expires_at: AwareDatetime
    next: str | None = Field(
        default=None,
        description="Where the dashboard goes now: `gp_patient:<patient id>` (a GP's launch "
        "from the EPJ), `patient:<patient id>` (a nurse's), or what `start` was given as next.",
    )


def _providers(request: Request) -> OidcProviders:
    providers: OidcProviders = request.app.state.oidc
    return providers


def _client(request: Request, provider: str) -> ProviderClient:
    client = _providers(request).get(provider)
    if client is None:
        raise NotFoundError(f"no sign-in provider {provider!r}")
    return client


def _api_url(settings: Settings, path: str) -> str:
    return f"{settings.api_public_url.rstrip('/')}/api/v1{path}"


def redirect_uri(settings: Settings, provider: str) -> str:
    return _api_url(settings, f"/auth/oidc/{provider}/callback")


def _to_dashboard(settings: Settings, **params: str) -> RedirectResponse:
    url = f"{settings.dashboard_public_url.rstrip('/')}/?{urlencode(params)}"
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(
    sessions: Any,
    settings: Settings,
    now: datetime,
    err: OidcRefusedError,
    *,
    provider: str,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
    patient_id: str | None = None,
) -> RedirectResponse:
    """Audit a refused sign-in (in its own transaction) and send the browser to the dashboard
    with the refusal's code."""
    with sessions.begin() as session:
        add_audit(
            session,
            at=now,
            actor=actor or f"oidc:{provider}",
            action="login",
            object_type="session",
            patient_id=patient_id,
            details={"method": "oidc", "provider": provider, "code": err.code, "refused": err.why}
            | (details or {}),
            outcome="refused",
        )
    return _to_dashboard(settings, dho_login_error=err.code)


# ------------------------------------------------------------------ providers, start


@router.get(
    "/auth/oidc/providers",
    response_model=list[ProviderInfo],
    summary="The identity providers one can sign in with",
)
def list_providers(request: Request, settings: SettingsDep) -> list[ProviderInfo]:
    """No login needed: the dashboard shows one button per provider ("Logg inn med HelseID").
    Empty when the site has none (password login only)."""
    return [
        ProviderInfo(
            id=config.id,
            label=config.label,
            start_url=_api_url(settings, f"/auth/oidc/{config.id}/start"),
        )
        for config in _providers(request).configs.values()
    ]


def _begin(
    client: ProviderClient,
    sessions: Any,
    settings: Settings,
    now: datetime,
    *,
    next_: str | None,
    launch_patient: str | None = None,
    launch_iss: str | None = None,
    launch: str | None = None,
) -> RedirectResponse:
    provider = client.config.id
    state, nonce, verifier = new_state(), new_state(), new_code_verifier()
    try:
        url = client.authorization_url(
            redirect_uri=redirect_uri(settings, provider),
            state=state,
            nonce=nonce,
            verifier=verifier,
            launch=launch,
        )
    except OidcRefusedError as err:
        return _refused(sessions, settings, now, err, provider=provider)
    with sessions.begin() as session:
        _forget_old(session, now)
        session.add(
            OidcLoginAttemptRow(
                state=state,
                provider=provider,
                nonce=nonce,
                code_verifier=verifier,
                next=next_,
                launch_patient=launch_patient,
                launch_iss=launch_iss,
                launch=launch,
                created_at=now,
            )
        )
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


#: Used or expired sign-in rows are deleted this long after they were made (a day's rows stay
#: for looking into a problem; the audit log keeps what happened).
KEEP_ROWS = timedelta(days=1)


def _forget_old(session: Session, now: datetime) -> None:
    """Delete login attempts, handoff codes and logout-token jtis older than ``KEEP_ROWS``
    (every one of them is long expired by then); indexed or small, run at each start."""
    cutoff = now - KEEP_ROWS
    session.execute(delete(OidcLoginAttemptRow).where(OidcLoginAttemptRow.created_at < cutoff))
    session.execute(delete(OidcHandoffRow).where(OidcHandoffRow.expires_at < cutoff))
    session.execute(delete(OidcLogoutTokenRow).where(OidcLogoutTokenRow.received_at < cutoff))


_REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {"description": "to the identity provider's login"}
}


@router.get(
    "/auth/oidc/{provider}/start",
    response_class=RedirectResponse,
    status_code=302,
    responses={**_REDIRECT, 404: {"description": "no such provider"}},
    summary="Start a sign-in at an identity provider",
)
def start(
    provider: str,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    next_: Annotated[
        str | None, Query(alias="next", pattern=NEXT_PATTERN, description="Dashboard location.")
    ] = None,
) -> RedirectResponse:
    """Sends the browser to the provider: authorization code flow with PKCE (S256), state and
    nonce kept on the server (single use, 10 minutes)."""
    _limit(request, "login_limiter")
    return _begin(_client(request, provider), sessions, settings, clock(), next_=next_)


# ------------------------------------------------------------------ callback


def _claim_attempt(
    session: Session, provider: str, state: str, now: datetime
) -> OidcLoginAttemptRow:
    """The login attempt of ``state``, marked used (once, decided by the database)."""
    attempt = session.get(OidcLoginAttemptRow, state)
    if attempt is None or attempt.provider != provider:
        raise OidcRefusedError("invalid_token", "unknown state")
    if attempt.used_at is not None:
        raise OidcRefusedError("invalid_token", "this sign-in was already used (replayed state)")
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(OidcLoginAttemptRow)
            .where(OidcLoginAttemptRow.state == state, OidcLoginAttemptRow.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        raise OidcRefusedError("invalid_token", "this sign-in was already used (replayed state)")
    if attempt.created_at + ATTEMPT_TTL <= now:
        raise OidcRefusedError("expired_attempt", "the sign-in took longer than 10 minutes")
    return attempt


def find_person(session: Session, keys: PersonKeys) -> UserRow:
    """The active DHO user (GP or nurse) the provider's person is: by HPR number, else by the
    admin-registered (provider, subject). Never creates one."""
    if keys.hpr_number is not None:
        found = list(
            session.scalars(
                select(UserRow).where(
                    UserRow.hpr_number == keys.hpr_number,
                    UserRow.active.is_(True),
                    UserRow.role.in_(OIDC_ROLES),
                )
            )
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise OidcRefusedError(
                "unknown_person", f"HPR number {keys.hpr_number} names {len(found)} users"
            )
    by_subject = session.scalars(
        select(UserRow).where(
            UserRow.oidc_provider == keys.provider,
            UserRow.oidc_subject == keys.subject,
            UserRow.active.is_(True),
        )
    ).one_or_none()
    if by_subject is not None:
        return by_subject
    raise OidcRefusedError("unknown_person", "no active DHO user with this HPR number or subject")


def launch_next(session: Session, user: UserRow, identifier: str) -> tuple[str, str]:
    """Where a launch with the patient ``identifier`` (``system|value``) lands, and the
    patient's id: only the GP's own patient (``gp_patient:<id>``), or for a nurse a patient of
    her centres (``patient:<id>``); else ``not_own_patient``."""
    _, _, value = identifier.partition("|")
    patient = session.scalars(
        select(PatientRow).where(PatientRow.national_id == value)
    ).one_or_none()
    if patient is None:
        raise OidcRefusedError("not_own_patient", "no DHO patient with this identifier")
    if user.role == "gp" and patient.gp_user_id == user.id:
        return f"gp_patient:{patient.id}", patient.id
    if user.role == "nurse":
        centres = set(
            session.scalars(select(MembershipRow.centre_id).where(MembershipRow.user_id == user.id))
        )
        if patient.centre_id in centres:
            return f"patient:{patient.id}", patient.id
    raise OidcRefusedError(
        "not_own_patient", f"patient {patient.id} is not this {user.role}'s", patient_id=patient.id
    )


def _smart_patient(token_response: dict[str, Any]) -> str | None:
    """The patient of a SMART EHR launch, as ``system|value``, when the token response's
    ``patient`` is a national identifier (a plain id of the EPJ's FHIR server is not enough:
    see docs/identity.md, SMART EHR launch)."""
    raw = token_response.get("patient")
    if not isinstance(raw, str):
        return None
    if re.fullmatch(PATIENT_PATTERN, raw):
        return raw
    if re.fullmatch(r"[0-9]{11}", raw):
        return f"{FNR_SYSTEM}|{raw}"
    raise OidcRefusedError(
        "provider_error",
        "the SMART launch's patient is an id of the EPJ's FHIR server, which DHO cannot "
        "resolve to a national identifier",
    )


def _epoch(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=fallback.tzinfo)
    return fallback


@router.get(
    "/auth/oidc/{provider}/callback",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the dashboard: ?dho_handoff= or ?dho_login_error="}},
    summary="Where the identity provider sends the browser back",
)
def callback(
    provider: str,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    iss: Annotated[str | None, Query(max_length=500)] = None,
) -> RedirectResponse:
    """Validates the answer (state single use and younger than 10 minutes; the code exchanged
    with private_key_jwt and the PKCE verifier; the ID token's signature, iss, aud, exp, iat and
    nonce; the security level), maps the person to a DHO user and, for a launch, checks that the
    patient is theirs. Then 302 to the dashboard with a one-time `dho_handoff` code (60 s), or
    with `dho_login_error` (audited)."""
    _limit(request, "login_limiter")
    client = _client(request, provider)
    config = client.config
    now = clock()
    if not state:
        return _refused(
            sessions,
            settings,
            now,
            OidcRefusedError("invalid_token", "no state"),
            provider=provider,
        )
    try:
        with sessions.begin() as session:
            attempt = _claim_attempt(session, provider, state, now)
            nonce, verifier = attempt.nonce, attempt.code_verifier
            next_, launch_patient = attempt.next, attempt.launch_patient
            smart_launch = attempt.launch is not None
    except OidcRefusedError as err:
        return _refused(sessions, settings, now, err, provider=provider)
    keys: PersonKeys | None = None
    try:
        if error is not None or code is None:
            raise OidcRefusedError("provider_error", f"the provider answered {error or 'no code'}")
        if iss is not None and iss.rstrip("/") != config.issuer_url:  # RFC 9207
            raise OidcRefusedError("invalid_token", f"the answer names issuer {iss!r}")
        tokens = client.exchange_code(
            code=code, verifier=verifier, redirect_uri=redirect_uri(settings, provider)
        )
        claims = client.validate_id_token(str(tokens["id_token"]), nonce=nonce, now=now)
        keys = person_keys(claims, config)
        problem = security_problem(claims, config)
        if problem is not None:
            raise OidcRefusedError("level_too_low", problem)
        if smart_launch:
            launch_patient = _smart_patient(tokens) or launch_patient
            if launch_patient is None:  # else the launch would sign in without its patient
                raise OidcRefusedError(
                    "provider_error", "the SMART launch's token response carries no patient"
                )
    except OidcRefusedError as err:
        return _refused(
            sessions,
            settings,
            now,
            err,
            provider=provider,
            actor=keys.actor if keys else None,
            details=_person_details(keys),
        )
    patient_id: str | None = None
    if keys is None:  # set with the claims above
        raise RuntimeError("no person keys after a valid ID token")
    try:
        with sessions.begin() as session:
            user = find_person(session, keys)
            if launch_patient is not None:
                next_, patient_id = launch_next(session, user, launch_patient)
            auth_time = _epoch(claims.get("auth_time"), now)
            auth_session = logins.start_session(
                session,
                user,
                now,
                oidc_provider=provider,
                oidc_sid=str(claims["sid"]) if isinstance(claims.get("sid"), str) else None,
                oidc_sub=keys.subject,
                auth_time=auth_time,
                reauth_after=auth_time + timedelta(hours=config.max_session_hours),
            )
            user.last_login_at = now
            handoff = secrets.token_urlsafe(32)
            session.add(
                OidcHandoffRow(
                    code_hash=handoff_hash(handoff),
                    user_id=user.id,
                    session_id=auth_session.id,
                    next=next_,
                    created_at=now,
                    expires_at=now + HANDOFF_TTL,
                )
            )
            add_audit(
                session,
                at=now,
                actor=user.username,
                action="login",
                object_type="session",
                object_id=auth_session.id,
                patient_id=patient_id,
                details={"method": "oidc", "provider": provider, "next": next_}
                | _person_details(keys),
            )
    except OidcRefusedError as err:
        return _refused(
            sessions,
            settings,
            now,
            err,
            provider=provider,
            actor=keys.actor,
            details=_person_details(keys),
            patient_id=err.patient_id,
        )
    return _to_dashboard(settings, dho_handoff=handoff)


def _person_details(keys: PersonKeys | None) -> dict[str, Any]:
    if keys is None:
        return {}
    return {"sub": keys.subject, "hpr": keys.hpr_number}


# ------------------------------------------------------------------ exchange


@router.post(
    "/auth/oidc/exchange",
    response_model=HandoffTokens,
    summary="The tokens of a finished sign-in, for its one-time code",
    responses={401: {"description": "unknown, used or expired code"}, 429: {}},
)
def exchange(
    body: HandoffRequest,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> HandoffTokens:
    """The dashboard sends the `dho_handoff` code the callback gave it (single use, 60 s) and
    gets the same tokens as `/auth/login`, and `next`."""
    _limit(request, "login_limiter")
    now = clock()
    digest = handoff_hash(body.handoff)
    with sessions.begin() as session:
        claimed = cast(
            CursorResult[Any],
            session.execute(
                update(OidcHandoffRow)
                .where(
                    OidcHandoffRow.code_hash == digest,
                    OidcHandoffRow.used_at.is_(None),
                    OidcHandoffRow.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        row = session.get(OidcHandoffRow, digest) if claimed.rowcount == 1 else None
        auth_session = session.get(AuthSessionRow, row.session_id) if row else None
        if row is None or auth_session is None or auth_session.ended_at is not None:
            issued = None
        else:
            issued = logins.issue(session, settings, auth_session, now)
            next_ = row.next
    if issued is None:
        raise UnauthorizedError("unknown, used or expired sign-in code: sign in again", REALM)
    return HandoffTokens(
        access_token=issued.access_token,
        access_expires_at=issued.access_expires_at,
        refresh_token=issued.refresh_token,
        refresh_expires_at=issued.refresh_expires_at,
        next=next_,
    )


# ------------------------------------------------------------------ back-channel logout


@router.post(
    "/auth/oidc/{provider}/backchannel-logout",
    summary="The provider ends a person's sign-in (OpenID Connect Back-Channel Logout)",
    responses={
        200: {"description": "the matching DHO sessions have ended"},
        400: {"description": "the logout token is not valid"},
        404: {"description": "no such provider"},
    },
)
def backchannel_logout(
    provider: str,
    request: Request,
    sessions: SessionsDep,
    clock: ClockDep,
    logout_token: Annotated[str, Form(max_length=20_000)],
) -> Response:
    """Called by the provider, not a browser (form `logout_token`, OpenID Connect Back-Channel
    Logout 1.0): the token is validated (signature with the provider's JWKS, iss, aud, iat,
    the logout event, sid or sub, no nonce, jti used once), then every DHO session of that
    provider session (`sid`, else `sub`) ends at once — its access tokens stop working."""
    client = _client(request, provider)
    now = clock()
    headers = {"Cache-Control": "no-store"}
    try:
        claims = client.validate_logout_token(logout_token, now=now)
    except OidcRefusedError as err:
        with sessions.begin() as session:
            add_audit(
                session,
                at=now,
                actor=f"oidc:{provider}",
                action="provider_logout",
                object_type="session",
                details={"provider": provider, "refused": err.why},
                outcome="refused",
            )
        return JSONResponse(
            {"error": "invalid_request", "error_description": err.why}, 400, headers=headers
        )
    sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
    sub = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    try:
        with sessions.begin() as session:
            session.add(
                OidcLogoutTokenRow(provider=provider, jti=str(claims["jti"])[:255], received_at=now)
            )
            session.flush()
            query = select(AuthSessionRow).where(
                AuthSessionRow.oidc_provider == provider, AuthSessionRow.ended_at.is_(None)
            )
            query = query.where(
                AuthSessionRow.oidc_sid == sid if sid else AuthSessionRow.oidc_sub == sub
            )
            ended = list(session.scalars(query))
            for row in ended:
                logins.end_session(session, row.id, now, reason="provider_logout")
            add_audit(
                session,
                at=now,
                actor=f"oidc:{provider}",
                action="provider_logout",
                object_type="session",
                object_id=ended[0].id if len(ended) == 1 else None,
                details={"provider": provider, "sid": sid, "sub": sub, "ended": len(ended)},
            )
    except IntegrityError:
        with sessions.begin() as session:
            add_audit(
                session,
                at=now,
                actor=f"oidc:{provider}",
                action="provider_logout",
                object_type="session",
                details={"provider": provider, "refused": "jti already used (replayed)"},
                outcome="refused",
            )
        return JSONResponse(
            {"error": "invalid_request", "error_description": "logout token replayed"},
            400,
            headers=headers,
        )
    return Response(status_code=200, headers=headers)


# ------------------------------------------------------------------ EPJ launch


@router.get(
    "/launch",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        **_REDIRECT,
        404: {"description": "no such provider, or none configured"},
        422: {"description": "neither a patient nor a SMART launch"},
    },
    summary="Open DHO from the GP's record (EPJ) on a patient",
)
def launch(
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    patient: Annotated[
        str | None,
        Query(
            pattern=PATIENT_PATTERN,
            description=f"The simple variant: `{FNR_SYSTEM}|<fødselsnummer>` or "
            f"`{DNR_SYSTEM}|<D-number>`.",
        ),
    ] = None,
    iss: Annotated[
        str | None,
        Query(
            pattern=r"^https?://[^\s]+$",
            max_length=500,
            description="SMART EHR launch: the EPJ's FHIR base URL.",
        ),
    ] = None,
    launch_: Annotated[
        str | None,
        Query(
            alias="launch",
            max_length=500,
            description="SMART EHR launch: the EPJ's opaque launch context, passed on to the "
            "provider's authorization request (with scope `launch`).",
        ),
    ] = None,
    provider: Annotated[str | None, Query(max_length=64)] = None,
) -> RedirectResponse:
    """Starts the same sign-in as `/auth/oidc/{provider}/start` with the patient as context
    (silent when the person's session at the provider is live). Afterwards a GP lands on that
    patient's GP view (`next=gp_patient:<id>`) only if the patient is the GP's own (a nurse:
    a patient of her centres), else the sign-in is refused with `not_own_patient` (audited)."""
    _limit(request, "login_limiter")
    providers = _providers(request)
    client = providers.get(provider) if provider else providers.only()
    if client is None:
        raise NotFoundError("no sign-in provider for a launch: configure DHO_OIDC_PROVIDERS_FILE")
    if patient is None and (iss is None or launch_ is None):
        raise ApiError(422, "give patient=<system>|<identifier>, or iss and launch (SMART)")
    return _begin(
        client,
        sessions,
        settings,
        clock(),
        next_=None,
        launch_patient=patient,
        launch_iss=iss if launch_ is not None else None,
        launch=launch_ if iss is not None else None,
    )
