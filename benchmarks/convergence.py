"""Convergence on the tutorial's own objective, against the tutorial algorithm.

    python -m benchmarks.convergence [--tutorial-log-256 F.jsonl] [--tutorial-log-512 F.jsonl]

The tutorial runs (1000 steps at 256 px, ~16 min; 500 steps at 512 px, ~35 min) are
one-offs made with ``tutorial_reference.py run ... --log F.jsonl``; their logs are copied
into results/. Their wall time is taken as steps x the tutorial step time measured in
this run, so a log made on a busier machine does not flatter us. Every objective value
is computed by the reference's own ``Tutorial.loss`` in float32 on the saved 8-bit frame.
"""

from __future__ import annotations

import argparse
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np

from . import common

if TYPE_CHECKING:  # style_transfer imports TensorFlow: benchmarks import it only when they run
    from style_transfer.config import Preset


def read_log(path: str | None, size: int) -> list[dict]:
    """A new tutorial log is copied into results/ first; then the stored one is read."""
    if path:
        shutil.copy(path, common.RESULTS / f"tutorial_{size}.jsonl")
    return common.tutorial_log(size)


class Evaluator:
    """The reference's objective at one size, for images from our frames."""

    def __init__(self, size: int, weights: str):
        self.tutorial = common.tutorial_module()
        self.model = self.tutorial.Tutorial(weights)
        content = self.tutorial.load_image(str(common.content_image()), size)
        self.targets = self.model.targets(content, self.tutorial.load_image(str(common.style_image()), size))
        self.shape = content.shape

    def __call__(self, image) -> float:
        import tensorflow as tf

        pixels = tf.constant(np.asarray(image, np.float32)[None] / 255.0)
        if pixels.shape != self.shape:
            pixels = tf.image.resize(pixels, self.shape[1:3], method="bicubic")
        return float(self.model.loss(pixels, *self.targets)[0])


def engine_curve(preset: Preset, size: int, steps: int, weights: str, evaluate: Evaluator) -> dict:
    """(seconds, objective) at every full-size step of a run on the tutorial objective."""
    from style_transfer import StyleConfig

    config = StyleConfig(size=size, preset=preset, steps=steps, objective="tutorial", preview_every=1)
    run = common.timed_run(config, weights)
    final_size = run["final"].size
    curve = [(t, evaluate(frame.image)) for t, frame in run["frames"] if frame.size == final_size]
    run["final"].image.save(common.RESULTS / f"tutorial_objective_{preset}_{size}_{steps or 'default'}.png")
    return {"preset": preset, "size": size, "steps": len(run["steps"]), "wall_s": run["wall_s"], "curve": curve}


def time_to_reach(curve: list, target: float) -> float | None:
    return next((t for t, value in curve if value <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tutorial-log-256")
    parser.add_argument("--tutorial-log-512")
    parser.add_argument("--long-steps", type=int, default=300, help="a longer balanced run, to find the crossing")
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    weights = common.weights_file()
    log_256, log_512 = (
        read_log(args.tutorial_log_256, 256),
        read_log(args.tutorial_log_512, 512),
    )
    result: dict[str, Any] = {
        "tutorial_256_step_s": common.tutorial_step_time(256),
        "tutorial_512_step_s": common.tutorial_step_time(512),
    }
    evaluate = Evaluator(256, weights)
    schedules: list[tuple[Preset, int]] = [("fast", 0), ("balanced", 0), ("balanced", args.long_steps)]
    runs = [engine_curve(preset, 256, steps, weights, evaluate) for preset, steps in schedules]
    target = log_256[-1]["total"] if log_256 else None
    for run in runs:
        run["time_to_tutorial_final_s"] = time_to_reach(run["curve"], target) if target else None
    result |= {
        "tutorial_256_steps": log_256[-1]["step"] if log_256 else 0,
        "tutorial_256_final": target,
        "runs_256": runs,
    }
    evaluate_512 = Evaluator(512, weights)
    presets_512: list[Preset] = ["balanced", "best"]
    for preset in presets_512:
        quality = engine_curve(preset, 512, 0, weights, evaluate_512)
        result[f"{preset}_512_final"] = quality["curve"][-1][1]
        result[f"{preset}_512_wall_s"] = quality["wall_s"]
    result["tutorial_512_steps"] = log_512[-1]["step"] if log_512 else 0
    result["tutorial_512_final"] = log_512[-1]["total"] if log_512 else None
    common.save("convergence", result)
    print({k: v for k, v in result.items() if k != "runs_256"})
    for run in runs:
        print(run["preset"], run["steps"], run["wall_s"], run["time_to_tutorial_final_s"], run["curve"][-1])


if __name__ == "__main__":
    main()
