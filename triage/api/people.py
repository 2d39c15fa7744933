"""People on the API: who is calling (:data:`CurrentUser`), what they may do with a patient's
data (:meth:`Caller.patient`), and the audit log of every read and change — allowed or refused.

Every endpoint that touches patient data takes a :class:`Caller` and goes through
:meth:`Caller.patient` (one patient) or :meth:`Caller.scope` (lists); there is no other path to
patient rows, so the access rules of :mod:`triage.domain.access` are applied once, on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.api.deps import ClockDep, SessionsDep, SettingsDep
from triage.api.errors import ForbiddenError, NotFoundError, UnauthorizedError
from triage.auth.logins import session_is_live
from triage.auth.tokens import AccessTokenVerifier, InvalidTokenError
from triage.config import Settings
from triage.domain.access import (
    MAX_REASON_LENGTH,
    MIN_REASON_LENGTH,
    ListScope,
    PatientRef,
    Permission,
    Principal,
    Role,
    approval_scope,
    decide,
    list_scope,
    reason_problem,
)
from triage.storage.models import AuditRow, MembershipRow, PatientRow, UserRow

REALM = "dho"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserToken",
    description="A person's access token from `POST /api/v1/auth/login` (or `/auth/refresh`).",
)


def principal_for(session: Session, user_id: str, session_id: str | None) -> Principal | None:
    user = session.get(UserRow, user_id)
    if user is None or not user.active:
        return None
    centres = session.scalars(
        select(MembershipRow.centre_id).where(MembershipRow.user_id == user_id)
    ).all()
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        centre_ids=frozenset(centres),
        session_id=session_id,
    )


def current_principal(
    request: Request,
    sessions: SessionsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The person the bearer access token names, if its login session is still live; else 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("log in first: send 'Authorization: Bearer <access token>'", REALM)
    verifier: AccessTokenVerifier = request.app.state.token_verifier
    now = clock()
    try:
        claims = verifier.verify(credentials.credentials, now)
    except InvalidTokenError as err:
        raise UnauthorizedError(str(err), REALM) from err
    with sessions() as session:
        if not session_is_live(session, claims.session_id, claims.user_id, now):
            raise UnauthorizedError(
                "this login has ended (logged out or expired): log in again", REALM
            )
        principal = principal_for(session, claims.user_id, claims.session_id)
    if principal is None:
        raise UnauthorizedError("this account is deactivated", REALM)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]

ReasonHeader = Annotated[
    str | None,
    Header(
        alias="X-DHO-Reason",
        description="Why an admin reads patient data (required for admins, at least "
        f"{MIN_REASON_LENGTH} characters; kept in the audit log). Others may send it too. "
        f"UTF-8 text of at most {MAX_REASON_LENGTH} characters without control characters "
        "(else 422).",
    ),
]


def reason_from_header(value: str | None) -> str | None:
    """The reason a client sent, as text: HTTP hands header bytes over as latin-1, so the
    bytes are decoded again as the UTF-8 they are ("Pasient ringte om blodtrykket" with æøå
    is kept as written, not as mojibake). 422 for bytes that are not UTF-8, more than
    ``MAX_REASON_LENGTH`` characters or control characters; surrounding spaces are dropped."""
    if value is None:
        return None
    try:
        text = value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        why = "must be UTF-8 text"
    else:
        problem = reason_problem(text)
        if problem is None:
            return text.strip() or None
        why = problem
    raise RequestValidationError(
        [{"loc": ("header", "X-DHO-Reason"), "msg": f"X-DHO-Reason {why}", "type": "value_error"}]
    )


@dataclass
class Caller:
    """A request by a person: who, why (if given), when, and the means to check and audit."""

    principal: Principal
    reason: str | None
    now: datetime
    settings: Settings
    sessions: sessionmaker[Session]

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    # --- one patient

    def patient(
        self,
        session: Session,
        patient_id: str,
        permission: Permission,
        action: str,
        *,
        object_type: str = "patient",
        object_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> PatientRow:
        """The patient row if the caller may do ``permission`` with it — audited as ``action``
        in ``session``'s transaction; otherwise the refusal is audited in its own transaction
        (it must outlive the failed request) and 404/403 is raised."""
        row = session.get(PatientRow, patient_id)
        if row is None:
            self.refuse(action, object_type, object_id or patient_id, None, "no such patient")
            raise NotFoundError(f"no patient {patient_id}")
        ref = PatientRef(row.id, row.centre_id, row.gp_user_id)
        decision = decide(
            self.principal,
            ref,
            permission,
            reason=self.reason,
            plan_approvers=self.settings.plan_approvers,
        )
        if not decision:
            self.refuse(action, object_type, object_id or patient_id, patient_id, decision.why)
            raise ForbiddenError(f"not allowed: {decision.why}")
        self.audit(
            session,
            action,
            object_type,
            object_id or patient_id,
            patient_id,
            details=details,
        )
        return row

    def may(self, row: PatientRow, permission: Permission) -> bool:
        """Whether the caller may do ``permission`` with ``row`` (no audit: for showing or
        hiding buttons, never for deciding)."""
        ref = PatientRef(row.id, row.centre_id, row.gp_user_id)
        return decide(
            self.principal,
            ref,
            permission,
            reason=self.reason,
            plan_approvers=self.settings.plan_approvers,
        ).allowed

    # --- lists

    def scope(self, action: str, object_type: str) -> ListScope:
        """Which patients a list may show; refused (and audited) when none."""
        return self._allowed(list_scope(self.principal, reason=self.reason), action, object_type)

    def approval_scope(self, action: str, object_type: str) -> ListScope:
        """Whose plan drafts the caller may approve (the site's ``plan_approvers``); refused
        (and audited) when nobody's."""
        scope = approval_scope(self.principal, plan_approvers=self.settings.plan_approvers)
        return self._allowed(scope, action, object_type)

    def _allowed(self, scope: ListScope, action: str, object_type: str) -> ListScope:
        if scope.refused is not None:
            self.refuse(action, object_type, None, None, scope.refused)
            raise ForbiddenError(f"not allowed: {scope.refused}")
        return scope

    def scope_filter(self, scope: ListScope) -> Any:
        """A WHERE clause on ``PatientRow`` for ``scope``."""
        if scope.all_patients:
            return PatientRow.id.is_not(None)
        if scope.gp_user_id is not None:
            return PatientRow.gp_user_id == scope.gp_user_id
        return PatientRow.centre_id.in_(sorted(scope.centre_ids))

    # --- the audit log

    def audit(
        self,
        session: Session,
        action: str,
        object_type: str,
        object_id: str | None,
        patient_id: str | None,
        *,
        details: Mapping[str, Any] | None = None,
        outcome: str = "allowed",
    ) -> None:
        add_audit(
            session,
            at=self.now,
            actor=self.principal.username,
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id,
            reason=self.reason,
            details=details,
            outcome=outcome,
        )

    def refuse(
        self,
        action: str,
        object_type: str,
        object_id: str | None,
        patient_id: str | None,
        why: str,
    ) -> None:
        with self.sessions.begin() as session:
            self.audit(
                session,
                action,
                object_type,
                object_id,
                patient_id,
                details={"refused": why},
                outcome="refused",
            )


def add_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    patient_id: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
    outcome: str = "allowed",
) -> None:
    """One audit-log row in ``session``'s transaction (never a password or a secret)."""
    session.add(
        AuditRow(
            at=at,
            actor=actor[:100],
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id,
            reason=reason,
            details=dict(details or {}),
            outcome=outcome,
        )
    )


def get_caller(
    principal: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    reason: ReasonHeader = None,
) -> Caller:
    return Caller(principal, reason_from_header(reason), clock(), settings, sessions)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_role(caller: Caller, *roles: Role, action: str, object_type: str) -> None:
    """403 (audited) unless the caller has one of ``roles``."""
    if caller.principal.role not in roles:
        why = f"only {' or '.join(r.value for r in roles)} may {action} {object_type}"
        caller.refuse(action, object_type, None, None, why)
        raise ForbiddenError(f"not allowed: {why}")
