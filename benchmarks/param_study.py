"""What the image is optimised as: pixels, a Laplacian pyramid, decorrelated colours; and L-BFGS warm starts.

    python -m benchmarks.param_study [--sizes 256 512] [--steps 80]

Each variant minimises the tutorial's objective (float32, ImageNet weights) on tubingen x
starry night, and records (seconds, objective value at the output size) after every step;
the tutorial's step time on the same pair is measured too, for its curve (its stored
ImageNet log). The report plots the curves (param_study.png) and tabulates the value each
reaches after N seconds. The variants are wired in here, around the engine, not in it: only
what wins belongs there:

* ``pixels``: the engine's L-BFGS on the pixels, one scale (the baseline);
* ``laplacian``: the image as a sum of upsampled levels (1, 1/2, ... 1/16 size), each level
  weighted 2^(k/2), so coarse structure moves with larger steps;
* ``decorrelated``: the pixels in ImageNet's decorrelated colour basis (as in Lucid);
* ``coarse-to-fine``: the engine's pyramid (1/4, 1/2, full size), the `balanced` split;
* ``coarse-to-fine, warm L-BFGS``: the same, with each scale's L-BFGS memory carried up
  (its steps and gradient changes upsampled) instead of started afresh.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from . import common

# Lucid's ImageNet colour correlation (its square root), columns normalised to at most 1.
COLOUR_CORRELATION = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
COLOUR_CORRELATION /= np.max(np.linalg.norm(COLOUR_CORRELATION, axis=0))
VARIANTS = ("pixels", "laplacian", "decorrelated", "coarse-to-fine", "coarse-to-fine, warm L-BFGS")


class Reparametrised:
    """An L-BFGS over parameters p with image = clip(A p): A a Laplacian pyramid or a colour basis."""

    def __init__(self, image: Any, levels: int = 0, colour: bool = False):
        import tensorflow as tf

        from style_transfer.optim import LBFGS

        self.shape, self.levels = image.shape, levels
        basis = COLOUR_CORRELATION if colour else np.eye(3, dtype=np.float32)
        self.basis = tf.constant(basis)
        height, width = self.shape[1:3]
        self.sizes = [(-(-height // 2**k), -(-width // 2**k)) for k in range(levels + 1)]
        first = tf.einsum("bhwc,dc->bhwd", image, tf.constant(np.linalg.inv(basis)))
        parts = [first] + [tf.zeros((1, h, w, 3)) for h, w in self.sizes[1:]]
        self.inner = LBFGS(tf.concat([tf.reshape(p, [-1]) for p in parts], 0), bounds=None)

    def to_image(self, flat: Any) -> Any:
        import tensorflow as tf

        image, offset = None, 0
        for k, (h, w) in enumerate(self.sizes):
            part = tf.reshape(flat[offset : offset + h * w * 3], (1, h, w, 3))
            offset += h * w * 3
            level = part if k == 0 else 2.0 ** (k / 2) * tf.image.resize(part, self.shape[1:3], method="bilinear")
            image = level if image is None else image + level
        return tf.clip_by_value(tf.einsum("bhwc,dc->bhwd", image, self.basis), 0.0, 1.0)

    @property
    def image(self) -> Any:
        return self.to_image(self.inner.image)

    def step(self, loss_and_gradient: Any) -> Any:
        import tensorflow as tf

        def in_parameters(flat: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(flat)
                image = self.to_image(flat)
            losses, gradient = loss_and_gradient(image)
            return losses, tape.gradient(image, flat, output_gradients=gradient)

        return self.inner.step(in_parameters)


def warm_lbfgs(factory: Any) -> Any:
    """A make_optimizer that gives each new scale's L-BFGS the previous scale's memory, upsampled.

    Steps s keep their size per pixel; gradient changes y shrink with the pixel count (the
    objective's Grams and means are per pixel), so s.y, and each pair's weight, is kept.
    """
    import tensorflow as tf

    previous: list[Any] = []

    def make(name: str, image: Any, learning_rate: float, epsilon: float) -> Any:
        optimizer = factory(name, image, learning_rate, epsilon)
        if previous and previous[-1].history:
            old = previous[-1]
            ratio = float(np.prod(image.shape[1:3]) / np.prod(old.image.shape[1:3]))
            for s, y, _ in old.history:
                s_up = tf.image.resize(s, image.shape[1:3], method="bilinear")
                y_up = tf.image.resize(y, image.shape[1:3], method="bilinear") / ratio
                ys = float(tf.reduce_sum(s_up * y_up))
                if ys > 1e-10:
                    optimizer.history.append((s_up, y_up, 1.0 / ys))
        previous[:] = [optimizer]
        return optimizer

    return make


def run_variant(variant: str, size: int, steps: int, weights: str) -> list[tuple[float, float]]:
    """(seconds, objective) at every step taken at the output size."""
    from style_transfer import StyleConfig, stylize
    from style_transfer.engine import run as engine
    from style_transfer.optim import make_optimizer

    preset = "balanced" if variant.startswith("coarse") else "single"
    engine.make_optimizer = {
        "laplacian": lambda name, image, lr, eps: Reparametrised(image, levels=4),
        "decorrelated": lambda name, image, lr, eps: Reparametrised(image, colour=True),
        "coarse-to-fine, warm L-BFGS": warm_lbfgs(make_optimizer),
    }.get(variant, make_optimizer)
    config = StyleConfig(size=size, preset="best", steps=steps, objective="tutorial", seconds=0)
    config = config if preset == "single" else config.replace(preset="balanced")
    curve, start = [], time.perf_counter()
    content, style = common.content_image(), common.style_image()
    for frame in _frames(stylize, str(content), str(style), config, weights, single=preset == "single"):
        if frame.scale == frame.scales:
            curve.append((time.perf_counter() - start, frame.losses["total"]))
    engine.make_optimizer = make_optimizer
    return curve


def _frames(stylize: Any, content: str, style: str, config: Any, weights: str, single: bool) -> Any:
    from style_transfer import plan

    saved = plan.SCHEDULES["best"]
    if single:
        plan.SCHEDULES["best"] = plan.SCHEDULES["single"]
    try:
        yield from stylize(content, [style], config, settings=common.settings(weights))
    finally:
        plan.SCHEDULES["best"] = saved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=80, help="steps of each run (coarse-to-fine: over all scales)")
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    weights = common.imagenet_weights()
    result: dict[str, Any] = {"steps": args.steps, "tutorial_pair_step_s": {}, "runs": {}}
    for size in args.sizes:
        result["tutorial_pair_step_s"][str(size)] = common.tutorial_pair_step_time(size)
        runs = result["runs"][str(size)] = {}
        run_variant("pixels", size, 2, weights)  # trace and warm up at this size: no variant pays for it
        for variant in VARIANTS:
            runs[variant] = run_variant(variant, size, args.steps, weights)
            print(size, variant, f"{runs[variant][-1][0]:.1f} s", f"{runs[variant][-1][1]:.4g}", flush=True)
    common.save("param_study", result)


if __name__ == "__main__":
    main()
