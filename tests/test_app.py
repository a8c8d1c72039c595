"""The Gradio app through its public API (gradio_client against the app served in-process).

Untrained weights and tiny images; every wait polls a condition with a timeout.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from style_transfer import OperatorSettings, StyleConfig, StyleTransferError, read_recipe, space_card
from style_transfer.service.runner import Runner
from style_transfer.settings import ENV_VARS
from style_transfer.web import events, layout, results
from style_transfer.web import requests as web_requests
from style_transfer.weights import UNTRAINED_WARNING
from tests.served_app import free_port, untrained_runner, wait_until

SIZE = 96  # output long side: two pyramid scales, a few seconds in all


def api_info(server) -> dict:
    return server.client().view_api(print_info=False, return_format="dict")


def submit(client, content: str, style: str, **settings):
    settings = {"size": SIZE, "preset": "fast", **settings}
    return client.submit(handle_file(content), handle_file(style), api_name="/stylize", **settings)


# ---------------------------------------------------------------- the API's shape


def test_the_api_offers_stylize_only_with_content_style_size_preset_first(app_server):
    endpoints = api_info(app_server)["named_endpoints"]
    assert list(endpoints) == ["/stylize"], "UI-only listeners must be private"
    parameters = endpoints["/stylize"]["parameters"]
    names = [p["parameter_name"] for p in parameters]
    assert names[:4] == ["content", "style", "size", "preset"]
    assert [p["component"] for p in parameters[:2]] == ["Image", "Image"]
    assert not any(p["parameter_has_default"] for p in parameters[:2]), "content and style are required"
    assert all(p["parameter_has_default"] for p in parameters[2:]), "every setting must have a default"
    defaults = {p["parameter_name"]: p["parameter_default"] for p in parameters}
    assert defaults["size"] == StyleConfig().size and defaults["preset"] == StyleConfig().preset
    # gradio_client sends every default: a call naming a preset must get its steps, not the page's budget.
    assert defaults["seconds"] == StyleConfig().seconds == 0
    # New parameters go after the older ones, optional: positional clients keep working.
    assert names[: len(web_requests.API_PARAMETERS) + 1] == [*web_requests.API_PARAMETERS, "init_image"]
    assert names[-2:] == ["mask", "keep_faces"], "the mask and keep_faces come last"
    assert defaults["init_image"] is None and defaults["mask"] is None and defaults["keep_faces"] is False
    assert defaults["second_style_scale"] == 0
    returns = [r["component"] for r in endpoints["/stylize"]["returns"]]
    assert returns == ["Image", "Markdown", "Lineplot", "Downloadbutton", "Downloadbutton"], returns


def test_the_outputs_have_short_names_in_view_api_in_their_old_order(app_server):
    """The names gradio_client shows (from the labels), as the README and the Space card unpack them."""
    text = app_server.client().view_api(print_info=False, return_format="str")
    names = ", ".join(space_card.API_OUTPUTS)
    assert f'api_name="/stylize") -> ({names})' in text
    components = ["Image", "Markdown", "Lineplot", "Downloadbutton", "Downloadbutton"]
    for name, component in zip(space_card.API_OUTPUTS, components, strict=True):
        assert f"[{component}] {name}: " in text
    assert "value_" not in text and "loss_while" not in text
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"{names} = job.result()" in readme


def test_controls_are_derived_from_style_config():
    for f in dataclasses.fields(OperatorSettings):
        assert f.name not in web_requests.API_PARAMETERS, f"{f.name} is the operator's setting, not a request's"
    for f in dataclasses.fields(StyleConfig):
        control = web_requests.control(f.name)
        meta = f.metadata
        default = f.default  # the API's default; a ui_default (the page's time budget) is set on load
        expected = list(default) if isinstance(default, tuple) and "choices" in meta else default
        if f.name != "style_blend":
            assert control.value == expected, f.name
        if "ui_max" in meta:
            assert (control.minimum, control.maximum) == (meta["min"], meta["ui_max"]), f.name
        if "choices" in meta:
            assert [choice[1] for choice in control.choices] == list(meta["choices"]), f.name
        assert control.info == meta["help"]


def test_the_page_has_examples_presets_and_the_untrained_banner(app_server):
    config = app_server.demo.config
    datasets = [c for c in config["components"] if c.get("type") == "dataset"]
    assert datasets and len(datasets[0]["props"]["samples"]) >= 6, "need at least 6 example pairs"
    texts = [c["props"].get("value") or "" for c in config["components"] if c.get("type") == "markdown"]
    assert any(UNTRAINED_WARNING in text for text in texts), "no banner about the untrained weights"
    galleries = [c for c in config["components"] if c.get("type") == "gallery"]
    assert len(galleries[0]["props"]["value"]) == len(list(results.EXAMPLES_DIR.glob("style_*.jpg")))


def test_examples_only_fill_the_inputs_even_where_spaces_turns_caching_on(monkeypatch):
    monkeypatch.setenv("GRADIO_CACHE_EXAMPLES", "true")  # what Spaces sets by default
    runner = untrained_runner()
    demo = layout.build_demo(runner)  # caching an example would need outputs and run it now
    dataset = next(b for b in demo.blocks.values() if isinstance(b, gr.Dataset))
    listeners = [fn for fn in demo.fns.values() if any(target[0] == dataset._id for target in fn.targets)]
    assert [fn.fn for fn in listeners] == [events.pick_pair], "clicking an example should only pick it"
    assert runner.runs.steps == 0, "an example ran at start-up"
    outputs = {block.elem_id for block in listeners[0].outputs}
    assert outputs >= {"content", "style"} and not outputs & {"progress", "download-timelapse"}


def test_queue_is_bounded_with_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_VARS["queue_size"], "3")
    monkeypatch.setenv(ENV_VARS["concurrency"], "2")
    from style_transfer.web.gradio_patches import RunQueue

    # The size bounds each queue (the runs', the page's helpers'): RunQueue admits events, not Gradio's max_size.
    demo = layout.build_demo(Runner(OperatorSettings.from_env()))
    assert (RunQueue.of(demo).size, demo._queue.default_concurrency_limit) == (3, 2)
    demo = layout.build_demo(untrained_runner(queue_size=5, concurrency=1))
    assert (RunQueue.of(demo).size, demo._queue.default_concurrency_limit) == (5, 1)
    monkeypatch.setenv(ENV_VARS["queue_size"], "lots")
    with pytest.raises(StyleTransferError, match=ENV_VARS["queue_size"]):
        OperatorSettings.from_env()


# ---------------------------------------------------------------- running through the API


def test_submit_streams_frames_then_a_png_of_the_requested_size_with_its_recipe(app_server, example_files):
    job = submit(app_server.client(), *example_files, preview_every=4)
    image_path, progress, chart, download, _ = job.result(timeout=180)
    frames = job.outputs()
    assert len(frames) >= 3, f"only {len(frames)} frames streamed"
    steps = [int(re.search(r"Step (\d+)/", f[1]).group(1)) for f in frames[:-1]]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), f"frames out of order: {steps}"
    assert all(Path(f[0]).is_file() for f in frames), "every frame carries an image"
    assert progress.startswith("**Done**")
    result = Image.open(image_path)
    assert max(result.size) == SIZE
    recipe = read_recipe(download)
    assert recipe["config"]["size"] == SIZE and recipe["config"]["preset"] == "fast"
    assert recipe["weights"]["untrained"] is True
    assert read_recipe(image_path) == recipe, "the shown image should be the same PNG as the download"
    assert {row[2] for row in chart["data"]} >= {"style", "total"}


def test_cancel_stops_the_run_on_the_server_within_a_step(app_server, example_files):
    runs = app_server.runner.runs
    finished, after_stop, steps_before = runs.finished, runs.steps_after_stop, runs.steps
    # A preview every 1000 steps: a cancel that waited for the next one would run hundreds more.
    job = submit(app_server.client(), *example_files, size=64, steps=5000, preview_every=1000)
    wait_until(lambda: len(job.outputs()) >= 1, 120, "a streamed frame")
    assert runs.active == 1
    steps_at_cancel = runs.steps
    job.cancel()
    wait_until(lambda: runs.finished == finished + 1, 30, "the run to end on the server")
    assert runs.active == 0
    # On the server: once told to stop, the run ended with the step in progress.
    assert runs.steps_after_stop - after_stop <= 1, "the run went on after its stop"
    # From the client: the cancel reached the run long before the next preview (the request's
    # latency is a few steps of 64 px; the margin keeps a busy CI machine from failing it).
    assert 0 <= runs.steps - steps_at_cancel < 500, "the cancel waited for the next preview"
    assert runs.steps - steps_before < 5000, "the run was not stopped"


def test_loading_a_recipe_png_fills_the_controls(tmp_path, monkeypatch):
    from style_transfer import save_png

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # as if uploaded: the app reads only uploads
    from style_transfer.weights import WeightsInfo

    config = StyleConfig(size=320, preset="best", style_strength=3.5, style_blend=(2.0, 1.0), seed=7)
    recipe_file = tmp_path / "result.png"
    save_png(
        Image.new("RGB", (8, 8)),
        recipe_file,
        __import__("style_transfer").make_recipe(config, WeightsInfo("untrained:0", True, "test")),
    )
    values = dict(
        zip(
            web_requests.MAIN_FIELDS + web_requests.ADVANCED_FIELDS,
            events.settings_from_recipe({"path": str(recipe_file)}),
        )
    )
    assert (values["size"], values["preset"], values["style_strength"], values["seed"]) == (320, "best", 3.5, 7)
    assert values["style_blend"] == "2, 1"
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    with pytest.raises(gr.Error, match="no style-transfer recipe"):
        events.settings_from_recipe({"path": str(plain)})


def test_the_estimate_shows_before_run(runner, example_files, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # as if uploaded: the app reads only uploads
    uploaded = tmp_path / "photo.jpg"
    uploaded.write_bytes(Path(example_files[0]).read_bytes())
    names = web_requests.API_PARAMETERS
    values = [None] * len(names)
    assert events.estimate_text(runner, *values) == events.NO_ESTIMATE
    values[names.index("content")] = {"path": str(uploaded)}
    assert events.estimate_text(runner, *values).startswith("**Estimate:** about")
    values[names.index("size")] = 1_000_000
    assert "size is 1000000" in events.estimate_text(runner, *values)


# ---------------------------------------------------------------- bad input gets the app's message


@pytest.mark.parametrize(
    ("case", "settings", "message"),
    [
        ("text file named .jpg", {}, "not an image file"),
        ("blend weights not numbers", {"style_blend": "lots, more"}, "blend weights must be numbers"),
        ("blend weights mismatch", {"style_blend": "1, 2, 3"}, "1 style images but 3 blend weights"),
        ("size out of range", {"size": 100000}, "size is 100000"),
    ],
)
def test_bad_input_returns_the_apps_message(app_server, example_files, tmp_path, case, settings, message):
    content, style = example_files
    if case.startswith("text file"):
        content = str(tmp_path / "holiday.jpg")
        Path(content).write_text("this is not a picture")
    with pytest.raises(AppError, match=re.escape(message)):
        submit(app_server.client(), content, style, **settings).result(timeout=60)


def test_a_full_queue_says_so(example_files):
    runner = untrained_runner(queue_size=1, concurrency=1)
    demo = layout.build_demo(runner)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        from gradio_client import Client

        clients = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(3)]
        running = submit(clients[0], *example_files, size=64, steps=400, preview_every=1)
        wait_until(lambda: running.outputs(), 120, "the first job to stream")
        waiting = submit(clients[1], *example_files, size=64, steps=400)
        wait_until(lambda: waiting.status().code.name == "IN_QUEUE", 30, "the second job to wait")
        with pytest.raises(Exception, match="(?i)queue is full"):
            submit(clients[2], *example_files, size=64).result(timeout=30)
        for job in (waiting, running):
            job.cancel()
        wait_until(lambda: runner.runs.active == 0, 30, "the runs to end")
    finally:
        demo.close()


def test_the_page_keeps_faces_by_default_where_the_detector_is_installed():
    from style_transfer import faces
    from style_transfer.web import requests as web_requests

    expected = True if faces.available() else None
    assert web_requests.PAGE_ONLY_DEFAULTS.get("keep_faces") is expected
    assert web_requests.PAGE_ONLY_DEFAULTS["seconds"] == 30.0
    assert web_requests.PAGE_ONLY_DEFAULTS["preset"] == "best"  # the budget's steps spread half and half
    assert StyleConfig().preset == "balanced"
    assert StyleConfig().keep_faces is False  # /stylize's and the CLI's default: asked for by name
