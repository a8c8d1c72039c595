"""What a run will do and cost, decided once per request: the output and style sizes, the
coarse-to-fine scales with their steps (from the preset, or from a time budget and this machine's
cost model), the set-up work, and the time and peak memory all that takes (``plan_run``).

The engine runs the plan, the operator's caps (limits.py) judge it, and the estimate line shows
it: all read the same RunPlan, computed by the same function from the images' sizes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .config import PRESETS, StyleConfig
from .costs import RUN_SECONDS, CostModel, estimate_memory, region_memory, with_regions
from .errors import StyleTransferError
from .image import MIN_SIDE

# Coarse-to-fine schedules: (fraction of the output long side, share of the steps). Half size,
# then full size: a half-size step costs about a quarter of a full one. Chosen on ImageNet weights
# (benchmarks/RESULTS.md): a quarter-size scale, kept from the untrained-weights tuning, rewrote faces
# (VGG sees a face there as a few pixels) and its work barely carried over to the finer scales.
SCHEDULES: dict[str, tuple[tuple[float, float], ...]] = {
    "fast": ((0.5, 0.75), (1.0, 0.25)),
    "balanced": ((0.5, 0.75), (1.0, 0.25)),
    "best": ((0.5, 0.5), (1.0, 0.5)),
    "single": ((1.0, 1.0),),  # the output size only: a run from a start image, whose coarse work is done
}
assert set(PRESETS) <= set(SCHEDULES), "every preset needs a schedule"
BUDGET_MAX_STEPS = 300  # a time budget never plans more: a small picture then finishes early
MIN_SCALE_SIDE = 32  # a coarser scale's short side; below it VGG's deep layers see a pixel or two
MIN_FINAL_STEPS = 3  # a time budget that buys fewer steps at the output size runs fewer scales
MAX_STYLE_PIXELS = 2048 * 2048  # a scaled style image never has more pixels than this


class Scale(NamedTuple):
    """One level of the pyramid: the image size (width, height) and the steps taken at it."""

    size: tuple[int, int]
    steps: int


Plan = list[Scale]  # coarse to fine; the last scale is the output size


def pyramid(content_size: tuple[int, int], long_side: int, preset: str, total_steps: int) -> Plan:
    """Scales for a content image of ``content_size`` (w, h) and their step counts.

    Coarse scales whose short side is under MIN_SCALE_SIDE are dropped and their steps
    go to the next one, so tiny outputs run at a single scale.
    """
    return _allocate_steps(scale_shares(content_size, long_side, preset), total_steps)


def scale_shares(content_size: tuple[int, int], long_side: int, preset: str) -> list[tuple[tuple[int, int], float]]:
    """The preset's scales for this content, (size, share of the steps), tiny ones merged into the next."""
    shares: list[tuple[tuple[int, int], float]] = []
    carried = 0.0
    schedule = SCHEDULES[preset]
    for index, (fraction, share) in enumerate(schedule):
        size = fit_long_side(content_size, round(long_side * fraction))
        carried += share
        if min(size) < MIN_SCALE_SIDE and index < len(schedule) - 1:
            continue
        shares.append((size, carried))
        carried = 0.0
    return shares


def budget_plan(
    content_size: tuple[int, int],
    long_side: int,
    preset: str,
    seconds: float,
    cost: CostModel,
    setup_factor: float,
    max_steps: int = 0,
) -> Plan:
    """The preset's scales with as many steps as ``seconds`` buys under ``cost``, spread by the preset's shares.

    ``setup_factor`` is the pixels a scale's set-up reads per pixel of the scale (the content
    plus the style images). When the time is too short for MIN_FINAL_STEPS at the output
    size, the coarsest scales go first: a faster CPU buys more steps, a slower one fewer scales.
    At most BUDGET_MAX_STEPS (and ``max_steps``, the operator's cap): a small picture converges
    well before a generous budget runs out, and then finishes early.
    """
    shares = scale_shares(content_size, long_side, preset)
    most = budget_step_cap(max_steps)
    while True:
        setups = sum(cost.setup(setup_factor * w * h) for (w, h), _ in shares)
        per_step = sum(share * cost.step(w * h) for (w, h), share in shares) / sum(s for _, s in shares)
        plan = _allocate_steps(shares, min(most, max(1, math.floor((seconds - setups) / per_step))))
        if len(shares) == 1 or (len(plan) == len(shares) and plan[-1].steps >= MIN_FINAL_STEPS):
            return plan
        shares = shares[1:]


def budget_step_cap(max_steps: int = 0) -> int:
    """The most steps a time budget may buy: BUDGET_MAX_STEPS, or the operator's ``max_steps`` if lower."""
    return min(BUDGET_MAX_STEPS, max_steps or BUDGET_MAX_STEPS)


def trim_to_time(
    planned: Plan,
    seconds: float,
    step_cost: Callable[[Scale], float],
    setup_cost: Callable[[Scale], float],
    done_here: int = 0,
) -> Plan:
    """The steps still to take, cut to fit ``seconds``: ``planned`` is the current scale (already set up,
    ``done_here`` of its steps taken) and the scales after it, each with the steps first planned for it.

    Every scale's planned steps shrink by one factor (the current scale's taken steps count toward
    its share, so re-planning at every step does not keep stretching the current scale), at least one
    step stays at the output size and later scales left with no steps go. When even one step at the
    output size does not fit, the time left goes to the current scale alone (the run then ends by
    upscaling its result); an empty plan means: no time for another step at all, finish now.
    """

    def to_take(factor: float) -> Plan:
        counts = [math.floor(scale.steps * factor) for scale in planned]
        counts[-1] = max(1, counts[-1])
        counts[0] = max(0, counts[0] - done_here)
        first, *later = (Scale(scale.size, count) for scale, count in zip(planned, counts))
        return [first, *(scale for scale in later if scale.steps > 0)]

    def need(plan: Plan) -> float:
        return sum(scale.steps * step_cost(scale) for scale in plan) + sum(setup_cost(scale) for scale in plan[1:])

    if need(to_take(1.0)) <= seconds:
        return to_take(1.0)
    if need(to_take(0.0)) > seconds:  # not even one step at the output size: spend the time where we are
        current = planned[0]
        left = max(0, current.steps - done_here)
        steps = min(left, math.floor(seconds / step_cost(current))) if seconds > 0 else 0
        return [Scale(current.size, steps)] if steps > 0 else []
    low, high = 0.0, 1.0  # need(to_take(f)) grows with f: bisect for the largest factor that fits
    for _ in range(20):
        middle = (low + high) / 2
        low, high = (middle, high) if need(to_take(middle)) <= seconds else (low, middle)
    return to_take(low)


def _allocate_steps(shares: list[tuple[tuple[int, int], float]], total: int) -> Plan:
    # Largest-remainder rounding, at least one step per scale. With fewer steps than scales the
    # coarsest scales go: the last one is the output size, whatever the number of steps.
    shares = shares[max(0, len(shares) - total) :]
    weights = [share for _, share in shares]
    raw = [total * s / sum(weights) for s in weights]
    counts = [max(1, math.floor(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True)
    for i in order[: max(0, total - sum(counts))]:
        counts[i] += 1
    while sum(counts) > total:
        counts[counts.index(max(counts))] -= 1
    return [Scale(size, n) for (size, _), n in zip(shares, counts) if n > 0]


def fit_long_side(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(w, h) scaled so the longer side is ``long_side``, aspect ratio kept."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def style_size(style: tuple[int, int], size: tuple[int, int], style_scale: float) -> tuple[int, int]:
    """A style image's size at a scale of ``size``: its long side style_scale times the scale's long side.

    Never smaller than MIN_SCALE_SIDE on its short side: VGG19 pools four times, and a
    narrow style image shrunk further would vanish before the deepest style layer. Never
    more than MAX_STYLE_PIXELS: a large style_scale at a large size would otherwise ask
    for tens of GB (measured: 1024 px x 4 asked TensorFlow for a 38.7 GB buffer).
    """
    width, height = style
    long_side = max(round(max(size) * style_scale), math.ceil(MIN_SCALE_SIDE * max(width, height) / min(width, height)))
    largest = math.floor(max(width, height) * math.sqrt(MAX_STYLE_PIXELS / (width * height)))
    return fit_long_side(style, min(long_side, largest))


def plan_scales(
    config: StyleConfig,
    content_size: tuple[int, int],
    cost: CostModel,
    setup_factor: float = 2.0,
    single_scale: bool = False,
    max_steps: int = 0,
) -> Plan:
    """The scales (size, steps), coarse to fine, aspect kept, for a request's content image.

    A budgeted run gets as many steps as ``cost`` (this machine's speed) says fit in its
    ``seconds``; ``setup_factor`` is the pixels each scale's set-up reads per pixel of it
    (content and style images). ``single_scale``: the output size only (a run from a start
    image, whose coarse work is done). ``max_steps`` caps a budget's steps (0: no cap).
    """
    # A budget is planned to its whole seconds (95% ended CLI runs of --seconds 20 at 17.9 s, -11%, on
    # both precision paths, 2026-11-27); re-planning against the deadline keeps the run inside it.
    preset = "single" if single_scale else config.preset
    if config.budgeted:
        return budget_plan(content_size, config.size, preset, config.seconds, cost, setup_factor, max_steps)
    return pyramid(content_size, config.size, preset, config.total_steps)


@dataclass(frozen=True)
class RunPlan:
    """What one request will do and cost (see plan_run)."""

    output_size: tuple[int, int]
    style_sizes: tuple[tuple[int, int], ...]  # each style image at the output size (what its set-up reads)
    setup_factor: float  # pixels a scale's set-up reads (content and styles) per pixel of the scale
    scales: Plan  # coarse to fine; the last is the output size
    seconds: float  # the estimated wall time, on ``cost``
    memory_bytes: int  # the estimated peak memory
    cost: CostModel  # with regions: their extra cost per step included (costs.with_regions)
    style_regions: int = 0  # guided Gram sets per step (regions.style_region_count); 0: the plain step

    @property
    def steps(self) -> int:
        return sum(scale.steps for scale in self.scales)

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        duration = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        return f"about {duration}, {self.memory_bytes / 1e9:.1f} GB memory"


def plan_run(
    config: StyleConfig,
    content_size: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]],
    cost: CostModel,
    max_steps: int = 0,
    single_scale: bool = False,
    style_regions: int = 0,
    masked: bool = False,
) -> RunPlan:
    """The plan for a content image of ``content_size`` (w, h) and style images of ``style_sizes``
    (as given; none known yet: one the size of the content), on this machine's ``cost`` model.

    ``style_regions``: the guided Gram sets a step computes (regions.style_region_count; 0: the plain
    step): each adds to a step's time and memory. ``masked``: the run has a mask, so its second style
    image has a scale of its own (``second_style_scale``). Raises StyleTransferError when the output
    would be too small for VGG19.
    """
    output = fit_long_side(content_size, config.size)
    if min(output) < MIN_SIDE:
        raise StyleTransferError(
            f"the output would be {output[0]}x{output[1]}; its short side must be at least {MIN_SIDE} px "
            "(raise the size or crop the content image)"
        )
    sizes = style_sizes or [content_size]
    style_scales = [config.style_scale] * len(sizes)
    if masked and len(sizes) > 1:
        style_scales[1] = config.second_style_scale or config.style_scale
    scaled = tuple(style_size(size, output, scale) for size, scale in zip(sizes, style_scales))
    setup_factor = 1.0 + sum(math.prod(size) for size in scaled) / math.prod(output)
    cost = with_regions(cost, style_regions)
    scales = plan_scales(config, content_size, cost, setup_factor, single_scale, max_steps)
    seconds = RUN_SECONDS + plan_seconds(scales, cost, setup_factor)
    if config.budgeted:
        seconds = min(config.seconds, seconds)
    memory = estimate_memory(scales, scaled, cost.dtype) + region_memory(scales, style_regions)
    return RunPlan(output, scaled, setup_factor, scales, seconds, memory, cost, style_regions)


def plan_seconds(plan: Plan, cost: CostModel, setup_factor: float) -> float:
    """The seconds ``plan``'s set-ups and steps take on ``cost``."""
    return sum(cost.setup(setup_factor * w * h) + steps * cost.step(w * h) for (w, h), steps in plan)
