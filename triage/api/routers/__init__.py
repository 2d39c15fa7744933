"""One router per subject; ``triage.api.app`` mounts them under ``/api/v1``."""

from fastapi import APIRouter

from triage.api.routers import (
    admin,
    alerts,
    audit,
    auth,
    centres,
    contact,
    data,
    health,
    ingest,
    metrics,
    notifications,
    overview,
    patients,
    plans,
    programme,  # issue 18: page
    receipt,
    worklist,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    worklist.router,
    patients.router,
    contact.router,
    plans.router,
    alerts.router,
    overview.router,
    centres.router,
    data.router,
    admin.router,
    notifications.router,
    receipt.router,
    audit.router,
    metrics.router,
    ingest.router,
    health.router,
    programme.router,  # issue 18: page
]
