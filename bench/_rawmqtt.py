"""A minimal single-threaded MQTT 3.1.1 client for the benches (not for the service).

The ingest bench's publisher must cost far less CPU per message than the subscriber it
measures. paho's ``publish()`` from one thread while ``loop_start()``'s thread sends wakes that
thread for every message (224–300 µs per message here). This client pre-encodes CONNECT and
QoS 1 PUBLISH packets, writes them over a plain socket in large ``sendall`` chunks and reads
the PUBACKs (and any QoS 1 PUBLISH it subscribed to, e.g. receipts) in the same thread.

Wire format (MQTT 3.1.1, OASIS standard): a fixed header byte (type << 4 | flags), the remaining
length as a base-128 varint, then the variable header and payload. Strings are a 2-byte
big-endian length and UTF-8 bytes. Keep-alive is 0 (off), so no PINGREQ is ever owed.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time

CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBACK = 0x90
DISCONNECT_PACKET = b"\xe0\x00"
#: Packet ids 1..MAX_PACKET_ID are used in turn; the in-flight window must stay below this.
MAX_PACKET_ID = 65535


def varint(value: int) -> bytes:
    """The remaining length: 7 bits a byte, least significant first, high bit = more."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


def connect_packet(client_id: str, *, clean: bool = True, keepalive: int = 0) -> bytes:
    """CONNECT, MQTT 3.1.1 (protocol level 4), no will, no login."""
    flags = 0x02 if clean else 0x00
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + _string(client_id)
    return bytes([0x10]) + varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int) -> bytes:
    """PUBLISH at QoS 1 (fixed header 0x32), not retained."""
    body_length = 2 + len(topic) + 2 + len(payload)
    return b"".join(
        (
            b"\x32",
            varint(body_length),
            struct.pack("!H", len(topic)),
            topic,
            struct.pack("!H", packet_id),
            payload,
        )
    )


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = struct.pack("!H", packet_id) + _string(topic_filter) + bytes([qos])
    return bytes([0x82]) + varint(len(body)) + body


def puback_packet(packet_id: int) -> bytes:
    return struct.pack("!BBH", PUBACK, 2, packet_id)


def packet_id_for(index: int) -> int:
    """The packet id of the ``index``-th publish of a connection (1..65535, in turn)."""
    return index % MAX_PACKET_ID + 1


class RawClient:
    """One MQTT 3.1.1 connection driven from the calling thread only.

    ``acked`` counts PUBACKs received; ``incoming`` holds ``(time.monotonic(), topic, payload)``
    of every PUBLISH received (each answered with a PUBACK when QoS 1), unparsed.
    """

    def __init__(self, host: str, port: int, client_id: str, *, clean: bool = True) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.buffer = bytearray()
        self.acked = 0
        self.suback = False
        self.incoming: list[tuple[float, bytes, bytes]] = []
        self.sock.sendall(connect_packet(client_id, clean=clean))
        deadline = time.monotonic() + 30
        while not self.buffer[:1] and time.monotonic() < deadline:
            self.poll(1.0, connack=True)
        if len(self.buffer) < 4 or self.buffer[0] != CONNACK or self.buffer[3] != 0:
            raise ConnectionError(f"the broker refused the connection: {bytes(self.buffer)!r}")
        del self.buffer[:4]
        self.sock.setblocking(True)

    def subscribe(self, topic_filter: str, qos: int = 1, packet_id: int = 1) -> None:
        """SUBSCRIBE and wait for the SUBACK (do this before publishing)."""
        self.sock.sendall(subscribe_packet(packet_id, topic_filter, qos))
        deadline = time.monotonic() + 30
        while not self.suback and time.monotonic() < deadline:
            self.poll(1.0)
        if not self.suback:
            raise ConnectionError("no SUBACK")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def poll(self, timeout: float, *, connack: bool = False) -> bool:
        """Wait up to ``timeout`` s for data; read what is there and handle whole packets.
        Whether anything was read."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return False
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        self.buffer += chunk
        if not connack:
            self._parse()
        return True

    def _parse(self) -> None:
        buffer = self.buffer
        size = len(buffer)
        pos = 0
        answers = bytearray()
        while size - pos >= 2:
            head = buffer[pos]
            if head == PUBACK:  # the common case: 0x40 0x02 id id
                if size - pos < 4:
                    break
                self.acked += 1
                pos += 4
                continue
            length = 0
            shift = 0
            index = pos + 1
            while index < size:
                byte = buffer[index]
                length |= (byte & 0x7F) << shift
                shift += 7
                index += 1
                if not byte & 0x80:
                    break
            else:
                break  # the length is not complete yet
            end = index + length
            if end > size:
                break
            kind = head & 0xF0
            if kind == PUBLISH:
                qos = (head >> 1) & 0x03
                topic_length = (buffer[index] << 8) | buffer[index + 1]
                topic = bytes(buffer[index + 2 : index + 2 + topic_length])
                start = index + 2 + topic_length
                if qos:
                    answers += puback_packet((buffer[start] << 8) | buffer[start + 1])
                    start += 2
                self.incoming.append((time.monotonic(), topic, bytes(buffer[start:end])))
            elif kind == SUBACK:
                self.suback = True
            pos = end
        del buffer[:pos]
        if answers:
            self.sock.sendall(answers)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(DISCONNECT_PACKET)
        self.sock.close()


def forget_session(host: str, port: int, client_id: str) -> None:
    """End the broker's session of ``client_id`` (subscriptions and queued messages): connect
    with a clean session, which discards the stored one, and disconnect."""
    RawClient(host, port, client_id, clean=True).close()
