"""Gram matrix and losses against hand-computed values; the tutorial objective against an
independent NumPy formula; finite-difference gradient checks of the objective."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import losses


def _t(array, dtype=tf.float32) -> tf.Tensor:
    return tf.constant(np.asarray(array), dtype=dtype)


def _features(channels: list[list[list[float]]]) -> tf.Tensor:
    """(1, H, W, C) from a list of C channel planes (each H x W)."""
    return _t(np.stack(channels, axis=-1)[None])


# --- gram matrix ------------------------------------------------------------------------------


def test_gram_matrix_by_hand():
    # Channel a = [[1, 2], [3, 4]], channel b = [[0, 1], [1, 0]], H*W = 4.
    features = _features([[[1, 2], [3, 4]], [[0, 1], [1, 0]]])
    gram = losses.gram_matrix(features).numpy()
    # aa = (1 + 4 + 9 + 16) / 4, ab = (0 + 2 + 3 + 0) / 4, bb = (0 + 1 + 1 + 0) / 4
    np.testing.assert_allclose(gram, [[[7.5, 1.25], [1.25, 0.5]]])


def test_gram_matrix_is_per_batch_item_and_normalised_by_spatial_size():
    one = _features([[[1, 2, 0]], [[2, 0, 1]]])  # 1 x 3
    other = _features([[[3, 0, 0]], [[0, 0, 3]]])
    gram = losses.gram_matrix(tf.concat([one, other], axis=0)).numpy()
    np.testing.assert_allclose(gram[0], [[5 / 3, 2 / 3], [2 / 3, 5 / 3]], rtol=1e-6)
    np.testing.assert_allclose(gram[1], [[3.0, 0.0], [0.0, 3.0]], rtol=1e-6)
    # The same picture tiled 2x2 has four times the sum and four times the pixels: same Gram.
    tiled = tf.tile(one, [1, 2, 2, 1])
    np.testing.assert_allclose(losses.gram_matrix(tiled).numpy(), gram[:1], rtol=1e-6)


# --- TV and the pieces ------------------------------------------------------------------------


def test_total_variation_by_hand():
    image = _t([[[[0.0], [1.0]], [[3.0], [7.0]]]])  # 2x2, one channel
    # across: |1 - 0| + |7 - 3| = 5; down: |3 - 0| + |7 - 1| = 9
    assert float(losses.total_variation_sum(image)) == pytest.approx(14.0)
    assert float(losses.total_variation_mean(image)) == pytest.approx(14.0 / 4)
    two = tf.concat([image, 2 * image], axis=0)  # summed over the batch; the mean is per pixel
    assert float(losses.total_variation_sum(two)) == pytest.approx(42.0)
    assert float(losses.total_variation_mean(two)) == pytest.approx(42.0 / 8)


def test_mean_squared_error_and_mean_square_by_hand():
    a, b = _t([[1.0, 2.0], [3.0, 4.0]]), _t([[1.0, 0.0], [0.0, 0.0]])
    assert float(losses.mean_squared_error(a, b)) == pytest.approx((0 + 4 + 9 + 16) / 4)
    assert float(losses.mean_square(a)) == pytest.approx(30 / 4)


def _tiny_problem():
    """One style layer (2 channels), one content layer, a 2x2 one-channel image: all by hand."""
    image = _t([[[[0.0], [1.0]], [[3.0], [7.0]]]])  # TV sum 14, TV mean 3.5
    grams = [_t([[[1.0, 0.0], [0.0, 1.0]]])]
    style_targets = [_t([[[2.0, 0.0], [0.0, 2.0]]])]  # MSE (1 + 0 + 0 + 1) / 4 = 0.5; mean square 2
    contents = [_t([[[[1.0], [2.0]]]])]
    content_targets = [_t([[[[1.0], [4.0]]]])]  # MSE (0 + 4) / 2 = 2; mean square (1 + 16) / 2 = 8.5
    return image, grams, contents, style_targets, content_targets


def test_tutorial_loss_by_hand():
    result = {k: float(v) for k, v in losses.tutorial_loss(*_tiny_problem()).items()}
    # The tutorial's weights: style 1e-2, content 1e4, TV 30 (TV summed over pixels).
    assert result["style"] == pytest.approx(1e-2 * 0.5)
    assert result["content"] == pytest.approx(1e4 * 2.0)
    assert result["tv"] == pytest.approx(30 * 14.0)
    assert result["total"] == pytest.approx(1e-2 * 0.5 + 1e4 * 2.0 + 30 * 14.0)


def test_normalized_loss_by_hand():
    result = losses.normalized_loss(*_tiny_problem(), style_weight=3.0, tv_weight=0.5)
    result = {k: float(v) for k, v in result.items()}
    assert result["style"] == pytest.approx(3.0 * 0.5 / 2.0, rel=1e-6)
    assert result["content"] == pytest.approx(2.0 / 8.5, rel=1e-6)
    assert result["tv"] == pytest.approx(0.5 * 3.5)
    assert result["total"] == pytest.approx(0.75 + 2.0 / 8.5 + 1.75, rel=1e-6)


def test_normalized_loss_does_not_depend_on_activation_scale():
    """Scaling a layer's features (and its target) by k leaves the normalised losses unchanged:
    what lets untrained weights, whose activations differ by orders of magnitude, work."""
    image, grams, contents, style_targets, content_targets = _tiny_problem()
    base = losses.normalized_loss(image, grams, contents, style_targets, content_targets)
    k = 37.0
    scaled = losses.normalized_loss(
        image, [g * k**2 for g in grams], [c * k for c in contents],
        [t * k**2 for t in style_targets], [t * k for t in content_targets],
    )  # fmt: skip
    for name in ("style", "content", "total"):
        assert float(scaled[name]) == pytest.approx(float(base[name]), rel=1e-5)


def test_loss_is_zero_at_the_targets():
    image = _t(np.full((1, 4, 4, 3), 0.5))  # flat: no TV
    grams, contents = [_t(np.eye(3)[None])], [_t(np.ones((1, 2, 2, 3)))]
    for objective in (losses.tutorial_loss, losses.normalized_loss):
        result = objective(image, grams, contents, grams, contents)
        assert float(result["total"]) == 0.0


# --- the tutorial objective against an independent formula ------------------------------------


def _numpy_gram(features: np.ndarray) -> np.ndarray:
    _, height, width, channels = features.shape
    flat = features.reshape(-1, height * width, channels).astype(np.float64)
    return np.einsum("bpc,bpd->bcd", flat, flat) / (height * width)


def _numpy_tutorial_objective(image, style_features, content_features, style_grams, content_targets):
    """The TF tutorial's loss as it reads: style 1e-2 * mean over layers of mean((G - G_t)^2),
    content 1e4 * mean over layers of mean((F - F_t)^2), TV 30 * sum |neighbour differences|."""
    image = np.asarray(image, np.float64)
    style = np.mean([np.mean((_numpy_gram(f) - t) ** 2) for f, t in zip(style_features, style_grams)])
    content = np.mean(
        [np.mean((np.asarray(f, np.float64) - t) ** 2) for f, t in zip(content_features, content_targets)]
    )
    tv = np.abs(np.diff(image, axis=1)).sum() + np.abs(np.diff(image, axis=2)).sum()
    return 1e-2 * style + 1e4 * content + 30.0 * tv


def test_tutorial_loss_matches_an_independent_formula():
    rng = np.random.default_rng(3)
    image = rng.random((1, 12, 10, 3), np.float32)
    channels = [4, 6, 8, 8, 5]
    style_features = [
        rng.normal(size=(1, 12 // 2**i or 1, 10 // 2**i or 1, c)).astype(np.float32) for i, c in enumerate(channels)
    ]
    style_grams = [_numpy_gram(rng.normal(size=f.shape)) for f in style_features]
    content_features = [rng.normal(size=(1, 3, 2, 7)).astype(np.float32)]
    content_targets = [rng.normal(size=(1, 3, 2, 7))]

    result = losses.tutorial_loss(
        _t(image),
        [losses.gram_matrix(_t(f)) for f in style_features],
        [_t(f) for f in content_features],
        [_t(g) for g in style_grams],
        [_t(t) for t in content_targets],
    )
    expected = _numpy_tutorial_objective(image, style_features, content_features, style_grams, content_targets)
    assert float(result["total"]) == pytest.approx(expected, rel=1e-5)


# --- gradients --------------------------------------------------------------------------------


def _smooth_features(image: tf.Tensor) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
    """A tiny, smooth, fixed 'network' in float64: the image itself and tanh of a 2x2 conv."""
    kernel = tf.constant(np.random.default_rng(0).normal(size=(2, 2, 3, 4)), tf.float64)
    hidden = tf.tanh(tf.nn.conv2d(image, kernel, strides=1, padding="VALID"))
    return [losses.gram_matrix(image), losses.gram_matrix(hidden)], [hidden]


@pytest.mark.parametrize("objective", ["tutorial", "normalized"])
def test_objective_gradient_matches_finite_differences(objective):
    loss_fn = losses.OBJECTIVE_SPECS[objective].loss
    rng = np.random.default_rng(1)
    target_grams, target_contents = _smooth_features(tf.constant(rng.random((1, 5, 4, 3)), tf.float64))

    def total(pixels: tf.Tensor) -> tf.Tensor:
        grams, contents = _smooth_features(pixels)
        return loss_fn(pixels, grams, contents, target_grams, target_contents)["total"]

    image = tf.constant(rng.random((1, 5, 4, 3)), tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(image)
        value = total(image)
    gradient = tape.gradient(value, image).numpy()

    eps, flat = 1e-6, image.numpy().ravel()
    numeric = np.empty_like(flat)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        shape = image.shape
        numeric[i] = (float(total(tf.constant(up.reshape(shape)))) - float(total(tf.constant(down.reshape(shape))))) / (
            2 * eps
        )
    np.testing.assert_allclose(gradient.ravel(), numeric, rtol=1e-4, atol=1e-6 * np.abs(numeric).max())


@pytest.mark.parametrize("objective", ["tutorial", "normalized"])
def test_vgg_objective_directional_derivative_matches_finite_differences(objective):
    """The real thing on a tiny image: untrained VGG19 features, float32. A central difference
    along the gradient's direction must match the gradient's norm (along a random direction the
    float32 round-off of the loss swamps the signal)."""
    from style_transfer.losses import TUTORIAL_CONTENT_LAYERS, TUTORIAL_STYLE_LAYERS
    from style_transfer.model import feature_network

    network = feature_network("untrained", TUTORIAL_STYLE_LAYERS + TUTORIAL_CONTENT_LAYERS, "float32")
    rng = np.random.default_rng(2)

    def features(image):
        outputs = network(image)
        grams = [losses.gram_matrix(outputs[name]) for name in TUTORIAL_STYLE_LAYERS]
        return grams, [outputs[name] for name in TUTORIAL_CONTENT_LAYERS]

    style_targets, _ = features(tf.constant(rng.random((1, 32, 32, 3), np.float32)))
    _, content_targets = features(tf.constant(rng.random((1, 32, 32, 3), np.float32)))

    def total(image):
        grams, contents = features(image)
        return losses.OBJECTIVE_SPECS[objective].loss(image, grams, contents, style_targets, content_targets)["total"]

    image = tf.constant(rng.uniform(0.2, 0.8, (1, 32, 32, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(image)
        value = total(image)
    gradient = tape.gradient(value, image)
    direction = gradient / tf.reduce_max(tf.abs(gradient))  # at most one unit per pixel
    analytic = float(tf.reduce_sum(gradient * direction))
    eps = 1e-3
    numeric = (float(total(image + eps * direction)) - float(total(image - eps * direction))) / (2 * eps)
    assert analytic > 0.0
    assert numeric == pytest.approx(analytic, rel=0.01)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-4), ("bfloat16", 0.05)])
def test_feature_network_matches_keras_vgg19(dtype, tolerance):
    """The engine's hand-written conv stack gives Keras' own VGG19 outputs (bfloat16: to its precision)."""
    import keras

    from style_transfer.model import feature_network, preprocess
    from style_transfer.weights import load_vgg19

    layers = ("block1_conv1", "block3_conv1", "block4_conv2", "block5_conv1")
    vgg, _ = load_vgg19("untrained")
    keras_model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in layers])
    image = tf.constant(np.random.default_rng(3).random((1, 40, 56, 3), np.float32))
    expected = keras_model(preprocess(image))
    outputs = feature_network("untrained", layers, dtype)(image)
    actual = [outputs[name] for name in layers]
    for name, want, got in zip(layers, expected, actual):
        assert got.shape == want.shape, name
        scale = float(tf.reduce_max(tf.abs(want)))
        assert float(tf.reduce_max(tf.abs(got - want))) <= tolerance * scale, name
