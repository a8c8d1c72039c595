"""What a run costs on this machine: seconds per optimisation step and per scale set-up, and memory.

A step costs a fixed overhead plus a time per pixel of the image being optimised; a
scale's set-up (the forward passes that make its targets, and the first step's extra
work on a new image shape) costs a fixed overhead plus a time per pixel of the images
it reads. The numbers depend on the CPU and the compute precision, so they are measured:
``engine.calibrate`` times a few real steps at warm-up and fits them here. The FALLBACK
constants serve only until then (fitted on a 2-core EPYC with AVX512_BF16).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostModel:
    dtype: str
    step_seconds: float  # per step, whatever the size
    step_seconds_per_pixel: float
    setup_seconds: float  # per scale
    setup_seconds_per_pixel: float  # per pixel of the images a scale's set-up reads
    calibrated: bool = False
    objective: str = ""  # the objective it was measured on ("": the built-in constants, for any)

    def fits(self, objective: str, dtype: str) -> bool:
        """Whether it describes runs of ``objective`` in ``dtype`` (objectives differ in cost per pixel)."""
        return self.dtype == dtype and self.objective in ("", objective)

    def step(self, pixels: float) -> float:
        return self.step_seconds + self.step_seconds_per_pixel * pixels

    def setup(self, pixels: float) -> float:
        return self.setup_seconds + self.setup_seconds_per_pixel * pixels

    def describe(self) -> str:
        how = "measured on this machine" if self.calibrated else "not yet measured here (built-in constants)"
        return (
            f"{self.dtype}: a 512x384 step {self.step(512 * 384):.2f} s, a 256x192 step "
            f"{self.step(256 * 192):.2f} s ({how})"
        )


# 2-core AMD EPYC with AVX512_BF16, quiet, 2026-11-25: bfloat16 steps 0.067 / 0.235 / 0.88 s at
# 128x96 / 256x192 / 512x384, float32 about 1.8x slower.
FALLBACK = {
    "bfloat16": CostModel("bfloat16", 0.02, 4.4e-6, 0.05, 1.7e-6),
    "float32": CostModel("float32", 0.02, 8.0e-6, 0.05, 2.5e-6),
}


def fallback(dtype: str) -> CostModel:
    return FALLBACK.get(dtype, FALLBACK["float32"])


def fit(
    dtype: str, steps: Sequence[tuple[int, float]], setups: Sequence[tuple[int, float]], objective: str = ""
) -> CostModel:
    """A model from measured (pixels, seconds) pairs of steps and of scale set-ups (least squares, >= 0)."""
    step_fixed, step_per_pixel = _line(steps)
    setup_fixed, setup_per_pixel = _line(setups)
    return CostModel(dtype, step_fixed, step_per_pixel, setup_fixed, setup_per_pixel, True, objective)


def _line(samples: Sequence[tuple[int, float]]) -> tuple[float, float]:
    pixels = np.array([p for p, _ in samples], np.float64)
    seconds = np.array([s for _, s in samples], np.float64)
    slope, intercept = np.polyfit(pixels, seconds, 1)
    if intercept < 0:  # a negative fixed cost is noise: go through the origin instead
        return 0.0, float(np.dot(pixels, seconds) / np.dot(pixels, pixels))
    return float(intercept), max(float(slope), 0.0)


# A run's work outside its steps and set-ups: reading the images, the final PNG with its recipe and
# the timelapse. Measured wall minus the calibrated plan, 32-step runs at 256 / 512 / 1024 px on both
# precision paths (2-core EPYC, 2026-11-27): +0.9, +0.6, +2.0 s (bfloat16), +1.2, -0.5, -0.8 s (float32).
RUN_SECONDS = 0.6

# Peak RSS above the idle server's, measured by benchmarks/memory_caps.py (results/memory_caps.json: 1024 px
# from 40-megapixel inputs, 1 or 4 styles, style_scale 1 or 2, with and without a start image, both precision
# paths, 2-core Xeon with AMX, 2026-12-05). A step's tape: 1.0 (bfloat16) and 0.9-1.0 GB (float32) over BASE at
# 1024x1024. A style image's forward pass (its Gram targets) keeps about three quarters of a step's bytes per
# pixel, not the third assumed before: four 2048x2048 style images peaked 6.5 GB (bfloat16) and 8.0 GB
# (float32, tutorial) above idle, against estimates of 2.9 and 3.7 GB (issue 19, item 4).
BASE_MEMORY_BYTES = 0.85e9
MEMORY_BYTES_PER_PIXEL = {"bfloat16": 2_200.0, "float32": 2_500.0}
FORWARD_SHARE = 0.75


def estimate_memory(
    scales: Sequence[tuple[tuple[int, int], int]], style_sizes: Sequence[tuple[int, int]], dtype: str
) -> int:
    """Peak bytes: the largest step's tape, or the largest style image's forward pass if that is larger."""
    per_pixel = MEMORY_BYTES_PER_PIXEL.get(dtype, MEMORY_BYTES_PER_PIXEL["float32"])
    step = max(math.prod(size) for size, _ in scales)
    forward = FORWARD_SHARE * max((math.prod(size) for size in style_sizes), default=0)
    return int(BASE_MEMORY_BYTES + per_pixel * max(step, forward))


# ---------------------------------------------------------------- regions (masks, kept faces)

# A step with regions computes a guided Gram per region and style layer (regions.py): the features times
# the region's guide, then their Gram, forward and back, each on its region's box only. Measured at 512 px
# against the plain step, one evaluation, cases interleaved (benchmarks/masks.py, results/masks_steps.json;
# 2 cores, load ~11): bfloat16 x0.76 (one style + kept: half the Gram), x1.01 (two styles), x1.04 (a kept
# face); float32 x0.87, x1.16, x1.29. The shares below stay a little above those (the estimate errs long).
REGION_STEP_SHARE = {"first": 0.10, "more": 0.08}
# Bytes per pixel of the step's tape for each region: the guided features it keeps (block1_conv1 at full
# size, 64 channels; the others smaller) in float32, forward and back. Measured with the step above.
REGION_BYTES_PER_PIXEL = 420.0


def with_regions(cost: CostModel, style_regions: int) -> CostModel:
    """``cost`` for steps with ``style_regions`` guided Gram sets (0: the plain step, ``cost`` itself)."""
    if style_regions <= 0:
        return cost
    share = REGION_STEP_SHARE["first"] + REGION_STEP_SHARE["more"] * (style_regions - 1)
    return dataclasses.replace(cost, step_seconds_per_pixel=cost.step_seconds_per_pixel * (1.0 + share))


def region_memory(scales: Sequence[tuple[tuple[int, int], int]], style_regions: int) -> int:
    """The peak bytes ``style_regions`` add to a run's estimate (estimate_memory)."""
    if style_regions <= 0:
        return 0
    return int(REGION_BYTES_PER_PIXEL * style_regions * max(math.prod(size) for size, _ in scales))
