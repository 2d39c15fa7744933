"""``GET /metrics`` for an ingest process without the API (``dho ingest`` on its own).

The API serves ``/api/v1/metrics``; a separate ingest worker has no HTTP server, so its
counters (``dho_ingest_*``) and its queue would not be scraped. With ``DHO_INGEST_METRICS_PORT``
set, such a process serves the same ingest families, plus ``dho_ingest_connected`` (1 while its
MQTT consumer is connected), from a small standard-library HTTP server in a thread. No patient
data: only counts. Anything but ``GET /metrics`` gets 404.
"""

from __future__ import annotations

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


class MetricsServer:
    """Serves ``GET /metrics`` on ``host:port`` (port 0: a free one, see :attr:`port`)."""

    def __init__(self, host: str, port: int, connected: Callable[[], bool]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404, "only GET /metrics here")
                    return
                body = ingest_metrics_text(connected).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
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
