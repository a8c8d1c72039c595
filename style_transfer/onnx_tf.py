"""An ONNX graph run with TensorFlow ops: only the op types Magenta's two networks use.

The graph is interpreted once, when ``GraphFunction`` is traced (``tf.function``); the traced
function is plain TF ops, so it runs as fast as a hand-written Keras model of the same layers.

Layout: ONNX convolutions are NCHW, TensorFlow's CPU convolutions NHWC only. Every 4-D value
is held as NHWC with a flag saying whether the graph means it as NCHW (``Value.nchw``): the
graph's own NHWC<->NCHW Transposes then cost nothing, and axis arguments (Pad, Resize, Reshape)
are mapped to the held layout instead of transposing around each of the ~50 convolutions.

Quantisation: the graphs are TFLite int8 models converted to ONNX, so every activation passes a
QuantizeLinear/DequantizeLinear pair (rounded to one of 256 levels). ``quantized=True`` runs those
pairs as onnxruntime does (parity); ``quantized=False`` skips them on activations, i.e. runs the
float network the int8 one was calibrated from, with its int8 weights (faster, and no clipping to
the calibration ranges). Weights are always dequantised once, when the function is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from .errors import StyleTransferError
from .weights.onnx_wire import Graph, Node

TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


class Value(NamedTuple):
    tensor: Any  # tf.Tensor, or np.ndarray for a constant
    nchw: bool  # 4-D and meant by the graph as NCHW, held as NHWC


@dataclass(frozen=True)
class Options:
    quantized: bool  # run activations' QuantizeLinear/DequantizeLinear pairs (onnxruntime parity)
    dtype: tf.DType  # the convolutions' compute dtype (bfloat16 where native, as model.compute_dtype says)


class GraphFunction:
    """``graph`` as a callable on TF tensors (the graph's inputs in order) returning its outputs."""

    def __init__(self, graph: Graph, options: Options, signature: Sequence[tf.TensorSpec]):
        unsupported = sorted({node.op for node in graph.nodes} - set(OPS))
        if unsupported:
            raise StyleTransferError(f"ONNX ops not supported here: {', '.join(unsupported)}")
        self.graph, self.options = graph, options
        self.constants = fold_constants(graph)
        self.function = tf.function(self._run, input_signature=list(signature))

    def __call__(self, *inputs: tf.Tensor) -> list[tf.Tensor]:
        return list(self.function(*inputs))

    def _run(self, *inputs: tf.Tensor) -> list[tf.Tensor]:
        values: dict[str, Value] = {name: Value(x, False) for name, x in zip(self.graph.inputs, inputs)}
        for node in self.graph.nodes:
            if node.outputs[0] in self.constants:
                continue  # folded when built
            args = [self._value(name, values) if name else Value(None, False) for name in node.inputs]
            values[node.outputs[0]] = OPS[node.op](node, args, self.options)
        return [_as_nhwc(values[name]) for name in self.graph.outputs]

    def _value(self, name: str, values: dict[str, Value]) -> Value:
        if name in values:
            return values[name]
        if name in self.constants:
            return Value(self.constants[name], False)
        raise StyleTransferError(f"ONNX graph: {name!r} is used before it is computed")


def fold_constants(graph: Graph) -> dict[str, np.ndarray]:
    """The initializers, plus every DequantizeLinear of an initializer (the int8 weights) as float32."""
    constants = dict(graph.initializers)
    for node in graph.nodes:
        if node.op == "DequantizeLinear" and node.inputs[0] in constants:
            x, scale, zero = (constants[name] for name in node.inputs)
            axis = node.attributes.get("axis", 1)
            shape = [-1 if i == axis else 1 for i in range(x.ndim)] if scale.ndim else []
            dequantised = (x.astype(np.float32) - zero.astype(np.float32).reshape(shape)) * scale.reshape(shape)
            constants[node.outputs[0]] = dequantised.astype(np.float32)
    return constants


def _as_nhwc(value: Value) -> tf.Tensor:
    if value.nchw:  # the graph returns an NCHW value: hand it over as the graph means it
        return tf.transpose(value.tensor, TO_NCHW)
    return tf.convert_to_tensor(value.tensor)


# -- the ops ------------------------------------------------------------------------------------

Op = Callable[[Node, list[Value], Options], Value]


def quantize_linear(node: Node, args: list[Value], options: Options) -> Value:
    """round(x / scale) + zero, saturated to the zero point's type; held as float32 integers."""
    x, scale, zero = args
    if not options.quantized:
        return x
    low, high = (-128.0, 127.0) if zero.tensor.dtype == np.int8 else (0.0, 255.0)
    q = tf.round(x.tensor / _scalar(scale)) + _scalar(zero)  # tf.round: half to even, as ONNX
    return Value(tf.clip_by_value(q, low, high), x.nchw)


def dequantize_linear(node: Node, args: list[Value], options: Options) -> Value:
    x, scale, zero = args
    if not options.quantized:
        return x
    return Value((x.tensor - _scalar(zero)) * _scalar(scale), x.nchw)


def _scalar(value: Value) -> float:
    """A per-tensor quantisation parameter (activations are never quantised per channel here)."""
    return float(np.asarray(value.tensor).item())


def conv(node: Node, args: list[Value], options: Options) -> Value:
    """2-D convolution, plain (group 1) or depthwise (group = channels), explicit pads, no dilation."""
    x, weights, bias = args[0], args[1].tensor, args[2].tensor if len(args) > 2 else None
    attributes = node.attributes
    if not x.nchw or tuple(attributes.get("dilations", (1, 1))) != (1, 1) or "auto_pad" in attributes:
        raise StyleTransferError(f"Conv {node.outputs[0]}: only NCHW, undilated, explicitly padded")
    top, left, bottom, right = attributes.get("pads", (0, 0, 0, 0))
    padding = [[0, 0], [top, bottom], [left, right], [0, 0]]
    strides = [1, *attributes.get("strides", (1, 1)), 1]
    group = attributes.get("group", 1)
    data = tf.cast(x.tensor, options.dtype)
    if group == 1:
        kernel = tf.constant(weights.transpose(2, 3, 1, 0), options.dtype)  # OIHW -> HWIO
        y = tf.nn.conv2d(data, kernel, strides, padding)
    elif weights.shape[1] == 1 and group == weights.shape[0]:
        kernel = tf.constant(weights.transpose(2, 3, 0, 1), options.dtype)  # (C, 1, H, W) -> (H, W, C, 1)
        y = tf.nn.depthwise_conv2d(tf.pad(data, padding), kernel, strides, "VALID")
    else:
        raise StyleTransferError(f"Conv {node.outputs[0]}: group {group} is neither 1 nor depthwise")
    y = tf.cast(y, tf.float32)  # norms and quantisation in float32, like the VGG's Grams
    return Value(y if bias is None else tf.nn.bias_add(y, bias), True)


def elementwise(function: Callable[[Any, Any], tf.Tensor]) -> Op:
    def op(node: Node, args: list[Value], options: Options) -> Value:
        a, b = args
        nchw = a.nchw or b.nchw
        return Value(function(_held(a, nchw), _held(b, nchw)), nchw)

    return op


def _held(value: Value, nchw: bool) -> Any:
    """``value`` in the layout the other operand is held in (a 4-D constant meant as NCHW: transposed)."""
    if value.nchw == nchw or np.ndim(value.tensor) < 4 or np.size(value.tensor) == 1:
        return value.tensor
    if isinstance(value.tensor, np.ndarray):
        return value.tensor.transpose(TO_NHWC)
    raise StyleTransferError("ONNX graph: an elementwise op mixes NCHW and NHWC tensors")


def unary(function: Callable[[tf.Tensor], tf.Tensor]) -> Op:
    return lambda node, args, options: Value(function(args[0].tensor), args[0].nchw)


def clip(node: Node, args: list[Value], options: Options) -> Value:
    x, low, high = args
    return Value(tf.clip_by_value(x.tensor, _scalar(low), _scalar(high)), x.nchw)


def global_average_pool(node: Node, args: list[Value], options: Options) -> Value:
    x = args[0]
    if not x.nchw:
        raise StyleTransferError("GlobalAveragePool: only NCHW input")
    return Value(tf.reduce_mean(x.tensor, axis=[1, 2], keepdims=True), True)


def reshape(node: Node, args: list[Value], options: Options) -> Value:
    """Only between vectors of C values: (1, C, 1, 1) means NCHW, (1, 1, 1, C) NHWC; both held as (1, 1, 1, C)."""
    x, shape = args[0], [int(d) for d in args[1].tensor]
    channels = int(np.prod(shape))
    if len(shape) != 4 or channels not in (shape[1], shape[3]):
        raise StyleTransferError(f"Reshape {node.outputs[0]}: only to (1, C, 1, 1) or (1, 1, 1, C), got {shape}")
    return Value(tf.reshape(x.tensor, [1, 1, 1, channels]), shape[1] == channels > 1)


def transpose(node: Node, args: list[Value], options: Options) -> Value:
    x, perm = args[0], tuple(node.attributes["perm"])
    if perm == TO_NCHW and not x.nchw:
        return Value(x.tensor, True)
    if perm == TO_NHWC and x.nchw:
        return Value(x.tensor, False)
    raise StyleTransferError(f"Transpose {node.outputs[0]}: only NHWC <-> NCHW, got {perm}")


def pad(node: Node, args: list[Value], options: Options) -> Value:
    x, pads = args[0], [int(p) for p in args[1].tensor]
    mode = node.attributes.get("mode", "constant")
    if mode not in ("reflect", "constant") or (len(args) > 2 and args[2].tensor is not None and args[2].tensor.size):
        raise StyleTransferError(f"Pad {node.outputs[0]}: only reflect or zero padding")
    pairs = [[pads[i], pads[i + len(pads) // 2]] for i in range(len(pads) // 2)]
    if x.nchw:
        pairs = [pairs[axis] for axis in TO_NHWC]
    return Value(tf.pad(x.tensor, pairs, mode="REFLECT" if mode == "reflect" else "CONSTANT"), x.nchw)


def resize(node: Node, args: list[Value], options: Options) -> Value:
    """Nearest-neighbour upscaling by whole factors, as TF1's ResizeNearestNeighbor (asymmetric, floor)."""
    x, scales = args[0], args[2].tensor if len(args) > 2 else np.zeros(0)
    attributes = node.attributes
    expected = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    if any(attributes.get(k, v) != v for k, v in expected.items()) or not x.nchw or len(scales) != 4:
        raise StyleTransferError(f"Resize {node.outputs[0]}: only nearest, asymmetric, floor, by scales, NCHW")
    factor = (int(scales[2]), int(scales[3]))
    if tuple(scales) != (1.0, 1.0, *factor):
        raise StyleTransferError(f"Resize {node.outputs[0]}: only whole factors on height and width")
    if factor == (1, 1):
        return x
    size = tf.shape(x.tensor)[1:3] * tf.constant(factor)
    y = tf.raw_ops.ResizeNearestNeighbor(images=x.tensor, size=size, align_corners=False, half_pixel_centers=False)
    return Value(y, True)


OPS: dict[str, Op] = {
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    "Conv": conv,
    "Add": elementwise(tf.add),
    "Sub": elementwise(tf.subtract),
    "Mul": elementwise(tf.multiply),
    "Relu": unary(tf.nn.relu),
    "Sigmoid": unary(tf.sigmoid),
    "Sqrt": unary(tf.sqrt),
    "Reciprocal": unary(tf.math.reciprocal),
    "Clip": clip,
    "GlobalAveragePool": global_average_pool,
    "Reshape": reshape,
    "Transpose": transpose,
    "Pad": pad,
    "Resize": resize,
}
