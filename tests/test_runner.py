"""The runner's relay without a Gradio server: a run on a thread of its own, stopped by cancelling its consumer.

Cancelling the consuming task is what Gradio does on Stop, ``job.cancel()`` and a closed tab.
Most tests drive a stand-in engine that takes a step only when the test allows one, so
"the step in flight" is exact; one test cancels a real (tiny, untrained) run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from style_transfer import Frame, StyleConfig, StyleTransferError, WeightsInfo, make_recipe, read_recipe
from style_transfer.service.runner import CHART_MAX_STEPS, LossHistory
from tests.served_app import wait_until

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0
UNTRAINED = WeightsInfo("untrained:0", True, "untrained VGG19 (seeded He-normal)")


def frame(step: int, total: int, image: bool = True) -> Frame:
    done = step == total
    return Frame(
        step=step,
        total=total,
        size=(16, 16),
        scale=1,
        scales=1,
        losses={"content": 0.0 if step == 1 else 1.0 / step, "style": 2.0 / step, "tv": 0.5, "total": 3.0},
        elapsed=0.1 * step,
        eta=None,
        done=done,
        image=Image.new("RGB", (16, 16), (step % 256, 0, 0)) if image or done else None,
        weights=UNTRAINED,
        recipe=make_recipe(StyleConfig(size=16, steps=total), UNTRAINED) if done else None,
    )


class GatedEngine:
    """Stands in for the engine's generator: each step waits until the test allows it."""

    def __init__(self, total: int, fail_at: int | None = None):
        self.total, self.fail_at = total, fail_at
        self.allowed = threading.Semaphore(0)
        self.taken = 0
        self.closed = threading.Event()  # set by the generator's finally: (the engine frees its run there)

    def allow(self, steps: int) -> None:
        for _ in range(steps):
            self.allowed.release()

    def frames(self) -> Iterator[Frame]:
        try:
            for step in range(1, self.total + 1):
                if not self.allowed.acquire(timeout=TIMEOUT):
                    raise TimeoutError("the test never allowed this step")
                self.taken += 1
                if step == self.fail_at:
                    raise StyleTransferError(f"step {step} failed")
                yield frame(step, self.total)
        finally:
            self.closed.set()


@pytest.fixture(scope="module")
def runner():
    """A runner of this module's own, so its counters see only these tests' runs."""
    from tests.served_app import untrained_runner

    return untrained_runner()


def new_relay_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "stylize-run" and t not in before]


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the run's thread did not end"


def test_cancelling_the_consumer_stops_the_run_after_the_step_in_flight(runner):
    engine = GatedEngine(total=100)
    frames = engine.frames()  # held here, so only the relay's close(), not garbage collection, ends it
    runs = runner.runs
    finished_before = runs.finished
    received = []

    stop = threading.Event()  # the relay's stop flag, set by the consumer's finally: when it is cancelled

    async def scenario() -> list[threading.Thread]:
        threads_before = set(threading.enumerate())
        first = asyncio.Event()

        async def consume() -> None:
            async for update in runner.relay(frames, stop):
                received.append(update)
                first.set()

        task = asyncio.create_task(consume())
        engine.allow(1)
        await asyncio.wait_for(first.wait(), TIMEOUT)
        threads = new_relay_threads(threads_before)
        assert len(threads) == 1 and runs.active == 1
        task.cancel()
        # cancel() only schedules the cancellation: wait until the cancelled consumer has delivered
        # its stop to the relay (allowing steps before that let the run go on: 41 steps, 1 run in 6).
        assert await asyncio.to_thread(stop.wait, TIMEOUT), "the cancelled consumer never set the stop flag"
        # The thread is now inside step 2, waiting to be allowed. Allow many more: it must finish
        # that one step, see the stop and end; the cancelled consumer returns only once it has.
        engine.allow(50)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not threads[0].is_alive(), "the cancelled consumer returned while its run still computed"
        return threads

    threads = asyncio.run(scenario())
    join(threads)
    assert engine.closed.is_set(), "the engine's finally: did not run"
    assert engine.taken == 2, f"{engine.taken} steps taken: the run went on after the cancel"
    assert [update.frame.step for update in received] == [1]
    assert (runs.active, runs.finished) == (0, finished_before + 1)


def test_an_engine_error_reaches_the_consumer_and_the_run_is_freed(runner):
    engine = GatedEngine(total=10, fail_at=3)
    frames = engine.frames()
    engine.allow(10)
    steps = []

    async def scenario() -> list[threading.Thread]:
        threads_before = set(threading.enumerate())
        with pytest.raises(StyleTransferError, match="step 3 failed"):
            async for update in runner.relay(frames):
                steps.append(update.frame.step)
        return new_relay_threads(threads_before)

    join(asyncio.run(scenario()))
    assert steps == [1, 2]
    assert engine.closed.is_set() and engine.taken == 3
    assert runner.runs.active == 0


def test_a_finished_run_ends_with_its_png_and_leaves_no_files(runner):
    engine = GatedEngine(total=5)
    frames = engine.frames()
    engine.allow(5)
    updates = []

    async def scenario() -> list[threading.Thread]:
        threads_before = set(threading.enumerate())
        async for update in runner.relay(frames):
            updates.append(update)
            if update.png:  # readable while the consumer holds the run; gone once it ends
                assert read_recipe(update.png)["config"]["steps"] == 5
                assert read_recipe(update.timelapse) == read_recipe(update.png)
                assert all(Path(kept.path).is_file() for kept in update.frames)
        return new_relay_threads(threads_before)

    join(asyncio.run(scenario()))  # the thread sends "end" before its finally: wait for that to run
    last = updates[-1]
    assert [u.frame.step for u in updates] == [1, 2, 3, 4, 5] and last.frame.done
    assert last.image == last.png and all(u.png is None for u in updates[:-1])
    assert all(u.timelapse is None and not u.frames for u in updates[:-1])
    assert [kept.step for kept in last.frames] == [1, 2, 3, 4, 5]
    staging = Path(last.png).parent
    assert Path(last.timelapse).parent == staging and Path(last.frames[0].path).is_relative_to(staging)
    assert not staging.exists(), "the run's staging folder outlived it"
    assert engine.closed.is_set() and runner.runs.active == 0


def test_the_chart_keeps_every_step_then_thins_long_runs():
    history = LossHistory()
    history.add(frame(1, 3))
    terms = {row["term"] for row in history.chart()}
    assert terms == {"style", "tv", "total"}, "a zero loss has no place on a log scale"
    long = LossHistory()
    for step in range(1, 1001):
        long.add(frame(step, 1000, image=False))
    steps = sorted({row["step"] for row in long.chart()})
    assert len(steps) <= CHART_MAX_STEPS + 1 and steps[0] == 1 and steps[-1] == 1000


def test_a_real_run_cancelled_after_its_first_frame_stops_within_a_step(
    runner, run_recorder, content_image, style_image
):
    config = StyleConfig(size=64, steps=500, preset="fast", preview_every=1)
    after_stop = runner.runs.steps_after_stop

    async def scenario() -> tuple[int, list[threading.Thread]]:
        threads_before = set(threading.enumerate())
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in runner.run(content_image, [style_image], config):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 120)
        steps_at_cancel = len(run_recorder.runs[0].steps)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return steps_at_cancel, new_relay_threads(threads_before)

    steps_at_cancel, threads = asyncio.run(scenario())
    join(threads)
    record = run_recorder.runs[0]
    # The engine ends either way: closed by the relay, or returning by itself when it sees `stop` after a
    # step (whichever thread the GIL lets go first): `finished` alone cannot tell a stop from a full run.
    assert record.ended is not None and len(record.steps) < config.steps, "the run was not stopped early"
    assert runner.runs.steps_after_stop - after_stop <= 1, "more than the step in flight ran after the stop"
    # The engine's thread may finish a step or two while the loop gets round to the cancel.
    assert len(record.steps) - steps_at_cancel < 50, "the cancel did not reach the run"
    assert runner.runs.active == 0 and run_recorder.active == 0


def test_a_run_dropped_unclosed_by_its_reading_task_stops(runner, run_recorder, content_image, style_image):
    """Gradio reads a run's first frame, then post-processes it; a cancel there ends the reading task
    and drops the generator without closing it (a reference cycle kept it, so no finalizer either). The
    run used to compute on until a garbage collection; now it ends with the task that read it."""
    config = StyleConfig(size=64, steps=500, preset="fast", preview_every=1)
    held = []  # the dropped generator, kept alive as the cycle did

    async def scenario() -> None:
        first = asyncio.Event()

        async def read_then_postprocess() -> None:
            run = runner.run(content_image, [style_image], config)
            held.append(run)
            await anext(run)
            first.set()
            await asyncio.Event().wait()  # post-processing the frame when the cancel comes

        task = asyncio.create_task(read_then_postprocess())
        await asyncio.wait_for(first.wait(), 120)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(wait_until, lambda: run_recorder.runs[0].ended, TIMEOUT, "the dropped run to end")

    asyncio.run(scenario())
    assert held and not run_recorder.runs[0].finished and len(run_recorder.runs[0].steps) < config.steps
    assert runner.runs.active == 0


def test_the_kept_frames_are_the_streamed_previews_pixel_for_pixel(runner, content_image, style_image):
    """What the history scrubber shows as frame k is the k-th preview the viewer was sent."""
    config = StyleConfig(size=64, steps=6, preset="fast", preview_every=1)
    streamed, kept_pixels = [], []

    async def scenario() -> list[threading.Thread]:
        threads_before = set(threading.enumerate())
        async for update in runner.run(content_image, [style_image], config):
            picture = Image.open(update.image) if isinstance(update.image, str) else update.image
            streamed.append(np.asarray(picture.convert("RGB")))
            for kept in update.frames:  # the last update only; its files go when the run ends
                kept_pixels.append(np.asarray(Image.open(kept.path).convert("RGB")))
        return new_relay_threads(threads_before)

    join(asyncio.run(scenario()))
    assert len(streamed) == 6 and len(kept_pixels) == 6
    for index, (sent, kept) in enumerate(zip(streamed, kept_pixels)):
        assert np.array_equal(sent, kept), f"kept frame {index} is not the preview streamed as frame {index}"


def test_bad_input_is_refused_when_the_run_starts(runner, style_image):
    async def scenario() -> None:
        async for _ in runner.run(b"not an image", [style_image], StyleConfig(size=64, steps=2)):
            pass

    with pytest.raises(StyleTransferError, match="content image is not an image file"):
        asyncio.run(scenario())
    assert runner.runs.active == 0


def test_the_engine_and_the_runner_import_without_gradio():
    """DESIGN.md's boundary: only style_transfer.web imports gradio (checked in a fresh interpreter)."""
    modules = "style_transfer.service.runner, style_transfer.service.serving, style_transfer.__main__"
    code = f"import sys, {modules}; print('gradio' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False", "importing the engine or the runner imported gradio"
