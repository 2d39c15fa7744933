"""Access and refresh tokens for people (gateways use their own long-lived secrets).

* **Access token**: a JWT (HS256, PyJWT) signed with ``DHO_SECRET_KEY``, valid for
  ``access_token_minutes``; it names the user and the login session (``sid``), so ending the
  session (logout, refresh-token reuse) ends the token too — the API checks the session on
  every request.
* **Refresh token**: 256 random bits, opaque; only its SHA-256 is stored. Every refresh rotates
  it; presenting an already-rotated one ends the session (someone copied it).

Structured so that an OpenID Connect provider (HelseID) can be added beside it: the API asks an
:class:`AccessTokenVerifier` for the claims and maps them to a user; only this module knows that
the tokens are ours.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import jwt

ISSUER = "dho"
AUDIENCE = "dho-api"
ALGORITHM = "HS256"


class InvalidTokenError(Exception):
    """The token is not ours, was altered, or has expired (the message says which)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: datetime


class AccessTokenVerifier(Protocol):
    def verify(self, token: str, now: datetime) -> AccessClaims: ...


@dataclass(frozen=True, slots=True)
class LocalTokens:
    """Issues and verifies DHO's own access tokens."""

    secret_key: str
    lifetime: timedelta

    def issue(self, user_id: str, session_id: str, now: datetime) -> tuple[str, datetime]:
        expires = now + self.lifetime
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self.secret_key, algorithm=ALGORITHM), expires

    def verify(self, token: str, now: datetime) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self.secret_key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "sid", "iat"], "verify_exp": False},
            )
        except jwt.PyJWTError as err:
            raise InvalidTokenError(f"not a valid DHO access token ({err})") from err
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
        if expires <= now:  # checked against the service's clock, not the library's
            raise InvalidTokenError("the access token has expired; refresh it or log in again")
        return AccessClaims(str(claims["sub"]), str(claims["sid"]), expires)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_hash(token: str) -> str:
    """What is stored of a refresh token (a 256-bit random value needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
