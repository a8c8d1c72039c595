"""The generator: coarse-to-fine Gatys optimisation yielding a Frame per step.

``stylize`` reads the inputs' headers, plans the run (plan.plan_run) and has the operator's caps
judge it (limits.py) before any pixel is decoded; the loop then sets up each scale (targets, the
start picture, a new optimiser), takes its steps and reports each one.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import tensorflow as tf
from PIL import Image

from .. import costs, feedforward, limits, regions
from .. import image as images
from ..config import StyleConfig
from ..costs import CostModel
from ..errors import StyleTransferError
from ..image import ImageSource
from ..model import load_network, objective_dtype
from ..optim import LBFGS, Adam, LossAndGradient, make_optimizer
from ..plan import Scale, budget_step_cap, plan_run, style_size
from ..recipe import make_recipe
from ..settings import OperatorSettings
from ..weights import WeightsInfo
from .calibration import calibrate
from .inputs import Inputs, decode_inputs, from_start_image, initial_image, open_inputs, resolved_init, upscale
from .objective import CompiledObjective, Halt, Stopped
from .pacer import Pacer
from .release import release_memory


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


@dataclass(frozen=True)
class _Run:
    """What the loop needs besides the pixels: the request, its objective, the network's name."""

    config: StyleConfig
    objective: CompiledObjective
    info: WeightsInfo
    style_scales: tuple[float, ...]  # each style image's size relative to the output (regions.style_scales)


def stylize(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: StyleConfig | None = None,
    weights: str | None = None,
    *,
    settings: OperatorSettings | None = None,
    cost: CostModel | None = None,
    stop: threading.Event | None = None,
    init_image: ImageSource | None = None,
    parent: dict[str, Any] | None = None,
    mask: ImageSource | None = None,
) -> Generator[Frame, None, None]:
    """Validate the inputs now, then return a generator of one Frame per optimisation step.

    ``content`` and each of ``styles`` is a PIL image, a path, bytes or a binary stream, each
    read once. ``settings`` are the operator's (input limits, caps, precision, weights); None
    reads them from the environment (``OperatorSettings.from_env()``). ``weights``, a weights
    spec (see weights/), overrides ``settings.weights``. ``cost`` is this machine's cost model
    (``calibrate``), used to plan time budgets, keep to ``settings.max_seconds`` and give the
    ETA. ``init_image`` starts from a finished result instead of the content (continue at the
    same size, or refine at a larger one); its recipe (``parent``, if the caller has it in
    memory; else read from the image) becomes the new one's parent. ``mask`` says where each style goes
    (white: the first style; black: the second, or the photo kept; see regions.py), and
    ``config.keep_faces`` keeps the faces found in the photo. Closing the generator, or
    setting ``stop``, stops the run before the next step (``stop`` also inside a scale's
    set-up) and frees its tensors.
    """
    started = time.perf_counter()  # the time limit counts reading the images and every set-up
    settings = settings or OperatorSettings.from_env()
    if weights:
        settings = settings.replace(weights=weights)
    style_list = _style_list(styles)
    config = limits.with_time_limit(config or StyleConfig(), settings)
    limits.check_request(config, len(style_list), settings)  # before any file is read
    regions.check_request(config, len(style_list), mask is not None)  # and keep_faces's detector
    dtype = objective_dtype(config.objective, settings.precision)
    config = resolved_init(config, dtype, masked=mask is not None)
    opened = open_inputs(content, style_list, config, settings, init_image, mask)
    run_plan = plan_run(
        config,
        opened.content.size,
        opened.style_sizes,
        _cost_model(config, settings, cost, dtype),
        settings.max_steps,
        single_scale=opened.init is not None,  # a start image's coarse work is done
        style_regions=regions.style_region_count(config, len(style_list), mask is not None),
        masked=mask is not None,
    )
    limits.check_plan(run_plan, settings)  # before any pixel is decoded
    # Under a time budget, time the plan leaves at the output size buys more steps there.
    most_steps = budget_step_cap(settings.max_steps) if config.budgeted else 0
    pacer = Pacer(run_plan, *limits.deadline(config, settings), most_steps=most_steps, start=started)
    halt = _halt(stop, pacer)
    inputs = decode_inputs(opened, config, run_plan, parent, halt)
    info = load_network(settings.weights)
    if config.init == "feedforward" and opened.init is None:
        feedforward.network(dtype)  # loaded now: a run that cannot have it fails before its first step
    style_scales = tuple(regions.style_scales(config, len(style_list), mask is not None))
    run = _Run(config, CompiledObjective(settings.weights, config, dtype), info, style_scales)
    return _run(inputs, run, pacer, stop)


def _halt(stop: threading.Event | None, pacer: Pacer) -> Halt:
    """Whether a run stops now, asked between images and style passes: the caller stopped it, or its
    time limit has passed (a step's own checks are the pacer's, which plans the steps to the deadline)."""
    return lambda: (stop is not None and stop.is_set()) or pacer.past_deadline()


def _style_list(styles: ImageSource | Sequence[ImageSource]) -> list[ImageSource]:
    """One style image, or several (a str or bytes is one image, not a sequence of them)."""
    if isinstance(styles, (str, bytes, Image.Image)) or not isinstance(styles, Sequence):
        return [cast(ImageSource, styles)]
    return list(cast(Sequence[ImageSource], styles))


def _cost_model(config: StyleConfig, settings: OperatorSettings, cost: CostModel | None, dtype: str) -> CostModel:
    """The cost model a request is planned with: the caller's, if it fits the objective and precision."""
    if cost is not None and cost.fits(config.objective, dtype):
        return cost
    # A time budget is planned from this machine's measured speed (once per process, ~2-4 s);
    # otherwise the built-in constants serve the ETA and the deadline until the run measures itself.
    return calibrate(settings, config.objective) if config.budgeted else costs.fallback(dtype)


def _run(inputs: Inputs, run: _Run, pacer: Pacer, stop: threading.Event | None) -> Generator[Frame, None, None]:
    optimizer: LBFGS | Adam | None = None
    step, index = 0, 0
    losses: dict[str, float] = {}
    try:
        while index < len(pacer.plan):
            try:
                optimizer, loss_and_gradient = _set_up_scale(
                    inputs, pacer.plan[index], run, optimizer, _halt(stop, pacer)
                )
            except Stopped:
                if stop is not None and stop.is_set():
                    return
                yield _out_of_time(step, index, losses, optimizer, inputs, run, pacer)
                return
            pacer.start_scale()
            done_here = 0
            while done_here < pacer.plan[index].steps:
                losses = {name: float(value) for name, value in optimizer.step(loss_and_gradient).items()}
                step, done_here = step + 1, done_here + 1
                pacer.tick(index, done_here)
                yield _frame(step, index, done_here, losses, optimizer, inputs, run, pacer)
                if stop is not None and stop.is_set():
                    return
            index += 1
    finally:
        # Runs on normal end, on error and when the caller closes the generator (Stop).
        del optimizer
        gc.collect()
        release_memory()  # TensorFlow's freed buffers back to the OS, not kept by the heap (see release.py)


def _out_of_time(
    step: int,
    index: int,
    losses: dict[str, float],
    optimizer: LBFGS | Adam | None,
    inputs: Inputs,
    run: _Run,
    pacer: Pacer,
) -> Frame:
    """The last frame of a run whose time limit passed while a scale was being set up: the coarser
    scale's result, brought to the output size; an error if no step was taken yet."""
    if optimizer is None:
        raise StyleTransferError(
            f"setting up this run took longer than its time limit of {pacer.deadline:g} s, before a single step: "
            f"{limits.ASK_FOR_LESS}"
        )
    pacer.plan = pacer.plan[:index]  # the scales done: the run ends with the last of them
    return _frame(step, index - 1, pacer.plan[-1].steps, losses, optimizer, inputs, run, pacer)


def _frame(
    step: int,
    index: int,
    done_here: int,
    losses: dict[str, float],
    optimizer: LBFGS | Adam,
    inputs: Inputs,
    run: _Run,
    pacer: Pacer,
) -> Frame:
    scale = pacer.plan[index]
    done = step == pacer.total()
    image = None
    # A feed-forward start is already a painting: its first frame shows it, whatever the pacing says.
    first_painting = step == 1 and run.config.init == "feedforward" and not run.config.preview_every
    if done or done_here == scale.steps or pacer.preview_due(step, run.config.preview_every) or first_painting:
        pixels = optimizer.image
        if done and scale.size != pacer.output_size:  # cut short at a coarser scale: bring it to the output size
            pixels = upscale(pixels, images.to_array(images.resize(inputs.content, pacer.output_size)))
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
        weights=run.info,
        recipe=_recipe(inputs, run, pacer) if done else None,
        note=_note(inputs, pacer) if done else None,
    )


def _recipe(inputs: Inputs, run: _Run, pacer: Pacer) -> dict[str, Any]:
    recipe = make_recipe(run.config, run.info, inputs.parent, pacer.plan)
    return recipe | (inputs.regions.record if inputs.regions is not None else {})


def _note(inputs: Inputs, pacer: Pacer) -> str | None:
    """What the last frame tells: the regions' notes (a mask resized, faces kept), the steps cut short."""
    notes = [*(inputs.regions.notes if inputs.regions is not None else ()), pacer.note()]
    said = [note[0].upper() + note[1:] for note in notes if note]
    return ". ".join(note.rstrip(".") for note in said) + "." if said else None


def _set_up_scale(
    inputs: Inputs, scale: Scale, run: _Run, previous: LBFGS | Adam | None, stop: Halt
) -> tuple[LBFGS | Adam, LossAndGradient]:
    """A scale's targets, its start (the initial image, or the coarser result carried up) and a new optimiser.

    Only the picture goes up the pyramid: the optimiser's memory is tied to the pixel grid.
    """
    config = run.config
    content = images.to_array(images.resize(inputs.content, scale.size))
    styles = [
        images.to_array(images.resize(s, style_size(s.size, scale.size, style_scale)))
        for s, style_scale in zip(inputs.styles, run.style_scales)
    ]
    loss_and_gradient = _scale_objective(inputs, run, scale, content, styles, stop)
    if previous is not None:
        start = upscale(previous.image, content)
    elif inputs.init is not None:
        start = from_start_image(inputs.init, content)
    else:
        start = initial_image(config, content, inputs, run.objective.dtype)
    optimizer = make_optimizer(config.optimizer, start, config.learning_rate, run.objective.spec.adam_epsilon)
    return optimizer, loss_and_gradient


def _scale_objective(
    inputs: Inputs, run: _Run, scale: Scale, content: Any, styles: list[Any], stop: Halt
) -> LossAndGradient:
    """A scale's targets and its compiled step: the plain one, or with a style per region."""
    objective = run.objective
    if inputs.regions is None or not inputs.regions.regions:
        return objective.loss_and_gradient(objective.targets(content, styles, inputs.blend, stop), scale.size)
    split_at = objective.spec.split_at(scale.size)
    guides = regions.at_scale(inputs.regions, scale.size, objective.style_layers, objective.content_layers, split_at)
    targets = objective.region_targets(content, styles, guides.blends, stop)
    return objective.regional_loss_and_gradient(targets, guides, content, scale.size)


def _preview(image: tf.Tensor, colour_source: Image.Image | None) -> Image.Image:
    pixels = image.numpy()
    if colour_source is not None:
        pixels = images.with_luminance_of(pixels, colour_source)
    return images.to_pil(pixels)
