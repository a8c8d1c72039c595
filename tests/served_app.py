"""Helpers for the lifecycle, security and load tests: app.py served in-process on loopback.

``served_app`` launches ``layout.build_demo(untrained_runner(...))`` on a free 127.0.0.1
port with Gradio's upload/cache dir (GRADIO_TEMP_DIR) and Python's temp dir both under
one test directory, so a test can count every file the server writes. ``RunRecorder``
wraps the engine's run generator to observe, from the test, when a run starts, each
step it yields and when its ``finally:`` has run (the app needs no hook for that).
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

SMALL = 64  # output long side for every served job here: a step takes ~0.2 s on 2 cores


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)  # polling interval, not synchronisation: the condition decides


def untrained_runner(**settings: Any) -> Any:
    """A Runner on untrained weights; ``settings`` override the other operator settings' defaults.

    Its step cap is raised to StyleConfig's own maximum: these tests make runs of minutes on
    purpose (with 64 px images) so that only a cancel ends them.
    """
    from style_transfer.service.runner import Runner
    from style_transfer.settings import OperatorSettings

    return Runner(OperatorSettings(weights="untrained", **({"max_steps": 5000} | settings)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_image(path: Path, seed: int, size: tuple[int, int] = (SMALL, SMALL)) -> Path:
    """A small noise PNG (content or style) at ``path``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path


def count_files(*roots: Path) -> int:
    return sum(1 for root in roots if root.exists() for p in root.rglob("*") if p.is_file() or p.is_symlink())


@dataclass
class Served:
    demo: Any
    url: str
    root: Path
    upload_dir: Path  # GRADIO_TEMP_DIR: uploads and Gradio's cache
    python_tmp: Path  # tempfile.gettempdir() while the server runs
    client_dir: Path  # where gradio_client downloads outputs (kept apart from the server's dirs)
    runner: Any = None  # the Runner it serves (its settings, its run counts)

    def client(self) -> Any:
        from gradio_client import Client

        return Client(self.url, verbose=False, download_files=str(self.client_dir))

    def server_files(self) -> int:
        return count_files(self.upload_dir, self.python_tmp)


@contextmanager
def served_app(
    root: Path,
    queue_size: int = 4,
    concurrency: int = 1,
    delete_cache: tuple[int, int] | None = None,
    mcp: bool = False,
    **settings: Any,
) -> Iterator[Served]:
    """app.py's demo launched in this process on loopback; closed (and its cache deleted) on exit.

    ``delete_cache`` replaces the app's schedule with a short one, so a test can watch the
    clean-up happen; ``served.demo.delete_cache`` is None when the app sets no schedule.
    ``settings`` are further operator settings (e.g. a small max_memory); the server is launched
    as main() launches it with those settings (upload limits). ``mcp`` serves the MCP tools too.
    While two are open, use the one opened last: Gradio checks uploads against GRADIO_TEMP_DIR as it
    is at the time of the request, so an outer server's uploads are refused meanwhile.
    """
    upload_dir, python_tmp, client_dir = root / "gradio", root / "tmp", root / "client"
    for directory in (upload_dir, python_tmp, client_dir):
        directory.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(upload_dir))
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setattr(tempfile, "tempdir", str(python_tmp))
        from style_transfer.web import layout

        runner = untrained_runner(queue_size=queue_size, concurrency=concurrency, **settings)
        demo = layout.build_demo(runner)
        # Launch as main() does (theme, css, allowed paths, upload limits, cache policy). delete_cache
        # is a gr.Blocks() setting read at launch, so it is set on the demo, not passed to launch().
        options = dict(layout.launch_options(runner.settings, mcp=mcp))
        demo.delete_cache = delete_cache or options.pop("delete_cache", None) or demo.delete_cache
        options.pop("delete_cache", None)
        port = free_port()
        demo.launch(
            prevent_thread_lock=True,
            server_name="127.0.0.1",
            server_port=port,
            quiet=True,
            ssr_mode=False,
            **options,
        )
        try:
            yield Served(demo, f"http://127.0.0.1:{port}/", root, upload_dir, python_tmp, client_dir, runner)
        finally:
            demo.close()


@dataclass
class RunRecord:
    started: float
    steps: list[float] = field(default_factory=list)  # monotonic time of each yielded Frame
    ended: float | None = None  # after the engine's finally: has run
    finished: bool = False  # ran to its last step (not closed early)

    def median_step(self) -> float:
        gaps = np.diff(self.steps)
        return float(np.median(gaps)) if len(gaps) else 0.0


class RunRecorder:
    """Wraps style_transfer.engine.run._run, which stylize() returns, to record every run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: list[RunRecord] = []
        self.active = 0
        self.most_active = 0  # the most runs ever computing at the same moment

    def wrap(self, real_run: Callable[..., Generator[Any, None, None]]) -> Callable[..., Iterator[Any]]:
        def recorded_run(*args: Any, **kwargs: Any) -> Iterator[Any]:
            record = RunRecord(time.monotonic())
            with self.lock:
                self.runs.append(record)
                self.active += 1
                self.most_active = max(self.most_active, self.active)
            frames = real_run(*args, **kwargs)
            try:
                for frame in frames:
                    record.steps.append(time.monotonic())
                    yield frame
                    # Its last step, not merely the generator's end: a stopped run now returns
                    # normally (the engine checks its stop flag), having never reached its last frame.
                    record.finished = bool(getattr(frame, "done", False))
            finally:
                frames.close()  # runs the engine's finally: now, not whenever GC gets to it
                record.ended = time.monotonic()
                with self.lock:
                    self.active -= 1

        return recorded_run
