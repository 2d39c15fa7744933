"""Settings for the triage service: built once per process from ``DHO_`` variables, passed down.

Nothing reads the environment at import time; ``Settings()`` does, when a command starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.domain.access import PlanApprovers

DEMO_SECRET = "demo-only-not-secret-never-use-in-production"  # noqa: S105 - refused outside demo
#: Tokens are signed with HMAC-SHA256: a shorter key is guessable (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every ``DHO_`` setting of the triage service (documented in docs/operator.md)."""

    model_config = SettingsConfigDict(env_prefix="DHO_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Folder for the embedded database and broker files."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://dho@db/dho; default: SQLite in "
        "the data folder.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:password@host:port of an MQTT 5 broker; default: start an "
        "embedded broker.",
    )
    broker_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the embedded broker on 127.0.0.1; 0 picks a free port at start.",
    )
    mosquitto_path: str = Field(
        default="mosquitto",
        description="The Mosquitto executable for the embedded broker (a name looked up on PATH "
        "and /usr/sbin, or a path); empty: do not use Mosquitto.",
    )
    broker_worker_logins: list[str] = Field(
        default_factory=list,
        description="More service logins for the embedded broker (JSON list, e.g. "
        '["dho-ingest-2"]), with dho-service\'s password: one per extra `dho ingest` pointed '
        "at `dho broker run` (the broker uses the login as the client id, so each process needs "
        "its own; names start with dho-).",
    )
    broker_max_queued_messages: int = Field(
        default=100_000,
        ge=1000,
        description="Mosquitto's max_queued_messages, for the embedded broker and `dho broker "
        "config`: QoS 1 messages kept per offline session; size it for the longest tolerated "
        "service outage (docs/operator-broker.md).",
    )
    mqtt_client_id: str | None = Field(
        default=None,
        description="This process's MQTT client id; default: DHO_MQTT_URL's user name (DHO's "
        "broker configuration uses the login as the client id), else dho-triage-1. Every ingest "
        "process needs its own login (each resumes its own persistent session).",
    )
    mqtt_shared_group: str | None = Field(
        default=None,
        description="Subscribe as $share/<group>/… so several ingest workers split the load "
        "(MQTT 5 only: refused with the amqtt demo broker).",
    )
    mqtt_session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        description="Seconds the broker keeps the service's session (and queues for it) while "
        "it is away (MQTT 5; an MQTT 3.1.1 broker decides itself).",
    )
    ingest_batch_size: int = Field(
        default=500, ge=1, description="Ingest commits a batch when it holds this many messages…"
    )
    ingest_batch_ms: int = Field(
        default=50, ge=1, description="…or this many milliseconds after its first message."
    )
    ingest_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port on which a `dho ingest` process (one without the API) serves GET "
        "/metrics and GET /health on all addresses: its ingest counters, queue, connection and "
        "progress (docs/operator.md); 0: none. Processes with the API serve /api/v1/metrics "
        "instead.",
    )
    ingest_plan_cache_size: int = Field(
        default=5000,
        ge=1,
        description="Parsed plan versions each ingest worker keeps at least; it keeps 1.25 × "
        "the patients not discharged when there are more (counted every 5 minutes), and grows "
        "when it evicts a plan it used recently (docs/operator.md).",
    )
    ingest_history_cache_patients: int = Field(
        default=10_000,
        ge=1,
        description="Patients whose recent history each ingest worker keeps at least; sized "
        "and grown like the plan cache.",
    )
    ingest_cache_ceiling: int = Field(
        default=200_000,
        ge=1,
        description="The most entries either ingest cache grows to (memory: ~20 KiB per plan, "
        "20–60 KiB per patient's history).",
    )
    tablet_publish_interval_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often each MQTT ingest worker drains the tablet outbox and publishes "
        "the patients' dho.tablet/1 states that changed (docs/operator.md, The patient's "
        "tablet).",
    )
    ingest_stall_after_s: float = Field(
        default=60.0,
        gt=0,
        description="An MQTT ingest worker that has committed nothing for this many seconds "
        "while messages wait is reported stalled: /api/v1/health `degraded`, "
        "dho_ingest_stalled 1 (docs/operator.md).",
    )
    clock_ahead_tolerance_s: int = Field(
        default=300,
        description="Seconds a measured_at may lie after the gateway's received_at (or a "
        "received_at after the service's clock) before the reading is flagged clock ahead.",
    )
    clock_behind_tolerance_s: int = Field(
        default=300,
        ge=0,
        description="Seconds a gateway's received_at may lie before the device's measured_at "
        "(while measured_at is not ahead of the service's clock) before the reading is "
        "flagged gateway clock behind.",
    )
    backfill_after_h: int = Field(
        default=24,
        description="Hours: a reading older than this when it arrives is history (flag "
        "backfill): stored and classified, but it opens no alert and gets no advice.",
    )
    lost_contact_after_h: int = Field(
        default=24,
        description="Hours without a message from any of a patient's gateways before a "
        "lost-contact (technical) alert opens.",
    )
    escalate_after_min: int = Field(
        default=30,
        description="Minutes an unacknowledged red alert waits in staffed hours before it is "
        "escalated to the on-call nurse (a centre's own policy may override it).",
    )
    notify_interval_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds between runs of the notification sender (the outbox of escalation "
        "messages and GP digests).",
    )
    notify_max_attempts: int = Field(
        default=6,
        ge=1,
        description="Delivery attempts of one notification before it is dead-lettered (then a "
        "technical alert opens on the worklist and dho_notifications_dead_total counts it).",
    )
    notify_retry_base_s: float = Field(
        default=30.0,
        gt=0,
        description="Wait before the second attempt of a notification; doubles with every "
        "further attempt, up to DHO_NOTIFY_RETRY_MAX_S.",
    )
    notify_retry_max_s: float = Field(
        default=900.0, gt=0, description="Longest wait between two attempts of a notification."
    )
    notify_send_timeout_s: float = Field(
        default=20.0, gt=0, description="Seconds one delivery attempt may take before it fails."
    )
    notify_email_url: str | None = Field(
        default=None,
        description="Apprise mailto:// or mailtos:// URL of the SMTP server that sends GP "
        "digests (the GP's address is added as to=); unset: no digests are sent, and the "
        "dashboard says so.",
    )
    dashboard_public_url: str = Field(
        default="http://localhost:8501",
        description="The dashboard's address as receivers reach it: the link in every "
        "notification.",
    )
    api_public_url: str = Field(
        default="http://localhost:8000",
        description="The API's address as receivers reach it: the receipt link ('mottatt') in "
        "escalation messages.",
    )
    jobs_start_delay_s: float = Field(
        default=0.0,
        ge=0,
        description="Seconds after start before the scheduled jobs first run (0: at once, "
        "catching up after downtime). The demo waits for its homes to send their history, so "
        "that missing-measurement and lost-contact checks see it.",
    )
    access_token_minutes: int = Field(
        default=15, ge=1, le=60, description="Lifetime of an access token (refresh renews it)."
    )
    refresh_token_hours: int = Field(
        default=12, ge=1, description="A login lasts this long without activity (one shift)."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Wrong passwords in a row before the account backs off."
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="First back-off; doubles with every further failure."
    )
    login_rate_per_minute: int = Field(
        default=20, ge=1, description="Login attempts per client address per minute."
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body the API reads (bytes); a larger one is refused with "
        "413 before it is read.",
    )
    api_max_ingest_body_bytes: int = Field(
        default=64 * 1024,  # MQTT ingest's per-message limit (triage.ingest.pipeline)
        ge=1024,
        description="Largest body of POST /readings and /reports (bytes), as MQTT ingest's "
        "64 KiB per message: about 200 readings per request.",
    )
    ingest_rate_per_minute: int = Field(
        default=600, ge=1, description="HTTP ingest requests per gateway per minute."
    )
    plan_approvers: PlanApprovers = Field(
        default=PlanApprovers.GP,
        description="Who approves plan versions: 'gp' (the patient's GP) or 'gp_or_nurse'.",
    )
    demo: bool = Field(default=False, description="Demo mode: allows the demo secrets.")
    secret_key: str = Field(
        default=DEMO_SECRET, description="Signing key for tokens; must be set outside demo mode."
    )
    # issue 18
    programme_days_catch_up_days: int = Field(
        default=90,
        ge=1,
        le=3660,
        description="How many past days the daily programme job (patient_days) computes at most "
        "in one run: its first run, or after the service was stopped for a while.",
    )

    # issue 19: the journal write-back (docs/fhir.md, "Journal write-back")
    fhir_journal_url: str | None = Field(
        default=None,
        description="FHIR R4 base URL the journal write-back POSTs a transaction Bundle to "
        "(DetectedIssue, the readings' Observations or QuestionnaireResponses, the Composition "
        "note) when an alert is resolved, e.g. VKP's endpoint for the municipality; unset: no "
        "journal write-back (nothing is written to the outbox).",
    )
    fhir_journal_token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token sent as 'Authorization: Bearer …' to the "
        "journal endpoint (read at every delivery, so a rotated token is picked up); unset: no "
        "Authorization header. HelseID client credentials with DPoP are not built.",
    )
    fhir_journal_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between runs of the journal sender (the outbox of FHIR Bundles).",
    )
    fhir_journal_max_attempts: int = Field(
        default=6,
        ge=1,
        description="Delivery attempts of one journal Bundle before it is given up (then a "
        "technical alert opens on the centre's worklist and dho_journal_dead_total counts it).",
    )
    fhir_journal_retry_base_s: float = Field(
        default=60.0,
        gt=0,
        description="Wait before the second delivery attempt of a journal Bundle; doubles with "
        "every further attempt, up to DHO_FHIR_JOURNAL_RETRY_MAX_S.",
    )
    fhir_journal_retry_max_s: float = Field(
        default=3600.0,
        gt=0,
        description="Longest wait between two delivery attempts of a journal Bundle.",
    )
    fhir_journal_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds one delivery of a journal Bundle may take before it fails.",
    )

    # issue 20: OpenID Connect sign-in (docs/identity.md)
    oidc_providers_file: Path | None = Field(
        default=None,
        description="JSON file listing the OpenID Connect providers people may sign in with "
        "(HelseID is the documented profile): a list of {id, label, issuer, client_id, "
        "private_key_file, scopes, acr_values, min_security_level, hpr_claim, pid_claim, "
        "security_level_claim, max_session_hours} (docs/identity.md); unset: password login "
        "only.",
    )
    password_login_roles: list[str] = Field(
        default_factory=lambda: ["nurse", "gp", "admin", "lead"],
        description="Roles that may log in with username and password (JSON list, e.g. "
        '["admin"] once GPs and nurses sign in with HelseID); a person of another role is '
        "refused with 403 after a right password (audited).",
        json_schema_extra={"secret": False},  # roles, not a password
    )

    @model_validator(mode="after")
    def _no_default_secrets_outside_demo(self) -> Self:
        if not self.demo and self.secret_key == DEMO_SECRET:
            raise ValueError(
                "DHO_SECRET_KEY is the demo default: set a secret (e.g. `openssl rand -hex 32`) "
                "or run in demo mode (DHO_DEMO=true)"
            )
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"DHO_SECRET_KEY is too short: at least {MIN_SECRET_BYTES} bytes "
                "(e.g. `openssl rand -hex 32`)"
            )
        unknown = sorted(set(self.password_login_roles) - {"nurse", "gp", "admin", "lead"})
        if unknown:
            raise ValueError(
                f"DHO_PASSWORD_LOGIN_ROLES names unknown roles {unknown}: use nurse, gp, admin, "
                "lead"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dho.sqlite3').resolve()}"
