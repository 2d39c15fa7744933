"""A local SMTP server that keeps what it receives: the demo's mail sink and the tests' receiver.

Built on aiosmtpd (a real SMTP server in a thread): Apprise's ``mailto://`` plugin talks real
SMTP to it. Every message is kept in memory (:attr:`SmtpSink.messages`) and, when ``folder`` is
given, written there as ``<n>-<recipient>.eml`` so that a newcomer can open what went out.
``refuse`` makes it answer ``451`` (try again later) to every message, as a receiver that is
down for a while would.
"""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        """The plain-text body (the first text/plain part)."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.sink.refuse:
            return "451 4.3.0 Receiver unavailable, try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(str(r) for r in envelope.rcpt_tos),
            message=message,
        )
        self.sink.keep(mail, raw)
        return "250 2.0.0 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on ``host:port`` (port 0: a free one) that keeps every message."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None) -> None:
        self.folder = folder
        self.refuse = False
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller = Controller(_Handler(self), hostname=host, port=port or _free_port(host))

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def url(self, to: str, sender: str = "dho@dho.invalid") -> str:
        """The Apprise URL that sends to ``to`` through this server (no TLS, no login)."""
        return f"mailto://{self.host}:{self.port}?from={sender}&to={to}&mode=insecure"

    def start(self) -> SmtpSink:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def keep(self, mail: ReceivedMail, raw: bytes) -> None:
        with self._arrived:
            self.messages.append(mail)
            count = len(self.messages)
            self._arrived.notify_all()
        if self.folder is not None:
            name = mail.rcpt_tos[0] if mail.rcpt_tos else "unknown"
            safe = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in name)
            (self.folder / f"{count:05d}-{safe}.eml").write_bytes(raw)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[ReceivedMail]:
        """The messages once at least ``count`` have arrived; TimeoutError otherwise."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout_s):
                raise TimeoutError(f"{len(self.messages)} of {count} messages after {timeout_s} s")
            return list(self.messages)


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
