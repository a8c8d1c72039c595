"""The page: its layout, the example pairs, the theme, and how the demo is queued and launched.

Every number lives in the package (the controls are derived from ``StyleConfig``'s field metadata),
every event is wired in wiring.py, and every run goes through the ``Runner`` built once at start-up.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from ..service.runner import Runner
from ..service.serving import (
    JSON_REQUEST,
    BodyBound,
    CallerAddressForRelays,
    CountOpenStreams,
    JsonShape,
    OpenStreams,
    RequestBodyLimit,
    max_request_bytes,
    remove_stale_files,
)
from ..settings import OperatorSettings
from ..weights import UNTRAINED_WARNING, WeightsInfo
from . import brush, events
from .events import NO_ESTIMATE
from .gradio_patches import (
    RunQueue,
    gradio_stream_key,
    guard_file_inputs,
    keep_mcp_outputs_whole,
    keep_no_editor_blobs,
    refuse_nameless_upload_parts,
    refuse_unknown_events,
    stop_mcp_runs_whose_caller_left,
)
from .requests import ADVANCED_FIELDS, EXTRA_STYLES, MAIN_FIELDS, PAGE_ONLY_DEFAULTS, control, label
from .results import EXAMPLES_DIR, load_pairs, style_presets
from .wiring import RUNS, wire
from .your_results import results_panel, share_link_box, wire_page_load

log = logging.getLogger("app")  # the app's log, as before the page left app.py

# Gradio removes cached files older than an hour, checking every ten minutes.
DELETE_CACHE = (600, 3600)
# A run whose results nobody has started reading this long after it joined the queue is stopped
# (a script POSTs /call/stylize, then GETs its result at once; a person pasting an event id may take a while).
UNREAD_GRACE_SECONDS = 30.0
# Who reads which of Gradio's result streams (the middleware counts, the run queue asks): one per
# process, as the streams' keys (session ids, event ids) are random and never shared by two demos.
STREAMS = OpenStreams(gradio_stream_key)
# The MCP transport's own cap on a request (the mcp package's default): a larger body gets this app's
# message instead of a bare 413. Images sent inline as data: URLs must fit in it, base64-encoded.
MCP_REQUEST_BYTES = 4 * 1024 * 1024
MCP_PATH = "/gradio_api/mcp"
# gr.ImageEditor posts its canvas's images (the brush's photo, at most brush.EDITOR_SIDE px, and its layers)
# to the component route after every stroke, and its change event waits for those posts to succeed: PNGs
# of a 768 px canvas measured 0.2-2 MB. Nothing of them is kept (gradio_patches.keep_no_editor_blobs).
EDITOR_BLOB_BYTES = 4 * 1024 * 1024
COMPONENT_PATH = "/gradio_api/component_server"

# Fixed colours, named in a line above the chart too: the plot's own legend is easy to miss.
LOSS_COLOURS = {
    "total": ("black", "#111827"),
    "style": ("red", "#dc2626"),
    "content": ("blue", "#2563eb"),
    "tv": ("amber", "#d97706"),
}

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
/* The editor's own "Clear canvas" also removes the photo, which this brush never uploads: Clear (below) instead. */
#mask-editor button[aria-label="Clear canvas"] { display: none; }
"""


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
        inputs, outputs = _layout(runner)
        wire_page_load(demo, outputs)  # this browser's results, and a shared one the address names
        for name, value in PAGE_ONLY_DEFAULTS.items():  # the page's time budget (/stylize's default: no budget)
            demo.load(lambda value=value: value, outputs=inputs[name], api_visibility="private", queue=False)
    # max_size: waiting + running jobs; beyond it visitors are told at once that the queue is full.
    # api_open=False: a queued event (/stylize) cannot be run by a direct POST to /gradio_api/run/...,
    # which would skip the queue's size and concurrency limits.
    guard_file_inputs(demo)
    keep_no_editor_blobs()
    keep_mcp_outputs_whole()
    refuse_unknown_events()
    refuse_nameless_upload_parts()
    stop_mcp_runs_whose_caller_left()
    demo.queue(
        max_size=runner.settings.queue_size, default_concurrency_limit=runner.settings.concurrency, api_open=False
    )
    # Runs and the page's helpers wait in queues of their own; one client's share of the runs is bounded.
    settings = runner.settings
    RunQueue(demo, RUNS, settings.queue_size, settings.runs_per_client, STREAMS, UNREAD_GRACE_SECONDS)
    return demo


def _layout(runner: Runner) -> tuple[dict[str, gr.components.Component], dict[str, Any]]:
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
    outputs |= results_panel()
    _examples(inputs)
    # /stylize's start image for API clients (the page's Continue and Refine pass theirs), and its mask (the
    # page's comes from the brush).
    inputs["init_image"] = gr.Image(label="Start image", type="filepath", visible=False)
    inputs["mask"] = gr.Image(label="Mask", type="filepath", format="png", visible=False, elem_id="mask")
    wire(runner, inputs, outputs, run, stop)
    return inputs, outputs


def _inputs_panel(inputs: dict[str, gr.components.Component]) -> None:
    with gr.Row():
        inputs["content"] = gr.Image(label="Content photo", type="filepath", height=260, elem_id="content")
        inputs["style"] = gr.Image(label="Style image", type="filepath", height=260, elem_id="style")
    inputs["presets"] = gr.Gallery(
        style_presets(),
        label="Style presets: click one to use it as the style",
        columns=4,
        height=275,
        object_fit="cover",
        allow_preview=False,
        interactive=False,
        elem_id="presets",
    )
    _brush_panel(inputs)
    for name in MAIN_FIELDS:
        inputs[name] = control(name)
    with gr.Accordion("Advanced", open=False):
        inputs[EXTRA_STYLES] = gr.File(
            label="More style images (blended with the style above; with a mask, the second is the unpainted "
            "part's style)",
            file_count="multiple",
            file_types=["image"],
        )
        for name in ADVANCED_FIELDS:
            inputs[name] = control(name)
        inputs["second_style_scale"] = control("second_style_scale")
        inputs["recolour"] = control("recolour")
    with gr.Accordion("Reuse the settings of an earlier result", open=False):
        inputs["recipe"] = gr.File(label="A PNG made by this app (its settings are in the file)", file_types=[".png"])


def _brush_panel(inputs: dict[str, gr.components.Component]) -> None:
    """The brush over the photo (brush.py): paint where the style goes; Invert, Clear; keep faces.

    Not in a closed accordion: Gradio 6.31's editor given its value while hidden there never reports a
    stroke afterwards (measured in Chromium: no change event at all until the value is set again).
    """
    with gr.Group(elem_id="brush-panel"):
        gr.Markdown("**Paint where the style goes** (optional): the rest keeps the photo", elem_id="brush-title")
        inputs["mask_editor"] = gr.ImageEditor(
            label="Brush: the painted part gets the style, the rest keeps the photo",
            type="filepath",
            image_mode="RGBA",
            format="png",
            sources=(),  # the photo comes from the content input above
            transforms=(),
            layers=False,  # one brush layer
            brush=gr.Brush(colors=[(_hex(brush.BRUSH_RGB), brush.BRUSH_OPACITY)], color_mode="fixed"),
            eraser=gr.Eraser(),
            height=360,
            elem_id="mask-editor",
        )
        inputs["mask_summary"] = gr.Markdown(brush.summary(None, 1), elem_id="mask-summary")
        with gr.Row():
            inputs["invert"] = gr.Button("Invert", size="sm", elem_id="mask-invert")
            inputs["clear_mask"] = gr.Button("Clear", size="sm", elem_id="mask-clear")
            inputs["keep_faces"] = _keep_faces_control()


def _keep_faces_control() -> gr.components.Component:
    from ..faces import INSTALL_HINT, available

    if available():
        return control("keep_faces")
    return gr.Checkbox(
        False,
        label=label("keep_faces"),
        info=f"needs the optional face detector, not installed on this server ({INSTALL_HINT})",
        interactive=False,
        elem_id="control-keep_faces",
    )


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{value:02x}" for value in rgb)


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
        # Each /stylize output's label is its name in the API (gradio_client's view_api, space_card.API_OUTPUTS).
        "progress": gr.Markdown("Press **Run** to start.", label="Progress", elem_id="progress"),
    }
    outputs |= _history_panel()
    outputs |= _downloads()
    outputs["estimate"] = gr.Markdown(NO_ESTIMATE, elem_id="estimate")
    outputs["chart"] = _loss_chart()
    # The session's last finished run (its kept frames are files in Gradio's cache, aged out with it).
    return outputs | {"last_run": gr.State(None, time_to_live=DELETE_CACHE[1])}


def _downloads() -> dict[str, Any]:
    with gr.Row(equal_height=True):
        gr.Markdown("**Download** the result (a PNG, its settings inside) or the run's film (animated WebP):")
        png = gr.DownloadButton("PNG", variant="secondary", scale=0, elem_id="download-png")
        timelapse = gr.DownloadButton("Timelapse", variant="secondary", scale=0, elem_id="download-timelapse")
    return {"download": png, "timelapse": timelapse}


def _loss_chart() -> gr.LinePlot:
    gr.Markdown(  # the chart's key: Gradio draws the legend's title but not its entries
        "**Loss while optimising** (log scale): " + " · ".join(f"{t} {c}" for t, (c, _) in LOSS_COLOURS.items()),
        elem_id="loss-key",
    )
    return gr.LinePlot(
        x="step",
        y="log10 loss",
        color="term",
        label="Loss chart",
        color_map={term: hex_code for term, (_, hex_code) in LOSS_COLOURS.items()},
        color_title=" ",  # no title over a legend Gradio leaves empty: the line above is the key
        height=300,
        x_title="step",
        y_title="log10 loss",
    )


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
        share = gr.Button("Share this result", elem_id="share")
    return {"follow_up": row, "continue": resume, "refine": refine, "share": share, "share_link": share_link_box()}


def _examples(inputs: dict[str, gr.components.Component]) -> None:
    """The example pairs as pictures (photo, style and, where pairs.json names one, the result made earlier).

    A gr.Dataset, not gr.Examples: a click runs pick_pair, which fills the inputs and shows the earlier
    result; nothing is run or cached (Spaces turns example caching on by default).
    """
    pairs = load_pairs(events.PAIRS_FILE)  # the file pick_pair reads: one setting for both
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
        "app_kwargs": {"middleware": middleware(settings)},
        "mcp_server": True if mcp else None,
        "state_session_capacity": settings.max_sessions,  # Gradio's default, 10,000, is ~1 GB of sessions
    }


def middleware(settings: OperatorSettings) -> list[Middleware]:
    """What every request passes first: the bounds on its body (only uploads, MCP calls and the image
    editor's posts carry files), the MCP caller's address for the queue, and the count of who reads
    which result stream."""
    upload = BodyBound(max_request_bytes(settings), None, "upload fewer or smaller files per request")
    mcp = BodyBound(
        MCP_REQUEST_BYTES,
        JsonShape(max_string=MCP_REQUEST_BYTES),
        "an MCP call holds at most 4 MiB: pass a larger image as the URL of a file uploaded to this app "
        "(POST /gradio_api/upload), not inline as a data: URL",
    )
    blobs = BodyBound(
        EDITOR_BLOB_BYTES,
        None,
        "the image editor's canvas is at most 768 px: this is not one of its images",
        multipart_only=True,
    )
    routes = [("/gradio_api/upload", upload), (MCP_PATH + "/", mcp), (COMPONENT_PATH, blobs)]
    return [
        Middleware(RequestBodyLimit, routes=routes, default=JSON_REQUEST),
        Middleware(CallerAddressForRelays, prefix=MCP_PATH),
        Middleware(CountOpenStreams, streams=STREAMS),
    ]


def remove_stale_uploads() -> None:
    """At start-up: delete what an earlier server (one that crashed) left in Gradio's upload folder."""
    upload_folder = Path(gr.utils.get_upload_folder())
    removed = remove_stale_files(upload_folder, DELETE_CACHE[1])
    if removed:
        log.info("deleted %d file(s) an earlier server left in %s", removed, upload_folder)
