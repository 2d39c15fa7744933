"""Benchmark: MQTT ingest end to end — gateways → Mosquitto → IngestConsumer → PostgreSQL.

Not a timed test; it prints figures. In one run, all against one broker and one database:

1. starts its own Mosquitto on a free port (persistence off, ``max_inflight_messages 0``,
   ``max_queued_messages 0``: no broker-side cap on what is in flight or queued, so the broker
   never drops and each subscriber's Receive Maximum is the window);
2. creates a fresh PostgreSQL database (``--database-url``, default ``dho_bench``), migrates it,
   registers N synthetic patients (the five condition templates in turn) with approved plans
   and gateways through ``triage.storage.seed``, and runs ANALYZE; with ``--history H`` it then
   inserts H green readings per patient (COPY, spread over the last 13 days, the columns the
   pipeline writes) and runs VACUUM ANALYZE, so every patient has H readings inside the rule
   windows;
3. **baseline**: the publisher sends M real ``dho.reading/1`` messages (QoS 1, flat out) to a
   bare paho subscriber that only counts (QoS 1, auto-ack);
4. **drain, bare**: a persistent session (client id ``bench-drain-bare``, MQTT 5, session
   expiry > 0) is created and left; D readings are preloaded into the broker for it; then the
   bare paho subscriber (manual ack, ``ack()`` at once in ``on_message``, same Receive Maximum
   as the service) connects with that client id: rate = D ÷ (connect → D-th message);
5. **drain, service**: the real consumer is started once to create its session and stopped;
   D new readings are preloaded; the consumer is started again (a fresh process: cold caches)
   and timed from ``start()`` to the D-th commit. ``drain_ratio`` = service ÷ bare;
6. **one worker**: a warm-up (one reading per patient) then M readings flat out into that same
   consumer (ack after commit, receipts); readings/s from the first publish to the last commit;
7. **two workers** (``--workers``, a ``$share`` group, each its own client id): warm-up (one
   pass per worker), then M readings flat out; ``workers_ratio`` = two ÷ one readings/s, and
   the ratio of consumer CPU per reading (what the workers' disagreeing — history reloads —
   costs); ``--workers 1`` skips this;
8. **latency**: the same two workers, a paced publisher at ``--rate`` (1,000/s) for
   ``--latency-seconds`` (60; 0 skips it); publish → committed from the consumers' commit times
   (one machine, one monotonic clock) and publish → receipt; the GC pauses inside the consumers;
9. loss and duplicates, per phase: every published id stored once (the database) and a
   "stored" receipt for each (the gateway's view); anything else and the bench says FAILED.

The publisher is single-threaded (``bench/_rawmqtt.py``): MQTT 3.1.1 CONNECT and QoS 1 PUBLISH
packets encoded before the clock starts, written over a plain socket in large ``sendall``
chunks, PUBACKs and receipts read in the same thread (receipts parsed only after the phase's
publishing). Its own CPU per message is printed; it should be far below the subscriber's.
Arrivals are in random order over the patients (a seeded shuffle), never round-robin (a
broker's round-robin ``$share`` would then partition patients between workers by accident).

Consumer CPU per reading: each consumer runs in its own process; utime + stime of all its
threads from ``/proc/<pid>/stat`` at the start and end of each phase (after warm-up), per thread
from ``/proc/<pid>/task/*/stat`` (the consumer names its threads: ``worker``, ``paho-net``, …),
divided by the readings committed in the phase (ticks of 10 ms; "others" also holds threads
that ended). The load average is printed at each phase's start. Each garbage collection in a
consumer is recorded with ``gc.callbacks``: its wall time (the pause the readings wait) and the
collecting thread's CPU time (``time.thread_time``: without the waits for a core on a busy
machine); per phase the count, their CPU and its share of the consumer's, the pauses over
50 ms and the longest.

The last line is machine-readable::

    RESULT readings_per_s=… baseline_per_s=… ratio=… p50_ms=… p99_ms=… lost=… duplicated=…
    consumer_cpu_us_per_reading=… history_window=… drain_bare_per_s=… drain_service_per_s=…
    drain_ratio=… workers_ratio=… gc_max_pause_ms=… load_avg=…

(one line). ``readings_per_s`` and ``consumer_cpu_us_per_reading`` are the one-worker flat-out
phase (warm); ``history_window`` the mean readings per patient inside the last 14 days at its
start; ``load_avg`` the 1-minute load average at its start; ``p50_ms``/``p99_ms`` and
``gc_max_pause_ms`` the latency phase; ``lost``/``duplicated`` all phases.

Run: ``python bench/ingest.py`` (``--help`` for sizes; ``--quick`` for a ~1 minute smoke run;
``--profile PATH`` writes a cProfile of each consumer's worker thread to ``PATH.<worker>``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import random
import resource
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from _rawmqtt import RawClient, forget_session, packet_id_for, publish_packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve()
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/dho_bench"
CONDITIONS = ("copd", "heart_failure", "diabetes", "hypertension", "covid19")
HOST = "127.0.0.1"
#: Prefilled history is spread over this many days before now (inside the 14-day windows).
HISTORY_DAYS = 13
#: history_window counts readings measured within this many days.
WINDOW_DAYS = 14
#: The bare drain subscriber's client id (its persistent session).
DRAIN_BARE_ID = "bench-drain-bare"
#: Seconds without a new receipt after which the publisher stops waiting for the rest.
RECEIPT_IDLE_S = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

Message = tuple[str, str, bytes]  # id, topic, payload


# ----------------------------------------------------------------------------- payloads


def values_for(
    condition: str, rng: random.Random, *, green: bool = False
) -> tuple[str, dict[str, float]]:
    """A plausible reading for the condition: mostly green, some yellow and red (``green``:
    only the green range)."""
    roll = 0.0 if green else rng.random()
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


def arrivals(
    gateways: Sequence[tuple[str, str]], count: int, rng: random.Random
) -> list[tuple[str, str]]:
    """``count`` gateways in random order: every patient equally often (± 1), shuffled."""
    passes, rest = divmod(count, len(gateways))
    order = list(gateways) * passes + rng.sample(list(gateways), rest)
    rng.shuffle(order)
    return order


def make_messages(
    gateways: Sequence[tuple[str, str]],
    count: int,
    seed: int,
    at: datetime,
    *,
    after: datetime | None = None,
    step: timedelta | None = None,
) -> list[Message]:
    """``count`` messages (id, topic, payload) over the gateways in random order (seeded),
    measured in publishing order: ``step`` apart from ``at`` on (a paced phase: each reading
    measured about when it is sent), or else 1 ms apart up to ``at`` — squeezed to fit after
    ``after``, the last reading of the phase before. Each phase's readings are then measured
    after the last phase's, as a gateway's are: a reading measured before what a worker already
    classified for the patient widens its history window and costs a full reload (backfill),
    which the flat-out phases are not meant to measure."""
    rng = random.Random(seed)
    if step is None:
        step = timedelta(milliseconds=1)
        if after is not None and at - count * step <= after:
            step = (at - after) / (count + 1)
        first = at - count * step
    else:
        first = at
    out = []
    for i, (gateway_id, condition) in enumerate(arrivals(gateways, count, rng)):
        kind, values = values_for(condition, rng)
        id_ = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stamp = (first + (i + 1) * step).isoformat()
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


def last_stamp(messages: Sequence[Message]) -> datetime:
    """When the last of ``messages`` was measured."""
    return datetime.fromisoformat(json.loads(messages[-1][2])["measured_at"])


# ----------------------------------------------------------------------------- roles


def _cpu_self() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def role_publisher(args: argparse.Namespace) -> None:
    """Publish the messages of ``--messages`` (JSON lines) from this one thread: flat out, or
    at ``--pace`` messages/s; with ``--receipts``, collect the receipts. Prints ``ready`` when
    connected and encoded, starts on ``go`` (stdin), prints ``published`` when every PUBACK is
    in, then waits for the receipts and writes its results to ``--out``."""
    messages = [json.loads(line) for line in Path(args.messages).read_text().splitlines()]
    client = RawClient(HOST, args.port, f"bench-pub-{uuid.uuid4().hex[:8]}")
    if args.receipts:
        client.subscribe("dho/v1/+/receipts", qos=1)
    packets = [
        publish_packet(topic.encode(), payload.encode(), packet_id_for(i))
        for i, (_id, topic, payload) in enumerate(messages)
    ]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("publisher: no go")
    cpu_before = _cpu_self()
    if args.pace:
        times = _publish_paced(client, packets, args.pace)
    else:
        times = _publish_flat(client, packets)
    published_all = time.monotonic()
    cpu = _cpu_self() - cpu_before
    print("published", flush=True)
    receipts: dict[str, list[float]] = {}
    if args.receipts:
        wanted = {m[0] for m in messages}
        seen = 0
        last_new = time.monotonic()
        while True:
            for at, _topic, payload in client.incoming[seen:]:
                for item in json.loads(payload)["items"]:
                    if item["status"] == "stored":
                        receipts.setdefault(item["id"], []).append(at)
            if len(client.incoming) > seen:
                seen = len(client.incoming)
                last_new = time.monotonic()
            if wanted.issubset(receipts) or time.monotonic() - last_new > RECEIPT_IDLE_S:
                break
            client.poll(0.5)
    client.close()
    result = {
        "first_publish": times[0],
        "published_all": published_all,
        "publish_times": times,
        "acked": client.acked,
        "cpu_s": cpu,
        "receipts": receipts,
    }
    Path(args.out).write_text(json.dumps(result))


def _publish_flat(
    client: RawClient, packets: list[bytes], chunk: int = 500, window: int = 30_000
) -> list[float]:
    """Every packet as fast as the socket takes them, at most ``window`` unacknowledged (packet
    ids must not repeat in flight). The send time of each message."""
    count = len(packets)
    times = [0.0] * count
    sent = 0
    while sent < count:
        if sent - client.acked + chunk > window:
            client.poll(1.0)
            continue
        end = min(count, sent + chunk)
        now = time.monotonic()
        client.send(b"".join(packets[sent:end]))
        times[sent:end] = [now] * (end - sent)
        sent = end
        while client.poll(0):
            pass
    _wait_acked(client, count)
    return times


def _publish_paced(client: RawClient, packets: list[bytes], rate: float) -> list[float]:
    """Each packet at its time (``i / rate`` after the first), reading between sends."""
    count = len(packets)
    times = [0.0] * count
    start = time.monotonic()
    sent = 0
    while sent < count:
        now = time.monotonic()
        due = min(count, int((now - start) * rate) + 1)
        if due > sent:
            client.send(b"".join(packets[sent:due]))
            times[sent:due] = [now] * (due - sent)
            sent = due
        client.poll(max(0.0, start + sent / rate - time.monotonic()))
    _wait_acked(client, count)
    return times


def _wait_acked(client: RawClient, count: int) -> None:
    deadline = time.monotonic() + 120
    while client.acked < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"publisher: {count - client.acked} PUBACKs missing")
        client.poll(1.0)


def role_baseline(args: argparse.Namespace) -> None:
    """A bare QoS 1 subscriber that only counts (auto-ack); writes first/last arrival and its
    CPU from the first to the last message."""
    count = 0
    first = last = 0.0
    cpu_first = cpu_last = 0.0
    done = threading.Event()
    ready = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, _message: mqtt.MQTTMessage) -> None:
        nonlocal count, first, last, cpu_first, cpu_last
        last = time.monotonic()
        if count == 0:
            first = last
            cpu_first = _cpu_self()
        count += 1
        if count >= args.expect:
            cpu_last = _cpu_self()
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-baseline", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.on_socket_open = _no_delay
    client.connect(HOST, args.port)
    client.subscribe("dho/v1/+/readings", qos=1)
    client.loop_start()
    ready.wait(10)
    print("ready", flush=True)
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    result = {"count": count, "first": first, "last": last, "cpu_s": cpu_last - cpu_first}
    Path(args.out).write_text(json.dumps(result))


def role_drain_bare(args: argparse.Namespace) -> None:
    """The bare paho subscriber of the drain: with ``--create-session``, create the persistent
    session (subscribe QoS 1, disconnect); else connect to it, ``ack()`` each message at once in
    ``on_message`` (manual ack, no work) and time connect → the ``--expect``-th message, then
    end the session."""
    count = 0
    nth = 0.0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        nonlocal count, nth
        client.ack(message.mid, message.qos)
        count += 1
        if count == args.expect:
            nth = time.monotonic()
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=DRAIN_BARE_ID,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_socket_open = _no_delay
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = args.receive_maximum
    started = time.monotonic()
    cpu_before = _cpu_self()
    client.connect(HOST, args.port, clean_start=False, properties=properties)
    client.loop_start()
    if args.create_session:
        client.subscribe("dho/v1/+/readings", qos=1)
        if not subscribed.wait(10):
            raise SystemExit("drain subscriber: no SUBACK")
        client.disconnect()
        client.loop_stop()
        return
    done.wait(600)
    cpu = _cpu_self() - cpu_before
    end = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
    end.SessionExpiryInterval = 0
    client.disconnect(properties=end)
    client.loop_stop()
    result = {"count": count, "started": started, "nth": nth, "cpu_s": cpu}
    Path(args.out).write_text(json.dumps(result))


def _name_threads(named: set[int]) -> None:
    """Give this process's threads names /proc shows (``comm``): the bench reads CPU per
    thread from outside."""
    for thread in threading.enumerate():
        tid = thread.native_id
        if tid is None or tid in named:
            continue
        name = thread.name
        if name == "dho-ingest":
            name = "worker"
        elif name.startswith("paho"):
            name = "paho-net"
        elif name == "MainThread":
            name = "main"
        elif name.startswith("dho-"):
            name = name[4:]
        try:
            Path(f"/proc/self/task/{tid}/comm").write_text(name[:15])
        except OSError:
            continue
        named.add(tid)


def role_consumer(args: argparse.Namespace) -> None:
    """The real IngestConsumer against the bench database. Prints ``ready {started_at, cpu_s}``
    (the monotonic time and this process's CPU just before ``start()``) once subscribed; on
    SIGTERM it stops gracefully and writes each batch's commit time and message ids, its stats
    and the GC pauses (``gc.callbacks``)."""
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

    # (monotonic at the end, wall seconds, CPU seconds of the collecting thread, generation):
    # the wall time is the pause the readings wait; the CPU time excludes the waits for a core
    pauses: list[tuple[float, float, float, int]] = []
    gc_started = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
            gc_started[1] = time.thread_time()
        else:
            took = time.perf_counter() - gc_started[0]
            cpu = time.thread_time() - gc_started[1]
            pauses.append((time.monotonic(), took, cpu, info["generation"]))

    gc.callbacks.append(on_gc)
    settings = Settings(
        demo=True,
        database_url=args.database_url,
        ingest_batch_size=args.batch_size,
        ingest_batch_ms=args.batch_ms,
        mqtt_client_id=args.client_id,
        mqtt_shared_group=args.share or None,
    )
    engine = make_engine(args.database_url)
    counters = TimedCounters()
    consumer = IngestConsumer(
        settings,
        session_factory(engine),
        BrokerAddress(HOST, args.port),
        counters=counters,
    )
    profile = cProfile.Profile() if args.profile else None
    handle = getattr(consumer, "_handle", None)
    if profile is not None and handle is None:
        print("--profile: this IngestConsumer has no _handle(batch); not profiled", file=sys.stderr)
        profile = None
    if profile is not None and handle is not None:

        def profiled(batch: Any) -> None:
            profile.enable()
            try:
                handle(batch)
            finally:
                profile.disable()

        consumer._handle = profiled  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started_at = time.monotonic()
    cpu_at_start = _cpu_self()
    consumer.start()
    named: set[int] = set()
    _name_threads(named)
    if not consumer.wait_until_subscribed(30):
        raise SystemExit("the consumer did not subscribe")
    _name_threads(named)
    print("ready " + json.dumps({"started_at": started_at, "cpu_s": cpu_at_start}), flush=True)
    while not stop.wait(1.0):
        _name_threads(named)
    consumer.stop()
    gc.callbacks.remove(on_gc)
    if profile is not None:
        profile.dump_stats(args.profile)
    result = {"commits": counters.commits, "stats": consumer.stats(), "gc": pauses}
    Path(args.out).write_text(json.dumps(result))
    engine.dispose()


# ----------------------------------------------------------------------------- setup


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_mosquitto(folder: Path, executable: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} {HOST}\n"
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
            socket.create_connection((HOST, port), timeout=0.2).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    broker.kill()
    raise SystemExit(f"mosquitto did not start on port {port}")


def prepare_database(url: str, patients: int) -> list[tuple[str, str]]:
    """Create the database afresh, migrate, register patients with plans and gateways, ANALYZE.
    The gateways as (id, condition)."""
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
    _maintain(url, "ANALYZE")
    return gateways


def _maintain(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


READING_COLUMNS = (
    "id",
    "patient_id",
    "gateway_id",
    "kind",
    "values",
    "device",
    "measured_at",
    "classified_at",
    "received_at",
    "stored_at",
    "timezone",
    "plan_id",
    "plan_version",
    "colour",
    "findings",
    "flags",
)


def prefill_history(url: str, per_patient: int, seed: int, now: datetime) -> int:
    """``per_patient`` green readings for every patient, straight into ``readings`` by COPY (the
    columns the pipeline writes), measured over the last HISTORY_DAYS days (the newest an hour
    ago); then VACUUM ANALYZE (as autovacuum would, before the measurement rather than during
    it). The rows inserted."""
    rng = random.Random(seed)
    engine = create_engine(url)
    span = timedelta(days=HISTORY_DAYS) - timedelta(hours=1)
    oldest = now - timedelta(days=HISTORY_DAYS)
    with engine.begin() as connection:
        population = connection.execute(
            text(
                "SELECT g.id, g.patient_id, p.condition, p.timezone, v.plan_id, v.version "
                "FROM gateways g JOIN patients p ON p.id = g.patient_id "
                "JOIN plans pl ON pl.patient_id = p.id "
                "JOIN plan_versions v ON v.plan_id = pl.id AND v.status = 'approved' "
                "ORDER BY g.id"
            )
        ).all()
        driver: Any = connection.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in READING_COLUMNS)
        rows = 0
        with driver.cursor() as cursor, cursor.copy(f"COPY readings ({names}) FROM STDIN") as copy:
            for gateway_id, patient_id, condition, timezone, plan_id, version in population:
                for k in range(per_patient):
                    measured = oldest + span * ((k + rng.random()) / per_patient)
                    kind, values = values_for(condition, rng, green=True)
                    copy.write_row(
                        (
                            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            patient_id,
                            gateway_id,
                            kind,
                            json.dumps(values),
                            json.dumps({"profile": kind, "model": "DHO bench history"}),
                            measured,
                            measured,
                            measured,
                            measured + timedelta(seconds=1),
                            timezone,
                            plan_id,
                            version,
                            "green",
                            "[]",
                            "[]",
                        )
                    )
                    rows += 1
    engine.dispose()
    _maintain(url, "VACUUM ANALYZE readings")
    return rows


def history_window(url: str) -> float:
    """Mean readings per patient measured within the last WINDOW_DAYS days."""
    engine = create_engine(url)
    with engine.connect() as connection:
        readings = connection.execute(
            text(
                "SELECT count(*) FROM readings "
                "WHERE measured_at >= now() - make_interval(days => :days)"
            ),
            {"days": WINDOW_DAYS},
        ).scalar_one()
        patients = connection.execute(text("SELECT count(*) FROM patients")).scalar_one()
    engine.dispose()
    return float(readings) / max(1, int(patients))


# ----------------------------------------------------------------------------- processes


def spawn(role: str, *extra: str, stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - this script, with our arguments
        [sys.executable, str(HERE), "--role", role, *extra],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE if stdin else None,
        text=True,
    )


def read_line(process: subprocess.Popen[str], expected: str) -> str:
    """The process's next line, which must start with ``expected``; the rest of it."""
    line = process.stdout.readline().strip() if process.stdout else ""
    if not line.startswith(expected):
        raise SystemExit(f"{process.args!r}: expected {expected!r}, got {line!r}")
    return line[len(expected) :].strip()


class Publisher:
    """One publisher process for one phase: ``go()`` starts it once it is connected and has
    encoded its packets; ``published()`` returns once the broker acknowledged every message;
    ``finish()`` waits for the receipts and returns the results."""

    def __init__(
        self,
        folder: Path,
        name: str,
        port: int,
        messages: list[Message],
        *,
        pace: int = 0,
        receipts: bool = True,
    ) -> None:
        source = folder / f"{name}.jsonl"
        source.write_text("\n".join(json.dumps([i, t, p.decode()]) for i, t, p in messages))
        self.out = folder / f"{name}.out.json"
        extra = ["--receipts"] if receipts else []
        self.process = spawn(
            "publisher",
            "--port",
            str(port),
            "--messages",
            str(source),
            "--pace",
            str(pace),
            "--out",
            str(self.out),
            *extra,
            stdin=True,
        )
        read_line(self.process, "ready")

    def go(self) -> None:
        assert self.process.stdin is not None  # noqa: S101
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def published(self) -> None:
        read_line(self.process, "published")

    def finish(self) -> dict[str, Any]:
        if self.process.wait() != 0:
            raise SystemExit("the publisher failed")
        result: dict[str, Any] = json.loads(self.out.read_text())
        return result


@dataclass
class CpuSample:
    """CPU seconds of a set of processes: in all, and per thread name (``comm``)."""

    total: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)

    def __sub__(self, other: CpuSample) -> CpuSample:
        names = set(self.threads) | set(other.threads)
        return CpuSample(
            self.total - other.total,
            {n: self.threads.get(n, 0.0) - other.threads.get(n, 0.0) for n in names},
        )


def _stat_cpu(path: str) -> tuple[str, float]:
    """(comm, utime + stime in seconds) from a /proc stat file."""
    raw = Path(path).read_text()
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_cpu(pids: Iterable[int]) -> CpuSample:
    """utime + stime of the processes (all threads, finished ones included) and per live
    thread, summed by thread name over the processes."""
    sample = CpuSample()
    for pid in pids:
        sample.total += _stat_cpu(f"/proc/{pid}/stat")[1]
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                comm, seconds = _stat_cpu(str(task / "stat"))
            except (OSError, ValueError):
                continue  # the thread ended
            sample.threads[comm] = sample.threads.get(comm, 0.0) + seconds
    return sample


@dataclass
class Worker:
    label: str
    client_id: str
    process: subprocess.Popen[str]
    out: Path
    started_at: float = 0.0
    cpu_at_start: float = 0.0


def start_workers(
    args: argparse.Namespace,
    folder: Path,
    port: int,
    labels: Sequence[str],
    *,
    share: str | None,
    wait: bool = True,
) -> list[Worker]:
    workers = []
    for label in labels:
        client_id = f"bench-triage-{label}"
        out = folder / f"consumer-{label}-{uuid.uuid4().hex[:6]}.out.json"
        extra = ["--profile", f"{args.profile}.{label}"] if args.profile else []
        process = spawn(
            "consumer",
            "--port",
            str(port),
            "--database-url",
            args.database_url,
            "--batch-size",
            str(args.batch_size),
            "--batch-ms",
            str(args.batch_ms),
            "--client-id",
            client_id,
            "--share",
            share or "",
            "--out",
            str(out),
            *extra,
        )
        workers.append(Worker(label, client_id, process, out))
    if wait:
        for worker in workers:
            ready_consumer(worker)
    return workers


def ready_consumer(worker: Worker) -> None:
    ready = json.loads(read_line(worker.process, "ready"))
    worker.started_at = ready["started_at"]
    worker.cpu_at_start = ready["cpu_s"]


def stop_workers(workers: Sequence[Worker]) -> list[dict[str, Any]]:
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    results = []
    for worker in workers:
        if worker.process.wait(120) != 0:
            raise SystemExit(f"consumer {worker.label} failed")
        results.append(json.loads(worker.out.read_text()))
    return results


# ----------------------------------------------------------------------------- phases


@dataclass
class Phase:
    """One published set of readings and what became of it."""

    name: str
    messages: list[Message]
    load: tuple[float, float, float]
    sent: dict[str, Any]
    cpu: CpuSample | None = None
    history_window: float | None = None
    workers: int = 1
    start: float = 0.0  # the phase's clock start (first publish, or the consumer's start())

    @property
    def ids(self) -> list[str]:
        return [m[0] for m in self.messages]


def load_text(load: tuple[float, float, float]) -> str:
    return f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def service_phase(
    name: str,
    folder: Path,
    port: int,
    workers: Sequence[Worker],
    messages: list[Message],
    *,
    pace: int = 0,
    url: str | None = None,
) -> Phase:
    """Publish into running consumers; the consumers' CPU from go to the last receipt."""
    window = history_window(url) if url else None
    publisher = Publisher(folder, name, port, messages, pace=pace)
    load = os.getloadavg()
    pids = [w.process.pid for w in workers]
    before = proc_cpu(pids)
    publisher.go()
    publisher.published()
    sent = publisher.finish()
    cpu = proc_cpu(pids) - before
    print(f"  {name}: {len(messages)} readings published ({load_text(load)})", flush=True)
    return Phase(name, messages, load, sent, cpu, window, len(workers), sent["first_publish"])


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def commit_times(results: Iterable[dict[str, Any]]) -> dict[str, float]:
    commit_at: dict[str, float] = {}
    for result in results:
        for at, ids in result["commits"]:
            for id_ in ids:
                if id_ is not None:
                    commit_at[id_] = min(at, commit_at.get(id_, at))
    return commit_at


@dataclass
class Figures:
    per_s: float
    cpu_us: float
    committed: int
    done: float


def figures(phase: Phase, commit_at: dict[str, float]) -> Figures:
    """Readings/s from the phase's start to its last commit; consumer CPU per committed reading."""
    done = [commit_at[i] for i in phase.ids if i in commit_at]
    last = max(done) if done else float("nan")
    per_s = len(done) / (last - phase.start) if done else float("nan")
    cpu_us = phase.cpu.total / len(done) * 1e6 if phase.cpu and done else float("nan")
    return Figures(per_s, cpu_us, len(done), last)


def cpu_text(phase: Phase, committed: int) -> str:
    """The consumer CPU per reading, split by thread."""
    if phase.cpu is None or not committed:
        return "consumer CPU n/a"
    threads = phase.cpu.threads
    worker = threads.get("worker", 0.0)
    network = threads.get("paho-net", 0.0)
    others = phase.cpu.total - worker - network
    per = 1e6 / committed
    detail = ", ".join(
        f"{name} {seconds * per:.0f}"
        for name, seconds in sorted(threads.items(), key=lambda kv: -kv[1])
        if seconds > 0
    )
    return (
        f"consumer CPU {phase.cpu.total * per:,.0f} µs/reading (worker thread {worker * per:,.0f}, "
        f"paho network thread {network * per:,.0f}, others {others * per:,.0f}; by thread: "
        f"{detail})"
    )


def publisher_text(phase: Phase) -> str:
    sent = phase.sent
    took = sent["published_all"] - sent["first_publish"]
    return (
        f"publisher {sent['cpu_s'] / len(phase.messages) * 1e6:.1f} µs CPU/msg, "
        f"{len(phase.messages) / took:,.0f} msg/s offered"
    )


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", choices=["publisher", "baseline", "drain-bare", "consumer"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--messages")
    parser.add_argument("--pace", type=int, default=0)
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--client-id", default="bench-triage")
    parser.add_argument("--share", default="")
    parser.add_argument("--create-session", action="store_true")
    parser.add_argument("--receive-maximum", type=int, default=1000)
    parser.add_argument(
        "--database-url", default=os.environ.get("DHO_BENCH_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--patients", type=int, default=2000, help="patients and gateways")
    parser.add_argument("--readings", type=int, default=20_000, help="readings per flat-out run")
    parser.add_argument(
        "--drain", type=int, default=0, help="readings preloaded (default: --readings)"
    )
    parser.add_argument("--history", type=int, default=0, help="readings prefilled per patient")
    parser.add_argument(
        "--rate", "--latency-rate", type=int, default=1000, help="latency: offered readings/s"
    )
    parser.add_argument("--latency-seconds", type=int, default=60, help="0: no latency run")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-ms", type=int, default=50)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="workers ($share) of the second flat-out run and "
        "the latency run (1: skip the comparison)",
    )
    parser.add_argument("--mosquitto", default="mosquitto")
    parser.add_argument("--profile", help="write a cProfile of each consumer's worker here")
    parser.add_argument("--quick", action="store_true", help="small sizes: a ~1 minute smoke run")
    args = parser.parse_args()
    if args.role == "publisher":
        role_publisher(args)
        return
    if args.role == "baseline":
        role_baseline(args)
        return
    if args.role == "drain-bare":
        role_drain_bare(args)
        return
    if args.role == "consumer":
        role_consumer(args)
        return
    if args.quick:
        args.patients = min(args.patients, 200)
        args.readings = min(args.readings, 2000)
        args.latency_seconds = min(args.latency_seconds, 5)
    args.drain = args.drain or args.readings
    sys.exit(run(args))


def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="dho-bench-"))
    executable = args.mosquitto
    if os.sep not in executable and not any(
        (Path(p) / executable).exists() for p in os.environ.get("PATH", "").split(os.pathsep)
    ):
        executable = f"/usr/sbin/{executable}"
    broker, port = start_mosquitto(folder, executable)
    print(
        f"ingest bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"{load_text(os.getloadavg())}"
    )
    print(f"mosquitto on {HOST}:{port} (persistence off, max_inflight 0, max_queued 0)")
    url = args.database_url
    phases: dict[str, Phase] = {}
    results: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        gateways = prepare_database(url, args.patients)
        took = time.perf_counter() - t0
        print(
            f"database: {args.patients} patients + plans + gateways in {took:.1f} s "
            f"({args.patients / took:,.0f}/s through triage.storage.seed), ANALYZE"
        )
        run_start = datetime.now(UTC) - timedelta(minutes=1)
        if args.history:
            t0 = time.perf_counter()
            rows = prefill_history(url, args.history, 4, datetime.now(UTC))
            print(
                f"history: {rows:,} green readings ({args.history} per patient over "
                f"{HISTORY_DAYS} days) in {time.perf_counter() - t0:.1f} s, VACUUM ANALYZE"
            )
        now = datetime.now(UTC)

        # 1. baseline: flat out into a subscriber that does nothing
        print(f"baseline ({load_text(os.getloadavg())})", flush=True)
        baseline_messages = make_messages(gateways, args.readings, 1, now)
        out = folder / "baseline.out.json"
        subscriber = spawn(
            "baseline", "--port", str(port), "--expect", str(args.readings), "--out", str(out)
        )
        read_line(subscriber, "ready")
        publisher = Publisher(folder, "baseline-pub", port, baseline_messages, receipts=False)
        publisher.go()
        publisher.published()
        baseline_sent = publisher.finish()
        subscriber.wait(600)
        base = json.loads(out.read_text())
        baseline_rate = base["count"] / (base["last"] - baseline_sent["first_publish"])
        phases["baseline"] = Phase("baseline", baseline_messages, (0, 0, 0), baseline_sent)
        print(
            f"baseline: {base['count']} msgs, bare paho subscriber (auto-ack): "
            f"{baseline_rate:,.0f} msg/s, {base['cpu_s'] / base['count'] * 1e6:.0f} µs CPU/msg; "
            f"{publisher_text(phases['baseline'])}"
        )

        # 2. drain, bare paho subscriber
        receive_maximum = str(2 * args.batch_size)
        creator = spawn("drain-bare", "--port", str(port), "--create-session")
        if creator.wait(30) != 0:
            raise SystemExit("the drain session was not created")
        drain_bare_messages = make_messages(gateways, args.drain, 5, now)
        publisher = Publisher(folder, "drain-bare-pub", port, drain_bare_messages, receipts=False)
        publisher.go()
        publisher.published()
        publisher.finish()
        load = os.getloadavg()
        out = folder / "drain-bare.out.json"
        drainer = spawn(
            "drain-bare",
            "--port",
            str(port),
            "--expect",
            str(args.drain),
            "--receive-maximum",
            receive_maximum,
            "--out",
            str(out),
        )
        if drainer.wait(600) != 0:
            raise SystemExit("the drain subscriber failed")
        forget_session(HOST, port, DRAIN_BARE_ID)
        bare = json.loads(out.read_text())
        drain_bare = bare["count"] / (bare["nth"] - bare["started"])
        print(
            f"drain, bare paho subscriber (manual ack, Receive Maximum {receive_maximum}): "
            f"{bare['count']} queued msgs at {drain_bare:,.0f} msg/s, "
            f"{bare['cpu_s'] / bare['count'] * 1e6:.0f} µs CPU/msg ({load_text(load)})"
        )

        # 3. drain, the service: create its session, preload, start it (cold), time it
        (first,) = start_workers(args, folder, port, ["w1"], share=None)
        results += stop_workers([first])
        drain_messages = make_messages(gateways, args.drain, 6, now)
        publisher = Publisher(folder, "drain-service", port, drain_messages)
        publisher.go()
        publisher.published()
        load = os.getloadavg()
        (single,) = start_workers(args, folder, port, ["w1"], share=None, wait=False)
        ready_consumer(single)
        sent = publisher.finish()
        cpu = proc_cpu([single.process.pid])
        cpu.total -= single.cpu_at_start
        cpu.threads["main"] = cpu.threads.get("main", 0.0) - single.cpu_at_start
        phases["drain"] = Phase("drain", drain_messages, load, sent, cpu, start=single.started_at)
        print(f"  drain: {args.drain} readings preloaded for the service ({load_text(load)})")

        # 4. one worker, warm: warm-up (each patient once), then flat out
        warm = make_messages(
            gateways, len(gateways), 7, datetime.now(UTC), after=last_stamp(drain_messages)
        )
        phases["warm-up 1"] = service_phase("warm-up 1", folder, port, [single], warm)
        flat = make_messages(gateways, args.readings, 2, datetime.now(UTC), after=last_stamp(warm))
        phases["flat 1"] = service_phase("flat 1", folder, port, [single], flat, url=url)
        one = stop_workers([single])
        results += one
        forget_session(HOST, port, single.client_id)
        report_service(phases, one, ["drain", "warm-up 1", "flat 1"])

        # 5. two workers ($share), warm-up then flat out; 6. latency, paced, same workers
        if args.workers > 1:
            labels = [f"s{w}" for w in range(args.workers)]
            group = start_workers(args, folder, port, labels, share="bench")
            warm = make_messages(
                gateways,
                len(gateways) * args.workers,
                8,
                datetime.now(UTC),
                after=last_stamp(flat),
            )
            phases["warm-up 2"] = service_phase("warm-up 2", folder, port, group, warm)
            flat = make_messages(
                gateways, args.readings, 3, datetime.now(UTC), after=last_stamp(warm)
            )
            phases["flat 2"] = service_phase("flat 2", folder, port, group, flat, url=url)
        elif args.latency_seconds:
            group = start_workers(args, folder, port, ["w1b"], share=None)
        else:
            group = []
        if args.latency_seconds:
            latency_messages = make_messages(
                gateways,
                args.rate * args.latency_seconds,
                9,
                max(datetime.now(UTC), last_stamp(flat) + timedelta(milliseconds=1)),
                step=timedelta(seconds=1 / args.rate),
            )
            phases["latency"] = service_phase(
                "latency", folder, port, group, latency_messages, pace=args.rate
            )
        many = stop_workers(group)
        results += many
        report_service(phases, many, ["warm-up 2", "flat 2", "latency"])
    finally:
        broker.terminate()
        broker.wait(10)

    commit_at = commit_times(results)
    one_flat = figures(phases["flat 1"], commit_at)
    readings_per_s = one_flat.per_s
    workers_ratio = float("nan")
    if "flat 2" in phases:
        two = figures(phases["flat 2"], commit_at)
        workers_ratio = two.per_s / one_flat.per_s
        print(
            f"workers: {args.workers} ÷ 1 = {workers_ratio:.2f} in readings/s, "
            f"{two.cpu_us / one_flat.cpu_us:.2f} in consumer CPU per reading"
        )
    drain = figures(phases["drain"], commit_at)
    drain_ratio = drain.per_s / drain_bare
    print(
        f"drain: service {drain.per_s:,.0f}/s (cold start) ÷ bare paho {drain_bare:,.0f}/s = "
        f"{drain_ratio:.2f}"
    )

    p50 = p99 = gc_max = float("nan")
    if "latency" in phases:
        p50, p99, gc_max = latency_report(args, phases["latency"], commit_at, many)
    for result in results:
        big = sorted(((p[1], p[2]) for p in result["gc"] if p[-1] == 2), reverse=True)
        if big:
            print(
                f"  gen-2 collections in a consumer over the run: {len(big)}, longest (wall/CPU) "
                + ", ".join(f"{wall * 1000:.0f}/{cpu * 1000:.0f}" for wall, cpu in big[:5])
                + " ms"
            )

    # loss and duplicates, per phase
    lost, duplicated, failed = check_stored(url, phases, run_start)
    one_cpu = one_flat.cpu_us
    window = phases["flat 1"].history_window or 0.0
    if failed:
        print("FAILED: " + "; ".join(failed))
    ratio = readings_per_s / baseline_rate
    print(
        f"RESULT readings_per_s={readings_per_s:.0f} baseline_per_s={baseline_rate:.0f} "
        f"ratio={ratio:.2f} p50_ms={p50:.1f} p99_ms={p99:.1f} lost={lost} duplicated={duplicated} "
        f"consumer_cpu_us_per_reading={one_cpu:.0f} history_window={window:.1f} "
        f"drain_bare_per_s={drain_bare:.0f} drain_service_per_s={drain.per_s:.0f} "
        f"drain_ratio={drain_ratio:.2f} workers_ratio={workers_ratio:.2f} "
        f"gc_max_pause_ms={gc_max:.1f} load_avg={phases['flat 1'].load[0]:.2f}"
    )
    return 1 if failed else 0


def gc_pauses(
    results: Iterable[dict[str, Any]], start: float, end: float
) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) of the consumers' collections that ended between start and end."""
    return [
        (took * 1000, cpu * 1000)
        for result in results
        for at, took, cpu, _generation in result["gc"]
        if start <= at <= end
    ]


def gc_text(pauses: Sequence[tuple[float, float]], cpu_s: float | None) -> str:
    wall = [p[0] for p in pauses]
    cpu = sum(p[1] for p in pauses)
    share = f" = {cpu / 1000 / cpu_s:.0%} of the consumers' CPU" if cpu_s else ""
    return (
        f"GC {len(pauses)} collections, {cpu:,.0f} ms CPU{share}, "
        f"{sum(1 for w in wall if w > 50)} pauses over 50 ms, longest {max(wall, default=0):.1f} "
        f"ms wall"
    )


def latency_report(
    args: argparse.Namespace,
    latency: Phase,
    commit_at: dict[str, float],
    results: list[dict[str, Any]],
) -> tuple[float, float, float]:
    """Print publish → committed and → receipt, and the GC pauses; (p50, p99, longest GC)."""
    times = latency.sent["publish_times"]
    receipts = latency.sent["receipts"]
    to_commit = [
        (commit_at[m[0]] - t) * 1000
        for m, t in zip(latency.messages, times, strict=True)
        if m[0] in commit_at
    ]
    to_receipt = [
        (receipts[m[0]][0] - t) * 1000
        for m, t in zip(latency.messages, times, strict=True)
        if m[0] in receipts
    ]
    p50, p99 = statistics.median(to_commit), percentile(to_commit, 0.99)
    end = max(commit_at.get(i, 0.0) for i in latency.ids)
    pauses = gc_pauses(results, latency.start, end)
    print(
        f"latency at {args.rate}/s for {args.latency_seconds} s, {latency.workers} worker(s) "
        f"({load_text(latency.load)}): publish → committed p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(to_commit):.1f} ms; publish → receipt p50 {statistics.median(to_receipt):.1f} "
        f"ms, p99 {percentile(to_receipt, 0.99):.1f} ms; in the consumers: "
        f"{gc_text(pauses, latency.cpu.total if latency.cpu else None)}"
    )
    return p50, p99, max((p[0] for p in pauses), default=0.0)


def report_service(
    phases: dict[str, Phase], results: list[dict[str, Any]], names: Sequence[str]
) -> None:
    commit_at = commit_times(results)
    for name in names:
        if name not in phases:
            continue
        phase = phases[name]
        got = figures(phase, commit_at)
        window = (
            f", {phase.history_window:.1f} readings per patient in the {WINDOW_DAYS}-day window"
            if phase.history_window is not None
            else ""
        )
        pauses = gc_pauses(results, phase.start, got.done)
        print(
            f"{name} ({phase.workers} worker(s), {load_text(phase.load)}{window}): "
            f"{got.committed} readings at {got.per_s:,.0f}/s; {cpu_text(phase, got.committed)}; "
            f"{gc_text(pauses, phase.cpu.total if phase.cpu else None)}; "
            f"{publisher_text(phase)}"
        )
    for result in results:
        stats = result["stats"]
        print(
            f"  consumer: {stats.get('mqtt.batches', 0)} batches, "
            f"{stats.get('received', 0)} messages, {stats.get('mqtt.receipts', 0)} receipts, "
            f"{stats.get('duplicate', 0)} duplicates, "
            f"{stats.get('commit_retries', 0)} commit retries; history cache: "
            f"{stats.get('history.hits', 0)} hits, {stats.get('history.delta_loads', 0)} "
            f"completed with the missing rows, {stats.get('history.full_loads', 0)} full loads"
        )


def check_stored(url: str, phases: dict[str, Phase], since: datetime) -> tuple[int, int, list[str]]:
    """Every id published to the service stored once, with a "stored" receipt: (lost,
    duplicated, what failed)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = list(
            connection.execute(
                text("SELECT id FROM readings WHERE stored_at >= :since"), {"since": since}
            ).scalars()
        )
        dead = connection.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
    engine.dispose()
    stored = set(rows)
    published: set[str] = set()
    lost = duplicated = 0
    failed = []
    for name, phase in phases.items():
        if name == "baseline":
            continue
        ids = phase.ids
        published.update(ids)
        gone = sum(1 for i in ids if i not in stored)
        receipts = phase.sent["receipts"]
        no_receipt = sum(1 for i in ids if i not in receipts)
        twice = sum(len(receipts[i]) - 1 for i in ids if i in receipts)
        lost += gone
        duplicated += twice
        print(
            f"  {name}: published {len(ids)}, lost {gone}, without a stored receipt "
            f"{no_receipt}, receipts twice {twice}"
        )
        if gone or no_receipt or twice:
            failed.append(f"{name}: {gone} lost, {no_receipt} without receipt, {twice} twice")
    extra = (len(rows) - len(stored)) + len(stored - published)
    duplicated += extra
    print(
        f"published {len(published)}, stored {len(rows)} rows ({len(stored)} ids), "
        f"dead letters {dead}, lost {lost}, duplicated {duplicated}"
    )
    if extra or dead:
        failed.append(f"{extra} unexpected rows, {dead} dead letters")
    return lost, duplicated, failed


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


if __name__ == "__main__":
    main()
