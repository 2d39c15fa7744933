"""(being built) worklist endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["worklist"])
