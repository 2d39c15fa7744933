"""The API's dependencies: settings, sessions, the clock, and the authenticated gateway.

Everything comes from ``app.state`` (set once by :func:`triage.api.app.create_app`), never from
module globals, so two apps in one process (tests) do not share anything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.api.errors import UnauthorizedError
from triage.config import Settings
from triage.ingest.pipeline import PlanCache
from triage.storage.models import GatewayRow
from triage.storage.seed import verify_secret

Clock = Callable[[], datetime]

#: How long a verified gateway secret is remembered (argon2 takes tens of milliseconds by
#: design). Revocation and re-keying still apply at once: the row is read on every request.
VERIFIED_TTL_S = 300.0
VERIFIED_MAX = 10_000


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_plan_cache(request: Request) -> PlanCache:
    plans: PlanCache = request.app.state.plans
    return plans


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
ClockDep = Annotated[Clock, Depends(get_clock)]
PlanCacheDep = Annotated[PlanCache, Depends(get_plan_cache)]


# ----------------------------------------------------------------------------- gateways


@dataclass(frozen=True)
class AuthenticatedGateway:
    """The gateway a request's bearer token proved to be; its patient comes from here only."""

    id: str
    patient_id: str | None


class GatewayAuthenticator:
    """Checks ``<gateway_id>:<secret>`` tokens against the argon2 hashes, remembering successes.

    The gateway's row is read on every request, so a revoked or re-keyed gateway is refused at
    once; only the (slow) argon2 verification of an unchanged hash is remembered, keyed by the
    stored hash and a SHA-256 of the secret.
    """

    def __init__(self, ttl_s: float = VERIFIED_TTL_S, max_entries: int = VERIFIED_MAX) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._verified: OrderedDict[tuple[str, str, bytes], float] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, session: Session, token: str) -> AuthenticatedGateway:
        gateway_id, sep, secret = token.partition(":")
        if not sep or not gateway_id or not secret:
            raise UnauthorizedError(
                "malformed gateway token: send 'Authorization: Bearer <gateway id>:<secret>'"
            )
        row = session.execute(
            select(GatewayRow.secret_hash, GatewayRow.revoked_at, GatewayRow.patient_id).where(
                GatewayRow.id == gateway_id
            )
        ).one_or_none()
        if (
            row is None
            or not row.secret_hash
            or not self._verify(gateway_id, row.secret_hash, secret)
        ):
            raise UnauthorizedError(
                "invalid gateway token: the gateway id or secret is wrong (check the "
                "credentials the gateway was registered with)"
            )
        if row.revoked_at is not None:
            raise UnauthorizedError(
                f"gateway {gateway_id} was revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC; "
                "register the device again to get a new secret"
            )
        return AuthenticatedGateway(gateway_id, row.patient_id)

    def _verify(self, gateway_id: str, stored_hash: str, secret: str) -> bool:
        key = (gateway_id, stored_hash, hashlib.sha256(secret.encode()).digest())
        now = time.monotonic()
        with self._lock:
            expires = self._verified.get(key)
            if expires is not None and expires > now:
                return True
        if not verify_secret(stored_hash, secret):
            return False
        with self._lock:
            self._verified[key] = now + self._ttl_s
            self._verified.move_to_end(key)
            while len(self._verified) > self._max_entries:
                self._verified.popitem(last=False)
        return True


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="GatewayToken",
    description="A gateway's credentials as `<gateway id>:<secret>` (given at registration).",
)


def current_gateway(
    request: Request,
    sessions: SessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthenticatedGateway:
    """The gateway proven by the request's bearer token, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError(
            "missing gateway token: send 'Authorization: Bearer <gateway id>:<secret>'"
        )
    authenticator: GatewayAuthenticator = request.app.state.gateway_authenticator
    with sessions() as session:
        return authenticator.authenticate(session, credentials.credentials)


CurrentGateway = Annotated[AuthenticatedGateway, Depends(current_gateway)]
