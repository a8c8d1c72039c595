"""Convergence on the tutorial's own objective, against the tutorial algorithm, per weights file.

    python -m benchmarks.convergence [--sizes 256 512] [--presets balanced best] [--weights imagenet untrained]

For each weights file and size, each preset runs on the tutorial objective (always float32,
so one precision path is enough) with a preview at every step; every full-size frame is
scored by the reference's own ``Tutorial.loss`` on the saved 8-bit image. The curves
(seconds, objective) are stored; the report reads the tutorial's long-run logs
(results/tutorial_<weights>_<size>.jsonl, made once with ``tutorial_reference.py run ...
--log``) to find when each curve reaches the tutorial's 500- and 1000-step values, and
takes the tutorial's time as its steps x its step time on the same pair measured here
(a log made on a busier machine then does not flatter us).
"""

from __future__ import annotations

import argparse
from typing import Any

from . import common


def engine_curve(preset: str, size: int, weights: str, score: common.TutorialObjective) -> dict[str, Any]:
    """(seconds, objective) at every full-size step of a run on the tutorial objective."""
    from style_transfer import StyleConfig

    config = StyleConfig.from_raw({"size": size, "preset": preset, "objective": "tutorial", "preview_every": 1})
    run = common.timed_run(config, common.settings(weights))
    final_size = run["final"].size
    curve = [(t, score(frame.image)) for t, frame in run["frames"] if frame.size == final_size]
    return {"preset": preset, "size": size, "steps": run["steps"], "wall_s": run["wall_s"], "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--presets", nargs="+", default=["balanced", "best"])
    parser.add_argument("--weights", nargs="+", default=list(common.WEIGHTS), choices=common.WEIGHTS)
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    result: dict[str, Any] = {"tutorial_pair_step_s": {}, "runs": {}}
    for size in args.sizes:
        result["tutorial_pair_step_s"][str(size)] = common.tutorial_pair_step_time(size)
    for kind in args.weights:
        weights = common.weights_file(kind)
        runs = result["runs"][kind] = []
        for size in args.sizes:
            score = common.TutorialObjective(size, weights)
            for preset in args.presets:
                runs.append(engine_curve(preset, size, weights, score))
                print(kind, size, preset, f"{runs[-1]['wall_s']:.1f} s", f"{runs[-1]['curve'][-1][1]:.4g}", flush=True)
    common.save("convergence", result)


if __name__ == "__main__":
    main()
