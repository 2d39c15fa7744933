"""Real receivers for notification tests: an SMTP server (aiosmtpd, via triage.notify.smtp_sink)
and an HTTP webhook receiver (the SMS-provider path: Apprise's json:// posts to it).

Both are real servers on free local ports; both can be told to fail for a while.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from triage.notify.smtp_sink import SmtpSink


class WebhookReceiver:
    """An HTTP server that records every POST body; ``fail_with`` (e.g. 503) refuses them."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if receiver.fail_with is not None:
                    receiver.refused += 1
                    self.send_response(receiver.fail_with)
                    self.end_headers()
                    self.wfile.write(b"provider unavailable")
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                receiver.posts.append({"path": self.path, "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}')

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/sms") -> str:
        """The Apprise URL that posts JSON here."""
        return f"json://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
