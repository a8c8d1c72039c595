"""Preset wall times, first-preview latency, frame cadence, the CLI, and the pre-run estimate.

    python -m benchmarks.presets [--quick]

Every time is also given as a ratio to the tutorial's step at 512 px measured in
this same run (the machines are shared and their speed varies from hour to hour).
"""

from __future__ import annotations

import argparse
import subprocess
import time
from typing import TYPE_CHECKING

from . import common

if TYPE_CHECKING:  # style_transfer imports TensorFlow: benchmarks import it only when they run
    from style_transfer.config import Preset


def run_preset(preset: Preset, size: int, weights: str) -> dict:
    from style_transfer import StyleConfig
    from style_transfer.estimate import estimate_run
    from style_transfer.image import load_image

    config = StyleConfig(size=size, preset=preset)
    content_size = load_image(str(common.content_image()), "content").size
    estimate = estimate_run(config, content_size, common.operator_settings().precision)
    run = common.timed_run(config, weights)
    run["final"].image.save(common.RESULTS / f"{preset}_{size}.png")
    row = {key: run[key] for key in ("wall_s", "first_preview_s", "max_frame_gap_s")}
    row |= {"preset": preset, "size": size, "steps": len(run["steps"]), "estimate_s": estimate.seconds}
    print(row, flush=True)
    return row


def time_cli(weights: str, out: str = "/tmp/style_bench_cli.png") -> float:
    """The documented command at its defaults, process start and network load included."""
    command = [
        common.python(),
        "-m",
        "style_transfer",
        str(common.content_image()),
        str(common.style_image()),
        "-o",
        out,
        "-q",
    ]
    start = time.perf_counter()
    subprocess.run(command + ["--weights", weights], check=True, cwd=common.ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="512 px only, no 256/1024 runs")
    args = parser.parse_args()
    from style_transfer.engine import warm_up

    weights = common.weights_file()
    tutorial_512 = common.tutorial_step_time(512)
    warm_up(common.operator_settings(weights))  # the targets are about a loaded network, as in the app
    runs: list[tuple[Preset, int]] = [("fast", 512), ("balanced", 512)]
    runs += [] if args.quick else [("balanced", 256), ("balanced", 1024)]
    rows = [run_preset(preset, size, weights) for preset, size in runs]
    cli = time_cli(weights)
    common.save("presets", {"tutorial_512_s": tutorial_512, "rows": rows, "cli_s": cli})


if __name__ == "__main__":
    main()
