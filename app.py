"""Gradio app: neural style transfer (Gatys et al.) streamed to the browser frame by frame.

Layout, events and the queue only; every number lives in ``style_transfer`` (the
controls are derived from ``StyleConfig``'s field metadata). Run ``python app.py``
(``--share`` for a share link); the weights come from ``STYLE_TRANSFER_WEIGHTS``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import json
import logging
import math
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import pandas as pd

from style_transfer import (
    Frame,
    StyleConfig,
    StyleTransferError,
    WeightsInfo,
    config_from_recipe,
    read_recipe,
    save_png,
    stylize,
)
from style_transfer.engine import warm_up
from style_transfer.estimate import estimate_run
from style_transfer.image import upright_size
from style_transfer.settings import OperatorSettings
from style_transfer.weights import UNTRAINED_WARNING

log = logging.getLogger("style_transfer.app")

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
# Gradio removes cached files older than an hour, checking every ten minutes.
DELETE_CACHE = (600, 3600)
CHART_MAX_STEPS = 400  # the loss chart keeps at most this many steps (evenly thinned) to stay light

FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}
MAIN_FIELDS = ("size", "preset", "style_strength", "preserve_color")
ADVANCED_FIELDS = tuple(name for name in FIELDS if name not in MAIN_FIELDS)
EXTRA_STYLES = "more_styles"  # extra style images, blended by style_blend; listed just before it
# The /stylize parameters, in order: content, style, size, preset, then the rest.
API_PARAMETERS = ("content", "style", *MAIN_FIELDS, *ADVANCED_FIELDS)
API_PARAMETERS = API_PARAMETERS[: API_PARAMETERS.index("style_blend")] + (
    EXTRA_STYLES,
    *API_PARAMETERS[API_PARAMETERS.index("style_blend") :],
)
LABELS = {
    "size": "Output size (long side, px)",
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
#presets .thumbnail-item { cursor: pointer; }
#result img { width: 100%; height: 100%; object-fit: contain; }  /* early, small frames fill the box */
footer { visibility: hidden; }
"""


class RunMonitor:
    """Runs in flight and engine steps consumed, for logs, tests and load tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = self.started = self.finished = self.steps = 0

    def start(self) -> None:
        with self._lock:
            self.active += 1
            self.started += 1

    def step(self) -> None:
        with self._lock:
            self.steps += 1

    def end(self) -> None:
        with self._lock:
            self.active -= 1
            self.finished += 1


RUNS = RunMonitor()


# ---------------------------------------------------------------- settings from the controls


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _control(name: str) -> gr.components.Component:
    """One input control for a StyleConfig field, with range, default and help from its metadata."""
    f = FIELDS[name]
    meta, default = f.metadata, f.default
    common: dict[str, Any] = {"label": _label(name), "info": meta["help"], "elem_id": f"control-{name}"}
    if isinstance(default, tuple) and "choices" in meta:
        return gr.CheckboxGroup(list(meta["choices"]), value=list(default), **common)
    if "choices" in meta:
        return gr.Radio(list(meta["choices"]), value=default, **common)
    if isinstance(default, tuple):
        return gr.Textbox(_blend_text(default), placeholder="e.g. 2, 1 (empty: equal)", **common)
    is_int = isinstance(default, int)
    if "ui_max" in meta:
        step = meta.get("step", 1 if is_int else FLOAT_STEP)
        return gr.Slider(meta["min"], meta["ui_max"], value=default, step=step, **common)
    return gr.Number(default, minimum=meta["min"], maximum=meta["max"], precision=0 if is_int else None, **common)


def _blend_text(blend: Sequence[float]) -> str:
    return ", ".join(f"{weight:g}" for weight in blend)


def _file_path(payload: Any, role: str) -> str:
    """The server-side path of an uploaded file (the events skip Gradio's preprocessing)."""
    if isinstance(payload, dict):
        payload = payload.get("path")
    if not payload:
        raise StyleTransferError(f"add a {role} first (upload one or pick an example)")
    # With preprocess=False Gradio does not check that a payload's path was uploaded: a client
    # could name any file on the server. Accept only files inside Gradio's upload folder.
    path = Path(str(payload)).resolve()
    if not path.is_relative_to(Path(gr.utils.get_upload_folder()).resolve()):
        raise StyleTransferError(f"the {role} must be a file uploaded to this app (gradio_client: handle_file)")
    return str(path)


def _style_paths(style: Any, more_styles: Any) -> list[str]:
    extra = more_styles if isinstance(more_styles, list) else [more_styles] if more_styles else []
    return [_file_path(style, "style image")] + [_file_path(p, f"style image {i + 2}") for i, p in enumerate(extra)]


# ---------------------------------------------------------------- the run


def _progress_text(frame: Frame) -> str:
    width, height = frame.size
    if frame.done:
        return f"**Done** in {frame.elapsed:.1f} s: {frame.total} steps, {width}×{height} px."
    eta = "estimating time left…" if frame.eta is None else f"about {frame.eta:.0f} s left"
    return (
        f"**Step {frame.step}/{frame.total}** · scale {frame.scale}/{frame.scales} ({width}×{height} px) · "
        f"{frame.elapsed:.1f} s elapsed · {eta}"
    )


def _chart(rows: list[dict[str, Any]]) -> pd.DataFrame:
    steps = sorted({row["step"] for row in rows})
    if len(steps) > CHART_MAX_STEPS:  # keep the chart light on long runs: every k-th step and the last
        keep = set(steps[:: -(-len(steps) // CHART_MAX_STEPS)]) | {steps[-1]}
        rows = [row for row in rows if row["step"] in keep]
    return pd.DataFrame(rows, columns=["step", "log10 loss", "term"])


def _chart_rows(frame: Frame) -> list[dict[str, Any]]:
    return [
        {"step": frame.step, "log10 loss": math.log10(value), "term": term}
        for term, value in frame.losses.items()
        if value > 0 and math.isfinite(value)  # a log scale: content loss is exactly 0 on the first step
    ]


def _stream(frames: Iterator[Frame], stop: threading.Event, staging: Path) -> Iterator[tuple[Any, ...]]:
    """(image, progress, loss chart, download) for each preview frame; ends after any step once ``stop`` is set."""
    rows: list[dict[str, Any]] = []
    for frame in frames:
        RUNS.step()
        if stop.is_set():
            return
        rows += _chart_rows(frame)
        if frame.image is None:
            continue  # frames come every step; the browser gets those with a preview (about one a second)
        download = None
        image: Any = frame.image
        if frame.done and frame.recipe is not None:
            download = str(staging / f"stylized_{frame.size[0]}x{frame.size[1]}.png")
            save_png(frame.image, download, frame.recipe)
            image = download  # the shown image is that same PNG, so its own download button keeps the recipe
        yield image, _progress_text(frame), _chart(rows), download


class _Run:
    """One engine run on a thread of its own, relaying its outputs to the event's async generator.

    Why not a plain generator: Gradio can close a sync generator only once its current
    ``next()`` returns, here at the next preview (a second or more). An async generator
    waiting on this queue is cancelled at once by Stop or ``job.cancel()``; it sets
    ``stop``, which the thread checks after every engine step.
    """

    def __init__(self, frames: Iterator[Frame]) -> None:
        self.stop = threading.Event()
        # The final PNG is written here, outside Gradio's cache: Gradio copies what it sends into its
        # cache (and delete_cache ages it out), and this folder goes as soon as the run ends.
        self.staging = Path(tempfile.mkdtemp(prefix="stylized-"))
        self.outputs: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._work, args=(frames,), name="stylize-run", daemon=True).start()

    def _work(self, frames: Iterator[Frame]) -> None:
        RUNS.start()
        outcome = "finished"
        try:
            for output in _stream(frames, self.stop, self.staging):
                self._send("frame", output)
            self._send("end", None)
        except Exception as error:  # handed over to the event, which raises it there
            outcome = f"failed ({type(error).__name__})"
            self._send("error", error)
        finally:
            frames.close()  # the engine's finally: frees the run's tensors
            RUNS.end()
            if self.stop.is_set() and outcome == "finished":
                outcome = "stopped (Stop, cancel or a closed tab)"
            log.info("run %s; %d run(s) still active", outcome, RUNS.active)

    def _send(self, kind: str, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self.outputs.put_nowait, (kind, item))
        except RuntimeError:  # the server's event loop has closed: nobody is listening
            self.stop.set()


def _start(settings: OperatorSettings, values: dict[str, Any]) -> Iterator[Frame]:
    """The engine's generator for these values; it validates them now (StyleTransferError)."""
    config = StyleConfig.from_raw({name: values.get(name) for name in FIELDS if name in values})
    content = _file_path(values.get("content"), "content photo")
    styles = _style_paths(values.get("style"), values.get(EXTRA_STYLES))
    return stylize(content, styles, config, settings=settings)


async def run_stylize(settings: OperatorSettings, values: dict[str, Any]) -> AsyncIterator[tuple[Any, ...]]:
    """Stream (image, progress, loss chart, download) for each preview frame of one run."""
    try:
        frames = await anyio.to_thread.run_sync(_start, settings, values)
    except StyleTransferError as error:
        raise gr.Error(str(error), print_exception=False) from None
    run = _Run(frames)
    try:
        while True:
            kind, item = await run.outputs.get()
            if kind == "end":
                return
            if isinstance(item, StyleTransferError):
                raise gr.Error(str(item), print_exception=False) from None
            if kind == "error":
                raise item
            yield item
    finally:
        # Reached at the end, on Stop / job.cancel() (CancelledError) and when the tab closes.
        run.stop.set()
        shutil.rmtree(run.staging, ignore_errors=True)  # Gradio has copied what it sent into its cache


def _stylize_event(settings: OperatorSettings):
    """The /stylize function: named parameters (for the API page and clients), a generator (for streaming)."""

    empty = inspect.Parameter.empty

    async def stylize_event(*values: Any) -> AsyncIterator[tuple[Any, ...]]:
        async for output in run_stylize(settings, dict(zip(API_PARAMETERS, values))):
            yield output

    # content and style are required; every other parameter is optional (None: the control's default).
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None if index >= 2 else empty)
        for index, name in enumerate(API_PARAMETERS)
    ]
    stylize_event.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return stylize_event


# ---------------------------------------------------------------- UI helpers


def estimate_text(settings: OperatorSettings, *values: Any) -> str:
    """The pre-run estimate for the current inputs, or what is missing or wrong."""
    named = dict(zip(API_PARAMETERS, values))
    if not named.get("content"):
        return NO_ESTIMATE
    try:
        config = StyleConfig.from_raw({name: named.get(name) for name in FIELDS})
        path = _file_path(named.get("content"), "content photo")
        size = upright_size(path)
        plan = config.scales(size)
    except StyleTransferError as error:
        return f"⚠️ {error}"
    except OSError:
        return "⚠️ the content photo cannot be read as an image"
    sizes = " → ".join(f"{w}×{h}" for (w, h), _ in plan)
    estimate = estimate_run(config, size, settings.precision).describe()
    return f"**Estimate:** {estimate} · {config.total_steps} steps at {sizes} px"


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


def _pairs() -> tuple[list[list[str]], list[str]]:
    pairs = json.loads((EXAMPLES_DIR / "pairs.json").read_text())
    examples = [[str(EXAMPLES_DIR / p["content"]), str(EXAMPLES_DIR / p["style"])] for p in pairs]
    return examples, [p["title"] for p in pairs]


def _style_presets() -> list[tuple[str, str]]:
    return [(str(p), p.stem.removeprefix("style_").replace("_", " ")) for p in sorted(EXAMPLES_DIR.glob("style_*.jpg"))]


def _untrained_banner(info: WeightsInfo) -> None:
    if info.untrained:
        gr.Markdown(f"⚠️ **Demo weights.** {UNTRAINED_WARNING}", elem_classes="banner-untrained")


# ---------------------------------------------------------------- layout


def build_demo(weights: str | None = None, queue_size: int | None = None, concurrency: int | None = None) -> gr.Blocks:
    """The app, queued. Loads the network and traces its step now, once per process, so no request pays for it.

    The operator's settings come from the environment, read once here; the arguments override them.
    """
    given = {"weights": weights, "queue_size": queue_size, "concurrency": concurrency}
    settings = OperatorSettings.from_env().replace(**{k: v for k, v in given.items() if v is not None})
    info = warm_up(settings)
    with gr.Blocks(title="Neural style transfer", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(TITLE)
        gr.Markdown(INTRO)
        _untrained_banner(info)
        _layout(settings)
    # max_size: waiting + running jobs; beyond it visitors are told at once that the queue is full.
    return demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)


def _layout(settings: OperatorSettings) -> None:
    inputs: dict[str, gr.components.Component] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            _inputs_panel(inputs)
        with gr.Column(scale=6):
            outputs = _outputs_panel()
            with gr.Row():
                run = gr.Button("Run", variant="primary", size="lg", scale=3, elem_id="run")
                stop = gr.Button("Stop", variant="stop", size="lg", scale=1, elem_id="stop")
    _examples(inputs)
    _wire(settings, inputs, outputs, run, stop)


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


def _outputs_panel() -> dict[str, gr.components.Component]:
    return {
        "image": gr.Image(
            label="Result",
            format="png",
            interactive=False,
            height=420,
            buttons=["download", "fullscreen"],
            elem_id="result",
        ),
        "progress": gr.Markdown("Press **Run** to start.", elem_id="progress"),
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
        "download": gr.DownloadButton("Download PNG (settings included)", variant="secondary"),
    }


def _examples(inputs: dict[str, gr.components.Component]) -> None:
    examples, titles = _pairs()
    gr.Examples(
        examples,
        inputs=[inputs["content"], inputs["style"]],
        example_labels=titles,
        label="Examples: click one to fill the photo and the style",
        cache_examples=False,  # only fill the inputs: a cached run would not stream (Spaces caches by default)
        examples_per_page=len(examples),
    )


def _wire(settings: OperatorSettings, inputs: dict, outputs: dict, run: gr.Button, stop: gr.Button) -> None:
    api_inputs = [inputs[name] for name in API_PARAMETERS]
    run_event = run.click(
        _stylize_event(settings),
        inputs=api_inputs,
        outputs=[outputs["image"], outputs["progress"], outputs["chart"], outputs["download"]],
        api_name="stylize",
        api_description="Stylise `content` in the manner of `style`; yields a frame about once a second, "
        "the last one a PNG with the settings (recipe) in its metadata.",
        preprocess=False,  # the engine opens the uploads itself, so a bad file gets its message, not Gradio's
        show_progress="minimal",
        concurrency_id="stylize",
    )
    stop.click(None, cancels=[run_event], api_visibility="private")
    gr.on(
        [control.change for control in api_inputs],
        lambda *values: estimate_text(settings, *values),
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
    inputs["recipe"].upload(
        settings_from_recipe,
        inputs=inputs["recipe"],
        outputs=[inputs[name] for name in MAIN_FIELDS + ADVANCED_FIELDS],
        preprocess=False,
        api_visibility="private",
    )


def _pick_preset(selection: gr.SelectData) -> str:
    return _style_presets()[selection.index][0]


# ---------------------------------------------------------------- launching


def launch_options() -> dict[str, Any]:
    """What main() passes to launch() besides --share; tests launch with the same look."""
    return {"theme": THEME, "css": CSS, "allowed_paths": [str(EXAMPLES_DIR)]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also serve through a temporary public gradio.live link")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = build_demo()
    # Host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, default 127.0.0.1:7860 (Gradio reads them).
    demo.launch(share=args.share, **launch_options())


if __name__ == "__main__":
    main()
