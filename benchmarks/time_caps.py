"""How far a run outlives STYLE_TRANSFER_MAX_SECONDS at the largest sizes the default caps allow.

    python -m benchmarks.time_caps [--limits 15 60] [--style-scale 1.6]

Each run reads the 40-megapixel inputs of benchmarks.memory_caps (content and 4 style images), at
1024 px, the largest style_scale under the default memory cap, in this process's precision
(STYLE_TRANSFER_PRECISION), on a warmed-up Runner as the app has; the wall time counts from the
call to the last frame (or the error), as a user waits. Writes results/time_caps.<precision>.json:
per limit, the wall, the overrun and how the run ended.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from . import common
from .memory_caps import inputs


def one_run(limit: float, style_scale: float) -> dict[str, Any]:
    """One request on a server's Runner (network loaded, step traced, speed calibrated: as the app)."""
    from style_transfer import OperatorSettings, StyleConfig, StyleTransferError
    from style_transfer.service.runner import Runner

    files = inputs()
    runner = Runner(OperatorSettings.from_env().replace(weights=common.imagenet_weights(), max_seconds=limit))
    config = StyleConfig(size=1024, preset="best", style_scale=style_scale)
    styles = [str(files[f"style{i + 1}"]) for i in range(4)]
    start = time.perf_counter()
    row: dict[str, Any] = {"limit": limit, "style_scale": style_scale}
    try:
        for frame in runner.start(str(files["content"]), styles, config):
            row["steps"], row["note"] = frame.step, frame.note
    except StyleTransferError as error:
        row["error"] = str(error)
    row["wall"] = round(time.perf_counter() - start, 2)
    row["overrun"] = round(row["wall"] - limit, 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", type=float, nargs="+", default=[15.0, 60.0])
    parser.add_argument("--style-scale", type=float, default=1.6)
    args = parser.parse_args()
    rows = []
    for limit in args.limits:
        rows.append(one_run(limit, args.style_scale))
        print(rows[-1], flush=True)
    common.save(common.per_path("time_caps"), {"rows": rows})


if __name__ == "__main__":
    main()
