"""Gradio app: neural style transfer (Gatys et al.) streamed to the browser frame by frame.

Layout, events and the queue only; every number lives in ``style_transfer`` (the
controls are derived from ``StyleConfig``'s field metadata) and every run goes through
the ``Runner`` built once at start-up. Run ``python app.py`` (``--share`` for a share
link); the operator's settings (weights, queue, limits) come from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import gradio_client.utils
import pandas as pd
import pydantic
from starlette.middleware import Middleware

from style_transfer import Frame, StyleConfig, StyleTransferError, WeightsInfo, config_from_recipe, read_recipe
from style_transfer.errors import one_line
from style_transfer.runner import CHART_COLUMNS, Runner, Update
from style_transfer.serving import RequestBodyLimit, max_request_bytes, remove_stale_files
from style_transfer.settings import OperatorSettings
from style_transfer.weights import UNTRAINED_WARNING
from ui_results import EARLIER_RESULT, LastRun, frame_caption, frame_file_name, frame_png, load_pairs, refine_size

log = logging.getLogger("app")

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
PAIRS_FILE = EXAMPLES_DIR / "pairs.json"  # the example pairs (title, content, style and an optional result)
# Gradio removes cached files older than an hour, checking every ten minutes.
DELETE_CACHE = (600, 3600)

FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}
# The page's (and the API's) defaults: StyleConfig's, except where a field names a ui_default (the time budget).
UI_DEFAULTS = StyleConfig().replace(
    **{n: f.metadata["ui_default"] for n, f in FIELDS.items() if "ui_default" in f.metadata}
)
MAIN_FIELDS = ("size", "preset", "seconds", "style_strength", "preserve_color")
ADVANCED_FIELDS = tuple(name for name in FIELDS if name not in MAIN_FIELDS)
EXTRA_STYLES = "more_styles"  # extra style images, blended by style_blend; listed just before it
# The /stylize parameters, in order: content, style, size, preset, then the rest.
API_PARAMETERS = ("content", "style", *MAIN_FIELDS, *ADVANCED_FIELDS)
API_PARAMETERS = API_PARAMETERS[: API_PARAMETERS.index("style_blend")] + (
    EXTRA_STYLES,
    *API_PARAMETERS[API_PARAMETERS.index("style_blend") :],
)
# /stylize takes one more, last so that positional clients keep working: a start image (Continue / Refine).
STYLIZE_PARAMETERS = (*API_PARAMETERS, "init_image")
LABELS = {
    "size": "Output size (long side, px)",
    "seconds": "Time budget (s; 0: the preset's steps)",
    "preset": "Quality",
    "preserve_color": "Preserve colour",
    "tv_weight": "Smoothness (TV weight)",
    "style_blend": "Blend weights",
    "preview_every": "Preview every N steps",
}
# Fixed colours, named in the chart's label too: the plot's own legend is easy to miss.
LOSS_COLOURS = {
    "total": ("black", "#111827"),
    "style": ("red", "#dc2626"),
    "content": ("blue", "#2563eb"),
    "tv": ("amber", "#d97706"),
}
NO_ESTIMATE = "Add a content photo to see how long a run will take."
FLOAT_STEP = 0.01  # slider resolution for float knobs (a UI choice, not a setting)

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


# ---------------------------------------------------------------- settings from the controls


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _control(name: str) -> gr.components.Component:
    """One input control for a StyleConfig field, with range, default and help from its metadata."""
    f = FIELDS[name]
    meta, default = f.metadata, getattr(UI_DEFAULTS, name)
    common: dict[str, Any] = {"label": _label(name), "info": meta["help"], "elem_id": f"control-{name}"}
    if isinstance(default, tuple) and "choices" in meta:
        return gr.CheckboxGroup(list(meta["choices"]), value=list(default), **common)
    if "choices" in meta:
        return gr.Radio(list(meta["choices"]), value=default, **common)
    if isinstance(default, tuple):
        return gr.Textbox(_blend_text(default), placeholder="e.g. 2, 1 (empty: equal)", **common)
    is_int = isinstance(f.default, int)
    if "ui_max" in meta:
        step = meta.get("step", 1 if is_int else FLOAT_STEP)
        return gr.Slider(meta["min"], meta["ui_max"], value=default, step=step, **common)
    return gr.Number(default, minimum=meta["min"], maximum=meta["max"], precision=0 if is_int else None, **common)


def request_config(named: dict[str, Any], max_seconds: float = 0.0) -> StyleConfig:
    """The StyleConfig of a request's values (None: the page's default).

    The page's default is a time budget, but a request that names a preset or a step count
    and no budget (an API client asking for "fast") gets the preset's steps, as before budgets.
    A budget over the operator's time limit (``max_seconds``, 0: none) becomes the limit: the
    page's default budget, which gradio_client also sends, must work on a server with a shorter limit.
    """
    explicit_length = named.get("preset") is not None or named.get("steps") is not None
    base = StyleConfig() if explicit_length and named.get("seconds") is None else UI_DEFAULTS
    config = StyleConfig.from_raw({name: named.get(name) for name in FIELDS}, base)
    if max_seconds and config.budgeted and config.seconds > max_seconds:
        config = config.replace(seconds=max_seconds)
    return config


def _blend_text(blend: Sequence[float]) -> str:
    return ", ".join(f"{weight:g}" for weight in blend)


def _file_path(payload: Any, role: str) -> str:
    """The server-side path of an uploaded file (the events skip Gradio's preprocessing)."""
    if isinstance(payload, dict):
        payload = payload.get("path")
    if payload is None or payload == "":
        raise StyleTransferError(f"add a {role} first (upload one or pick an example)")
    if not isinstance(payload, str):
        raise StyleTransferError(f"the {role} {_NOT_A_FILE}; got {_kind(payload)}")
    # With preprocess=False Gradio does not check that a payload's path was uploaded: a client
    # could name any file on the server. Accept only files inside Gradio's upload folder.
    path = Path(str(payload)).resolve()
    if not path.is_relative_to(Path(gr.utils.get_upload_folder()).resolve()):
        raise StyleTransferError(f"the {role} must be a file uploaded to this app (gradio_client: handle_file)")
    return str(path)


def _style_paths(style: Any, more_styles: Any) -> list[str]:
    if more_styles is not None and not isinstance(more_styles, list):
        raise StyleTransferError(f"{EXTRA_STYLES} must be a list of uploaded image files; got {_kind(more_styles)}")
    extra = more_styles or []
    return [_file_path(style, "style image")] + [_file_path(p, f"style image {i + 2}") for i, p in enumerate(extra)]


_NOT_A_FILE = 'must be an image file uploaded to this app (gradio_client: handle_file("photo.jpg"))'


def _kind(value: Any) -> str:
    """What a client sent, in a word or two, for a message (never the value itself)."""
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    return next((word for kind, word in kinds.items() if isinstance(value, kind)), type(value).__name__)


def _guard_file_inputs(demo: gr.Blocks) -> None:
    """Every file input of the app's events: a payload of the wrong shape gets a message that says so,
    and a URL is never fetched.

    Gradio checks a file payload's shape before any event function runs (even with
    preprocess=False), and raises an error whose text it does not show: the client got
    {"error": null}. It also downloads a payload naming an http(s) URL, with no size limit
    (max_file_size bounds uploads only). Both happen in the component, so both are changed there.
    """
    names: dict[int, str] = {}
    for fn in demo.fns.values():
        if fn.api_name == "stylize":
            names |= {block._id: name for block, name in zip(fn.inputs, API_PARAMETERS)}
    blocks = {block._id: block for fn in demo.fns.values() for block in fn.inputs}
    for block in blocks.values():
        if isinstance(block, (gr.Image, gr.File)):
            role = names.get(block._id, "the file")
            block.data_model = _with_clear_message(block.data_model, role)
            block.async_move_resource_to_block_cache = _without_fetching(block, role)  # type: ignore[method-assign]


def _with_clear_message(model: Any, role: str) -> Any:
    """``model`` (a component's payload model) raising gr.Error with a message instead of pydantic's."""
    many = issubclass(model, gr.data_classes.GradioRootModel)
    expected = "must be a list of image files uploaded to this app" if many else _NOT_A_FILE

    class Checked(model):  # same fields and schema: the API's description does not change
        __doc__ = model.__doc__

        @classmethod
        def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().model_validate(obj, *args, **kwargs)
            except pydantic.ValidationError:
                got = "a list holding something else" if many and isinstance(obj, list) else _kind(obj)
                raise gr.Error(f"{role} {expected}; got {got}", print_exception=False) from None

    Checked.__name__ = Checked.__qualname__ = model.__name__
    return Checked


def _without_fetching(block: Any, role: str) -> Callable[..., Any]:
    """The component's cache mover, refusing URLs: a file must be uploaded (bounded by max_file_size).

    A URL of a file already uploaded here (``.../gradio_api/file=<path in the upload folder>``,
    what an MCP client's upload tool hands back) stands for that file and is not fetched.
    """
    move = block.async_move_resource_to_block_cache

    async def move_uploads_only(url_or_file_path: Any) -> str | None:
        if isinstance(url_or_file_path, str) and gradio_client.utils.is_http_url_like(url_or_file_path):
            uploaded = _uploaded_file_of_url(url_or_file_path)
            if uploaded is None:
                raise gr.Error(
                    f"{role}: this app does not download files from URLs; upload the file instead "
                    "(gradio_client: handle_file with a local path)",
                    print_exception=False,
                )
            url_or_file_path = uploaded
        return await move(url_or_file_path)

    return move_uploads_only


def _uploaded_file_of_url(url: str) -> str | None:
    """The uploaded file a ``/gradio_api/file=`` URL names, or None if it names anything else."""
    _, marker, rest = urllib.parse.urlsplit(url).path.partition("/gradio_api/file=")
    if not marker:
        return None
    path = Path(urllib.parse.unquote(rest)).resolve()
    upload_folder = Path(gr.utils.get_upload_folder()).resolve()
    return str(path) if path.is_relative_to(upload_folder) and path.is_file() else None


# ---------------------------------------------------------------- the run


def _progress_text(frame: Frame) -> str:
    width, height = frame.size
    if frame.done:
        done = f"**Done** in {frame.elapsed:.1f} s: {frame.total} steps, {width}×{height} px."
        return f"{done} {frame.note}" if frame.note else done
    eta = "estimating time left…" if frame.eta is None else f"about {frame.eta:.0f} s left"
    return (
        f"**Step {frame.step}/{frame.total}** · scale {frame.scale}/{frame.scales} ({width}×{height} px) · "
        f"{frame.elapsed:.1f} s elapsed · {eta}"
    )


def _outputs(update: Update) -> tuple[Any, ...]:
    """What the browser gets for a preview frame: image, progress text, loss chart, download, timelapse."""
    chart = pd.DataFrame(update.chart, columns=list(CHART_COLUMNS))
    return update.image, _progress_text(update.frame), chart, update.png, update.timelapse


async def _stream(
    runner: Runner, keeper: gr.components.Component, content: str, styles: list[str], config: StyleConfig, init: Any
) -> AsyncIterator[tuple[Any, ...]]:
    """A run's outputs, then (on the last frame) the run kept for the session: None until then."""
    async for update in runner.run(content, styles, config, init_image=init):
        last_run = None
        if update.png is not None:  # the last frame: its files go when the run ends, so keep copies now
            last_run = await asyncio.to_thread(_keep_run, keeper, update, content, styles, config)
        yield (*_outputs(update), last_run)


def _keep_run(
    keeper: gr.components.Component, update: Update, content: str, styles: list[str], config: StyleConfig
) -> LastRun:
    """The finished run with its PNG and kept frames copied into the server's cache (which ages them out)."""

    def cached(path: str) -> str:
        return str(keeper.move_resource_to_block_cache(path))

    assert update.png is not None and update.frame.recipe is not None
    frames = tuple(frame.moved(cached(frame.path)) for frame in update.frames)
    return LastRun(content, tuple(styles), cached(update.png), config.size, update.frame.recipe, frames)


def _stylize_event(runner: Runner, keeper: gr.components.Component) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    """The /stylize function: named parameters (for the API page and clients), a generator (for streaming)."""

    empty = inspect.Parameter.empty

    async def stylize_event(*values: Any) -> AsyncIterator[tuple[Any, ...]]:
        named = dict(zip(STYLIZE_PARAMETERS, values))
        try:
            config = request_config(named, runner.settings.max_seconds)
            content = _file_path(named.get("content"), "content photo")
            styles = _style_paths(named.get("style"), named.get(EXTRA_STYLES))
            init = _file_path(named["init_image"], "start image") if named.get("init_image") else None
            async for outputs in _stream(runner, keeper, content, styles, config, init):
                yield outputs
        except StyleTransferError as error:
            raise gr.Error(str(error), print_exception=False) from None

    # content and style are required; every other parameter is optional (None: the control's default).
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None if index >= 2 else empty)
        for index, name in enumerate(STYLIZE_PARAMETERS)
    ]
    stylize_event.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    stylize_event.__doc__ = _stylize_doc()
    stylize_event.__name__ = stylize_event.__qualname__ = "stylize"  # the MCP tool's name
    return stylize_event


def _resume_event(runner: Runner, keeper: gr.components.Component, refine: bool) -> Callable[..., Any]:
    """Continue (more steps at the same size) or Refine (twice the size) from the session's last result.

    The last run's images, the page's other settings (so its time budget or steps); streams like Run.
    """

    async def resume_event(*values: Any) -> AsyncIterator[tuple[Any, ...]]:
        *settings, last_run = values
        try:
            if not isinstance(last_run, LastRun):
                raise StyleTransferError("run once first: Continue and Refine start from the last result")
            size = refine_size(last_run.size, runner.settings.max_size) if refine else last_run.size
            config = request_config(dict(zip(API_PARAMETERS, settings)), runner.settings.max_seconds).replace(size=size)
            async for outputs in _stream(runner, keeper, last_run.content, list(last_run.styles), config, last_run.png):
                yield outputs
        except StyleTransferError as error:
            raise gr.Error(str(error), print_exception=False) from None

    return resume_event


# ---------------------------------------------------------------- the result area


def show_live() -> tuple[Any, ...]:
    """Before a run: the live image in the result area; the history and the follow-up buttons go."""
    return gr.update(visible=True), gr.update(visible=False), gr.update(visible=False), gr.update(visible=False)


def show_frame(last_run: LastRun | None, position: float | None) -> tuple[Any, ...]:
    """A kept frame of the last run (the history slider): before/after, its caption and its PNG (recipe + step)."""
    if not isinstance(last_run, LastRun):
        return gr.skip(), gr.skip(), gr.skip()
    frame = last_run.frame(position)
    png = gr.processing_utils.save_bytes_to_cache(
        frame_png(last_run, frame), frame_file_name(frame), gr.utils.get_upload_folder()
    )
    return (last_run.content, frame.path), frame_caption(last_run, frame), png


def show_result(last_run: LastRun | None, max_size: int) -> tuple[Any, ...]:
    """After a run: before/after (photo | result) in place of the live image, the history at its last frame,
    Continue and Refine (with the size it would make)."""
    if not isinstance(last_run, LastRun):
        return (gr.skip(),) * 9
    count = len(last_run.frames)
    compare, caption, png = show_frame(last_run, count)
    try:
        refine = gr.update(value=f"Refine at 2× ({refine_size(last_run.size, max_size)} px)", interactive=True)
    except StyleTransferError:
        refine = gr.update(value=f"Refine: {last_run.size} px is this server's largest", interactive=False)
    slider = gr.update(minimum=1, maximum=max(count, 2), value=count, step=1, interactive=count > 1)
    return (
        gr.update(visible="hidden"),  # the live image stays in the page (hidden), showing the result
        gr.update(value=compare, visible=True, label="Before / after: drag the handle"),
        gr.update(visible=True),
        gr.update(visible=True),
        slider,
        caption,
        png,
        gr.update(value=f"Continue ({last_run.size} px, more steps)"),
        refine,
    )


def pick_pair(index: int) -> tuple[Any, ...]:
    """An example: fill the photo and the style; if it has a result made earlier, show it at once."""
    pair = load_pairs(PAIRS_FILE)[index]
    if pair.result is None:
        return pair.content, pair.style, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    compare = gr.update(value=(pair.content, pair.result), visible=True, label=EARLIER_RESULT)
    hidden = gr.update(visible=False)
    return pair.content, pair.style, gr.update(visible="hidden"), compare, hidden, hidden


def _stylize_doc() -> str:
    """/stylize's docstring: Gradio's API page and MCP tool schema take each parameter's description
    from its ``Args:`` line (the settings' from StyleConfig's help)."""
    files = {
        "content": "the photo to repaint: a JPEG, PNG, WebP, GIF, BMP or TIFF file uploaded to this app "
        "(gradio_client: handle_file(path); MCP: a data: URL, or the URL of a file uploaded here)",
        "style": "the painting whose manner to copy: an image file, given as content is",
        EXTRA_STYLES: "more style images (a list of files, given as content is), blended with style by style_blend",
        "init_image": "a finished result (its PNG) to start from instead of the photo: the same size continues "
        "it, a larger size refines it; the new recipe records it as the parent",
    }
    args = [
        f"    {name}: {files[name] if name in files else FIELDS[name].metadata['help']}" for name in STYLIZE_PARAMETERS
    ]
    return "\n".join(
        [
            "Stylise a photo in the manner of a painting (Gatys et al.), streaming a frame about once a second.",
            "",
            "Args:",
            *args,
            "",
            "Returns:",
            "    the picture, the progress text, the loss chart and, on the last frame, the PNG with its recipe",
            "    and an animated WebP timelapse of the run",
        ]
    )


# ---------------------------------------------------------------- UI helpers


def estimate_text(runner: Runner, *values: Any) -> str:
    """The pre-run estimate for the current inputs, or what is missing or wrong.

    Wired to every control's change without the queue (the page's line must not wait behind
    runs), so anyone can call it at any rate: it reads image headers only (Runner.check), a
    bounded amount of work per call, and any failure is a line of text, never an error.
    """
    named = dict(zip(API_PARAMETERS, values))
    if not named.get("content"):
        return NO_ESTIMATE
    try:
        config = request_config(named, runner.settings.max_seconds)
        content = _file_path(named.get("content"), "content photo")
        styles = _style_paths(named.get("style"), named.get(EXTRA_STYLES)) if named.get("style") else []
        asked = request_config(named).seconds
        estimate = runner.check(content, styles, config)
    except StyleTransferError as error:
        return f"⚠️ {error}"
    except Exception:  # a bug, not the input: logged, and the page keeps working
        log.exception("estimate failed")
        return "⚠️ no estimate for these inputs"
    sizes = " → ".join(f"{w}×{h}" for (w, h), _ in estimate.plan)
    cut = ": this server's limit" if config.budgeted and asked > config.seconds else ""
    budget = f" (a {config.seconds:g} s time budget{cut})" if config.budgeted else ""
    line = f"**Estimate:** {estimate.describe()}{budget} · {estimate.steps} steps at {sizes} px"
    if runner.over_time_limit(estimate):
        limit = runner.settings.max_seconds
        line += f" · longer than this server's limit of {limit:g} s: the run will be cut to end within it"
    return line


def settings_from_recipe(recipe_file: Any) -> list[Any]:
    """Control values from a PNG written by this app (or the CLI), in ADVANCED+MAIN order."""
    try:
        config = config_from_recipe(read_recipe(_file_path(recipe_file, "recipe PNG")))
    except StyleTransferError as error:
        raise gr.Error(str(error), print_exception=False) from None
    values = config.to_dict()
    gr.Info("Settings loaded from the recipe. Add the style image(s) and press Run.")
    return [
        _blend_text(values[name]) if name == "style_blend" else values[name] for name in MAIN_FIELDS + ADVANCED_FIELDS
    ]


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
        _layout(runner)
    # max_size: waiting + running jobs; beyond it visitors are told at once that the queue is full.
    # api_open=False: a queued event (/stylize) cannot be run by a direct POST to /gradio_api/run/...,
    # which would skip the queue's size and concurrency limits.
    _guard_file_inputs(demo)
    return demo.queue(
        max_size=runner.settings.queue_size, default_concurrency_limit=runner.settings.concurrency, api_open=False
    )


def _layout(runner: Runner) -> None:
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
        inputs[name] = _control(name)
    with gr.Accordion("Advanced", open=False):
        inputs[EXTRA_STYLES] = gr.File(
            label="More style images (blended with the style above)", file_count="multiple", file_types=["image"]
        )
        for name in ADVANCED_FIELDS:
            inputs[name] = _control(name)
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
    pairs = load_pairs(PAIRS_FILE)
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
    live = [outputs[name] for name in ("image", "compare", "history", "follow_up")]
    shown = [*live, *(outputs[name] for name in ("scrubber", "frame_info", "frame_png", "continue", "refine"))]
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    # preprocess=False: the engine opens the uploads itself, so a bad file gets its message, not Gradio's.
    stream: dict[str, Any] = {"outputs": streamed, "preprocess": False, "concurrency_id": "stylize"}
    runs = [
        run.click(show_live, outputs=live, queue=False, **private).then(
            _stylize_event(runner, outputs["scrubber"]),
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
                _resume_event(runner, outputs["scrubber"], refine),
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
            *(outputs[name] for name in ("image", "compare", "history", "follow_up")),
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
