"""``dho demo``: the whole system on one machine, on embedded defaults, with a simulated population.

In order: the data folder (reused, or deleted with ``--reset``), the database (SQLite, migrated,
seeded once), the service (``dho serve`` in demo mode: embedded broker, ingest, jobs, API), the
emulated homes (``dho gateway run --emulate --homes``, several homes per process, each with its
own gateway id, outbox and MQTT login, publishing to the service's broker) and the dashboard
(Streamlit). Each start prints a line once its part answers. The demo also runs a mail sink (a
local SMTP server, in this process) that receives what the service sends — escalations of
unacknowledged reds to the demo centre's receivers, the GP's digest — and keeps each message as
an ``.eml`` file in ``<data folder>/mail`` (triage.demo.notifications). Ctrl-C or SIGTERM stops
the gateways, the dashboard, then the service — each in its own process group, so a Ctrl-C in
the terminal reaches only this process, which stops them in that order — and then the sink.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.emulate import HomesFile, HomeSpec
from triage.broker.embedded import free_port
from triage.broker.mosquitto_config import write_private
from triage.config import DEMO_SECRET, Settings
from triage.demo.history import add_history
from triage.demo.notifications import (
    MAIL_FOLDER,
    SMTP_PORT,
    email_base_url,
    mail_folder,
    seed_demo_notifications,
    start_mail_sink,
)
from triage.demo.population import (
    episodes,
    history_days,
    local_time,
    population,
    showcase_of,
)
from triage.demo.processes import Child, wait_until
from triage.demo.state import (
    STATE_FILE,
    DemoError,
    DemoState,
    check_seeded,
    load_state,
    save_state,
    seed_demo,
)
from triage.notify.smtp_sink import SmtpSink
from triage.service import ServiceError, open_database, shutdown_requested
from triage.storage.models import GatewayRow, PatientRow, ReadingRow

#: Homes per gateway process: one asyncio loop each, light enough for a 2-core laptop.
HOMES_PER_PROCESS = 20
SERVICE_START_S = 120.0
GATEWAYS_START_S = 180.0
DASHBOARD_START_S = 120.0
#: How long the homes, once online, may take to deliver a first reading.
FIRST_READINGS_S = 120.0
STOP_GATEWAYS_S = 30.0
STOP_DASHBOARD_S = 20.0
STOP_SERVICE_S = 60.0
#: The service's scheduled jobs first run this long after it starts: by then the homes have sent
#: their history, so no measurement counts as missing and no gateway as silent that is not.
JOBS_START_DELAY_S = 180
#: How often the dashboard's worklist refreshes by itself in the demo.
DASHBOARD_REFRESH_S = 15
#: How often the glucose meters are asked for new records (default 300 s: too slow for fast time).
GLUCOSE_POLL_S = 10.0
#: What a data folder made by the demo holds; --reset deletes nothing else.
_DEMO_ENTRIES = {
    STATE_FILE,
    f".{STATE_FILE}.tmp",
    "dho.sqlite3",
    "broker",
    "gateways",
    "logs",
    MAIL_FOLDER,
}
_CONDITION_NAMES = {
    "copd": "COPD",
    "heart_failure": "heart failure",
    "diabetes": "diabetes",
    "hypertension": "hypertension",
    "covid19": "COVID-19",
}


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    reset: bool = False
    patients: int = 40
    seed: int = 2026
    port: int = 8501
    api_port: int = 8000
    seconds_per_day: float = 120.0
    #: Home number i (0-based) serves its patient's tablet pages on ``tablet_port + i``; 0: none.
    tablet_port: int = 8600
    #: The mail sink's port on 127.0.0.1 (what the service sends lands there).
    smtp_port: int = SMTP_PORT


class StartInterruptedError(Exception):
    """Ctrl-C or SIGTERM while starting."""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the servers bind (uvicorn, Tornado): connections of a stopped run that linger in
        # TIME_WAIT do not count, only a process listening there
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without the settings that would point a part elsewhere (a
    site database or broker, another gateway or dashboard configuration), plus ``extra``."""
    dropped = ("DHO_DATABASE_URL", "DHO_MQTT_URL", "DHO_SECRET_KEY", "DHO_DATA_DIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped
        and not k.startswith(("DHO_GATEWAY_", "DHO_DASHBOARD_", "DHO_API_", "DHO_DEMO"))
    }
    env.update(extra)
    return env


class Demo:
    """One run of the demo; :meth:`run` returns the exit code."""

    def __init__(self, options: DemoOptions, echo: Callable[[str], None]) -> None:
        self.options = options
        self.echo = echo
        self.data_dir = options.data_dir.resolve()
        self.now = datetime.now(UTC)
        self.children: dict[str, Child] = {}
        self.gateways: list[Child] = []
        self.engine: Engine | None = None
        self.state: DemoState | None = None
        self.sink: SmtpSink | None = None
        self.stop_requested = threading.Event()

    # ------------------------------------------------------------------ the run

    def run(self) -> int:
        code = 0
        with shutdown_requested() as stop:
            self.stop_requested = stop
            try:
                self._start()
                self._banner()
                code = self._watch()
            except StartInterruptedError:
                self.echo("Ctrl-C: stopping the demo")
            except DemoError as err:
                self.echo(f"dho demo: {err}")
                code = 1
            finally:
                if not self._stop_all():
                    code = code or 1
                if self.engine is not None:
                    self.engine.dispose()
        if self.children:
            self.echo("demo stopped")
        return code

    def _start(self) -> None:
        o = self.options
        self._prepare_data_dir()
        for name, port, option in (
            ("API", o.api_port, "--api-port / DHO_DEMO_API_PORT"),
            ("dashboard", o.port, "--port / DHO_DEMO_PORT"),
            ("mail sink", o.smtp_port, "--smtp-port / DHO_DEMO_SMTP_PORT"),
        ):
            if not _port_free(port):
                raise DemoError(
                    f"port {port} for the {name} is taken (another demo or `dho serve`?): stop "
                    f"it, or choose another port with {option}"
                )
        sessions = self._open_database()
        first_run = self._seed_or_reuse(sessions)
        self._seed_notifications(sessions)
        if self.stop_requested.is_set():
            raise StartInterruptedError
        self._start_mail_sink()
        broker_port = free_port()
        broker_kind = self._start_service(broker_port)
        self._start_gateways(broker_port, broker_kind, first_run, sessions)
        self._start_dashboard()

    # ------------------------------------------------------------------ data folder

    def _prepare_data_dir(self) -> None:
        path = self.data_dir
        if self.options.reset and path.exists():
            strangers = sorted(p.name for p in path.iterdir() if p.name not in _DEMO_ENTRIES)
            if strangers:
                raise DemoError(
                    f"--reset would delete {path}, but it holds files the demo did not make "
                    f"({', '.join(strangers[:5])}): move them, or choose another folder "
                    "(--data-dir / DHO_DEMO_DATA_DIR)"
                )
            self.echo(
                f"--reset: deleting {path} (the earlier demo's patients, readings and logins)"
            )
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "logs").mkdir(exist_ok=True)

    def _settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=None,
            mqtt_url=None,
            demo=True,
            secret_key=DEMO_SECRET,
        )

    def _open_database(self) -> sessionmaker[Session]:
        try:
            self.engine, sessions = open_database(self._settings())
        except ServiceError as err:
            raise DemoError(str(err)) from err
        self.echo(f"database ready ({self.data_dir / 'dho.sqlite3'})")
        return sessions

    def _seed_or_reuse(self, sessions: sessionmaker[Session]) -> bool:
        """Seed at the first start; True when it did."""
        o = self.options
        state = load_state(self.data_dir)
        if state is not None:
            with sessions() as session:
                check_seeded(session, state)
            self.state = state
            self.echo(
                f"{len(state.patients)} patients from the last run, reused "
                f"({self._mix(state)}; `dho demo --reset` starts over)"
            )
            if o.patients != len(state.patients) or o.seed != state.seed:
                self.echo(
                    f"  note: --patients {o.patients} / --seed {o.seed} apply to a new demo: "
                    "add --reset to start over with them"
                )
            return False
        with sessions() as session:
            if session.scalar(select(func.count()).select_from(PatientRow)):
                raise DemoError(
                    f"{self.data_dir} holds a database with patients the demo did not seed: "
                    "choose another folder (--data-dir / DHO_DEMO_DATA_DIR) or add --reset"
                )
        self.echo(f"seeding {o.patients} simulated patients …")
        people = population(o.patients, o.seed, local_time(self.now).date())
        with sessions.begin() as session:
            state = seed_demo(session, people, o.seed, self.now)
            add_history(session, state, o.seed, self.now)  # issue 18: weeks for the programme
        save_state(self.data_dir, state)
        self.state = state
        self.echo(f"{len(state.patients)} patients seeded ({self._mix(state)})")
        return True

    @staticmethod
    def _mix(state: DemoState) -> str:
        counts: dict[str, int] = {}
        for p in state.patients:
            counts[p.condition.value] = counts.get(p.condition.value, 0) + 1
        return ", ".join(f"{n} {_CONDITION_NAMES.get(c, c)}" for c, n in counts.items())

    def _seed_notifications(self, sessions: sessionmaker[Session]) -> None:
        """The demo centre's receivers (through this start's sink port) and the GP's digest
        address, at every start (nothing doubled)."""
        assert self.state is not None  # noqa: S101 - seeded or loaded before
        with sessions.begin() as session:
            added = seed_demo_notifications(session, self.state, self.options.smtp_port, self.now)
        if added:
            self.echo(f"{added} notification receivers set up for the demo centre (mail)")

    def _start_mail_sink(self) -> None:
        port = self.options.smtp_port
        try:
            self.sink = start_mail_sink(self.data_dir, port)
        except (OSError, RuntimeError) as err:
            raise DemoError(
                f"the mail sink could not listen on 127.0.0.1:{port} ({err}): choose another "
                "port with --smtp-port / DHO_DEMO_SMTP_PORT"
            ) from err
        self.echo(f"mail sink on 127.0.0.1:{port} (mail in {mail_folder(self.data_dir)})")

    # ------------------------------------------------------------------ parts

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(
            name, argv, child_env(env), self.data_dir / "logs" / f"{name}.log", self.data_dir
        )
        child.start()
        self.children[name] = child
        return child

    def _wait(
        self, children: list[Child], ready: Callable[[], bool], timeout_s: float, what: str
    ) -> None:
        """Wait until ``ready``; a child that ends, a timeout or Ctrl-C ends the start."""
        why = wait_until(
            ready,
            timeout_s,
            interrupted=self.stop_requested.is_set,
            alive=lambda: all(child.running() for child in children),
        )
        if why is None:
            return
        if why == "interrupted":
            raise StartInterruptedError
        child = next((c for c in children if not c.running()), children[0])
        if why == "exited":
            raise DemoError(
                f"the {what} stopped while starting (exit {child.exit_code()}); the end of its "
                f"log ({child.log}):\n{child.tail()}"
            )
        raise DemoError(
            f"the {what} did not start within {timeout_s:.0f} s; the end of its log "
            f"({child.log}):\n{child.tail()}"
        )

    def _start_service(self, broker_port: int) -> str:
        """Start ``dho serve``; which embedded broker it runs ("mosquitto" or "amqtt")."""
        o = self.options
        self.echo(f"starting the service (API port {o.api_port}) …")
        service = self._spawn(
            "service",
            [
                sys.executable,
                "-m",
                "triage",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(o.api_port),
            ],
            {
                "DHO_DEMO": "true",
                "DHO_DATA_DIR": str(self.data_dir),
                "DHO_BROKER_PORT": str(broker_port),
                "DHO_JOBS_START_DELAY_S": str(JOBS_START_DELAY_S),
                # what the service sends goes to the sink; its links lead to this demo
                "DHO_NOTIFY_EMAIL_URL": email_base_url(o.smtp_port),
                "DHO_DASHBOARD_PUBLIC_URL": self.url,
                "DHO_API_PUBLIC_URL": f"http://127.0.0.1:{o.api_port}",
            },
        )
        health = f"http://127.0.0.1:{o.api_port}/api/v1/health"

        def ready() -> bool:
            try:
                answer = httpx.get(health, timeout=2.0)
                return answer.status_code == 200 and answer.json().get("status") == "ok"
            except (httpx.HTTPError, ValueError):
                return False

        self._wait([service], ready, SERVICE_START_S, "service")
        kind = re.search(
            r"embedded MQTT broker \((\w+)\) ready", service.log.read_text("utf-8", "replace")
        )
        broker_kind = kind.group(1) if kind else "mosquitto"
        self.echo(
            f"broker on 127.0.0.1:{broker_port} ({broker_kind}); "
            f"API on http://127.0.0.1:{o.api_port}/api/v1"
        )
        return broker_kind

    def _home_specs(self, first_run: bool) -> list[HomeSpec]:
        assert self.state is not None  # noqa: S101 - seeded or loaded before
        state = self.state
        since = state.last_stopped_at or state.created_at
        days_away = (self.now - since).total_seconds() / 86_400
        showcase = showcase_of(state.patients)
        specs = []
        for patient in state.patients:
            history = history_days(patient, first_run=first_run, days_away=days_away)
            specs.append(
                HomeSpec.model_validate(
                    {
                        "gateway_id": patient.gateway_id,
                        "secret": patient.gateway_secret,
                        "data_dir": self.data_dir / "gateways" / patient.gateway_id,
                        "patient_id": patient.sim_id,
                        "condition": patient.condition,
                        "seed": state.seed,
                        "episodes": episodes(
                            patient,
                            state.seed,
                            history,
                            showcase.get(patient.number),
                            local_time(self.now),
                        ),
                        "history_days": history,
                        "address_block": patient.number,
                    }
                )
            )
        return specs

    def _start_gateways(
        self, broker_port: int, broker_kind: str, first_run: bool, sessions: sessionmaker[Session]
    ) -> None:
        o = self.options
        specs = self._home_specs(first_run)
        chunks = math.ceil(len(specs) / HOMES_PER_PROCESS)
        size = math.ceil(len(specs) / chunks)
        folder = self.data_dir / "gateways"
        folder.mkdir(exist_ok=True)
        self.echo(f"starting {len(specs)} emulated homes in {chunks} gateway processes …")
        for number in range(chunks):
            homes = HomesFile(homes=specs[number * size : (number + 1) * size])
            path = folder / f"homes-{number + 1}.json"
            write_private(path, homes.dump())
            self.gateways.append(
                self._spawn(
                    f"gateways-{number + 1}",
                    [
                        sys.executable,
                        "-m",
                        "gateway",
                        "run",
                        "--emulate",
                        "--homes",
                        str(path),
                        "--seconds-per-day",
                        repr(o.seconds_per_day),
                    ],
                    {
                        "DHO_GATEWAY_MQTT_HOST": "127.0.0.1",
                        "DHO_GATEWAY_MQTT_PORT": str(broker_port),
                        "DHO_GATEWAY_POLL_EVERY_S": str(GLUCOSE_POLL_S),
                        # amqtt (no Mosquitto on this machine) speaks MQTT 3.1.1 only
                        "DHO_GATEWAY_MQTT_PROTOCOL": "3.1.1" if broker_kind == "amqtt" else "5",
                        # the gateway serves home j of this file on this port + j (docs/tablet.md)
                        "DHO_GATEWAY_TABLET_PORT": (
                            str(o.tablet_port + number * size) if o.tablet_port else "0"
                        ),
                    },
                )
            )
        ids = [spec.gateway_id for spec in specs]

        def online() -> int:
            with sessions() as session:
                rows = session.execute(
                    select(GatewayRow.online, GatewayRow.last_seen_at).where(GatewayRow.id.in_(ids))
                ).all()
            return sum(1 for up, seen in rows if up and seen is not None and seen >= self.now)

        self._wait(self.gateways, lambda: online() == len(ids), GATEWAYS_START_S, "emulated homes")

        def received() -> int:
            with sessions() as session:
                count = select(func.count()).select_from(ReadingRow)
                return session.scalar(count.where(ReadingRow.received_at >= self.now)) or 0

        # the first readings follow within seconds (history, or the first live measurements)
        self._wait(self.gateways, lambda: received() > 0, FIRST_READINGS_S, "emulated homes")
        with sessions() as session:
            readings = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
        self.echo(
            f"gateways publishing: {len(ids)} homes online, {readings:,} readings stored so far"
        )

    def _start_dashboard(self) -> None:
        o = self.options
        spec = find_spec("dashboard")
        if spec is None or not spec.submodule_search_locations:
            raise DemoError("the dashboard package is not installed (pip install -e .)")
        app = Path(next(iter(spec.submodule_search_locations))) / "streamlit_app.py"
        self.echo(f"starting the dashboard (port {o.port}) …")
        dashboard = self._spawn(
            "dashboard",
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(app),
                "--server.headless=true",
                f"--server.port={o.port}",
                "--server.address=127.0.0.1",
                "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false",
                "--global.developmentMode=false",
                "--client.toolbarMode=viewer",
            ],
            {
                "DHO_DASHBOARD_API_URL": f"http://127.0.0.1:{o.api_port}",
                "DHO_DASHBOARD_REFRESH_SECONDS": str(DASHBOARD_REFRESH_S),
            },
        )

        def ready() -> bool:
            try:
                return httpx.get(f"{self.url}/_stcore/health", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait([dashboard], ready, DASHBOARD_START_S, "dashboard")
        self.echo(f"dashboard at {self.url}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.options.port}"

    # ------------------------------------------------------------------ running

    def _banner(self) -> None:
        assert self.state is not None  # noqa: S101
        nurse, gp = self.state.login("nurse"), self.state.login("gp")
        minutes = self.options.seconds_per_day / 60
        self.echo("")
        self.echo(f"DHO demo running — open {self.url} and log in (demo mode only):")
        self.echo(f"  nurse (sykepleier): {nurse.username} / {nurse.password}")
        self.echo(f"  GP (fastlege):      {gp.username} / {gp.password}")
        lead = self.state.lead_login()
        if lead is not None:
            self.echo(f"  lead (leder):       {lead.username} / {lead.password}")
        self.echo(
            f"Time runs fast: one simulated day every {minutes:g} min; the first red patients "
            "reach the top of the worklist within a few minutes."
        )
        tablet = self.tablet_link()
        if tablet is not None:
            self.echo(
                f"The patient's tablet (pasientens nettbrett) of {tablet[0]}: {tablet[1]} "
                f"(home number i of {len(self.state.patients)} at port {self.options.tablet_port}"
                " + i)."
            )
        self.echo(
            "Mail the service sends (unacknowledged reds to the demo centre's receivers, the "
            f"GP's daily digest) lands in {mail_folder(self.data_dir)} as .eml files; the nurse "
            "sees each message under «Sendte varsler»."
        )
        self.echo(
            f"Logs: {self.data_dir / 'logs'}. Ctrl-C stops the demo; the data stay for next time."
        )
        self.echo("")

    def tablet_link(self) -> tuple[str, str] | None:
        """The name and tablet address of the first patient with a scripted deterioration (a
        red reaches that tablet within minutes), or None when the tablets are off."""
        assert self.state is not None  # noqa: S101
        if not self.options.tablet_port or not self.state.patients:
            return None
        showcase = showcase_of(self.state.patients)
        index = next((i for i, p in enumerate(self.state.patients) if p.number in showcase), 0)
        patient = self.state.patients[index]
        return patient.display_name, f"http://127.0.0.1:{self.options.tablet_port + index}"

    def _watch(self) -> int:
        """Until Ctrl-C: a part that ends by itself ends the demo (exit 1). Once a minute the
        state file notes that the demo still runs, so that after a crash the next start knows
        how long it was away."""
        seconds = 0
        while not self.stop_requested.wait(1.0):
            seconds += 1
            if seconds % 60 == 0:
                self._note_running()
            for child in self.children.values():
                code = child.exit_code()
                if code is not None:
                    self.echo(
                        f"dho demo: the {child.name} stopped unexpectedly (exit {code}); the end "
                        f"of its log ({child.log}):\n{child.tail()}"
                    )
                    return 1
        self.echo("stopping the demo …")
        return 0

    def _stop_all(self) -> bool:
        """Stop the gateways (all at once), the dashboard, then the service; True when each
        stopped by itself.

        SIGTERM for each: a running part stops in order on it and exits 0 (as on Ctrl-C); a part
        still starting, before it listens for it, just ends (-15) — it had nothing to finish."""
        groups = [
            ("gateways", self.gateways, STOP_GATEWAYS_S),
            (
                "dashboard",
                [c for n, c in self.children.items() if n == "dashboard"],
                STOP_DASHBOARD_S,
            ),
            ("service", [c for n, c in self.children.items() if n == "service"], STOP_SERVICE_S),
        ]
        clean = True
        for label, children, timeout in groups:
            running = [c for c in children if c.running()]
            if running:
                self.echo(f"  stopping the {label} …")
            for child in running:
                child.send(signal.SIGTERM)
            for child in children:
                code = child.stop(signal.SIGTERM, timeout)
                if child in running and code not in (0, -signal.SIGTERM):
                    clean = False
                    self.echo(f"  the {child.name} ended with exit {code} (its log: {child.log})")
        if self.sink is not None:
            # after the service: nothing sends any more
            self.sink.stop()
            self.sink = None
        if self.children:
            self._note_running()
        return clean

    def _note_running(self) -> None:
        """Keep in the state file that the demo ran until now (its last stop, so far)."""
        if self.state is not None:
            self.state = self.state.model_copy(update={"last_stopped_at": datetime.now(UTC)})
            save_state(self.data_dir, self.state)


def run_demo(options: DemoOptions, echo: Callable[[str], None]) -> int:
    """Run the demo until Ctrl-C / SIGTERM; the exit code."""
    return Demo(options, echo).run()
