"""Why the convergence and quality-guard targets are out of reach: optimisers on the tutorial objective.

    python -m benchmarks.optimizer_study [--evals 200]

Single scale at 256 px, the tutorial's own loss (``Tutorial.loss`` from the reference,
float32, the seeded untrained weights), starting from the content image like the
tutorial. Every variant gets the same number of loss-and-gradient evaluations, so the
comparison is per evaluation: one evaluation costs one tutorial step. The tutorial's
Adam curve comes from its stored 1000-step log. Writes results/optimizer_study.json and
optimizer_study.png (objective vs evaluations), rendered into RESULTS.md by the report.
``benchmarks.run`` does not re-run it (``--only optimizer_study`` does); coarse to fine at
512 px, once part of this study, is benchmarks/coarse_to_fine.py.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from . import common

CHECKPOINTS = (25, 50, 100, 150, 200, 300, 400)


def smooth_total_variation(image, eps: float):
    """Charbonnier TV: sqrt(d^2 + eps^2) - eps per neighbour difference, a smooth stand-in for |d|."""
    import tensorflow as tf

    dy = image[:, 1:] - image[:, :-1]
    dx = image[:, :, 1:] - image[:, :, :-1]
    return sum(tf.reduce_sum(tf.sqrt(d * d + eps * eps) - eps) for d in (dy, dx))


class Problem:
    """The tutorial objective at one size; ``loss_and_gradient`` optionally on a smoothed TV surrogate."""

    def __init__(self, tutorial, model, size: int):
        self.tutorial, self.model = tutorial, model
        self.content = tutorial.load_image(str(common.content_image()), size)
        self.targets = model.targets(self.content, tutorial.load_image(str(common.style_image()), size))
        self._functions: dict[float, object] = {}

    def value(self, image) -> dict[str, float]:
        import tensorflow as tf

        total, style, content, tv = self.model.loss(tf.clip_by_value(image, 0.0, 1.0), *self.targets)
        return {"total": float(total), "style": float(style), "content": float(content), "tv": float(tv)}

    def loss_and_gradient(self, tv_eps: float = 0.0):
        if tv_eps not in self._functions:
            self._functions[tv_eps] = self._compile(tv_eps)
        return self._functions[tv_eps]

    def _compile(self, tv_eps: float):
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def loss_and_gradient(image):
            with tf.GradientTape() as tape:
                tape.watch(image)
                total, _, _, tv = self.model.loss(image, *self.targets)
                if tv_eps:
                    total = total - tv + self.tutorial.TV_WEIGHT * smooth_total_variation(image, tv_eps)
            return {"total": total}, tape.gradient(total, image)

        return loss_and_gradient


def run_lbfgs(problem: Problem, start, evals: int, tv_eps: float = 0.0, after: int = 0) -> list:
    """Our one-evaluation-per-step L-BFGS; ``after`` evaluations already spent on the start."""
    from style_transfer.optim import LBFGS

    optimizer, curve = LBFGS(start), []
    step = problem.loss_and_gradient(tv_eps)
    for index in range(after + 1, evals + 1):
        optimizer.step(step)
        if index in CHECKPOINTS:
            curve.append((index, problem.value(optimizer.image)))
    return curve


def run_adam(problem: Problem, start, evals: int, lr: tuple[float, float], beta_1: float) -> tuple[list, object]:
    """Keras Adam (the tutorial's epsilon 0.1), learning rate cosine-decayed from lr[0] to lr[1], clipped."""
    import keras
    import tensorflow as tf

    image = tf.Variable(start)
    optimizer = keras.optimizers.Adam(learning_rate=lr[0], beta_1=beta_1, epsilon=1e-1)
    optimizer.build([image])
    step, curve = problem.loss_and_gradient(), []
    for index in range(1, evals + 1):
        optimizer.learning_rate.assign(lr[1] + 0.5 * (lr[0] - lr[1]) * (1 + math.cos(math.pi * (index - 1) / evals)))
        _, gradient = step(tf.convert_to_tensor(image))
        optimizer.apply_gradients([(gradient, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        if index in CHECKPOINTS:
            curve.append((index, problem.value(image)))
    return curve, tf.convert_to_tensor(image)


def run_scipy(problem: Problem, evals: int) -> list:
    """SciPy's L-BFGS-B (Fortran, bound-constrained, with its line search): the textbook reference."""
    import scipy.optimize
    import tensorflow as tf

    shape, step, curve, count = problem.content.shape, problem.loss_and_gradient(), [], [0]

    def fun(x):
        image = tf.constant(x.reshape(shape).astype(np.float32))
        losses, gradient = step(image)
        count[0] += 1
        if count[0] in CHECKPOINTS:
            curve.append((count[0], problem.value(image)))
        return float(losses["total"]), gradient.numpy().ravel().astype(np.float64)

    start = problem.content.numpy().ravel().astype(np.float64)
    options = {"maxfun": evals, "maxiter": evals}
    scipy.optimize.minimize(fun, start, jac=True, method="L-BFGS-B", bounds=[(0, 1)] * start.size, options=options)
    return curve


def study_256(tutorial, model, evals: int) -> dict[str, list]:
    import tensorflow as tf

    problem = Problem(tutorial, model, 256)
    content = problem.content
    height, width = content.shape[1:3]
    rng = np.random.default_rng(0)
    noisy = tf.clip_by_value(content + rng.normal(0, 0.1, content.shape).astype(np.float32), 0.0, 1.0)
    blurred = tf.image.resize(tf.image.resize(content, (height // 2, width // 2), method="area"), (height, width))
    warm_adam, warm_image = run_adam(problem, content, 30, (0.02, 0.02), 0.99)
    variants = {
        "L-BFGS (ours), content start": lambda: run_lbfgs(problem, content, evals),
        "SciPy L-BFGS-B": lambda: run_scipy(problem, evals),
        "L-BFGS on smoothed TV (eps 0.01)": lambda: run_lbfgs(problem, content, evals, tv_eps=0.01),
        "L-BFGS, content + noise (sigma 0.1)": lambda: run_lbfgs(problem, noisy, evals),
        "L-BFGS, blurred content start": lambda: run_lbfgs(problem, tf.clip_by_value(blurred, 0.0, 1.0), evals),
        "30 tutorial Adam steps, then L-BFGS": lambda: warm_adam + run_lbfgs(problem, warm_image, evals, after=30),
        "Adam, lr 0.03 -> 0.003 cosine, beta1 0.9": lambda: run_adam(problem, content, evals, (0.03, 0.003), 0.9)[0],
    }
    curves = {}
    for name, run in variants.items():
        start = time.perf_counter()
        curves[name] = run()
        print(f"{name}: {curves[name][-1]} ({time.perf_counter() - start:.0f} s)", flush=True)
    return curves


def minimise(problem: Problem, start, steps: int):
    """``steps`` of our L-BFGS from ``start``; the image at the end."""
    from style_transfer.optim import LBFGS

    optimizer = LBFGS(start)
    for _ in range(steps):
        optimizer.step(problem.loss_and_gradient())
    return optimizer.image


def plot(curves: dict[str, list], tutorial_log: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot([r["step"] for r in tutorial_log], [r["total"] for r in tutorial_log], "k", label="tutorial Adam (log)")
    for name, curve in curves.items():
        ax.plot([n for n, _ in curve], [v["total"] for _, v in curve], marker="o", label=name)
    target = tutorial_log[-1]["total"]
    ax.axhline(target, color="grey", linestyle=":", label=f"tutorial after 1000 steps ({target:.4g})")
    ax.axvline(50, color="red", linestyle=":", label="the 1/20 budget: 50 evaluations")
    ax.set(xlabel="loss-and-gradient evaluations (= tutorial steps of time)", ylabel="tutorial objective, 256 px")
    ax.set(xscale="log", ylim=(3.3e5, 8e5))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(common.OUT / "optimizer_study.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=200)
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    tutorial = common.tutorial_module()
    model = tutorial.Tutorial(common.untrained_weights())
    result = {"evals": args.evals, "weights": "untrained", "curves_256": study_256(tutorial, model, args.evals)}
    common.save("optimizer_study", result)
    plot(result["curves_256"], common.tutorial_log("untrained", 256))


if __name__ == "__main__":
    main()
