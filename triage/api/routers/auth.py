"""Login, refresh and logout for people (``/auth/…``), and who am I (``/me``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.api.deps import ClockDep, SessionsDep, SettingsDep
from triage.api.errors import ApiError, ForbiddenError, TooManyRequestsError, UnauthorizedError
from triage.api.people import REALM, CurrentUser, add_audit
from triage.api.ratelimit import RateLimiter
from triage.auth import logins

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class Tokens(BaseModel):
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    access_token: str
    access_expires_at: AwareDatetime
    refresh_token: str = Field(description="single use: each refresh returns a new one")
    refresh_expires_at: AwareDatetime


class Me(BaseModel):
    user_id: str
    username: str
    display_name: str
    role: str
    centre_ids: list[str]


def _tokens(issued: logins.IssuedTokens) -> Tokens:
    return Tokens(
        access_token=issued.access_token,
        access_expires_at=issued.access_expires_at,
        refresh_token=issued.refresh_token,
        refresh_expires_at=issued.refresh_expires_at,
    )


def _limit(request: Request, limiter_name: str) -> None:
    limiter: RateLimiter = getattr(request.app.state, limiter_name)
    client = request.client.host if request.client else "unknown"
    wait = limiter.hit(client)
    if wait is not None:
        raise TooManyRequestsError(
            f"too many login attempts from this address; try again in {int(wait) + 1} s",
            int(wait) + 1,
        )


@router.post(
    "/auth/login",
    response_model=Tokens,
    summary="Log in with username and password",
    responses={
        401: {"description": "wrong username or password, or locked"},
        403: {"description": "right password, but password login is off for the role"},
        429: {},
    },
)
def login(
    body: LoginRequest,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Tokens:
    """Short-lived access token and a single-use refresh token. After
    `DHO_LOGIN_MAX_FAILURES` wrong passwords in a row the account backs off (15 min, doubling);
    a locked account gets the same answer as a wrong password (the audit log says which). A
    role not in `DHO_PASSWORD_LOGIN_ROLES` is refused (403) after a right password: it signs in
    with the identity provider (`/auth/oidc/providers`)."""
    _limit(request, "login_limiter")
    now = clock()
    refused: logins.LoginRefusedError | None = None
    with sessions.begin() as session:
        try:
            issued = logins.login(session, settings, body.username, body.password, now)
        except logins.LoginRefusedError as err:
            refused = err  # the failure count and back-off are committed all the same
        add_audit(
            session,
            at=now,
            actor=body.username,
            action="login",
            object_type="session",
            object_id=None if refused else issued.session_id,
            details={"refused": refused.why} if refused else {},
            outcome="refused" if refused else "allowed",
        )
    if isinstance(refused, logins.PasswordLoginOffError):
        raise ForbiddenError(str(refused))
    if refused is not None:
        raise UnauthorizedError(str(refused), REALM)
    return _tokens(issued)


@router.post(
    "/auth/refresh",
    response_model=Tokens,
    summary="New tokens for a refresh token",
    responses={401: {"description": "unknown, expired or already used refresh token"}, 429: {}},
)
def refresh(
    body: RefreshRequest,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Tokens:
    """New access and refresh tokens; the refresh token sent is used up. Sending a refresh
    token that was already used ends the whole login (401): its newest refresh token and its
    access tokens stop working too, and the reuse is in the audit log (`refresh_reuse`)."""
    _limit(request, "login_limiter")
    now = clock()
    refused: logins.LoginRefusedError | None = None
    with sessions.begin() as session:
        try:
            issued = logins.refresh(session, settings, body.refresh_token, now)
        except logins.RefreshReuseError as err:
            refused = err  # the session's end is committed with the audit row
            add_audit(
                session,
                at=now,
                actor=err.username or err.user_id,
                action="refresh_reuse",
                object_type="session",
                object_id=err.session_id,
                details={"refused": "a used refresh token was presented again; login ended"},
                outcome="refused",
            )
        except logins.LoginRefusedError as err:
            refused = err
    if refused is not None:
        raise UnauthorizedError(str(refused), REALM)
    return _tokens(issued)


@router.post("/auth/logout", status_code=204, summary="End this login")
def logout(principal: CurrentUser, sessions: SessionsDep, clock: ClockDep) -> Response:
    """Ends the login session: its access and refresh tokens stop working at once."""
    if principal.session_id is None:
        raise ApiError(400, "this token has no login session to end")
    with sessions.begin() as session:
        logins.end_session(session, principal.session_id, clock())
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="Who is logged in")
def me(principal: CurrentUser) -> Me:
    return Me(
        user_id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role.value,
        centre_ids=sorted(principal.centre_ids),
    )
