"""The API's OpenAPI document as published in ``docs/api/openapi.json`` (``dho docs openapi``;
a test keeps the file in sync with the code)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import sessionmaker

from triage.api.app import create_app
from triage.config import Settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI schema of the API (no database needed to build it)."""
    app = create_app(Settings(demo=True), sessionmaker())
    return app.openapi()


def render_openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
