"""Peak resident memory of the largest requests the default caps allow, against the pre-run estimate.

    python -m benchmarks.memory_caps [--sizes 1024] [--styles 1 4] [--style-scales 1 2 4] [--repeat 2]

Each request runs in a fresh process that first builds the app's Runner (the network warmed up,
both objectives calibrated: what a server holds when idle), with ImageNet weights and the default
operator settings except the memory cap (off, so that requests the estimate refuses are measured
too) and the time limit (off, so every planned step runs: the L-BFGS history is full at the
output size). Inputs are the largest files the defaults accept: 40-megapixel square JPEGs
(content, up to 4 styles, a start image), so decoding them counts. Every combination of size,
style count, style_scale, start image and objective x precision path (normalized on bfloat16 where
the CPU has it and on float32; tutorial, always float32) is measured.

Per request: the idle RSS, the estimate (what limits.check_plan compares to the cap), the peak RSS
(ru_maxrss), the RSS after the run once its generator is closed, and after ``malloc_trim(0)``
(what the app does after every run); with --repeat 2 the same request again in the same process.
Writes results/<--out>.json (results/memory_caps.json: the runs of --styles 4 --style-scales 2 and
--styles 1 --style-scales 1, merged, with the estimate before and after issue 19 item 4).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from . import common

SIDE = 6324  # 6324 x 6324 = 39.99 megapixels: the default input limit is 40
PATHS = (("normalized", "bfloat16"), ("normalized", "float32"), ("tutorial", "float32"))


def inputs() -> dict[str, Path]:
    """The 40-megapixel inputs, made once (benchmarks/out/caps/, git-ignored)."""
    from PIL import Image

    folder = common.HERE / "out" / "caps"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {"content": "tubingen.jpg", "init": "tubingen.jpg", "style1": "starry_night.jpg"}
    sources |= {"style2": "great_wave_hokusai.jpg", "style3": "udnie_picabia.jpg"}
    sources |= {"style4": "woman-with-hat-matisse.jpg"}
    paths = {}
    for name, source in sources.items():
        path = folder / f"{name}.jpg"
        if not path.exists():
            with Image.open(common.shared_file(f"images/{source}")) as image:
                image.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC).save(path, quality=90)
        paths[name] = path
    return paths


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child(spec: dict[str, Any]) -> None:
    from style_transfer import OperatorSettings, StyleConfig
    from style_transfer.engine.inputs import open_inputs
    from style_transfer.engine.release import release_memory
    from style_transfer.plan import plan_run
    from style_transfer.service.runner import Runner

    files = inputs()

    weights = common.imagenet_weights()
    operator = OperatorSettings.from_env().replace(weights=weights, max_memory=0, max_seconds=0)
    runner = Runner(operator)
    gc.collect()
    release_memory()
    row: dict[str, Any] = dict(spec, idle_rss=rss(), idle_peak=_peak())
    config = StyleConfig(
        size=spec["size"], preset="best", steps=24, style_scale=spec["style_scale"], objective=spec["objective"]
    )
    styles = [str(files[f"style{i + 1}"]) for i in range(spec["styles"])]
    init = str(files["init"]) if spec["init"] else None
    opened = open_inputs(str(files["content"]), styles, config, operator, init)
    estimate = plan_run(
        config, opened.content.size, opened.style_sizes, runner.costs[config.objective], single_scale=init is not None
    )
    row["estimate"] = estimate.memory_bytes
    row["scales"] = [[*scale.size, scale.steps] for scale in estimate.scales]
    row["style_sizes"] = [list(size) for size in estimate.style_sizes]
    del opened
    for attempt in range(spec["repeat"]):
        start = time.perf_counter()
        frames = runner.start(str(files["content"]), styles, config, init_image=init)
        for _ in frames:
            pass
        frames.close()
        del frames
        gc.collect()
        row[f"wall_{attempt}"] = round(time.perf_counter() - start, 1)
        row[f"peak_{attempt}"], row[f"after_{attempt}"] = _peak(), rss()
        release_memory()
        row[f"after_trim_{attempt}"] = rss()
    print(json.dumps(row))


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def combinations(args: argparse.Namespace) -> list[dict[str, Any]]:
    paths = [(o, p) for o, p in PATHS if p == "float32" or common.native_bfloat16()]
    grid = itertools.product(args.sizes, args.styles, args.style_scales, (False, True), paths)
    return [
        {"size": size, "styles": styles, "style_scale": scale, "init": init, "objective": o, "dtype": p}
        | {"repeat": args.repeat}
        for size, styles, scale, init, (o, p) in grid
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024])
    parser.add_argument("--styles", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--style-scales", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", default="memory_caps")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    inputs()
    rows = []
    for spec in combinations(args):
        env = dict(os.environ, STYLE_TRANSFER_PRECISION=spec["dtype"])
        command = [common.python(), "-m", "benchmarks.memory_caps", "--child", json.dumps(spec)]
        out = common.run_command(command, env=env)
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
        common.save(args.out, {"rows": rows})  # after each: a long run keeps what it measured


if __name__ == "__main__":
    main()
