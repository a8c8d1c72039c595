"""Built once per process: the operator's settings, the warmed-up network, and the runs it relays.

gradio-free. The app builds one Runner at start-up and streams every request through
``Runner.run``: the engine's generator runs on a thread of its own and its updates reach
the caller through an asyncio queue, so cancelling the caller's task stops the run after
the step in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .. import limits, regions
from ..config import OBJECTIVES, StyleConfig
from ..engine import Frame, calibrate, stylize, warm_up
from ..image import ImageSource, style_roles, upright_size
from ..plan import RunPlan, plan_run
from ..recipe import save_png
from ..settings import OperatorSettings
from ..timelapse import FrameKeeper, KeptFrame, write_timelapse

log = logging.getLogger(__name__)

CHART_COLUMNS = ("step", "log10 loss", "term")
CHART_MAX_STEPS = 400  # the loss chart keeps at most this many steps (evenly thinned) to stay light

Frames = Generator[Frame, None, None]


class RunMonitor:
    """Runs in flight and engine steps consumed, for logs, tests and load tests.

    ``steps_after_stop``: steps that ended after their run was told to stop (Stop, a cancel, a
    closed tab). A run stops after the step in progress, so each stopped run adds at most one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = self.finished = self.steps = self.steps_after_stop = 0

    def start(self) -> None:
        with self._lock:
            self.active += 1

    def step(self, after_stop: bool = False) -> None:
        with self._lock:
            self.steps += 1
            self.steps_after_stop += after_stop

    def end(self) -> None:
        with self._lock:
            self.active -= 1
            self.finished += 1


@dataclass(frozen=True)
class Update:
    """A frame with a preview, as a viewer gets it."""

    frame: Frame
    image: Image.Image | str  # the final picture is the path of its PNG, so a download of it keeps the recipe
    png: str | None  # that PNG (recipe in its metadata), on the last frame only
    chart: list[dict[str, Any]]  # every step's losses so far: rows of CHART_COLUMNS, at most CHART_MAX_STEPS steps
    timelapse: str | None = None  # on the last frame: the run's animated WebP (recipe in its metadata)
    frames: tuple[KeptFrame, ...] = ()  # on the last frame: the kept previews, PNG files (see timelapse.py)


class LossHistory:
    """Each step's loss terms on a log scale, for a chart."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, frame: Frame) -> None:
        self.rows += [
            {"step": frame.step, "log10 loss": math.log10(value), "term": term}
            for term, value in frame.losses.items()
            if value > 0 and math.isfinite(value)  # a log scale: content loss is exactly 0 on the first step
        ]

    def chart(self) -> list[dict[str, Any]]:
        """The rows, thinned on long runs to every k-th step and the last."""
        steps = sorted({row["step"] for row in self.rows})
        if len(steps) <= CHART_MAX_STEPS:
            return list(self.rows)
        keep = set(steps[:: -(-len(steps) // CHART_MAX_STEPS)]) | {steps[-1]}
        return [row for row in self.rows if row["step"] in keep]


class Runner:
    """The network for ``settings``, loaded and its step traced now, so no request pays for it."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.weights = warm_up(settings)  # what network requests get (WeightsInfo)
        # This machine's speed per objective (their steps differ in cost), for estimates, budgets and ETAs.
        self.costs = {objective: calibrate(settings, objective) for objective in OBJECTIVES}
        for objective, cost in self.costs.items():
            log.info("cost model, %s objective: %s", objective, cost.describe())
        self.runs = RunMonitor()
        # Held by a run's thread while it computes: however the server treats a cancelled job's slot,
        # no more than `concurrency` runs compute at once.
        self.compute_slots = threading.BoundedSemaphore(settings.concurrency)

    def start(
        self,
        content: ImageSource,
        styles: Sequence[ImageSource],
        config: StyleConfig,
        stop: threading.Event | None = None,
        init_image: ImageSource | None = None,
        parent: dict[str, Any] | None = None,
        mask: ImageSource | None = None,
    ) -> Frames:
        """The engine's generator for a request; the inputs are checked now (StyleTransferError)."""
        return stylize(
            content,
            styles,
            config,
            settings=self.settings,
            cost=self.costs[config.objective],
            stop=stop,
            init_image=init_image,
            parent=parent,
            mask=mask,
        )

    def plan(
        self,
        config: StyleConfig,
        content_size: tuple[int, int],
        style_sizes: Sequence[tuple[int, int]] = (),
        masked: bool = False,
    ) -> RunPlan:
        """The plan of a request with images of these sizes (and a mask, if ``masked``), on this machine's speed."""
        style_regions = regions.style_region_count(config, max(len(style_sizes), 1), masked)
        cost = self.costs[config.objective]
        return plan_run(
            config, content_size, style_sizes, cost, self.settings.max_steps, style_regions=style_regions, masked=masked
        )

    def check(
        self,
        content: str | os.PathLike,
        styles: Sequence[str | os.PathLike],
        config: StyleConfig,
        mask: str | os.PathLike | None = None,
    ) -> RunPlan:
        """The plan for these image files, or the StyleTransferError a run would raise on them.

        The run's own checks (file limits, the operator's caps, memory with the style images at
        their scaled size and the regions a mask makes) from the files' headers alone: no pixel is
        decoded, so it is cheap enough for every change of the page's controls. No style yet: one
        the size of the content.
        """
        config = limits.with_time_limit(config, self.settings)
        limits.check_request(config, max(len(styles), 1), self.settings)  # before any file is read
        regions.check_request(config, max(len(styles), 1), mask is not None)
        sizes = self.settings.input_limits
        content_size = upright_size(content, "content image", **sizes)
        roles = style_roles(len(styles))
        style_sizes = [upright_size(path, role, **sizes) for path, role in zip(styles, roles)]
        if mask is not None:
            upright_size(mask, "mask", **sizes)
        run_plan = self.plan(config, content_size, style_sizes, masked=mask is not None)
        limits.check_plan(run_plan, self.settings)
        return run_plan

    async def run(
        self,
        content: ImageSource,
        styles: Sequence[ImageSource],
        config: StyleConfig,
        init_image: ImageSource | None = None,
        parent: dict[str, Any] | None = None,
        mask: ImageSource | None = None,
    ) -> AsyncGenerator[Update, None]:
        """An Update for each preview frame of one run; cancelling the caller stops the run.

        ``parent``: the start image's recipe, when the caller has it in memory (Continue, Refine).
        """
        stop = threading.Event()

        def start() -> Frames:
            return self.start(content, styles, config, stop, init_image, parent, mask)

        # The images are read on the run's thread, inside its compute slot and its time limit: a cancel
        # waits for the read (bounded: headers.py) instead of leaving it to overlap the next run.
        # aclosing: when this generator is closed at a yield (a stopped or unread run), the relay's is
        # closed at once. `async for` alone leaves it to the garbage collector, and the run computed on.
        async with contextlib.aclosing(self.relay(start, stop)) as updates:
            async for update in updates:
                yield update

    async def relay(
        self, frames: Frames | Callable[[], Frames], stop: threading.Event | None = None
    ) -> AsyncGenerator[Update, None]:
        """Run ``frames`` on a thread of its own and yield its updates; errors are raised here.

        Why not iterate a plain generator: a server can close a sync generator only once its
        current ``next()`` returns, here at the next preview (a second or more). An async
        generator waiting on this queue is cancelled at once (Stop, a client's cancel, a
        closed tab); its ``finally`` sets ``stop``, which the engine checks after every step
        and inside a scale's set-up, then waits for the thread to end, so a cancelled job
        holds its slot until its computing has really stopped.
        """
        relay = _Relay(frames, self.runs, stop or threading.Event(), self.compute_slots)
        try:
            while True:
                relay.read_by(asyncio.current_task())
                kind, item = await relay.outputs.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                yield item
        finally:
            relay.read_by(None)
            relay.stop.set()
            await asyncio.shield(asyncio.to_thread(relay.thread.join))
            shutil.rmtree(relay.staging, ignore_errors=True)  # the caller has copied what it sent on


class _Relay:
    """One engine run on a thread, sending ("frame", Update), then ("end", None) or ("error", exception)."""

    def __init__(
        self,
        frames: Frames | Callable[[], Frames],
        runs: RunMonitor,
        stop: threading.Event,
        compute_slots: threading.BoundedSemaphore,
    ) -> None:
        self.stop = stop
        self._compute_slots = compute_slots
        # The final PNG, the kept previews and the timelapse are written here, outside the server's
        # cache: a server copies what it sends or keeps into its own cache (which ages it out), and
        # this folder goes as soon as the run ends.
        self.staging = Path(tempfile.mkdtemp(prefix="stylized-"))
        self.outputs: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._runs = runs
        self._reader: asyncio.Task | None = None
        self._reader_gone = False
        self.thread = threading.Thread(target=self._work, args=(frames,), name="stylize-run", daemon=True)
        self.thread.start()

    def read_by(self, task: asyncio.Task | None) -> None:
        """The run lives only as long as the task reading it. Gradio can drop a run's generator
        unclosed (a cancel while it post-processes the first frame): nothing would stop the run
        before a garbage collection freed the generator (CI: a run alive a minute after its cancel)."""
        if task is self._reader:
            return
        if self._reader is not None:
            self._reader.remove_done_callback(self._reader_ended)
        self._reader = task
        if task is not None:
            task.add_done_callback(self._reader_ended)

    def _reader_ended(self, _: asyncio.Task) -> None:
        self._reader_gone = True
        self.stop.set()

    def _work(self, frames: Frames | Callable[[], Frames]) -> None:
        try:
            self._compute_in_slot(frames)
        finally:
            if self._reader_gone:  # nobody will copy its files: the generator's finally may never run
                shutil.rmtree(self.staging, ignore_errors=True)

    def _compute_in_slot(self, frames: Frames | Callable[[], Frames]) -> None:
        with self._compute_slots:
            if callable(frames):  # the run is made here: its inputs are read inside the slot
                try:
                    frames = frames()
                except Exception as error:
                    self._send("error", error)
                    return
            self._compute(frames)

    def _compute(self, frames: Frames) -> None:
        self._runs.start()
        outcome = "finished"
        try:
            for update in self._updates(frames):
                self._send("frame", update)
            self._send("end", None)
        except Exception as error:  # handed over to the consumer, which raises it there
            outcome = f"failed ({type(error).__name__})"
            self._send("error", error)
        finally:
            frames.close()  # the engine's finally: frees the run's tensors
            self._runs.end()
            if self.stop.is_set() and outcome == "finished":
                outcome = "stopped (Stop, cancel or a closed tab)"
            log.info("run %s; %d run(s) still active", outcome, self._runs.active)

    def _updates(self, frames: Frames) -> Iterator[Update]:
        """An Update for each preview frame; ends after any step once ``stop`` is set."""
        history = LossHistory()
        keeper = FrameKeeper(self.staging / "frames")  # the previews, for the timelapse and the history
        for frame in frames:
            stopped = self.stop.is_set()
            self._runs.step(after_stop=stopped)
            if stopped:
                return
            history.add(frame)
            if frame.image is None:
                continue  # frames come every step; viewers get those with a preview (about one a second)
            keeper.add(frame)
            yield self._update(frame, history, keeper)

    def _update(self, frame: Frame, history: LossHistory, keeper: FrameKeeper) -> Update:
        assert frame.image is not None
        if frame.done and frame.recipe is not None:
            width, height = frame.size
            png = str(self.staging / f"stylized_{width}x{height}.png")
            save_png(frame.image, png, frame.recipe)
            timelapse = self.staging / f"timelapse_{width}x{height}.webp"
            write_timelapse(keeper.frames, timelapse, frame.recipe)
            return Update(frame, png, png, history.chart(), str(timelapse), keeper.frames)
        return Update(frame, frame.image, None, history.chart())

    def _send(self, kind: str, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self.outputs.put_nowait, (kind, item))
        except RuntimeError:  # the event loop has closed: nobody is listening
            self.stop.set()
