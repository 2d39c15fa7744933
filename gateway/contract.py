"""What the service's contract refuses, checked before the gateway keeps a message: a message it
keeps must be one the service can take, or it would wait in the outbox — and be published again
and again — for a receipt that never comes.

* **Size**: the service refuses a payload over :data:`MAX_PAYLOAD_BYTES` (64 KiB, ``too_large``,
  docs/contracts/README.md); the broker drops anything over its ``max_packet_size`` (256 KiB)
  without a word and closes the connection, so neither would ever get a receipt the gateway can
  match.
* **Shape**: the contract's JSON Schemas (``gateway/schemas/`` — copies of
  ``docs/contracts/schemas/`` reading, report, call-request, message-read and tablet, written by
  ``dho docs schemas``; a test keeps them equal), the same the service validates with.

Pure: bytes in, a :class:`ContractError` (with the receipt's ``reason_code``) or nothing out.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

#: The service's limit on one message (``triage.ingest.pipeline.MAX_PAYLOAD_BYTES``): larger
#: ones are refused as ``too_large``; a reading is about 300 bytes.
MAX_PAYLOAD_BYTES = 64 * 1024

#: The contract schema of each channel (``gateway.outbox.Channel`` values), and of the tablet
#: state the service sends (``tablet``, checked in ``gateway.tablet.state``).
_SCHEMA_FILES = {
    "readings": "reading.json",
    "reports": "report.json",
    "calls": "call-request.json",
    "message-reads": "message-read.json",
    "tablet": "tablet.json",
}


class ContractError(ValueError):
    """A message the service would refuse: ``reason_code`` as a receipt would give it
    (``too_large``, ``schema``), the message says what is wrong."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


@cache
def _validator(channel: str) -> Draft202012Validator:
    text = resources.files("gateway").joinpath("schemas", _SCHEMA_FILES[channel]).read_text()
    return Draft202012Validator(json.loads(text))


def check_size(payload: bytes) -> None:
    """Raise :class:`ContractError` (``too_large``) for a payload over the service's limit."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(
            "too_large",
            f"the message is {len(payload)} bytes; the service takes at most "
            f"{MAX_PAYLOAD_BYTES} (64 KiB)",
        )


def check_message(channel: str, payload: bytes) -> None:
    """Raise :class:`ContractError` when the service would refuse ``payload`` on ``channel``
    (``readings``, ``reports``, ``calls``, ``message-reads``) for its size or its shape; for
    ``tablet``, when the service's state message is not the contract's shape."""
    check_size(payload)
    try:
        document: Any = json.loads(payload)
    except ValueError as err:  # UnicodeDecodeError is a ValueError too
        raise ContractError("schema", f"the message is not JSON: {err}") from err
    error = best_match(_validator(channel).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the message"
        raise ContractError("schema", f"{where}: {error.message}")
