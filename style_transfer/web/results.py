"""What the page's result area works with, without gradio: the session's last run (its history of
frames, Continue and Refine), frame captions and PNGs, the example pairs and the style presets.

layout.py and events.py keep the page and its events; the helpers here are plain functions on
plain data, so they are tested without a server.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..config import StyleConfig
from ..errors import StyleTransferError
from ..timelapse import KeptFrame, save_frame_png

SIZE_LIMIT = next(f.metadata["max"] for f in fields(StyleConfig) if f.name == "size")  # StyleConfig's own cap
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EARLIER_RESULT = "Made earlier with ImageNet weights · Run recomputes it live"


@dataclass(frozen=True)
class LastRun:
    """A finished run, kept for its session: what it was made from and its kept frames (files in the server's cache)."""

    content: str
    styles: tuple[str, ...]
    png: str  # the final picture, recipe in its metadata: Continue and Refine start from it
    size: int  # the long side it was asked for
    recipe: dict[str, Any]
    frames: tuple[KeptFrame, ...]  # the last one is the final picture
    timelapse: str | None = None  # the run's animated WebP
    mask: str | None = None  # where each style went (Continue and Refine keep it)

    def frame(self, position: float | int | None) -> KeptFrame:
        """The kept frame at a slider position (1 = the first); out-of-range positions are clamped."""
        index = int(position or len(self.frames)) - 1
        return self.frames[min(max(index, 0), len(self.frames) - 1)]


def frame_caption(run: LastRun, frame: KeptFrame) -> str:
    """Which step a kept frame shows, of the run's steps (a time budget may have re-planned them since)."""
    width, height = frame.size
    final = " (the result)" if frame is run.frames[-1] else ""
    return f"**Step {frame.step}/{run.frames[-1].total}**{final} · {width}×{height} px · loss {frame.loss:.4g}"


def frame_png(run: LastRun, frame: KeptFrame) -> bytes:
    """The frame as a PNG carrying the run's recipe and the step it shows."""
    buffer = io.BytesIO()
    save_frame_png(frame, buffer, run.recipe)
    return buffer.getvalue()


def frame_file_name(frame: KeptFrame) -> str:
    return f"stylized_{frame.size[0]}x{frame.size[1]}_step{frame.step:04d}.png"


def refine_size(size: int, max_size: int) -> int:
    """Twice ``size``, capped by the operator's ``max_size`` (0: none) and StyleConfig's limit."""
    cap = min(max_size or SIZE_LIMIT, SIZE_LIMIT)
    if size >= cap:
        raise StyleTransferError(f"this result is already {size} px, the largest size this server makes")
    return min(2 * size, cap)


@dataclass(frozen=True)
class Pair:
    """A built-in example: a photo, a style and, when the examples carry one, the result made from them."""

    title: str
    content: str
    style: str
    result: str | None
    mask: str | None = None  # a mask the example paints with (white: the style), shown on the brush


def load_pairs(path: Path) -> list[Pair]:
    """The example pairs of a pairs.json; file names are relative to its folder, ``result`` and ``mask`` optional."""
    folder = path.parent
    pairs = [
        Pair(
            entry["title"],
            str(folder / entry["content"]),
            str(folder / entry["style"]),
            str(folder / entry["result"]) if entry.get("result") else None,
            str(folder / entry["mask"]) if entry.get("mask") else None,
        )
        for entry in json.loads(path.read_text())
    ]
    for pair in pairs:
        for name in (pair.content, pair.style, pair.result, pair.mask):
            if name is not None and not Path(name).is_file():
                raise FileNotFoundError(f"{path.name} names {Path(name).name}, which is not in {folder}")
    return pairs


def style_presets() -> list[tuple[str, str]]:
    """The example styles as (file, caption) pairs, for the page's preset gallery."""
    return [(str(p), p.stem.removeprefix("style_").replace("_", " ")) for p in sorted(EXAMPLES_DIR.glob("style_*.jpg"))]
