"""Logins and the ACL for the amqtt demo broker: the same rules as the generated Mosquitto
configuration (docs/operator-broker.md, "The ACL"), as amqtt 0.12 plugins.

* :class:`DhoAuthPlugin` checks each CONNECT against the same password file Mosquitto gets
  (``username:$7$…`` lines, re-read when it changes) and refuses a client id other than the
  login name (Mosquitto's ``use_username_as_clientid`` replaces it instead; amqtt cannot).
* :class:`DhoTopicPlugin` lets a gateway write only ``dho/v1/<its id>/`` readings, reports, status,
  calls and message-reads,
  and read only its own receipts and tablet state; the service logins read every gateway's
  readings, reports, status, call requests and message reads and write receipts and tablet
  states; the probe login nothing.

What plugins cannot fix (amqtt 0.12.1, ``broker.py``): amqtt handles a CONNECT's session (a
clean session deletes the old one; otherwise the old connection is taken over) *before* it asks
the auth plugins. A client on this machine that sends another login's client id, even with a
wrong password, ends that login's session. amqtt is for the demo only and listens on 127.0.0.1.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amqtt.contexts import Action  # type: ignore[import-untyped]
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin  # type: ignore[import-untyped]

from triage.broker.passwords import verify_mosquitto_password

log = logging.getLogger(__name__)

_GATEWAY_WRITES = frozenset({"readings", "reports", "status", "calls", "message-reads"})
#: What the service writes and each gateway reads (its own only).
_SERVICE_WRITES = frozenset({"receipts", "tablet"})
_TOPIC = re.compile(r"^dho/v1/(?P<gateway>[^/#+]+)/(?P<channel>[a-z-]+)$")
_FILTER = re.compile(r"^dho/v1/(?P<gateway>[^/#]+)/(?P<channel>[a-z-]+)$")


class _PasswordFile:
    """``username:hash`` lines, re-read when the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: int | None = None
        self._hashes: dict[str, str] = {}

    def hash_of(self, username: str) -> str | None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return None
        if stamp != self._stamp:
            hashes: dict[str, str] = {}
            for line in self.path.read_text(encoding="utf-8").splitlines():
                name, _, hash_ = line.partition(":")
                if name and hash_:
                    hashes[name] = hash_
            self._hashes, self._stamp = hashes, stamp
        return self._hashes.get(username)


class DhoAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """A login is a password-file user with the right password and client id = login name."""

    @dataclass
    class Config:
        password_file: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._passwords = _PasswordFile(Path(self.config.password_file))

    async def authenticate(self, *, session: Any) -> bool:
        username = session.username or ""
        stored = self._passwords.hash_of(username) if username else None
        if stored is None or not verify_mosquitto_password(stored, session.password or ""):
            log.warning("amqtt: login refused for %r (unknown user or wrong password)", username)
            return False
        if session.client_id != username:
            log.warning(
                "amqtt: login %r refused: its client id %r is not its login name",
                username,
                session.client_id,
            )
            return False
        return True


class DhoTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """The ACL of the generated Mosquitto configuration, for amqtt."""

    @dataclass
    class Config:
        service_users: list[str] = field(default_factory=list)

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Any = None
    ) -> bool:
        username = getattr(session, "username", None) or ""
        return bool(topic) and may(username, set(self.config.service_users), topic or "", action)


def may(username: str, service_users: set[str], topic: str, action: Any) -> bool:
    """Whether ``username`` may ``action`` (publish, subscribe, receive) ``topic``."""
    pattern = _FILTER if action == Action.SUBSCRIBE else _TOPIC
    match = pattern.fullmatch(topic)
    if match is None:
        return False
    gateway, channel = match["gateway"], match["channel"]
    if username in service_users:
        if action == Action.PUBLISH:
            return channel in _SERVICE_WRITES and "+" not in gateway
        return channel in _GATEWAY_WRITES
    if gateway != username:
        return False
    if action == Action.PUBLISH:
        return channel in _GATEWAY_WRITES
    return channel in _SERVICE_WRITES
