"""The generator: coarse-to-fine Gatys optimisation yielding a Frame per step."""

from __future__ import annotations

import functools
import gc
import math
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image

from . import costs
from . import image as images
from .config import StyleConfig
from .costs import CostModel
from .errors import StyleTransferError
from .estimate import check_request, estimate_memory
from .losses import OBJECTIVE_SPECS, ObjectiveSpec, gram_matrix
from .model import Features, feature_network, load_network, objective_dtype
from .optim import LBFGS, Adam, LossAndGradient, make_optimizer
from .plan import MIN_SCALE_SIDE, Plan, Scale, budget_step_cap, fit_long_side, trim_to_time
from .recipe import make_recipe, parent_recipe
from .settings import OperatorSettings
from .timelapse import film_frame_due
from .weights import WeightsInfo

PREVIEW_SECONDS = 1.0
FINISH_SECONDS = 0.3  # kept free before a deadline: the last preview and the PNG
MAX_STYLE_PIXELS = 2048 * 2048  # a scaled style image never has more pixels than this
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
    note: str | None = None  # on the last frame: why the run took fewer steps than planned, if it did


class _Stopped(Exception):
    """The caller's stop flag was set during a scale's set-up."""


class CompiledObjective:
    """A config's objective (see losses.OBJECTIVE_SPECS) on one network: targets and the compiled step.

    ``dtype`` is the compute precision of the VGG convolutions (grams and losses are
    always float32); ``objective_dtype`` gives the one a run uses.
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
        stop: threading.Event | None = None,
    ) -> Targets:
        """Style Gram targets (blended over the style images) and content feature targets.

        ``stop`` is checked before each image's forward pass: with several large style
        images this set-up is the longest stretch between two steps.
        """
        # Eager: one forward per image and scale, not worth a trace per new shape.
        _check(stop)
        network = self._features(content.shape[2:0:-1])  # the scale's (width, height) decides, as in the step
        content_features = network(tf.constant(content))
        content_targets = [content_features[name] for name in self.content_layers]
        style_targets = [tf.zeros(()) for _ in self.style_layers]
        for style, weight in zip(styles, blend):
            _check(stop)
            features = network(tf.constant(style))
            grams = [gram_matrix(features[name]) for name in self.style_layers]
            style_targets = [t + weight * gram for t, gram in zip(style_targets, grams)]
        return style_targets, content_targets

    def loss_and_gradient(self, targets: Targets, size: tuple[int, int]) -> LossAndGradient:
        """The compiled loss-and-gradient for images of ``size`` (w, h) against ``targets``."""
        layers = (self.weights_spec, self.style_layers, self.content_layers, self.spec, self.dtype)
        compiled = _compiled_loss(*layers, self.spec.split_at(size))
        style_weight, tv_weight = tf.constant(self.style_weight), tf.constant(self.tv_weight)
        return lambda image: compiled(image, targets[0], targets[1], style_weight, tv_weight)


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise _Stopped


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


@dataclass
class _Inputs:
    content: Image.Image  # what the optimiser matches (luminance only when preserving colour that way)
    styles: list[Image.Image]  # already no larger than the largest size a scale uses
    blend: list[float]
    colour_source: Image.Image | None  # content whose colours are put back on each preview
    init: Image.Image | None = None  # a start image (a finished result to continue or refine)
    parent: dict[str, Any] | None = None  # the start image's own recipe, if it carries one

    def setup_factor(self, size: tuple[int, int], style_scale: float) -> float:
        """Pixels a scale's set-up reads (content and style images) per pixel of the scale."""
        styles = sum(math.prod(_style_size(s.size, size, style_scale)) for s in self.styles)
        return 1.0 + styles / math.prod(size)


def prepare_inputs(
    content: Any,
    styles: Sequence[Any],
    config: StyleConfig,
    settings: OperatorSettings,
    init_image: Any = None,
) -> _Inputs:
    """Every input image opened (size limits checked on the header first), upright and RGB.

    Each style image is shrunk as soon as it is read to the largest size any scale uses,
    so a request with several huge style images holds only small copies.
    """
    limits = settings.input_limits
    if not styles:
        raise StyleTransferError("give at least one style image")
    content_image = images.load_image(content, "content image", **limits)
    output_size = fit_long_side(content_image.size, config.size)
    style_images = []
    for i, source in enumerate(styles):
        style = images.load_image(source, "style image" if len(styles) == 1 else f"style image {i + 1}", **limits)
        style_images.append(_shrunk(style, _style_size(style.size, output_size, config.style_scale)))
    blend = _blend_weights(config, len(style_images))
    init = images.load_image(init_image, "start image", **limits) if init_image is not None else None
    parent = parent_recipe(init_image) if init_image is not None else None
    if config.preserve_color == "histogram":
        style_images = [images.match_colours(s, content_image) for s in style_images]
    if config.preserve_color == "luminance":
        luminance = [images.luminance(s) for s in style_images]
        return _Inputs(images.luminance(content_image), luminance, blend, content_image, init, parent)
    return _Inputs(content_image, style_images, blend, None, init, parent)


def _blend_weights(config: StyleConfig, count: int) -> list[float]:
    blend = list(config.style_blend) or [1.0] * count
    if len(blend) != count:
        raise StyleTransferError(f"{count} style images but {len(blend)} blend weights; give one per style")
    total = math.fsum(blend)
    if not math.isfinite(total) or total <= 0:  # e.g. 1e308 + 1e308 overflows to inf
        raise StyleTransferError("blend weights must add up to a positive, finite number (e.g. 2, 1)")
    return [w / total for w in blend]


def _shrunk(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return images.resize(image, size) if size[0] < image.size[0] else image


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
    cost: CostModel | None = None,
    stop: threading.Event | None = None,
    init_image: Any = None,
) -> Generator[Frame, None, None]:
    """Validate the inputs now, then return a generator of one Frame per optimisation step.

    ``content`` and each of ``styles`` is a PIL image, a path, or bytes. ``settings`` are
    the operator's (input limits, caps, precision, weights); None reads them from the
    environment (``OperatorSettings.from_env()``). ``weights``, a weights spec (see
    weights.py), overrides ``settings.weights``. ``cost`` is this machine's cost model
    (``calibrate``), used to plan time budgets, keep to ``settings.max_seconds`` and give
    the ETA. ``init_image`` starts from a finished result instead of the content (continue
    at the same size, or refine at a larger one); its recipe becomes the new one's parent.
    Closing the generator, or setting ``stop``, stops the run before the next step (``stop``
    also inside a scale's set-up) and frees its tensors.
    """
    config = config or StyleConfig()
    settings = settings or OperatorSettings.from_env()
    if isinstance(styles, (str, bytes, Image.Image)) or not isinstance(styles, Sequence):
        styles = [styles]
    check_request(config, len(styles), settings)
    weights_spec = weights or settings.weights
    dtype = objective_dtype(config.objective, settings.precision)
    inputs = prepare_inputs(content, styles, config, settings, init_image)
    if cost is None or not cost.fits(config.objective, dtype):
        # A time budget is planned from this machine's measured speed (once per process, ~2-4 s);
        # otherwise the built-in constants serve the ETA and the deadline until the run measures itself.
        cost = calibrate(settings.replace(weights=weights_spec), config.objective) if config.budgeted else None
        cost = cost or costs.fallback(dtype)
    plan = _plan(config, inputs, cost, settings.max_steps)
    check_output_size(plan)
    style_sizes = scaled_style_sizes([s.size for s in inputs.styles], plan[-1].size, config.style_scale)
    check_request(config, len(styles), settings, plan, estimate_memory(plan, style_sizes, dtype))
    info = load_network(weights_spec)
    objective = CompiledObjective(weights_spec, config, dtype)
    # Under a time budget, time the plan leaves at the output size buys more steps there.
    most_steps = budget_step_cap(settings.max_steps) if config.budgeted else 0
    setup_factor = inputs.setup_factor(plan[-1].size, config.style_scale)
    pacer = _Pacer(plan, cost, setup_factor, *_deadline(config, settings), most_steps=most_steps)
    return _run(inputs, config, objective, info, pacer, stop)


def _plan(config: StyleConfig, inputs: _Inputs, cost: CostModel, max_steps: int) -> Plan:
    """The pyramid (or, from a start image, the output size alone: its coarse work is done)."""
    output_size = fit_long_side(inputs.content.size, config.size)
    factor = inputs.setup_factor(output_size, config.style_scale)
    single = inputs.init is not None
    return config.scales(inputs.content.size, cost, factor, single_scale=single, max_steps=max_steps)


def _deadline(config: StyleConfig, settings: OperatorSettings) -> tuple[float | None, str | None]:
    """The run's wall-time limit and, when the operator's cap sets it, what to tell the user."""
    budget, cap = config.seconds if config.budgeted else 0.0, settings.max_seconds
    if cap and (not budget or cap < budget):
        return cap, f"this server's time limit of {cap:g} s (STYLE_TRANSFER_MAX_SECONDS)"
    return (budget, None) if budget else (None, None)


def _run(
    inputs: _Inputs,
    config: StyleConfig,
    objective: CompiledObjective,
    info: WeightsInfo,
    pacer: _Pacer,
    stop: threading.Event | None,
) -> Generator[Frame, None, None]:
    optimizer: LBFGS | Adam | None = None
    step, index = 0, 0
    pacer.restart()  # the clock runs from the first step asked for, not from when the run was made
    try:
        while index < len(pacer.plan):
            scale = pacer.plan[index]
            optimizer, loss_and_gradient = _set_up_scale(inputs, scale, config, objective, optimizer, stop)
            pacer.start_scale()
            done_here = 0
            while done_here < pacer.plan[index].steps:
                losses = {name: float(value) for name, value in optimizer.step(loss_and_gradient).items()}
                step, done_here = step + 1, done_here + 1
                pacer.tick(index, done_here)
                yield _frame(step, index, done_here, losses, optimizer, inputs, config, info, pacer)
                if stop is not None and stop.is_set():
                    return
            index += 1
    except _Stopped:
        return
    finally:
        # Runs on normal end, on error and when the caller closes the generator (Stop).
        del optimizer
        gc.collect()


def _frame(
    step: int,
    index: int,
    done_here: int,
    losses: dict[str, float],
    optimizer: LBFGS | Adam,
    inputs: _Inputs,
    config: StyleConfig,
    info: WeightsInfo,
    pacer: _Pacer,
) -> Frame:
    scale = pacer.plan[index]
    done = step == pacer.total()
    last_of_scale = done_here == scale.steps
    image = None
    film = film_frame_due(step, pacer.total(), config.preview_every)  # short runs: every step (timelapse.py)
    if done or last_of_scale or film or pacer.preview_due(step, config.preview_every):
        pixels = optimizer.image
        if done and scale.size != pacer.output_size:  # cut short at a coarser scale: bring it to the output size
            pixels = _upscale(pixels, images.to_array(images.resize(inputs.content, pacer.output_size)))
        image = _preview(pixels, inputs.colour_source)
    return Frame(
        step=step,
        total=pacer.total(),
        size=scale.size,
        scale=index + 1,
        scales=len(pacer.plan),
        losses=losses,
        elapsed=pacer.elapsed(),
        eta=pacer.eta(index, done_here),
        done=done,
        image=image,
        weights=info,
        recipe=make_recipe(config, info, inputs.parent, pacer.plan) if done else None,
        note=pacer.note() if done else None,
    )


def _set_up_scale(
    inputs: _Inputs,
    scale: Scale,
    config: StyleConfig,
    objective: CompiledObjective,
    previous: LBFGS | Adam | None,
    stop: threading.Event | None,
) -> tuple[LBFGS | Adam, LossAndGradient]:
    """A scale's targets, its start (the initial image, or the coarser result carried up) and a new optimiser.

    Only the picture goes up the pyramid: the optimiser's memory is tied to the pixel grid.
    """
    content = images.to_array(images.resize(inputs.content, scale.size))
    styles = [
        images.to_array(images.resize(s, _style_size(s.size, scale.size, config.style_scale))) for s in inputs.styles
    ]
    targets = objective.targets(content, styles, inputs.blend, stop)
    if previous is not None:
        start = _upscale(previous.image, content)
    elif inputs.init is not None:
        start = _from_start_image(inputs.init, content)
    else:
        start = _initial_image(config, content)
    optimizer = make_optimizer(config.optimizer, start, config.learning_rate, objective.spec.adam_epsilon)
    return optimizer, objective.loss_and_gradient(targets, scale.size)


def _style_size(style: tuple[int, int], size: tuple[int, int], style_scale: float) -> tuple[int, int]:
    """The style image's size at a scale: its long side style_scale times the scale's long side.

    Never smaller than MIN_SCALE_SIDE on its short side: VGG19 pools four times, and a
    narrow style image shrunk further would vanish before the deepest style layer. Never
    more than MAX_STYLE_PIXELS: a large style_scale at a large size would otherwise ask
    for tens of GB (measured: 1024 px x 4 asked TensorFlow for a 38.7 GB buffer).
    """
    width, height = style
    long_side = max(round(max(size) * style_scale), math.ceil(MIN_SCALE_SIDE * max(width, height) / min(width, height)))
    largest = math.floor(max(width, height) * math.sqrt(MAX_STYLE_PIXELS / (width * height)))
    return fit_long_side(style, min(long_side, largest))


def scaled_style_sizes(
    sizes: Sequence[tuple[int, int]], output: tuple[int, int], style_scale: float
) -> list[tuple[int, int]]:
    """The sizes style images of ``sizes`` take at the output size (for estimates)."""
    return [_style_size(size, output, style_scale) for size in sizes]


def _initial_image(config: StyleConfig, content: np.ndarray) -> tf.Tensor:
    if config.init == "noise":
        rng = np.random.default_rng(config.seed)
        return tf.constant(rng.uniform(0.0, 1.0, content.shape).astype(np.float32))
    return tf.constant(content)


def _from_start_image(start: Image.Image, content: np.ndarray) -> tf.Tensor:
    """A finished result as the start: as it is at the same size, carried up like a coarser scale if smaller."""
    height, width = content.shape[1:3]
    if start.size[0] < width:
        return _upscale(tf.constant(images.to_array(start)), content)
    return tf.constant(images.to_array(images.resize(start, (width, height))))


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


class _Pacer:
    """The run's clock: elapsed time, preview pacing, the ETA, and the plan kept to the deadline.

    Times are predicted by the cost model times ``speed``, the measured over the predicted
    step time (a moving average): a machine busier or slower than at calibration gets
    longer ETAs and, under a deadline, fewer remaining steps instead of an overrun. Each
    step re-plans from the steps first planned, so steps cut while the machine was slow
    come back when it is fast again (never more than planned), except under a time budget
    (``most_steps``): there the output size takes as many steps as the time left buys.
    """

    def __init__(
        self,
        plan: Plan,
        cost: CostModel,
        setup_factor: float,
        deadline: float | None,
        cap: str | None,
        most_steps: int = 0,  # a time budget's cap on the run's steps; 0: no budget, never more than planned
    ):
        self.plan, self.planned = list(plan), list(plan)
        self.planned_total = sum(scale.steps for scale in plan)
        self.output_size = plan[-1].size
        self.cost, self.setup_factor, self.deadline, self.cap = cost, setup_factor, deadline, cap
        self.most_steps, self.speed = most_steps, 1.0
        self.restart()

    def restart(self) -> None:
        self.start = self.last_tick = self.last_preview = time.perf_counter()

    def total(self) -> int:
        return sum(scale.steps for scale in self.plan)

    def start_scale(self) -> None:
        self.last_tick = time.perf_counter()  # the step rate excludes the set-up

    def tick(self, index: int, done_here: int) -> None:
        now = time.perf_counter()
        if done_here > 1:  # a scale's first step includes one-off work on a new shape; keep it out
            predicted = self.cost.step(math.prod(self.plan[index].size))
            self.speed = 0.7 * self.speed + 0.3 * (now - self.last_tick) / predicted
        self.last_tick = now
        if self.deadline is not None:
            self._keep_to_deadline(index, done_here)

    def _keep_to_deadline(self, index: int, done_here: int) -> None:
        current = self.plan[index]
        position = next(i for i, scale in enumerate(self.planned) if scale.size == current.size)
        assert self.deadline is not None
        seconds_left = self.deadline - self.elapsed() - FINISH_SECONDS
        planned = self.planned[position:]
        if self.most_steps and len(planned) == 1:
            planned = [Scale(current.size, self._output_steps(index, done_here, seconds_left))]
        trimmed = trim_to_time(planned, seconds_left, self._step_seconds, self._setup_seconds, done_here)
        steps_here = done_here + (trimmed[0].steps if trimmed and trimmed[0].size == current.size else 0)
        later = [scale for scale in trimmed if scale.size != current.size]
        self.plan = [*self.plan[:index], Scale(current.size, steps_here), *later]

    def _output_steps(self, index: int, done_here: int, seconds_left: float) -> int:
        """Under a time budget, the output size's steps: its plan, or more if the time left buys them."""
        current = self.plan[index]
        affordable = done_here + max(0, math.floor(seconds_left / self._step_seconds(current)))
        before = sum(scale.steps for scale in self.plan[:index])
        return max(done_here, min(max(self.planned[-1].steps, affordable), self.most_steps - before))

    def _step_seconds(self, scale: Scale) -> float:
        return self.cost.step(math.prod(scale.size)) * self.speed

    def _setup_seconds(self, scale: Scale) -> float:
        return self.cost.setup(self.setup_factor * math.prod(scale.size)) * self.speed

    def elapsed(self) -> float:
        return self.last_tick - self.start

    def preview_due(self, step: int, every: int) -> bool:
        if every:
            return step % every == 0
        if self.last_tick - self.last_preview >= PREVIEW_SECONDS:
            self.last_preview = self.last_tick
            return True
        return False

    def eta(self, index: int, done_here: int) -> float:
        current = self.plan[index]
        seconds = (current.steps - done_here) * self._step_seconds(current)
        return seconds + sum(self._setup_seconds(s) + s.steps * self._step_seconds(s) for s in self.plan[index + 1 :])

    def note(self) -> str | None:
        """Why the run took fewer steps than planned: only the operator's cap is worth a word."""
        if self.cap is None or self.total() >= self.planned_total:
            return None
        return f"Stopped at {self.total()} of {self.planned_total} steps by {self.cap}; this is the picture so far."


def warm_up(settings: OperatorSettings) -> WeightsInfo:
    """Load the network and trace the default objective's step once, for a server's start-up.

    The traced step takes any image size, so the first request then starts optimising
    at once instead of spending ~0.6 s tracing.
    """
    info = load_network(settings.weights)
    config = StyleConfig()
    objective = CompiledObjective(settings.weights, config, objective_dtype(config.objective, settings.precision))
    for side in (32, 128):  # below and at HALF_RESOLUTION_MIN_SIDE: the two graphs a run may use
        image = np.full((1, side, side, 3), 0.5, np.float32)
        objective.loss_and_gradient(objective.targets(image, [image], [1.0]), (side, side))(tf.constant(image))
    return info


# A few seconds in all (float32, 2 cores); short sides of at least HALF_RESOLUTION_MIN_SIDE, like the
# scales where nearly all of a run's time goes.
CALIBRATION_SIZES = ((192, 128), (256, 192), (384, 288))


def calibrate(settings: OperatorSettings, objective: str | None = None) -> CostModel:
    """This machine's cost model for an objective (default: the default one), from real optimiser steps.

    At each of CALIBRATION_SIZES: the targets' forward passes and the first step (one-off
    work on a new shape) are the scale set-up, the median of the next steps a step. About
    2 s where bfloat16 is native, 4 s in float32 on 2 cores; done once per process.
    """
    config = StyleConfig() if objective is None else StyleConfig(objective=objective)
    return _calibrated(settings.weights, config.objective, objective_dtype(config.objective, settings.precision))


@functools.lru_cache(maxsize=4)
def _calibrated(weights_spec: str, objective_name: str, dtype: str, repeats: int = 2) -> CostModel:
    config = StyleConfig(objective=objective_name)
    objective = CompiledObjective(weights_spec, config, dtype)
    rng = np.random.default_rng(0)
    steps, setups = [], []
    for width, height in CALIBRATION_SIZES:
        image = rng.uniform(0.0, 1.0, (1, height, width, 3)).astype(np.float32)
        start = time.perf_counter()
        loss_and_gradient = objective.loss_and_gradient(objective.targets(image, [image], [1.0]), (width, height))
        optimizer = make_optimizer("lbfgs", tf.constant(image), config.learning_rate, objective.spec.adam_epsilon)
        times = []
        for _ in range(repeats + 1):
            optimizer.step(loss_and_gradient)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
        step = float(np.median(times[1:]))
        steps.append((width * height, step))
        setups.append((2 * width * height, max(times[0] - step, 0.0)))  # it read the content and one style
    return costs.fit(dtype, steps, setups, objective_name)
