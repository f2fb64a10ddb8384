"""The protobuf wire format, read by hand: enough to walk an ONNX ModelProto without onnx or protobuf.

Every read is bounds-checked against the enclosing record, so a truncated or hostile file raises
:class:`WireError` (``past_end`` when a record runs off its end) instead of reading past it.
Payloads are never copied: a length-delimited field is handed out as its ``(start, end)`` span
in the buffer (bytes, a memoryview or an mmap).
"""

from __future__ import annotations

import struct

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


class WireError(Exception):
    def __init__(self, message: str, past_end: bool = False):
        super().__init__(message)
        self.past_end = past_end


def varint(buf, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it) of the base-128 varint at ``pos``."""
    result, shift = 0, 0
    while True:
        if pos >= end:
            raise WireError("a number runs past the end of its record", past_end=True)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("a number is longer than 10 bytes")


def fields(buf, start: int, end: int):
    """Yield ``(field_number, wire_type, value)`` of the message in ``buf[start:end]``.

    ``value`` is an int for varints and fixed-size numbers (their raw bits, little-endian), and
    the ``(start, end)`` span of the payload for length-delimited fields.
    """
    pos = start
    while pos < end:
        key, pos = varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire == VARINT:
            value, pos = varint(buf, pos, end)
            yield number, wire, value
        elif wire == LEN:
            length, pos = varint(buf, pos, end)
            if pos + length > end:
                raise WireError(f"a record of {length} bytes at byte {pos} runs past the end", past_end=True)
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > end:
                raise WireError("a fixed-size number runs past the end", past_end=True)
            yield number, wire, int.from_bytes(bytes(buf[pos:pos + size]), "little")
            pos += size
        else:
            raise WireError(f"unknown wire type {wire} at byte {pos}")


def submessages(buf, span, wanted: dict[int, str]):
    """``(number, span)`` of the length-delimited fields of the message at ``span`` whose number is in ``wanted``."""
    for number, wire, value in fields(buf, *span):
        if number in wanted:
            if wire != LEN:
                raise WireError(f"field {wanted[number]} has the wrong wire type {wire}")
            yield number, value


def text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", errors="replace")


def signed64(value: int) -> int:
    """An int64 field's value: protobuf writes negative numbers as their 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def float32(bits: int) -> float:
    return struct.unpack("<f", bits.to_bytes(4, "little"))[0]


def repeated_ints(buf, wire: int, value) -> list[int]:
    """The int64 values of one occurrence of a repeated int field: packed (a LEN span) or one plain varint."""
    if wire == VARINT:
        return [signed64(value)]
    if wire != LEN:
        raise WireError(f"a repeated integer field has wire type {wire}")
    out, pos, end = [], value[0], value[1]
    while pos < end:
        number, pos = varint(buf, pos, end)
        out.append(signed64(number))
    return out


def repeated_floats(buf, wire: int, value) -> list[float]:
    """The float32 values of one occurrence of a repeated float field: packed or one plain fixed32."""
    if wire == FIXED32:
        return [float32(value)]
    if wire != LEN:
        raise WireError(f"a repeated float field has wire type {wire}")
    start, end = value
    if (end - start) % 4:
        raise WireError("a packed float field's length is not a multiple of 4")
    return list(struct.unpack(f"<{(end - start) // 4}f", bytes(buf[start:end])))
