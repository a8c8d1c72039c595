"""One-off check: the engine's ``tutorial`` objective equals the reference's ``Tutorial.loss``.

    python -m benchmarks.check_objective [--size 256]

Same weights file (ImageNet, then the seeded untrained one), same content/style/image
tensors; prints the relative difference of each term (float32 must agree to 1e-4) and, for
information, of the bfloat16 compute path.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import common

TOLERANCE = 1e-4


def engine_losses(image, content, style, weights: str, dtype: str) -> dict[str, float]:
    from style_transfer import StyleConfig
    from style_transfer.engine.objective import CompiledObjective

    objective = CompiledObjective(weights, StyleConfig(objective="tutorial"), dtype=dtype)
    targets = objective.targets(np.asarray(content), [np.asarray(style)], [1.0])
    losses, _ = objective.loss_and_gradient(targets, (int(image.shape[2]), int(image.shape[1])))(image)
    return {name: float(value) for name, value in losses.items()}


def check(tutorial, weights: str, size: int) -> dict:
    """The relative difference of each term, float32 and bfloat16, on one weights file."""
    import tensorflow as tf

    content = tutorial.load_image(str(common.content_image()), size)
    style = tutorial.load_image(str(common.style_image()), size)
    image = tf.clip_by_value(content + tf.random.stateless_normal(content.shape, (1, 2), stddev=0.1), 0.0, 1.0)
    reference_model = tutorial.Tutorial(weights)
    total, style_loss, content_loss, tv = reference_model.loss(image, *reference_model.targets(content, style))
    reference = {"total": float(total), "style": float(style_loss), "content": float(content_loss), "tv": float(tv)}
    result: dict = {"reference": reference}
    for dtype in ("float32", "bfloat16"):
        ours = engine_losses(image, content, style, weights, dtype)
        result[dtype] = {k: abs(ours[k] - v) / abs(v) for k, v in reference.items()}
        print(dtype, {k: f"{d:.2e}" for k, d in result[dtype].items()})
    result["passed"] = max(result["float32"].values()) <= TOLERANCE
    print("float32 within 1e-4:", result["passed"], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    tutorial = common.tutorial_module()
    by_weights = {kind: check(tutorial, common.weights_file(kind), args.size) for kind in common.WEIGHTS}
    common.save("check_objective", {"size": args.size, "by_weights": by_weights})


if __name__ == "__main__":
    main()
