"""The VGG19 feature extractor, cut at the deepest layer used, built once per process."""

from __future__ import annotations

import functools
import threading

import keras
import tensorflow as tf

from .losses import OBJECTIVE_SPECS
from .vgg import VGG_CONV_LAYERS
from .weights import WeightsInfo, load_vgg19

_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _vgg19(spec: str) -> tuple[keras.Model, WeightsInfo]:
    vgg, info = load_vgg19(spec)
    vgg.trainable = False
    return vgg, info


def load_network(spec: str) -> WeightsInfo:
    """Load (once) the VGG19 for ``spec``; returns what it is."""
    with _lock:
        return _vgg19(spec)[1]


class FeatureNetwork:
    """VGG19's conv stack as plain TF ops in a chosen compute dtype, outputs in float32.

    Written out rather than called through Keras so the same weights can run in
    bfloat16 (Keras would need a second model built under a mixed-precision policy).
    Layers past the deepest one asked for are never run: for the tutorial's layers
    that drops block5_conv3/4 and the last pool.
    """

    def __init__(self, vgg: keras.Model, layers: tuple[str, ...], dtype: tf.DType):
        layers = tuple(dict.fromkeys(layers))  # a layer may serve both style and content: compute it once
        deepest = VGG_CONV_LAYERS.index(max(layers, key=VGG_CONV_LAYERS.index))
        self.layers, self.dtype = layers, dtype
        self.convs = [
            (name, tf.cast(vgg.get_layer(name).kernel, dtype), tf.cast(vgg.get_layer(name).bias, dtype))
            for name in VGG_CONV_LAYERS[: deepest + 1]
        ]

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """RGB in [0, 1], (B, H, W, 3) -> {layer name: its ReLU output as float32} for ``layers``."""
        # Grams and losses in float32: sums over many pixels lose too much in bfloat16.
        return {name: tf.cast(x, tf.float32) for name, x in self.activations(image).items()}

    def activations(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """{layer name: its ReLU output in the compute dtype}; cast to float32 before summing over it."""
        x = tf.cast(preprocess(image), self.dtype)
        wanted = {}
        for name, kernel, bias in self.convs:
            if name.endswith("_conv1") and name != "block1_conv1":
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")  # VGG19's 2x2 pool before each block
            x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias))
            if name in self.layers:
                wanted[name] = x
        return wanted


class TwoResolutionFeatures:
    """The layers before ``split_at`` from the image, the others from a half-size copy of it.

    Most of VGG19's work is in blocks 3 and 4; run on an image with a quarter of the pixels
    they cost a quarter, and a step about half (measured 2.1x faster in bfloat16, 2.4x in
    float32 at 512x384). The deep layers then see the image's structures at half size: as
    if their style image were twice as large (larger strokes), while the shallow layers
    keep the fine texture at full resolution. Targets are made the same way, so the loss
    stays a true match of like with like.
    """

    def __init__(self, vgg: keras.Model, layers: tuple[str, ...], dtype: tf.DType, split_at: str):
        split = VGG_CONV_LAYERS.index(split_at)
        shallow = tuple(name for name in layers if VGG_CONV_LAYERS.index(name) < split)
        deep = tuple(name for name in layers if VGG_CONV_LAYERS.index(name) >= split)
        self.shallow = FeatureNetwork(vgg, shallow, dtype) if shallow else None
        self.deep = FeatureNetwork(vgg, deep, dtype) if deep else None
        self.convs = (self.deep or self.shallow).convs  # type: ignore[union-attr]  # one of them has layers

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        return {name: tf.cast(x, tf.float32) for name, x in self.activations(image).items()}

    def activations(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        wanted = self.shallow.activations(image) if self.shallow else {}
        if self.deep:
            wanted |= self.deep.activations(half_size(image))
        return wanted


def half_size(image: tf.Tensor) -> tf.Tensor:
    """The image at half its size, low-pass filtered first (a 2x2 average would let the deep layers'
    gradient come back as flat 2x2 blocks)."""
    size = tf.shape(image)[1:3] // 2
    return tf.image.resize(image, size, method="bilinear", antialias=True)


Features = FeatureNetwork | TwoResolutionFeatures


@functools.lru_cache(maxsize=16)
def feature_network(spec: str, layers: tuple[str, ...], dtype_name: str, split_at: str | None = None) -> Features:
    """The (cached) features of ``layers``; with ``split_at``, from two resolutions (TwoResolutionFeatures)."""
    with _lock:
        vgg, _ = _vgg19(spec)
    if split_at is None:
        return FeatureNetwork(vgg, layers, tf.as_dtype(dtype_name))
    return TwoResolutionFeatures(vgg, layers, tf.as_dtype(dtype_name), split_at)


def compute_dtype(precision: str = "auto") -> str:
    """The convolutions' dtype for a precision setting (auto | float32 | bfloat16): ``auto`` is
    bfloat16 where the hardware runs it natively (about 2x faster on a CPU with AVX512_BF16
    or AMX, measured in benchmarks/RESULTS.md), else float32."""
    if precision != "auto":
        return precision
    return "bfloat16" if has_native_bfloat16() else "float32"


@functools.lru_cache(maxsize=1)
def has_native_bfloat16() -> bool:
    """Whether bfloat16 convolutions run natively here (else they are emulated, slower than float32)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:  # Ampere (compute capability 8.0) or newer; a T4 (7.5) has no bfloat16 units (unmeasured here)
        details = tf.config.experimental.get_device_details(gpus[0])
        return tuple(details.get("compute_capability") or (0, 0)) >= (8, 0)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:  # not Linux: emulated bfloat16 would be slower than float32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def preprocess(image: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] -> Caffe-style BGR minus the ImageNet mean, as VGG19 was trained on."""
    # A tensor, never a NumPy array: Keras' preprocess_input changes float arrays in place.
    return keras.applications.vgg19.preprocess_input(image * 255.0)


def objective_dtype(objective: str, precision: str = "auto") -> str:
    """The convolutions' dtype for a run of ``objective`` under the operator's ``precision``."""
    return compute_dtype(OBJECTIVE_SPECS[objective].precision_for(precision))
