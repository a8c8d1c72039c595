"""After a run: the timelapse output, the history scrubber, Continue / Refine, and the example pictures.

The API through gradio_client against the served app; the page's own events by calling their
functions (what Gradio calls), on untrained weights and tiny images.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from style_transfer import StyleConfig, StyleTransferError, read_recipe
from style_transfer.timelapse import FRAME_MS, HOLD_MS
from style_transfer.web import events, layout, results
from style_transfer.web import requests as web_requests
from tests.served_app import untrained_runner

SIZE = 64  # 64x48 from the 4:3 test photo: one scale, a step in ~0.1 s


def pixels(picture: Any) -> np.ndarray:
    image = Image.open(picture) if isinstance(picture, (str, Path)) else picture
    return np.asarray(image.convert("RGB"))


def timelapse_times(path: str) -> list[int]:
    with Image.open(path) as image:
        times = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            image.load()
            times.append(image.info["duration"])
        return times


# ---------------------------------------------------------------- through the API


def test_the_last_frame_of_the_api_carries_the_timelapse_of_every_streamed_frame(app_server, image_files):
    client = app_server.client()
    job = client.submit(
        handle_file(str(image_files["photo_small"])), handle_file(str(image_files["style"])),
        size=SIZE, steps=6, preview_every=1, api_name="/stylize",
    )  # fmt: skip
    image, progress, _, png, timelapse = job.result(timeout=180)
    streamed = job.outputs()
    assert progress.startswith("**Done**") and len(streamed) == 6
    assert all(frame[4] is None for frame in streamed[:-1]), "the timelapse comes on the last frame only"
    assert Path(timelapse).suffix == ".webp" and read_recipe(timelapse) == read_recipe(png)
    times = timelapse_times(timelapse)
    assert sum(times) == FRAME_MS * (len(streamed) - 1) + HOLD_MS, "every streamed frame is in the timelapse"
    with Image.open(timelapse) as animation, Image.open(image) as final:
        assert animation.size == final.size == (SIZE, 48)


def test_init_image_continues_a_result_through_the_api_and_records_its_parent(app_server, image_files):
    client = app_server.client()
    photo, style = handle_file(str(image_files["photo_small"])), handle_file(str(image_files["style"]))
    first = client.predict(photo, style, size=SIZE, steps=3, api_name="/stylize")[3]
    again = client.predict(photo, style, size=SIZE, steps=2, init_image=handle_file(first), api_name="/stylize")[3]
    recipe = read_recipe(again)
    assert recipe["parent"] == read_recipe(first)
    assert recipe["plan"] == [[SIZE, 48, 2]], "a run from a start image runs at the output size only"


# ---------------------------------------------------------------- the page's events, called directly


def run_events(generator: Any) -> list[tuple[Any, ...]]:
    async def collect() -> list[tuple[Any, ...]]:
        return [outputs async for outputs in generator]

    return asyncio.run(collect())


@pytest.fixture
def uploads(image_files, tmp_path, monkeypatch):
    """The test photo and style as uploads (the app reads only files in Gradio's upload folder)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    content, style = tmp_path / "photo.jpg", tmp_path / "style.png"
    shutil.copy(image_files["photo_small"], content)
    shutil.copy(image_files["style"], style)
    return str(content), str(style)


def page_values(**settings: Any) -> list[Any]:
    """The page's controls as the events receive them (None: the control's default)."""
    return [settings.get(name) for name in web_requests.API_PARAMETERS]


@pytest.fixture
def finished(runner, uploads):
    """A Run through the page's own stream: every output tuple, the last one with the session's LastRun."""
    keeper = gr.Slider()  # any component: the kept frames are copied into the cache on its account
    config = StyleConfig(size=SIZE, steps=6, preset="fast", preview_every=1)
    outputs = run_events(events.stream_run(runner, keeper, uploads[0], [uploads[1]], config, None))
    last_run = outputs[-1][5]
    assert isinstance(last_run, results.LastRun) and all(out[5] is None for out in outputs[:-1])
    return outputs, last_run, keeper


def test_the_scrubbers_frame_k_is_the_kth_streamed_preview_with_its_step_and_recipe(finished, uploads):
    outputs, last_run, keeper = finished
    assert len(last_run.frames) == len(outputs) == 6
    # The last frame was sent as the path of the run's PNG, whose folder goes with the run: its kept copy.
    sent = [out[0] for out in outputs[:-1]] + [last_run.png]
    for position, streamed in enumerate(sent, start=1):
        (before, after), caption, png = events.show_frame(last_run, position)
        frame = last_run.frames[position - 1]
        assert before == uploads[0] and after == frame.path
        assert np.array_equal(pixels(after), pixels(streamed)), f"frame {position} is not the streamed one"
        assert re.match(rf"\*\*Step {frame.step}/6\*\*", caption) and f"loss {frame.loss:.4g}" in caption
        assert read_recipe(png) == last_run.recipe | {"step": frame.step}
        assert np.array_equal(pixels(png), pixels(after))
    assert all(Path(f.path).is_relative_to(Path(gr.utils.get_upload_folder()).resolve()) for f in last_run.frames)
    assert {f.path for f in last_run.frames} <= keeper.temp_files, "Gradio would not age the kept frames out"


def test_after_a_run_the_result_shows_before_after_the_history_and_what_refine_would_make(finished):
    _, last_run, _ = finished
    live, compare, history, follow_up, slider, caption, png, resume, refine = events.show_result(last_run, 1024)
    assert live["visible"] == "hidden" and compare["visible"] and history["visible"] and follow_up["visible"]
    assert compare["value"] == (last_run.content, last_run.frames[-1].path)
    assert (slider["maximum"], slider["value"]) == (6, 6) and "(the result)" in caption
    assert "128 px" in refine["value"] and refine["interactive"]
    *_, refine = events.show_result(last_run, SIZE)
    assert refine["interactive"] is False, "at the operator's size cap Refine has nowhere to go"


def test_continue_and_refine_start_from_the_last_result_and_record_it(finished, uploads):
    _, last_run, keeper = finished
    runner = untrained_runner(max_size=96)
    settings = page_values(steps=2, preview_every=1)
    # The run's own files go with it; the session keeps copies (LastRun.png) of what it needs.
    resumed = run_events(events.resume_function(runner, keeper, refine=False)(*settings, last_run))
    recipe = read_recipe(resumed[-1][5].png)
    assert recipe["parent"] == last_run.recipe and recipe["config"]["size"] == SIZE
    assert np.array_equal(pixels(resumed[0][0]), pixels(last_run.png)), "Continue starts from the last result"
    refined = run_events(events.resume_function(runner, keeper, refine=True)(*settings, last_run))
    recipe = read_recipe(refined[-1][5].png)
    assert recipe["parent"] == last_run.recipe and recipe["config"]["size"] == 96, "2x, capped by max_size"
    assert refined[-1][5].size == 96 and refined[-1][5].frames[-1].size == (96, 72)
    with pytest.raises(gr.Error, match="run once first"):
        run_events(events.resume_function(runner, keeper, refine=False)(*page_values(), None))


def test_refine_size_doubles_within_the_operators_cap_and_the_configs_limit():
    assert results.refine_size(512, 1024) == 1024
    assert results.refine_size(512, 768) == 768
    assert results.refine_size(1536, 0) == results.SIZE_LIMIT == 2048, "0 is no operator cap"
    with pytest.raises(StyleTransferError, match="largest"):
        results.refine_size(1024, 1024)


# ---------------------------------------------------------------- example pairs as pictures


EXAMPLE_PAIRS = events.PAIRS_FILE  # the shipped pairs.json (the fixtures below point the app elsewhere)


@pytest.fixture
def pairs_with_results(tmp_path, monkeypatch):
    """A pairs.json whose first pair names a result made earlier (as the lead's script adds them)."""
    pairs = [{key: p[key] for key in ("title", "content", "style")} for p in json.loads(EXAMPLE_PAIRS.read_text())[:3]]
    for name in {p[key] for p in pairs for key in ("content", "style")}:
        shutil.copy(results.EXAMPLES_DIR / name, tmp_path / name)
    Image.new("RGB", (96, 64), (200, 40, 40)).save(tmp_path / "result_cat.jpg")
    pairs[0]["result"] = "result_cat.jpg"
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    monkeypatch.setattr(events, "PAIRS_FILE", tmp_path / "pairs.json")
    return tmp_path


@pytest.fixture
def pairs_without_results(tmp_path, monkeypatch):
    """A pairs.json naming no result (a fork that has not made them)."""
    pairs = [{key: p[key] for key in ("title", "content", "style")} for p in json.loads(EXAMPLE_PAIRS.read_text())]
    for name in {p[key] for p in pairs for key in ("content", "style")}:
        shutil.copy(results.EXAMPLES_DIR / name, tmp_path / name)
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    monkeypatch.setattr(events, "PAIRS_FILE", tmp_path / "pairs.json")
    return tmp_path


def test_pairs_show_as_pictures_with_their_results_when_pairs_json_names_them(pairs_with_results):
    demo = layout.build_demo(untrained_runner())
    dataset = next(b for b in demo.blocks.values() if isinstance(b, gr.Dataset))
    assert [type(c).__name__ for c in dataset._components] == ["Image", "Image", "Image", "Markdown"]
    first, second = dataset.samples[0], dataset.samples[1]
    assert first[2]["path"].endswith("result_cat.jpg") and second[2] is None
    assert "ImageNet" in dataset.label


def test_pairs_without_results_show_photo_and_style_only(pairs_without_results):
    demo = layout.build_demo(untrained_runner())
    dataset = next(b for b in demo.blocks.values() if isinstance(b, gr.Dataset))
    assert [type(c).__name__ for c in dataset._components] == ["Image", "Image", "Markdown"]
    assert all(Path(sample[0]["path"]).name.startswith("content_") for sample in dataset.samples)


def test_picking_a_pair_with_a_result_shows_it_at_once_labelled_as_made_earlier(pairs_with_results):
    first, second = json.loads(EXAMPLE_PAIRS.read_text())[:2]
    content, style, brush, live, compare, history, follow_up = events.pick_pair(0)
    assert (Path(content).name, Path(style).name) == (first["content"], first["style"])
    assert brush["layers"] == [] and Path(brush["background"]).read_bytes() == Path(content).read_bytes()
    assert compare["value"] == (content, str(pairs_with_results / "result_cat.jpg")) and compare["visible"]
    assert compare["label"] == results.EARLIER_RESULT and "ImageNet" in compare["label"]
    assert live["visible"] == "hidden" and not history["visible"] and not follow_up["visible"]
    *filled, live, compare, history, follow_up = events.pick_pair(1)
    assert Path(filled[0]).name == second["content"]
    assert all(update == gr.skip() for update in (live, compare, history, follow_up)), "no result: fill only"


def test_a_pairs_file_naming_a_missing_result_says_which(pairs_with_results):
    pairs = json.loads(events.PAIRS_FILE.read_text())
    pairs[1]["result"] = "result_astronaut.jpg"
    events.PAIRS_FILE.write_text(json.dumps(pairs))
    with pytest.raises(FileNotFoundError, match="names result_astronaut.jpg, which is not in"):
        results.load_pairs(events.PAIRS_FILE)
