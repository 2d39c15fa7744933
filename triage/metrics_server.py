"""``GET /metrics`` for an ingest process without the API (``dho ingest`` on its own).

The API serves ``/api/v1/metrics``; a separate ingest worker has no HTTP server, so its
counters (``dho_ingest_*``) and its queue would not be scraped. With ``DHO_INGEST_METRICS_PORT``
set, such a process serves the same ingest families, plus ``dho_ingest_connected`` (1 while its
MQTT consumer is connected), from a small standard-library HTTP server in a thread, and
``GET /health``: 200 ``ok``, or 503 with the reason when the consumer is not connected or has
committed nothing for ``DHO_INGEST_STALL_AFTER_S`` while messages wait. No patient data: only
counts. Anything else gets 404.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from triage.ingest.pipeline import stats
from triage.metrics_text import CONTENT_TYPE, Family, exposition, ingest_families

log = logging.getLogger(__name__)


def ingest_metrics_text(connected: Callable[[], bool]) -> str:
    """This process's ingest metrics in the Prometheus text format."""
    up = Family(
        "dho_ingest_connected", "gauge", "1 while this process's ingest is connected to the broker."
    ).add(1 if connected() else 0)
    return exposition([*ingest_families(stats()), up])


def ingest_health(
    connected: Callable[[], bool], stalled: Callable[[], tuple[bool, str]]
) -> tuple[int, dict[str, str]]:
    """``GET /health`` of a lone ingest worker: the status code and the JSON body."""
    if not connected():
        reason = "ingest is not connected to the broker (it keeps retrying)"
        return 503, {"status": "unavailable", "reason": reason}
    is_stalled, detail = stalled()
    if is_stalled:
        return 503, {"status": "stalled", "reason": detail}
    return 200, {"status": "ok"}


class MetricsServer:
    """Serves ``GET /metrics`` and ``GET /health`` on ``host:port`` (port 0: a free one, see
    :attr:`port`)."""

    def __init__(
        self,
        host: str,
        port: int,
        connected: Callable[[], bool],
        stalled: Callable[[], tuple[bool, str]] = lambda: (False, ""),
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, CONTENT_TYPE, ingest_metrics_text(connected).encode())
                elif path == "/health":
                    status, body = ingest_health(connected, stalled)
                    self._answer(status, "application/json", json.dumps(body).encode())
                else:
                    self.send_error(404, "only GET /metrics and GET /health here")

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds: not worth a log line each

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dho-ingest-metrics", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("ingest metrics on http://%s:%d/metrics", *self._server.server_address[:2])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
