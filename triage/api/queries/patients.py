"""Patients: the scoped list, one patient with the names shown beside the ids, the checks an
enrolment or a move must pass, and the enrolment states a patient goes through.

Enrolment states (:data:`LIFECYCLE`, matched on the change asked for and the current state)::

    trial ──activate──▶ active ──pause──▶ paused
                          ▲                 │
                          └─────resume──────┘
    trial | active | paused ──discharge──▶ discharged (final)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Row, Table, and_, or_, select
from sqlalchemy.orm import Session, aliased

from triage.storage.models import (
    CentreMunicipalityRow,
    CentreRow,
    MembershipRow,
    MunicipalityRow,
    PatientRow,
    UserRow,
)
from triage.storage.repositories import among

# ----------------------------------------------------------------------------- states


class PatientState(StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    PAUSED = "paused"
    DISCHARGED = "discharged"


class StateChange(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    DISCHARGE = "discharge"


#: Which states each change may start from, and the state it leads to.
LIFECYCLE: dict[StateChange, tuple[frozenset[PatientState], PatientState]] = {
    StateChange.ACTIVATE: (frozenset({PatientState.TRIAL}), PatientState.ACTIVE),
    StateChange.PAUSE: (frozenset({PatientState.ACTIVE}), PatientState.PAUSED),
    StateChange.RESUME: (frozenset({PatientState.PAUSED}), PatientState.ACTIVE),
    StateChange.DISCHARGE: (
        frozenset({PatientState.TRIAL, PatientState.ACTIVE, PatientState.PAUSED}),
        PatientState.DISCHARGED,
    ),
}

_DESCRIBED = {
    PatientState.TRIAL: "in the trial period",
    PatientState.ACTIVE: "active",
    PatientState.PAUSED: "paused",
    PatientState.DISCHARGED: "discharged",
}


class InvalidStateChangeError(ValueError):
    """A change the patient's current state does not allow; the message says what does."""


def next_state(current: str, change: StateChange) -> PatientState:
    """The state ``change`` leads to from ``current``, or :class:`InvalidStateChangeError`."""
    allowed, target = LIFECYCLE[change]
    state = PatientState(current)
    if state in allowed:
        return target
    from_ = " or ".join(_DESCRIBED[s] for s in sorted(allowed, key=list(PatientState).index))
    raise InvalidStateChangeError(
        f"cannot {change.value} a patient who is {_DESCRIBED[state]}: "
        f"only a patient who is {from_} can be {_PAST[change]}"
    )


_PAST = {
    StateChange.ACTIVATE: "activated",
    StateChange.PAUSE: "paused",
    StateChange.RESUME: "resumed",
    StateChange.DISCHARGE: "discharged",
}


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class PatientNames:
    """A patient (the columns of ``PatientRow``, read as a plain row) with the names shown
    beside the ids."""

    patient: Row[Any]
    centre_name: str
    municipality_name: str
    gp_name: str | None
    nurse_name: str | None


def patients_with_names(session: Session, patient_ids: Sequence[str]) -> dict[str, PatientNames]:
    """The patients ``patient_ids`` with their centre's, municipality's, GP's and assigned
    nurse's names (one query)."""
    if not patient_ids:
        return {}
    rows = session.execute(_with_names().where(among(session, PatientRow.id, patient_ids))).all()
    return {row.id: _names(row) for row in rows}


def _with_names() -> Any:
    gp = aliased(UserRow)
    nurse = aliased(UserRow)
    return (
        select(
            *cast(Table, PatientRow.__table__).c,
            CentreRow.name.label("centre_name"),
            MunicipalityRow.name.label("municipality_name"),
            gp.display_name.label("gp_name"),
            nurse.display_name.label("nurse_name"),
        )
        .join(CentreRow, CentreRow.id == PatientRow.centre_id)
        .join(MunicipalityRow, MunicipalityRow.id == PatientRow.municipality_id)
        .outerjoin(gp, gp.id == PatientRow.gp_user_id)
        .outerjoin(nurse, nurse.id == PatientRow.assigned_nurse_id)
    )


def _names(row: Row[Any]) -> PatientNames:
    return PatientNames(row, row.centre_name, row.municipality_name, row.gp_name, row.nurse_name)


@dataclass(frozen=True, slots=True)
class PatientFilters:
    centre: str | None = None
    municipality: str | None = None
    condition: str | None = None
    nurse: str | None = None
    state: str | None = None

    def clauses(self) -> list[Any]:
        pairs = (
            (PatientRow.centre_id, self.centre),
            (PatientRow.municipality_id, self.municipality),
            (PatientRow.condition, self.condition),
            (PatientRow.assigned_nurse_id, self.nurse),
            (PatientRow.state, self.state),
        )
        return [column == value for column, value in pairs if value is not None]

    def as_details(self) -> dict[str, str]:
        values = {
            "centre": self.centre,
            "municipality": self.municipality,
            "condition": self.condition,
            "nurse": self.nurse,
            "state": self.state,
        }
        return {key: value for key, value in values.items() if value is not None}


def patients_page(
    session: Session,
    scope: Any,
    filters: PatientFilters,
    after: tuple[str, str] | None,
    limit: int,
) -> list[PatientNames]:
    """Up to ``limit + 1`` patients in ``scope`` (a WHERE clause on ``PatientRow``) matching
    ``filters``, by name then id, after the keyset position ``after`` (name, id)."""
    statement = _with_names().where(scope, *filters.clauses())
    if after is not None:
        name, patient_id = after
        statement = statement.where(
            or_(
                PatientRow.display_name > name,
                and_(PatientRow.display_name == name, PatientRow.id > patient_id),
            )
        )
    rows = session.execute(
        statement.order_by(PatientRow.display_name, PatientRow.id).limit(limit + 1)
    ).all()
    return [_names(row) for row in rows]


# ----------------------------------------------------------------------------- checks


def placement_problem(session: Session, centre_id: str, municipality_id: str) -> str | None:
    """Why a patient of ``municipality_id`` cannot be followed up by ``centre_id``, or None."""
    if session.get(CentreRow, centre_id) is None:
        return f"there is no follow-up centre {centre_id}"
    if session.get(MunicipalityRow, municipality_id) is None:
        return f"there is no municipality {municipality_id}"
    served = session.get(CentreMunicipalityRow, (centre_id, municipality_id))
    if served is None:
        return (
            f"follow-up centre {centre_id} does not serve municipality {municipality_id}: "
            "choose the centre that serves the patient's municipality"
        )
    return None


def gp_problem(session: Session, gp_user_id: str) -> str | None:
    """Why ``gp_user_id`` cannot be a patient's GP, or None. The message names only the id the
    caller sent: never whose it is (nor whether it is someone's at all)."""
    user = session.get(UserRow, gp_user_id)
    if user is None or user.role != "gp" or not user.active:
        return f"user {gp_user_id} is not an active GP: choose one of the site's GPs"
    return None


def nurse_problem(session: Session, nurse_id: str, centre_id: str) -> str | None:
    """Why ``nurse_id`` cannot be assigned to a patient of ``centre_id``, or None. One message
    for every case, naming only the id the caller sent, so that it does not tell who works at
    another centre (nor whether the id is someone's at all)."""
    user = session.get(UserRow, nurse_id)
    if (
        user is None
        or user.role != "nurse"
        or not user.active
        or session.get(MembershipRow, (nurse_id, centre_id)) is None
    ):
        return (
            f"user {nurse_id} is not an active nurse of the patient's follow-up centre: "
            "choose one of its nurses (GET /colleagues)"
        )
    return None


def national_id_taken(session: Session, national_id: str) -> bool:
    return (
        session.scalar(select(PatientRow.id).where(PatientRow.national_id == national_id))
        is not None
    )


def enrolled(
    *,
    patient_id: str,
    display_name: str,
    national_id: str | None,
    condition: str | None,
    municipality_id: str,
    centre_id: str,
    gp_user_id: str | None,
    assigned_nurse_id: str | None,
    timezone: str,
    now: datetime,
) -> PatientRow:
    """A new patient row in the trial period."""
    return PatientRow(
        id=patient_id,
        display_name=display_name,
        national_id=national_id,
        condition=condition,
        gp_user_id=gp_user_id,
        municipality_id=municipality_id,
        centre_id=centre_id,
        assigned_nurse_id=assigned_nurse_id,
        timezone=timezone,
        state=PatientState.TRIAL.value,
        enrolled_at=now,
        state_changed_at=now,
    )
