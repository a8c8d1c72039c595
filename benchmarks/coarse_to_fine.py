"""Coarse to fine on the tutorial objective at 512 px, per weights file: does the 256 px result help?

    python -m benchmarks.coarse_to_fine [--weights imagenet untrained] [--size 512] [--steps 50 15 30]

The reference's own loss (``Tutorial.loss``, float32) and our L-BFGS, as in the optimiser
study: ``--steps`` COARSE FINE SINGLE are the L-BFGS steps at half size, then at full size
after each way up (a bicubic upscale; the engine's upscale, which adds the content's fine
detail back), against SINGLE steps at full size from the content image. Writes
results/coarse_to_fine.json: each schedule's objective at the start of the full size and at the end.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import common
from .optimizer_study import Problem, minimise


def schedules(tutorial: Any, model: Any, size: int, steps: tuple[int, int, int]) -> dict[str, dict]:
    import tensorflow as tf

    from style_transfer.engine.inputs import upscale as _upscale

    coarse_steps, fine, single = steps
    low, high = Problem(tutorial, model, size // 2), Problem(tutorial, model, size)
    coarse = minimise(low, low.content, coarse_steps)
    bicubic = tf.clip_by_value(tf.image.resize(coarse, high.content.shape[1:3], method="bicubic"), 0.0, 1.0)
    starts = {
        f"single scale at {size}, {single} steps": (high.content, single),
        f"{coarse_steps} at {size // 2}, bicubic upscale, {fine} at {size}": (bicubic, fine),
        f"{coarse_steps} at {size // 2}, upscale + content detail (engine), {fine} at {size}": (
            _upscale(coarse, high.content.numpy()),
            fine,
        ),
    }
    results = {}
    for name, (image, count) in starts.items():
        results[name] = {"start": high.value(image), "final": high.value(minimise(high, image, count))}
        print(name, results[name], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", nargs="+", default=list(common.WEIGHTS), choices=common.WEIGHTS)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, nargs=3, default=[50, 15, 30], metavar=("COARSE", "FINE", "SINGLE"))
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    tutorial, result = common.tutorial_module(), {"size": args.size, "by_weights": {}}
    for kind in args.weights:
        model = tutorial.Tutorial(common.weights_file(kind))
        result["by_weights"][kind] = schedules(tutorial, model, args.size, tuple(args.steps))
    common.save("coarse_to_fine", result)


if __name__ == "__main__":
    main()
