"""The coarse-to-fine plan: which image sizes a run optimises at, and how many steps each gets."""

from __future__ import annotations

import math
from typing import NamedTuple

# Coarse-to-fine schedules: (fraction of the output long side, share of the steps).
# Most steps go to the small scales, where a step costs 1/16 or 1/4 of a full-size one;
# the full-size scale only adds the fine texture to an already stylised image.
SCHEDULES: dict[str, tuple[tuple[float, float], ...]] = {
    "fast": ((0.25, 0.60), (0.5, 0.32), (1.0, 0.08)),
    "balanced": ((0.25, 0.50), (0.5, 0.39), (1.0, 0.11)),
    "best": ((0.25, 0.35), (0.5, 0.35), (1.0, 0.30)),
}
PRESET_STEPS = {"fast": 36, "balanced": 72, "best": 300}
MIN_SCALE_SIDE = 32  # a coarser scale's short side; below it VGG's deep layers see a pixel or two


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
    width, height = content_size
    shares: list[tuple[tuple[int, int], float]] = []
    carried = 0.0
    schedule = SCHEDULES[preset]
    for index, (fraction, share) in enumerate(schedule):
        size = fit_long_side((width, height), round(long_side * fraction))
        carried += share
        if min(size) < MIN_SCALE_SIDE and index < len(schedule) - 1:
            continue
        shares.append((size, carried))
        carried = 0.0
    return _allocate_steps(shares, total_steps)


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
