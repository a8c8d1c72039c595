"""The objectives: one declarative table (OBJECTIVE_SPECS) and the pure tensor functions it uses.

Everything decided per objective (its layers, weights, loss function, precision and
Adam epsilon) is in its ObjectiveSpec; the engine, optimiser, estimate and config read
it from there, so a new objective is a new function and a new row here. Two so far:

* ``tutorial``: the TensorFlow tutorial's loss, exactly (weights 1e-2 / 1e4 / 30,
  Gram divided by H*W, means over elements, TV summed over pixels). Speed claims
  are measured on it.
* ``normalized`` (the default): each style layer's loss is divided by the mean
  square of its target Gram and the content loss by the mean square of its target
  features, so every layer counts alike whatever the scale of its activations.
  That is what makes untrained VGG19 weights usable at all (He, Wang & Hopcroft,
  2016) and keeps ``style_strength`` meaning the same for every weights file and
  image size. The TV term is a per-pixel mean for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import tensorflow as tf

TUTORIAL_STYLE_WEIGHT = 1e-2
TUTORIAL_CONTENT_WEIGHT = 1e4
TUTORIAL_TV_WEIGHT = 30.0
# Normalised objective: the style weight at style_strength 1 and the TV weight at tv_weight 1.
# Chosen on ImageNet weights (benchmarks/RESULTS.md, "Re-tuned defaults"): 5, tuned on untrained
# weights, doubled eyes and mouths on portraits; 3 keeps faces faces and the style plain to see.
NORMALIZED_STYLE_WEIGHT = 3.0
NORMALIZED_CONTENT_WEIGHT = 1.0
NORMALIZED_TV_WEIGHT = 0.1
TUTORIAL_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
TUTORIAL_CONTENT_LAYERS = ("block5_conv2",)
HALF_RESOLUTION_MIN_SIDE = 128  # below it the half-size copy leaves block5 a pixel or two


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) -> (B, C, C) channel correlations divided by H*W."""
    gram = tf.einsum("bijc,bijd->bcd", features, features)
    shape = tf.shape(features)
    return gram / tf.cast(shape[1] * shape[2], features.dtype)


def mean_squared_error(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.square(a - b))


def mean_square(x: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.square(x))


def total_variation_sum(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute neighbour differences (tf.image.total_variation, summed over the batch)."""
    return tf.reduce_sum(tf.image.total_variation(image))


def total_variation_mean(image: tf.Tensor) -> tf.Tensor:
    """Mean absolute neighbour difference per pixel: independent of the image size."""
    pixels = tf.cast(tf.reduce_prod(tf.shape(image)[:3]), image.dtype)
    return total_variation_sum(image) / pixels


def tutorial_loss(
    image: tf.Tensor,
    grams: list[tf.Tensor],
    contents: list[tf.Tensor],
    style_targets: list[tf.Tensor],
    content_targets: list[tf.Tensor],
    style_weight: float = TUTORIAL_STYLE_WEIGHT,
    tv_weight: float = TUTORIAL_TV_WEIGHT,
    content_weight: float = TUTORIAL_CONTENT_WEIGHT,
) -> dict[str, tf.Tensor]:
    style = tf.add_n([mean_squared_error(g, t) for g, t in zip(grams, style_targets)])
    content = tf.add_n([mean_squared_error(c, t) for c, t in zip(contents, content_targets)])
    style *= style_weight / len(grams)
    content *= content_weight / len(contents)
    tv = tv_weight * total_variation_sum(image)
    return {"content": content, "style": style, "tv": tv, "total": style + content + tv}


def normalized_loss(
    image: tf.Tensor,
    grams: list[tf.Tensor],
    contents: list[tf.Tensor],
    style_targets: list[tf.Tensor],
    content_targets: list[tf.Tensor],
    style_weight: float = NORMALIZED_STYLE_WEIGHT,
    tv_weight: float = NORMALIZED_TV_WEIGHT,
    content_weight: float = NORMALIZED_CONTENT_WEIGHT,
) -> dict[str, tf.Tensor]:
    eps = 1e-12
    style = tf.add_n([mean_squared_error(g, t) / (mean_square(t) + eps) for g, t in zip(grams, style_targets)])
    content = tf.add_n([mean_squared_error(c, t) / (mean_square(t) + eps) for c, t in zip(contents, content_targets)])
    style *= style_weight / len(grams)
    content = content * content_weight / len(contents)  # weight 1: exactly the plain mean over layers
    tv = tv_weight * total_variation_mean(image)
    return {"content": content, "style": style, "tv": tv, "total": style + content + tv}


LossFunction = Callable[..., dict[str, tf.Tensor]]  # (image, grams, contents, style targets, content targets, weights)


@dataclass(frozen=True)
class ObjectiveSpec:
    """Everything that differs between objectives, in one place.

    ``style_weight`` and ``tv_weight`` are the weights at style_strength 1 and tv_weight 1
    (the config scales them); layers of None mean "the config's". ``precision`` is
    "float32" when the objective must be computed exactly, "auto" to take the operator's
    choice (bfloat16 convolutions where the hardware runs them natively).
    """

    name: str
    summary: str  # a few words for the setting's help text
    loss: LossFunction
    style_weight: float
    content_weight: float
    tv_weight: float
    style_layers: tuple[str, ...] | None
    content_layers: tuple[str, ...] | None
    precision: Literal["float32", "auto"]
    adam_epsilon: float  # must suit the gradients' scale (see optim.Adam)
    # Layers from this one on read a half-size copy of the image (model.TwoResolutionFeatures),
    # at scales whose short side is at least HALF_RESOLUTION_MIN_SIDE; None: one resolution.
    half_resolution_from: str | None = None

    def split_at(self, size: tuple[int, int]) -> str | None:
        """Where the layers switch to the half-size copy at an image of ``size``, if they do."""
        return self.half_resolution_from if min(size) >= HALF_RESOLUTION_MIN_SIDE else None

    def layers_for(
        self, style_layers: tuple[str, ...], content_layers: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(style layers, content layers) of a run that asks for these: the objective's own, if it fixes them."""
        return self.style_layers or style_layers, self.content_layers or content_layers

    def precision_for(self, operator_precision: str) -> str:
        """The precision this objective runs at: its own if it fixes one, else the operator's choice."""
        return operator_precision if self.precision == "auto" else self.precision


OBJECTIVE_SPECS: dict[str, ObjectiveSpec] = {
    spec.name: spec
    for spec in (
        ObjectiveSpec(
            name="normalized",
            summary="normalized (per-layer)",
            loss=normalized_loss,
            style_weight=NORMALIZED_STYLE_WEIGHT,
            content_weight=NORMALIZED_CONTENT_WEIGHT,
            tv_weight=NORMALIZED_TV_WEIGHT,
            style_layers=None,
            content_layers=None,
            precision="auto",
            # Keras' usual epsilon: the gradients here are ~1e-4, and the tutorial's 0.1
            # would shrink every Adam step a thousandfold.
            adam_epsilon=1e-7,
            # Blocks 3-5 on a half-size copy: a step costs half, and faces keep their features
            # (measured on ImageNet weights: benchmarks/RESULTS.md).
            half_resolution_from="block3_conv1",
        ),
        ObjectiveSpec(
            name="tutorial",
            summary="the TF tutorial's exact one",
            loss=tutorial_loss,
            style_weight=TUTORIAL_STYLE_WEIGHT,
            content_weight=TUTORIAL_CONTENT_WEIGHT,
            tv_weight=TUTORIAL_TV_WEIGHT,
            style_layers=TUTORIAL_STYLE_LAYERS,
            content_layers=TUTORIAL_CONTENT_LAYERS,
            # Computed exactly: it is the yardstick, and bfloat16 gradient noise measurably
            # slowed L-BFGS on it (benchmarks/RESULTS.md).
            precision="float32",
            adam_epsilon=1e-1,  # the tutorial's, tuned for its huge raw losses
        ),
    )
}
