"""(being built) data endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["data"])
