"""SQLAlchemy 2 tables of the triage service (rows, distinct from domain values and API schemas).

The same models and Alembic migrations serve SQLite (embedded default) and PostgreSQL
(production). Times are stored in UTC and come back timezone-aware on both engines; each
patient's IANA zone is kept beside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused (they are bugs)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: give it a zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


# ----------------------------------------------------------------------------- tenants and people


class MunicipalityRow(Base):
    __tablename__ = "municipalities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(4), unique=True)  # kommunenummer
    name: Mapped[str] = mapped_column(String(200))
    # the programme's benefit figure: a home-care visit avoided is worth this many minutes of
    # home-care time (driving included), as the municipality says; null: not computed
    minutes_per_home_visit: Mapped[int | None] = mapped_column(Integer)


class MunicipalityPopulationRow(Base):
    """The municipality's inhabitants by sex and age band, as the admin entered them (from
    SSB's table 07459 or the municipality's own figures): the programme's reach compares the
    enrolled patients with them."""

    __tablename__ = "municipality_population"

    municipality_id: Mapped[str] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)  # female | male
    age_band: Mapped[str] = mapped_column(String(8), primary_key=True)  # "67-79", "80+"
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class CentreRow(Base):
    """A follow-up centre (oppfølgingstjeneste) and its service calendar."""

    __tablename__ = "centres"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    calendar: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ServiceCalendar fields
    escalation: Mapped[dict[str, Any]] = mapped_column(default=dict)  # EscalationPolicy fields
    phone: Mapped[str | None] = mapped_column(String(32))  # shown to patients on the tablet
    # nurse full-time equivalents working in the centre (the programme's workload figures)
    nurse_fte: Mapped[float | None] = mapped_column(Float)


class CentreMunicipalityRow(Base):
    __tablename__ = "centre_municipalities"

    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"), primary_key=True)
    municipality_id: Mapped[str] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # nurse | gp | admin | lead
    password_hash: Mapped[str | None] = mapped_column(String(255))
    hpr_number: Mapped[str | None] = mapped_column(String(16))  # synthetic in tests and demos
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last success
    locked_until: Mapped[datetime | None]  # back-off after repeated failures
    last_login_at: Mapped[datetime | None]
    # the GP's digest of non-acute deviations (triage.jobs.gp_digest): none | daily | weekly,
    # to this e-mail address through the operator's DHO_NOTIFY_EMAIL_URL
    digest_frequency: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    digest_email: Mapped[str | None] = mapped_column(String(254))
    # issue 20: a person who signs in with OpenID Connect without an HPR number is matched by
    # the provider's subject, registered by an admin (never created at sign-in)
    oidc_provider: Mapped[str | None] = mapped_column(String(64))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("uq_users_oidc_subject", "oidc_provider", "oidc_subject", unique=True),)


class AuthSessionRow(Base):
    """A login (the token family): when it expires and whether it was ended. Access tokens
    carry the session id and the API checks it on every request, so ending the session (logout,
    refresh-token reuse) ends every token issued in it at once."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))  # logout | refresh_reuse | …
    # issue 20: a login through an OpenID Connect provider follows the provider's session: its
    # back-channel logout (by sid or sub) ends it, and it cannot be refreshed past reauth_after
    # (max_session_hours after the provider's auth_time)
    oidc_provider: Mapped[str | None] = mapped_column(String(64))
    oidc_sid: Mapped[str | None] = mapped_column(String(255), index=True)
    oidc_sub: Mapped[str | None] = mapped_column(String(255), index=True)
    auth_time: Mapped[datetime | None]
    reauth_after: Mapped[datetime | None]


class RefreshTokenRow(Base):
    """A refresh token issued in a login session (SHA-256 only). Kept after it is used, so that
    presenting it again is recognised as reuse and ends the whole session."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id"), index=True)
    issued_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # when it was exchanged for new tokens (single use)


class OidcLoginAttemptRow(Base):
    """One sign-in started at an OpenID Connect provider: state (the key), nonce and PKCE
    verifier kept on the server, where to go afterwards and the EPJ launch context. Single use
    (``used_at``) and valid for 10 minutes."""

    __tablename__ = "oidc_login_attempts"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next: Mapped[str | None] = mapped_column(String(200))
    launch_patient: Mapped[str | None] = mapped_column(String(200))  # system|value
    launch_iss: Mapped[str | None] = mapped_column(String(500))  # SMART EHR launch
    launch: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class OidcHandoffRow(Base):
    """A one-time code handing a finished sign-in from the API's callback to the dashboard
    (SHA-256 only, 60 s, single use): exchanged for the login session's tokens."""

    __tablename__ = "oidc_handoffs"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id"))
    next: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OidcLogoutTokenRow(Base):
    """A back-channel logout token's jti, kept so that each is accepted once."""

    __tablename__ = "oidc_logout_tokens"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime]


class OverviewLookRow(Base):
    """When a person last marked their overview seen (the GP's "since you last looked"): kept
    on the server, so it follows the person from browser to browser."""

    __tablename__ = "overview_looks"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seen_through: Mapped[datetime]  # deviations opened before this were seen
    marked_at: Mapped[datetime]  # when the person said so


class MembershipRow(Base):
    """A user working for a centre (nurses; admins of a centre)."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"), primary_key=True)


class PatientRow(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    national_id: Mapped[str | None] = mapped_column(String(11), unique=True)  # synthetic only
    condition: Mapped[str | None] = mapped_column(String(32))
    gp_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    municipality_id: Mapped[str] = mapped_column(ForeignKey("municipalities.id"))
    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"), index=True)
    assigned_nurse_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    # enrolment: trial → active → paused (reason, until) → discharged (reason)
    state: Mapped[str] = mapped_column(String(16), default="trial")
    state_reason: Mapped[str | None] = mapped_column(Text)
    paused_until: Mapped[date | None] = mapped_column(Date)
    enrolled_at: Mapped[datetime]
    state_changed_at: Mapped[datetime]
    # the coded reason at discharge (DischargeCode); state_reason keeps the words
    discharge_code: Mapped[str | None] = mapped_column(String(32))
    # the patient also receives home-care nursing (hjemmetjenesten): shown apart in the figures
    home_care: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class GatewayRow(Base):
    """A patient's home hub or app; its id is its MQTT username and topic segment."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"), index=True)
    secret_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; shown once
    # the Mosquitto password-file entry ($7$ PBKDF2-SHA512) of the same secret, made at
    # registration (the secret is never kept, so it cannot be made later)
    broker_password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None]
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the last status message


# ----------------------------------------------------------------------------- plans


class PlanRow(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    condition: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]


class PlanVersionRow(Base):
    """One version of a plan. The document (dho.plan/1 JSON) is never edited once approved;
    only its status moves draft → approved → retired."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)  # why this version (shown in the history)


# ----------------------------------------------------------------------------- data


class ReadingRow(Base):
    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_patient_measured", "patient_id", "measured_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the message id: stored once
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    gateway_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    values: Mapped[dict[str, Any]]
    device: Mapped[dict[str, Any]] = mapped_column(default=dict)
    measured_at: Mapped[datetime]  # as the device said (UTC)
    classified_at: Mapped[datetime]  # measured_at, or received_at when the clock ran ahead
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(64))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(8))
    findings: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)  # data-quality flags


class PatientMessageRow(Base):
    """A nurse's short text to a patient, shown on the tablet until read."""

    __tablename__ = "patient_messages"
    __table_args__ = (Index("ix_patient_messages_patient", "patient_id", "sent_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # msg-…
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    sent_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None]  # from the first dho.message-read/1


class MessageReadRow(Base):
    """A ``dho.message-read/1`` as received, stored once per id (dedupe)."""

    __tablename__ = "message_reads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime]
    stored_at: Mapped[datetime]


class CallRequestRow(Base):
    """A patient's "ring meg" (``dho.call-request/1``), stored once per id; done when a nurse
    of the centre marks it so."""

    __tablename__ = "call_requests"
    __table_args__ = (Index("ix_call_requests_patient", "patient_id", "asked_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    gateway_id: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class TabletOutboxRow(Base):
    """ "Publish this patient's tablet state again", written in the transaction of the change
    and drained by a process with a broker connection (triage/ingest/tablet_publisher.py)."""

    __tablename__ = "tablet_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime]


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_patient_answered", "patient_id", "answered_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    gateway_id: Mapped[str] = mapped_column(String(64))
    questionnaire: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime]
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    answers: Mapped[dict[str, Any]]
    score: Mapped[int | None] = mapped_column(Integer)
    plan_id: Mapped[str | None] = mapped_column(String(64))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(8))
    findings: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)


# ----------------------------------------------------------------------------- alerts


class AlertRow(Base):
    """An alert episode. At most one unresolved alert per patient and rule (partial index)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_one_open_per_rule",
            "patient_id",
            "rule_id",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
            sqlite_where=text("state <> 'resolved'"),
        ),
        Index("ix_alerts_state_colour", "state", "colour"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(120))
    rule_type: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    colour: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    last_breach_at: Mapped[datetime]
    breaches: Mapped[int] = mapped_column(Integer)
    reason: Mapped[dict[str, Any]]  # the Finding that explains the current colour
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    back_in_range_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalated_to: Mapped[str | None] = mapped_column(String(32))
    raised_at: Mapped[datetime | None]
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # a nurse


class GreenAcknowledgementRow(Base):
    """A nurse has seen a patient's green readings and reports up to ``through`` (the day's
    "acknowledge all green"); greens after it are still waiting."""

    __tablename__ = "green_acknowledgements"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    through: Mapped[datetime]
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    readings: Mapped[int] = mapped_column(Integer, default=0)  # how many it covered


class AlertActionRow(Base):
    """What a nurse did about an alert: a structured outcome code and a note."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(32))  # phoned_patient | advised_per_plan | …
    note: Mapped[str] = mapped_column(Text, default="")
    # the nurse judged that this handling saved a home-care visit (the benefit figures)
    home_visit_avoided: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class AlertEventRow(Base):
    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    by: Mapped[str | None] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    colour: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")


class EscalationRow(Base):
    """One step of one alert's escalation chain (step 0 first); unique (alert, step) makes the
    job idempotent with several schedulers."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("alert_id", "step"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    step: Mapped[int] = mapped_column(Integer, default=0)
    # EscalationTarget (on_call_nurse | after_hours) for step 0 as before; for every step the
    # chain role it went to: on_call_nurse | second_nurse | after_hours | centre_lead | fallback
    target: Mapped[str] = mapped_column(String(32))
    due_since: Mapped[datetime]
    created_at: Mapped[datetime]
    reason: Mapped[dict[str, Any]]
    patient_instruction: Mapped[dict[str, Any]]


# ----------------------------------------------------------------------------- notifications


class NotificationTargetRow(Base):
    """Who a centre's escalations are sent to: one Apprise URL per receiver, with its chain
    role. The URL may hold credentials: the API never shows it back in full."""

    __tablename__ = "notification_targets"
    __table_args__ = (Index("ix_notification_targets_centre_role", "centre_id", "role"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"))
    # on_call_nurse | second_nurse | after_hours | centre_lead | fallback (TargetRole)
    role: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(200))  # "Legevakten i Fjordvik", shown to nurses
    url: Mapped[str] = mapped_column(Text)  # Apprise URL: mailto://…, json://…, ntfy://…
    # the operator declares the channel secure (e.g. Norsk Helsenett e-mail): the only channels
    # that may carry the patient's initials and municipality, and only when the centre says so
    secure: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class NotificationRow(Base):
    """The notification outbox: written in the transaction of its cause (an escalation step, a
    GP digest), delivered at least once by the sender job (triage.jobs.notify)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_due", "status", "due_at"),
        Index("ix_notifications_centre_created", "centre_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # escalation | gp_digest (NotificationKind)
    # "esc:<alert>:<step>:<target>" or "digest:<user>:<period>": one row per cause, ever
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    centre_id: Mapped[str | None] = mapped_column(ForeignKey("centres.id"))
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("escalations.id")
    )
    target_id: Mapped[str | None] = mapped_column(ForeignKey("notification_targets.id"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # a digest's GP
    recipient: Mapped[str] = mapped_column(String(200))  # the receiver's label when written
    channel: Mapped[str] = mapped_column(String(32))  # the Apprise scheme: mailto, json, …
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # no health data, no name (docs/operator.md)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]  # the next attempt, not before
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # NotificationStatus
    claimed_until: Mapped[datetime | None]  # a sender's lease while it delivers
    sent_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # the receipt link ("mottatt"): sha256 of the token in the message; confirming it stops
    # the alert's chain (it does not acknowledge the alert: a nurse still does)
    receipt_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime | None]


class NotificationAttemptRow(Base):
    """One delivery attempt and the provider's answer (cut), kept for the centre to see."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    answer: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# ----------------------------------------------------------------------------- journal (issue 19)


class JournalEntryRow(Base):
    """The journal outbox: one FHIR transaction Bundle per closed alert (DetectedIssue, the
    implicated Observations/QuestionnaireResponses, the Composition note), written in the
    transaction that resolves the alert and delivered at least once by the journal sender
    (triage.jobs.journal) to the configured FHIR endpoint (DHO_FHIR_JOURNAL_URL)."""

    __tablename__ = "journal_outbox"
    __table_args__ = (Index("ix_journal_outbox_status_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), unique=True)  # once per alert
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"))
    bundle: Mapped[dict[str, Any]]  # the transaction Bundle as sent (fixed when written)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]  # the next attempt, not before
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dead
    claimed_until: Mapped[datetime | None]  # a sender's lease while it delivers
    sent_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # the server's answer to the delivery that succeeded: HTTP status, each entry's
    # response.status and location
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class JournalAttemptRow(Base):
    """One delivery attempt of a journal Bundle and the server's answer (cut)."""

    __tablename__ = "journal_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_outbox.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    http_status: Mapped[int | None] = mapped_column(Integer)  # None: no answer (network, timeout)
    answer: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# ----------------------------------------------------------------------------- programme


class PatientDayRow(Base):
    """One patient's day in follow-up (their own calendar day), kept by the daily programme job
    (triage.jobs.programme_days) so the programme's figures need not read every reading: the
    measurements the plan scheduled and how many were done on time, late or missed, and the
    day's readings by colour. Recomputed for a day whenever the job runs over it again."""

    __tablename__ = "patient_days"
    __table_args__ = (
        Index("ix_patient_days_day", "day"),
        # a centre's or a municipality's figures read only their own days
        Index("ix_patient_days_centre_day", "centre_id", "day"),
        Index("ix_patient_days_municipality_day", "municipality_id", "day"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    centre_id: Mapped[str] = mapped_column(String(64))
    municipality_id: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # trial | active (paused days are not kept)
    home_care: Mapped[bool] = mapped_column(Boolean, default=False)
    readings: Mapped[int] = mapped_column(Integer, default=0)
    red: Mapped[int] = mapped_column(Integer, default=0)
    yellow: Mapped[int] = mapped_column(Integer, default=0)
    green: Mapped[int] = mapped_column(Integer, default=0)
    slots_due: Mapped[int] = mapped_column(Integer, default=0)  # scheduled measurements
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime]


# ----------------------------------------------------------------------------- operations


class DeadLetterRow(Base):
    """A message that could not be stored, with the reason, the raw payload and the topic."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(8))  # mqtt | http
    topic: Mapped[str | None] = mapped_column(String(255))
    gateway_id: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    reason_code: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class AuditRow(Base):
    """Who read or changed what patient data, when, and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(16), default="allowed")  # allowed | refused


class JobRunRow(Base):
    """Every run of a scheduled job, so an operator can see that it happened and how it went."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(40), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | ok | partial | failed
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
