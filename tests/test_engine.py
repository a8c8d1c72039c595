"""The stylize() generator's contract, on tiny images with untrained weights.

At size 64 a 64x48 content image runs at a single scale and is never resized, and a 64x64
style image is used as it is, so a test can compute what the engine sees independently.
"""

from __future__ import annotations

import io
import math
import weakref

import keras
import numpy as np
import pytest
from PIL import Image

from style_transfer import Frame, StyleConfig, StyleTransferError, read_recipe, save_png, stylize
from style_transfer.costs import fallback
from style_transfer.image import match_colours
from style_transfer.plan import plan_scales

pytestmark = pytest.mark.usefixtures("no_network")

# The photo as it is, as the start and the content: the engine's own paths (the defaults' feed-forward start
# and recolouring have their tests: test_feedforward.py, test_recolour_* below).
TINY = StyleConfig(size=64, steps=8, preset="fast", init="content", recolour="none")


def run(content, styles, config=TINY, weights="untrained") -> list[Frame]:
    return list(stylize(content, styles, config, weights=weights))


def png_bytes(frame: Frame) -> bytes:
    assert frame.image is not None and frame.recipe is not None  # a final frame
    buffer = io.BytesIO()
    save_png(frame.image, buffer, frame.recipe)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def frames(content_image, style_image) -> list[Frame]:
    return run(content_image, [style_image])


# --- the generator contract -------------------------------------------------------------------


def test_one_frame_per_step_and_the_last_is_done(frames):
    assert len(frames) == TINY.total_steps == 8
    assert [f.step for f in frames] == list(range(1, 9))
    assert all(f.total == 8 for f in frames)
    assert [f.done for f in frames] == [False] * 7 + [True]
    last = frames[-1]
    assert isinstance(last.image, Image.Image) and last.image.mode == "RGB"


def test_frames_report_size_and_time(frames):
    for frame in frames:
        assert frame.size == (64, 48)
        assert frame.image is None or frame.image.size == (64, 48)
        assert frame.elapsed >= 0
    elapsed = [f.elapsed for f in frames]
    assert elapsed == sorted(elapsed)


def test_losses_are_finite_consistent_and_falling(frames):
    for frame in frames:
        assert set(frame.losses) >= {"content", "style", "tv", "total"}
        assert all(math.isfinite(v) and v >= 0 for v in frame.losses.values())
        parts = frame.losses["content"] + frame.losses["style"] + frame.losses["tv"]
        assert frame.losses["total"] == pytest.approx(parts, rel=1e-5)
    totals = [f.losses["total"] for f in frames]
    assert totals[-1] < 0.95 * totals[0], f"the loss did not fall: {totals}"


def test_content_init_starts_at_the_content(frames):
    # The first loss is evaluated on the initial image: the content itself.
    assert frames[0].losses["content"] == pytest.approx(0.0, abs=1e-6)
    assert frames[-1].losses["content"] > 0


def test_recipe_only_on_the_last_frame(frames):
    assert all(f.recipe is None for f in frames[:-1])
    recipe = frames[-1].recipe
    assert recipe["config"] == TINY.to_dict()
    assert recipe["seed"] == TINY.seed
    assert recipe["weights"]["untrained"] is True and recipe["weights"]["id"].startswith("untrained")
    assert frames[-1].weights is not None and frames[-1].weights.untrained


def test_reproducible_to_the_byte(frames, content_image, style_image):
    again = run(content_image, [style_image])
    assert [f.losses for f in again] == [f.losses for f in frames]
    assert png_bytes(again[-1]) == png_bytes(frames[-1])
    assert read_recipe(Image.open(io.BytesIO(png_bytes(again[-1])))) == again[-1].recipe


def test_preview_every_n_steps(content_image, style_image):
    frames = run(content_image, [style_image], TINY.replace(preview_every=3))
    with_image = [f.step for f in frames if f.image is not None]
    assert {3, 6, 8} <= set(with_image)


class _CountingOptimizers:
    """Wraps the engine's optimiser factory: counts the steps taken, keeps weak references."""

    def __init__(self, real):
        self.real, self.steps, self.made = real, 0, []

    def __call__(self, *args, **kwargs):
        optimizer = self.real(*args, **kwargs)
        real_step = optimizer.step

        def counted_step(*a, **k):
            self.steps += 1
            return real_step(*a, **k)

        optimizer.step = counted_step
        self.made.append(weakref.ref(optimizer))
        return optimizer


def test_close_stops_the_run_and_frees_it(content_image, style_image, monkeypatch):
    from style_transfer.engine import run as engine

    counter = _CountingOptimizers(engine.make_optimizer)
    monkeypatch.setattr(engine, "make_optimizer", counter)
    generator = stylize(content_image, [style_image], TINY.replace(steps=500), weights="untrained")
    taken = [next(generator) for _ in range(3)]
    assert [f.step for f in taken] == [1, 2, 3] and counter.steps == 3
    generator.close()
    assert counter.steps == 3, "a step ran after close()"
    with pytest.raises(StopIteration):
        next(generator)
    assert counter.steps == 3
    del taken
    assert counter.made and all(ref() is None for ref in counter.made), "the optimiser outlived close()"


def test_closing_before_the_first_step_runs_nothing(content_image, style_image, monkeypatch):
    from style_transfer.engine import run as engine

    counter = _CountingOptimizers(engine.make_optimizer)
    monkeypatch.setattr(engine, "make_optimizer", counter)
    generator = stylize(content_image, [style_image], TINY, weights="untrained")
    generator.close()
    assert counter.steps == 0


@pytest.mark.parametrize(
    ("styles", "config", "message"),
    [
        ([], TINY, "at least one style"),
        (["a", "b"], TINY.replace(style_blend=(1.0, 2.0, 3.0)), "2 style images but 3 blend weights"),
        (["a"], TINY.replace(style_blend=(1.0, 1.0)), "1 style images but 2 blend weights"),
        (["a"], TINY.replace(size=16), "at least 16"),  # 16x12 output
    ],
)
def test_bad_requests_fail_at_the_call_before_any_work(styles, config, message, style_image, content_image):
    images = {"a": style_image, "b": content_image}
    with pytest.raises(StyleTransferError, match=message):
        stylize(content_image, [images[s] for s in styles], config, weights="untrained")


def test_bad_image_fails_at_the_call(bad_files, style_image):
    with pytest.raises(StyleTransferError, match="content image is 1x1"):
        stylize(str(bad_files["one_pixel.png"]), [style_image], TINY, weights="untrained")
    with pytest.raises(StyleTransferError, match="style image 2 file is empty"):
        stylize(style_image, [style_image, str(bad_files["empty.jpg"])], TINY, weights="untrained")


# --- aspect ratio and the pyramid -------------------------------------------------------------


def test_portrait_keeps_its_aspect_ratio(picture, style_image):
    frames = run(picture(48, 64, seed=2), [style_image], TINY.replace(steps=2))
    assert frames[-1].image.size == (48, 64)


def test_multi_scale_run_keeps_aspect_ratio_coarse_to_fine(picture, style_image):
    content = picture(400, 300, seed=2)
    config = StyleConfig(size=128, preset="fast", steps=6)
    frames = run(content, [style_image], config)
    plan = plan_scales(config, content.size, fallback("float32"))
    assert [size for size, _ in plan] == [(64, 48), (128, 96)]
    expected_sizes = [size for size, steps in plan for _ in range(steps)]
    assert [f.size for f in frames] == expected_sizes
    assert [f.scale for f in frames] == [1 + i for i, (_, steps) in enumerate(plan) for _ in range(steps)]
    assert frames[-1].image.size == (128, 96)
    assert all(math.isfinite(f.losses["total"]) for f in frames)


def test_few_steps_still_give_the_full_size(picture, style_image):
    frames = run(picture(400, 300, seed=2), [style_image], StyleConfig(size=128, preset="fast", steps=1))
    assert len(frames) == 1 and frames[0].image.size == (128, 96)


# --- styles and blending ----------------------------------------------------------------------


def test_blend_weight_zero_is_the_single_style(frames, content_image, style_image, picture):
    other = picture(64, 64, seed=9)
    blended = run(content_image, [style_image, other], TINY.replace(style_blend=(1.0, 0.0)))
    assert blended[-1].image.tobytes() == frames[-1].image.tobytes()


def test_blend_weights_are_relative(content_image, style_image, picture):
    other = picture(64, 64, seed=9)
    a = run(content_image, [style_image, other], TINY.replace(steps=3, style_blend=(3.0, 1.0)))
    b = run(content_image, [style_image, other], TINY.replace(steps=3, style_blend=(0.75, 0.25)))
    c = run(content_image, [style_image, other], TINY.replace(steps=3, style_blend=(1.0, 3.0)))
    assert a[-1].losses == pytest.approx(b[-1].losses, rel=1e-5)
    assert a[-1].losses["style"] != pytest.approx(c[-1].losses["style"], rel=1e-3)


# --- initial image and seed -------------------------------------------------------------------


def test_noise_init_is_seeded(content_image, style_image):
    config = TINY.replace(steps=2, init="noise")
    one, same = run(content_image, [style_image], config), run(content_image, [style_image], config)
    other = run(content_image, [style_image], config.replace(seed=1))
    assert one[0].losses["content"] > 0  # not the content image
    assert one[-1].image.tobytes() == same[-1].image.tobytes()
    assert one[-1].image.tobytes() != other[-1].image.tobytes()


# --- colour preservation ----------------------------------------------------------------------

# ITU-R BT.601 RGB -> YIQ, written out here rather than taken from the package.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _chroma(image: Image.Image) -> np.ndarray:
    return ((np.asarray(image, np.float64) / 255.0) @ _YIQ.T)[..., 1:]


def test_luminance_mode_keeps_the_content_colours(content_image, style_image):
    # Start from noise, so without colour preservation the colours come from the noise and the style.
    config = TINY.replace(steps=6, init="noise")
    plain = run(content_image, [style_image], config)[-1].image
    kept = run(content_image, [style_image], config.replace(preserve_color="luminance"))[-1].image
    content_chroma = _chroma(content_image)
    assert np.abs(_chroma(kept) - content_chroma).mean() < 0.03
    assert np.abs(_chroma(plain) - content_chroma).mean() > 0.1


def test_histogram_mode_transfers_the_recoloured_style(content_image, style_image):
    config = TINY.replace(steps=3)
    matched = run(content_image, [style_image], config.replace(preserve_color="histogram"))
    by_hand = run(content_image, [match_colours(style_image, content_image)], config)
    plain = run(content_image, [style_image], config)
    assert matched[-1].image.tobytes() == by_hand[-1].image.tobytes()
    assert matched[-1].image.tobytes() != plain[-1].image.tobytes()


def test_recolour_content_moves_the_photo_to_the_paintings_palette(content_image, style_image):
    from style_transfer import image as images

    photo = images.to_array(images.resize(content_image, (64, 48)))
    painting = images.to_array(style_image)
    recoloured = run(content_image, [style_image], TINY.replace(steps=1, recolour="content"))[-1].image
    mean = lambda a: a.reshape(-1, 3).mean(axis=0)  # noqa: E731
    before = np.abs(mean(photo) - mean(painting)).sum()
    after = np.abs(mean(images.to_array(recoloured)) - mean(painting)).sum()
    assert after < before / 2, (before, after)


def test_recolour_ignores_a_style_of_blend_weight_zero(content_image, style_image, picture):
    config = TINY.replace(steps=1, recolour="content")
    alone = run(content_image, [style_image], config)
    blended = run(content_image, [style_image, picture(64, 64, seed=9)], config.replace(style_blend=(1.0, 0.0)))
    assert blended[-1].image.tobytes() == alone[-1].image.tobytes()


# --- optimisers -------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_both_optimisers_reduce_the_loss(optimizer, content_image, style_image):
    frames = run(content_image, [style_image], TINY.replace(optimizer=optimizer, steps=10))
    totals = [f.losses["total"] for f in frames]
    assert totals[-1] < totals[0], f"{optimizer} did not reduce the loss: {totals}"
    if optimizer == "lbfgs":  # Adam's first steps are too small to change a pixel (see the report)
        assert np.asarray(frames[-1].image).tobytes() != np.asarray(content_image).tobytes()


# --- the tutorial objective, end to end -------------------------------------------------------

TUTORIAL_STYLE = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
TUTORIAL_CONTENT = ["block5_conv2"]


def _independent_features(seeded_vgg19_weights, images: list[np.ndarray]) -> list[list[np.ndarray]]:
    """VGG19 (Keras' architecture, the DESIGN's seeded He-normal weights), caffe preprocessing
    written by hand: RGB [0, 1] -> BGR * 255 minus the ImageNet mean."""
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    convs = [layer for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D)]
    weights = seeded_vgg19_weights(0)
    for index, layer in enumerate(convs):
        layer.set_weights(weights[2 * index : 2 * index + 2])
    model = keras.Model(vgg.input, [vgg.get_layer(n).output for n in TUTORIAL_STYLE + TUTORIAL_CONTENT])
    mean_bgr = np.array([103.939, 116.779, 123.68], np.float32)
    results = []
    for image in images:
        bgr = image[None, ..., ::-1].astype(np.float32) * 255.0 - mean_bgr
        results.append([np.asarray(o, np.float64) for o in model(bgr)])
    return results


def test_tutorial_objective_matches_an_independent_computation(content_image, style_image, seeded_vgg19_weights):
    """The first frame's losses are the tutorial's loss of the initial image (the content)."""
    first = run(content_image, [style_image], TINY.replace(objective="tutorial", steps=1))[0]

    content = np.asarray(content_image, np.float32) / 255.0
    style = np.asarray(style_image, np.float32) / 255.0
    content_features, style_features = _independent_features(seeded_vgg19_weights, [content, style])

    def gram(f):
        flat = f.reshape(-1, f.shape[-1])
        return flat.T @ flat / flat.shape[0]

    style_loss = 1e-2 * np.mean(
        [np.mean((gram(a) - gram(b)) ** 2) for a, b in zip(content_features, style_features)][:5]
    )
    tv = 30.0 * (np.abs(np.diff(content, axis=0)).sum() + np.abs(np.diff(content, axis=1)).sum())
    assert first.losses["content"] == pytest.approx(0.0, abs=1e-6)
    assert first.losses["style"] == pytest.approx(style_loss, rel=1e-4)
    assert first.losses["tv"] == pytest.approx(tv, rel=1e-4)
    assert first.losses["total"] == pytest.approx(style_loss + tv, rel=1e-4)


@pytest.mark.parametrize("style_size", [(256, 16), (16, 256)])
def test_a_valid_but_narrow_style_image_works_or_is_refused_clearly(style_size, content_image, stripes):
    """A 16:1 style image with a 16 px short side passes the loader's checks; scaled to the
    output's long side (64) its short side is 4 px, too small for VGG19's pools."""
    try:
        frames = run(content_image, [stripes(*style_size)], TINY.replace(steps=2))
    except StyleTransferError as error:
        assert "style image" in str(error)
        return
    assert all(math.isfinite(v) for v in frames[-1].losses.values())


@pytest.mark.parametrize(("capability", "native"), [((7, 5), False), ((8, 0), True), ((9, 0), True), (None, False)])
def test_bfloat16_counts_as_native_on_a_gpu_only_from_ampere_on(monkeypatch, capability, native):
    """A T4 (compute capability 7.5) has no bfloat16 units: bfloat16 there would be emulated, slower."""
    import tensorflow as tf

    from style_transfer import model

    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    details = {} if capability is None else {"compute_capability": capability}
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: details)
    assert model.has_native_bfloat16.__wrapped__() is native  # uncached: this machine's answer stays cached
