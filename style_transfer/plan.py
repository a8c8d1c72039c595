"""The coarse-to-fine plan: which image sizes a run optimises at, and how many steps each gets."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .costs import CostModel

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
PRESET_STEPS = {"fast": 16, "balanced": 32, "best": 120}
BUDGET_MAX_STEPS = 300  # a time budget never plans more: a small picture then finishes early
MIN_SCALE_SIDE = 32  # a coarser scale's short side; below it VGG's deep layers see a pixel or two
MIN_FINAL_STEPS = 3  # a time budget that buys fewer steps at the output size runs fewer scales


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
