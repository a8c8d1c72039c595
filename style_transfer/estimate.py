"""Before a run: what it will cost (time, peak memory) and whether the operator's caps allow it.

Time comes from the cost model (costs.py: measured on this machine at warm-up, or the
built-in constants until then) summed over the run's plan, plus a run's fixed work outside
the steps (RUN_SECONDS). Memory is the process
baseline plus activation memory per pixel of the largest image the run differentiates
through (a step) or only runs forward (a style image's targets, at its scaled size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .config import StyleConfig
from .costs import CostModel, fallback
from .errors import StyleTransferError
from .model import objective_dtype
from .plan import Plan, fit_long_side
from .settings import ENV_VARS, OperatorSettings

# Peak RSS 1.31 / 2.39 / 7.05 GB at 512 / 1024 / 2048 px (bfloat16, 2-core EPYC, 2026-11-25); a
# forward pass alone (style targets) keeps no tape: about a third of a step's bytes per pixel.
BASE_MEMORY_BYTES = 0.85e9
MEMORY_BYTES_PER_PIXEL = {"bfloat16": 1_975.0, "float32": 2_500.0}
FORWARD_SHARE = 0.35
# A run's work outside its steps and set-ups: reading the images, the final PNG with its recipe and
# the timelapse. Measured wall minus the calibrated plan, 32-step runs at 256 / 512 / 1024 px on both
# precision paths (2-core EPYC, 2026-11-27): +0.9, +0.6, +2.0 s (bfloat16), +1.2, -0.5, -0.8 s (float32).
RUN_SECONDS = 0.6


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    peak_memory_bytes: int
    plan: Plan

    @property
    def steps(self) -> int:
        return sum(scale.steps for scale in self.plan)

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        duration = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        return f"about {duration}, {self.peak_memory_bytes / 1e9:.1f} GB memory"


def plan_seconds(plan: Plan, cost: CostModel, setup_factor: float) -> float:
    return sum(cost.setup(setup_factor * w * h) + steps * cost.step(w * h) for (w, h), steps in plan)


def estimate_memory(plan: Plan, style_sizes: Sequence[tuple[int, int]], dtype: str) -> int:
    """Peak bytes: the largest step's tape, or the largest style image's forward pass if that is larger."""
    per_pixel = MEMORY_BYTES_PER_PIXEL.get(dtype, MEMORY_BYTES_PER_PIXEL["float32"])
    step = max(math.prod(scale.size) for scale in plan)
    forward = FORWARD_SHARE * max((math.prod(size) for size in style_sizes), default=0)
    return int(BASE_MEMORY_BYTES + per_pixel * max(step, forward))


def estimate_run(
    config: StyleConfig,
    content_size: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]] = (),
    precision: str = "auto",
    cost: CostModel | None = None,
    max_steps: int = 0,
) -> RunEstimate:
    """Estimate for a content image of ``content_size`` (w, h) and style images of ``style_sizes``
    (original sizes; none known: one the size of the content)."""
    from .engine import scaled_style_sizes  # deferred: the engine imports this module

    dtype = objective_dtype(config.objective, precision)
    cost = cost if cost is not None and cost.fits(config.objective, dtype) else fallback(dtype)
    output = fit_long_side(content_size, config.size)  # the plan's last scale, without planning twice
    scaled = scaled_style_sizes(style_sizes or [content_size], output, config.style_scale)
    setup_factor = 1.0 + sum(math.prod(s) for s in scaled) / math.prod(output)
    plan = config.scales(content_size, cost, setup_factor, max_steps=max_steps)
    seconds = RUN_SECONDS + plan_seconds(plan, cost, setup_factor)
    if config.budgeted:
        seconds = min(config.seconds, seconds)
    return RunEstimate(seconds, estimate_memory(plan, scaled, dtype), plan)


def check_request(
    config: StyleConfig, style_count: int, settings: OperatorSettings, plan: Plan | None = None, memory: int = 0
) -> None:
    """Refuse a request over one of the operator's caps, naming the cap (0 turns a cap off).

    Called twice by the engine: before any image is decoded (size, steps, styles, budget),
    then with the plan and the memory estimate, before any pixel is computed.
    """
    caps = (
        ("max_size", config.size, "the output size", "px"),
        (
            "max_steps",
            sum(s.steps for s in plan) if plan else (0 if config.budgeted else config.total_steps),
            "steps",
            "",
        ),
        ("max_styles", style_count, "style images", ""),
        ("max_seconds", config.seconds if config.budgeted else 0, "the time budget", "s"),
        ("max_memory", memory, "the estimated peak memory", "bytes"),
    )
    for name, value, what, unit in caps:
        limit = getattr(settings, name)
        if limit and value > limit:
            raise StyleTransferError(
                f"{what} would be {value:,g}{' ' + unit if unit else ''}; this server's limit is {limit:,g} "
                f"({ENV_VARS[name]}): ask for less (a smaller size, fewer steps or style images, a smaller style_scale)"
            )
