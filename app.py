"""Gradio app: neural style transfer (Gatys et al.) streamed to the browser frame by frame.

Layout, events and the queue only; every number lives in ``style_transfer`` (the
controls are derived from ``StyleConfig``'s field metadata) and every run goes through
the ``Runner`` built once at start-up. Run ``python app.py`` (``--share`` for a share
link); the operator's settings (weights, queue, limits) come from the environment.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

import ui_events
from style_transfer import StyleTransferError, WeightsInfo
from style_transfer.errors import one_line
from style_transfer.runner import Runner
from style_transfer.serving import RequestBodyLimit, max_request_bytes, remove_stale_files
from style_transfer.settings import OperatorSettings
from style_transfer.weights import UNTRAINED_WARNING
from ui_events import (
    EXAMPLES_DIR,
    NO_ESTIMATE,
    estimate_text,
    pick_pair,
    resume_function,
    settings_from_recipe,
    show_frame,
    show_live,
    show_result,
    stylize_function,
)
from ui_requests import (
    ADVANCED_FIELDS,
    API_PARAMETERS,
    EXTRA_STYLES,
    MAIN_FIELDS,
    PAGE_ONLY_DEFAULTS,
    STYLIZE_PARAMETERS,
    control,
    guard_file_inputs,
    keep_mcp_outputs_whole,
)
from ui_results import load_pairs

log = logging.getLogger("app")

# Gradio removes cached files older than an hour, checking every ten minutes.
DELETE_CACHE = (600, 3600)

# Fixed colours, named in the chart's label too: the plot's own legend is easy to miss.
LOSS_COLOURS = {
    "total": ("black", "#111827"),
    "style": ("red", "#dc2626"),
    "content": ("blue", "#2563eb"),
    "tv": ("amber", "#d97706"),
}

# The result area's parts that show_live and pick_pair switch between the live image and before/after.
LIVE_AREA = ("image", "compare", "history", "follow_up")

TITLE = "# Neural style transfer"
INTRO = (
    "Repaint a photo in the manner of a painting, after Gatys, Ecker & Bethge, *Image Style Transfer Using "
    "Convolutional Neural Networks* (CVPR 2016). The image is optimised step by step on VGG19 features, and "
    "you watch it change as it goes. Pick an example below, or upload a photo and a style, then press **Run**."
)
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate")
CSS = """
.block.banner-untrained { border: 1px solid #d97706; background: #fffbeb; border-radius: 8px; padding: 2px 14px; }
.banner-untrained * { color: #78350f !important; }
#estimate, #progress { min-height: 2.2em; }
#pairs thead { display: none; }  /* the example pairs as cards: photo, style (and result) side by side, title below */
#pairs tbody { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 10px; }
#pairs tr.tr-body { display: flex; flex-wrap: wrap; border: 1px solid var(--border-color-primary); border-radius: 8px; }
#pairs td { flex: 1 1 0; padding: 4px; border: none; }
#pairs td.markdown { flex-basis: 100%; text-align: center; padding-top: 0; }
#pairs td .container { width: 100%; height: auto; aspect-ratio: 4 / 3; }
#pairs td img { width: 100%; height: 100%; object-fit: cover; border-radius: 4px; }
#presets .thumbnail-item { cursor: pointer; }
#result img { width: 100%; height: 100%; object-fit: contain; }  /* early, small frames fill the box */
"""


def _style_presets() -> list[tuple[str, str]]:
    return [(str(p), p.stem.removeprefix("style_").replace("_", " ")) for p in sorted(EXAMPLES_DIR.glob("style_*.jpg"))]


def _untrained_banner(info: WeightsInfo) -> None:
    if info.untrained:
        gr.Markdown(f"⚠️ **Demo weights.** {UNTRAINED_WARNING}", elem_classes="banner-untrained")


# ---------------------------------------------------------------- layout


def build_demo(runner: Runner) -> gr.Blocks:
    """The app for a ready runner, queued as the operator's settings say."""
    with gr.Blocks(title="Neural style transfer", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(TITLE)
        gr.Markdown(INTRO)
        _untrained_banner(runner.weights)
        inputs = _layout(runner)
        for name, value in PAGE_ONLY_DEFAULTS.items():  # the page's time budget (/stylize's default: no budget)
            demo.load(lambda value=value: value, outputs=inputs[name], api_visibility="private", queue=False)
    # max_size: waiting + running jobs; beyond it visitors are told at once that the queue is full.
    # api_open=False: a queued event (/stylize) cannot be run by a direct POST to /gradio_api/run/...,
    # which would skip the queue's size and concurrency limits.
    guard_file_inputs(demo)
    keep_mcp_outputs_whole()
    return demo.queue(
        max_size=runner.settings.queue_size, default_concurrency_limit=runner.settings.concurrency, api_open=False
    )


def _layout(runner: Runner) -> dict[str, gr.components.Component]:
    inputs: dict[str, gr.components.Component] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            _inputs_panel(inputs)
        with gr.Column(scale=6):
            outputs = _outputs_panel()
            with gr.Row():
                run = gr.Button("Run", variant="primary", size="lg", scale=3, elem_id="run")
                stop = gr.Button("Stop", variant="stop", size="lg", scale=1, elem_id="stop")
            outputs |= _follow_up_buttons()
    _examples(inputs)
    # /stylize's last parameter: a start image for API clients (the page's Continue and Refine pass theirs).
    inputs["init_image"] = gr.Image(label="Start image", type="filepath", visible=False)
    _wire(runner, inputs, outputs, run, stop)
    return inputs


def _inputs_panel(inputs: dict[str, gr.components.Component]) -> None:
    with gr.Row():
        inputs["content"] = gr.Image(label="Content photo", type="filepath", height=260, elem_id="content")
        inputs["style"] = gr.Image(label="Style image", type="filepath", height=260, elem_id="style")
    inputs["presets"] = gr.Gallery(
        _style_presets(),
        label="Style presets: click one to use it as the style",
        columns=4,
        height=275,
        object_fit="cover",
        allow_preview=False,
        interactive=False,
        elem_id="presets",
    )
    for name in MAIN_FIELDS:
        inputs[name] = control(name)
    with gr.Accordion("Advanced", open=False):
        inputs[EXTRA_STYLES] = gr.File(
            label="More style images (blended with the style above)", file_count="multiple", file_types=["image"]
        )
        for name in ADVANCED_FIELDS:
            inputs[name] = control(name)
    with gr.Accordion("Reuse the settings of an earlier result", open=False):
        inputs["recipe"] = gr.File(label="A PNG made by this app (its settings are in the file)", file_types=[".png"])


def _outputs_panel() -> dict[str, Any]:
    """The result area (live image, or before/after when done), progress, history, downloads, estimate, chart."""
    outputs: dict[str, Any] = {
        "image": gr.Image(
            label="Result",
            format="png",
            interactive=False,
            height=420,
            buttons=["download", "fullscreen"],
            elem_id="result",
        ),
        # In place of the live image once a run is done (or an example with an earlier result is picked).
        "compare": gr.ImageSlider(
            label="Before / after",
            type="filepath",
            format="png",
            interactive=False,
            height=420,
            max_height=420,
            buttons=["fullscreen"],
            visible=False,
            elem_id="compare",
        ),
        "progress": gr.Markdown("Press **Run** to start.", elem_id="progress"),
    }
    outputs |= _history_panel()
    with gr.Row():
        outputs["download"] = gr.DownloadButton("Download PNG (settings included)", variant="secondary")
        outputs["timelapse"] = gr.DownloadButton(
            "Download timelapse (animated WebP)", variant="secondary", elem_id="download-timelapse"
        )
    return outputs | {
        "estimate": gr.Markdown(NO_ESTIMATE, elem_id="estimate"),
        "chart": gr.LinePlot(
            x="step",
            y="log10 loss",
            color="term",
            label="Loss while optimising (log scale): "
            + " · ".join(f"{term} {colour}" for term, (colour, _) in LOSS_COLOURS.items()),
            color_map={term: hex_code for term, (_, hex_code) in LOSS_COLOURS.items()},
            color_title=" ",  # Gradio draws the legend's title but not its entries; the label is the key
            height=300,
            x_title="step",
            y_title="log10 loss",
        ),
        # The session's last finished run (its kept frames are files in Gradio's cache, aged out with it).
        "last_run": gr.State(None, time_to_live=DELETE_CACHE[1]),
    }


def _history_panel() -> dict[str, Any]:
    """After a run: a slider over its kept frames (no recomputing), the frame's step and loss, its PNG."""
    with gr.Group(visible=False, elem_id="history") as group:
        scrubber = gr.Slider(
            1, 2, value=1, step=1, label="History: step through the kept frames (no recomputing)", elem_id="scrubber"
        )
        with gr.Row(equal_height=True):
            caption = gr.Markdown(elem_id="frame-info")
            frame_png = gr.DownloadButton(
                "Download this frame (PNG, settings + step)", size="sm", variant="secondary", elem_id="download-frame"
            )
    return {"history": group, "scrubber": scrubber, "frame_info": caption, "frame_png": frame_png}


def _follow_up_buttons() -> dict[str, Any]:
    with gr.Row(visible=False, elem_id="follow-up") as row:
        resume = gr.Button("Continue (more steps)", elem_id="continue")
        refine = gr.Button("Refine at 2×", elem_id="refine")
    return {"follow_up": row, "continue": resume, "refine": refine}


def _examples(inputs: dict[str, gr.components.Component]) -> None:
    """The example pairs as pictures (photo, style and, where pairs.json names one, the result made earlier).

    A gr.Dataset, not gr.Examples: a click runs pick_pair, which fills the inputs and shows the earlier
    result; nothing is run or cached (Spaces turns example caching on by default).
    """
    pairs = load_pairs(ui_events.PAIRS_FILE)  # the file pick_pair reads: one setting for both
    results = any(pair.result for pair in pairs)
    inputs["pairs"] = gr.Dataset(
        components=["image", "image", *(["image"] if results else []), "markdown"],
        headers=["Photo", "Style", *(["Result (made earlier, ImageNet weights)"] if results else []), ""],
        samples=[[p.content, p.style, *([p.result] if results else []), p.title] for p in pairs],
        type="index",
        samples_per_page=len(pairs),
        label="Examples (photo · style · the result made earlier with ImageNet weights): click one to fill the "
        "photo and the style"
        if results
        else "Examples: click one to fill the photo and the style",
        elem_id="pairs",
    )


def _wire(runner: Runner, inputs: dict, outputs: dict, run: gr.Button, stop: gr.Button) -> None:
    api_inputs = [inputs[name] for name in API_PARAMETERS]
    runs = _wire_runs(runner, inputs, outputs, run)
    stop.click(None, cancels=runs, api_visibility="private")
    gr.on(
        [control.change for control in api_inputs],
        lambda *values: estimate_text(runner, *values),
        inputs=api_inputs,
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
        outputs=[inputs[name] for name in MAIN_FIELDS + ADVANCED_FIELDS],
        preprocess=False,
        api_visibility="private",
    )
    _wire_results(inputs, outputs)


def _wire_runs(runner: Runner, inputs: dict, outputs: dict, run: gr.Button) -> list[Any]:
    """Run (the public /stylize), Continue and Refine: each shows the live image, streams, then the result."""
    streamed = [outputs[name] for name in ("image", "progress", "chart", "download", "timelapse", "last_run")]
    live = [outputs[name] for name in LIVE_AREA]
    shown = [*live, *(outputs[name] for name in ("scrubber", "frame_info", "frame_png", "continue", "refine"))]
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    # preprocess=False: the engine opens the uploads itself, so a bad file gets its message, not Gradio's.
    stream: dict[str, Any] = {"outputs": streamed, "preprocess": False, "concurrency_id": "stylize"}
    runs = [
        run.click(show_live, outputs=live, queue=False, **private).then(
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
                inputs=[*(inputs[name] for name in API_PARAMETERS), outputs["last_run"]],
                api_visibility="private",
                show_progress="minimal",
                **stream,
            )
        )
    for event in runs:
        event.success(lambda last: show_result(last, runner.settings.max_size), outputs["last_run"], shown, **private)
    return runs


def _wire_results(inputs: dict, outputs: dict) -> None:
    outputs["scrubber"].input(
        show_frame,
        inputs=[outputs["last_run"], outputs["scrubber"]],
        outputs=[outputs["compare"], outputs["frame_info"], outputs["frame_png"]],
        trigger_mode="always_last",
        api_visibility="private",
        show_progress="hidden",
    )
    inputs["pairs"].click(
        pick_pair,
        inputs=inputs["pairs"],
        outputs=[
            inputs["content"],
            inputs["style"],
            *(outputs[name] for name in LIVE_AREA),
        ],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )


def _pick_preset(selection: gr.SelectData) -> str:
    return _style_presets()[selection.index][0]


# ---------------------------------------------------------------- launching


def launch_options(settings: OperatorSettings | None = None, mcp: bool = False) -> dict[str, Any]:
    """What main() passes to launch() besides --share; tests launch with the same options.

    ``settings`` bound the uploads (default: OperatorSettings' defaults); ``mcp`` also serves
    /stylize as an MCP tool (off: Gradio's GRADIO_MCP_SERVER variable decides).
    """
    settings = settings or OperatorSettings()
    return {
        "theme": THEME,
        "css": CSS,
        "allowed_paths": [str(EXAMPLES_DIR)],
        "max_file_size": settings.max_input_bytes,  # Gradio refuses a larger uploaded file (413) and deletes it
        "app_kwargs": {"middleware": [Middleware(RequestBodyLimit, limit=max_request_bytes(settings))]},
        "mcp_server": True if mcp else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also serve through a temporary public gradio.live link")
    parser.add_argument(
        "--mcp", action="store_true", help="also serve /stylize as an MCP tool at /gradio_api/mcp (gradio[mcp])"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        runner = Runner(OperatorSettings.from_env())  # loads the network: no request waits for it
    except StyleTransferError as error:  # a bad setting or unobtainable weights: one line, no traceback
        raise SystemExit(f"error: {one_line(error, 2000)}") from None
    upload_folder = Path(gr.utils.get_upload_folder())
    removed = remove_stale_files(upload_folder, DELETE_CACHE[1])
    if removed:
        log.info("deleted %d file(s) an earlier server left in %s", removed, upload_folder)
    demo = build_demo(runner)
    # Host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, default 127.0.0.1:7860 (Gradio reads them).
    demo.launch(share=args.share, **launch_options(runner.settings, mcp=args.mcp))


if __name__ == "__main__":
    main()
