"""Process wiring: the one place where settings, database, broker, ingest, jobs and the API meet.

``dho serve`` runs everything in one process (small sites); ``dho ingest``, ``dho jobs`` and
``dho broker run`` run the parts separately (larger sites). Every start waits for the database
and runs the migrations; with no ``DHO_MQTT_URL`` the embedded broker starts. SIGINT/SIGTERM
stop the parts in order: the API (in-flight requests finish), ingest (the batch in hand is
committed and acknowledged), the scheduler (a running job finishes), then the broker.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from triage.broker import (
    SERVICE_USER,
    BrokerCredential,
    EmbeddedBroker,
    MosquittoOptions,
    MqttEndpoint,
    MqttProtocol,
    TlsListener,
    mosquitto_password_hash,
    redact,
    start_broker,
    write_broker_files,
)
from triage.broker.credentials import gateway_credentials
from triage.broker.mosquitto_config import PROBE_USER, BrokerFiles, write_private
from triage.config import Settings
from triage.ingest.mqtt_consumer import BrokerAddress, IngestConsumer
from triage.log_format import FieldsFormatter
from triage.storage.database import make_engine, migrate, session_factory, wait_for_database

log = logging.getLogger(__name__)

#: How often the embedded broker's password file is brought up to date with the gateways table.
CREDENTIAL_SYNC_S = 30.0
API_START_TIMEOUT_S = 30.0
API_STOP_TIMEOUT_S = 30.0


class ServiceError(RuntimeError):
    """A part could not start; the message says what and what to try (no traceback needed)."""


def configure_logging(level: int = logging.INFO) -> None:
    """Plain, timestamped log lines on standard error with each record's ``extra=`` fields as
    ``key=value`` pairs (:mod:`triage.log_format`); noisy libraries kept to warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FieldsFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    for noisy in ("transitions", "amqtt", "apscheduler", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ----------------------------------------------------------------------------- database


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """Wait for the database, bring its schema up to date, and hand out sessions."""
    engine = make_engine(settings.resolved_database_url)
    try:
        wait_for_database(engine)
        migrate(engine)
    except RuntimeError as err:  # wait_for_database gave up: the message says where and why
        engine.dispose()
        raise ServiceError(str(err)) from err
    except Exception:
        engine.dispose()
        raise
    return engine, session_factory(engine)


def load_gateway_credentials(sessions: sessionmaker[Session]) -> list[BrokerCredential]:
    with sessions() as session:
        return gateway_credentials(session)


# ----------------------------------------------------------------------------- broker


@dataclass
class BrokerConnection:
    """The broker the service uses: its URL, the MQTT version to speak, our handle if we own it."""

    url: str
    protocol: MqttProtocol
    embedded: EmbeddedBroker | None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_broker(settings: Settings, sessions: sessionmaker[Session]) -> BrokerConnection:
    """``DHO_MQTT_URL``'s broker, or the embedded one with the registered gateways' logins."""
    if settings.mqtt_url:
        try:
            url, handle = start_broker(settings)
        except ValueError as err:
            raise ServiceError(str(err)) from err
        log.info("using the MQTT broker at %s", redact(url))
        return BrokerConnection(url, MqttProtocol.V5, handle)
    credentials = load_gateway_credentials(sessions)  # in demo mode too: no open broker
    url, handle = start_broker(settings, credentials)
    assert handle is not None  # noqa: S101 - no DHO_MQTT_URL: we started it
    return BrokerConnection(url, handle.protocol, handle)


class CredentialSync:
    """Keeps the embedded broker's password file in step with the gateways table.

    New registrations can log in and revoked gateways are disconnected within
    ``interval_s`` (Mosquitto re-reads its password file on SIGHUP).
    """

    def __init__(
        self,
        broker: EmbeddedBroker,
        sessions: sessionmaker[Session],
        interval_s: float = CREDENTIAL_SYNC_S,
    ) -> None:
        self._broker = broker
        self._sessions = sessions
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._last: list[BrokerCredential] | None = None
        self._thread = threading.Thread(target=self._run, name="dho-broker-logins", daemon=True)

    def start(self) -> None:
        self._last = load_gateway_credentials(self._sessions)
        self._thread.start()

    def sync(self) -> bool:
        """Reload the broker's logins if the gateways changed; whether they had."""
        current = load_gateway_credentials(self._sessions)
        if current == self._last:
            return False
        self._broker.update_credentials(current)
        self._last = current
        log.info("broker logins updated", extra={"gateways": len(current)})
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.sync()
            except Exception:
                log.exception("could not update the broker's logins; will retry")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._interval_s + 5)


# ----------------------------------------------------------------------------- API


class ApiServer:
    """uvicorn in a thread, so this process keeps its own signal handling and shutdown order."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=int(API_STOP_TIMEOUT_S),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="dho-api", daemon=True)
        self.host = host
        self.port = port

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + API_START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServiceError(
                    f"the API could not listen on {self.host}:{self.port} (is the port taken? "
                    "set DHO_API_PORT or --port)"
                )
            if time.monotonic() >= deadline:
                raise ServiceError(f"the API did not start within {API_START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        if self.port == 0:  # the system chose: report the real one
            sockets = [sock for server in self._server.servers for sock in server.sockets]
            self.port = int(sockets[0].getsockname()[1])
        log.info("API listening on http://%s:%d/api/v1", self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(API_STOP_TIMEOUT_S + 5)


# ----------------------------------------------------------------------------- ingest


def start_consumer(
    settings: Settings, sessions: sessionmaker[Session], broker: BrokerConnection
) -> IngestConsumer:
    """The MQTT ingest consumer, connecting (and reconnecting by itself) to ``broker``, in the
    MQTT version the broker speaks (3.1.1 for the amqtt demo broker)."""
    try:
        consumer = IngestConsumer(
            settings, sessions, BrokerAddress.from_url(broker.url), protocol=broker.protocol
        )
    except ValueError as err:  # a setting the broker cannot honour (a shared subscription)
        raise ServiceError(str(err)) from err
    consumer.start()
    return consumer


def consumer_health(consumer: IngestConsumer) -> Callable[[], tuple[bool, str]]:
    """The API's broker health: is the ingest consumer connected right now?"""

    def check() -> tuple[bool, str]:
        if consumer.connected:
            return True, "ingest connected"
        return False, "ingest is not connected to the broker (it keeps retrying)"

    return check


def consumer_progress(consumer: IngestConsumer) -> Callable[[], tuple[bool, str]]:
    """The API's ingest health: has the consumer committed what waits (within
    ``DHO_INGEST_STALL_AFTER_S``)?"""

    def check() -> tuple[bool, str]:
        stalled, detail = consumer.stalled()
        return not stalled, detail

    return check


# ----------------------------------------------------------------------------- signals


@contextmanager
def shutdown_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM (the previous handlers come back afterwards)."""
    event = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if event.is_set():
            log.warning("second %s: still shutting down in order", signal.Signals(signum).name)
        else:
            log.info("%s received: shutting down", signal.Signals(signum).name)
        event.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ----------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Parts:
    """Which parts this process runs."""

    ingest: bool = True
    jobs: bool = True
    api: bool = True


def run_service(
    settings: Settings,
    parts: Parts,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run ``parts`` until SIGINT/SIGTERM, then stop them in order."""
    with shutdown_requested() as stop, ExitStack() as stack:
        engine, sessions = open_database(settings)
        stack.callback(engine.dispose)
        broker: BrokerConnection | None = None
        if parts.ingest:
            broker = open_broker(settings, sessions)
            stack.callback(broker.stop)  # last out: after ingest has drained
            if broker.embedded is not None:
                sync = CredentialSync(broker.embedded, sessions)
                sync.start()
                stack.callback(sync.stop)
        if parts.jobs:
            from triage.jobs import build_scheduler

            scheduler = build_scheduler(sessions, settings)
            scheduler.start()
            stack.callback(_stop_scheduler, scheduler)
            log.info("scheduled jobs running")
        check: Callable[[], tuple[bool, str]] | None = None
        progress: Callable[[], tuple[bool, str]] | None = None
        if parts.ingest and broker is not None:
            consumer = start_consumer(settings, sessions, broker)
            stack.callback(_stop_consumer, consumer)
            check = consumer_health(consumer)
            progress = consumer_progress(consumer)
            log.info("ingest running (broker %s)", redact(broker.url))
            if not parts.api and settings.ingest_metrics_port:
                from triage.metrics_server import MetricsServer

                metrics = MetricsServer(
                    "0.0.0.0",  # noqa: S104 - scraped from the internal network (compose, k8s)
                    settings.ingest_metrics_port,
                    lambda: consumer.connected,
                    consumer.stalled,
                )
                metrics.start()
                stack.callback(metrics.stop)
        if parts.api:
            from triage.api.app import create_app

            app = create_app(settings, sessions, broker_check=check, ingest_check=progress)
            api = ApiServer(app, host, port)
            api.start()
            stack.callback(api.stop)  # first out: no new HTTP batches
        if ready is not None:
            ready()
        stop.wait()
        log.info("stopping")
    log.info("stopped")


def _stop_consumer(consumer: IngestConsumer) -> None:
    log.info("ingest: draining the batch in hand")
    consumer.stop()


def _stop_scheduler(scheduler: Any) -> None:
    log.info("scheduled jobs: waiting for a running job to finish")
    scheduler.shutdown(wait=True)


def run_broker(settings: Settings, announce: Callable[[str], None]) -> None:
    """Run the embedded broker alone until SIGINT/SIGTERM (``dho broker run``)."""
    if settings.mqtt_url:
        raise ServiceError(
            "DHO_MQTT_URL is set: this site uses its own broker, so there is no embedded one to "
            "run. Unset DHO_MQTT_URL to run the embedded broker."
        )
    with shutdown_requested() as stop, ExitStack() as stack:
        engine, sessions = open_database(settings)
        stack.callback(engine.dispose)
        broker = open_broker(settings, sessions)
        stack.callback(broker.stop)
        if broker.embedded is not None:
            sync = CredentialSync(broker.embedded, sessions)
            sync.start()
            stack.callback(sync.stop)
        announce(redact(broker.url))
        stop.wait()


# ----------------------------------------------------------------------------- site broker config


#: A given service password goes into DHO_MQTT_URL as it is, so only URL-safe characters.
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
MIN_SERVICE_PASSWORD = 16


def check_service_password(password: str) -> None:
    """Refuse a given service password that is short, or that would need escaping in a URL."""
    if len(password) < MIN_SERVICE_PASSWORD:
        raise ServiceError(
            f"the broker service password is too short: at least {MIN_SERVICE_PASSWORD} "
            "characters (e.g. `openssl rand -hex 24`)"
        )
    if not set(password) <= _URL_SAFE:
        raise ServiceError(
            "the broker service password goes into DHO_MQTT_URL: use letters, digits and "
            "- . _ ~ only (e.g. `openssl rand -hex 24`)"
        )


@dataclass(frozen=True)
class SiteBrokerConfig:
    """What ``dho broker config`` wrote."""

    files: BrokerFiles
    service_password_file: Path
    service_urls: list[str]  # one per service login (the probe's last), passwords redacted
    gateways: int
    owner: str | None  # the user the files were given to (run as root), else None


def write_site_broker_config(
    settings: Settings,
    out_dir: Path,
    *,
    port: int,
    bind_address: str,
    persistence_dir: Path,
    tls: TlsListener | None,
    run_as_user: str | None = None,
    service_password: str | None = None,
    worker_logins: Sequence[str] = (),
) -> SiteBrokerConfig:
    """Write a site Mosquitto's configuration from the registered gateways (``dho broker config``).

    The service logins are ``dho-service``, each of ``worker_logins`` (one per extra ingest
    worker: the broker uses the login as the client id) and ``dho-probe`` (health checks); they
    share one password: ``service_password`` when given (it must be URL-safe: it goes into
    ``DHO_MQTT_URL``), else reused from ``out_dir/service-password`` when that exists (so
    re-running after new registrations does not lock the running service out), else generated;
    it is written to ``out_dir/service-password`` (owner-only).

    Run as root, the files Mosquitto reads are given to the user it switches to (``run_as_user``,
    default ``mosquitto``): it re-reads them as that user on SIGHUP.
    """
    if service_password is not None:
        check_service_password(service_password)
    names = list(dict.fromkeys([SERVICE_USER, *worker_logins]))
    if PROBE_USER in names:
        raise ServiceError(f"{PROBE_USER} is the health-check login: name the worker otherwise")
    owner_name, owner = _mosquitto_owner(run_as_user)
    engine, sessions = open_database(settings)
    try:
        gateways = load_gateway_credentials(sessions)
    finally:
        engine.dispose()
    out_dir.mkdir(parents=True, exist_ok=True)
    password_file = out_dir / "service-password"
    if service_password is None and password_file.exists():
        service_password = password_file.read_text(encoding="utf-8").strip()
    if not service_password:
        service_password = secrets.token_urlsafe(24)
    write_private(password_file, service_password + "\n")
    services = [BrokerCredential(n, mosquitto_password_hash(service_password)) for n in names]
    probe = BrokerCredential(PROBE_USER, mosquitto_password_hash(service_password))
    options = MosquittoOptions(
        port=port,
        bind_address=bind_address,
        persistence_dir=persistence_dir,
        max_queued_messages=settings.broker_max_queued_messages,
        max_inflight_messages=max(1000, 2 * settings.ingest_batch_size),
        run_as_user=run_as_user,
        tls=tls,
    )
    files = write_broker_files(out_dir, options, gateways, services, probe=probe, owner=owner)
    host = "127.0.0.1" if bind_address in {"0.0.0.0", "::"} else bind_address  # noqa: S104
    urls = [
        MqttEndpoint(host, port, name, "***").url().replace("%2A%2A%2A", "***")
        for name in [*names, PROBE_USER]
    ]
    return SiteBrokerConfig(files, password_file, urls, len(gateways), owner_name)


def _mosquitto_owner(run_as_user: str | None) -> tuple[str | None, tuple[int, int] | None]:
    """Who Mosquitto's files should belong to: as root, the user Mosquitto switches to after
    reading its configuration (it re-reads the files as that user on SIGHUP; root-owned 0600
    files make the reload fail with "Unable to open config file"). Not root: nobody (ours)."""
    if os.geteuid() != 0:
        return None, None
    name = run_as_user or "mosquitto"
    try:
        entry = pwd.getpwnam(name)
    except KeyError as err:
        raise ServiceError(
            f"user {name!r} does not exist on this machine: Mosquitto started as root switches "
            "to it (--user names it; default mosquitto)"
        ) from err
    return name, (entry.pw_uid, entry.pw_gid)
