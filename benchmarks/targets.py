"""The speed targets of the "Fast on every CPU" issue, on this process's precision path.

    python -m benchmarks.targets [--size 512] [--budgets 30 20] [--estimate-sizes 256 512 1024]

All on ImageNet weights (untrained ones cost the same per step; the budget's quality row
needs real ones), each time also in tutorial steps at ``--size`` measured in this run:

* the CLI at its defaults, process start included (a fresh process, as a user runs it);
* then, in this process with the network loaded and the step traced as in the app: the
  cost model's calibration (``engine.calibrate``), ``fast``, ``balanced`` at each estimate
  size (wall time, first preview, the longest gap between frames, and the pre-run estimate
  with the calibrated cost model), a budgeted run of ``--budgets[0]`` seconds on the default
  objective and one on the tutorial objective (its final image scored by the reference's
  ``Tutorial.loss``), and the CLI's ``--seconds`` with ``--budgets[1]`` (its last frame's elapsed).

Writes results/targets.<path>.json; the final images go to results/*.png (not committed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from . import common


def cli(weights: str, size: int, *flags: str) -> float:
    """Wall seconds of ``python -m style_transfer CONTENT STYLE -o OUT --weights W --size S [flags]``."""
    out = common.RESULTS / f"cli_{size}.png"
    command = [common.python(), "-m", "style_transfer", str(common.content_image()), str(common.style_image())]
    command += ["-o", str(out), "--weights", weights, "--size", str(size), *flags]
    start = time.perf_counter()
    common.run_command(command)
    return time.perf_counter() - start


def cli_budget(weights: str, size: int, seconds: float) -> dict[str, Any]:
    """The CLI's ``--seconds``: the run's own clock (the last frame's elapsed) and the process's wall time."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "steps.jsonl"
        wall = cli(weights, size, "--seconds", str(seconds), "--log-json", str(log))
        last = json.loads(log.read_text().splitlines()[-1])
    return {"budget_s": seconds, "elapsed_s": last["elapsed"], "steps": last["step"], "process_s": wall}


def run(config: Any, operator: Any, cost: Any, tag: str) -> dict[str, Any]:
    """A timed run with the pre-run estimate made as the app makes it (calibrated cost model)."""
    from style_transfer.image import upright_size
    from style_transfer.plan import plan_run

    sizes = [upright_size(str(path)) for path in (common.content_image(), common.style_image())]
    estimate = plan_run(config, sizes[0], sizes[1:], cost)
    result = common.timed_run(config, operator, cost)
    result["final"].image.save(common.RESULTS / f"{tag}.png")
    row = {key: result[key] for key in ("wall_s", "first_preview_s", "max_frame_gap_s", "steps")}
    row |= {"size": config.size, "estimate_s": estimate.seconds, "planned_steps": estimate.steps}
    print(tag, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    return row


def tutorial_budget(operator: Any, size: int, seconds: float) -> dict[str, Any]:
    """A budgeted run on the tutorial objective (always float32: calibrated for float32), scored by the reference."""
    from style_transfer import StyleConfig
    from style_transfer.engine import calibrate

    float32 = operator.replace(precision="float32")
    config = StyleConfig(size=size, seconds=seconds, objective="tutorial")
    row = run(config, float32, calibrate(float32, "tutorial"), f"budget_tutorial_{size}")
    final = Image.open(common.RESULTS / f"budget_tutorial_{size}.png")
    return row | {"budget_s": seconds, "tutorial_objective": common.TutorialObjective(size, operator.weights)(final)}


def in_process(args: argparse.Namespace, weights: str) -> dict[str, Any]:
    from style_transfer import StyleConfig
    from style_transfer.engine import calibrate, warm_up

    operator = common.settings(weights)
    warm_up(operator)  # the targets are about a loaded network, as in the app
    start = time.perf_counter()
    cost = calibrate(operator)
    result: dict[str, Any] = {"calibration_s": time.perf_counter() - start, "cost_model": dataclasses.asdict(cost)}
    result["fast"] = run(StyleConfig(size=args.size, preset="fast"), operator, cost, f"fast_{args.size}")
    result["balanced"] = [
        run(StyleConfig(size=size), operator, cost, f"balanced_{size}") for size in args.estimate_sizes
    ]
    budget = StyleConfig(size=args.size, seconds=args.budgets[0])
    result["budget"] = run(budget, operator, cost, f"budget_{args.size}") | {"budget_s": args.budgets[0]}
    result["budget_tutorial"] = tutorial_budget(operator, args.size, args.budgets[0])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512, help="the size the targets are stated at")
    parser.add_argument("--budgets", type=float, nargs=2, default=[30.0, 20.0], metavar=("IN_PROCESS", "CLI"))
    parser.add_argument("--estimate-sizes", type=int, nargs="+", default=[256, 512, 1024])
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    if args.size not in args.estimate_sizes:
        parser.error("--estimate-sizes must include --size (its balanced run gives the first preview)")
    weights = common.imagenet_weights()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"size": args.size, "dtype": common.precision()}
    result["tutorial_step_s"] = common.tutorial_step_time(args.size)
    result["cli_s"] = cli(weights, args.size)
    result["cli_budget"] = cli_budget(weights, args.size, args.budgets[1])
    result |= in_process(args, weights)
    common.save(common.per_path("targets"), result)


if __name__ == "__main__":
    main()
