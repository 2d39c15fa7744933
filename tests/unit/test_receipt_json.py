"""The ingest worker serialises receipts without pydantic (triage/ingest/receipts.py,
``receipt_json``); the bytes must be those of the ``Receipt`` model's ``to_json()``.

Compared **byte for byte**, not as parsed JSON: a gateway that hashes, logs or diffs receipts
must see no change, and the byte comparison also catches a different time format (``Z`` versus
``+00:00``, microseconds), escaping (control characters, ``/``, non-ASCII as UTF-8 rather than
``\\u`` escapes) or key order, which parsing would hide.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.domain.colours import Colour, Text
from triage.ingest.pipeline import Channel, Flag, Outcome, OutcomeStatus
from triage.ingest.receipts import build_receipts, receipt_json

RECEIPTED = [Channel.READINGS, Channel.REPORTS, Channel.CALLS, Channel.MESSAGE_READS]
STATUSES = [OutcomeStatus.STORED, OutcomeStatus.DUPLICATE, OutcomeStatus.REJECTED]

#: Any text a plan, a reason or an id could hold (no lone surrogates: not valid UTF-8 at all).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
ids = st.one_of(st.none(), texts, st.uuids().map(str))
advice = st.one_of(
    st.none(),
    st.builds(Text, nb=texts, en=texts),
    st.just(Text(nb="Ring legevakten på 116 117 nå. Ærlig talt: «ø»", en="Call 116 117 now.")),
)
flags = st.lists(st.one_of(st.sampled_from([f.value for f in Flag]), texts), max_size=4).map(tuple)
times = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001  # hypothesis wants naive bounds
    max_value=datetime(2999, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)


def outcome(**fields: object) -> Outcome:
    base: dict[str, object] = {
        "gateway_id": "gw-1",
        "message_id": "m-1",
        "channel": Channel.READINGS,
        "status": OutcomeStatus.STORED,
        "receipt": True,
    }
    return Outcome(**{**base, **fields})  # type: ignore[arg-type]


outcomes = st.builds(
    outcome,
    message_id=ids,
    channel=st.sampled_from(RECEIPTED),
    status=st.sampled_from(STATUSES),
    colour=st.one_of(st.none(), st.sampled_from(list(Colour))),
    advice=advice,
    flags=flags,
    reason_code=st.one_of(st.none(), st.sampled_from(["schema", "implausible"]), texts),
    reason=st.one_of(st.none(), texts),
)


def model_json(gateway_id: str, items: list[Outcome], at: datetime) -> bytes:
    return build_receipts(items, at)[gateway_id].to_json()


@settings(max_examples=600, deadline=None)
@given(items=st.lists(outcomes, min_size=1, max_size=6), at=times, gateway=texts)
def test_direct_receipt_json_is_the_models_byte_for_byte(
    items: list[Outcome], at: datetime, gateway: str
) -> None:
    items = [replace(o, gateway_id=gateway) for o in items]
    assert receipt_json(gateway, items, at) == model_json(gateway, items, at)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 23, 7, 14, 7, 412000, tzinfo=UTC),
        datetime(2026, 11, 23, 7, 14, 7, tzinfo=UTC),  # no fraction
        datetime(2026, 3, 29, 1, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_every_status_colour_and_flag_once(at: datetime) -> None:
    items = [
        outcome(
            message_id=f"id-{status}-{colour}",
            channel=channel,
            status=status,
            colour=colour,
            advice=Text(nb="Mål igjen om 1 time.\nRing 113 ved «akutt»", en="Measure again\t/"),
            flags=tuple(f.value for f in Flag),
            reason_code="implausible" if status is OutcomeStatus.REJECTED else None,
            reason="spo2 30 % is outside 50–100 %" if status is OutcomeStatus.REJECTED else None,
        )
        for channel in RECEIPTED
        for status in STATUSES
        for colour in [None, *Colour]
    ]
    assert receipt_json("gw-1", items, at) == model_json("gw-1", items, at)


def test_what_the_model_refuses_is_refused() -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="no receipt"):
        receipt_json("gw-1", [outcome(channel=Channel.STATUS)], at)
    with pytest.raises(ValueError, match="no receipt"):
        receipt_json("gw-1", [outcome(status=OutcomeStatus.APPLIED)], at)
    with pytest.raises(ValueError, match="aware"):
        receipt_json("gw-1", [outcome()], datetime(2026, 11, 23))  # noqa: DTZ001
