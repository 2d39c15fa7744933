"""The embedded MQTT broker ``dho`` starts when ``DHO_MQTT_URL`` names none.

Mosquitto when it is installed: a configuration generated into ``<data>/broker/`` (persistence,
``max_queued_messages`` sized for long outages, a raised in-flight window, a listener on
127.0.0.1), with the same password file and ACL as a site broker, in demo mode too. Otherwise,
in demo mode only, amqtt in-process, with plugins that apply the same logins and ACL
(:mod:`triage.broker.amqtt_plugins`): it speaks MQTT 3.1.1 only and was measured to stall
after ~68,500 QoS 1 messages, so it is never used outside demo mode. Its limits
(docs/operator-broker.md): everything is in memory (a restart forgets sessions, queues and
retained messages), and a QoS 1 message it sent that was not acknowledged within 5 s, or before
the connection dropped, is not sent again — the gateways' outboxes make up for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from triage.broker.endpoint import (
    BrokerUnavailableError,
    MqttEndpoint,
    MqttProtocol,
    redact,
    wait_for_broker,
)
from triage.broker.mosquitto_config import (
    PROBE_USER,
    SERVICE_USER,
    BrokerConfigError,
    BrokerCredential,
    MosquittoOptions,
    check_gateway_username,
    render_password_file,
    write_broker_files,
    write_private,
)
from triage.broker.passwords import mosquitto_password_hash

if TYPE_CHECKING:
    from triage.config import Settings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
#: Where Mosquitto lives on Debian/Ubuntu when /usr/sbin is not on PATH (non-root users).
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin")
AMQTT_WARNING = (
    "Mosquitto is not installed: using the embedded pure-Python amqtt broker. It is for demos "
    "only — it speaks MQTT 3.1.1 only, keeps everything in memory and was measured to stall "
    "after ~68,500 QoS 1 messages. "
    "Install Mosquitto (apt-get install mosquitto) or set DHO_MQTT_URL before real use."
)


class BrokerStartError(RuntimeError):
    """The embedded broker could not start; the message says why and what to try."""


def find_mosquitto(executable: str) -> Path | None:
    """The Mosquitto executable named by ``executable`` (a path or a name on PATH or sbin)."""
    if not executable:
        return None
    if os.sep in executable:
        path = Path(executable)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which(executable) or shutil.which(executable, path=os.pathsep.join(_SBIN_DIRS))
    return Path(found) if found else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Backend(Protocol):
    url: str
    protocol: MqttProtocol

    def stop(self) -> None: ...

    def reload(self, gateways: Sequence[BrokerCredential]) -> None: ...


class EmbeddedBroker:
    """A broker owned by this process: ``start(settings) -> url`` … ``stop()``.

    ``kind`` says which one runs ("mosquitto" or "amqtt"); ``protocol`` which MQTT version
    clients must speak to it; ``update_credentials`` rewrites the password file (Mosquitto
    re-reads it and the ACL on SIGHUP and disconnects logins that are no longer valid).
    """

    def __init__(self) -> None:
        self._backend: _Backend | None = None
        self.kind: str | None = None

    @property
    def url(self) -> str:
        if self._backend is None:
            raise RuntimeError("the embedded broker is not running")
        return self._backend.url

    @property
    def protocol(self) -> MqttProtocol:
        if self._backend is None:
            raise RuntimeError("the embedded broker is not running")
        return self._backend.protocol

    @property
    def running(self) -> bool:
        return self._backend is not None

    def start(self, settings: Settings, gateways: Sequence[BrokerCredential] = ()) -> str:
        """Start Mosquitto (or amqtt in demo mode), wait until it answers, return its URL.

        ``gateways`` are the gateways' logins (in demo mode too: no broker takes anonymous
        clients); the URL is the service login's (``dho-service``).
        """
        if self._backend is not None:
            return self._backend.url
        executable = find_mosquitto(settings.mosquitto_path)
        if executable is not None:
            self._backend = _MosquittoBackend.start(executable, settings, gateways)
            self.kind = "mosquitto"
        elif settings.demo:
            log.warning(AMQTT_WARNING)
            self._backend = _AmqttBackend.start(settings, gateways)
            self.kind = "amqtt"
        else:
            raise BrokerStartError(
                f"no MQTT broker: DHO_MQTT_URL is not set and Mosquitto was not found "
                f"(DHO_MOSQUITTO_PATH={settings.mosquitto_path!r}). Install Mosquitto "
                "(apt-get install mosquitto) or point DHO_MQTT_URL at your broker; the "
                "pure-Python fallback broker is for demos only (DHO_DEMO=true)."
            )
        log.info("embedded MQTT broker (%s) ready at %s", self.kind, redact(self._backend.url))
        return self._backend.url

    def update_credentials(self, gateways: Sequence[BrokerCredential]) -> None:
        """Replace the gateway logins (new registrations, revocations) without a restart."""
        if self._backend is not None:
            self._backend.reload(gateways)

    def stop(self) -> None:
        """Stop the broker (Mosquitto saves its queue to disk first). Idempotent."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
            log.info("embedded MQTT broker (%s) stopped", self.kind)


def start_broker(
    settings: Settings, gateways: Sequence[BrokerCredential] = ()
) -> tuple[str, EmbeddedBroker | None]:
    """The broker URL to use and, when we started one, its handle (``stop()`` it at the end).

    With ``DHO_MQTT_URL`` set, that broker is used as is (no handle); otherwise the embedded
    broker starts.
    """
    if settings.mqtt_url:
        MqttEndpoint.parse(settings.mqtt_url)  # a bad URL fails here, with a clear message
        return settings.mqtt_url, None
    broker = EmbeddedBroker()
    return broker.start(settings, gateways), broker


# ----------------------------------------------------------------------------- Mosquitto


class _MosquittoBackend:
    protocol = MqttProtocol.V5

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        url: str,
        folder: Path,
        logins: ServiceLogins,
        options: MosquittoOptions,
        log_file: IO[bytes],
    ) -> None:
        self._process = process
        self.url = url
        self._folder = folder
        self._logins = logins
        self._options = options
        self._log_file = log_file

    @classmethod
    def start(
        cls, executable: Path, settings: Settings, gateways: Sequence[BrokerCredential]
    ) -> _MosquittoBackend:
        folder = (settings.data_dir / "broker").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        attempts = 1 if settings.broker_port else 3
        last_error: BrokerStartError | None = None
        for _ in range(attempts):
            port = settings.broker_port or free_port()
            try:
                return cls._start_on(executable, settings, gateways, folder, port)
            except BrokerStartError as err:
                last_error = err
                if "Address already in use" not in str(err):
                    break
        assert last_error is not None  # noqa: S101 - the loop ran at least once
        raise last_error

    @classmethod
    def _start_on(
        cls,
        executable: Path,
        settings: Settings,
        gateways: Sequence[BrokerCredential],
        folder: Path,
        port: int,
    ) -> _MosquittoBackend:
        options = MosquittoOptions(
            port=port,
            persistence_dir=folder,
            max_queued_messages=settings.broker_max_queued_messages,
            max_inflight_messages=max(1000, 2 * settings.ingest_batch_size),
            run_as_user=_current_user(),
        )
        logins = ServiceLogins.in_folder(folder, settings)
        conf = write_broker_files(
            folder, options, _usable(gateways), logins.services, probe=logins.probe
        ).conf
        url = logins.url("127.0.0.1", port)
        log_path = folder / "mosquitto.log"
        log_file = log_path.open("ab")
        start_offset = log_file.tell()
        try:
            process = subprocess.Popen(  # noqa: S603 - our own executable and config file
                [str(executable), "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C for dho reaches us, and we stop it in order
            )
        except OSError as err:
            log_file.close()
            raise BrokerStartError(f"cannot run {executable}: {err}") from err
        backend = cls(process, url, folder, logins, options, log_file)

        def died() -> str | None:
            if process.poll() is None:
                return None
            return f"Mosquitto exited with status {process.returncode}: " + _tail(
                log_path, start_offset
            )

        try:
            # as the probe login: a clean connection as dho-service would discard the service's
            # session (the login is the client id), with what the broker queued for it
            wait_for_broker(
                logins.url("127.0.0.1", port, PROBE_USER),
                START_TIMEOUT_S,
                MqttProtocol.V5,
                is_alive=died,
            )
        except BrokerUnavailableError as err:
            backend.stop()
            raise BrokerStartError(f"{err} (log: {log_path})") from err
        return backend

    def reload(self, gateways: Sequence[BrokerCredential]) -> None:
        logins = self._logins
        write_broker_files(
            self._folder, self._options, _usable(gateways), logins.services, probe=logins.probe
        )
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        try:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    log.warning("Mosquitto did not stop within %.0f s: killing it", STOP_TIMEOUT_S)
                    self._process.kill()
                    self._process.wait(STOP_TIMEOUT_S)
        finally:
            self._log_file.close()


class ServiceLogins:
    """The embedded broker's service logins: ``dho-service`` (the service's ingest), one per
    ``DHO_BROKER_WORKER_LOGINS`` name, and ``dho-probe`` (readiness checks), all with the
    password kept in ``service-password``."""

    def __init__(self, password: str, workers: Sequence[str] = ()) -> None:
        self.password = password
        self.services = [
            BrokerCredential(name, mosquitto_password_hash(password))
            for name in dict.fromkeys([SERVICE_USER, *workers])
        ]
        self.probe = BrokerCredential(PROBE_USER, mosquitto_password_hash(password))

    @classmethod
    def in_folder(cls, folder: Path, settings: Settings) -> ServiceLogins:
        return cls(_service_password(folder), settings.broker_worker_logins)

    def url(self, host: str, port: int, username: str = SERVICE_USER) -> str:
        return MqttEndpoint(host, port, username, self.password).url()


def _usable(gateways: Sequence[BrokerCredential]) -> list[BrokerCredential]:
    """The gateway logins that can go into the password file; the others are logged."""
    usable: list[BrokerCredential] = []
    for gateway in gateways:
        try:
            check_gateway_username(gateway.username)
            render_password_file([gateway])
        except BrokerConfigError as err:
            log.error(
                "gateway left out of the broker password file: %s",
                err,
                extra={"gateway_id": gateway.username},
            )
            continue
        usable.append(gateway)
    return usable


def _service_password(folder: Path) -> str:
    """The service login's password, kept in ``service-password`` (owner-only) across restarts
    so that ``dho ingest`` processes can be pointed at a ``dho broker run``."""
    path = folder / "service-password"
    try:
        password = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        password = ""
    if not password:
        password = secrets.token_urlsafe(24)
        write_private(path, password + "\n")
    return password


def _current_user() -> str | None:
    """Our user name, so Mosquitto started as root does not switch to user 'mosquitto'."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _tail(path: Path, offset: int, limit: int = 2000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return "(no log)"
    return text[-limit:] or "(nothing logged)"


# ----------------------------------------------------------------------------- amqtt


class _AmqttBackend:
    """amqtt in a thread of its own, on 127.0.0.1, demo mode only.

    The same logins as Mosquitto's (the password file in ``<data>/broker/passwd``, the service
    password in ``service-password``) and the same ACL, applied by
    :mod:`triage.broker.amqtt_plugins`; a client id must equal the login name.
    """

    protocol = MqttProtocol.V311

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        core: Any,
        url: str,
    ) -> None:
        self._loop = loop
        self._thread = thread
        self._core = core
        self.url = url
        self._logins: ServiceLogins
        self._password_file: Path

    @classmethod
    def start(cls, settings: Settings, gateways: Sequence[BrokerCredential]) -> _AmqttBackend:
        port = settings.broker_port or free_port()
        folder = (settings.data_dir / "broker").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        logins = ServiceLogins.in_folder(folder, settings)
        password_file = folder / "passwd"
        write_private(password_file, _amqtt_passwords(logins, gateways))
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        outcome: list[Any | BaseException] = []

        async def boot() -> None:
            from amqtt.broker import Broker  # type: ignore[import-untyped]

            core = Broker(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                    "plugins": {
                        "triage.broker.amqtt_plugins.DhoAuthPlugin": {
                            "password_file": str(password_file)
                        },
                        "triage.broker.amqtt_plugins.DhoTopicPlugin": {
                            "service_users": [c.username for c in logins.services]
                        },
                    },
                }
            )
            await core.start()
            outcome.append(core)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(boot())
            except BaseException as err:  # handed to the starting thread
                outcome.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="dho-amqtt-broker", daemon=True)
        thread.start()
        if not ready.wait(START_TIMEOUT_S) or not outcome:
            raise BrokerStartError(f"amqtt did not start within {START_TIMEOUT_S:.0f} s")
        result = outcome[0]
        if isinstance(result, BaseException):
            thread.join(STOP_TIMEOUT_S)
            loop.close()
            raise BrokerStartError(f"amqtt could not start on port {port}: {result}") from result
        backend = cls(loop, thread, result, logins.url("127.0.0.1", port))
        backend._logins, backend._password_file = logins, password_file
        try:
            wait_for_broker(
                logins.url("127.0.0.1", port, PROBE_USER), START_TIMEOUT_S, MqttProtocol.V311
            )
        except BrokerUnavailableError as err:
            backend.stop()
            raise BrokerStartError(str(err)) from err
        return backend

    def reload(self, gateways: Sequence[BrokerCredential]) -> None:
        """Rewrite the password file; the auth plugin re-reads it at the next login (amqtt
        keeps a revoked gateway's open connection until it drops)."""
        write_private(self._password_file, _amqtt_passwords(self._logins, gateways))

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._core.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        if not self._thread.is_alive():
            self._cancel_leftovers()
            self._loop.close()

    def _cancel_leftovers(self) -> None:
        pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())


def _amqtt_passwords(logins: ServiceLogins, gateways: Sequence[BrokerCredential]) -> str:
    return render_password_file([*logins.services, logins.probe, *_usable(gateways)])
