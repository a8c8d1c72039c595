"""Pre-run estimate of a run's wall time and peak memory, shown before Run.

A cost model: each step costs a fixed overhead plus a time per pixel of its scale,
each new image shape costs one XLA compile, and memory is the process baseline plus
activation memory proportional to the largest scale's pixels. The constants are
calibrated on a 2-core CPU machine by benchmarks/ (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import StyleConfig

STEP_OVERHEAD_S = 0.03
STEP_S_PER_PIXEL = 9e-6
COMPILE_S_PER_SCALE = 2.5
BASE_MEMORY_BYTES = 1.2e9
MEMORY_BYTES_PER_PIXEL = 12_000.0


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    peak_memory_bytes: int

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        duration = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        return f"about {duration}, {self.peak_memory_bytes / 1e9:.1f} GB memory"


def estimate_run(config: StyleConfig, content_size: tuple[int, int]) -> RunEstimate:
    """Estimate for stylising a content image of ``content_size`` (w, h) with ``config``."""
    plan = config.scales(content_size)
    seconds = sum(COMPILE_S_PER_SCALE + steps * (STEP_OVERHEAD_S + STEP_S_PER_PIXEL * w * h) for (w, h), steps in plan)
    largest = max(w * h for (w, h), _ in plan)
    return RunEstimate(seconds, int(BASE_MEMORY_BYTES + MEMORY_BYTES_PER_PIXEL * largest))
