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
    """Limited-memory BFGS on a tensor, one gradient evaluation per ``step``."""

    def __init__(self, image: tf.Tensor, history: int = 10, learning_rate: float = 1.0):
        self.image = tf.clip_by_value(tf.convert_to_tensor(image), 0.0, 1.0)
        self.history: deque[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = deque(maxlen=history)
        self.learning_rate = learning_rate
        self._previous: tuple[tf.Tensor, tf.Tensor] | None = None  # (image, gradient) of the last step

    def step(self, loss_and_gradient: LossAndGradient) -> dict[str, tf.Tensor]:
        losses, gradient = loss_and_gradient(self.image)
        if self._previous is not None:
            self._remember(*self._previous, self.image, gradient)
        direction = self._direction(gradient)
        if self._previous is None:
            # First step: no curvature known yet; take a small steepest-descent step.
            scale = tf.minimum(1.0, 1.0 / (tf.reduce_sum(tf.abs(gradient)) + 1e-12)) * self.learning_rate
        else:
            scale = tf.constant(self.learning_rate)
        self._previous = (self.image, gradient)
        self.image = tf.clip_by_value(self.image + scale * direction, 0.0, 1.0)
        return losses

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
