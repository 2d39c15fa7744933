"""The broker logins of the registered gateways, read from the database."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.broker.mosquitto_config import BrokerCredential
from triage.storage.models import GatewayRow

log = logging.getLogger(__name__)


def gateway_credentials(session: Session) -> list[BrokerCredential]:
    """One login per gateway that is not revoked and has a broker password entry.

    Gateways registered before broker passwords were stored (migration 0002) have none: they
    are left out (logged) and need a new secret to use the broker; HTTP ingest still works.
    """
    rows = session.execute(
        select(GatewayRow.id, GatewayRow.broker_password_hash)
        .where(GatewayRow.revoked_at.is_(None))
        .order_by(GatewayRow.id)
    ).all()
    missing = [gateway_id for gateway_id, hash_ in rows if not hash_]
    if missing:
        log.warning(
            "%d gateway(s) have no broker password and cannot log in to the broker; give them a "
            "new secret",
            len(missing),
            extra={"gateway_ids": missing[:20]},
        )
    return [BrokerCredential(gateway_id, hash_) for gateway_id, hash_ in rows if hash_]
