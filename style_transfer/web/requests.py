"""What a request to the app is, and how its raw values become a StyleConfig and file paths.

The control names (StyleConfig's fields, in the page's and /stylize's order), the page's defaults,
one input control per field (range, default and help from its metadata),
the payload checks (an upload of this app, never a URL, a message when the shape is wrong) and
/stylize's docstring. layout.py builds the controls and wiring.py wires the events from these names;
gradio_patches.py holds what changes Gradio's own handling of file payloads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from .. import faces
from ..config import StyleConfig
from ..errors import StyleTransferError

FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}
# The page's defaults: StyleConfig's, except where a field names a ui_default (the 30 s time budget).
# The controls start at StyleConfig's, which gradio_client sends for every parameter a call leaves out,
# so an API call that names a preset gets its steps as before budgets; the page sets these on load.
PAGE_ONLY_DEFAULTS = {
    n: f.metadata["ui_default"]
    for n, f in FIELDS.items()
    if "ui_default" in f.metadata and (n != "keep_faces" or faces.available())  # kept faces need the detector
}
UI_DEFAULTS = StyleConfig().replace(**PAGE_ONLY_DEFAULTS)
MAIN_FIELDS = ("size", "preset", "seconds", "style_strength", "preserve_color")
# Settings added after /stylize's first release: its parameters after the older ones (and after init_image),
# so that positional clients keep working. keep_faces is by the mask's brush on the page, the other in Advanced.
LATE_FIELDS = ("recolour", "second_style_scale", "keep_faces")
ADVANCED_FIELDS = tuple(name for name in FIELDS if name not in MAIN_FIELDS and name not in LATE_FIELDS)
EXTRA_STYLES = "more_styles"  # extra style images, blended by style_blend; listed just before it
# The /stylize parameters, in order: content, style, size, preset, then the rest.
API_PARAMETERS = ("content", "style", *MAIN_FIELDS, *ADVANCED_FIELDS)
API_PARAMETERS = API_PARAMETERS[: API_PARAMETERS.index("style_blend")] + (
    EXTRA_STYLES,
    *API_PARAMETERS[API_PARAMETERS.index("style_blend") :],
)
# /stylize takes more, after those so that positional clients keep working: a start image (Continue / Refine),
# then recolour, then the regions' settings, mask and keep_faces last (all new in the same release).
STYLIZE_PARAMETERS = (*API_PARAMETERS, "init_image", "recolour", "second_style_scale", "mask", "keep_faces")
# The page's settings controls (what Continue and Refine read besides the last run), and what the estimate reads.
PAGE_SETTINGS = (*API_PARAMETERS, *LATE_FIELDS)
ESTIMATE_PARAMETERS = (*PAGE_SETTINGS, "mask")
LABELS = {
    "size": "Output size (long side, px)",
    "seconds": "Time budget (s; 0: the preset's steps)",
    "preset": "Quality",
    "preserve_color": "Preserve colour",
    "tv_weight": "Smoothness (TV weight)",
    "style_blend": "Blend weights",
    "preview_every": "Preview every N steps",
    "keep_faces": "Keep faces",
    "second_style_scale": "Second style's scale (with a mask)",
    "recolour": "Recolour the photo to the painting's palette first",
}

FLOAT_STEP = 0.01  # slider resolution for float knobs (a UI choice, not a setting)


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def control(name: str) -> gr.components.Component:
    """One input control for a StyleConfig field, with range, default and help from its metadata."""
    f = FIELDS[name]
    meta, default = f.metadata, getattr(StyleConfig(), name)
    common: dict[str, Any] = {"label": label(name), "info": meta["help"], "elem_id": f"control-{name}"}
    if isinstance(default, bool):
        return gr.Checkbox(value=default, **common)
    if isinstance(default, tuple) and "choices" in meta:
        return gr.CheckboxGroup(list(meta["choices"]), value=list(default), **common)
    if "choices" in meta:
        return gr.Radio(list(meta["choices"]), value=default, **common)
    if isinstance(default, tuple):
        return gr.Textbox(blend_text(default), placeholder="e.g. 2, 1 (empty: equal)", **common)
    is_int = isinstance(f.default, int)
    if "ui_max" in meta:
        step = meta.get("step", 1 if is_int else FLOAT_STEP)
        return gr.Slider(meta["min"], meta["ui_max"], value=default, step=step, **common)
    return gr.Number(default, minimum=meta["min"], maximum=meta["max"], precision=0 if is_int else None, **common)


def request_config(named: dict[str, Any]) -> StyleConfig:
    """The StyleConfig of a request's values (None: the page's default).

    The page's default is a time budget, but a request that names a preset or a step count
    and no budget (an API client asking for "fast") gets the preset's steps, as before budgets.
    The operator's time limit applies later, in the engine (limits.with_time_limit).
    """
    explicit_length = named.get("preset") is not None or named.get("steps") is not None
    base = StyleConfig() if explicit_length and named.get("seconds") is None else UI_DEFAULTS
    return StyleConfig.from_raw({name: named.get(name) for name in FIELDS}, base)


def blend_text(blend: Sequence[float]) -> str:
    return ", ".join(f"{weight:g}" for weight in blend)


def file_path(payload: Any, role: str) -> str:
    """The server-side path of an uploaded file (the events skip Gradio's preprocessing)."""
    if isinstance(payload, dict):
        payload = payload.get("path")
    if payload is None or payload == "":
        raise StyleTransferError(f"add a {role} first (upload one or pick an example)")
    if not isinstance(payload, str):
        raise StyleTransferError(f"the {role} {NOT_A_FILE}; got {kind_of(payload)}")
    # With preprocess=False Gradio does not check that a payload's path was uploaded: a client
    # could name any file on the server. Accept only files inside Gradio's upload folder.
    path = Path(str(payload)).resolve()
    if not path.is_relative_to(Path(gr.utils.get_upload_folder()).resolve()):
        raise StyleTransferError(f"the {role} must be a file uploaded to this app (gradio_client: handle_file)")
    return str(path)


def style_paths(style: Any, more_styles: Any) -> list[str]:
    if more_styles is not None and not isinstance(more_styles, list):
        raise StyleTransferError(f"{EXTRA_STYLES} must be a list of uploaded image files; got {kind_of(more_styles)}")
    extra = more_styles or []
    return [file_path(style, "style image")] + [file_path(p, f"style image {i + 2}") for i, p in enumerate(extra)]


NOT_A_FILE = 'must be an image file uploaded to this app (gradio_client: handle_file("photo.jpg"))'


def kind_of(value: Any) -> str:
    """What a client sent, in a word or two, for a message (never the value itself)."""
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    return next((word for kind, word in kinds.items() if isinstance(value, kind)), type(value).__name__)


def stylize_doc() -> str:
    """/stylize's docstring: Gradio's API page and MCP tool schema take each parameter's description
    from its ``Args:`` line (the settings' from StyleConfig's help)."""
    files = {
        "content": "the photo to repaint: a JPEG, PNG, WebP, GIF, BMP or TIFF file uploaded to this app "
        "(gradio_client: handle_file(path); MCP: a data: URL, or the URL of a file uploaded here)",
        "style": "the painting whose manner to copy: an image file, given as content is",
        EXTRA_STYLES: "more style images (a list of files, given as content is), blended with style by style_blend",
        "init_image": "a finished result (its PNG) to start from instead of the photo: the same size continues "
        "it, a larger size refines it; the new recipe records it as the parent",
        "mask": "where each style goes, an image file given as content is: white gets style, black gets the second "
        "style (the first of more_styles) or, with one style, keeps the photo; grey mixes them. Another size "
        "than the photo is resized (the last frame says so); a mask with transparency uses its alpha (opaque: "
        "white). The recipe keeps a copy",
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
