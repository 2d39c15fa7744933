"""The gateway's settings (``DHO_GATEWAY_`` environment variables), built once per process."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.outbox import MAX_MESSAGES, Outbox
from gateway.publisher import MqttVersion


class GatewaySettings(BaseSettings):
    """Every ``DHO_GATEWAY_`` setting of the home gateway (documented in docs/gateway.md)."""

    model_config = SettingsConfigDict(env_prefix="DHO_GATEWAY_", extra="ignore")

    gateway_id: str | None = Field(
        default=None,
        description="This hub's gateway id, as registered at the follow-up centre (needed to "
        "publish).",
    )
    secret: SecretStr | None = Field(
        default=None,
        description="The gateway's MQTT password, shown once when the gateway was registered.",
    )
    mqtt_host: str = Field(default="127.0.0.1", description="The MQTT broker's host.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="The MQTT broker's port.")
    mqtt_tls: bool = Field(default=False, description="Connect to the broker with TLS.")
    mqtt_protocol: MqttVersion = Field(
        default=MqttVersion.V5,
        description="The MQTT version to speak: '5', or '3.1.1' for a broker that speaks nothing "
        "newer (the amqtt broker of a demo without Mosquitto).",
    )
    topic_prefix: str = Field(
        default="", description="Prepended to every MQTT topic (tests sharing one broker)."
    )
    data_dir: Path = Field(
        default=Path("data/gateway"),
        description="Folder for the outbox and the paired devices (keep it on persistent storage).",
    )
    timezone: str = Field(
        default="Europe/Oslo",
        description="The hub's IANA zone: device clocks show local time in this zone.",
    )
    outbox_max_messages: int = Field(
        default=MAX_MESSAGES,
        ge=100,
        description="Most messages the outbox keeps unconfirmed; a warning shows from 80 %.",
    )
    drain_every_s: float = Field(
        default=1.0, gt=0, description="How often the outbox is checked for messages to publish."
    )
    status_every_s: float = Field(
        default=60.0, gt=0, description="How often the retained status message is refreshed."
    )
    scan_s: float = Field(
        default=10.0, gt=0, description="How long one scan for a paired device lasts."
    )
    retry_min_s: float = Field(
        default=2.0, gt=0, description="First wait before reaching a device again after a failure."
    )
    retry_max_s: float = Field(
        default=120.0, gt=0, description="Longest wait between tries to reach a device."
    )
    poll_every_s: float = Field(
        default=300.0,
        gt=0,
        description="How often a record-storing device (glucose meter) is asked for new records.",
    )

    tablet_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the patient's tablet pages on 127.0.0.1 (docs/tablet.md); 0: the "
        "gateway serves no pages. With --homes, home number i (from 0) serves on this port + i.",
    )
    tablet_host: str = Field(
        default="127.0.0.1",
        description="Address the tablet pages listen on: the tablet itself (127.0.0.1) unless "
        "the kiosk browser runs on another device of the home's own network.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Oslo)"
            ) from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    def open_outbox(self) -> Outbox:
        """The gateway's outbox with its configured limit (close it when done)."""
        return Outbox(self.outbox_path, max_messages=self.outbox_max_messages)

    @property
    def tablet_state_path(self) -> Path:
        """The last ``dho.tablet/1`` state the service sent, beside the outbox."""
        return self.data_dir / "tablet.json"

    @property
    def known_devices_path(self) -> Path:
        return self.data_dir / "devices.sqlite3"
