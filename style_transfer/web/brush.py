"""The page's brush: the photo in a gr.ImageEditor, its painted layer turned into /stylize's mask.

Paint where the style goes; the rest keeps the photo (or gets the second style). The editor shows the
photo (a copy, at most EDITOR_SIDE on its long side: Gradio's editor uploads its whole canvas again on
every stroke) with a half-transparent red brush layer over it. A queued helper turns the layer into the
mask /stylize takes (white where painted, at the photo's own size) after each change, Invert swaps the
painted and the unpainted parts, Clear paints nothing again. The helpers read only files uploaded to
this app (requests.file_path) and within the operator's input limits.

gradio-free: plain functions on paths and images; events.py and wiring.py hook them to the page.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..errors import StyleTransferError, one_line
from ..image import load_image, open_input, upright_size
from ..regions import MIN_REGION_SHARE

EDITOR_SIDE = 768  # the editor's canvas: the photo's copy at most this long side (the mask is feathered anyway)
BRUSH_RGB = (220, 38, 38)  # the brush's red
BRUSH_OPACITY = 0.5  # the photo shows through the paint
MAX_LAYERS = 4  # the editor sends one (its layers tool is off); a payload with more is not the page's


@dataclass(frozen=True)
class Painted:
    """What the brush covers, at the editor's canvas size."""

    pixels: np.ndarray  # (H, W) bool

    @property
    def share(self) -> float:
        return float(self.pixels.mean()) if self.pixels.size else 0.0

    @property
    def is_region(self) -> bool:
        """Whether it splits the picture: some of it painted and some not (each at least MIN_REGION_SHARE)."""
        return MIN_REGION_SHARE <= self.share <= 1.0 - MIN_REGION_SHARE


def editor_photo(content: str, limits: dict[str, Any]) -> bytes:
    """The photo's copy for the editor's canvas (JPEG), at most EDITOR_SIDE on its long side, upright."""
    photo = load_image(content, "content photo", **limits)
    photo.thumbnail((EDITOR_SIDE, EDITOR_SIDE), Image.Resampling.LANCZOS)
    return _encoded(photo, "JPEG")


def painted(layers: list[str], limits: dict[str, Any]) -> Painted | None:
    """What the editor's layers cover (any paint, whatever its opacity); None if there is no layer."""
    if len(layers) > MAX_LAYERS:
        raise StyleTransferError(f"the brush sends at most {MAX_LAYERS} layers; got {len(layers)}")
    covered: np.ndarray | None = None
    for path in layers:
        alpha = _alpha(path, limits)
        if covered is not None and alpha.shape != covered.shape:
            raise StyleTransferError("the brush's layers differ in size")
        covered = alpha if covered is None else covered | alpha
    return Painted(covered) if covered is not None else None


def _alpha(path: str, limits: dict[str, Any]) -> np.ndarray:
    opened = open_input(path, "brush layer", **limits)  # the header checked before any pixel is decoded
    try:
        return np.asarray(opened.image.convert("RGBA").getchannel("A")) > 0
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise StyleTransferError(f"brush layer is damaged ({one_line(error, 120)})") from None


def nothing_painted(background: str, limits: dict[str, Any]) -> np.ndarray:
    """An empty brush layer's coverage: all False at the size of the editor's photo (its header's)."""
    width, height = upright_size(background, "brush's photo", **limits)
    return np.zeros((height, width), bool)


def layer_bytes(covered: np.ndarray) -> bytes:
    """A brush layer (PNG, RGBA) painting ``covered`` (H, W) as the brush does: red, half transparent."""
    pixels = np.zeros((*covered.shape, 4), np.uint8)
    pixels[covered] = (*BRUSH_RGB, round(255 * BRUSH_OPACITY))
    return _encoded(Image.fromarray(pixels, "RGBA"), "PNG")


def mask_bytes(covered: np.ndarray, photo_size: tuple[int, int]) -> bytes:
    """/stylize's mask (PNG, grey): white where painted, at the photo's upright size (w, h)."""
    mask = Image.fromarray(covered.astype(np.uint8) * 255, "L").resize(photo_size, Image.Resampling.BILINEAR)
    return _encoded(mask, "PNG")


def mask_layer_from_file(path: str) -> bytes:
    """The brush layer showing a mask file (white: painted), e.g. an example's, at the mask's size."""
    with Image.open(path) as mask:
        return layer_bytes(np.asarray(mask.convert("L")) >= 128)


def photo_size(content: str, limits: dict[str, Any]) -> tuple[int, int]:
    return upright_size(content, "content photo", **limits)


def summary(covered: Painted | None, styles: int) -> str:
    """The line under the brush: what the painted part gets, and the rest."""
    if covered is None or covered.share == 0.0:
        return "Nothing painted: the whole picture gets the style. Paint where the style goes to keep the rest."
    if not covered.is_region:
        what = "almost all" if covered.share > 0.5 else "almost none"
        return f"Painted: {what} of the photo ({covered.share:.1%}); that is no region, so no mask is used."
    rest = "gets the second style" if styles >= 2 else "keeps the photo (add a second style under Advanced to paint it)"
    return f"**Mask:** the painted {covered.share:.0%} gets the style; the rest {rest}."


def _encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()
