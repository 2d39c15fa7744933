"""The service's log lines carry the ``extra=`` fields an operator needs (job, reason, gateway,
topic…) as ``key=value`` pairs, one record per line whatever the values hold."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from triage.log_format import FieldsFormatter


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the service's formatter into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(FieldsFormatter())
    logger = logging.getLogger("tests.log_format")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_extra_fields_follow_the_message_in_order(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    """A rejected message's line names its reason, gateway and topic, not only "rejected"."""
    logger, out = lines
    logger.info(
        "message rejected",
        extra={"reason_code": "schema", "gateway_id": "gw-1", "topic": "dho/v1/gw-1/readings"},
    )
    line = out.getvalue()
    assert line.endswith(
        " INFO tests.log_format: message rejected"
        " reason_code=schema gateway_id=gw-1 topic=dho/v1/gw-1/readings\n"
    )


def test_values_that_would_break_the_line_are_quoted(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    """Spaces, quotes, newlines, NUL and non-ASCII from a gateway stay inside one quoted field."""
    logger, out = lines
    logger.warning(
        "job run finished",
        extra={
            "error": 'ValueError: bad "x"',
            "topic": "dho/v1/a\nFAKE INFO forged line",
            "id": "a\x00b",
            "name_nb": "Blåbær",
            "empty": "",
            "counts": {"alerts_opened": 2, "checked": 5},
            "run_id": 7,
            "ok": None,
        },
    )
    line = out.getvalue()
    assert line.count("\n") == 1
    assert line.endswith(
        ' job run finished error="ValueError: bad \\"x\\""'
        ' topic="dho/v1/a\\nFAKE INFO forged line" id="a\\u0000b" name_nb="Bl\\u00e5b\\u00e6r"'
        ' empty="" counts={"alerts_opened":2,"checked":5} run_id=7 ok=None\n'
    )


def test_a_record_without_fields_is_the_plain_line(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    """Lines without ``extra=`` read as before; ``%s`` arguments are filled in."""
    logger, out = lines
    logger.info("subscribed as %s: ingest is ready", "dho-ingest-1")
    assert out.getvalue().endswith(
        " INFO tests.log_format: subscribed as dho-ingest-1: ingest is ready\n"
    )


def test_the_fields_stay_on_the_first_line_above_the_traceback(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    """With an exception, the fields are on the line an operator greps; the traceback follows."""
    logger, out = lines
    try:
        raise RuntimeError("database went away")
    except RuntimeError:
        logger.exception("job run broke off", extra={"job": "escalation", "run_id": 3})
    first, *rest = out.getvalue().splitlines()
    assert first.endswith("job run broke off job=escalation run_id=3")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: database went away"


def test_uvicorn_colour_copy_is_left_out(lines: tuple[logging.Logger, io.StringIO]) -> None:
    """uvicorn passes a coloured copy of its message as ``color_message``; it is not repeated."""
    logger, out = lines
    logger.info("Started server process [%d]", 42, extra={"color_message": "\x1b[36m%d\x1b[0m"})
    assert out.getvalue().endswith("Started server process [42]\n")
