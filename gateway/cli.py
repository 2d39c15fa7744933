"""``dho gateway …`` (also ``python -m gateway``): run the home gateway, pair devices, show status.

Settings come from ``DHO_GATEWAY_`` environment variables (:class:`gateway.config.GatewaySettings`);
the common ones are options here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from bleak.exc import BleakError
from pydantic import ValidationError

from devices.catalogue import load_catalogue
from gateway.ble.radio import BleRadio
from gateway.config import GatewaySettings
from gateway.contract import ContractError
from gateway.known_devices import KnownDevices
from gateway.outbox import OutboxFullError

app = typer.Typer(
    help="The home gateway: reads the patient's Bluetooth devices and sends the readings.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder of the outbox and paired devices (DHO_GATEWAY_DATA_DIR)."
    ),
]


def _settings(**overrides: Any) -> GatewaySettings:
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return GatewaySettings(**given)
    except ValidationError as err:
        typer.echo("dho gateway cannot start: the settings are not valid:", err=True)
        for problem in err.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            where = "_".join(str(p) for p in problem["loc"]).upper()
            typer.echo(f"  DHO_GATEWAY_{where}: {message}", err=True)
        raise typer.Exit(2) from err


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("bumble", "bleak", "bleak_retry_connector", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)


@app.command("run")
def run_command(
    data_dir: DataDir = None,
    emulate: Annotated[
        bool,
        typer.Option(
            "--emulate",
            help="No radio: emulated devices in this process, measuring for a simulated patient.",
        ),
    ] = False,
    condition: Annotated[
        str, typer.Option(help="--emulate: the simulated patient's condition.")
    ] = "copd",
    seed: Annotated[int, typer.Option(help="--emulate: the simulated patient's seed.")] = 1,
    seconds_per_day: Annotated[
        float,
        typer.Option(
            min=0.001, help="--emulate: real seconds per simulated day (86400: real time)."
        ),
    ] = 86_400.0,
    backfill_days: Annotated[
        int,
        typer.Option(min=0, help="--emulate: days of history already in the devices' memories."),
    ] = 0,
    homes: Annotated[
        Path | None,
        typer.Option(
            help="--emulate: a homes file (JSON, dho.emulated-homes/1): run each home in it, "
            "each with its own gateway id, secret, data folder and simulated patient (then "
            "--condition, --seed, --backfill-days and --data-dir do not apply).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the gateway: reach the paired devices, keep every reading, publish until receipted.

    Ctrl-C / SIGTERM stop it cleanly; whatever was measured stays in the outbox for next time.
    """
    from gateway.hub import GatewayNotConfiguredError, Hub

    settings = _settings(data_dir=data_dir)
    _configure_logging(verbose)
    log = logging.getLogger("gateway")
    if homes is not None and not emulate:
        typer.echo("--homes needs --emulate (it describes emulated homes)", err=True)
        raise typer.Exit(2)
    from devices.simulate import Condition

    if condition not in set(Condition):
        known = ", ".join(c.value for c in Condition)
        typer.echo(f"--condition {condition!r}: expected one of {known}", err=True)
        raise typer.Exit(2)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        if not emulate:
            hub = Hub(settings, BleRadio())
            if not hub.known.all():
                log.warning("no paired devices: run `dho gateway pair` first")
            await hub.run(stop)
            return
        from devices.simulate import make_patient
        from gateway.emulate import HomesFile, run_home, run_homes

        if homes is not None:
            specs = HomesFile.load(homes).homes
            log.info("running %d emulated homes", len(specs))
            await run_homes(specs, settings, stop, seconds_per_day=seconds_per_day)
            return
        patient = make_patient(f"emulated-{condition}-{seed}", Condition(condition), seed)
        await run_home(
            settings, patient, stop, seconds_per_day=seconds_per_day, history_days=backfill_days
        )

    from gateway.emulate import HomesFileError

    try:
        asyncio.run(main())
    except (GatewayNotConfiguredError, HomesFileError) as err:
        typer.echo(f"dho gateway: {err}", err=True)
        raise typer.Exit(2) from err


@app.command("pair")
def pair_command(
    data_dir: DataDir = None,
    seconds: Annotated[float, typer.Option(help="How long to scan.")] = 10.0,
    address: Annotated[
        list[str] | None, typer.Option("--address", help="Pair this address without asking.")
    ] = None,
    all_found: Annotated[
        bool, typer.Option("--all", help="Pair every health device found, without asking.")
    ] = False,
) -> None:
    """Scan for Bluetooth health devices nearby and remember the ones chosen."""
    settings = _settings(data_dir=data_dir)
    catalogue = load_catalogue()
    try:
        found = asyncio.run(BleRadio().discover(seconds, list(catalogue.service_uuids)))
    except BleakError as err:
        typer.echo(f"Bluetooth er ikke tilgjengelig / Bluetooth is not available: {err}", err=True)
        raise typer.Exit(1) from err
    candidates = []
    for ble_device, adv in found:
        profile = catalogue.profile_for_services(adv.service_uuids)
        if profile is not None:
            candidates.append((ble_device.address, adv.local_name or ble_device.name, profile.id))
    if not candidates:
        typer.echo("Fant ingen helseapparater. / No health devices found.")
        typer.echo("Slå på apparatet (ta en måling) og prøv igjen. / Wake the device and retry.")
        raise typer.Exit(1)
    for number, (addr, name, profile_id) in enumerate(candidates, start=1):
        model = catalogue.model_for(name)
        known = f" — {model.manufacturer}" if model else ""
        typer.echo(f"{number:>2}. {name or '(uten navn / no name)'}  {addr}  [{profile_id}]{known}")
    if address:
        chosen = [c for c in candidates if c[0].upper() in {a.upper() for a in address}]
    elif all_found:
        chosen = candidates
    else:
        answer = typer.prompt("Hvilke skal kobles? / Which to pair? (e.g. 1,3)")
        picks = {int(p) for p in answer.replace(" ", "").split(",") if p.isdigit()}
        chosen = [c for n, c in enumerate(candidates, start=1) if n in picks]
    known_devices = KnownDevices(settings.known_devices_path)
    try:
        for addr, name, profile_id in chosen:
            known_devices.pair(addr, profile_id, name, datetime.now(UTC))
            typer.echo(f"Koblet / paired: {name or addr} ({profile_id})")
    finally:
        known_devices.close()


@app.command("status")
def status_command(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Outbox depth, last receipt, rejected readings, paired devices and when each was seen."""
    settings = _settings(data_dir=data_dir)
    status = gateway_status(settings)
    if as_json:
        typer.echo(json.dumps(status, indent=2, ensure_ascii=False))
        return
    typer.echo(_status_text(status))


@app.command("forget-rejected")
def forget_rejected_command(
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Ids of rejected messages (see `status`); none: every rejected one."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete rejected messages from the outbox after reading them (`status` lists them).

    The service keeps each rejected message as a dead letter with its reason, so nothing is
    lost; rejected messages otherwise stay and count toward the outbox's limit. Messages still
    waiting for a receipt are never deleted.
    """
    settings = _settings(data_dir=data_dir)
    outbox = settings.open_outbox()
    try:
        asked = list(ids) if ids else None
        deleted = outbox.forget_rejected(asked)
    finally:
        outbox.close()
    typer.echo(f"Slettet / deleted: {deleted} avviste meldinger / rejected messages")
    if asked is not None and deleted < len(asked):
        typer.echo(
            f"{len(asked) - deleted} av id-ene er ikke avviste meldinger i utboksen / "
            "of the ids are not rejected messages in the outbox",
            err=True,
        )
        raise typer.Exit(1)


def gateway_status(settings: GatewaySettings) -> dict[str, Any]:
    """What ``dho gateway status`` shows, read from the gateway's files."""
    zone = settings.zone
    outbox = settings.open_outbox()
    known = KnownDevices(settings.known_devices_path)
    try:
        last = outbox.last_receipt_at()
        warning = outbox.warning()
        return {
            "gateway_id": settings.gateway_id,
            "waiting": outbox.depth(),
            "last_receipt_at": _local(last, zone),
            "rejected": [
                {"id": r.id, "reason_code": r.reason_code, "reason": r.reason}
                for r in outbox.rejected()
            ],
            "warning": {"nb": warning[0], "en": warning[1]} if warning else None,
            "devices": [
                {
                    "address": d.address,
                    "profile": d.profile,
                    "name": d.name,
                    "last_seen_at": _local(d.last_seen_at, zone),
                    "battery": d.battery,
                    "last_sequence_number": d.last_sequence_number,
                    "last_error": d.last_error,
                }
                for d in known.all()
            ],
        }
    finally:
        outbox.close()
        known.close()


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return at.astimezone(zone).isoformat(timespec="seconds") if at else None


def _status_text(status: dict[str, Any]) -> str:
    never = "aldri / never"
    lines = [
        f"Gateway: {status['gateway_id'] or '(ikke satt / not set)'}",
        f"Venter på kvittering / waiting for a receipt: {status['waiting']}",
        f"Siste kvittering / last receipt: {status['last_receipt_at'] or never}",
    ]
    if status["warning"]:
        lines += [f"! {status['warning']['nb']}", f"! {status['warning']['en']}"]
    if status["rejected"]:
        lines.append(f"Avvist / rejected: {len(status['rejected'])}")
        lines += [f"  {r['id']}: {r['reason_code']} — {r['reason']}" for r in status["rejected"]]
    lines.append(f"Apparater / devices: {len(status['devices'])}")
    for d in status["devices"]:
        battery = f", batteri / battery {d['battery']} %" if d["battery"] is not None else ""
        lines.append(
            f"  {d['name'] or d['profile']} {d['address']} [{d['profile']}]: "
            f"sist sett / last seen {d['last_seen_at'] or never}{battery}"
        )
        if d["last_error"]:
            lines.append(f"    feil / error: {d['last_error']}")
    return "\n".join(lines)


@app.command("report")
def report_command(
    questionnaire: Annotated[str, typer.Argument(help="Questionnaire id, e.g. cat.")],
    answers: Annotated[str, typer.Argument(help='Answers as JSON, e.g. {"cough": "2"}.')],
    data_dir: DataDir = None,
) -> None:
    """Keep questionnaire answers given on the tablet; the running gateway sends them."""
    import uuid

    from gateway.recorder import Recorder

    settings = _settings(data_dir=data_dir)
    try:
        parsed = json.loads(answers)
        if not isinstance(parsed, dict):
            raise ValueError("not an object")
    except ValueError as err:
        typer.echo(f"answers must be a JSON object: {err}", err=True)
        raise typer.Exit(2) from err
    outbox = settings.open_outbox()
    try:
        Recorder(outbox, settings.zone, lambda: datetime.now(UTC)).report(
            str(uuid.uuid4()), questionnaire, parsed
        )
    except ContractError as err:
        typer.echo(
            "Svarene ble ikke lagret: oppfølgingstjenesten ville avvist dem "
            f"({err.reason_code}). Rett svarene og prøv igjen. / "
            f"The answers were not kept: the follow-up centre's service would refuse them "
            f"({err.reason_code}: {err.reason}).",
            err=True,
        )
        raise typer.Exit(2) from err
    except OutboxFullError as err:
        typer.echo(
            "Svarene kunne ikke lagres: utboksen er full. Ring oppfølgingstjenesten. / "
            f"The answers could not be kept: {err}.",
            err=True,
        )
        raise typer.Exit(1) from err
    finally:
        outbox.close()
    typer.echo("Svarene er lagret og sendes. / The answers are kept and will be sent.")
