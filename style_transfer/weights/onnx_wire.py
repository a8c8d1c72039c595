"""Just enough of an ONNX file to run it: its nodes, their attributes and its initializers.

An ONNX model is one protobuf message (onnx/onnx.proto3). Reading it with the ``onnx`` package
would add a 31 MB install (onnx 1.23.2 on x86-64 Linux, plus its own protobuf and ml_dtypes pins
beside TensorFlow's) to every host, only to read two small files once when their wheel is fetched.
The wire format is small and frozen (https://protobuf.dev/programming-guides/encoding/): varints,
fixed 32/64-bit values and length-delimited bytes. This reads the fields the two Magenta graphs
use and refuses what it does not understand (external data, other tensor types, sub-graphs),
rather than guessing. tests/test_feedforward.py checks it against ``onnx`` where that is installed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import StyleTransferError

# TensorProto.DataType values this reader decodes, and their NumPy types.
TENSOR_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64}
# Field numbers (onnx.proto3): ModelProto.graph; GraphProto.node/initializer/input/output;
# NodeProto.input/output/op_type/attribute/domain; ValueInfoProto.name.
MODEL_GRAPH = 7
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT = 1, 5, 11, 12
NODE_INPUT, NODE_OUTPUT, NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOMAIN = 1, 2, 4, 5, 7
VALUE_NAME = 1
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Node:
    op: str  # the ONNX op type (default domain only)
    inputs: tuple[str, ...]  # "" marks an optional input left out
    outputs: tuple[str, ...]
    attributes: dict[str, Any]  # int, float, str, or a tuple of ints or floats


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]  # in the file's order, which ONNX requires to be topological
    initializers: dict[str, np.ndarray]
    inputs: tuple[str, ...]  # the graph's inputs that are not initializers
    outputs: tuple[str, ...]


def read_model(data: bytes) -> Graph:
    """The graph of a serialised ONNX ModelProto."""
    graphs = [value for number, value in fields(data) if number == MODEL_GRAPH]
    if len(graphs) != 1:
        raise StyleTransferError(f"not an ONNX model: {len(graphs)} graphs")
    nodes: list[Node] = []
    initializers: dict[str, np.ndarray] = {}
    inputs: list[str] = []
    outputs: list[str] = []
    for number, value in fields(_bytes(graphs[0])):
        if number == GRAPH_NODE:
            nodes.append(read_node(_bytes(value)))
        elif number == GRAPH_INITIALIZER:
            name, array = read_tensor(_bytes(value))
            initializers[name] = array
        elif number in (GRAPH_INPUT, GRAPH_OUTPUT):
            name = _text(next(v for n, v in fields(_bytes(value)) if n == VALUE_NAME))
            (inputs if number == GRAPH_INPUT else outputs).append(name)
    feeds = tuple(name for name in inputs if name not in initializers)
    return Graph(tuple(nodes), initializers, feeds, tuple(outputs))


def read_node(data: bytes) -> Node:
    inputs, outputs, attributes, op = [], [], {}, ""
    for number, value in fields(data):
        if number == NODE_INPUT:
            inputs.append(_text(value))
        elif number == NODE_OUTPUT:
            outputs.append(_text(value))
        elif number == NODE_OP_TYPE:
            op = _text(value)
        elif number == NODE_ATTRIBUTE:
            name, attribute = read_attribute(_bytes(value))
            attributes[name] = attribute
        elif number == NODE_DOMAIN and _text(value) not in ("", "ai.onnx"):
            raise StyleTransferError(f"ONNX op domain {_text(value)!r} is not supported")
    return Node(op, tuple(inputs), tuple(outputs), attributes)


def read_attribute(data: bytes) -> tuple[str, Any]:
    """(name, value) of an AttributeProto: f (2), i (3), s (4), floats (7) or ints (8)."""
    name, value, kind = "", None, 0
    floats: list[float] = []
    ints: list[int] = []
    for number, raw in fields(data):
        if number == 1:
            name = _text(raw)
        elif number == 20:
            kind = _int(raw)
        elif number == 2:
            value = struct.unpack("<f", _bytes(raw))[0]
        elif number == 3:
            value = _signed(_int(raw))
        elif number == 4:
            value = _text(raw)
        elif number == 7:
            floats += _floats(raw)
        elif number == 8:
            ints += [_signed(v) for v in _varints(raw)]
        elif number in (5, 6, 10, 11):
            raise StyleTransferError(f"ONNX attribute {name or '?'}: tensor and graph attributes are not supported")
    if kind == 6 or floats:  # FLOATS
        return name, tuple(floats)
    if kind == 7 or ints:  # INTS
        return name, tuple(ints)
    return name, value


def read_tensor(data: bytes) -> tuple[str, np.ndarray]:
    """(name, array) of a TensorProto held in the file (raw_data, or the typed repeated fields)."""
    dims: list[int] = []
    dtype, name, raw = 0, "", None
    typed: list[float] | list[int] = []
    for number, value in fields(data):
        if number == 1:
            dims += [_signed(v) for v in _varints(value)]
        elif number == 2:
            dtype = _int(value)
        elif number == 8:
            name = _text(value)
        elif number == 9:
            raw = _bytes(value)
        elif number == 4:
            typed = [*typed, *_floats(value)]
        elif number in (5, 7):
            typed = [*typed, *(_signed(v) for v in _varints(value))]
        elif number in (13, 14):
            raise StyleTransferError(f"ONNX tensor {name or '?'}: external data is not supported")
    if dtype not in TENSOR_TYPES:
        raise StyleTransferError(f"ONNX tensor {name}: data type {dtype} is not supported")
    numpy_type = TENSOR_TYPES[dtype]
    if raw is not None:
        array = np.frombuffer(raw, np.dtype(numpy_type).newbyteorder("<")).astype(numpy_type)
    else:
        array = np.array(typed, dtype=numpy_type)
    if array.size != int(np.prod(dims)):
        raise StyleTransferError(f"ONNX tensor {name}: {array.size} values for shape {dims}")
    return name, array.reshape(dims)


# -- the wire format --------------------------------------------------------------------------


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of a message: an int for a varint field, the raw bytes
    for a fixed-size (4 or 8 bytes) or length-delimited one."""
    position = 0
    while position < len(data):
        key, position = varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, position = varint(data, position)
            yield number, value
        elif wire in (FIXED64, FIXED32, LENGTH):
            if wire == LENGTH:
                length, position = varint(data, position)
            else:
                length = 8 if wire == FIXED64 else 4
            if position + length > len(data):
                raise StyleTransferError("ONNX file is truncated")
            yield number, data[position : position + length]
            position += length
        else:
            raise StyleTransferError(f"ONNX file: unsupported protobuf wire type {wire}")


def varint(data: bytes, position: int) -> tuple[int, int]:
    """The base-128 varint at ``position`` and the position after it."""
    result, shift = 0, 0
    while True:
        if position >= len(data) or shift > 63:
            raise StyleTransferError("ONNX file is truncated or damaged (a bad varint)")
        byte = data[position]
        result |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return result, position


def _varints(value: int | bytes) -> list[int]:
    """A repeated integer field: one varint, or a packed run of them."""
    if isinstance(value, int):
        return [value]
    numbers, position = [], 0
    while position < len(value):
        number, position = varint(value, position)
        numbers.append(number)
    return numbers


def _floats(value: int | bytes) -> list[float]:
    """A repeated float field: one fixed32 value, or a packed run of them (both arrive as bytes)."""
    raw = _bytes(value)
    if len(raw) % 4:
        raise StyleTransferError("ONNX file: a float field is not a whole number of floats")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _signed(value: int) -> int:
    """Protobuf int32/int64 fields carry negative numbers as 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise StyleTransferError("ONNX file: a number field holds bytes")
    return value


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise StyleTransferError("ONNX file: a message field holds a number")
    return value


def _text(value: int | bytes) -> str:
    return _bytes(value).decode("utf-8")
