"""One optimisation step (tutorial layers and loss, L-BFGS) vs the tutorial's step, same run.

    python -m benchmarks.step_time [--sizes 128 256 512 1024] [--repeat 3]

Our step runs at this process's precision path (STYLE_TRANSFER_PRECISION; the tutorial is
plain Keras, always float32); writes results/step_time.<path>.json.
"""

from __future__ import annotations

import argparse
import statistics
import time

from . import common


def engine_step_time(size: int, dtype: str, repeat: int) -> tuple[float, float]:
    """(first step incl. tracing, median later step) of the engine's step on a random size x size pair."""
    import numpy as np
    import tensorflow as tf

    from style_transfer.config import StyleConfig
    from style_transfer.engine.objective import CompiledObjective
    from style_transfer.optim import LBFGS

    rng = np.random.default_rng(0)
    content, style = (rng.random((1, size, size, 3), np.float32) for _ in range(2))
    objective = CompiledObjective(common.imagenet_weights(), StyleConfig(objective="tutorial"), dtype=dtype)
    loss_and_gradient = objective.loss_and_gradient(
        objective.targets(content, [style], [1.0]), (int(content.shape[2]), int(content.shape[1]))
    )
    optimizer = LBFGS(tf.constant(content))
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        float(optimizer.step(loss_and_gradient)["total"])
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    dtype, rows = common.precision(), []
    for size in args.sizes:
        tutorial = common.tutorial_step_time(size, args.repeat)
        first, step = engine_step_time(size, dtype, args.repeat)
        rows.append({"size": size, "first_s": first, "step_s": step, "tutorial_s": tutorial})
        print(f"{size} {dtype}: first {first:.2f} s, step {step:.3f} s, tutorial {tutorial:.3f} s", flush=True)
    common.save(common.per_path("step_time"), {"dtype": dtype, "rows": rows})


if __name__ == "__main__":
    main()
