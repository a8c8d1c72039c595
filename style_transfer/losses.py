"""Pure tensor functions: Gram matrices and the content, style and total-variation losses.

Two objectives share them:

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

import tensorflow as tf

TUTORIAL_STYLE_WEIGHT = 1e-2
TUTORIAL_CONTENT_WEIGHT = 1e4
TUTORIAL_TV_WEIGHT = 30.0
# Normalised objective: the style weight at style_strength 1 and the TV weight at tv_weight 1.
NORMALIZED_STYLE_WEIGHT = 5.0
NORMALIZED_TV_WEIGHT = 0.1


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
) -> dict[str, tf.Tensor]:
    style = tf.add_n([mean_squared_error(g, t) for g, t in zip(grams, style_targets)])
    content = tf.add_n([mean_squared_error(c, t) for c, t in zip(contents, content_targets)])
    style *= style_weight / len(grams)
    content *= TUTORIAL_CONTENT_WEIGHT / len(contents)
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
) -> dict[str, tf.Tensor]:
    eps = 1e-12
    style = tf.add_n([mean_squared_error(g, t) / (mean_square(t) + eps) for g, t in zip(grams, style_targets)])
    content = tf.add_n([mean_squared_error(c, t) / (mean_square(t) + eps) for c, t in zip(contents, content_targets)])
    style *= style_weight / len(grams)
    content /= len(contents)
    tv = tv_weight * total_variation_mean(image)
    return {"content": content, "style": style, "tv": tv, "total": style + content + tv}


OBJECTIVES = {"tutorial": tutorial_loss, "normalized": normalized_loss}
