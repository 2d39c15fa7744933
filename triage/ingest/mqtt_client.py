"""A thin subclass of paho-mqtt's client for the ingest worker's hot path.

Stock paho (2.2.0) costs ~110–140 µs of CPU per received QoS 1 message, most of it not MQTT:
three ``recv()`` calls per packet (command byte, each remaining-length byte, the rest), one
packet per ``select()`` wake-up, an MQTT 5 ``Properties`` object and a ``threading.Condition``
(in ``MQTTMessageInfo``) built for every incoming PUBLISH, one socket write and one wake-up of
the network thread per ``ack()``, and for our own QoS 1 publishes (the receipts) a
``ReasonCode`` + ``Properties`` per PUBACK and, with an in-flight window, an O(n) scan of the
outgoing messages (``_update_inflight``) per PUBACK. This subclass changes exactly that:

- **Buffered reads.** :meth:`loop_read` makes one large ``recv()`` per wake-up and handles
  *every complete packet* in the buffer before returning, so the buffer never holds a complete
  packet while ``select()`` waits on the socket (which would stall it). A partial packet stays
  in the buffer until the rest arrives; a packet larger than the buffer is read in as many
  ``recv()`` as it takes. The buffer belongs to one socket: a new connection starts empty.
- **PUBLISH without properties** (what DHO's gateways send) is decoded here without building
  a ``Properties`` or an ``MQTTMessageInfo``: ``message.properties`` is None and
  ``message.info`` is a shared placeholder nobody waits on. Anything else (properties present,
  QoS 2, MQTT 3.1.1) goes through paho's own decoder.
- **Batch acknowledgements.** :meth:`ack_many` queues the PUBACKs of a whole batch as one
  packet buffer: one socket write and one wake-up, in the order given (MQTT 5 §4.6).
- **Receipts within the broker's Receive Maximum, without a long scan.** paho 2.2.0 ignores
  the Receive Maximum the broker announces in CONNACK (Mosquitto: 20) and sends up to its own
  in-flight window; on every PUBACK, ``_update_inflight`` walks the messages in flight to find
  the next queued one, so a window of 2 × the batch size (1,000) cost a walk of up to 1,000
  per receipt. Window 0 ("unlimited") would skip the walk but break the broker's limit. Here
  the window is set at each CONNACK to the broker's Receive Maximum, at most ``max_window``
  (64): the limit holds, order is kept (paho sends queued messages in publish order), a
  publisher never blocks (beyond the window, paho queues), and the walk is at most 64 long.
  PUBACKs without a reason code or properties are handled without building a ``ReasonCode``
  and a ``Properties`` when no ``on_publish`` callback is set.

This reaches into paho's internals (``_sock_recv``, ``_in_packet``, ``_packet_handle``,
``_handle_publish``, ``_handle_pubackcomp``, ``_handle_connack``, ``_packet_queue``,
``_out_messages``): pyproject.toml pins paho-mqtt to the exact version it was written and
tested against. tests/integration/test_mqtt_client.py covers reconnects, packets split into
1–7 byte pieces, session takeover and payloads larger than the buffer with the real Mosquitto.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.client import time_func
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket

#: One ``recv()`` asks for this many bytes (more when the packet being read needs more).
READ_SIZE = 64 * 1024
#: MQTT 5's Receive Maximum when the broker announces none.
DEFAULT_RECEIVE_MAXIMUM = 65535
#: The in-flight window is the broker's Receive Maximum, at most this: paho's
#: ``_update_inflight`` walks the messages in flight on every PUBACK, so the window bounds it.
MAX_WINDOW = 64

_PUBLISH = 0x30
_PUBACK = 0x40
_PUBACK_OF = struct.Struct("!BBH")
#: Incoming messages get this instead of an MQTTMessageInfo each (nobody waits on them).
_NO_INFO = mqtt.MQTTMessageInfo(0)

_SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS
_AGAIN = MQTTErrorCode.MQTT_ERR_AGAIN
_CONN_LOST = MQTTErrorCode.MQTT_ERR_CONN_LOST
_PROTOCOL = MQTTErrorCode.MQTT_ERR_PROTOCOL


class FastClient(mqtt.Client):
    """paho's ``Client`` with buffered reads, batch acknowledgements and a lean PUBLISH path
    (see the module docstring). Use it exactly as ``mqtt.Client``; :meth:`ack_many` is new."""

    def __init__(
        self, *args: Any, read_size: int = READ_SIZE, max_window: int = MAX_WINDOW, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.read_size = read_size
        self._rbuf = b""
        self._rpos = 0
        self._rneed = 0  # bytes the packet at _rpos needs in all, when known
        self._rsock: Any = None
        #: The broker's Receive Maximum from its last CONNACK (MQTT 5; 65535 if it named none).
        self.server_receive_maximum = DEFAULT_RECEIVE_MAXIMUM
        #: The most QoS>0 messages this client has unacknowledged at once (see the module).
        self.max_window = max_window
        #: recv() calls and packets handled (for tests and the micro-bench).
        self.reads = 0
        self.packets = 0

    # ------------------------------------------------------------------ receive

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """One ``recv()``, then every complete packet in the buffer (``max_packets`` is
        ignored: stopping earlier would leave complete packets behind the ``select()``)."""
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        if self._sock is not self._rsock:  # a new connection: nothing of the old one is kept
            self._rbuf, self._rpos, self._rneed, self._rsock = b"", 0, 0, self._sock
        ended = self._fill()
        while True:
            if self._sock is None:  # a handler closed the connection
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            if self._sock is not self._rsock:  # a handler reconnected: the rest was the old one's
                self._rbuf, self._rpos, self._rneed, self._rsock = b"", 0, 0, self._sock
                return _SUCCESS
            rc = self._next_packet()
            if rc == _AGAIN:
                break
            if rc > 0:
                return self._loop_rc_handle(rc)
        if ended > 0:
            return self._loop_rc_handle(ended)
        return _SUCCESS

    def _packet_read(self) -> MQTTErrorCode:
        """paho's entry point for one packet, kept for any caller other than loop_read."""
        if self._sock is not self._rsock:
            self._rbuf, self._rpos, self._rneed, self._rsock = b"", 0, 0, self._sock
        rc = self._next_packet()
        if rc != _AGAIN:
            return rc
        ended = self._fill()
        return ended if ended > 0 else self._next_packet()

    def _fill(self) -> MQTTErrorCode:
        """One ``recv()`` into the buffer: SUCCESS, AGAIN (nothing to read) or CONN_LOST."""
        buf, pos = self._rbuf, self._rpos
        want = max(self.read_size, self._rneed - (len(buf) - pos))
        try:
            data = self._sock_recv(want)
        except BlockingIOError:
            return _AGAIN
        except OSError as err:  # TimeoutError included
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return _CONN_LOST
        self.reads += 1
        if not data:
            return _CONN_LOST
        self._rbuf = buf[pos:] + data if pos < len(buf) else data
        self._rpos = 0
        with self._msgtime_mutex:
            self._last_bytes_received = time_func()
        return _SUCCESS

    def _next_packet(self) -> MQTTErrorCode:
        """Handle the packet at the buffer's position if it is complete (AGAIN if not)."""
        buf, start = self._rbuf, self._rpos
        end_of_data = len(buf)
        if start >= end_of_data:
            return _AGAIN
        length = 0
        shift = 0
        i = start + 1
        while True:
            if i >= end_of_data:
                return _AGAIN
            byte = buf[i]
            i += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift >= 28:  # at most four bytes of remaining length
                return _PROTOCOL
        end = i + length
        if end > end_of_data:
            self._rneed = end - start
            return _AGAIN
        self._rneed = 0
        self._rpos = end
        packet = self._in_packet
        packet["command"] = buf[start]
        packet["have_remaining"] = 1
        packet["remaining_length"] = length
        packet["packet"] = buf[i:end]  # type: ignore[typeddict-item]  # bytes: paho reads both
        packet["to_process"] = 0
        packet["pos"] = 0
        self.packets += 1
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = _PROTOCOL
        packet["command"] = 0
        packet["have_remaining"] = 0
        packet["packet"] = b""  # type: ignore[typeddict-item]
        return rc

    def _handle_publish(self) -> MQTTErrorCode:
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if self._protocol != MQTTProtocolVersion.MQTTv5 or qos not in (0, 1):
            return super()._handle_publish()
        data = self._in_packet["packet"]
        size = len(data)
        if size < 3:
            return super()._handle_publish()
        end_of_topic = 2 + ((data[0] << 8) | data[1])
        mid = 0
        at = end_of_topic
        if qos:
            mid = (data[at] << 8) | data[at + 1] if at + 2 <= size else -1
            at += 2
        # the properties' length is one 0 byte when there are none; else paho decodes them
        if mid < 0 or at >= size or data[at] != 0:
            return super()._handle_publish()
        message = mqtt.MQTTMessage.__new__(mqtt.MQTTMessage)
        message.timestamp = time_func()
        message.state = mqtt.mqtt_ms_invalid
        message.dup = bool(header & 0x08)
        message.mid = mid
        message.topic = bytes(data[2:end_of_topic])
        message.payload = data[at + 1 :]
        message.qos = qos
        message.retain = bool(header & 0x01)
        message.info = _NO_INFO
        message.properties = None
        self._handle_on_message(message)
        if qos == 0 or self._manual_ack:
            return _SUCCESS
        return self._send_puback(mid)

    # ------------------------------------------------------------------ acknowledge

    def ack_many(self, received: Iterable[tuple[int, int]]) -> MQTTErrorCode:
        """Acknowledge (mid, qos) pairs in the order given: the QoS 1 PUBACKs as one write
        (QoS 2 ones through paho's ``ack``). Only with ``manual_ack``."""
        if not self._manual_ack:
            return _SUCCESS
        pack = _PUBACK_OF.pack
        pubacks = []
        for mid, qos in received:
            if qos == 1:
                pubacks.append(pack(_PUBACK, 2, mid))
            elif qos == 2:
                if pubacks:
                    self._packet_queue(_PUBACK, b"".join(pubacks), 0, 1)
                    pubacks = []
                self.ack(mid, qos)
        if not pubacks:
            return _SUCCESS
        return self._packet_queue(_PUBACK, b"".join(pubacks), 0, 1)

    # ------------------------------------------------------------------ publish

    def _handle_connack(self) -> MQTTErrorCode:
        """Before paho handles the CONNACK: take the broker's Receive Maximum (MQTT 5; paho
        2.2.0 ignores it) as the in-flight window, at most ``max_window``, and put the
        outgoing messages back within it (paho sorted them with the previous window)."""
        if self._protocol == MQTTProtocolVersion.MQTTv5:
            try:
                decoded = _packet.decode_connack(
                    self._in_packet["command"], self._in_packet["packet"], self._protocol
                )
            except MalformedPacket:
                pass  # paho's own handling says so
            else:
                maximum = getattr(decoded.properties, "ReceiveMaximum", DEFAULT_RECEIVE_MAXIMUM)
                self.server_receive_maximum = int(maximum) or DEFAULT_RECEIVE_MAXIMUM
        window = min(self.server_receive_maximum, self.max_window)
        if window != self._max_inflight_messages:
            self._max_inflight_messages = window
            self._messages_reconnect_reset_out()
        return super()._handle_connack()

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        data = self._in_packet["packet"]
        lean = (
            (self._in_packet["command"] & 0xF0) == _PUBACK
            and self.on_publish is None
            and (len(data) == 2 or (len(data) in (3, 4) and not any(data[2:])))
        )
        if not lean:
            rc = super()._handle_pubackcomp(cmd)
        else:  # success, no properties, no callback: what _do_on_publish does, minus objects
            mid = (data[0] << 8) | data[1]
            with self._out_message_mutex:
                message = self._out_messages.pop(mid, None)
                if message is not None:
                    message.info._set_as_published()
                    if message.qos > 0:
                        self._inflight_messages -= 1
                        if self._max_inflight_messages > 0:
                            rc = self._update_inflight()
                            if rc != _SUCCESS:
                                return rc
            rc = _SUCCESS
        return rc
