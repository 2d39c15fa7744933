"""``GET /health``: is the database reachable, is the broker, which version runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from triage.api.deps import SessionsDep
from triage.api.schemas import DependencyHealth, Health

BrokerCheck = Callable[[], tuple[bool, str]]

router = APIRouter(tags=["health"])


def get_broker_check(request: Request) -> BrokerCheck | None:
    check: BrokerCheck | None = request.app.state.broker_check
    return check


def get_ingest_check(request: Request) -> BrokerCheck | None:
    check: BrokerCheck | None = getattr(request.app.state, "ingest_check", None)
    return check


def ingest_health(check: BrokerCheck | None) -> DependencyHealth | None:
    """This process's MQTT ingest progress (None when it runs none)."""
    if check is None:
        return None
    ok, detail = check()
    return DependencyHealth(ok=ok, detail=detail)


@router.get(
    "/health",
    response_model=Health,
    summary="Service health",
    responses={503: {"model": Health, "description": "The database is not reachable."}},
)
def health(
    request: Request,
    response: Response,
    sessions: SessionsDep,
    broker_check: Annotated[BrokerCheck | None, Depends(get_broker_check)],
    ingest_check: Annotated[BrokerCheck | None, Depends(get_ingest_check)],
) -> Health:
    """`ok` when the database (and the broker, if this process uses one) answer; `degraded`
    when the broker does not, or this process's MQTT ingest has committed nothing for
    `DHO_INGEST_STALL_AFTER_S` while messages wait (HTTP ingest still works); 503 `unavailable`
    when the database does not."""
    database = _database(sessions)
    status: Literal["ok", "degraded", "unavailable"]
    broker = None
    if broker_check is not None:
        ok, detail = broker_check()
        broker = DependencyHealth(ok=ok, detail=detail)
    ingest = ingest_health(ingest_check)
    if not database.ok:
        response.status_code = 503
        status = "unavailable"
    elif (broker is not None and not broker.ok) or (ingest is not None and not ingest.ok):
        status = "degraded"
    else:
        status = "ok"
    return Health(
        status=status,
        version=request.app.version,
        database=database,
        broker=broker,
        ingest=ingest,
    )


def _database(sessions: SessionsDep) -> DependencyHealth:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except DBAPIError as err:
        return DependencyHealth(ok=False, detail=str(err.orig).splitlines()[0][:200])
    return DependencyHealth(ok=True)
