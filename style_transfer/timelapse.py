"""A run's preview frames, kept as files, and the timelapse made of them (animated WebP or GIF).

gradio-free: the runner (for the app) and the CLI both keep frames with a ``FrameKeeper``
and write the timelapse with ``write_timelapse``. Frames are PNG files, not arrays, so a
long run holds at most ``MAX_FRAMES`` small files on disk and nothing in memory; past the
cap they are thinned evenly (every second one dropped, and so on).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from .errors import StyleTransferError
from .plan import fit_long_side
from .recipe import recipe_metadata, save_png


class Preview(Protocol):
    """What a keeper needs of a frame (engine.Frame is one): the engine decides previews with
    film_frame_due, so this module must not import the engine."""

    @property
    def step(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def size(self) -> tuple[int, int]: ...
    @property
    def losses(self) -> dict[str, float]: ...
    @property
    def done(self) -> bool: ...
    @property
    def image(self) -> Image.Image | None: ...


MAX_FRAMES = 120  # frames kept per run; thinned evenly past it
# Which steps are previews (the film's frames) when a request leaves it to the app (preview_every 0):
# every step of a run of at most EVERY_STEP_UP_TO steps, so a 16-step `fast` run makes a 16-frame film;
# past that about one a second (the engine's clock) and every (total // MIN_FILM_FRAMES)-th step, so a
# long run on a fast machine still gets MIN_FILM_FRAMES. Not every step of every run: a preview costs
# ~15 ms to keep and ~130 ms for Gradio to encode as PNG for the browser at 512 px, against steps of
# 0.1-0.5 s; 40 covers the fast and balanced presets (16 and 32 steps).
EVERY_STEP_UP_TO = 40
MIN_FILM_FRAMES = 10
MAX_SIDE = 512  # the timelapse's long side at most (the output's when smaller)
FRAME_MS = 100  # each frame of the timelapse, ms: 120 frames play in 12 s
HOLD_MS = 2000  # the finished picture is held this long before the animation loops
# Lossy WebP (lossless would be ~10x larger). Measured on 76 frames of a 512x341 ImageNet run:
# quality 80 at effort (method) 2 is 2.3 MB in 1.6 s; method 4 saves 5% for 1.8x the time, and the
# encoding delays the run's last frame.
WEBP_QUALITY = 80
WEBP_METHOD = 2
TIMELAPSE_SUFFIXES = {".webp": "WEBP", ".gif": "GIF"}


def film_frame_due(step: int, total: int, preview_every: int = 0) -> bool:
    """Whether step ``step`` of a ``total``-step run is a preview whatever the engine's clock says.

    A request's own ``preview_every`` (N > 0: exactly every N-th step) decides alone: then never.
    """
    if preview_every or total <= 0:
        return False
    return total <= EVERY_STEP_UP_TO or step % max(1, total // MIN_FILM_FRAMES) == 0


@dataclass(frozen=True)
class KeptFrame:
    """One kept preview: which step it shows and the PNG holding its pixels."""

    index: int  # its place among the run's previews (0: the first preview)
    step: int
    total: int
    size: tuple[int, int]
    loss: float  # the total loss at this step
    path: str


class FrameKeeper:
    """Keeps a run's previews as PNG files in ``folder``: all of them up to ``cap``, then evenly thinned.

    Thinning keeps the previews whose index is a multiple of a stride that doubles each
    time the cap is passed, so the kept frames stay evenly spaced over the whole run;
    the last frame of the run (``done``, step == total) is always kept.
    """

    def __init__(self, folder: str | os.PathLike, cap: int = MAX_FRAMES):
        if cap < 2:
            raise ValueError("keep at least two frames")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cap = cap
        self.stride = 1
        self.seen = 0
        self._kept: list[KeptFrame] = []

    @property
    def frames(self) -> tuple[KeptFrame, ...]:
        return tuple(self._kept)

    def add(self, frame: Preview) -> KeptFrame | None:
        """Keep ``frame`` (one with a preview image) if it falls on the stride; the kept record or None."""
        if frame.image is None:
            return None
        index, self.seen = self.seen, self.seen + 1
        if index % self.stride and not frame.done:
            return None
        path = self.folder / f"frame_{index:05d}.png"
        frame.image.save(path, format="PNG", compress_level=1)  # fast: these are working files
        kept = KeptFrame(index, frame.step, frame.total, frame.size, float(frame.losses["total"]), str(path))
        self._kept.append(kept)
        while len(self._kept) > self.cap:
            self._thin()
        return kept

    def _thin(self) -> None:
        self.stride *= 2
        keep = [k for k in self._kept if k.index % self.stride == 0 or k.step == k.total]  # step == total: done
        for dropped in set(self._kept) - set(keep):
            Path(dropped.path).unlink(missing_ok=True)
        self._kept = keep


def timelapse_size(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The timelapse's frame size for an output of ``size``: the same, or its long side cut to ``max_side``."""
    return size if max(size) <= max_side else fit_long_side(size, max_side)


def timelapse_format(path: str | os.PathLike) -> str:
    """Pillow's format name for a timelapse file name (.webp or .gif); StyleTransferError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in TIMELAPSE_SUFFIXES:
        raise StyleTransferError(f"timelapse {Path(path).name} must end in .webp or .gif")
    return TIMELAPSE_SUFFIXES[suffix]


def write_timelapse(
    frames: Sequence[KeptFrame], path: str | os.PathLike, recipe: dict[str, Any], max_side: int = MAX_SIDE
) -> Path:
    """An animated WebP (or GIF, by the suffix) of ``frames`` at the last frame's size (long side
    at most ``max_side``), each shown FRAME_MS and the last held HOLD_MS, with ``recipe`` in its metadata.

    Earlier frames come from coarser scales and are smaller: they are upscaled to the last
    one's size. Consecutive identical frames are merged by both encoders (one longer frame).
    All frames are decoded at once while encoding: at the cap, 120 x 512 x 384 x 3 bytes (~70 MB).
    """
    if not frames:
        raise ValueError("a timelapse needs at least one frame")
    fmt = timelapse_format(path)
    size = timelapse_size(frames[-1].size, max_side)
    pictures = [_frame_at(frame, size, fmt) for frame in frames]
    durations = [FRAME_MS] * (len(pictures) - 1) + [HOLD_MS]
    options: dict[str, Any] = {"quality": WEBP_QUALITY, "method": WEBP_METHOD} if fmt == "WEBP" else {}
    pictures[0].save(
        path,
        format=fmt,
        save_all=True,
        append_images=pictures[1:],
        duration=durations,
        loop=0,
        **options,
        **recipe_metadata(recipe, fmt),
    )
    return Path(path)


def _frame_at(frame: KeptFrame, size: tuple[int, int], fmt: str) -> Image.Image:
    with Image.open(frame.path) as image:
        picture = image.convert("RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    # GIF: 256 colours a frame. Pillow's default (median cut) took 12.7 s for 76 frames, fast octree 0.3 s.
    return picture.quantize(256, method=Image.Quantize.FASTOCTREE) if fmt == "GIF" else picture


def frame_recipe(recipe: dict[str, Any], frame: KeptFrame) -> dict[str, Any]:
    """The run's recipe for one of its intermediate pictures: the same, plus the step it was taken at."""
    return recipe | {"step": frame.step}


def save_frame_png(frame: KeptFrame, destination: str | os.PathLike | Any, recipe: dict[str, Any]) -> None:
    """The kept frame as a PNG carrying the run's recipe and ``"step"``; ``destination`` a path or binary file."""
    with Image.open(frame.path) as image:
        save_png(image.convert("RGB"), destination, frame_recipe(recipe, frame))
