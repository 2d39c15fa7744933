"""The ``dho`` command. Each subcommand here works today; later issues add the services."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

import devices
from devices.catalogue import load_catalogue
from devices.simulate import make_population, simulate_population
from gateway.cli import app as gateway_app
from triage import news2
from triage.broker.mosquitto_config import PROBE_USER
from triage.config import Settings
from triage.domain.classify import History, ImplausibleReadingError, classify
from triage.domain.plan import Condition, PlanVersion
from triage.domain.readings import Kind, Reading
from triage.domain.templates import template
from triage.payloads import simulated_line
from triage.texts.catalogue import language_of
from triage.texts.findings import reasons

app = typer.Typer(
    name="dho",
    help="DHO — digital hjemmeoppfølging: home-monitoring triage.",
    no_args_is_help=True,
    add_completion=False,
)
plan_app = typer.Typer(help="Self-management plans (egenbehandlingsplaner).", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
devices_app = typer.Typer(help="Bluetooth health devices: decode bytes, the catalogue.")
app.add_typer(plan_app, name="plan")
app.add_typer(docs_app, name="docs")
app.add_typer(devices_app, name="devices", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")


def _load_plan(path: Path) -> PlanVersion:
    try:
        return PlanVersion.from_json(path.read_bytes())
    except OSError as err:
        typer.echo(f"Cannot read plan file {path}: {err.strerror}", err=True)
        raise typer.Exit(2) from err
    except ValidationError as err:
        typer.echo(f"{path} is not a valid plan ({err.error_count()} problems):", err=True)
        for problem in err.errors():
            where = ".".join(str(p) for p in problem["loc"]) or "(plan)"
            typer.echo(f"  {where}: {problem['msg']}", err=True)
        raise typer.Exit(1) from err


@plan_app.command("template")
def plan_template(
    condition: Annotated[Condition, typer.Argument(help="The condition to start from.")],
) -> None:
    """Print the starting plan for CONDITION as JSON (a draft, version 1)."""
    typer.echo(json.dumps(json.loads(template(condition).to_json()), indent=2, ensure_ascii=False))


@plan_app.command("check")
def plan_check(
    path: Annotated[Path, typer.Argument(help="A plan JSON file (dho.plan/1).")],
) -> None:
    """Check that a plan file is valid, and summarise it."""
    plan = _load_plan(path)
    typer.echo(f"{path}: valid {plan.label} ({plan.status}) of plan {plan.plan_id}")
    for parameter, zones in plan.zones.items():
        bounds = [
            zones.red_low and f"red {zones.red_low.describe_low(parameter.unit)}",
            zones.yellow_low and f"yellow {zones.yellow_low.describe_low(parameter.unit)}",
            zones.yellow_high and f"yellow {zones.yellow_high.describe_high(parameter.unit)}",
            zones.red_high and f"red {zones.red_high.describe_high(parameter.unit)}",
        ]
        typer.echo(f"  {parameter.value}: " + ", ".join(b for b in bounds if b))
    for rule in plan.rules:
        typer.echo(f"  rule {rule.id} ({rule.type})")
    for item in plan.schedule.items:
        what = [k.value for k in item.kinds] + ([item.questionnaire] if item.questionnaire else [])
        days = ",".join(str(d) for d in item.days)
        typer.echo(
            f"  schedule: {', '.join(what)} by {item.due_by:%H:%M} on days {days} "
            f"({plan.schedule.timezone})"
        )


@app.command("classify")
def classify_command(
    plan_file: Annotated[Path, typer.Option("--plan", help="A plan JSON file.")],
    kind: Annotated[Kind, typer.Option(help="What was measured.")],
    value: Annotated[
        list[str], typer.Option("--value", help="key=number, e.g. spo2=92 (repeatable).")
    ],
    language: Annotated[str, typer.Option(help="nb or en.")] = "nb",
) -> None:
    """Classify one reading against a plan, with no history, and explain the colour."""
    plan = _load_plan(plan_file)
    values: dict[str, float] = {}
    for item in value:
        key, sep, number = item.partition("=")
        try:
            values[key.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep:
            typer.echo(f"--value {item!r}: expected key=number, e.g. spo2=92", err=True)
            raise typer.Exit(2)
    now = datetime.now(UTC)
    reading = Reading(id="cli", kind=kind, measured_at=now, values=values)
    try:
        result = classify(reading, plan, History(), now)
    except ImplausibleReadingError as err:
        typer.echo("Data error, not classified:", err=True)
        for problem in err.problems:
            typer.echo(f"  {problem.message}", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"{result.colour.value.upper()}")
    typer.echo(reasons(result.explained, language_of(language)))


@app.command("news2")
def news2_command(
    rr: Annotated[float, typer.Option("--rr", help="Respiration rate /min.")],
    spo2: Annotated[float, typer.Option(help="SpO2 %.")],
    sbp: Annotated[float, typer.Option("--sbp", help="Systolic blood pressure mmHg.")],
    pulse: Annotated[float, typer.Option(help="Pulse /min.")],
    temp: Annotated[float, typer.Option("--temp", help="Temperature °C.")],
    consciousness: Annotated[str, typer.Option(help="A, C, V, P or U.")] = "A",
    oxygen: Annotated[bool, typer.Option("--oxygen/--air", help="On supplemental oxygen?")] = False,
    scale: Annotated[int, typer.Option(help="SpO2 scale 1 or 2 (clinician-set).")] = 1,
) -> None:
    """Score NEWS2 (Royal College of Physicians 2017) for one set of observations."""
    try:
        result = news2.score(
            respiration_rate=rr,
            spo2=spo2,
            systolic_bp=sbp,
            pulse=pulse,
            temperature=temp,
            consciousness=consciousness,
            on_oxygen=oxygen,
            spo2_scale=scale,
        )
    except (ValueError, TypeError) as err:
        typer.echo(f"Cannot score NEWS2: {err}", err=True)
        raise typer.Exit(2) from err
    for name, points in result.scores.items():
        typer.echo(f"  {name:<16} {points}")
    typer.echo(f"NEWS2 {result.total} — risk {result.risk}")


@devices_app.command("decode")
def devices_decode(
    characteristic: Annotated[str, typer.Argument(help='e.g. "2a35" or a 128-bit UUID.')],
    hex_value: Annotated[str, typer.Argument(metavar="HEX", help="The raw value, in hex.")],
) -> None:
    """Decode one raw characteristic value (as captured from a device) and print it as JSON."""
    try:
        data = bytes.fromhex(hex_value.replace(":", "").replace(" ", ""))
    except ValueError as err:
        typer.echo(f"{hex_value!r} is not hex: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        measurement = devices.decode(characteristic, data)
    except devices.DecodeError as err:
        typer.echo(f"Cannot decode: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(
        json.dumps(
            {"type": type(measurement).__name__, **measurement.model_dump(mode="json")},
            indent=2,
            ensure_ascii=False,
        )
    )


@devices_app.command("catalogue")
def devices_catalogue() -> None:
    """List the device profiles the gateway recognises, and the known models' quirks."""
    catalogue = load_catalogue()
    for profile in catalogue.profiles:
        subscriptions = ", ".join(f"{c.uuid:04X} ({c.mode})" for c in profile.subscriptions)
        records = "; stored records via RACP" if profile.stores_records else ""
        typer.echo(f"{profile.service:04X} {profile.id} → {profile.kind}: {subscriptions}{records}")
    for model in catalogue.models:
        quirks = ", ".join(sorted(model.quirks)) or "none"
        typer.echo(f"  model {model.name_prefix}* ({model.manufacturer}): {quirks}")


@app.command("simulate")
def simulate_command(
    patients: Annotated[int, typer.Option(min=1, help="How many simulated patients.")] = 10,
    days: Annotated[int, typer.Option(min=1, help="How many days from --start.")] = 7,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 2026,
    start: Annotated[
        str, typer.Option(help="First day (YYYY-MM-DD), local midnight in Europe/Oslo.")
    ] = "2026-11-02",
) -> None:
    """Print a simulated population's readings and questionnaire answers as JSON lines.

    Each line names the synthetic patient, the topic (readings or reports) and the
    dho.reading/1 or dho.report/1 payload; the deterioration episodes go to standard error.
    """
    try:
        first = datetime.combine(date.fromisoformat(start), time(0), tzinfo=ZoneInfo("Europe/Oslo"))
    except ValueError as err:
        typer.echo(f"--start {start!r}: expected YYYY-MM-DD", err=True)
        raise typer.Exit(2) from err
    population = make_population(patients, seed=seed)
    for patient in population:
        for episode in patient.episodes:
            if episode.start_day < days:
                typer.echo(
                    f"{patient.id} ({patient.condition}): {episode.kind} from day "
                    f"{episode.start_day} for {episode.duration_days} days ({episode.severity})",
                    err=True,
                )
    for event in simulate_population(population, first, days):
        typer.echo(json.dumps(simulated_line(event), ensure_ascii=False))


@docs_app.command("openapi")
def docs_openapi() -> None:
    """Print docs/api/openapi.json, the API's OpenAPI document."""
    from triage.api.openapi_doc import render_openapi_json

    sys.stdout.write(render_openapi_json())


@docs_app.command("templates")
def docs_templates() -> None:
    """Print docs/clinical/templates.md, generated from the condition templates."""
    from triage.domain.template_docs import render_templates_markdown

    typer.echo(render_templates_markdown(), nl=False)


@docs_app.command("settings")
def docs_settings(
    write: Annotated[
        bool, typer.Option("--write", help="Rewrite the reference block in --file.")
    ] = False,
    file: Annotated[
        Path, typer.Option("--file", help="The page holding the block (with --write).")
    ] = Path("docs/operator.md"),
) -> None:
    """Print the configuration reference of docs/operator.md (every DHO_ variable), generated
    from the settings classes and the command line; --write puts it into the page."""
    from triage.settings_reference import render_settings_block, replace_block

    block = render_settings_block()
    if not write:
        typer.echo(block)
        return
    try:
        page = file.read_text(encoding="utf-8")
        file.write_text(replace_block(page, block), encoding="utf-8")
    except OSError as err:
        typer.echo(f"Cannot update {file}: {err.strerror}", err=True)
        raise typer.Exit(2) from err
    except ValueError as err:
        typer.echo(f"Cannot update {file}: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"updated the configuration reference in {file}")


@docs_app.command("fhir")
def docs_fhir(
    write: Annotated[
        bool, typer.Option("--write", help="Rewrite the generated parts of --file.")
    ] = False,
    file: Annotated[
        Path, typer.Option("--file", help="The page holding the parts (with --write).")
    ] = Path("docs/fhir.md"),
) -> None:
    """Print docs/fhir.md with its mapping table and examples made anew from the code (the
    one FHIR mapping, triage/fhir); --write puts them into the page."""
    from triage.fhir.docs import fill

    try:
        page = fill(file.read_text(encoding="utf-8"))
        if not write:
            typer.echo(page, nl=False)
            return
        file.write_text(page, encoding="utf-8")
    except OSError as err:
        typer.echo(f"Cannot update {file}: {err.strerror}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"updated the mapping table and the examples in {file}")


@docs_app.command("programme")
def docs_programme(
    write: Annotated[
        bool, typer.Option("--write", help="Rewrite the definitions block in --file.")
    ] = False,
    file: Annotated[
        Path, typer.Option("--file", help="The page holding the block (with --write).")
    ] = Path("docs/programme.md"),
) -> None:
    """Print the definitions of docs/programme.md (every figure and table of the programme
    view), generated from the code; --write puts them into the page."""
    from triage.programme.docs import render_programme_block, replace_block

    block = render_programme_block()
    if not write:
        typer.echo(block)
        return
    try:
        page = file.read_text(encoding="utf-8")
        file.write_text(replace_block(page, block), encoding="utf-8")
    except OSError as err:
        typer.echo(f"Cannot update {file}: {err.strerror}", err=True)
        raise typer.Exit(2) from err
    except ValueError as err:
        typer.echo(f"Cannot update {file}: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"updated the programme's definitions in {file}")


@docs_app.command("schemas")
def docs_schemas(
    out: Annotated[Path, typer.Option("--out", help="The folder for the schema files.")] = Path(
        "docs/contracts/schemas"
    ),
    gateway_out: Annotated[
        Path,
        typer.Option(help="The gateway's copies of the reading and report schemas."),
    ] = Path("gateway/schemas"),
) -> None:
    """Write the JSON Schemas of the MQTT and HTTP payloads (docs/contracts/schemas/*.json),
    generated from the models the service validates with, and the gateway's copies of the
    reading and report schemas (it checks a message against them before it keeps it)."""
    from triage.contract_schemas import write_gateway_schemas, write_schemas

    try:
        written, removed = write_schemas(out)
        written += write_gateway_schemas(gateway_out)
    except OSError as err:
        typer.echo(f"Cannot write the schemas: {err.strerror} ({err.filename})", err=True)
        raise typer.Exit(2) from err
    for path in written:
        typer.echo(f"wrote {path}")
    for path in removed:
        typer.echo(f"removed {path} (no such schema any more)")


# ----------------------------------------------------------------------------- the service

broker_app = typer.Typer(
    help="The MQTT broker: run the embedded one, or write a site Mosquitto's configuration.",
    no_args_is_help=True,
)
app.add_typer(broker_app, name="broker")

ApiHost = Annotated[
    str, typer.Option("--host", envvar="DHO_API_HOST", help="Address the API listens on.")
]
ApiPort = Annotated[
    int,
    typer.Option("--port", envvar="DHO_API_PORT", min=0, max=65535, help="Port of the API."),
]


def _service_settings() -> Settings:
    """Settings from the DHO_ environment; a refusal is printed plainly and exits 2."""
    try:
        return Settings()
    except ValidationError as err:
        typer.echo("dho cannot start: the settings are not valid:", err=True)
        for problem in err.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            where = "_".join(str(p) for p in problem["loc"]).upper()
            typer.echo(f"  {'DHO_' + where + ': ' if where else ''}{message}", err=True)
        raise typer.Exit(2) from err


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Start-up failures the operator can fix: the message, no traceback, exit 1."""
    from triage.broker import BrokerConfigError, BrokerStartError, BrokerUnavailableError
    from triage.service import ServiceError

    try:
        yield
    except (ServiceError, BrokerStartError, BrokerUnavailableError, BrokerConfigError) as err:
        typer.echo(f"dho: {err}", err=True)
        raise typer.Exit(1) from err


def _run(parts: tuple[bool, bool, bool], host: str, port: int) -> None:
    from triage.service import Parts, configure_logging, run_service

    settings = _service_settings()
    configure_logging()
    ingest, jobs, api = parts
    with _plain_errors():
        run_service(settings, Parts(ingest=ingest, jobs=jobs, api=api), host=host, port=port)


@app.command("serve")
def serve_command(host: ApiHost = "127.0.0.1", port: ApiPort = 8000) -> None:
    """Run the whole service in one process (small sites): ingest, scheduled jobs and the API.

    Waits for the database and migrates it; with no DHO_MQTT_URL it starts the embedded broker.
    Ctrl-C / SIGTERM stop it in order (in-flight batches are committed first).
    """
    _run((True, True, True), host, port)


@app.command("ingest")
def ingest_command() -> None:
    """Run MQTT ingest alone (larger sites run several; set DHO_MQTT_SHARED_GROUP)."""
    _run((True, False, False), "", 0)


@app.command("jobs")
def jobs_command() -> None:
    """Run the scheduled jobs alone: missing measurements, escalation, lost contact, the
    notification sender."""
    _run((False, True, False), "", 0)


@app.command("api")
def api_command(host: ApiHost = "127.0.0.1", port: ApiPort = 8000) -> None:
    """Run the HTTP API alone (larger sites: ingest and the jobs run as their own processes).

    Its health answer has no broker part: the ingest workers hold the MQTT connections.
    """
    _run((False, False, True), host, port)


@broker_app.command("run")
def broker_run_command() -> None:
    """Run the embedded broker alone (Mosquitto; amqtt in demo mode when Mosquitto is missing).

    Set DHO_BROKER_PORT so the other processes can find it; outside demo mode the service
    login's password is in <data>/broker/service-password.
    """
    from triage.service import configure_logging, run_broker

    settings = _service_settings()
    configure_logging()
    with _plain_errors():
        run_broker(settings, lambda url: typer.echo(f"MQTT broker running: {url}"))


@broker_app.command("config")
def broker_config_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the files.")],
    port: Annotated[int, typer.Option(help="Plain MQTT listener (service, local tools).")] = 1883,
    bind: Annotated[str, typer.Option(help="Address of the plain listener.")] = "127.0.0.1",
    persistence_dir: Annotated[
        Path, typer.Option(help="Mosquitto's persistence folder on the broker host.")
    ] = Path("/var/lib/mosquitto"),
    tls_port: Annotated[int, typer.Option(help="TLS listener for gateways.")] = 8883,
    tls_certfile: Annotated[
        Path | None, typer.Option(help="Server certificate (PEM); with --tls-keyfile.")
    ] = None,
    tls_keyfile: Annotated[Path | None, typer.Option(help="Its private key (PEM).")] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="The user Mosquitto switches to when started as root (default: mosquitto)."
        ),
    ] = None,
    service_password: Annotated[
        str | None,
        typer.Option(
            envvar="DHO_BROKER_SERVICE_PASSWORD",
            show_default=False,
            help="The service logins' password (prefer the environment variable); default: "
            "the one in OUT/service-password, or a new random one.",
        ),
    ] = None,
    worker_login: Annotated[
        list[str] | None,
        typer.Option(
            help="A service login for one more ingest worker (repeat it; names start with "
            "dho-, e.g. dho-ingest-1). The broker uses the login as the client id, so every "
            "process that connects needs its own.",
        ),
    ] = None,
) -> None:
    """Write mosquitto.conf, acl and passwd for a site's Mosquitto from the registered gateways.

    Each gateway logs in with its id and secret and may write only below dho/v1/<its id>/;
    the service logs in as dho-service, each --worker-login, and dho-probe for health checks
    (one password: OUT/service-password, kept on re-runs). The broker uses the login as the
    client id, so no login can take over another's session. Run it again after registering or
    revoking gateways, then reload Mosquitto (SIGHUP). Run as root, the files are given to
    --user (Mosquitto re-reads them as that user).
    """
    from triage.broker import TlsListener
    from triage.service import write_site_broker_config

    if (tls_certfile is None) != (tls_keyfile is None):
        typer.echo("--tls-certfile and --tls-keyfile go together", err=True)
        raise typer.Exit(2)
    tls = (
        TlsListener(tls_port, tls_certfile, tls_keyfile)
        if tls_certfile is not None and tls_keyfile is not None
        else None
    )
    settings = _service_settings()
    with _plain_errors():
        written = write_site_broker_config(
            settings,
            out,
            port=port,
            bind_address=bind,
            persistence_dir=persistence_dir,
            tls=tls,
            run_as_user=user,
            service_password=service_password or None,
            worker_logins=worker_login or (),
        )
    typer.echo(f"wrote {written.files.conf}, {written.files.acl}, {written.files.password_file}")
    *services, probe = written.service_urls
    typer.echo(
        f"  {written.gateways} gateway login(s) and {len(services)} service login(s), one per "
        "process that connects (the broker uses the login as the client id):"
    )
    for url in services:
        typer.echo(f"    DHO_MQTT_URL={url}")
    typer.echo(f"  health checks log in as {PROBE_USER}: {probe}")
    typer.echo(f"  (the password is in {written.service_password_file})")
    if written.owner:
        typer.echo(f"  mosquitto.conf, acl and passwd belong to {written.owner} (Mosquitto's user)")
    elif (user or "mosquitto") != getpass.getuser():
        typer.echo(
            f"  the files belong to you ({getpass.getuser()}, owner-only): Mosquitto started as "
            f"root switches to {user or 'mosquitto'} and cannot read them on a reload (SIGHUP) — "
            "run this as root (it gives them to --user), or run Mosquitto as you with "
            f"--user {getpass.getuser()}",
            err=True,
        )
    if tls is None:
        typer.echo(
            "  no TLS listener: gateways outside this machine need one (--tls-certfile, "
            "--tls-keyfile)",
            err=True,
        )


# ----------------------------------------------------------------------------- operations

users_app = typer.Typer(help="People who log in (the rest is done in the API).")
probe_app = typer.Typer(
    help="Health probes for container health checks and scripts: exit 0 when healthy, else 1."
)
app.add_typer(users_app, name="users", no_args_is_help=True)
app.add_typer(probe_app, name="probe", no_args_is_help=True)


@users_app.command("create-admin")
def users_create_admin(
    username: Annotated[str, typer.Argument(help="The administrator's login name.")],
    display_name: Annotated[str, typer.Option(help="Full name, as shown in the dashboard.")] = "",
) -> None:
    """Create an administrator with a generated password, shown once (a new site's first user).

    Waits for the database and migrates it. Every other user is created by an administrator
    through the API or the dashboard.
    """
    from triage.first_admin import AdminExistsError, create_admin
    from triage.service import configure_logging, open_database

    settings = _service_settings()
    configure_logging(logging.WARNING)
    with _plain_errors():
        engine, sessions = open_database(settings)
    try:
        with sessions.begin() as session:
            created = create_admin(
                session, username=username, display_name=display_name, now=datetime.now(UTC)
            )
    except (AdminExistsError, ValueError) as err:
        typer.echo(f"dho: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        engine.dispose()
    typer.echo(f"created administrator {created.username} (id {created.user_id})")
    typer.echo(f"password (shown this once; give it in person): {created.password}")
    if created.admins_before:
        typer.echo(f"  note: there were already {created.admins_before} administrator(s)", err=True)


export_app = typer.Typer(help="Exports of the stored data for analytics and migration.")
app.add_typer(export_app, name="export", no_args_is_help=True)


@export_app.command("fhir")
def export_fhir_command(
    out: Annotated[Path, typer.Option("--out", help="The folder for the NDJSON files.")],
    since: Annotated[
        str | None,
        typer.Option(
            help="Only what was stored or changed after this: YYYY-MM-DD (midnight in "
            "Europe/Oslo) or an ISO datetime (without an offset: Europe/Oslo). Default: all."
        ),
    ] = None,
    types: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this resource type (repeatable). Default: all."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the database. Default: DHO_DATABASE_URL."),
    ] = None,
) -> None:
    """Export FHIR R4 resources as NDJSON files in the FHIR Bulk Data format, with its
    manifest.json (docs/fhir.md). Writes an audit row; a failed export leaves no file under
    a final name."""
    from triage.export.fhir_ndjson import ExportError, export_fhir, parse_since
    from triage.service import configure_logging
    from triage.storage.database import make_engine

    try:
        after = parse_since(since) if since is not None else None
    except ExportError as err:
        typer.echo(f"dho: {err}", err=True)
        raise typer.Exit(2) from err
    url = database_url or _service_settings().resolved_database_url
    configure_logging(logging.WARNING)
    engine = make_engine(url)
    try:
        result = export_fhir(
            engine,
            out,
            now=datetime.now(UTC),
            since=after,
            types=types,
            os_user=getpass.getuser(),
            on_progress=lambda part, n: typer.echo(f"  {part}: done ({n:,} so far)", err=True),
        )
    except ExportError as err:
        typer.echo(f"dho: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        engine.dispose()
    for kind, count in result.counts.items():
        typer.echo(f"{kind}: {count:,}")
    typer.echo(f"wrote {len(result.files)} files and {result.manifest}")


@probe_app.command("http")
def probe_http(
    url: Annotated[str, typer.Argument(help="e.g. http://127.0.0.1:8000/api/v1/ready")],
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the answer.")] = 5,
) -> None:
    """Healthy when URL answers 2xx; otherwise says what it got, and exits 1."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as err:
        typer.echo(f"{url}: no answer ({type(err).__name__}: {err})", err=True)
        raise typer.Exit(1) from err
    if not response.is_success:
        typer.echo(f"{url}: HTTP {response.status_code} {response.text[:300]}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{url}: HTTP {response.status_code}")


@probe_app.command("mqtt")
def probe_mqtt(
    url: Annotated[
        str,
        typer.Argument(
            envvar="DHO_MQTT_URL",
            show_default=False,
            help="mqtt://user:password@host:port; default: DHO_MQTT_URL (keeps the password off "
            "the command line).",
        ),
    ],
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the broker.")] = 5,
) -> None:
    """Healthy when the broker accepts this login (MQTT 5 CONNECT); otherwise says why, exit 1.

    A service login (dho-…) is probed as dho-probe with the same password: DHO's broker uses
    the login as the client id, so probing as a running worker's login would take its session.
    """
    from triage.broker import MqttEndpoint, MqttProtocol, probe_broker, redact

    try:
        endpoint = MqttEndpoint.parse(url)
        if endpoint.username and endpoint.username.startswith("dho-"):
            url = replace(endpoint, username=PROBE_USER).url()
        answer = probe_broker(url, MqttProtocol.V5, timeout_s=timeout)
    except ValueError as err:
        typer.echo(f"dho: {err}", err=True)
        raise typer.Exit(2) from err
    if str(answer) != "Success":
        typer.echo(f"{redact(url)}: {answer}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{redact(url)}: connected")


@app.command("dashboard")
def dashboard_command(
    host: Annotated[
        str, typer.Option("--host", envvar="DHO_DASHBOARD_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", envvar="DHO_DASHBOARD_PORT", min=1, max=65535, help="Port to listen on."
        ),
    ] = 8501,
) -> None:
    """Run the follow-up-centre dashboard (Streamlit), pointed at DHO_DASHBOARD_API_URL.

    Replaces this process with Streamlit, so signals (SIGTERM, Ctrl-C) reach it directly;
    its health answer is GET /_stcore/health.
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("dashboard.streamlit_app")
    if spec is None or spec.origin is None:
        typer.echo("dho: the dashboard package is not installed with dho", err=True)
        raise typer.Exit(1)
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        spec.origin,
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        "--client.toolbarMode=viewer",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)  # noqa: S606 - our own interpreter and the installed app


# ----------------------------------------------------------------------------- the demo


@app.command("demo")
def demo_command(
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo's data folder first and start over.")
    ] = False,
    patients: Annotated[
        int, typer.Option(min=5, max=400, help="Simulated patients (at the first start).")
    ] = 40,
    port: Annotated[
        int,
        typer.Option(envvar="DHO_DEMO_PORT", min=1, max=65535, help="The dashboard's port."),
    ] = 8501,
    api_port: Annotated[
        int, typer.Option(envvar="DHO_DEMO_API_PORT", min=1, max=65535, help="The API's port.")
    ] = 8000,
    tablet_port: Annotated[
        int,
        typer.Option(
            envvar="DHO_DEMO_TABLET_PORT",
            min=0,
            max=65000,
            help="Home number i serves its patient's tablet pages on this port + i (0: none).",
        ),
    ] = 8600,
    smtp_port: Annotated[
        int,
        typer.Option(
            envvar="DHO_DEMO_SMTP_PORT",
            min=1,
            max=65535,
            help="The mail sink's port: what the service sends lands in DATA_DIR/mail.",
        ),
    ] = 8625,
    seed: Annotated[int, typer.Option(help="The population's seed (at the first start).")] = 2026,
    data_dir: Annotated[
        Path, typer.Option(envvar="DHO_DEMO_DATA_DIR", help="The demo's data folder.")
    ] = Path("data/demo"),
    seconds_per_day: Annotated[
        float,
        typer.Option(
            envvar="DHO_DEMO_SECONDS_PER_DAY",
            min=10.0,
            help="Real seconds per simulated day (86400: real time).",
        ),
    ] = 120.0,
) -> None:
    """Run the whole system on this machine with a simulated population (docs/demo.md).

    The service, emulated homes publishing over MQTT, and the dashboard, on embedded defaults.

    The first start seeds the patients and their two weeks of history; later starts reuse them.

    Ctrl-C stops everything, in order.
    """
    from triage.demo.run import DemoOptions, run_demo

    options = DemoOptions(
        data_dir=data_dir,
        reset=reset,
        patients=patients,
        seed=seed,
        port=port,
        api_port=api_port,
        seconds_per_day=seconds_per_day,
        tablet_port=tablet_port,
        smtp_port=smtp_port,
    )
    code = run_demo(options, lambda line: typer.echo(line))
    raise typer.Exit(code)
