"""The ingest bench's single-threaded MQTT 3.1.1 client (bench/_rawmqtt.py): the packets it
encodes, and its reader with packets split across reads (as TCP delivers them)."""

from __future__ import annotations

import socket
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import _rawmqtt


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_remaining_length_is_the_spec_varint(value: int, encoded: bytes) -> None:
    assert _rawmqtt.varint(value) == encoded  # MQTT 3.1.1, 2.2.3 examples


def test_publish_packet_is_qos1_with_topic_id_and_payload() -> None:
    payload = b"x" * 300
    packet = _rawmqtt.publish_packet(b"dho/v1/gw-1/readings", payload, 513)
    assert packet[0] == 0x32
    assert packet[1:3] == _rawmqtt.varint(2 + 20 + 2 + 300)
    assert packet[3:5] == struct.pack("!H", 20)
    assert packet[5:25] == b"dho/v1/gw-1/readings"
    assert packet[25:27] == struct.pack("!H", 513)
    assert packet[27:] == payload


def test_connect_packet_is_311_with_clean_session_and_no_keepalive() -> None:
    packet = _rawmqtt.connect_packet("bench-pub", clean=True)
    assert packet[0] == 0x10
    assert packet[1] == len(packet) - 2  # the remaining length
    body = packet[2:]
    assert body[:6] == b"\x00\x04MQTT"
    assert body[6] == 4  # protocol level 3.1.1
    assert body[7] == 0x02  # clean session, no will, no login
    assert body[8:10] == b"\x00\x00"  # keep-alive off
    assert body[10:] == b"\x00\x09bench-pub"
    assert _rawmqtt.connect_packet("c", clean=False)[9] == 0x00


def test_packet_ids_cycle_through_1_to_65535() -> None:
    assert _rawmqtt.packet_id_for(0) == 1
    assert _rawmqtt.packet_id_for(65_534) == 65_535
    assert _rawmqtt.packet_id_for(65_535) == 1


def test_reader_counts_pubacks_and_answers_publishes_split_anywhere() -> None:
    ours, broker = socket.socketpair()
    client = object.__new__(_rawmqtt.RawClient)
    client.sock = ours
    client.buffer = bytearray()
    client.acked = 0
    client.suback = False
    client.incoming = []
    receipt = b'{"items": []}' * 20
    stream = (
        _rawmqtt.puback_packet(1)
        + _rawmqtt.publish_packet(b"dho/v1/gw-1/receipts", receipt, 7)
        + _rawmqtt.puback_packet(2)
        + b"\x90\x03\x00\x01\x01"  # SUBACK
        + _rawmqtt.puback_packet(3)
    )
    try:
        for cut in range(0, len(stream), 5):  # 5-byte reads: every packet split somewhere
            broker.sendall(stream[cut : cut + 5])
            assert client.poll(1.0)
        assert client.acked == 3
        assert client.suback
        assert [(topic, payload) for _at, topic, payload in client.incoming] == [
            (b"dho/v1/gw-1/receipts", receipt)
        ]
        assert broker.recv(100) == _rawmqtt.puback_packet(7)  # the receipt is acknowledged
        assert client.buffer == bytearray()
    finally:
        ours.close()
        broker.close()
