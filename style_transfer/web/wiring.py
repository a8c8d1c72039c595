"""The page's events: which control triggers which function, with which inputs and outputs.

Run (the public /stylize), Continue and Refine stream a run into the result area; Stop cancels
them; the estimate line follows every control; presets, example pairs and a recipe fill the controls.
The functions themselves are in events.py.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..service.runner import Runner
from .events import (
    estimate_text,
    invert_editor,
    mask_from_editor,
    photo_in_editor,
    pick_pair,
    resume_function,
    settings_from_recipe,
    show_frame,
    show_live,
    show_result,
    style_count,
    stylize_function,
)
from .requests import (
    ADVANCED_FIELDS,
    ESTIMATE_PARAMETERS,
    EXTRA_STYLES,
    LATE_FIELDS,
    MAIN_FIELDS,
    PAGE_SETTINGS,
    STYLIZE_PARAMETERS,
)
from .results import style_presets
from .your_results import wire_keeping

# The result area's parts that show_live and pick_pair switch between the live image and before/after.
LIVE_AREA = ("image", "compare", "history", "follow_up")
# Concurrency ids: the runs share one queue (and the operator's concurrency); the page's helpers that
# use the queue (a recipe's settings, the history, before/after) wait in their own, so a queue full
# of runs does not refuse them (see gradio_patches.RunQueue).
RUNS = "stylize"
HELPERS = "helpers"


def wire(runner: Runner, inputs: dict, outputs: dict, run: gr.Button, stop: gr.Button) -> None:
    estimated = [inputs[name] for name in ESTIMATE_PARAMETERS]
    _wire_brush(runner, inputs)
    runs = _wire_runs(runner, inputs, outputs, run)
    wire_keeping(runs, outputs, runner.settings.max_size)  # Your results and Share (your_results.py)
    stop.click(None, cancels=runs, api_visibility="private")
    gr.on(
        [control.change for control in estimated],
        lambda *values: estimate_text(runner, *values),
        inputs=estimated,
        outputs=outputs["estimate"],
        preprocess=False,
        show_progress="hidden",
        api_visibility="private",
        queue=False,
    )
    inputs["presets"].select(
        _pick_preset, outputs=inputs["style"], api_visibility="private", show_progress="hidden", queue=False
    )
    # Picking a quality preset means "its steps": the time budget steps aside (set it again to use one).
    inputs["preset"].input(lambda: 0, outputs=inputs["seconds"], api_visibility="private", queue=False)
    inputs["recipe"].upload(
        settings_from_recipe,
        inputs=inputs["recipe"],
        outputs=[inputs[name] for name in MAIN_FIELDS + ADVANCED_FIELDS + LATE_FIELDS],
        preprocess=False,
        api_visibility="private",
        concurrency_id=HELPERS,
    )
    _wire_results(inputs, outputs)


def _wire_runs(runner: Runner, inputs: dict, outputs: dict, run: gr.Button) -> list[Any]:
    """Run (the public /stylize), Continue and Refine: each shows the live image, streams, then the result."""
    streamed = [outputs[name] for name in ("image", "progress", "chart", "download", "timelapse", "last_run")]
    live = [outputs[name] for name in LIVE_AREA]
    shown = [*live, *(outputs[name] for name in ("scrubber", "frame_info", "frame_png", "continue", "refine"))]
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    # preprocess=False: the engine opens the uploads itself, so a bad file gets its message, not Gradio's.
    stream: dict[str, Any] = {"outputs": streamed, "preprocess": False, "concurrency_id": RUNS}
    brush = [inputs[name] for name in ("mask_editor", "content", EXTRA_STYLES)]

    def mask_for_run(editor: Any, content: Any, more_styles: Any) -> tuple[Any, str]:
        # The brush as it is when Run is pressed (a stroke's own update may still be on its way).
        mask, line = mask_from_editor(runner, editor, content, style_count(more_styles))
        if line.startswith("⚠️"):
            raise gr.Error(line.removeprefix("⚠️ "), print_exception=False)
        return mask, line

    runs = [
        run.click(show_live, outputs=live, queue=False, **private)
        .then(
            mask_for_run,
            inputs=brush,
            outputs=[inputs["mask"], inputs["mask_summary"]],
            preprocess=False,
            concurrency_id=HELPERS,
            **private,
        )
        .success(
            stylize_function(runner, outputs["scrubber"]),
            inputs=[inputs[name] for name in STYLIZE_PARAMETERS],
            api_name="stylize",
            api_description="Stylise `content` in the manner of `style`; yields a frame about once a second, "
            "the last one a PNG with the settings (recipe) in its metadata and the run's timelapse (animated WebP).",
            show_progress="minimal",
            **stream,
        )
    ]
    for button, refine in ((outputs["continue"], False), (outputs["refine"], True)):
        runs.append(
            button.click(show_live, outputs=live, queue=False, **private).then(
                resume_function(runner, outputs["scrubber"], refine),
                inputs=[*(inputs[name] for name in PAGE_SETTINGS), outputs["last_run"]],
                api_visibility="private",
                show_progress="minimal",
                **stream,
            )
        )

    def show_last_result(last_run: Any) -> tuple[Any, ...]:
        return show_result(last_run, runner.settings.max_size)

    for event in runs:
        event.success(show_last_result, outputs["last_run"], shown, concurrency_id=HELPERS, **private)
    return runs


def _wire_results(inputs: dict, outputs: dict) -> None:
    outputs["scrubber"].input(
        show_frame,
        inputs=[outputs["last_run"], outputs["scrubber"]],
        outputs=[outputs["compare"], outputs["frame_info"], outputs["frame_png"]],
        trigger_mode="always_last",
        api_visibility="private",
        show_progress="hidden",
        concurrency_id=HELPERS,
    )
    inputs["pairs"].click(
        pick_pair,
        inputs=inputs["pairs"],
        outputs=[
            inputs["content"],
            inputs["style"],
            inputs["mask_editor"],
            *(outputs[name] for name in LIVE_AREA),
        ],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )


def _wire_brush(runner: Runner, inputs: dict) -> None:
    """The brush (brush.py): a new photo shows on it unpainted; each change makes /stylize's mask (a queued
    helper: it decodes the brush's layer); Invert and Clear rewrite the layer."""
    editor, content = inputs["mask_editor"], inputs["content"]
    helper: dict[str, Any] = {
        "api_visibility": "private",
        "show_progress": "hidden",
        "preprocess": False,  # file payloads are checked by requests.file_path, never fetched
        "concurrency_id": HELPERS,
    }

    def show_photo(photo: Any) -> Any:
        return photo_in_editor(runner, photo)

    def make_mask(brushed: Any, photo: Any, more_styles: Any) -> tuple[Any, str]:
        return mask_from_editor(runner, brushed, photo, style_count(more_styles))

    for trigger in (content.upload, content.clear, inputs["clear_mask"].click):
        trigger(show_photo, inputs=content, outputs=editor, **helper)
    gr.on(
        [editor.change, inputs[EXTRA_STYLES].change],
        make_mask,
        inputs=[editor, content, inputs[EXTRA_STYLES]],
        outputs=[inputs["mask"], inputs["mask_summary"]],
        trigger_mode="always_last",  # strokes come faster than masks are made: the last one counts
        **helper,
    )
    inputs["invert"].click(lambda brushed: invert_editor(runner, brushed), inputs=editor, outputs=editor, **helper)


def _pick_preset(selection: gr.SelectData) -> str:
    return style_presets()[selection.index][0]
