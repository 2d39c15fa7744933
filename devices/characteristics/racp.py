"""Record Access Control Point (0x2A52): how the gateway asks a meter for its stored records.

Layout (Bluetooth SIG, GATT Specification Supplement, org.bluetooth.characteristic.
record_access_control_point; Glucose Service 1.0 §3.4 for the glucose operands): op code
(uint8) · operator (uint8) · operand (variable).

The collector (our gateway) *writes* requests; the meter *indicates* responses:

* requests — op code 1 "report stored records", 2 "delete stored records", 4 "report number
  of stored records", each with an operator: 1 all records, 5 first, 6 last (no operand), or
  2 "less than or equal to", 3 "greater than or equal to", 4 "within range of (inclusive)",
  whose operand is a filter type (uint8) and its parameter(s). The Glucose Service defines
  filter type 1, sequence number (uint16; two of them for a range), and 2, user facing time
  (Date Time). Op code 3 "abort operation" takes the Null operator (0) and no operand.
* responses — op code 5 "number of stored records response" (Null operator, uint16 count; the
  Glucose Service fixes the count's size), and op code 6 "response code" (Null operator, the
  request's op code and a response code value). The stored records themselves arrive on their
  own characteristics (0x2A18, 0x2A34), before the response code that ends the procedure.

:func:`decode` (registered for 0x2A52 in ``devices.decode``) reads responses, and refuses a
request or an operator other than Null with a :class:`DecodeError`. :func:`decode_request`
reads requests (for emulated meters); it parses the sequence-number filter and keeps any other
filter type as its code only, so an emulated meter can answer "operand not supported" the way
Nordic's reference glucose sensor does for user facing time. Codes the specification reserves
stay plain ``int`` (unknown op codes, operators, filter types, response codes never fail a
decode). Trailing bytes are tolerated.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from devices.errors import DecodeError
from devices.measurement import Measurement, UInt8, UInt16, known_code
from devices.reader import ByteReader

UUID = 0x2A52


class OpCode(IntEnum):
    REPORT_STORED_RECORDS = 1
    DELETE_STORED_RECORDS = 2
    ABORT_OPERATION = 3
    REPORT_NUMBER_OF_STORED_RECORDS = 4
    NUMBER_OF_STORED_RECORDS_RESPONSE = 5
    RESPONSE_CODE = 6


class Operator(IntEnum):
    NULL = 0
    ALL_RECORDS = 1
    LESS_THAN_OR_EQUAL_TO = 2
    GREATER_THAN_OR_EQUAL_TO = 3
    WITHIN_RANGE_OF = 4  # inclusive
    FIRST_RECORD = 5
    LAST_RECORD = 6


class FilterType(IntEnum):
    """Glucose Service filter types (the operand's first byte for operators 2, 3 and 4)."""

    SEQUENCE_NUMBER = 1
    USER_FACING_TIME = 2


class ResponseCode(IntEnum):
    SUCCESS = 1
    OP_CODE_NOT_SUPPORTED = 2
    INVALID_OPERATOR = 3
    OPERATOR_NOT_SUPPORTED = 4
    INVALID_OPERAND = 5
    NO_RECORDS_FOUND = 6
    ABORT_UNSUCCESSFUL = 7
    PROCEDURE_NOT_COMPLETED = 8
    OPERAND_NOT_SUPPORTED = 9


#: Op codes whose operator may carry a filter operand.
RECORD_OP_CODES = frozenset(
    {
        OpCode.REPORT_STORED_RECORDS,
        OpCode.DELETE_STORED_RECORDS,
        OpCode.REPORT_NUMBER_OF_STORED_RECORDS,
    }
)
#: Operators followed by a filter type and its parameter(s).
FILTER_OPERATORS = frozenset(
    {Operator.LESS_THAN_OR_EQUAL_TO, Operator.GREATER_THAN_OR_EQUAL_TO, Operator.WITHIN_RANGE_OF}
)


class RacpRequest(Measurement):
    """A request written to the control point, as its bytes say.

    For the sequence-number filter, ``minimum`` and ``maximum`` bound the records asked for:
    "greater than or equal to" sets ``minimum``, "less than or equal to" ``maximum``, "within
    range of" both (in the order the request gives them, even if reversed: the meter judges).
    """

    opcode: Annotated[UInt8, known_code(OpCode)]
    operator: Annotated[UInt8, known_code(Operator)]
    filter_type: Annotated[UInt8, known_code(FilterType)] | None = None
    minimum: UInt16 | None = None
    maximum: UInt16 | None = None


class RacpNumberOfRecords(Measurement):
    """Op code 5: how many stored records match the request."""

    number_of_records: UInt16


class RacpResponseCode(Measurement):
    """Op code 6: the outcome of the request with op code ``request_opcode``."""

    request_opcode: Annotated[UInt8, known_code(OpCode)]
    response_code: Annotated[UInt8, known_code(ResponseCode)]

    @property
    def succeeded(self) -> bool:
        """The procedure completed (every matching record was sent, deleted or counted)."""
        return self.response_code == ResponseCode.SUCCESS


RacpResponse = RacpNumberOfRecords | RacpResponseCode

_WHAT = "Record Access Control Point (0x2A52)"


def _name(code: int, enum: type[IntEnum]) -> str:
    try:
        return f"{code} ({enum(code).name.lower().replace('_', ' ')})"
    except ValueError:
        return f"{code} (reserved)"


def decode(data: bytes) -> RacpResponse:
    """Decode a response a meter indicates: number of stored records, or response code."""
    reader = ByteReader(data, _WHAT)
    opcode = reader.u8("op code")
    operator = reader.u8("operator")
    if opcode not in (OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, OpCode.RESPONSE_CODE):
        raise DecodeError(
            f"{_WHAT}: op code {_name(opcode, OpCode)} is not a response; a meter indicates "
            "op code 5 (number of stored records response) or 6 (response code)"
        )
    if operator != Operator.NULL:
        raise DecodeError(
            f"{_WHAT}: a response has the Null operator (0), got {_name(operator, Operator)}"
        )
    if opcode == OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE:
        return RacpNumberOfRecords(number_of_records=reader.u16("number of records"))
    return RacpResponseCode(
        request_opcode=reader.u8("request op code"),
        response_code=reader.u8("response code value"),
    )


def decode_request(data: bytes) -> RacpRequest:
    """Decode a request the gateway writes (for emulated meters)."""
    reader = ByteReader(data, _WHAT)
    opcode = reader.u8("op code")
    operator = reader.u8("operator")
    if opcode not in RECORD_OP_CODES or operator not in FILTER_OPERATORS:
        return RacpRequest(opcode=opcode, operator=operator)
    filter_type = reader.u8("filter type")
    if filter_type != FilterType.SEQUENCE_NUMBER:
        return RacpRequest(opcode=opcode, operator=operator, filter_type=filter_type)
    minimum = maximum = None
    if operator == Operator.LESS_THAN_OR_EQUAL_TO:
        maximum = reader.u16("maximum sequence number")
    elif operator == Operator.GREATER_THAN_OR_EQUAL_TO:
        minimum = reader.u16("minimum sequence number")
    else:
        minimum = reader.u16("minimum sequence number")
        maximum = reader.u16("maximum sequence number")
    return RacpRequest(
        opcode=opcode, operator=operator, filter_type=filter_type, minimum=minimum, maximum=maximum
    )


def encode_request(request: RacpRequest) -> bytes:
    """The bytes the gateway writes for ``request``.

    Raises ``ValueError`` for a request that cannot be written as given: a filter operator
    without the sequence-number filter and its bound(s), or bounds on an operator without an
    operand. Other filter types are not written (our meters are asked by sequence number).
    """
    head = bytes((request.opcode, request.operator))
    takes_filter = request.opcode in RECORD_OP_CODES and request.operator in FILTER_OPERATORS
    if not takes_filter:
        if (request.filter_type, request.minimum, request.maximum) != (None, None, None):
            raise ValueError(
                f"op code {_name(request.opcode, OpCode)} with operator "
                f"{_name(request.operator, Operator)} takes no filter"
            )
        return head
    if request.filter_type != FilterType.SEQUENCE_NUMBER:
        raise ValueError(
            f"only the sequence-number filter is written, not filter type {request.filter_type}"
        )
    # (minimum, maximum): which bounds the operator uses, and which the request has.
    uses = (
        request.operator in (Operator.GREATER_THAN_OR_EQUAL_TO, Operator.WITHIN_RANGE_OF),
        request.operator in (Operator.LESS_THAN_OR_EQUAL_TO, Operator.WITHIN_RANGE_OF),
    )
    if (request.minimum is not None, request.maximum is not None) != uses:
        wanted = " and ".join(
            name for name, used in zip(("minimum", "maximum"), uses, strict=True) if used
        )
        raise ValueError(
            f"operator {_name(request.operator, Operator)} needs exactly {wanted}, got "
            f"minimum={request.minimum} maximum={request.maximum}"
        )
    operand = bytes((FilterType.SEQUENCE_NUMBER,)) + b"".join(
        bound.to_bytes(2, "little")
        for bound in (request.minimum, request.maximum)
        if bound is not None
    )
    return head + operand


def encode_response(response: RacpResponse) -> bytes:
    """The bytes a meter indicates for ``response`` (for emulated meters)."""
    if isinstance(response, RacpNumberOfRecords):
        return bytes(
            (OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, Operator.NULL)
        ) + response.number_of_records.to_bytes(2, "little")
    return bytes(
        (OpCode.RESPONSE_CODE, Operator.NULL, response.request_opcode, response.response_code)
    )


# ---------------------------------------------------------------- what the gateway writes


def _records(opcode: OpCode, from_sequence_number: int | None) -> bytes:
    if from_sequence_number is None:
        return encode_request(RacpRequest(opcode=opcode, operator=Operator.ALL_RECORDS))
    if not 0 <= from_sequence_number <= 0xFFFF:
        raise ValueError(
            f"sequence number {from_sequence_number} is outside 0-65535 (a uint16); after "
            "record 65535 there is no later one to ask for"
        )
    return encode_request(
        RacpRequest(
            opcode=opcode,
            operator=Operator.GREATER_THAN_OR_EQUAL_TO,
            filter_type=FilterType.SEQUENCE_NUMBER,
            minimum=from_sequence_number,
        )
    )


def report_all_records() -> bytes:
    """Ask the meter to send every stored record: ``01 01``."""
    return _records(OpCode.REPORT_STORED_RECORDS, None)


def report_records_from(sequence_number: int) -> bytes:
    """Ask for the records with sequence number ≥ ``sequence_number`` (last seen + 1)."""
    return _records(OpCode.REPORT_STORED_RECORDS, sequence_number)


def number_of_all_records() -> bytes:
    """Ask how many records the meter stores: ``04 01``."""
    return _records(OpCode.REPORT_NUMBER_OF_STORED_RECORDS, None)


def number_of_records_from(sequence_number: int) -> bytes:
    """Ask how many stored records have sequence number ≥ ``sequence_number``."""
    return _records(OpCode.REPORT_NUMBER_OF_STORED_RECORDS, sequence_number)


def delete_all_records() -> bytes:
    """Ask the meter to delete every stored record: ``02 01`` (meters may refuse)."""
    return _records(OpCode.DELETE_STORED_RECORDS, None)


def abort_operation() -> bytes:
    """Ask the meter to stop the procedure under way: ``03 00``."""
    return encode_request(RacpRequest(opcode=OpCode.ABORT_OPERATION, operator=Operator.NULL))
