"""Logging in, refreshing and logging out, with back-off after repeated failures.

All in the caller's transaction, against the users and auth_sessions tables. Messages never say
whether a username exists: a wrong password and an unknown user get the same answer (and take
the same time: an unknown user's password is still run through argon2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.auth.tokens import LocalTokens, new_refresh_token, refresh_hash
from triage.config import Settings
from triage.storage.models import AuthSessionRow, UserRow
from triage.storage.repositories import new_id
from triage.storage.seed import hash_secret, verify_secret

WRONG = "wrong username or password"
#: Back-off doubles per further failure but never exceeds this.
MAX_LOCKOUT = timedelta(hours=24)


class LoginRefusedError(Exception):
    """Login or refresh refused; the message is safe to show."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


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
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefusedError(
            "too many failed logins: try again later or ask an administrator",
            locked_until=user.locked_until,
        )
    if not verify_secret(user.password_hash, password):
        user.failed_logins += 1
        over = user.failed_logins - settings.login_max_failures
        if over >= 0:
            lockout = timedelta(minutes=settings.login_lockout_minutes) * (2 ** min(over, 10))
            user.locked_until = now + min(lockout, MAX_LOCKOUT)
        raise LoginRefusedError(WRONG)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    auth_session = AuthSessionRow(
        id=new_id(),
        user_id=user.id,
        refresh_hash="",
        created_at=now,
        expires_at=now,
        last_used_at=now,
    )
    session.add(auth_session)
    return _issue(settings, auth_session, now)


def refresh(session: Session, settings: Settings, token: str, now: datetime) -> IssuedTokens:
    """New tokens for a refresh token; the old refresh token stops working. Presenting a
    refresh token that was already used ends the whole session."""
    digest = refresh_hash(token)
    row = session.scalars(
        select(AuthSessionRow).where(AuthSessionRow.refresh_hash == digest)
    ).one_or_none()
    if row is None:
        raise LoginRefusedError("unknown refresh token: log in again")
    if row.ended_at is not None:
        raise LoginRefusedError("this login has ended: log in again")
    if row.expires_at <= now:
        row.ended_at, row.end_reason = now, "expired"
        raise LoginRefusedError("this login has expired: log in again")
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        row.ended_at, row.end_reason = now, "user_inactive"
        raise LoginRefusedError("this account is deactivated")
    return _issue(settings, row, now)


def end_session(session: Session, session_id: str, now: datetime, reason: str = "logout") -> None:
    row = session.get(AuthSessionRow, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now, reason


def session_is_live(session: Session, session_id: str, user_id: str, now: datetime) -> bool:
    row = session.get(AuthSessionRow, session_id)
    return (
        row is not None and row.user_id == user_id and row.ended_at is None and row.expires_at > now
    )


def _issue(settings: Settings, row: AuthSessionRow, now: datetime) -> IssuedTokens:
    tokens = LocalTokens(settings.secret_key, timedelta(minutes=settings.access_token_minutes))
    refresh_token = new_refresh_token()
    row.refresh_hash = refresh_hash(refresh_token)
    row.last_used_at = now
    row.expires_at = now + timedelta(hours=settings.refresh_token_hours)
    access, access_expires = tokens.issue(row.user_id, row.id, now)
    return IssuedTokens(
        user_id=row.user_id,
        session_id=row.id,
        access_token=access,
        access_expires_at=access_expires,
        refresh_token=refresh_token,
        refresh_expires_at=row.expires_at,
    )
