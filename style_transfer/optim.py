"""Optimisers that take one step per call, so the engine can yield between steps.

L-BFGS is written here rather than taken from SciPy or TensorFlow Probability:
both run the whole minimisation inside one call, which leaves no place to yield a
frame or to stop. This is the variant PyTorch's ``torch.optim.LBFGS`` uses without a
line search (one function evaluation per step), the common choice for Gatys-style
transfer, plus projection onto [0, 1] after each step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import keras
import tensorflow as tf

LossAndGradient = Callable[[tf.Tensor], tuple[dict[str, tf.Tensor], tf.Tensor]]


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(a * b)


class LBFGS:
    """Limited-memory BFGS on a tensor, one gradient evaluation per ``step``, never going uphill.

    Each ``step`` evaluates one trial point. Without a line search a quasi-Newton step can
    overshoot (measured: the first steps after a scale change sometimes multiplied the style
    loss by 8), so a trial that does not lower the loss is rejected and the step shrunk by
    quadratic interpolation instead: the same one evaluation, and ``image`` is always the
    best point evaluated so far, whose ``losses`` the step returns.
    """

    def __init__(
        self,
        image: tf.Tensor,
        history: int = 10,
        learning_rate: float = 1.0,
        bounds: tuple[float, float] | None = (0.0, 1.0),
    ):
        self.bounds = bounds  # pixels stay in [0, 1]; None for other parametrisations (benchmarks)
        self.trial = self._bounded(tf.convert_to_tensor(image))
        self.history: deque[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = deque(maxlen=history)
        self.learning_rate = learning_rate
        # The best point so far: (image, losses, gradient); the search direction from it and its length.
        self._best: tuple[tf.Tensor, dict[str, tf.Tensor], tf.Tensor] | None = None
        self._direction_from_best: tf.Tensor | None = None
        self._length = 1.0

    @property
    def image(self) -> tf.Tensor:
        return self._best[0] if self._best is not None else self.trial

    def step(self, loss_and_gradient: LossAndGradient) -> dict[str, tf.Tensor]:
        losses, gradient = loss_and_gradient(self.trial)
        if self._best is None or float(losses["total"]) < float(self._best[1]["total"]):
            self._accept(losses, gradient)
        else:
            self._shrink(float(losses["total"]))
        assert self._best is not None and self._direction_from_best is not None
        self.trial = self._bounded(self._best[0] + self._length * self._direction_from_best)
        return self._best[1]

    def _bounded(self, x: tf.Tensor) -> tf.Tensor:
        return x if self.bounds is None else tf.clip_by_value(x, *self.bounds)

    def _accept(self, losses: dict[str, tf.Tensor], gradient: tf.Tensor) -> None:
        if self._best is not None:
            self._remember(self._best[0], self._best[2], self.trial, gradient)
        self._best = (self.trial, losses, gradient)
        self._direction_from_best = self._direction(gradient)
        if self.history:
            self._length = self.learning_rate
        else:  # no curvature known yet: a small steepest-descent step
            self._length = self._small_step(gradient)

    def _small_step(self, gradient: tf.Tensor) -> float:
        return float(tf.minimum(1.0, 1.0 / (tf.reduce_sum(tf.abs(gradient)) + 1e-12))) * self.learning_rate

    def _shrink(self, trial_total: float) -> None:
        """Minimum of the quadratic through f(best), its slope along the direction and f(trial)."""
        assert self._best is not None and self._direction_from_best is not None
        best_total = float(self._best[1]["total"])
        slope = float(_dot(self._best[2], self._direction_from_best))  # < 0: a descent direction
        t = self._length
        curvature = trial_total - best_total - slope * t
        shrunk = -slope * t * t / (2.0 * curvature) if curvature > 0 else 0.5 * t
        self._length = min(max(shrunk, 0.1 * t), 0.5 * t)
        if self._length < 1e-6:  # the direction is no good: start the memory afresh, go downhill
            self.history.clear()
            self._direction_from_best = -self._best[2]
            self._length = self._small_step(self._best[2])

    def _remember(self, old_image: tf.Tensor, old_gradient: tf.Tensor, image: tf.Tensor, gradient: tf.Tensor) -> None:
        s = image - old_image  # the step actually taken, after clipping
        y = gradient - old_gradient
        ys = _dot(y, s)
        if float(ys) > 1e-10:  # keep only pairs with positive curvature
            self.history.append((s, y, 1.0 / ys))

    def _direction(self, gradient: tf.Tensor) -> tf.Tensor:
        """The two-loop recursion: -H g with H the L-BFGS inverse-Hessian estimate."""
        q = -gradient
        if not self.history:
            return q
        alphas = []
        for s, y, rho in reversed(self.history):
            alpha = rho * _dot(s, q)
            q = q - alpha * y
            alphas.append(alpha)
        s, y, _ = self.history[-1]
        r = q * (_dot(s, y) / _dot(y, y))
        for (s, y, rho), alpha in zip(self.history, reversed(alphas)):
            beta = rho * _dot(y, r)
            r = r + s * (alpha - beta)
        if float(_dot(r, gradient)) >= 0:  # not a descent direction: start the memory afresh
            self.history.clear()
            return -gradient
        return r


class Adam:
    """Keras' Adam on the pixels, clipped to [0, 1] after each step (as in the TF tutorial).

    ``epsilon`` must suit the loss's gradient scale: the tutorial's 0.1 is tuned for its
    huge raw losses; on the normalised objective (gradients ~1e-4) it would shrink every
    step a thousandfold. Each objective's epsilon is in losses.OBJECTIVE_SPECS.
    """

    def __init__(self, image: tf.Tensor, learning_rate: float = 0.02, epsilon: float = 1e-1):
        self.variable = tf.Variable(tf.clip_by_value(tf.convert_to_tensor(image), 0.0, 1.0))
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.99, epsilon=epsilon)
        self.optimizer.build([self.variable])

    @property
    def image(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.variable)

    def step(self, loss_and_gradient: LossAndGradient) -> dict[str, tf.Tensor]:
        losses, gradient = loss_and_gradient(self.image)
        self.optimizer.apply_gradients([(gradient, self.variable)])
        self.variable.assign(tf.clip_by_value(self.variable, 0.0, 1.0))
        return losses


def make_optimizer(name: str, image: tf.Tensor, learning_rate: float, adam_epsilon: float) -> LBFGS | Adam:
    """The optimiser ``name`` (lbfgs | adam) starting at ``image``; Adam uses the objective's epsilon."""
    if name == "lbfgs":
        return LBFGS(image)
    return Adam(image, learning_rate, epsilon=adam_epsilon)
