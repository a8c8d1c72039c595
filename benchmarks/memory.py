"""Peak resident memory of a run at 512/1024/2048 px, each in a fresh process.

    python -m benchmarks.memory [--sizes 512 1024 2048]

A short run (a few steps per scale) reaches the same peak as a full one: the peak is
the full-size step's activations, and the optimiser's memory does not grow with steps.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess

from . import common


def child(size: int) -> None:
    from style_transfer import StyleConfig
    from style_transfer.estimate import estimate_run
    from style_transfer.image import load_image

    config = StyleConfig(size=size, preset="balanced", steps=9)
    content_size = load_image(str(common.content_image()), "content").size
    estimate = estimate_run(config, content_size, common.operator_settings().precision)
    run = common.timed_run(config, common.weights_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(
        json.dumps(
            {
                "size": size,
                "peak_rss_bytes": peak,
                "estimate_bytes": estimate.peak_memory_bytes,
                "wall_s": run["wall_s"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for size in args.sizes:
        command = [common.python(), "-m", "benchmarks.memory", "--child", str(size)]
        out = subprocess.run(command, check=True, cwd=common.ROOT, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    common.save("memory", {"rows": rows})


if __name__ == "__main__":
    main()
