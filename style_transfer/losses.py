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


def guided_gram_matrix(features: tf.Tensor, guide: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) features and a (B, H, W, 1) guidance channel in [0, 1] -> (B, C, C).

    Gatys et al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer", section 4): the Gram
    matrix of the features times the guidance channel, i.e. each position counted with weight guide².
    Divided by the sum of those weights rather than by H*W: a weighted mean, so a region's Gram has the
    scale of an ordinary Gram of a picture textured like it (its target) whatever the region's area.
    A guide of ones gives gram_matrix exactly.
    """
    weights = tf.square(guide)
    gram = tf.einsum("bijc,bijd->bcd", features * weights, features)
    return gram / (tf.reduce_sum(weights, axis=[1, 2, 3])[:, None, None] + 1e-8)


def weighted_mean_squared_error(a: tf.Tensor, b: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """The mean over positions of weights * (a - b)², weights (B, H, W, 1) broadcast over channels."""
    return tf.reduce_mean(weights * tf.square(a - b))


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


def normalized_regional_loss(
    image: tf.Tensor,
    region_grams: list[list[tf.Tensor]],
    contents: list[tf.Tensor],
    region_targets: list[list[tf.Tensor]],
    content_targets: list[tf.Tensor],
    shares: tf.Tensor,
    content_weights: list[tf.Tensor],
    photo: tf.Tensor,
    photo_weights: tf.Tensor,
    style_weight: float = NORMALIZED_STYLE_WEIGHT,
    tv_weight: float = NORMALIZED_TV_WEIGHT,
    content_weight: float = NORMALIZED_CONTENT_WEIGHT,
) -> dict[str, tf.Tensor]:
    """The normalized objective with a style per region (guided Grams, Gatys et al. 2017, section 4).

    ``region_grams[r][l]`` is region r's guided Gram at style layer l, ``region_targets[r][l]`` its own
    style's Gram; ``shares[r]`` weighs region r's style term, its share of the picture (times a tint
    factor for a face): each region then has the style/content balance of an unmasked run over its
    pixels. ``content_weights[l]`` (B, H, W, 1) weighs each position's content error: 1, more where the
    photo is kept; ``photo_weights`` (B, H, W, 1) holds the pixels there to the ``photo``'s too (part of
    the content term): VGG features alone can be matched by a face with two mouths. With one region of
    ones, a share of 1, content weights of ones and photo weights of zeros this is normalized_loss.
    """
    eps = 1e-12
    style = tf.add_n(
        [
            shares[r] * tf.add_n([mean_squared_error(g, t) / (mean_square(t) + eps) for g, t in zip(grams, targets)])
            for r, (grams, targets) in enumerate(zip(region_grams, region_targets))
        ]
    )
    content = tf.add_n(
        [
            weighted_mean_squared_error(c, t, w) / (mean_square(t) + eps)
            for c, t, w in zip(contents, content_targets, content_weights)
        ]
    )
    style *= style_weight / len(region_grams[0])
    content = content * content_weight / len(contents) + weighted_mean_squared_error(image, photo, photo_weights)
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
    # The loss with a style per region (masks, kept faces: normalized_regional_loss's arguments);
    # None: this objective takes no regions (a request with a mask is refused).
    regional_loss: LossFunction | None = None

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
            regional_loss=normalized_regional_loss,
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
