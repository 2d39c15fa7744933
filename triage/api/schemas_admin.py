"""Request and response schemas of administration: users, centres, municipalities, gateways,
the audit log and readiness (distinct from the table rows)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from triage.api.schemas import DependencyHealth
from triage.domain.access import Role

#: A new password must be at least this long (NSM's advice for passphrases).
MIN_PASSWORD_LENGTH = 12

Username = Annotated[
    str,
    Field(
        min_length=2,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="lower-case letters, digits, '.', '_' and '-'",
        examples=["kari.nordmann"],
    ),
]
DisplayName = Annotated[str, Field(min_length=1, max_length=200)]
OidcProvider = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="an identity provider's id (DHO_OIDC_PROVIDERS_FILE), with oidc_subject",
    ),
]
OidcSubject = Annotated[
    str,
    Field(
        max_length=255,
        description="the person's subject (`sub`) at oidc_provider: how someone without an HPR "
        "number is matched at sign-in (docs/identity.md); empty removes it",
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1000,
        description=f"at least {MIN_PASSWORD_LENGTH} characters",
    ),
]
HprNumber = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6,9}$",
        description="the HPR number (Helsepersonellregisteret); synthetic outside production",
    ),
]
Ids = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=100)]


# ----------------------------------------------------------------------------- users


class UserCreate(BaseModel):
    """A new user. Leave out ``password`` to get a generated one (shown once, in the answer)."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: DisplayName
    role: Role
    centre_ids: Ids = Field(
        default_factory=list, description="the follow-up centres the user works for (nurses)"
    )
    hpr_number: HprNumber | None = None
    oidc_provider: OidcProvider | None = None
    oidc_subject: OidcSubject | None = None
    password: Password | None = None


class UserUpdate(BaseModel):
    """Fields to change; fields left out stay as they are. ``active: false`` ends the user's
    logins at once; ``centre_ids`` replaces the user's memberships."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    display_name: DisplayName | None = None
    role: Role | None = None
    centre_ids: Ids | None = None
    hpr_number: HprNumber | None = None
    oidc_provider: OidcProvider | None = None
    oidc_subject: OidcSubject | None = None


class UserRead(BaseModel):
    """A user as administrators see them (never a password or its hash)."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str
    display_name: str
    role: Role
    centre_ids: list[str]
    hpr_number: str | None
    oidc_provider: str | None = None
    oidc_subject: str | None = Field(
        default=None, description="the subject at oidc_provider this user signs in as"
    )
    active: bool
    created_at: AwareDatetime
    last_login_at: AwareDatetime | None
    locked_until: AwareDatetime | None = Field(
        description="set while the account backs off after repeated wrong passwords"
    )


class UserCreated(BaseModel):
    """The new user, and the generated password when none was given (shown this once)."""

    model_config = ConfigDict(frozen=True)

    user: UserRead
    password: str | None = Field(
        description="the generated password (null when the request set one); it is not stored "
        "and cannot be shown again"
    )
    note: str


class PasswordReset(BaseModel):
    """A new generated password for a user (shown this once) and how many logins were ended."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    password: str = Field(description="give it to the user in person; it cannot be shown again")
    sessions_ended: int
    note: str


# ----------------------------------------------------------------------------- tenants


#: A phone number as people write it: digits, spaces, and a leading + (e.g. "+47 22 00 00 00").
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 ]*[0-9]$")]


class CentreCreate(BaseModel):
    """A follow-up centre (oppfølgingstjeneste) and the municipalities it serves."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    municipality_ids: Ids = Field(min_length=1)
    timezone: Annotated[str, Field(max_length=64)] = "Europe/Oslo"
    phone: Phone | None = Field(
        default=None, description="the centre's phone number, shown to its patients on the tablet"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name like Europe/Oslo"
            ) from err
        return value


class CentreUpdate(BaseModel):
    """A change to a centre: its phone number (null clears it)."""

    model_config = ConfigDict(extra="forbid")

    phone: Phone | None = Field(
        description="the centre's phone number, shown to its patients on the tablet"
    )


class CentreRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    timezone: str
    municipality_ids: list[str]
    phone: str | None = Field(
        default=None, description="shown to the centre's patients on their tablets"
    )


class MunicipalityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[
        str, Field(pattern=r"^[0-9]{4}$", description="kommunenummer", examples=["4601"])
    ]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class MunicipalityRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    number: str
    name: str


# ----------------------------------------------------------------------------- gateways


class GatewayRead(BaseModel):
    """A registered gateway (its secret is never shown again after registration)."""

    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str | None
    created_at: AwareDatetime
    revoked_at: AwareDatetime | None
    online: bool
    last_seen_at: AwareDatetime | None
    status: dict[str, Any] = Field(description="the gateway's last status message")


class GatewayCredentials(BaseModel):
    """What to configure on the gateway. The secret is shown in this answer only: only its
    hashes are stored, so a lost secret means rotating it."""

    model_config = ConfigDict(frozen=True)

    gateway_id: str
    patient_id: str | None
    secret: str
    http_token: str = Field(
        description="for HTTP ingest: send 'Authorization: Bearer <http_token>'"
    )
    mqtt_username: str
    mqtt_topic_prefix: str = Field(description="publish to <prefix>/readings, /reports, /status")
    note: str


# ----------------------------------------------------------------------------- audit

Outcome = Literal["allowed", "refused"]


class AuditEntry(BaseModel):
    """One audited read or change: who, what, when, why, and whether it was allowed."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: AwareDatetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    patient_id: str | None
    reason: str | None
    outcome: Outcome
    details: dict[str, Any]


# ----------------------------------------------------------------------------- readiness


class Readiness(BaseModel):
    """``ready`` when the database answers and its schema is at the migrations' head."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ready", "not_ready"]
    reason: str | None = Field(default=None, description="why not ready, and what to do")
    database_revision: list[str] = Field(default_factory=list)
    head_revision: list[str] = Field(default_factory=list)
    ingest: DependencyHealth | None = Field(
        default=None,
        description="this process's MQTT ingest (null: it runs none). A stalled ingest (no "
        "commit for DHO_INGEST_STALL_AFTER_S while messages wait) is reported here and in "
        "/health but does not make the process not ready: the API still serves.",
    )
