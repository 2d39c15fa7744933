"""Mosquitto configuration, ACL and password file for DHO, rendered from the registered gateways.

One file set serves two uses: the embedded broker (``dho serve`` / ``dho broker run`` write it
into the data folder on every start) and a site's own Mosquitto (``dho broker config --out``).
The example in ``deploy/mosquitto/`` is this module's output (a test keeps them equal).

Why these settings (see docs/operator-broker.md):

* ``max_queued_messages`` — Mosquitto's default of 1000 *silently drops* QoS 1 messages for an
  offline persistent session beyond the limit. While the triage service is down, every
  gateway's readings queue in the service's session, so the limit is sized for the longest
  tolerated outage; ``max_queued_bytes 0`` leaves the count as the only limit.
* ``max_inflight_messages`` — the service holds PUBACKs until its batch is committed, so the
  in-flight window caps throughput at window ÷ flush interval; it is raised past the batch size.
* ``autosave_interval`` — a crash loses what was queued since the last save (the gateways'
  outboxes resend it; a short interval keeps the resend small).
* per-gateway passwords and an ACL: a gateway writes only below ``dho/v1/<its id>/`` and reads
  only its own receipts and tablet state; the service logins read every gateway's topics and
  write receipts and tablet states.
* ``use_username_as_clientid`` on every listener: the broker replaces the client id a client
  sends with its login name, so no login can take over (or discard) another login's persistent
  session — a gateway that sends the ingest worker's client id gets its own session. Every
  process of the service that connects therefore has a login of its own (``dho-service``, one
  per extra ingest worker, and ``dho-probe`` for health checks); logins starting with ``dho-``
  belong to the service and are never a gateway's.
* No anonymous clients, ever (the demo included): the demo broker has the same password file and
  ACL as production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

SERVICE_USER = "dho-service"
#: The login for health checks (``dho probe mqtt``, the compose health check): it holds no
#: session anyone needs and may read only ``$SYS/broker/uptime``.
PROBE_USER = "dho-probe"
#: Logins with this prefix belong to the service; a gateway id never starts with it.
SERVICE_PREFIX = "dho-"
DEFAULT_MAX_QUEUED_MESSAGES = 100_000
DEFAULT_AUTOSAVE_INTERVAL_S = 60
DEFAULT_SESSION_EXPIRY = "30d"
MAX_PACKET_BYTES = 262_144

#: Usernames become topic levels (``%u``) and password-file keys: no MQTT wildcards, no
#: separators, no colon.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class BrokerConfigError(ValueError):
    """A username or setting that cannot go into a Mosquitto configuration safely."""


@dataclass(frozen=True)
class BrokerCredential:
    """One broker login: a username and its ``$7$`` password-file hash."""

    username: str
    password_hash: str


@dataclass(frozen=True)
class TlsListener:
    """A TLS listener for gateways outside the machine (certificate files on the broker host)."""

    port: int
    certfile: Path
    keyfile: Path
    bind_address: str = "0.0.0.0"  # noqa: S104 - a public listener is the point of TLS here


@dataclass(frozen=True)
class MosquittoOptions:
    """What goes into ``mosquitto.conf``."""

    port: int
    bind_address: str = "127.0.0.1"
    persistence_dir: Path | None = None
    password_file: Path | None = None  # required to render: no broker without passwords
    acl_file: Path | None = None
    max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES
    max_inflight_messages: int = 1000
    autosave_interval_s: int = DEFAULT_AUTOSAVE_INTERVAL_S
    session_expiry: str = DEFAULT_SESSION_EXPIRY
    run_as_user: str | None = None
    tls: TlsListener | None = None


def check_username(username: str) -> str:
    """``username`` if it is safe as a topic level and password-file key, else an error."""
    if not _USERNAME.fullmatch(username):
        raise BrokerConfigError(
            f"{username!r} cannot be a broker username: use 1–64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit (it becomes a topic level in dho/v1/<id>/)"
        )
    return username


def check_service_username(username: str) -> str:
    """``username`` if it can be a service login (it starts with ``dho-``), else an error."""
    check_username(username)
    if not username.startswith(SERVICE_PREFIX):
        raise BrokerConfigError(
            f"{username!r} cannot be a service login: service logins start with "
            f"{SERVICE_PREFIX!r} (gateway ids never do)"
        )
    return username


def check_gateway_username(username: str) -> str:
    """``username`` if it can be a gateway's login, else an error (``dho-`` is the service's)."""
    check_username(username)
    if username.startswith(SERVICE_PREFIX):
        raise BrokerConfigError(
            f"a gateway is called {username!r}: logins starting with {SERVICE_PREFIX!r} belong "
            "to the service (the broker uses the login as the client id, so a gateway with such "
            "a name could take a service process's session over): give it another id"
        )
    return username


def render_mosquitto_conf(options: MosquittoOptions) -> str:
    """The text of ``mosquitto.conf`` for ``options``."""
    if options.max_queued_messages < 1 or options.max_inflight_messages < 1:
        raise BrokerConfigError("max_queued_messages and max_inflight_messages must be ≥ 1")
    lines = [
        "# Mosquitto 2.0 configuration for DHO, generated by `dho broker config`.",
        "# Why each setting is what it is: docs/operator-broker.md.",
        "",
        "per_listener_settings false",
    ]
    if options.run_as_user:
        lines += [f"user {options.run_as_user}"]
    lines += [
        "",
        "# Persistence: queued QoS 1 messages and sessions survive a restart. A crash loses what",
        "# was queued since the last save; the gateways' outboxes resend it (no receipt yet).",
    ]
    if options.persistence_dir is not None:
        lines += [
            "persistence true",
            f"persistence_location {_directory(options.persistence_dir)}",
            f"autosave_interval {options.autosave_interval_s}",
        ]
    else:
        lines += ["persistence false"]
    lines += [
        f"persistent_client_expiration {options.session_expiry}",
        "",
        "# The default (1000) silently drops QoS 1 messages for an offline persistent session",
        "# beyond the limit: while the service is down, all readings queue in its session.",
        f"max_queued_messages {options.max_queued_messages}",
        "max_queued_bytes 0",
        "# The service acknowledges after its database commit: the window must exceed a batch.",
        f"max_inflight_messages {options.max_inflight_messages}",
        "max_inflight_bytes 0",
        f"max_packet_size {MAX_PACKET_BYTES}",
        "set_tcp_nodelay true",
        "",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "",
        "# Plain MQTT for the service and local tools, on this machine only.",
        f"listener {options.port} {options.bind_address}",
        "protocol mqtt",
        "# The login name is the client id: no login can take over another's session.",
        "use_username_as_clientid true",
    ]
    if options.tls is not None:
        tls = options.tls
        lines += [
            "",
            "# Gateways connect over TLS from outside.",
            f"listener {tls.port} {tls.bind_address}",
            "protocol mqtt",
            "use_username_as_clientid true",
            f"certfile {tls.certfile}",
            f"keyfile {tls.keyfile}",
            "tls_version tlsv1.2",
        ]
    if options.password_file is None or options.acl_file is None:
        raise BrokerConfigError(
            "a broker configuration needs a password file and an ACL: anonymous clients are "
            "never allowed (not in demo mode either)"
        )
    lines += [
        "",
        "# One login per gateway (username = gateway id) and per service process; an ACL that",
        "# confines each gateway to dho/v1/<its id>/.",
        "allow_anonymous false",
        f"password_file {options.password_file}",
        f"acl_file {options.acl_file}",
    ]
    return "\n".join(lines) + "\n"


def render_acl(
    service_users: Sequence[str] = (SERVICE_USER,), probe_user: str | None = PROBE_USER
) -> str:
    """The ACL: gateways confined to their own topics (``%u``), the service logins read and
    write receipts, the probe login reads the broker's uptime only."""
    for name in [*service_users, *([probe_user] if probe_user else [])]:
        check_service_username(name)
    lines = [
        "# Mosquitto ACL for DHO, generated by `dho broker config`.",
        "# Anonymous clients (lines before any `user`) get nothing.",
        "",
        "# The triage service, one login per process that connects (the broker uses the login",
        "# as the client id): reads every gateway's readings, reports, status, call requests",
        "# and message reads; writes receipts and the tablet state. (Gateways' patterns below",
        "# also apply to it, under its own name, which no gateway may take.)",
    ]
    for name in service_users:
        lines += [
            f"user {name}",
            "topic read dho/v1/+/readings",
            "topic read dho/v1/+/reports",
            "topic read dho/v1/+/status",
            "topic read dho/v1/+/calls",
            "topic read dho/v1/+/message-reads",
            "topic write dho/v1/+/receipts",
            "topic write dho/v1/+/tablet",
            "",
        ]
    if probe_user:
        lines += [
            "# Health checks: the login works and the ACL is loaded; nothing else.",
            f"user {probe_user}",
            "topic read $SYS/broker/uptime",
            "",
        ]
    lines += [
        "# Every gateway (username = gateway id): writes only below its own dho/v1/<id>/,",
        "# reads only its own receipts and tablet state.",
        "pattern write dho/v1/%u/readings",
        "pattern write dho/v1/%u/reports",
        "pattern write dho/v1/%u/status",
        "pattern write dho/v1/%u/calls",
        "pattern write dho/v1/%u/message-reads",
        "pattern read dho/v1/%u/receipts",
        "pattern read dho/v1/%u/tablet",
    ]
    return "\n".join(lines) + "\n"


def render_password_file(credentials: Iterable[BrokerCredential]) -> str:
    """``username:$7$…`` lines (Mosquitto 2.0 password-file format), one per credential."""
    lines: list[str] = []
    seen: set[str] = set()
    for credential in credentials:
        check_username(credential.username)
        if credential.username in seen:
            raise BrokerConfigError(f"two broker logins for {credential.username!r}")
        if not credential.password_hash.startswith("$7$") or any(
            c in credential.password_hash for c in ":\n\r"
        ):
            raise BrokerConfigError(
                f"the broker password entry of {credential.username!r} is not a $7$ hash"
            )
        seen.add(credential.username)
        lines.append(f"{credential.username}:{credential.password_hash}")
    return "".join(f"{line}\n" for line in lines)


@dataclass(frozen=True)
class BrokerFiles:
    """Where ``write_broker_files`` put things."""

    conf: Path
    acl: Path
    password_file: Path


def write_broker_files(
    out_dir: Path,
    options: MosquittoOptions,
    gateways: Sequence[BrokerCredential],
    services: Sequence[BrokerCredential],
    *,
    probe: BrokerCredential | None = None,
    owner: tuple[int, int] | None = None,
) -> BrokerFiles:
    """Write ``mosquitto.conf``, ``acl`` and ``passwd`` (owner-only) into ``out_dir``.

    ``services`` are the service processes' logins (each reads the gateways' topics and writes
    receipts), ``probe`` the health-check login. ``options.password_file``/``acl_file`` are
    replaced by the files written here (absolute paths: Mosquitto re-reads them on SIGHUP).
    ``owner`` (uid, gid): who the three files belong to — the user Mosquitto reads them as after
    it drops root; None keeps ours. A gateway may not take a service login's name.
    """
    if not services:
        raise BrokerConfigError("the broker needs at least one service login")
    for service in [*services, *([probe] if probe else [])]:
        check_service_username(service.username)
    for gateway in gateways:
        check_gateway_username(gateway.username)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir = out_dir.resolve()
    files = BrokerFiles(
        conf=out_dir / "mosquitto.conf", acl=out_dir / "acl", password_file=out_dir / "passwd"
    )
    logins = [*services, *([probe] if probe else []), *gateways]
    write_private(files.password_file, render_password_file(logins), owner)
    acl = render_acl([s.username for s in services], probe.username if probe else None)
    write_private(files.acl, acl, owner)
    conf_options = replace(options, password_file=files.password_file, acl_file=files.acl)
    write_private(files.conf, render_mosquitto_conf(conf_options), owner)
    return files


def write_private(path: Path, text: str, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (``owner``: uid and
    gid to give it, which needs root; None: ours)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)


def _directory(path: Path) -> str:
    text = str(path)
    return text if text.endswith("/") else f"{text}/"


# ----------------------------------------------------------------------------- shipped example

#: Where the shipped example (deploy/mosquitto/) expects things on a Debian/Ubuntu broker host.
EXAMPLE_DIR = Path("/etc/mosquitto/dho")


def example_site_options() -> MosquittoOptions:
    """The options behind ``deploy/mosquitto/mosquitto.conf`` (a site broker with TLS)."""
    return MosquittoOptions(
        port=1883,
        bind_address="127.0.0.1",
        persistence_dir=Path("/var/lib/mosquitto"),
        password_file=EXAMPLE_DIR / "passwd",
        acl_file=EXAMPLE_DIR / "acl",
        tls=TlsListener(
            port=8883,
            certfile=Path("/etc/mosquitto/certs/server.crt"),
            keyfile=Path("/etc/mosquitto/certs/server.key"),
        ),
    )


def render_example() -> dict[str, str]:
    """The files of ``deploy/mosquitto/`` (the password file is site-specific: not shipped)."""
    return {
        "mosquitto.conf": render_mosquitto_conf(example_site_options()),
        "acl": render_acl(),
    }


def write_example(folder: Path = Path("deploy/mosquitto")) -> None:
    """Regenerate the shipped example files in ``folder``."""
    for name, text in render_example().items():
        (folder / name).write_text(text, encoding="utf-8")
