"""Pre-run estimate of a run's wall time and peak memory, shown before Run.

A cost model: each scale costs a set-up (the targets' forward passes and, for a new
image shape, tracing the step) and each step a fixed overhead plus a time per pixel;
memory is the process baseline plus activation memory per pixel of the largest scale.
The per-pixel costs depend on the compute precision (bfloat16 about half float32's).
The constants are fitted to benchmarks/RESULTS.md on a 2-core CPU; on other machines
the estimate scales with their speed, not with these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import StyleConfig
from .model import objective_dtype

# Fitted to benchmarks/results (2-core AMD EPYC with AVX512_BF16, quiet machine, 2026-11-25):
# bfloat16 steps of 0.067 / 0.235 / 0.88 s at 128x96 / 256x192 / 512x384, float32 ~1.8x slower;
# a scale's set-up (targets, first step's extra) 0.12 / 0.2 / 0.7 s; peak RSS 1.31 / 2.39 / 7.05 GB
# at 512 / 1024 / 2048 px.
STEP_OVERHEAD_S = 0.02
STEP_S_PER_PIXEL = {"bfloat16": 4.4e-6, "float32": 8.0e-6}
SCALE_SETUP_S = 0.05
SCALE_SETUP_S_PER_PIXEL = {"bfloat16": 3.4e-6, "float32": 5.0e-6}
BASE_MEMORY_BYTES = 0.85e9
MEMORY_BYTES_PER_PIXEL = {"bfloat16": 1_975.0, "float32": 2_500.0}


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    peak_memory_bytes: int

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        duration = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        return f"about {duration}, {self.peak_memory_bytes / 1e9:.1f} GB memory"


def estimate_run(config: StyleConfig, content_size: tuple[int, int], precision: str = "auto") -> RunEstimate:
    """Estimate for stylising a content image of ``content_size`` (w, h) with ``config``,
    under the operator's ``precision`` (OperatorSettings.precision)."""
    dtype = objective_dtype(config.objective, precision)
    plan = config.scales(content_size)
    seconds = sum(
        SCALE_SETUP_S
        + SCALE_SETUP_S_PER_PIXEL[dtype] * w * h
        + steps * (STEP_OVERHEAD_S + STEP_S_PER_PIXEL[dtype] * w * h)
        for (w, h), steps in plan
    )
    largest = max(w * h for (w, h), _ in plan)
    return RunEstimate(seconds, int(BASE_MEMORY_BYTES + MEMORY_BYTES_PER_PIXEL[dtype] * largest))
