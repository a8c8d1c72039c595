"""Peak resident memory of a run at 512/1024/2048 px, each in a fresh process, on this precision path.

    python -m benchmarks.memory [--sizes 512 1024 2048]

A short run (a few steps per scale) reaches the same peak as a full one: the peak is
the full-size step's activations, and the optimiser's memory does not grow with steps.
Writes results/memory.<path>.json, with the pre-run estimate of each run.
"""

from __future__ import annotations

import argparse
import json
import resource

from . import common


def child(size: int) -> None:
    from style_transfer import StyleConfig
    from style_transfer.costs import fallback
    from style_transfer.image import upright_size
    from style_transfer.model import objective_dtype
    from style_transfer.plan import plan_run

    config = StyleConfig(size=size, preset="balanced", steps=9)
    operator = common.settings(common.imagenet_weights())
    sizes = [upright_size(str(path)) for path in (common.content_image(), common.style_image())]
    estimate = plan_run(config, sizes[0], sizes[1:], fallback(objective_dtype(config.objective, operator.precision)))
    run = common.timed_run(config, operator)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    row = {"size": size, "peak_rss_bytes": peak, "estimate_bytes": estimate.memory_bytes, "wall_s": run["wall_s"]}
    print(json.dumps(row))


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
        out = common.run_command([common.python(), "-m", "benchmarks.memory", "--child", str(size)])
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    common.save(common.per_path("memory"), {"rows": rows})


if __name__ == "__main__":
    main()
