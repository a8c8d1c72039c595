"""The generator: coarse-to-fine Gatys optimisation yielding a Frame per step."""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image

from . import image as images
from .config import StyleConfig
from .errors import StyleTransferError
from .losses import OBJECTIVE_SPECS, ObjectiveSpec, gram_matrix
from .model import feature_network, load_network, objective_dtype
from .optim import LBFGS, Adam, LossAndGradient, make_optimizer
from .plan import MIN_SCALE_SIDE, Plan, Scale, fit_long_side
from .recipe import make_recipe
from .settings import OperatorSettings
from .weights import WeightsInfo

PREVIEW_SECONDS = 1.0
Targets = tuple[list[tf.Tensor], list[tf.Tensor]]  # (style Grams, content features), in layer order


@dataclass(frozen=True)
class Frame:
    """One optimisation step's report. ``image`` is set when a preview is due and on the last frame."""

    step: int
    total: int
    size: tuple[int, int]
    scale: int
    scales: int
    losses: dict[str, float]
    elapsed: float
    eta: float | None
    done: bool
    image: Image.Image | None = None
    weights: WeightsInfo | None = None
    recipe: dict[str, Any] | None = field(default=None, repr=False)


class CompiledObjective:
    """A config's objective (see losses.OBJECTIVE_SPECS) on one network: targets and the compiled step.

    ``dtype`` is the compute precision of the VGG convolutions (grams and losses are
    always float32); ``objective_dtype`` gives the one a run uses.
    """

    def __init__(self, weights_spec: str, config: StyleConfig, dtype: str):
        self.spec = OBJECTIVE_SPECS[config.objective]
        self.style_layers, self.content_layers = self.spec.layers_for(config)
        self.style_weight = self.spec.style_weight * config.style_strength
        self.tv_weight = self.spec.tv_weight * config.tv_weight
        self.dtype = dtype
        self.compiled = _compiled_loss(weights_spec, self.style_layers, self.content_layers, self.spec, dtype)
        self.features = feature_network(weights_spec, self.style_layers + self.content_layers, dtype)

    def targets(self, content: np.ndarray, styles: Sequence[np.ndarray], blend: Sequence[float]) -> Targets:
        """Style Gram targets (blended over the style images) and content feature targets."""
        # Eager: one forward per image and scale, not worth a trace per new shape.
        content_features = self.features(tf.constant(content))
        content_targets = [content_features[name] for name in self.content_layers]
        style_targets = [tf.zeros(()) for _ in self.style_layers]
        for style, weight in zip(styles, blend):
            features = self.features(tf.constant(style))
            grams = [gram_matrix(features[name]) for name in self.style_layers]
            style_targets = [t + weight * gram for t, gram in zip(style_targets, grams)]
        return style_targets, content_targets

    def loss_and_gradient(self, targets: Targets) -> LossAndGradient:
        style_weight, tv_weight = tf.constant(self.style_weight), tf.constant(self.tv_weight)
        return lambda image: self.compiled(image, targets[0], targets[1], style_weight, tv_weight)


@functools.lru_cache(maxsize=16)
def _compiled_loss(
    weights_spec: str, style_layers: tuple[str, ...], content_layers: tuple[str, ...], spec: ObjectiveSpec, dtype: str
):
    """One traced graph function per network, objective, layers and precision, shared by every run.

    Targets and weights are arguments, not captured constants, and image sizes are left
    open in the signature, so one trace serves every scale and every request. On a CPU
    it is not XLA-compiled: TF's oneDNN kernels measured faster than XLA's (2.2 s vs
    2.7 s a step at 512 px, float32) and a new shape costs ~0.4 s to trace instead of
    2-6 s to compile, and XLA's CPU bfloat16 convolutions are not native (2.8 s vs 1.2 s).
    """
    features = feature_network(weights_spec, style_layers + content_layers, dtype)
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


@dataclass
class _Inputs:
    content: Image.Image  # what the optimiser matches (luminance only when preserving colour that way)
    styles: list[Image.Image]
    blend: list[float]
    colour_source: Image.Image | None  # content whose colours are put back on each preview


def prepare_inputs(content: Any, styles: Sequence[Any], config: StyleConfig, settings: OperatorSettings) -> _Inputs:
    limits: dict[str, Any] = {"max_megapixels": settings.max_input_megapixels, "max_bytes": settings.max_input_bytes}
    if not styles:
        raise StyleTransferError("give at least one style image")
    content_image = images.load_image(content, "content image", **limits)
    style_images = [
        images.load_image(s, "style image" if len(styles) == 1 else f"style image {i + 1}", **limits)
        for i, s in enumerate(styles)
    ]
    blend = list(config.style_blend) or [1.0] * len(style_images)
    if len(blend) != len(style_images):
        raise StyleTransferError(f"{len(style_images)} style images but {len(blend)} blend weights; give one per style")
    blend = [w / sum(blend) for w in blend]
    if config.preserve_color == "histogram":
        style_images = [images.match_colours(s, content_image) for s in style_images]
    if config.preserve_color == "luminance":
        return _Inputs(
            images.luminance(content_image), [images.luminance(s) for s in style_images], blend, content_image
        )
    return _Inputs(content_image, style_images, blend, None)


def check_output_size(plan: Plan) -> None:
    width, height = plan[-1].size
    if min(width, height) < images.MIN_SIDE:
        raise StyleTransferError(
            f"the output would be {width}x{height}; its short side must be at least {images.MIN_SIDE} px "
            "(raise the size or crop the content image)"
        )


def stylize(
    content: Any,
    styles: Sequence[Any],
    config: StyleConfig | None = None,
    weights: str | None = None,
    *,
    settings: OperatorSettings | None = None,
) -> Generator[Frame, None, None]:
    """Validate the inputs now, then return a generator of one Frame per optimisation step.

    ``content`` and each of ``styles`` is a PIL image, a path, or bytes. ``settings`` are
    the operator's (input limits, precision, weights); None reads them from the environment
    (``OperatorSettings.from_env()``). ``weights``, a weights spec (see weights.py), overrides
    ``settings.weights``. Closing the generator stops the run before the next step and frees
    its tensors.
    """
    config = config or StyleConfig()
    settings = settings or OperatorSettings.from_env()
    if isinstance(styles, (str, bytes, Image.Image)) or not isinstance(styles, Sequence):
        styles = [styles]
    weights_spec = weights or settings.weights
    inputs = prepare_inputs(content, styles, config, settings)
    plan = config.scales(inputs.content.size)
    check_output_size(plan)
    info = load_network(weights_spec)
    objective = CompiledObjective(weights_spec, config, objective_dtype(config.objective, settings.precision))
    return _run(inputs, plan, config, objective, info)


def _run(
    inputs: _Inputs, plan: Plan, config: StyleConfig, objective: CompiledObjective, info: WeightsInfo
) -> Generator[Frame, None, None]:
    total = sum(scale.steps for scale in plan)
    clock = _Clock(plan)
    optimizer: LBFGS | Adam | None = None
    step = 0
    try:
        for index, scale in enumerate(plan):
            optimizer, loss_and_gradient = _set_up_scale(inputs, scale, config, objective, optimizer)
            for scale_step in range(scale.steps):
                losses = {name: float(value) for name, value in optimizer.step(loss_and_gradient).items()}
                step += 1
                clock.tick(index, scale_step)
                done = step == total
                preview = done or scale_step == scale.steps - 1 or clock.preview_due(step, config.preview_every)
                yield Frame(
                    step=step,
                    total=total,
                    size=scale.size,
                    scale=index + 1,
                    scales=len(plan),
                    losses=losses,
                    elapsed=clock.elapsed(),
                    eta=clock.eta(index, scale_step),
                    done=done,
                    image=_preview(optimizer.image, inputs.colour_source) if preview else None,
                    weights=info,
                    recipe=make_recipe(config, info) if done else None,
                )
    finally:
        # Runs on normal end, on error and when the caller closes the generator (Stop).
        del optimizer
        gc.collect()


def _set_up_scale(
    inputs: _Inputs, scale: Scale, config: StyleConfig, objective: CompiledObjective, previous: LBFGS | Adam | None
) -> tuple[LBFGS | Adam, LossAndGradient]:
    """A scale's targets, its start (the initial image, or the coarser result carried up) and a new optimiser.

    Only the picture goes up the pyramid: the optimiser's memory is tied to the pixel grid.
    """
    content = images.to_array(images.resize(inputs.content, scale.size))
    styles = [images.to_array(_style_at(s, scale.size, config.style_scale)) for s in inputs.styles]
    targets = objective.targets(content, styles, inputs.blend)
    start = _initial_image(config, content) if previous is None else _upscale(previous.image, content)
    optimizer = make_optimizer(config.optimizer, start, config.learning_rate, objective.spec.adam_epsilon)
    return optimizer, objective.loss_and_gradient(targets)


def _style_at(style: Image.Image, size: tuple[int, int], style_scale: float) -> Image.Image:
    """The style image with its long side at style_scale times the output's long side.

    Never smaller than MIN_SCALE_SIDE on its short side: VGG19 pools four times, and a
    narrow style image shrunk further would vanish before the deepest style layer.
    """
    width, height = style.size
    long_side = max(round(max(size) * style_scale), math.ceil(MIN_SCALE_SIDE * max(width, height) / min(width, height)))
    return images.resize(style, fit_long_side(style.size, long_side))


def _initial_image(config: StyleConfig, content: np.ndarray) -> tf.Tensor:
    if config.init == "noise":
        rng = np.random.default_rng(config.seed)
        return tf.constant(rng.uniform(0.0, 1.0, content.shape).astype(np.float32))
    return tf.constant(content)


def _upscale(image: tf.Tensor, content: np.ndarray) -> tf.Tensor:
    """The coarser result at the content's size, with the content's fine detail added back.

    A plain upscale is blurred: the finer scale's first steps then only re-create the
    detail the blur removed (on the tutorial objective at 256 px a plain upscale starts
    3.6x above the content image's own loss). Adding the content's high frequencies
    (content minus its own down-and-up-scaled copy) carries over the coarse stylisation
    without the blur.
    """
    height, width = content.shape[1:3]
    coarse = image.shape[1:3]
    content_low = tf.image.resize(tf.image.resize(content, coarse, method="area"), (height, width), method="bicubic")
    upscaled = tf.image.resize(image, (height, width), method="bicubic")
    return tf.clip_by_value(upscaled + (content - content_low), 0.0, 1.0)


def _preview(image: tf.Tensor, colour_source: Image.Image | None) -> Image.Image:
    pixels = image.numpy()
    if colour_source is not None:
        pixels = images.with_luminance_of(pixels, colour_source)
    return images.to_pil(pixels)


class _Clock:
    """Elapsed time, preview pacing and an ETA from the measured cost per pixel-step."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.start = self.last_tick = self.last_preview = time.perf_counter()
        self.seconds_per_pixel_step: float | None = None

    def tick(self, scale: int, index: int) -> None:
        now = time.perf_counter()
        if index > 0:  # the first step of a scale includes compiling; keep it out of the rate
            width, height = self.plan[scale].size
            rate = (now - self.last_tick) / (width * height)
            previous = self.seconds_per_pixel_step
            self.seconds_per_pixel_step = rate if previous is None else 0.7 * previous + 0.3 * rate
        self.last_tick = now

    def elapsed(self) -> float:
        return self.last_tick - self.start

    def preview_due(self, step: int, every: int) -> bool:
        if every:
            return step % every == 0
        if self.last_tick - self.last_preview >= PREVIEW_SECONDS:
            self.last_preview = self.last_tick
            return True
        return False

    def eta(self, scale: int, index: int) -> float | None:
        if self.seconds_per_pixel_step is None:
            return None
        (width, height), steps = self.plan[scale]
        work = (steps - index - 1) * width * height
        work += sum(w * h * n for (w, h), n in self.plan[scale + 1 :])
        return work * self.seconds_per_pixel_step


def warm_up(settings: OperatorSettings) -> WeightsInfo:
    """Load the network and trace the default objective's step once, for a server's start-up.

    The traced step takes any image size, so the first request then starts optimising
    at once instead of spending ~0.6 s tracing.
    """
    info = load_network(settings.weights)
    config = StyleConfig()
    objective = CompiledObjective(settings.weights, config, objective_dtype(config.objective, settings.precision))
    image = np.full((1, 32, 32, 3), 0.5, np.float32)
    objective.loss_and_gradient(objective.targets(image, [image], [1.0]))(tf.constant(image))
    return info
