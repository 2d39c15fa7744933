"""Logging in, refreshing and logging out, with back-off after repeated failures.

All in the caller's transaction, against the users, auth_sessions and refresh_tokens tables.
Messages never say whether a username exists or is locked: a wrong password, an unknown user and
a locked account get the same answer and take the same time (the password is run through argon2
in every case).

A login session is a token family (OAuth 2.0 refresh-token rotation, RFC 6819 §5.2.2.3): every
refresh token issued in it is kept (as SHA-256) and works once. Presenting one that was already
used means two parties hold the family's tokens, so the whole session ends: its newest refresh
token and every access token issued in it (the API checks the session on each request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from triage.auth.tokens import LocalTokens, new_refresh_token, refresh_hash
from triage.config import Settings
from triage.storage.models import AuthSessionRow, RefreshTokenRow, UserRow
from triage.storage.repositories import new_id
from triage.storage.seed import hash_secret, verify_secret

WRONG = "wrong username or password"
REUSED = (
    "this refresh token was already used, so the login was ended to protect it "
    "(someone else may hold a copy): log in again"
)
#: Back-off doubles per further failure but never exceeds this.
MAX_LOCKOUT = timedelta(hours=24)


class LoginRefusedError(Exception):
    """Login or refresh refused; the message is safe to show. ``why`` is what the audit log
    keeps (it may say more than the message, e.g. that the account is locked)."""

    def __init__(self, message: str, *, why: str | None = None) -> None:
        super().__init__(message)
        self.why = why or message


class PasswordLoginOffError(LoginRefusedError):
    """The password was right, but the person's role must sign in otherwise (OpenID Connect):
    ``DHO_PASSWORD_LOGIN_ROLES``. Said only after a right password, so it reveals nothing about
    accounts to someone who does not know the password."""


class RefreshReuseError(LoginRefusedError):
    """A used refresh token was presented again: the login session it belongs to has ended."""

    def __init__(self, *, session_id: str, user_id: str, username: str | None) -> None:
        super().__init__(REUSED)
        self.session_id = session_id
        self.user_id = user_id
        self.username = username


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    user_id: str
    session_id: str
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


_dummy_hash: str | None = None


def _burn_time(password: str) -> None:
    """Verify against a throwaway hash, so an unknown username costs what a known one does."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_secret(new_refresh_token())
    verify_secret(_dummy_hash, password)


def login(
    session: Session, settings: Settings, username: str, password: str, now: datetime
) -> IssuedTokens:
    user = session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
    if user is None or not user.active or user.password_hash is None:
        _burn_time(password)
        raise LoginRefusedError(WRONG)
    # the password is checked even while locked, so that a locked account takes as long as a
    # wrong password and gets the same answer (the audit log says which it was)
    right = verify_secret(user.password_hash, password)
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefusedError(
            WRONG, why=f"account locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        )
    if not right:
        user.failed_logins += 1
        over = user.failed_logins - settings.login_max_failures
        if over >= 0:
            lockout = timedelta(minutes=settings.login_lockout_minutes) * (2 ** min(over, 10))
            user.locked_until = now + min(lockout, MAX_LOCKOUT)
        raise LoginRefusedError(WRONG)
    user.failed_logins = 0
    user.locked_until = None
    if user.role not in settings.password_login_roles:
        raise PasswordLoginOffError(
            f"password login is turned off for the role {user.role}: sign in with the "
            "identity provider (HelseID)",
            why=f"password login is off for the role {user.role} (DHO_PASSWORD_LOGIN_ROLES)",
        )
    user.last_login_at = now
    auth_session = start_session(session, user, now)
    return issue(session, settings, auth_session, now)


def start_session(
    session: Session,
    user: UserRow,
    now: datetime,
    *,
    oidc_provider: str | None = None,
    oidc_sid: str | None = None,
    oidc_sub: str | None = None,
    auth_time: datetime | None = None,
    reauth_after: datetime | None = None,
) -> AuthSessionRow:
    """A new login session (not live until :func:`issue` gives it tokens)."""
    auth_session = AuthSessionRow(
        id=new_id(),
        user_id=user.id,
        created_at=now,
        expires_at=now,
        last_used_at=now,
        oidc_provider=oidc_provider,
        oidc_sid=oidc_sid,
        oidc_sub=oidc_sub,
        auth_time=auth_time,
        reauth_after=reauth_after,
    )
    session.add(auth_session)
    session.flush()  # the session row before its first refresh token (foreign key)
    return auth_session


def refresh(session: Session, settings: Settings, token: str, now: datetime) -> IssuedTokens:
    """New tokens for a refresh token, which is used up. Presenting a used refresh token of a
    live session ends the whole session (:class:`RefreshReuseError`)."""
    digest = refresh_hash(token)
    found = session.execute(
        select(RefreshTokenRow.session_id).where(RefreshTokenRow.token_hash == digest)
    ).one_or_none()
    row = session.get(AuthSessionRow, found.session_id) if found is not None else None
    if row is None:
        raise LoginRefusedError("unknown refresh token: log in again")
    if row.ended_at is not None:
        raise LoginRefusedError("this login has ended: log in again")
    if row.reauth_after is not None and row.reauth_after <= now:
        # an OpenID Connect login cannot outlive max_session_hours since the provider's
        # authentication (auth_time): the person signs in again
        row.ended_at, row.end_reason = now, "reauth_required"
        raise LoginRefusedError("sign in again: the identity provider's login is too old")
    if row.expires_at <= now:
        row.ended_at, row.end_reason = now, "expired"
        raise LoginRefusedError("this login has expired: log in again")
    # single use, decided by the database: of two requests with one token only one marks it
    # (the other waits for the row lock, then finds it used)
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.token_hash == digest, RefreshTokenRow.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    user = session.get(UserRow, row.user_id)
    if claimed.rowcount != 1:
        row.ended_at, row.end_reason = now, "refresh_reuse"
        raise RefreshReuseError(
            session_id=row.id, user_id=row.user_id, username=user.username if user else None
        )
    if user is None or not user.active:
        row.ended_at, row.end_reason = now, "user_inactive"
        raise LoginRefusedError("this account is deactivated")
    return issue(session, settings, row, now)


def end_session(session: Session, session_id: str, now: datetime, reason: str = "logout") -> None:
    row = session.get(AuthSessionRow, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now, reason


def session_is_live(session: Session, session_id: str, user_id: str, now: datetime) -> bool:
    row = session.get(AuthSessionRow, session_id)
    return (
        row is not None and row.user_id == user_id and row.ended_at is None and row.expires_at > now
    )


def issue(session: Session, settings: Settings, row: AuthSessionRow, now: datetime) -> IssuedTokens:
    """Access and refresh tokens for the login session ``row``; the session now lasts
    ``refresh_token_hours`` from ``now`` (never past its ``reauth_after``)."""
    tokens = LocalTokens(settings.secret_key, timedelta(minutes=settings.access_token_minutes))
    refresh_token = new_refresh_token()
    session.add(
        RefreshTokenRow(token_hash=refresh_hash(refresh_token), session_id=row.id, issued_at=now)
    )
    row.last_used_at = now
    row.expires_at = now + timedelta(hours=settings.refresh_token_hours)
    if row.reauth_after is not None and row.reauth_after < row.expires_at:
        row.expires_at = row.reauth_after
    access, access_expires = tokens.issue(row.user_id, row.id, now)
    return IssuedTokens(
        user_id=row.user_id,
        session_id=row.id,
        access_token=access,
        access_expires_at=access_expires,
        refresh_token=refresh_token,
        refresh_expires_at=row.expires_at,
    )
