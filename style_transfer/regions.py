"""Where each style goes: a mask and kept faces as soft regions, per scale and per VGG19 layer.

Spatial control after Gatys et al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer",
section 4). A request's mask says where: white the first style, black the second style, or the photo
kept when there is one style; grey mixes the two. Faces found in the photo (``keep_faces``) are carved
out of those as regions of their own. Every region of a mask is a soft mask at the output size that sums
with the others to one at every pixel, its edge feathered so the seam does not show.

Each styled region's style loss compares the guided Gram of the picture (losses.guided_gram_matrix)
with its own style's Gram; a kept region has no style loss and a content term KEEP_CONTENT_WEIGHT times
the usual, so it is held to the photo rather than merely painted less. A kept face in a mask's region
gets a faint style term of its own (FACE_TINT) so that it still belongs to the painting.

Kept faces without a mask (the page's default) cost almost nothing: the style's Gram stays the whole
picture's, as in a plain run, and only the faces' content and pixel terms are stronger
(FACE_CONTENT_WEIGHT, FACE_PIXEL_WEIGHT): the face is painted with the rest but keeps its features.
A close-up is held less (face_hold: in inverse proportion to its share of the picture above
FULL_HOLD_SHARE), so that a face filling half the frame takes the strokes instead of looking pasted in.
(Carving it out as a tinted region of its own cost 30% of a 512 px step and left close-ups looking
like photos: benchmarks/NOTES.md.)

How a mask reaches a layer: the paper discusses resizing the guidance channel to each layer's size, or
propagating it through the network so that each unit's guide says how much of its input lies in the
region. Here a scale's mask is resized with the photo (area-averaged, like the pixels), then follows the
features' own path: the same antialiased half-size copy for the layers that read one
(model.TwoResolutionFeatures), and a 2x2 *average* pool wherever VGG19 max-pools. Average, not max:
the pooled masks of the regions still sum to one at every unit, so a unit on the seam is shared between
its regions in proportion, never counted whole by both (max pooling: texture bleeds across the seam) or
dropped by both (min pooling, an eroded mask: a band along the seam no style reaches). The shapes then
match the features' exactly, at every scale and for both resolutions.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image
from scipy import ndimage

from .config import StyleConfig
from .errors import StyleTransferError, one_line
from .image import ORIENTATIONS, ImageSource, OpenedImage, open_input, to_rgb
from .model import half_size
from .vgg import VGG_CONV_LAYERS

FEATHER = 0.012  # the feather's sigma, a share of the output's long side: 6 px at 512, 25 px at 2048
MIN_REGION_SHARE = 0.002  # a region under 0.2% of the picture is no region (a stray dab of the brush)
FLAT = 0.02  # a mask whose values all lie within this of each other is one flat colour
KEEP_CONTENT_WEIGHT = 10.0  # the content term where the photo is kept, times the usual (tuned: see README)
KEEP_PIXEL_WEIGHT = 50.0  # and the kept pixels' squared distance to the photo's (in [0, 1]), per pixel
FACE_TINT = 0.15  # a kept face's style weight, times that of the region around it
FACE_CONTENT_WEIGHT = KEEP_CONTENT_WEIGHT  # a kept face's content term (measured: benchmarks/NOTES.md)
FACE_PIXEL_WEIGHT = KEEP_PIXEL_WEIGHT  # and its pixels' pull to the photo's (recoloured, if the run recolours)
# Faces alone: faces covering up to this share of the picture are held fully; larger ones (a close-up) in
# inverse proportion, so that a face filling half the frame is painted like the rest, not pasted in.
FULL_HOLD_SHARE = 0.08
MAX_STYLES_WITH_MASK = 2  # white: the first, black: the second
# A guide under this is no part of its region: a feather's far tail (weight under 1e-5 in the Gram).
GUIDE_FLOOR = 1.0 / 256.0
# The mask's PNG copy in a recipe, base64: at most this many characters, well inside the recipe's own bound
# (recipe.MAX_RECIPE_CHARS, half of it for the parent chain).
MASK_RECORD_CHARS = 60_000


@dataclass(frozen=True)
class Region:
    """One part of the picture: a soft mask at the output size, the style it takes and whether the photo
    is held there (a stronger content term)."""

    mask: np.ndarray  # (H, W) float32 in [0, 1]
    blend: tuple[float, ...] | None  # weights over the run's style images; None: no style at all
    keep: bool = False
    tint: float = 1.0  # its style term's weight (a kept face: FACE_TINT)
    content_weight: float = 1.0  # its content term, times the usual (kept: KEEP_CONTENT_WEIGHT or a face's)
    pixel_weight: float = 0.0  # its pixels' pull to the photo's (kept: KEEP_PIXEL_WEIGHT or a face's)
    hold: float = 1.0  # how much of the photo a start puts back here (a close-up face: less, face_hold)


@dataclass(frozen=True)
class Regions:
    """A run's regions, what to tell the user about them, and what the recipe records."""

    regions: tuple[Region, ...]
    notes: tuple[str, ...] = ()
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def styled(self) -> tuple[Region, ...]:
        return tuple(region for region in self.regions if region.blend is not None)

    @property
    def keep(self) -> np.ndarray | None:
        """Where the photo is held (the kept regions' masks summed), or None."""
        kept = [region.mask for region in self.regions if region.keep]
        return np.sum(kept, axis=0).clip(0.0, 1.0) if kept else None

    @property
    def put_back(self) -> np.ndarray | None:
        """How much of the photo a painted start takes back at each pixel (kept masks times their hold)."""
        kept = [region.mask * region.hold for region in self.regions if region.keep]
        return np.sum(kept, axis=0).clip(0.0, 1.0) if kept else None

    @property
    def content_weights(self) -> np.ndarray:
        """The content term's weight at each pixel (output size): 1, times a kept region's where it lies."""
        extra = [region.mask * (region.content_weight - 1.0) for region in self.regions if region.keep]
        return (1.0 + np.sum(extra, axis=0)).astype(np.float32) if extra else np.ones_like(self.regions[0].mask)

    @property
    def pixel_weights(self) -> np.ndarray:
        """The pixels' pull to the photo at each pixel (output size): a kept region's where it lies, else 0."""
        pulls = [region.mask * region.pixel_weight for region in self.regions if region.keep]
        return np.sum(pulls, axis=0).astype(np.float32) if pulls else np.zeros_like(self.regions[0].mask)


# ---------------------------------------------------------------- the request's rules


def check_request(config: StyleConfig, style_count: int, has_mask: bool) -> None:
    """Refuse a mask or keep_faces the request cannot use, before any file is read."""
    if not (has_mask or config.keep_faces):
        return
    from .faces import require
    from .losses import OBJECTIVE_SPECS

    if config.keep_faces:
        require()  # the detector is optional: say how to install it before any file is read
    if OBJECTIVE_SPECS[config.objective].regional_loss is None:
        raise StyleTransferError(
            f"the {config.objective} objective has no regions: a mask and keep_faces need objective normalized"
        )
    if has_mask and style_count > MAX_STYLES_WITH_MASK:
        raise StyleTransferError(
            f"a mask makes two regions (white: the first style; black: the second style, or the photo kept), "
            f"but {style_count} style images were given: give one or two"
        )
    if has_mask and config.style_blend:
        raise StyleTransferError(
            "style_blend mixes the styles over the whole picture; with a mask each region has a style of its "
            "own: leave style_blend empty"
        )


def style_region_count(config: StyleConfig, style_count: int, has_mask: bool) -> int:
    """How many guided Gram sets a run's step computes (0: none, the plain step): the plan's cost and
    memory count them: a mask's kept faces, one more each (tinted); faces alone, one (whether one is found is known
    only later)."""
    if not (has_mask or config.keep_faces):
        return 0
    if not has_mask:
        return 1  # kept faces alone: the whole picture's Gram, the faces held by their content terms
    return (2 if style_count == 2 else 1) + (1 if config.keep_faces else 0)


def style_scales(config: StyleConfig, style_count: int, has_mask: bool) -> list[float]:
    """Each style image's size relative to the output: with a mask the second (black's) has its own."""
    second = config.second_style_scale or config.style_scale
    return [second if has_mask and index == 1 else config.style_scale for index in range(style_count)]


# ---------------------------------------------------------------- reading a mask


def open_mask(source: ImageSource, max_megapixels: float, max_bytes: int) -> OpenedImage:
    """The mask file read once and its header checked against the input limits, as every input is."""
    return open_input(source, "mask", max_megapixels, max_bytes)


def mask_array(
    opened: OpenedImage, size: tuple[int, int], photo_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The mask as (H, W) floats in [0, 1] at ``size`` (w, h), and notes on what was done to it.

    Its grey level is the mask, except when it has transparency: then its alpha is (the opaque parts are
    white), as in a brush layer exported from an editor. A mask of another size than the photo
    (``photo_size``, default ``size``) is resized like the photo, and a note says so.
    """
    image, alpha_used = _mask_image(opened)
    notes = []
    if alpha_used:
        notes.append("the mask's transparency was used as the mask: opaque parts get the first style")
    photo_width, photo_height = photo_size or size
    if image.size != (photo_width, photo_height):
        # Stretched: off the photo's shape by more than a pixel's rounding (or 1%) on its height.
        expected_height = image.width * photo_height / photo_width
        stretched = abs(expected_height - image.height) > max(1.0, 0.01 * image.height)
        how = ", stretched to its shape" if stretched else ""
        shown = f"{photo_width}x{photo_height}{how}"
        notes.append(f"the mask ({image.width}x{image.height}) was resized to the photo's size ({shown})")
    pixels = np.asarray(image.resize(size, Image.Resampling.BILINEAR), np.float32) / 255.0
    _check_not_flat(pixels, alpha_used)
    return pixels, notes


def _mask_image(opened: OpenedImage) -> tuple[Image.Image, bool]:
    """The mask's pixels upright as an 8-bit grey image, and whether they came from its alpha channel."""
    try:
        opened.image.seek(0)
        opened.image.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise StyleTransferError(f"mask is damaged or truncated ({one_line(error, 120)})") from None
    image = opened.image
    if opened.orientation in ORIENTATIONS:
        image = image.transpose(ORIENTATIONS[opened.orientation])
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        low, high = np.percentile(np.asarray(alpha), [0, 100])
        if high - low > 255 * FLAT:  # the picture is in the alpha channel
            return alpha, True
    return to_rgb(image, exif=False).convert("L"), False


def _check_not_flat(pixels: np.ndarray, alpha_used: bool) -> None:
    where = "its alpha channel" if alpha_used else "its grey level"
    low, high = float(pixels.min()), float(pixels.max())
    if high - low < FLAT:
        colour = "white" if low > 0.5 else "black" if high < 0.5 else f"grey ({round(low * 255)})"
        raise StyleTransferError(
            f"the mask is one flat colour ({colour}, by {where}): it makes no region. Paint the part for the "
            "first style white and the rest black (or send no mask)"
        )
    for share, what in ((float(pixels.mean()), "white"), (1.0 - float(pixels.mean()), "black")):
        if share < MIN_REGION_SHARE:
            raise StyleTransferError(
                f"the mask's {what} part covers {share:.2%} of the picture, too little to be a region "
                f"(at least {MIN_REGION_SHARE:.1%}): paint more of it, or send no mask"
            )


def feathered(mask: np.ndarray, long_side: int) -> np.ndarray:
    """The mask with its edges blurred (a Gaussian of FEATHER times the long side): a soft seam."""
    sigma = FEATHER * long_side
    if sigma < 0.5:
        return mask
    return np.clip(ndimage.gaussian_filter(mask, sigma, mode="nearest"), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- the regions of a run


def make_regions(
    mask: OpenedImage | None,
    photo: Image.Image,
    config: StyleConfig,
    blend: Sequence[float],
    output_size: tuple[int, int],
) -> Regions | None:
    """A run's regions at ``output_size`` from its mask (None: none) and, with keep_faces, the faces in
    ``photo`` (the content as decoded, before any colour mode); None for a run without either. Its
    regions are empty when keep_faces found no face and there is no mask: the plain run, with its note."""
    from . import faces as face_finder  # the detector (and its package) only when a request asks for it

    if mask is None and not config.keep_faces:
        return None
    notes: list[str] = []
    record: dict[str, Any] = {}
    soft = None
    if mask is not None:
        pixels, notes = mask_array(mask, output_size, photo.size)
        record["mask"] = mask_record(pixels)
        soft = feathered(pixels, max(output_size))
    face_mask = None
    if config.keep_faces:
        found = face_finder.find_faces(photo.resize(output_size, Image.Resampling.BILINEAR))
        record["faces"] = face_finder.faces_record(found)
        face_mask = face_finder.face_mask(found, output_size)
        notes.append(f"keep_faces: {len(found)} face(s) kept" if found else "keep_faces: no face found in the photo")
    made = Regions(build_regions(soft, len(blend), face_mask), tuple(notes), record)
    return made if mask is not None else with_blend(made, blend)


def build_regions(mask: np.ndarray | None, style_count: int, face_mask: np.ndarray | None) -> tuple[Region, ...]:
    """The regions from a feathered mask (None: none) and a feathered mask of the kept faces (None: none
    found); none when there is neither (the plain run).

    Faces alone: the style's Gram over the whole picture, as in a plain run (one Gram set, the plain step's
    cost), and the faces held by their content and pixel terms. With a mask, faces are carved out of its
    regions, each tinted with the style around it (FACE_TINT)."""
    if mask is None and face_mask is None:
        return ()
    everywhere = tuple([1.0 / style_count] * style_count)
    if mask is None:
        assert face_mask is not None
        hold = face_hold(float(face_mask.mean()))
        content_weight = 1.0 + (FACE_CONTENT_WEIGHT - 1.0) * hold
        face = Region(face_mask, None, True, 1.0, content_weight, FACE_PIXEL_WEIGHT * hold, hold)
        return (Region(np.ones_like(face_mask), everywhere), face)
    outside_faces = 1.0 - face_mask if face_mask is not None else 1.0
    second = Region(1.0 - mask, _only(1, style_count)) if style_count == 2 else _kept(1.0 - mask)
    base = [Region(mask, _only(0, style_count)), second]
    regions = [dataclasses.replace(r, mask=r.mask * outside_faces) for r in base]
    if face_mask is not None:
        tint = _style_around(face_mask, base)
        regions.append(Region(face_mask, tint, True, FACE_TINT, FACE_CONTENT_WEIGHT, FACE_PIXEL_WEIGHT))
    return tuple(regions)


def face_hold(share: float) -> float:
    """How firmly faces alone are held, 0 to 1, from the share of the picture they cover."""
    return min(1.0, FULL_HOLD_SHARE / max(share, 1e-6))


def _kept(mask: np.ndarray) -> Region:
    """A mask's kept part: no style, the photo held."""
    return Region(mask, None, True, 1.0, KEEP_CONTENT_WEIGHT, KEEP_PIXEL_WEIGHT)


def _only(index: int, count: int) -> tuple[float, ...]:
    return tuple(1.0 if i == index else 0.0 for i in range(count))


def _style_around(face_mask: np.ndarray, regions: Sequence[Region]) -> tuple[float, ...] | None:
    """The style a face is tinted with: that of the region it lies in most (none if that keeps the photo)."""
    cover = [float(np.sum(face_mask * region.mask)) for region in regions]
    return regions[int(np.argmax(cover))].blend


def with_blend(regions: Regions, blend: Sequence[float]) -> Regions:
    """The regions with the request's blend weights where a region takes every style (no mask)."""
    everywhere = tuple([1.0 / len(blend)] * len(blend))
    return Regions(
        tuple(dataclasses.replace(r, blend=tuple(blend)) if r.blend == everywhere else r for r in regions.regions),
        regions.notes,
        regions.record,
    )


# ---------------------------------------------------------------- at a scale, at each layer


@dataclass(frozen=True)
class ScaleGuides:
    """A scale's regions as the compiled step takes them.

    Each styled region's guide at a layer is cropped to the box where it is not ~0 (GUIDE_FLOOR), with
    the box's top-left corner: its guided Gram is computed on that crop of the features only. Two
    regions that split the picture then cost about one Gram between them, not two, and a face's tint
    costs a face's worth of pixels (measured: benchmarks/RESULTS.md, "Masks and kept faces").
    """

    blends: tuple[tuple[float, ...], ...]  # each styled region's weights over the style images
    style_masks: list[list[tf.Tensor]]  # [region][style layer]: (1, h, w, 1), cropped at the layer's size
    style_corners: list[list[tf.Tensor]]  # [region][style layer]: (2,) int32, the crop's (row, column)
    content_weights: list[tf.Tensor]  # [content layer]: (1, h, w, 1), the regions' content_weight
    photo_weights: tf.Tensor  # (1, H, W, 1): the regions' pixel_weight, at the scale's size
    shares: tf.Tensor  # (regions,): each styled region's share of the picture, times its tint


def at_scale(
    regions: Regions,
    size: tuple[int, int],
    style_layers: Sequence[str],
    content_layers: Sequence[str],
    split_at: str | None,
) -> ScaleGuides:
    """The regions at a scale of ``size`` (w, h), carried to each layer's resolution (see the module's doc)."""
    styled = regions.styled
    masks = [_resized(region.mask, size) for region in styled]
    weights = _resized(regions.content_weights, size)
    pixel_weights = _resized(regions.pixel_weights, size)
    cropped = [[_cropped(guide) for guide in layer_guides(mask, style_layers, split_at)] for mask in masks]
    return ScaleGuides(
        blends=tuple(region.blend for region in styled if region.blend is not None),
        style_masks=[[guide for guide, _ in layers] for layers in cropped],
        style_corners=[[corner for _, corner in layers] for layers in cropped],
        content_weights=layer_guides(weights.astype(np.float32), content_layers, split_at),
        photo_weights=tf.constant(pixel_weights[None, :, :, None], tf.float32),
        shares=tf.constant([region.tint * float(mask.mean()) for region, mask in zip(styled, masks)], tf.float32),
    )


def _cropped(guide: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """A layer's guide cut to the box where it is over GUIDE_FLOOR, and the box's (row, column)."""
    values = guide.numpy()[0, :, :, 0]
    rows, columns = np.nonzero(values > GUIDE_FLOOR)
    if not rows.size:  # a region too small for this layer: one unit, weight ~0, keeps the shapes valid
        return guide[:, :1, :1, :], tf.zeros((2,), tf.int32)
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    return guide[:, top:bottom, left:right, :], tf.constant([top, left], tf.int32)


def _resized(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A mask at another scale, area-averaged as the photo is (bilinear in Pillow is antialiased)."""
    if mask.shape[::-1] == size:
        return mask
    return np.asarray(Image.fromarray(mask, "F").resize(size, Image.Resampling.BILINEAR), np.float32)


def layer_guides(mask: np.ndarray, layers: Sequence[str], split_at: str | None) -> list[tf.Tensor]:
    """``mask`` (H, W) at each layer's resolution, as the features get there: the half-size copy for the
    layers from ``split_at`` on, then a 2x2 average pool where VGG19 max-pools (before each block but
    the first)."""
    full = tf.constant(mask[None, :, :, None], tf.float32)
    half = half_size(full) if split_at is not None else full
    split = VGG_CONV_LAYERS.index(split_at) if split_at is not None else len(VGG_CONV_LAYERS)
    guides = []
    for name in layers:
        guide = half if VGG_CONV_LAYERS.index(name) >= split else full
        for _ in range(int(name[5]) - 1):  # "blockN_convM": N - 1 pools before it
            guide = tf.nn.avg_pool2d(guide, 2, 2, "VALID")
        guides.append(guide)
    return guides


# ---------------------------------------------------------------- the mask in a recipe


def mask_record(mask: np.ndarray) -> dict[str, Any]:
    """What a recipe keeps of a mask as the run used it (at the output size, before feathering): its
    SHA-256 and a PNG copy, so that --recipe repeats the run without the file. The copy is the mask
    itself while its base64 fits in MASK_RECORD_CHARS (a brushed mask at 2048 px: ~10-30 kB), else
    halved until it does (then the repeat is close, not exact: the feather hides the difference)."""
    pixels = (np.clip(mask, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    image = Image.fromarray(pixels, "L")
    while True:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        text = base64.b64encode(buffer.getvalue()).decode("ascii")
        if len(text) <= MASK_RECORD_CHARS or min(image.size) <= 16:
            break
        image = image.resize((max(16, image.width // 2), max(16, image.height // 2)), Image.Resampling.BILINEAR)
    return {"sha256": hashlib.sha256(pixels.tobytes()).hexdigest(), "size": [mask.shape[1], mask.shape[0]], "png": text}


def mask_from_record(record: Any) -> bytes:
    """The mask PNG a recipe carries, as bytes (an input like any other: its header is checked)."""
    try:
        return base64.b64decode(record["png"], validate=True)
    except (TypeError, KeyError, ValueError):
        raise StyleTransferError("the recipe's mask is damaged (not the base64 PNG this tool writes)") from None


def coverage(mask: np.ndarray) -> float:
    """The share of the picture the mask's white (the first style) covers."""
    return float(mask.mean()) if mask.size else math.nan
