"""The app's events and what the browser gets from them.

/stylize (the page's Run and the public API), Continue and Refine turn a request's values into a
StyleConfig and file paths (requests.py), stream the Runner's frames as the browser's outputs and
keep the finished run for the session; then the result area (before/after, history), an example's
pictures, the estimate line and a recipe's settings. layout.py lays out the page and wiring.py wires
these to it; the plain helpers on plain data are in results.py, which does not import gradio.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from .. import limits
from ..config import StyleConfig
from ..engine import Frame
from ..errors import StyleTransferError
from ..recipe import config_from_recipe, read_recipe
from ..service.runner import CHART_COLUMNS, Runner, Update
from . import brush
from .requests import (
    ADVANCED_FIELDS,
    ESTIMATE_PARAMETERS,
    EXTRA_STYLES,
    LATE_FIELDS,
    MAIN_FIELDS,
    PAGE_SETTINGS,
    STYLIZE_PARAMETERS,
    blend_text,
    file_path,
    request_config,
    style_paths,
    stylize_doc,
)
from .results import (
    EARLIER_RESULT,
    EXAMPLES_DIR,
    LastRun,
    frame_caption,
    frame_file_name,
    frame_png,
    load_pairs,
    refine_size,
)

log = logging.getLogger("app")  # the app's log, as before these functions left app.py

PAIRS_FILE = EXAMPLES_DIR / "pairs.json"  # the example pairs (title, content, style and an optional result)
NO_ESTIMATE = "Add a content photo to see how long a run will take."


def progress_text(frame: Frame) -> str:
    width, height = frame.size
    if frame.done:
        done = f"**Done** in {frame.elapsed:.1f} s: {frame.total} steps, {width}×{height} px."
        return f"{done} {frame.note}" if frame.note else done
    eta = "estimating time left…" if frame.eta is None else f"about {frame.eta:.0f} s left"
    return (
        f"**Step {frame.step}/{frame.total}** · scale {frame.scale}/{frame.scales} ({width}×{height} px) · "
        f"{frame.elapsed:.1f} s elapsed · {eta}"
    )


def frame_outputs(update: Update) -> tuple[Any, ...]:
    """What the browser gets for a preview frame: image, progress text, loss chart, download, timelapse."""
    chart = pd.DataFrame(update.chart, columns=list(CHART_COLUMNS))
    return update.image, progress_text(update.frame), chart, update.png, update.timelapse


def keep_run(
    keeper: gr.components.Component,
    update: Update,
    content: str,
    styles: list[str],
    config: StyleConfig,
    mask: str | None = None,
) -> LastRun:
    """The finished run with its PNG and kept frames copied into the server's cache (which ages them out)."""

    def cached(path: str) -> str:
        return str(keeper.move_resource_to_block_cache(path))

    assert update.png is not None and update.frame.recipe is not None
    frames = tuple(dataclasses.replace(frame, path=cached(frame.path)) for frame in update.frames)
    timelapse = cached(update.timelapse) if update.timelapse else None
    recipe = update.frame.recipe
    return LastRun(content, tuple(styles), cached(update.png), config.size, recipe, frames, timelapse, mask)


# ---------------------------------------------------------------- the runs


async def stream_run(
    runner: Runner,
    keeper: gr.components.Component,
    content: str,
    styles: list[str],
    config: StyleConfig,
    init: Any,
    parent: dict[str, Any] | None = None,
    mask: str | None = None,
) -> AsyncGenerator[tuple[Any, ...], None]:
    """A run's outputs, then (on the last frame) the run kept for the session: None until then.

    ``parent``: the start image's recipe when it is in memory (Continue, Refine), so it is not read back.
    """
    # Each layer closes the one it reads (aclosing): Gradio closes the outermost at a yield when a run
    # is stopped or unread, and only this chain of closes reaches the engine's thread.
    async with contextlib.aclosing(runner.run(content, styles, config, init, parent, mask)) as updates:
        async for update in updates:
            last_run = None
            if update.png is not None:  # the last frame: its files go when the run ends, so keep copies now
                last_run = await asyncio.to_thread(keep_run, keeper, update, content, styles, config, mask)
            yield (*frame_outputs(update), last_run)


def stylize_function(runner: Runner, keeper: gr.components.Component) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    """The /stylize function: named parameters (for the API page and clients), a generator (for streaming)."""

    empty = inspect.Parameter.empty

    async def stylize_event(*values: Any) -> AsyncGenerator[tuple[Any, ...], None]:
        named = dict(zip(STYLIZE_PARAMETERS, values))
        try:
            config = request_config(named)
            content = file_path(named.get("content"), "content photo")
            styles = style_paths(named.get("style"), named.get(EXTRA_STYLES))
            init = file_path(named["init_image"], "start image") if named.get("init_image") else None
            mask = file_path(named["mask"], "mask") if named.get("mask") else None
            async with contextlib.aclosing(stream_run(runner, keeper, content, styles, config, init, mask=mask)) as run:
                async for outputs in run:
                    yield outputs
        except StyleTransferError as error:
            raise gr.Error(str(error), print_exception=False) from None

    # content and style are required; every other parameter is optional (None: the control's default).
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None if index >= 2 else empty)
        for index, name in enumerate(STYLIZE_PARAMETERS)
    ]
    stylize_event.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    stylize_event.__doc__ = stylize_doc()
    stylize_event.__name__ = stylize_event.__qualname__ = "stylize"  # the MCP tool's name
    return stylize_event


def resume_function(runner: Runner, keeper: gr.components.Component, refine: bool) -> Callable[..., Any]:
    """Continue (more steps at the same size) or Refine (twice the size) from the session's last result.

    The last run's images and mask, the page's other settings (so its time budget or steps); streams like Run.
    """

    async def resume_event(*values: Any) -> AsyncGenerator[tuple[Any, ...], None]:
        *settings, last_run = values
        try:
            if not isinstance(last_run, LastRun):
                raise StyleTransferError("run once first: Continue and Refine start from the last result")
            size = refine_size(last_run.size, runner.settings.max_size) if refine else last_run.size
            config = request_config(dict(zip(PAGE_SETTINGS, settings))).replace(size=size)
            styles = list(last_run.styles)
            run = stream_run(
                runner, keeper, last_run.content, styles, config, last_run.png, last_run.recipe, last_run.mask
            )
            async with contextlib.aclosing(run):
                async for outputs in run:
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
    """An example: fill the photo, the style and the brush (the example's mask, else nothing painted); if it
    has a result made earlier, show it at once. The brush's files are copies in the server's cache, as
    every file the brush's helpers read must be."""
    pair = load_pairs(PAIRS_FILE)[index]
    layers = [_cached(brush.mask_layer_from_file(pair.mask), "layer.png")] if pair.mask else []
    photo = _cached(Path(pair.content).read_bytes(), Path(pair.content).name)
    editor = {"background": photo, "layers": layers, "composite": None}
    if pair.result is None:
        return pair.content, pair.style, editor, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    compare = gr.update(value=(pair.content, pair.result), visible=True, label=EARLIER_RESULT)
    hidden = gr.update(visible=False)
    return pair.content, pair.style, editor, gr.update(visible="hidden"), compare, hidden, hidden


# ---------------------------------------------------------------- the estimate and a recipe's settings


def estimate_text(runner: Runner, *values: Any) -> str:
    """The pre-run estimate for the current inputs, or what is missing or wrong.

    Wired to every control's change without the queue (the page's line must not wait behind
    runs), so anyone can call it at any rate: it reads image headers only (Runner.check), a
    bounded amount of work per call, and any failure is a line of text, never an error.
    """
    named = dict(zip(ESTIMATE_PARAMETERS, values))
    if not named.get("content"):
        return NO_ESTIMATE
    try:
        asked = request_config(named)
        content = file_path(named.get("content"), "content photo")
        styles = style_paths(named.get("style"), named.get(EXTRA_STYLES)) if named.get("style") else []
        mask = file_path(named["mask"], "mask") if named.get("mask") else None
        run_plan = runner.check(content, styles, asked, mask)
    except StyleTransferError as error:
        return f"⚠️ {error}"
    except Exception:  # a bug, not the input: logged, and the page keeps working
        log.exception("estimate failed")
        return "⚠️ no estimate for these inputs"
    sizes = " → ".join(f"{w}×{h}" for (w, h), _ in run_plan.scales)
    config = limits.with_time_limit(asked, runner.settings)
    cut = ": this server's limit" if limits.budget_cut(asked, runner.settings) else ""
    budget = f" (a {config.seconds:g} s time budget{cut})" if config.budgeted else ""
    line = f"**Estimate:** {run_plan.describe()}{budget} · {run_plan.steps} steps at {sizes} px"
    line += regions_text(mask is not None, max(len(styles), 1), asked.keep_faces)
    overrun = limits.over_time_limit(run_plan.seconds, runner.settings)
    return f"{line} · {overrun}" if overrun else line


def regions_text(masked: bool, styles: int, keep_faces: bool) -> str:
    """What the estimate line says of the regions (their cost is in its time and memory)."""
    parts = []
    if masked:
        parts.append("a mask: 2 styles, one per region" if styles >= 2 else "a mask: the style where painted")
    if keep_faces:
        parts.append("faces kept")
    return "".join(f" · {part}" for part in parts)


def settings_from_recipe(recipe_file: Any) -> list[Any]:
    """Control values from a PNG written by this app (or the CLI), in MAIN + ADVANCED + LATE order."""
    try:
        config = config_from_recipe(read_recipe(file_path(recipe_file, "recipe PNG")))
    except StyleTransferError as error:
        raise gr.Error(str(error), print_exception=False) from None
    values = config.to_dict()
    gr.Info("Settings loaded from the recipe. Add the style image(s) and press Run.")
    return [
        blend_text(values[name]) if name == "style_blend" else values[name]
        for name in MAIN_FIELDS + ADVANCED_FIELDS + LATE_FIELDS
    ]


# ---------------------------------------------------------------- the brush (brush.py)


def _cached(data: bytes, name: str) -> str:
    return str(gr.processing_utils.save_bytes_to_cache(data, name, gr.utils.get_upload_folder()))


def _layer_paths(editor: Any) -> list[str]:
    """The brush layers' files of an editor payload (uploads of this app only), or none."""
    if not isinstance(editor, dict):
        return []
    layers = editor.get("layers") or []
    if not isinstance(layers, list):
        raise StyleTransferError("the brush's layers must be a list of image files")
    return [file_path(layer, "brush layer") for layer in layers[: brush.MAX_LAYERS + 1]]


def photo_in_editor(runner: Runner, content: Any) -> Any:
    """A new photo: the brush shows it with nothing painted (a photo's mask does not fit another)."""
    if not content:
        return None
    try:
        path = file_path(content, "content photo")
        photo = _cached(brush.editor_photo(path, runner.settings.input_limits), "photo.jpg")
    except StyleTransferError:
        return None  # the run will say what is wrong with the photo
    return {"background": photo, "layers": [], "composite": None}


def mask_from_editor(runner: Runner, editor: Any, content: Any, style_count: int) -> tuple[Any, str]:
    """The mask /stylize gets from the brush (None: nothing, or everything, painted) and the line under it."""
    try:
        covered = brush.painted(_layer_paths(editor), runner.settings.input_limits)
        if covered is None or not covered.is_region or not content:
            return None, brush.summary(covered, style_count)
        size = brush.photo_size(file_path(content, "content photo"), runner.settings.input_limits)
        return _cached(brush.mask_bytes(covered.pixels, size), "mask.png"), brush.summary(covered, style_count)
    except StyleTransferError as error:
        return None, f"⚠️ {error}"


def invert_editor(runner: Runner, editor: Any) -> Any:
    """Invert: the brush paints what it did not, and nothing of what it did."""
    if not isinstance(editor, dict) or not editor.get("background"):
        raise gr.Error("add a photo first: the brush paints over it", print_exception=False)
    limits = runner.settings.input_limits
    try:
        background = file_path(editor["background"], "brush's photo")
        covered = brush.painted(_layer_paths(editor), limits)
        pixels = covered.pixels if covered is not None else brush.nothing_painted(background, limits)
    except StyleTransferError as error:
        raise gr.Error(str(error), print_exception=False) from None
    layer = _cached(brush.layer_bytes(~pixels), "layer.png")
    return {"background": background, "layers": [layer], "composite": None}


def style_count(more_styles: Any) -> int:
    """The page's style images: the style, and the extra ones (any payload that is not a list: none)."""
    return 1 + (len(more_styles) if isinstance(more_styles, list) else 0)
