"""A request's objective on the network: its targets and its compiled loss-and-gradient step.

What the objective is (layers, weights, loss function) is decided in losses.OBJECTIVE_SPECS;
this module binds it to the VGG19 features at a compute precision and traces the step once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from ..config import StyleConfig
from ..losses import OBJECTIVE_SPECS, ObjectiveSpec, gram_matrix, guided_gram_matrix
from ..model import Features, feature_network
from ..optim import LossAndGradient
from ..regions import ScaleGuides

Targets = tuple[list[tf.Tensor], list[tf.Tensor]]  # (style Grams, content features), in layer order
RegionTargets = tuple[list[list[tf.Tensor]], list[tf.Tensor]]  # ([region][style layer] Grams, content features)


class Stopped(Exception):
    """The caller's stop flag was set, or the time limit passed, during a scale's set-up."""


Halt = Callable[[], bool]  # whether to stop now: the caller's stop flag or the run's time limit


def check_stop(stop: Halt | None) -> None:
    if stop is not None and stop():
        raise Stopped


class CompiledObjective:
    """A config's objective (see losses.OBJECTIVE_SPECS) on one network: targets and the compiled step.

    ``dtype`` is the compute precision of the VGG convolutions (grams and losses are
    always float32); ``model.objective_dtype`` gives the one a run uses.
    """

    def __init__(self, weights_spec: str, config: StyleConfig, dtype: str):
        self.spec = OBJECTIVE_SPECS[config.objective]
        self.style_layers, self.content_layers = self.spec.layers_for(config.style_layers, config.content_layers)
        self.style_weight = self.spec.style_weight * config.style_strength
        self.tv_weight = self.spec.tv_weight * config.tv_weight
        self.dtype, self.weights_spec = dtype, weights_spec

    def _features(self, size: tuple[int, int]) -> Features:
        layers = self.style_layers + self.content_layers
        return feature_network(self.weights_spec, layers, self.dtype, self.spec.split_at(size))

    def targets(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        blend: Sequence[float],
        stop: Halt | None = None,
    ) -> Targets:
        """Style Gram targets (blended over the style images) and content feature targets.

        ``stop`` is asked before each image's forward pass: with several large style
        images this set-up is the longest stretch between two steps.
        """
        # Eager: one forward per image and scale, not worth a trace per new shape.
        content_targets, per_style = self._targets_per_style(content, styles, stop)
        return _blended(per_style, blend, len(self.style_layers)), content_targets

    def region_targets(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        blends: Sequence[Sequence[float]],
        stop: Halt | None = None,
    ) -> RegionTargets:
        """Each styled region's Gram targets (its own blend of the style images) and the content targets.
        Every style image is run forward once, whichever regions use it."""
        content_targets, per_style = self._targets_per_style(content, styles, stop)
        return [_blended(per_style, blend, len(self.style_layers)) for blend in blends], content_targets

    def _targets_per_style(
        self, content: np.ndarray, styles: Sequence[np.ndarray], stop: Halt | None
    ) -> tuple[list[tf.Tensor], list[list[tf.Tensor]]]:
        check_stop(stop)
        network = self._features(content.shape[2:0:-1])  # the scale's (width, height) decides, as in the step
        content_features = network(tf.constant(content))
        content_targets = [content_features[name] for name in self.content_layers]
        per_style = []
        for style in styles:
            check_stop(stop)
            features = network(tf.constant(style))
            per_style.append([gram_matrix(features[name]) for name in self.style_layers])
        check_stop(stop)  # the last pass too: a step after it would add a second stretch to the overrun
        return content_targets, per_style

    def loss_and_gradient(self, targets: Targets, size: tuple[int, int]) -> LossAndGradient:
        """The compiled loss-and-gradient for images of ``size`` (w, h) against ``targets``."""
        layers = (self.weights_spec, self.style_layers, self.content_layers, self.spec, self.dtype)
        compiled = _compiled_loss(*layers, self.spec.split_at(size))
        style_weight, tv_weight = tf.constant(self.style_weight), tf.constant(self.tv_weight)
        return lambda image: compiled(image, targets[0], targets[1], style_weight, tv_weight)

    def regional_loss_and_gradient(
        self, targets: RegionTargets, guides: ScaleGuides, photo: np.ndarray, size: tuple[int, int]
    ) -> LossAndGradient:
        """The compiled loss-and-gradient with a style per region (regions.py) for images of ``size``;
        ``photo`` is the content at that size, which kept regions are held to."""
        layers = (self.weights_spec, self.style_layers, self.content_layers, self.spec, self.dtype)
        compiled = _compiled_regional_loss(*layers, self.spec.split_at(size), len(targets[0]))
        style_weight, tv_weight = tf.constant(self.style_weight), tf.constant(self.tv_weight)
        region_targets, content_targets = targets
        photo_tensor = tf.constant(photo)
        return lambda image: compiled(
            image,
            region_targets,
            guides.style_masks,
            guides.style_corners,
            content_targets,
            guides.content_weights,
            photo_tensor,
            guides.photo_weights,
            guides.shares,
            style_weight,
            tv_weight,
        )


def _blended(per_style: Sequence[Sequence[tf.Tensor]], blend: Sequence[float], layers: int) -> list[tf.Tensor]:
    """The style layers' Grams blended over the style images (weights adding up to one)."""
    blended = [tf.zeros(()) for _ in range(layers)]
    for grams, weight in zip(per_style, blend):
        if weight:
            blended = [t + weight * gram for t, gram in zip(blended, grams)]
    return blended


@functools.lru_cache(maxsize=16)
def _compiled_loss(
    weights_spec: str,
    style_layers: tuple[str, ...],
    content_layers: tuple[str, ...],
    spec: ObjectiveSpec,
    dtype: str,
    split_at: str | None,
):
    """One traced graph function per network, objective, layers, precision and resolution split.

    Targets and weights are arguments, not captured constants, and image sizes are left
    open in the signature, so one trace serves every scale and every request. On a CPU
    it is not XLA-compiled: TF's oneDNN kernels measured faster than XLA's (2.2 s vs
    2.7 s a step at 512 px, float32) and a new shape costs ~0.4 s to trace instead of
    2-6 s to compile, and XLA's CPU bfloat16 convolutions are not native (2.8 s vs 1.2 s).
    """
    features = feature_network(weights_spec, style_layers + content_layers, dtype, split_at)
    channels = {name: int(kernel.shape[-1]) for name, kernel, _ in features.convs}
    signature = [
        tf.TensorSpec((1, None, None, 3), tf.float32),
        [tf.TensorSpec((1, channels[name], channels[name]), tf.float32) for name in style_layers],
        [tf.TensorSpec((1, None, None, channels[name]), tf.float32) for name in content_layers],
        tf.TensorSpec((), tf.float32),
        tf.TensorSpec((), tf.float32),
    ]

    @tf.function(jit_compile=bool(tf.config.list_physical_devices("GPU")), input_signature=signature)
    def loss_and_gradient(image, style_targets, content_targets, style_weight, tv_weight):
        with tf.GradientTape() as tape:
            tape.watch(image)
            # A float32 cast per use, not per layer: a layer in both lists then gets its two gradients
            # summed in the compute dtype, as in earlier versions (bfloat16 runs stay bit-identical).
            outputs = features.activations(image)
            grams = [gram_matrix(tf.cast(outputs[name], tf.float32)) for name in style_layers]
            contents = [tf.cast(outputs[name], tf.float32) for name in content_layers]
            losses = spec.loss(
                image, grams, contents, style_targets, content_targets, style_weight, tv_weight, spec.content_weight
            )
        return losses, tape.gradient(losses["total"], image)

    return loss_and_gradient


@functools.lru_cache(maxsize=16)
def _compiled_regional_loss(
    weights_spec: str,
    style_layers: tuple[str, ...],
    content_layers: tuple[str, ...],
    spec: ObjectiveSpec,
    dtype: str,
    split_at: str | None,
    regions: int,
):
    """The regional step (losses.normalized_regional_loss): one trace per region count, as _compiled_loss.

    A run without regions never comes here: its step stays the plain one, with not one extra operation.
    """
    assert spec.regional_loss is not None, "regions.check_request refuses masks for this objective"
    regional_loss = spec.regional_loss
    features = feature_network(weights_spec, style_layers + content_layers, dtype, split_at)
    channels = {name: int(kernel.shape[-1]) for name, kernel, _ in features.convs}
    guide = tf.TensorSpec((1, None, None, 1), tf.float32)
    signature = [
        tf.TensorSpec((1, None, None, 3), tf.float32),
        [[tf.TensorSpec((1, channels[n], channels[n]), tf.float32) for n in style_layers] for _ in range(regions)],
        [[guide for _ in style_layers] for _ in range(regions)],
        [[tf.TensorSpec((2,), tf.int32) for _ in style_layers] for _ in range(regions)],
        [tf.TensorSpec((1, None, None, channels[name]), tf.float32) for name in content_layers],
        [guide for _ in content_layers],
        tf.TensorSpec((1, None, None, 3), tf.float32),
        guide,
        tf.TensorSpec((regions,), tf.float32),
        tf.TensorSpec((), tf.float32),
        tf.TensorSpec((), tf.float32),
    ]

    @tf.function(jit_compile=bool(tf.config.list_physical_devices("GPU")), input_signature=signature)
    def loss_and_gradient(
        image, style_targets, masks, corners, content_targets, content_weights, photo, photo_weights, shares, sw, tvw
    ):
        with tf.GradientTape() as tape:
            tape.watch(image)
            outputs = features.activations(image)
            styled = [tf.cast(outputs[name], tf.float32) for name in style_layers]
            grams = [
                [guided_gram_matrix(_crop(f, m, c), m) for f, m, c in zip(styled, region_masks, region_corners)]
                for region_masks, region_corners in zip(masks, corners)
            ]
            contents = [tf.cast(outputs[name], tf.float32) for name in content_layers]
            losses = regional_loss(
                image,
                grams,
                contents,
                style_targets,
                content_targets,
                shares,
                content_weights,
                photo,
                photo_weights,
                sw,
                tvw,
                spec.content_weight,
            )
        return losses, tape.gradient(losses["total"], image)

    return loss_and_gradient


def _crop(features: tf.Tensor, guide: tf.Tensor, corner: tf.Tensor) -> tf.Tensor:
    """The features under a guide cropped to its box (regions.ScaleGuides): from ``corner``, the guide's size."""
    size = tf.shape(guide)
    return tf.slice(features, [0, corner[0], corner[1], 0], [-1, size[1], size[2], -1])
