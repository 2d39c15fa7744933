"""Record Access Control Point (0x2A52): the meter's responses, the gateway's requests.

Vector sources (read for their bytes, never copied as code):

* Nordic Semiconductor, Android-BLE-Common-Library, ``RecordAccessControlPointDataCallbackTest``
  (ble-common/src/test/.../callback/): response codes and number-of-records responses.
* ehealthinnovation, AndroidBLEParser, ``glucose/RacpComposerTest.kt``: request bytes for
  ranges, user facing time and abort.
* Nordic nRF5 SDK ``ble_gls.c`` (the reference glucose sensor): a "greater than or equal to"
  sequence-number request has a 3-byte operand (filter type + uint16); a user-facing-time filter
  is answered "operand not supported".
* Bluetooth SIG characteristic definition org.bluetooth.characteristic.record_access_control_
  point (mirrored in the public ``oesmith/gatt-xml`` repository): op codes, operators and
  response code values. Other vectors are hand-built from that layout, bytes explained.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import devices
from devices import DecodeError
from devices.characteristics import racp
from devices.characteristics.racp import (
    FilterType,
    OpCode,
    Operator,
    RacpNumberOfRecords,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
    ResponseCode,
    decode,
    decode_request,
    encode_request,
    encode_response,
)

# ---------------------------------------------------------------- responses the meter indicates


@pytest.mark.parametrize(
    ("data", "request_opcode", "response_code"),
    [
        # Nordic's vectors: 06 00 <request op code> <response code value>.
        ([6, 0, 1, 1], OpCode.REPORT_STORED_RECORDS, ResponseCode.SUCCESS),
        ([6, 0, 12, 2], 12, ResponseCode.OP_CODE_NOT_SUPPORTED),  # request op code 12: reserved
        ([6, 0, 1, 3], OpCode.REPORT_STORED_RECORDS, ResponseCode.INVALID_OPERATOR),
        ([6, 0, 2, 4], OpCode.DELETE_STORED_RECORDS, ResponseCode.OPERATOR_NOT_SUPPORTED),
        ([6, 0, 1, 5], OpCode.REPORT_STORED_RECORDS, ResponseCode.INVALID_OPERAND),
        ([6, 0, 1, 6], OpCode.REPORT_STORED_RECORDS, ResponseCode.NO_RECORDS_FOUND),
        ([6, 0, 3, 7], OpCode.ABORT_OPERATION, ResponseCode.ABORT_UNSUCCESSFUL),
        ([6, 0, 2, 8], OpCode.DELETE_STORED_RECORDS, ResponseCode.PROCEDURE_NOT_COMPLETED),
        ([6, 0, 2, 9], OpCode.DELETE_STORED_RECORDS, ResponseCode.OPERAND_NOT_SUPPORTED),
        ([6, 0, 1, 10], OpCode.REPORT_STORED_RECORDS, 10),  # a reserved code value, kept
        # Hand-built: the count request answered with success.
        ([6, 0, 4, 1], OpCode.REPORT_NUMBER_OF_STORED_RECORDS, ResponseCode.SUCCESS),
    ],
)
def test_response_code(data: list[int], request_opcode: int, response_code: int) -> None:
    """The gateway learns which request ended and how, even for codes the spec reserves."""
    value = devices.decode("2a52", bytes(data))
    assert value == RacpResponseCode(request_opcode=request_opcode, response_code=response_code)
    assert value.model_dump() == {"request_opcode": request_opcode, "response_code": response_code}


def test_response_codes_are_the_specifications() -> None:
    """Response code values 1-9 are named as the specification names them."""
    assert {code.value: code.name for code in ResponseCode} == {
        1: "SUCCESS",
        2: "OP_CODE_NOT_SUPPORTED",
        3: "INVALID_OPERATOR",
        4: "OPERATOR_NOT_SUPPORTED",
        5: "INVALID_OPERAND",
        6: "NO_RECORDS_FOUND",
        7: "ABORT_UNSUCCESSFUL",
        8: "PROCEDURE_NOT_COMPLETED",
        9: "OPERAND_NOT_SUPPORTED",
    }


def test_succeeded_is_true_only_for_success() -> None:
    """Only "success" ends a transfer as complete; "no records found" is a separate answer."""
    value = decode(bytes([6, 0, 1, 1]))
    assert isinstance(value, RacpResponseCode)
    assert value.succeeded
    assert not RacpResponseCode(request_opcode=1, response_code=6).succeeded


@pytest.mark.parametrize(
    ("data", "count"),
    [
        ([5, 0, 2, 1], 258),  # Nordic's uint16 vector: 0x0102, little-endian
        ([5, 0, 0, 0], 0),  # hand-built: an empty meter
        ([5, 0, 0xFF, 0xFF], 65535),  # hand-built: the largest count
        ([5, 0, 0x2A, 0, 0x99], 42),  # hand-built: a trailing byte is tolerated
    ],
)
def test_number_of_stored_records(data: list[int], count: int) -> None:
    """The meter's record count reads as a little-endian uint16."""
    assert devices.decode("2a52", bytes(data)) == RacpNumberOfRecords(number_of_records=count)


def test_one_byte_count_is_refused() -> None:
    """Nordic's parser also accepts a 1-byte count; the Glucose Service fixes it at uint16."""
    with pytest.raises(DecodeError, match="truncated before 'number of records'"):
        decode(bytes([5, 0, 1]))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # Nordic's invalid vectors: a request is not a response, and a response's operator is
        # Null.
        ([1, 1], "op code 1 \\(report stored records\\) is not a response"),
        ([1, 3, 1, 2, 0], "op code 1 \\(report stored records\\) is not a response"),
        ([6, 1, 1], "a response has the Null operator \\(0\\), got 1 \\(all records\\)"),
        # Hand-built: reserved op codes and the abort request.
        ([0, 0], "op code 0 \\(reserved\\) is not a response"),
        ([7, 0, 1], "op code 7 \\(reserved\\) is not a response"),
        ([3, 0], "op code 3 \\(abort operation\\) is not a response"),
    ],
)
def test_what_is_not_a_response_is_refused(data: list[int], message: str) -> None:
    """Bytes that are not a meter's response are refused with the reason."""
    with pytest.raises(DecodeError, match=message):
        devices.decode("2a52", bytes(data))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "op code"),
        (b"\x06", "operator"),
        (b"\x06\x00", "request op code"),
        (b"\x06\x00\x01", "response code value"),
        (b"\x05\x00", "number of records"),
        (b"\x05\x00\x01", "number of records"),
    ],
)
def test_truncated_response_names_the_field(data: bytes, field: str) -> None:
    """A response cut short says which field is missing."""
    with pytest.raises(DecodeError, match=f"truncated before '{field}'"):
        decode(data)


responses = st.one_of(
    st.builds(RacpNumberOfRecords, number_of_records=st.integers(0, 0xFFFF)),
    st.builds(
        RacpResponseCode,
        request_opcode=st.integers(0, 0xFF),
        response_code=st.integers(0, 0xFF),
    ),
)


@given(responses)
def test_response_encode_decode_round_trip(response: RacpResponse) -> None:
    """Whatever an emulated meter answers, the gateway reads the same answer."""
    assert decode(encode_response(response)) == response


def test_encode_response_bytes() -> None:
    """An emulated meter answers with exactly the bytes a real one sends."""
    assert encode_response(RacpNumberOfRecords(number_of_records=258)) == bytes([5, 0, 2, 1])
    assert encode_response(RacpResponseCode(request_opcode=1, response_code=6)) == bytes(
        [6, 0, 1, 6]
    )


# ---------------------------------------------------------------- requests the gateway writes


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        # 01 01: report stored records, all records (no operand).
        (racp.report_all_records(), "0101"),
        # 01 03 01 3412: report, >=, filter type 1 (sequence number), 0x1234 little-endian.
        (racp.report_records_from(0x1234), "0103013412"),
        (racp.report_records_from(0), "0103010000"),
        (racp.report_records_from(0xFFFF), "010301ffff"),
        # 04 01 and 04 03 01 0700: the same for "report number of stored records".
        (racp.number_of_all_records(), "0401"),
        (racp.number_of_records_from(7), "0403010700"),
        # 02 01: delete all; 03 00: abort with the Null operator (ehealthinnovation's vector).
        (racp.delete_all_records(), "0201"),
        (racp.abort_operation(), "0300"),
    ],
)
def test_gateway_requests_are_the_spec_bytes(built: bytes, expected: str) -> None:
    """The gateway writes exactly the bytes a meter expects, little-endian sequence number."""
    assert built.hex() == expected


@pytest.mark.parametrize("sequence_number", [-1, 0x10000])
def test_sequence_number_outside_uint16_is_refused(sequence_number: int) -> None:
    """After record 65535 there is nothing later to ask for: the gateway gets a clear error."""
    with pytest.raises(ValueError, match="outside 0-65535"):
        racp.report_records_from(sequence_number)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # What the gateway sends, as the emulated meter reads it.
        (
            "0103013412",
            RacpRequest(
                opcode=OpCode.REPORT_STORED_RECORDS,
                operator=Operator.GREATER_THAN_OR_EQUAL_TO,
                filter_type=FilterType.SEQUENCE_NUMBER,
                minimum=0x1234,
            ),
        ),
        ("0101", RacpRequest(opcode=1, operator=1)),
        ("0300", RacpRequest(opcode=3, operator=0)),
        # ehealthinnovation: report number within range 12..34: 04 04 01 0c00 2200.
        (
            "0404010c002200",
            RacpRequest(opcode=4, operator=4, filter_type=1, minimum=12, maximum=34),
        ),
        # ehealthinnovation: delete within range 12..34.
        (
            "0204010c002200",
            RacpRequest(opcode=2, operator=4, filter_type=1, minimum=12, maximum=34),
        ),
        # Hand-built: report <= 0x0100 (records up to 256), then first and last record.
        ("0102010001", RacpRequest(opcode=1, operator=2, filter_type=1, maximum=256)),
        ("0105", RacpRequest(opcode=1, operator=5)),
        ("0106", RacpRequest(opcode=1, operator=6)),
        # ehealthinnovation: >= user facing time 2018-11-12 01:02:03 (filter type 2): kept as
        # the filter type only, so the emulated meter answers "operand not supported".
        ("010302e2070b0c010203", RacpRequest(opcode=1, operator=3, filter_type=2)),
        # Hand-built: a reversed range is read as written; the meter judges it.
        (
            "0104012200" + "0c00",
            RacpRequest(opcode=1, operator=4, filter_type=1, minimum=34, maximum=12),
        ),
        # Hand-built: reserved op code, reserved operator, reserved filter type are kept.
        ("0700", RacpRequest(opcode=7, operator=0)),
        ("0109", RacpRequest(opcode=1, operator=9)),
        ("010309", RacpRequest(opcode=1, operator=3, filter_type=9)),
        # Hand-built: a response written to the meter is a request it does not support.
        ("06000101", RacpRequest(opcode=6, operator=0)),
    ],
)
def test_decode_request(data: str, expected: RacpRequest) -> None:
    """The emulated meter reads what the gateway wrote, or enough of it to answer properly."""
    assert decode_request(bytes.fromhex(data)) == expected


def test_request_codes_become_named_members() -> None:
    """Known codes in a request come back as their names, unknown ones as plain numbers."""
    request = decode_request(bytes.fromhex("0103013412"))
    assert request.opcode is OpCode.REPORT_STORED_RECORDS
    assert request.operator is Operator.GREATER_THAN_OR_EQUAL_TO
    assert request.filter_type is FilterType.SEQUENCE_NUMBER
    assert type(decode_request(bytes.fromhex("0109")).operator) is int


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("", "op code"),
        ("01", "operator"),
        ("0103", "filter type"),
        ("010301", "minimum sequence number"),
        ("01030134", "minimum sequence number"),
        ("010201", "maximum sequence number"),
        ("0104010c00", "maximum sequence number"),
        ("040401", "minimum sequence number"),
    ],
)
def test_truncated_request_names_the_field(data: str, field: str) -> None:
    """A request cut short says which field is missing (the meter answers "invalid operand")."""
    with pytest.raises(DecodeError, match=f"truncated before '{field}'"):
        decode_request(bytes.fromhex(data))


def test_trailing_bytes_after_a_request_are_tolerated() -> None:
    """Bytes after a complete request do not change what it asks for."""
    assert decode_request(bytes.fromhex("0101ffff")) == RacpRequest(opcode=1, operator=1)


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"opcode": 1, "operator": 3, "filter_type": 1}, "needs exactly minimum, got"),
        ({"opcode": 1, "operator": 2, "filter_type": 1, "minimum": 3}, "needs exactly maximum"),
        ({"opcode": 4, "operator": 4, "filter_type": 1, "minimum": 3}, "minimum and maximum"),
        ({"opcode": 1, "operator": 3, "minimum": 3}, "not filter type None"),
        ({"opcode": 1, "operator": 3, "filter_type": 2, "minimum": 3}, "not filter type 2"),
        ({"opcode": 1, "operator": 1, "minimum": 3}, "takes no filter"),
        ({"opcode": 3, "operator": 3, "filter_type": 1, "minimum": 3}, "takes no filter"),
    ],
)
def test_unwritable_request_is_refused(request_fields: dict[str, Any], message: str) -> None:
    """The gateway cannot send a request whose operand does not match its operator."""
    with pytest.raises(ValueError, match=message):
        encode_request(RacpRequest(**request_fields))


@st.composite
def requests(draw: st.DrawFn) -> RacpRequest:
    """Every request the gateway can write: filtered by sequence number, or without operand."""
    opcode = draw(st.integers(0, 0xFF))
    operator = draw(st.integers(0, 0xFF))
    if opcode in racp.RECORD_OP_CODES and operator in racp.FILTER_OPERATORS:
        bound = st.integers(0, 0xFFFF)
        return RacpRequest(
            opcode=opcode,
            operator=operator,
            filter_type=FilterType.SEQUENCE_NUMBER,
            minimum=draw(bound) if operator != Operator.LESS_THAN_OR_EQUAL_TO else None,
            maximum=draw(bound) if operator != Operator.GREATER_THAN_OR_EQUAL_TO else None,
        )
    return RacpRequest(opcode=opcode, operator=operator)


@given(requests())
def test_request_encode_decode_round_trip(request: RacpRequest) -> None:
    """Whatever the gateway writes, the emulated meter reads the same request."""
    assert decode_request(encode_request(request)) == request


@settings(max_examples=300)
@given(data=st.binary(max_size=40))
def test_random_bytes_give_a_response_or_a_decode_error(data: bytes) -> None:
    """Whatever a broken meter indicates, decoding never fails with another error."""
    try:
        value = devices.decode("2a52", data)
    except DecodeError:
        return
    assert isinstance(value, RacpNumberOfRecords | RacpResponseCode)


@settings(max_examples=300)
@given(data=st.binary(max_size=40))
def test_random_bytes_give_a_request_or_a_decode_error(data: bytes) -> None:
    """Whatever bytes reach the emulated meter, reading them never fails with another error."""
    try:
        value = decode_request(data)
    except DecodeError:
        return
    assert isinstance(value, RacpRequest)
