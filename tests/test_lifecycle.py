"""Lifecycle: cancelling frees the worker and the queue moves on; temp files and memory do not pile up.

The app is served in-process on loopback (untrained weights, 64 px jobs, one worker).
Runs are observed through the engine's generator (``run_recorder``), jobs through
gradio_client's status and outputs; every wait polls a condition with a timeout.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from pathlib import Path

import gradio as gr
import psutil
import pytest
from gradio_client import handle_file
from gradio_client.utils import Status
from PIL import Image

from tests.served_app import SMALL, count_files, served_app, untrained_runner, wait_until, write_image

LONG_STEPS = 2000  # a run of minutes: only a cancel ends it within the test
SHORT_STEPS = 4


@pytest.fixture
def images(tmp_path: Path) -> tuple[str, str]:
    return str(write_image(tmp_path / "content.png", 1)), str(write_image(tmp_path / "style.png", 2))


def submit(client, images: tuple[str, str], steps: int):
    """Submit a small /stylize job; ``steps`` is passed when the endpoint has that parameter."""
    endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/stylize"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    extra: dict = {"steps": steps} if "steps" in names else {}
    # Parameters after the images must have defaults (the API contract); test_app.py checks that.
    # Here they are filled with None so a missing default does not hide what these tests check.
    extra |= {p["parameter_name"]: None for p in endpoint["parameters"][2:] if not p["parameter_has_default"]}
    content, style = images
    return client.submit(
        handle_file(content), handle_file(style), size=SMALL, preset="fast", api_name="/stylize", **extra
    )


def final_image(job, timeout: float) -> Image.Image:
    result = job.result(timeout=timeout)
    path = result[0] if isinstance(result, (list, tuple)) else result
    return Image.open(path)


def test_cancel_frees_the_worker_within_a_step_and_the_next_job_runs(tmp_path, images, run_recorder):
    with served_app(tmp_path, queue_size=4, concurrency=1) as served:
        # One Client per visitor: gradio cancels by session, so two jobs of one session would both stop.
        long_job = submit(served.client(), images, LONG_STEPS)
        wait_until(lambda: run_recorder.runs and len(run_recorder.runs[0].steps) >= 4, 120, "the first run to step")
        wait_until(lambda: long_job.outputs(), 30, "a streamed frame of the first job")
        next_job = submit(served.client(), images, SHORT_STEPS)
        wait_until(lambda: next_job.status().code == Status.IN_QUEUE, 30, "the second job to wait in the queue")
        assert len(run_recorder.runs) == 1, "the second job started while the only worker was busy"

        running = run_recorder.runs[0]
        step = running.median_step()
        cancel_sent = time.monotonic()
        long_job.cancel()  # returns once the server has handled the cancel
        cancel_handled = time.monotonic()
        wait_until(lambda: running.ended, 30, "the cancelled run's generator to be closed")

        assert not running.finished, "the cancelled run went on to its last step"
        # Once the server has handled the cancel, at most the step already in flight completes.
        steps_after_cancel = sum(t > cancel_handled for t in running.steps)
        assert steps_after_cancel <= 1, f"the cancelled run took {steps_after_cancel} more steps"
        # In time: the cancel round trip, one step in flight and Gradio's bookkeeping.
        stopped_after = running.ended - cancel_sent
        assert stopped_after < 2 * step + 2.0, f"stopped {stopped_after:.2f} s after cancel (a step: {step:.2f} s)"
        print(
            f"cancel: handled in {cancel_handled - cancel_sent:.3f} s, run ended {stopped_after:.3f} s after, "
            f"step {step:.3f} s, {steps_after_cancel} step(s) after"
        )

        wait_until(lambda: len(run_recorder.runs) == 2, 30, "the queued job to start after the cancel")
        output = final_image(next_job, timeout=120)
        assert max(output.size) == SMALL
        assert next_job.status().code == Status.FINISHED
        assert run_recorder.runs[1].finished
        assert run_recorder.active == 0


def test_a_job_cancelled_while_queued_never_runs(tmp_path, images, run_recorder):
    with served_app(tmp_path, queue_size=4, concurrency=1) as served:
        running = submit(served.client(), images, LONG_STEPS)
        wait_until(lambda: run_recorder.runs and run_recorder.runs[0].steps, 120, "the first run to step")
        queued = submit(served.client(), images, SHORT_STEPS)
        last = submit(served.client(), images, SHORT_STEPS)
        for job in (queued, last):
            wait_until(lambda job=job: job.status().code == Status.IN_QUEUE, 30, "a job to wait in the queue")

        queued.cancel()
        running.cancel()
        output = final_image(last, timeout=120)

        assert max(output.size) == SMALL
        assert len(run_recorder.runs) == 2, "the job cancelled in the queue still ran"
        assert not run_recorder.runs[0].finished and run_recorder.runs[1].finished
        assert queued.done() and not queued.outputs()


@pytest.mark.parametrize("layer", ["the runner's run()", "the /stylize function"])
def test_closing_a_run_at_a_frame_stops_it_though_its_generators_are_held(tmp_path, monkeypatch, run_recorder, layer):
    """Gradio stops a run whose reader left, or that nobody reads, by closing the event's generator at a
    yield. Each layer used to read the next with a bare `async for`, which leaves the inner generator
    open until nothing refers to it: in the server a reference cycle kept one alive, and its run computed
    on until a garbage collection (CI: a run alive 60 s after every cancel, 1 in 6). Here every layer's
    generator is also held by the test, so only the chain of closes can stop the run."""
    from style_transfer import StyleConfig
    from style_transfer.service.runner import Runner
    from style_transfer.web import events, requests

    held: list = []
    for owner, name in ((Runner, "relay"), (Runner, "run"), (events, "stream_run")):
        make = getattr(owner, name)
        monkeypatch.setattr(owner, name, lambda *a, make=make, **k: held.append(make(*a, **k)) or held[-1])
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # the /stylize function accepts uploaded files only
    content, style = (str(write_image(tmp_path / name, seed)) for seed, name in enumerate(("c.png", "s.png")))
    runner = untrained_runner()
    if layer == "the /stylize function":
        named = {"content": content, "style": style, "size": SMALL, "preset": "fast", "steps": LONG_STEPS}
        run = events.stylize_function(runner, gr.State())(*(named.get(n) for n in requests.STYLIZE_PARAMETERS))
    else:
        run = runner.run(content, [style], StyleConfig(size=SMALL, preset="fast", steps=LONG_STEPS))

    async def one_frame_then_close() -> None:
        await anext(run)
        await run.aclose()
        # Still inside the event loop (its shutdown would close every open generator anyway).
        await asyncio.to_thread(wait_until, lambda: run_recorder.runs[0].ended, 30, "the closed run to end")

    asyncio.run(one_frame_then_close())
    assert len(held) == (3 if layer == "the /stylize function" else 2)
    assert not run_recorder.runs[0].finished and len(run_recorder.runs[0].steps) < LONG_STEPS
    assert runner.runs.active == 0


def app_cache_policy() -> tuple[int, int] | None:
    """The delete_cache schedule a `python app.py` server runs with (set on gr.Blocks or via launch_options)."""
    from style_transfer.web import layout

    options = layout.launch_options()
    return options.get("delete_cache") or layout.build_demo(untrained_runner()).delete_cache


def test_main_launch_options_are_accepted_by_launch():
    from style_transfer.web import layout

    unknown = set(layout.launch_options()) - set(inspect.signature(gr.Blocks.launch).parameters)
    assert not unknown, f"gr.Blocks.launch() has no parameter(s) {sorted(unknown)}: main() would raise TypeError"


def test_temporary_files_are_deleted(tmp_path, images):
    """Uploads and outputs go to Gradio's temp dir only, and delete_cache removes them."""
    assert app_cache_policy(), "the app sets no delete_cache: files would pile up until a restart"

    with served_app(tmp_path, queue_size=4, concurrency=1, delete_cache=(1, 2)) as served:
        startup_files = served.server_files()  # the example and preset images Gradio caches at start-up
        client = served.client()
        final_image(submit(client, images, SHORT_STEPS), timeout=120)  # the first run traces (autograph files)
        # Files only: gradio_client (in this process too) leaves empty download dirs in the temp dir.
        python_tmp_files = sorted(p for p in served.python_tmp.rglob("*") if p.is_file())
        for _ in range(3):
            final_image(submit(client, images, SHORT_STEPS), timeout=120)
        assert served.server_files() > startup_files, "no files seen: the count is not looking where Gradio writes"
        left = sorted(p for p in served.python_tmp.rglob("*") if p.is_file())
        assert left == python_tmp_files, "runs left files in the system temp dir"
        wait_until(lambda: served.server_files() <= startup_files, 30, "delete_cache to remove the runs' files")
    assert count_files(served.upload_dir) <= startup_files, "files left behind after the server closed"


@pytest.mark.slow
def test_engine_memory_does_not_grow_over_sequential_runs(tmp_path):
    """Short form of the load script's leak mode: RSS after 15 more runs stays near RSS after 3."""
    from style_transfer import StyleConfig, stylize

    content, style = write_image(tmp_path / "c.png", 3), write_image(tmp_path / "s.png", 4)
    config = StyleConfig(size=SMALL, preset="fast", steps=SHORT_STEPS)
    process = psutil.Process()

    def run_and_measure(runs: int) -> float:
        for _ in range(runs):
            *_, last = stylize(str(content), [str(style)], config, weights="untrained")
            assert last.done and last.image is not None
        gc.collect()
        return process.memory_info().rss / 2**20

    warm = run_and_measure(3)  # compiles, builds the network, fills allocator pools
    after = run_and_measure(15)
    assert after - warm < 40, f"RSS grew {after - warm:.0f} MiB over 15 runs ({warm:.0f} -> {after:.0f} MiB)"
