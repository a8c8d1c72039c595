"""The VGG19 feature extractor, cut at the deepest layer used, built once per process."""

from __future__ import annotations

import functools
import threading

import keras
import tensorflow as tf

from .config import VGG_CONV_LAYERS
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


@functools.lru_cache(maxsize=16)
def feature_extractor(spec: str, layers: tuple[str, ...]) -> keras.Model:
    """A model from RGB in [0, 1] to the outputs of ``layers``, truncated after the deepest.

    Layers past the deepest one used are never run: for the tutorial's layers that
    drops block5_conv3/4 and the last pool.
    """
    with _lock:
        vgg, _ = _vgg19(spec)
    deepest = max(layers, key=VGG_CONV_LAYERS.index)
    # A functional model holds only the layers between its inputs and outputs.
    outputs = [vgg.get_layer(name).output for name in layers]
    return keras.Model(vgg.input, outputs, name=f"vgg19_to_{deepest}")


def preprocess(image: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] -> Caffe-style BGR minus the ImageNet mean, as VGG19 was trained on."""
    # A tensor, never a NumPy array: Keras' preprocess_input changes float arrays in place.
    return keras.applications.vgg19.preprocess_input(image * 255.0)
