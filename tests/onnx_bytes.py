"""Serialised ONNX models for tests, written field by field (protobuf wire format), without ``onnx``.

Only what tests/test_feedforward.py needs: a ModelProto with a graph of nodes (int, float, string,
ints and floats attributes), initializers (raw_data or the typed repeated fields) and named inputs
and outputs. Field numbers as in onnx/onnx.proto3.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from style_transfer.weights.onnx_wire import Graph

DATA_TYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.int32): 6}
DATA_TYPES[np.dtype(np.int64)] = 7


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers: 64-bit two's complement, as protobuf writes int32/int64
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def length_field(number: int, payload: bytes) -> bytes:
    return key(number, 2) + varint(len(payload)) + payload


def text_field(number: int, text: str) -> bytes:
    return length_field(number, text.encode())


def int_field(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def packed_ints(number: int, values: Any) -> bytes:
    return length_field(number, b"".join(varint(int(v)) for v in values))


def tensor(name: str, array: np.ndarray, raw: bool = True) -> bytes:
    """A TensorProto: dims packed, then raw_data (little-endian bytes) or the typed repeated field."""
    out = packed_ints(1, array.shape) + int_field(2, DATA_TYPES[array.dtype]) + text_field(8, name)
    if raw:
        return out + length_field(9, array.astype(array.dtype.newbyteorder("<")).tobytes())
    if array.dtype == np.float32:
        return out + length_field(4, struct.pack(f"<{array.size}f", *array.ravel()))
    return out + packed_ints(7 if array.dtype == np.int64 else 5, array.ravel())


def attribute(name: str, value: Any) -> bytes:
    """An AttributeProto of type INT (2), FLOAT (1), STRING (3), INTS (7) or FLOATS (6)."""
    out = text_field(1, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, str, tuple)):
        raise TypeError(value)
    if isinstance(value, int):
        return out + int_field(20, 2) + int_field(3, value)
    if isinstance(value, float):
        return out + int_field(20, 1) + key(2, 5) + struct.pack("<f", value)
    if isinstance(value, str):
        return out + int_field(20, 3) + length_field(4, value.encode())
    if value and all(isinstance(v, float) for v in value):
        return out + int_field(20, 6) + length_field(7, struct.pack(f"<{len(value)}f", *value))
    return out + int_field(20, 7) + packed_ints(8, value)


def node(op: str, inputs: tuple[str, ...], outputs: tuple[str, ...], attributes: dict[str, Any]) -> bytes:
    out = b"".join(text_field(1, name) for name in inputs) + b"".join(text_field(2, name) for name in outputs)
    out += text_field(3, f"{op}_{outputs[0]}") + text_field(4, op)
    return out + b"".join(length_field(5, attribute(k, v)) for k, v in attributes.items())


def value_info(name: str) -> bytes:
    return text_field(1, name)


def model(graph: Graph, raw: bool = True) -> bytes:
    """A ModelProto (IR version 8, opset 15) holding ``graph``."""
    body = b"".join(length_field(1, node(n.op, n.inputs, n.outputs, n.attributes)) for n in graph.nodes)
    body += text_field(2, "test")
    body += b"".join(length_field(5, tensor(name, array, raw)) for name, array in graph.initializers.items())
    body += b"".join(length_field(11, value_info(name)) for name in graph.inputs)
    body += b"".join(length_field(12, value_info(name)) for name in graph.outputs)
    opset = int_field(2, 15)
    return int_field(1, 8) + text_field(2, "tests") + length_field(8, opset) + length_field(7, body)
