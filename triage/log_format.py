"""The service's log line: time, level, logger and message, then the record's ``extra=`` fields.

``log.info("job run finished", extra={"job": "escalation", "status": "ok"})`` becomes::

    2026-12-07 03:00:00,123 INFO triage.jobs.runs: job run finished job=escalation status=ok

Fields follow the message as ``key=value`` pairs in the order they were given. A value that is
empty or holds a space, a quote, ``=``, a control character or anything beyond ASCII is written as
a JSON string (``reason="not a number"``), so a field holds whatever a gateway sent without
breaking the line (a newline in a topic cannot forge a second log line). Lists and dicts are
written as JSON. A traceback, if any, follows on the next lines as usual.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",  # Python 3.12+
    "color_message",  # uvicorn's copy of the message with terminal colours
}
_PLAIN = re.compile(r"[!#-<>-~]+")  # printable ASCII without space, '"' and '='


def render_value(value: Any) -> str:
    """``value`` as it appears after ``key=``: bare when plain, else JSON."""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=True, separators=(",", ":"))
    text = value if isinstance(value, str) else str(value)
    return text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=True)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given with ``extra=``, in their order."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and not key.startswith("_")
    }


class FieldsFormatter(logging.Formatter):
    """:data:`LINE_FORMAT` followed by the record's ``extra=`` fields as ``key=value`` pairs."""

    def __init__(self, fmt: str = LINE_FORMAT) -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        fields = " ".join(f"{key}={render_value(v)}" for key, v in extra_fields(record).items())
        return f"{line} {fields}" if fields else line
