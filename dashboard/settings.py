"""The dashboard's settings (``DHO_DASHBOARD_`` environment variables), built once per script run
by :mod:`dashboard.streamlit_app` — never read at import time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AnyHttpUrl, AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """Where the API is, how often the worklist refreshes, the default language."""

    model_config = SettingsConfigDict(env_prefix="DHO_DASHBOARD_", extra="ignore", frozen=True)

    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="the DHO service's base URL (the API lives under /api/v1)",
    )
    api_public_url: AnyHttpUrl | None = Field(
        default=None,
        description="the DHO service's base URL as the person's browser reaches it (the "
        "sign-in with HelseID starts there); unset: api_url",
    )
    api_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long to wait for an answer from the API"
    )
    refresh_seconds: float = Field(
        default=30.0, ge=2, description="how often the worklist refreshes by itself"
    )
    language: Literal["nb", "en"] = Field(
        default="nb", description="the language a page opens in (bokmål or English)"
    )
    fixed_now: AwareDatetime | None = Field(
        default=None,
        description="a fixed 'now' for demos and tests against an API with a fixed clock; "
        "unset: the wall clock",
    )

    @property
    def api_base(self) -> str:
        """The API's root, ``…/api/v1``."""
        return str(self.api_url).rstrip("/") + "/api/v1"

    @property
    def api_public_base(self) -> str:
        """The API's root as the browser reaches it, ``…/api/v1``."""
        return str(self.api_public_url or self.api_url).rstrip("/") + "/api/v1"

    def now(self) -> datetime:
        """The dashboard's 'now' (aware, UTC): ``fixed_now`` when set, else the wall clock."""
        return self.fixed_now.astimezone(UTC) if self.fixed_now else datetime.now(UTC)
