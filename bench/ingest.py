"""Benchmark: MQTT ingest end to end — gateways → Mosquitto → IngestConsumer → PostgreSQL.

Not a timed test; it prints figures. In one run:

1. starts its own Mosquitto on a free port (persistence off, ``max_inflight_messages 0``,
   ``max_queued_messages 0``: no broker-side cap on what is in flight or queued for the
   consumer, so the broker never drops and the consumer's Receive Maximum is the window);
2. creates a fresh PostgreSQL database (``dho_bench``), migrates it and registers N synthetic
   patients (the five condition templates in turn) with approved plans and gateways through
   ``triage.storage.seed``;
3. **baseline**: the publisher sends M real ``dho.reading/1`` messages (QoS 1, as fast as it
   can) to a bare paho subscriber that does nothing but count (QoS 1, auto-ack);
4. **service**: the same publisher sends M new readings into the real consumer (a separate
   process: ack after commit, receipts) — readings/s from the first publish to the last commit;
5. **latency**: a fixed offered rate (1,000/s) for a while; publish → committed latency from the
   consumer's commit times (same monotonic clock, one machine), and publish → receipt;
6. loss and duplicates: every published id against the rows stored (and receipts).

The last line is machine-readable::

    RESULT readings_per_s=… baseline_per_s=… ratio=… p50_ms=… p99_ms=… lost=… duplicated=…

Run: ``python bench/ingest.py`` (``--help`` for sizes; ``--profile`` writes a cProfile of the
consumer's worker thread).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import create_engine, func, select, text

HERE = Path(__file__).resolve()
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/dho_bench"
CONDITIONS = ("copd", "heart_failure", "diabetes", "hypertension", "covid19")


# ----------------------------------------------------------------------------- payloads


def values_for(condition: str, rng: random.Random) -> tuple[str, dict[str, float]]:
    """A plausible reading for the condition: mostly green, some yellow and red."""
    roll = rng.random()
    if condition in ("copd", "covid19"):
        spo2 = rng.randint(94, 99) if roll < 0.9 else rng.randint(86, 93)
        return "spo2", {"spo2": spo2, "pulse": rng.randint(58, 98)}
    if condition == "heart_failure":
        return "body_weight", {"weight": round(rng.gauss(82, 0.6), 2)}
    if condition == "diabetes":
        glucose = rng.uniform(4.5, 11) if roll < 0.9 else rng.uniform(2.8, 16)
        return "glucose", {"glucose": round(glucose, 1)}
    systolic = rng.randint(112, 150) if roll < 0.9 else rng.randint(150, 185)
    diastolic = rng.randint(65, 92)
    return "blood_pressure", {"systolic": systolic, "diastolic": diastolic, "pulse": 70}


def make_messages(
    gateways: Sequence[tuple[str, str]], count: int, seed: int, at: datetime
) -> list[tuple[str, str, bytes]]:
    """``count`` messages (id, topic, payload) spread round-robin over the gateways."""
    rng = random.Random(seed)
    out = []
    stamp = at.isoformat()
    for i in range(count):
        gateway_id, condition = gateways[i % len(gateways)]
        kind, values = values_for(condition, rng)
        id_ = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        payload = {
            "schema": "dho.reading/1",
            "id": id_,
            "kind": kind,
            "measured_at": stamp,
            "received_at": stamp,
            "values": values,
            "device": {"profile": kind, "model": "DHO bench"},
        }
        out.append((id_, f"dho/v1/{gateway_id}/readings", json.dumps(payload).encode()))
    return out


# ----------------------------------------------------------------------------- roles


def role_publisher(args: argparse.Namespace) -> None:
    """Publish the messages from ``--messages`` (JSON lines) at ``--rate`` (0: flat out);
    with ``--receipts``, also time the receipts. Prints one JSON line of results."""
    messages = [json.loads(line) for line in Path(args.messages).read_text().splitlines()]
    receipts: dict[str, list[float]] = {}
    subscribed = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        at = time.monotonic()
        for item in json.loads(message.payload)["items"]:
            receipts.setdefault(item["id"], []).append(at) if item["status"] == "stored" else None

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_socket_open = _no_delay
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    if args.receipts:
        client.subscribe("dho/v1/+/receipts", qos=1)
        subscribed.wait(10)
    times: dict[str, float] = {}
    infos = []
    start = time.monotonic()
    interval = 1.0 / args.rate if args.rate else 0.0
    for i, (id_, topic, payload) in enumerate(messages):
        if interval:
            due = start + i * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        times[id_] = time.monotonic()
        infos.append(client.publish(topic, payload.encode(), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    published_all = time.monotonic()
    if args.receipts:
        deadline = time.monotonic() + 60
        while len(receipts) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    result = {
        "first_publish": start,
        "published_all": published_all,
        "publish_times": times,
        "receipts": receipts,
    }
    Path(args.out).write_text(json.dumps(result))


def role_baseline(args: argparse.Namespace) -> None:
    """A bare QoS 1 subscriber that only counts; writes first/last arrival when done."""
    count = 0
    first = last = 0.0
    done = threading.Event()
    ready = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, _message: mqtt.MQTTMessage) -> None:
        nonlocal count, first, last
        last = time.monotonic()
        if count == 0:
            first = last
        count += 1
        if count >= args.expect:
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-baseline", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.on_socket_open = _no_delay
    client.connect("127.0.0.1", args.port)
    client.subscribe("dho/v1/+/readings", qos=1)
    client.loop_start()
    ready.wait(10)
    print("ready", flush=True)
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    Path(args.out).write_text(json.dumps({"count": count, "first": first, "last": last}))


def role_consumer(args: argparse.Namespace) -> None:
    """The real IngestConsumer against the bench database; on SIGTERM it stops gracefully and
    writes each batch's commit time and message ids."""
    from triage.config import Settings
    from triage.ingest import BrokerAddress, Counters, IngestConsumer, Outcome
    from triage.storage.database import make_engine, session_factory

    class TimedCounters(Counters):
        def __init__(self) -> None:
            super().__init__()
            self.commits: list[tuple[float, list[str | None]]] = []

        def record(self, outcomes: Iterable[Outcome]) -> None:
            outcomes = list(outcomes)
            self.commits.append((time.monotonic(), [o.message_id for o in outcomes]))
            super().record(outcomes)

    settings = Settings(
        demo=True,
        database_url=args.database_url,
        ingest_batch_size=args.batch_size,
        ingest_batch_ms=args.batch_ms,
        mqtt_client_id=f"bench-triage-{args.worker}",
        mqtt_shared_group="bench" if args.workers > 1 else None,
    )
    engine = make_engine(args.database_url)
    counters = TimedCounters()
    consumer = IngestConsumer(
        settings,
        session_factory(engine),
        BrokerAddress("127.0.0.1", args.port),
        counters=counters,
    )
    profile = cProfile.Profile() if args.profile else None
    if profile is not None:
        handle = consumer._handle

        def profiled(batch: Any) -> None:
            profile.enable()
            try:
                handle(batch)
            finally:
                profile.disable()

        consumer._handle = profiled  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    consumer.start()
    if not consumer.wait_until_subscribed(30):
        raise SystemExit("the consumer did not subscribe")
    print("ready", flush=True)
    stop.wait()
    consumer.stop()
    if profile is not None:
        profile.dump_stats(args.profile)
    Path(args.out).write_text(json.dumps({"commits": counters.commits, "stats": consumer.stats()}))
    engine.dispose()


# ----------------------------------------------------------------------------- orchestration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_mosquitto(folder: Path, executable: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 0\n"
        "log_type error\n"
        "log_dest stderr\n"
    )
    broker = subprocess.Popen([executable, "-c", str(config)])  # noqa: S603 - our own config
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    broker.kill()
    raise SystemExit(f"mosquitto did not start on port {port}")


def prepare_database(url: str, patients: int) -> list[tuple[str, str]]:
    """Create the database afresh, migrate, register patients with plans and gateways."""
    from argon2 import PasswordHasher

    from triage.domain.plan import Condition
    from triage.storage import seed
    from triage.storage.database import make_engine, migrate, session_factory

    # Gateway secrets are never used here; argon2 at production cost would take minutes.
    seed._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    head, name = url.rsplit("/", 1)
    admin = create_engine(f"{head}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(UTC) - timedelta(days=30)
    gateways: list[tuple[str, str]] = []
    with session_factory(engine).begin() as session:
        municipality = seed.add_municipality(session, "9999", "Benchvik")
        centre = seed.add_centre(session, "Benchvik oppfølgingstjeneste", [municipality])
        for i in range(patients):
            condition = Condition(CONDITIONS[i % len(CONDITIONS)])
            patient = seed.add_patient(
                session,
                display_name=f"Benchpasient {i}",
                municipality=municipality,
                centre=centre,
                now=now,
                condition=condition,
            )
            seed.add_approved_template_plan(session, patient, condition, "gp-bench", now)
            gateway, _ = seed.register_gateway(session, patient, now, gateway_id=f"gw-bench-{i}")
            gateways.append((gateway.id, condition.value))
    engine.dispose()
    return gateways


def spawn(role: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - this script, with our arguments
        [sys.executable, str(HERE), "--role", role, *extra],
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str]) -> None:
    line = process.stdout.readline().strip() if process.stdout else ""
    if line != "ready":
        raise SystemExit(f"{process.args!r} did not get ready: {line!r}")


def publish(
    folder: Path,
    name: str,
    port: int,
    messages: list[tuple[str, str, bytes]],
    rate: int = 0,
    receipts: bool = False,
) -> dict[str, Any]:
    source = folder / f"{name}.jsonl"
    source.write_text("\n".join(json.dumps([i, t, p.decode()]) for i, t, p in messages))
    out = folder / f"{name}.out.json"
    extra = ["--receipts"] if receipts else []
    publisher = spawn(
        "publisher",
        "--port",
        str(port),
        "--messages",
        str(source),
        "--rate",
        str(rate),
        "--out",
        str(out),
        *extra,
    )
    if publisher.wait() != 0:
        raise SystemExit("the publisher failed")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["publisher", "baseline", "consumer"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--messages")
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument(
        "--database-url", default=os.environ.get("DHO_BENCH_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--patients", type=int, default=2000, help="patients and gateways")
    parser.add_argument("--readings", type=int, default=20_000, help="readings, flat out")
    parser.add_argument("--latency-rate", type=int, default=1000, help="offered readings/s")
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="consumer processes ($share)")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--mosquitto", default="mosquitto")
    parser.add_argument("--profile", help="write a cProfile of the consumer's worker here")
    args = parser.parse_args()
    if args.role == "publisher":
        role_publisher(args)
        return
    if args.role == "baseline":
        role_baseline(args)
        return
    if args.role == "consumer":
        role_consumer(args)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dho-bench-"))
    executable = args.mosquitto
    if os.sep not in executable and not any(
        (Path(p) / executable).exists() for p in os.environ.get("PATH", "").split(os.pathsep)
    ):
        executable = f"/usr/sbin/{executable}"
    broker, port = start_mosquitto(folder, executable)
    print(f"ingest bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")
    print(f"mosquitto on 127.0.0.1:{port} (persistence off, max_inflight 0, max_queued 0)")
    try:
        t0 = time.perf_counter()
        gateways = prepare_database(args.database_url, args.patients)
        took = time.perf_counter() - t0
        print(f"database: {args.patients} patients + plans + gateways in {took:.1f} s")
        now = datetime.now(UTC)

        # 1. baseline: the same publisher into a subscriber that does nothing
        baseline_messages = make_messages(gateways, args.readings, 1, now)
        out = folder / "baseline.out.json"
        subscriber = spawn(
            "baseline", "--port", str(port), "--expect", str(args.readings), "--out", str(out)
        )
        wait_ready(subscriber)
        sent = publish(folder, "baseline-pub", port, baseline_messages)
        subscriber.wait(600)
        base = json.loads(out.read_text())
        baseline_rate = base["count"] / (base["last"] - sent["first_publish"])
        print(f"baseline: {base['count']} msgs, bare paho subscriber: {baseline_rate:,.0f} msg/s")

        # 2. the service, flat out; 3. the service at a fixed offered rate
        consumers = []
        for worker in range(args.workers):
            extra = ["--profile", f"{args.profile}.{worker}"] if args.profile else []
            consumer = spawn(
                "consumer",
                "--port",
                str(port),
                "--database-url",
                args.database_url,
                "--batch-size",
                str(args.batch_size),
                "--batch-ms",
                str(args.batch_ms),
                "--worker",
                str(worker),
                "--workers",
                str(args.workers),
                "--out",
                str(folder / f"consumer-{worker}.out.json"),
                *extra,
            )
            wait_ready(consumer)
            consumers.append(consumer)
        service_messages = make_messages(gateways, args.readings, 2, now)
        flat = publish(folder, "service-pub", port, service_messages)
        engine = create_engine(args.database_url)
        from triage.storage.models import DeadLetterRow, ReadingRow

        deadline = time.monotonic() + 900
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                stored = connection.execute(
                    select(func.count()).select_from(ReadingRow)
                ).scalar_one()
                connection.commit()
                if stored >= args.readings:
                    break
                time.sleep(0.2)
        latency_count = args.latency_rate * args.latency_seconds
        latency_messages = make_messages(gateways, latency_count, 3, datetime.now(UTC))
        paced = publish(
            folder, "latency-pub", port, latency_messages, rate=args.latency_rate, receipts=True
        )
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                stored = connection.execute(
                    select(func.count()).select_from(ReadingRow)
                ).scalar_one()
                connection.commit()
                if stored >= args.readings + latency_count:
                    break
                time.sleep(0.2)
        for consumer in consumers:
            consumer.send_signal(signal.SIGTERM)
        for consumer in consumers:
            consumer.wait(120)
        results = [
            json.loads((folder / f"consumer-{w}.out.json").read_text()) for w in range(args.workers)
        ]
    finally:
        broker.terminate()
        broker.wait(10)

    commit_at: dict[str, float] = {}
    for result in results:
        for at, ids in result["commits"]:
            for id_ in ids:
                commit_at[id_] = min(at, commit_at.get(id_, at))
    flat_ids = [m[0] for m in service_messages]
    flat_done = max(commit_at.get(i, float("inf")) for i in flat_ids)
    readings_per_s = len(flat_ids) / (flat_done - flat["first_publish"])
    flat_times = sorted(commit_at[i] for i in flat_ids if i in commit_at)
    lo, hi = flat_times[len(flat_times) // 10], flat_times[len(flat_times) * 9 // 10]
    steady = 0.8 * len(flat_times) / (hi - lo) if hi > lo else float("nan")
    published_for = flat["published_all"] - flat["first_publish"]
    print(
        f"service, flat out: {len(flat_ids)} readings in {flat_done - flat['first_publish']:.1f} s "
        f"= {readings_per_s:,.0f} readings/s (10–90 %: {steady:,.0f}/s; the publisher needed "
        f"{published_for:.1f} s)"
    )

    latency_ids = [m[0] for m in latency_messages]
    to_commit = [
        (commit_at[i] - paced["publish_times"][i]) * 1000 for i in latency_ids if i in commit_at
    ]
    to_receipt = [
        (paced["receipts"][i][0] - paced["publish_times"][i]) * 1000
        for i in latency_ids
        if i in paced["receipts"]
    ]
    p50, p99 = statistics.median(to_commit), percentile(to_commit, 0.99)
    print(
        f"latency at {args.latency_rate}/s for {args.latency_seconds} s: publish → committed "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(to_commit):.1f} ms; publish → receipt "
        f"p50 {statistics.median(to_receipt):.1f} ms, p99 {percentile(to_receipt, 0.99):.1f} ms"
    )

    published = set(flat_ids) | set(latency_ids)
    with engine.connect() as connection:
        rows = connection.execute(select(ReadingRow.id)).scalars().all()
        dead = connection.execute(select(func.count()).select_from(DeadLetterRow)).scalar_one()
    engine.dispose()
    stored_ids = set(rows)
    lost = len(published - stored_ids)
    duplicated = (len(rows) - len(stored_ids)) + len(stored_ids - published)
    duplicated += sum(len(v) - 1 for v in paced["receipts"].values())
    print(
        f"published {len(published)}, stored {len(rows)} rows ({len(stored_ids)} ids), "
        f"dead letters {dead}, lost {lost}, duplicated {duplicated}"
    )
    for worker, result in enumerate(results):
        stats = result["stats"]
        print(
            f"consumer {worker}: {stats.get('mqtt.batches', 0)} batches, "
            f"{stats.get('received', 0)} messages, {stats.get('mqtt.receipts', 0)} receipts, "
            f"{stats.get('duplicate', 0)} duplicates, "
            f"{stats.get('commit_retries', 0)} commit retries"
        )
    ratio = readings_per_s / baseline_rate
    print(
        f"RESULT readings_per_s={readings_per_s:.0f} baseline_per_s={baseline_rate:.0f} "
        f"ratio={ratio:.2f} p50_ms={p50:.1f} p99_ms={p99:.1f} lost={lost} duplicated={duplicated}"
    )


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


if __name__ == "__main__":
    main()
