"""Every knob of a style-transfer request, in one frozen dataclass.

The CLI flags and the UI's controls are derived from the field metadata here
(``help``, ``min``/``max``, ``choices``), so a default or a range lives in one place.
What the operator decides (weights, limits, queue) is not here: see settings.py.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import StyleTransferError
from .losses import OBJECTIVE_SPECS
from .vgg import VGG_CONV_LAYERS

# What a preset asks for: its steps (plan.SCHEDULES says how they are spread over the scales).
PRESET_STEPS = {"fast": 16, "balanced": 32, "best": 120}
PRESETS = tuple(PRESET_STEPS)
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("auto", "content", "noise", "feedforward")
OBJECTIVES = tuple(OBJECTIVE_SPECS)
COLOR_MODES = ("none", "luminance", "histogram")
RECOLOURS = ("none", "content")
DEFAULT_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
DEFAULT_CONTENT_LAYERS = ("block4_conv2",)

Preset = Literal["fast", "balanced", "best"]
Optimizer = Literal["lbfgs", "adam"]
Init = Literal["auto", "content", "noise", "feedforward"]
ColorMode = Literal["none", "luminance", "histogram"]
Recolour = Literal["none", "content"]


def _knob(default: Any, help: str, **bounds: Any) -> Any:
    return field(default=default, metadata={"help": help, **bounds})


@dataclass(frozen=True)
class StyleConfig:
    size: int = _knob(512, "output long side in pixels", min=16, max=2048, ui_max=1024, step=16)
    preset: Preset = _knob(
        "balanced",
        "quality preset: how many steps and how they are spread",
        choices=PRESETS,
        # The page's 30 s budget spreads its steps as `best` does (half at half size, half at full size):
        # against `balanced`'s three quarters at half size it won 13 and 15 of 18 peer pairs on the two
        # precision paths, with sharper edges (benchmarks/NOTES.md, issue 16 part 6).
        ui_default="best",
    )
    steps: int = _knob(
        0,
        "total optimisation steps over all scales (0: as many as the time budget buys, else the preset's)",
        min=0,
        max=5000,
    )
    seconds: float = _knob(
        0.0,
        "time budget in seconds: the steps are planned from this machine's measured speed to finish in about "
        "this time (0: off, the preset's steps)",
        min=0.0,
        max=3600.0,
        ui_max=120.0,
        ui_default=30.0,
        step=1.0,
    )
    style_strength: float = _knob(1.0, "style/content balance; >1 more style", min=0.01, max=100.0, ui_max=10.0)
    tv_weight: float = _knob(1.0, "smoothness (total variation) weight, relative", min=0.0, max=100.0, ui_max=10.0)
    optimizer: Optimizer = _knob(
        "lbfgs", "optimiser: lbfgs converges fastest; adam is the tutorial's", choices=OPTIMIZERS
    )
    learning_rate: float = _knob(0.02, "Adam learning rate on pixels in [0, 1]", min=1e-5, max=1.0)
    init: Init = _knob(
        "auto",
        "initial image: the photo, noise, or feedforward (the photo repainted at once by Magenta's network, "
        "then refined); auto: feedforward where Magenta's networks are on this machine, else the photo",
        choices=INITS,
    )
    seed: int = _knob(0, "random seed (noise init)", min=0, max=2**31 - 1)
    objective: str = _knob(
        "normalized", "loss: " + " or ".join(spec.summary for spec in OBJECTIVE_SPECS.values()), choices=OBJECTIVES
    )
    preserve_color: ColorMode = _knob("none", "keep the content's colours", choices=COLOR_MODES)
    style_scale: float = _knob(1.0, "style image size relative to the output", min=0.1, max=4.0, ui_max=2.0)
    style_blend: tuple[float, ...] = _knob((), "blend weights, one per style image (empty: equal)")
    style_layers: tuple[str, ...] = _knob(DEFAULT_STYLE_LAYERS, "VGG19 layers for style", choices=VGG_CONV_LAYERS)
    content_layers: tuple[str, ...] = _knob(DEFAULT_CONTENT_LAYERS, "VGG19 layers for content", choices=VGG_CONV_LAYERS)
    preview_every: int = _knob(0, "a preview every N steps (0: each step of a short run, else ~1/s)", min=0, max=5000)
    # Added after the others: /stylize takes them after its older parameters (web/requests.py, LATE_FIELDS).
    keep_faces: bool = _knob(
        False,
        "find faces in the photo and keep their features (painted in the painting's colours, lightly "
        "textured); needs the mtcnn package",
        ui_default=True,  # the page keeps faces (where the detector is installed); the API and CLI ask for it
    )
    second_style_scale: float = _knob(
        0.0,
        "with a mask and two style images: the second style's size relative to the output (0: style_scale)",
        min=0.0,
        max=4.0,
        ui_max=2.0,
    )
    recolour: Recolour = _knob(
        "content",
        "content: the photo recoloured to the painting's palette first (the start picture and the photo the "
        "result must keep); none: the photo as it is; ignored when preserving the photo's colour",
        choices=RECOLOURS,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _validate(f, getattr(self, f.name))
        if len(set(self.style_layers)) != len(self.style_layers) or not self.style_layers:
            raise StyleTransferError("style_layers must be one or more distinct VGG19 conv layers")
        if len(set(self.content_layers)) != len(self.content_layers) or not self.content_layers:
            raise StyleTransferError("content_layers must be one or more distinct VGG19 conv layers")

    @property
    def budgeted(self) -> bool:
        """Whether the step count comes from the time budget (``seconds``), not ``steps`` or the preset."""
        return self.seconds > 0 and not self.steps

    @property
    def total_steps(self) -> int:
        """The steps asked for; a budgeted run's come from its plan (plan.plan_run)."""
        return self.steps or PRESET_STEPS[self.preset]

    def replace(self, **changes: Any) -> StyleConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> StyleConfig:
        """The config of ``to_dict``'s output (JSON lists back to tuples); unknown names are refused."""
        _refuse_unknown(values)
        converted: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**converted)

    @classmethod
    def from_raw(cls, values: Mapping[str, Any], base: StyleConfig | None = None) -> StyleConfig:
        """A config from loosely typed values: UI controls, API JSON, CLI flags.

        None keeps the base's value (the default without a base); blend weights may be a
        list or a string such as "2, 1"; a layer list may be one name; 512.0 is 512 for a
        whole-number setting. The constructor then checks types and ranges.
        """
        fields = _refuse_unknown(values)
        changes = {name: _coerce(fields[name], raw) for name, raw in values.items() if raw is not None}
        return (base or cls()).replace(**changes)


def _refuse_unknown(values: Mapping[str, Any]) -> dict[str, dataclasses.Field]:
    known = {f.name: f for f in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise StyleTransferError(f"unknown setting(s): {', '.join(unknown)}")
    return known


def _coerce(f: dataclasses.Field, raw: Any) -> Any:
    """A raw value as the type the field wants; the field's own validation checks it further."""
    default = f.default
    if isinstance(default, tuple) and "choices" not in f.metadata:
        return _parse_weights(raw)
    if isinstance(default, tuple):
        return tuple(raw) if isinstance(raw, (list, tuple)) else (raw,)
    if isinstance(default, bool) and isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"  # a CLI or form value
    if type(default) is int and isinstance(raw, float) and raw.is_integer():
        return int(raw)  # sliders and JSON clients send 512.0 for 512
    return raw


def _parse_weights(raw: Any) -> tuple[float, ...]:
    if isinstance(raw, (list, tuple)):
        items: Sequence[Any] = raw
    else:
        items = [item for item in re.split(r"[,;\s]+", str(raw or "").strip()) if item]
    try:
        return tuple(float(item) for item in items)
    except OverflowError:  # a JSON integer too large for a float (issue 19, item 9)
        raise StyleTransferError(f"blend weights must be finite numbers (e.g. 2, 1), got {_shown(raw)}") from None
    except (TypeError, ValueError):
        raise StyleTransferError(
            f"blend weights must be numbers separated by commas (e.g. 2, 1), got {_shown(raw)}"
        ) from None


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _validate(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    expected = type(f.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = _as_float(f.name, value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise StyleTransferError(f"{f.name} must be a {expected.__name__}, got {_shown(value)}")
    if isinstance(value, tuple):
        _validate_items(f.name, value, meta.get("choices"))
        return
    if "choices" in meta and value not in meta["choices"]:
        raise StyleTransferError(f"{f.name} must be one of {', '.join(meta['choices'])}; got {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise StyleTransferError(f"{f.name} must be a finite number, got {_shown(value)}")
    if "min" in meta and not meta["min"] <= value <= meta["max"]:
        raise StyleTransferError(f"{f.name} is {_shown(value)}; it must be between {meta['min']} and {meta['max']}")


def _as_float(name: str, value: int) -> float:
    # JSON has no int size limit: a 401-digit integer reached float() and raised OverflowError,
    # which the app answered with {"error": null} and a traceback (issue 19, item 9).
    try:
        return float(value)
    except OverflowError:
        raise StyleTransferError(f"{name} must be a finite number, got {_shown(value)}") from None


def _validate_items(name: str, items: tuple, choices: tuple | None) -> None:
    for item in items:
        if choices is not None and item not in choices:
            raise StyleTransferError(f"{name}: {_shown(item)} is not a VGG19 conv layer (e.g. block4_conv2)")
        if choices is None and not _is_weight(item):
            raise StyleTransferError(f"{name} must be non-negative finite numbers, got {_shown(item)}")
    if choices is None and items and sum(items) <= 0:
        raise StyleTransferError(f"{name} must not be all zero")
    if choices is None and not math.isfinite(sum(items)):  # e.g. 1e308, 1e308: each finite, the sum is not
        raise StyleTransferError(f"{name} must add up to a finite number; use smaller weights (e.g. 2, 1)")


def _shown(value: Any) -> str:
    """A request's value, short enough for a one-line message however long or deep it is."""
    try:
        return reprlib.repr(value)
    except ValueError:  # an int too long to convert to text
        return f"a {type(value).__name__} too long to show"


def _is_weight(item: Any) -> bool:
    number = isinstance(item, (int, float)) and not isinstance(item, bool)
    return number and abs(item) <= sys.float_info.max and math.isfinite(item) and item >= 0
