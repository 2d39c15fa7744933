"""Micro-bench: CPU per message to drain a persistent MQTT session, stock paho against the
ingest worker's subclass (triage/ingest/mqtt_client.py), A/B in one run.

Starts its own Mosquitto (like bench/ingest.py: persistence off, no broker-side in-flight or
queue cap). Each round and variant: a persistent session is created and left, N reading-sized
messages (QoS 1) are published into it, then a subscriber connects and drains it the way the
ingest worker does — paho's network thread queues what arrives, this thread takes batches of
up to 500 and acknowledges them (stock: ``ack()`` per message, as today's worker; subclass:
``ack_many()`` per batch). CPU is ``resource.getrusage(RUSAGE_SELF)`` (every thread of this
process; the publisher is idle by then) from connect to the last acknowledgement.

    python bench/mqtt_receive.py [--messages 20000] [--rounds 3]

The last line: ``RESULT stock_us_per_msg=… fast_us_per_msg=… ratio=… load_avg=…`` (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from triage.ingest.mqtt_client import FastClient

BATCH = 500


def start_mosquitto(folder: Path, executable: str) -> tuple[subprocess.Popen[bytes], int]:
    """Our own broker on a free port, configured as bench/ingest.py's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_inflight_messages 0\nmax_queued_messages 0\nlog_type error\nlog_dest stderr\n"
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


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def payload(i: int) -> bytes:
    return json.dumps(
        {
            "schema": "dho.reading/1",
            "id": str(uuid.UUID(int=i)),
            "kind": "spo2",
            "measured_at": "2026-11-23T07:14:05+01:00",
            "received_at": "2026-11-23T07:14:06+01:00",
            "values": {"spo2": 95, "pulse": 70},
            "device": {"profile": "spo2", "model": "Nonin 3230", "address": "00:1C:05:AA:BB:CC"},
        }
    ).encode()


def connect_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 300
    properties.ReceiveMaximum = 2 * BATCH
    return properties


def make_client(variant: str, client_id: str) -> mqtt.Client:
    cls = FastClient if variant == "fast" else mqtt.Client
    client = cls(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    client.max_inflight_messages_set(2 * BATCH if variant == "stock" else 20)
    return client


def preload(port: int, topic_root: str, client_id: str, count: int) -> None:
    """Create the session (subscribe, leave), then publish ``count`` messages into it."""
    subscribed = threading.Event()
    sub = make_client("stock", client_id)
    sub.on_connect = lambda c, *_: c.subscribe(f"{topic_root}/#", qos=1)
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.connect("127.0.0.1", port, clean_start=False, properties=connect_properties())
    sub.loop_start()
    if not subscribed.wait(10):
        raise SystemExit("the preload subscription was not acknowledged")
    sub.disconnect()
    sub.loop_stop()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    pub.max_inflight_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [
        pub.publish(f"{topic_root}/gw-{i % 2000}/readings", payload(i), qos=1) for i in range(count)
    ]
    for info in infos:
        info.wait_for_publish(60)
    pub.disconnect()
    pub.loop_stop()


def drain(port: int, variant: str, client_id: str, count: int) -> tuple[float, float, int]:
    """(CPU s, wall s, messages) to receive and acknowledge ``count`` messages."""
    queue: deque[tuple[int, int, str, bytes]] = deque()
    cond = threading.Condition()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        item = (message.mid, message.qos, message.topic, bytes(message.payload))
        with cond:
            queue.append(item)
            if len(queue) == 1 or len(queue) >= BATCH:
                cond.notify()

    client = make_client(variant, client_id)
    client.on_message = on_message
    cpu0, wall0 = cpu_s(), time.monotonic()
    client.connect("127.0.0.1", port, clean_start=False, properties=connect_properties())
    client.loop_start()
    done = 0
    deadline = time.monotonic() + 120
    while done < count and time.monotonic() < deadline:
        with cond:
            if not queue:
                cond.wait(0.05)
            batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]
        if not batch:
            continue
        if isinstance(client, FastClient):
            client.ack_many((mid, qos) for mid, qos, _, _ in batch)
        else:
            for mid, qos, _, _ in batch:
                client.ack(mid, qos)
        done += len(batch)
    cpu, wall = cpu_s() - cpu0, time.monotonic() - wall0
    client.disconnect()
    client.loop_stop()
    return cpu, wall, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mosquitto", default="mosquitto")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"stock": [], "fast": []}
    with tempfile.TemporaryDirectory() as folder:
        broker, port = start_mosquitto(Path(folder), args.mosquitto)
        try:
            for round_ in range(args.rounds):
                order = ["stock", "fast"] if round_ % 2 == 0 else ["fast", "stock"]
                for variant in order:
                    client_id = f"mr-{variant}-{uuid.uuid4().hex[:8]}"
                    preload(port, f"mr/{client_id}", client_id, args.messages)
                    cpu, wall, done = drain(port, variant, client_id, args.messages)
                    per = cpu / done * 1e6
                    results[variant].append(per)
                    print(
                        f"round {round_ + 1} {variant:5}: {done} messages, {per:6.1f} µs CPU "
                        f"per message, {done / wall:8.0f} msg/s, load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
        finally:
            broker.terminate()
            broker.wait(10)
    stock = statistics.median(results["stock"])
    fast = statistics.median(results["fast"])
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"RESULT stock_us_per_msg={stock:.1f} fast_us_per_msg={fast:.1f} "
        f"ratio={fast / stock:.2f} load_avg={load}"
    )


if __name__ == "__main__":
    main()
