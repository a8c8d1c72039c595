"""A run's images: each input read once (headers first, for the plan and the caps), then decoded
at the sizes the plan says, and the picture each scale starts from."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image

from .. import feedforward
from .. import image as images
from ..config import StyleConfig
from ..errors import StyleTransferError, one_line
from ..feedforward import start_picture
from ..image import ImageSource, OpenedImage, open_input, style_roles
from ..plan import RunPlan
from ..recipe import read_recipe
from ..regions import Regions, make_regions, open_mask
from ..settings import OperatorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedInputs:
    """Every input of a request, each read once and its header checked; no pixel decoded yet."""

    content: OpenedImage
    styles: list[OpenedImage]
    blend: list[float]  # one weight per style image, adding up to 1
    init: OpenedImage | None  # a start image (a finished result to continue or refine)
    mask: OpenedImage | None = None  # where each style goes (regions.py)

    @property
    def style_sizes(self) -> list[tuple[int, int]]:
        return [style.size for style in self.styles]


@dataclass
class Inputs:
    """A run's pixels: what the optimiser matches, and what it starts from."""

    content: Image.Image  # what the optimiser matches (luminance only when preserving colour that way)
    styles: list[Image.Image]  # already no larger than the largest size a scale uses
    blend: list[float]
    colour_source: Image.Image | None  # content whose colours are put back on each preview
    init: Image.Image | None = None  # a start image (a finished result to continue or refine)
    parent: dict[str, Any] | None = None  # the start image's own recipe, if it carries one
    regions: Regions | None = None  # a mask's or kept faces' regions (None: the whole picture alike)


def open_inputs(
    content: ImageSource,
    styles: Sequence[ImageSource],
    config: StyleConfig,
    settings: OperatorSettings,
    init_image: ImageSource | None,
    mask: ImageSource | None = None,
) -> OpenedInputs:
    """Every input read once and its header checked against the input limits (bytes, megapixels, sides)."""
    if not styles:
        raise StyleTransferError("give at least one style image")
    blend = blend_weights(config, len(styles))
    limits = settings.input_limits
    roles = style_roles(len(styles))
    return OpenedInputs(
        open_input(content, "content image", **limits),
        [open_input(source, role, **limits) for source, role in zip(styles, roles)],
        blend,
        open_input(init_image, "start image", **limits) if init_image is not None else None,
        open_mask(mask, **limits) if mask is not None else None,
    )


def decode_inputs(
    opened: OpenedInputs,
    config: StyleConfig,
    run_plan: RunPlan,
    parent: dict[str, Any] | None = None,
    halt: Callable[[], bool] = lambda: False,
) -> Inputs:
    """The pixels, in the colour mode the config asks for. Each style image is shrunk as soon as it is
    decoded to its size at the output (the largest any scale uses), so several huge ones are never held
    at once. ``parent``: the start image's recipe if the caller has it (else it is read from its bytes).
    ``halt`` is asked before each image: a stopped run, or one out of time, decodes no more."""
    content = _decoded(opened.content, halt)
    styles = [_shrunk(_decoded(style, halt), size) for style, size in zip(opened.styles, run_plan.style_sizes)]
    blend = opened.blend
    init = _decoded(opened.init, halt) if opened.init is not None else None
    if opened.init is not None and parent is None:
        parent = _recipe_of(opened.init)
    regions = make_regions(opened.mask, content, config, blend, run_plan.output_size)
    if config.recolour != "none" and config.preserve_color == "none" and opened.mask is None:
        # Not with a mask: its kept region is the photo itself, and each painted one has its own palette.
        # Kept faces are recoloured with the rest: held to their shapes, in the painting's colours.
        return _recoloured(content, styles, blend, run_plan, init, parent, regions)
    if config.preserve_color == "histogram":
        styles = [images.match_colours(s, content) for s in styles]
    if config.preserve_color == "luminance":
        luminance = [images.luminance(s) for s in styles]
        return Inputs(images.luminance(content), luminance, blend, content, init, parent, regions)
    return Inputs(content, styles, blend, None, init, parent, regions)


def _decoded(opened: OpenedImage, halt: Callable[[], bool]) -> Image.Image:
    if halt():
        raise StyleTransferError(f"the run stopped, or ran out of time, while reading the {opened.role}")
    return opened.decode()


def _recoloured(
    content: Image.Image,
    styles: list[Image.Image],
    blend: list[float],
    run_plan: RunPlan,
    init: Image.Image | None,
    parent: dict[str, Any] | None,
    regions: Regions | None,
) -> Inputs:
    """The inputs with the photo recoloured to the styles' palette (at the output size: no scale is larger):
    the start picture and the content the result must keep."""
    photo = images.resize(content, run_plan.output_size)
    recoloured = images.palette_transfer(photo, styles, blend)
    keep = regions.keep if regions is not None else None
    if keep is not None:
        recoloured = _shaded_as_photo(recoloured, photo, keep)
    return Inputs(recoloured, styles, blend, None, init, parent, regions)


def _shaded_as_photo(recoloured: Image.Image, photo: Image.Image, keep: np.ndarray) -> Image.Image:
    """The recoloured photo with its kept parts (faces) shaded as in the photo, in the painting's colours:
    a two-tone palette would flatten a face to black and white patches no one (and no detector) knows."""
    shaded = images.with_luminance_of(images.to_array(photo), recoloured)
    weight = keep[..., None]
    return images.to_pil(images.to_array(recoloured)[0] * (1.0 - weight) + shaded * weight)


def _recipe_of(start: OpenedImage) -> dict[str, Any] | None:
    """The recipe a start image carries, or None (any image may be a start image): from its bytes in memory."""
    try:
        return read_recipe(io.BytesIO(start.data) if start.data is not None else start.image)
    except StyleTransferError:
        return None


def blend_weights(config: StyleConfig, count: int) -> list[float]:
    blend = list(config.style_blend) or [1.0] * count
    if len(blend) != count:
        raise StyleTransferError(f"{count} style images but {len(blend)} blend weights; give one per style")
    total = math.fsum(blend)
    if not math.isfinite(total) or total <= 0:  # e.g. 1e308 + 1e308 overflows to inf
        raise StyleTransferError("blend weights must add up to a positive, finite number (e.g. 2, 1)")
    return [w / total for w in blend]


def _shrunk(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return images.resize(image, size) if size[0] < image.size[0] else image


# ---------------------------------------------------------------- where a scale starts


def initial_image(config: StyleConfig, content: np.ndarray, inputs: Inputs, dtype: str) -> tf.Tensor:
    """The first scale's start: the content, noise, or the feed-forward network's painting of the
    content (from ``inputs``' full-size content and styles; ``dtype``: the run's convolutions')."""
    if config.init == "noise":
        rng = np.random.default_rng(config.seed)
        return tf.constant(rng.uniform(0.0, 1.0, content.shape).astype(np.float32))
    if config.init == "feedforward":
        height, width = content.shape[1:3]
        painted = start_picture(inputs.content, inputs.styles, inputs.blend, (width, height), dtype)
        return _with_kept_parts(painted, content, inputs.regions)
    return tf.constant(content)


def _with_kept_parts(painted: tf.Tensor, content: np.ndarray, regions: Regions | None) -> tf.Tensor:
    """The feed-forward painting with the kept parts (kept faces) put back from the content, feathered:
    the network paints over a face; the optimiser would spend its steps getting it back."""
    put_back = regions.put_back if regions is not None else None
    if put_back is None:
        return painted
    height, width = content.shape[1:3]
    weight = tf.image.resize(tf.constant(put_back[None, :, :, None]), (height, width), method="area")
    return painted * (1.0 - weight) + tf.constant(content) * weight


def from_start_image(start: Image.Image, content: np.ndarray) -> tf.Tensor:
    """A finished result as the start: as it is at the same size, carried up like a coarser scale if smaller."""
    height, width = content.shape[1:3]
    if start.size[0] < width:
        return upscale(tf.constant(images.to_array(start)), content)
    return tf.constant(images.to_array(images.resize(start, (width, height))))


def upscale(image: tf.Tensor, content: np.ndarray) -> tf.Tensor:
    """The coarser result at the content's size, with the content's fine detail added back.

    A plain upscale is blurred: the finer scale's first steps then only re-create the
    detail the blur removed (on the tutorial objective at 256 px a plain upscale starts
    3.6x above the content image's own loss). Adding the content's high frequencies
    (content minus its own down-and-up-scaled copy) carries over the coarse stylisation
    without the blur.
    """
    height, width = content.shape[1:3]
    coarse = image.shape[1:3]
    content_low = tf.image.resize(tf.image.resize(content, coarse, method="area"), (height, width), method="bicubic")
    upscaled = tf.image.resize(image, (height, width), method="bicubic")
    return tf.clip_by_value(upscaled + (content - content_low), 0.0, 1.0)


def resolved_init(config: StyleConfig, dtype: str, masked: bool = False) -> StyleConfig:
    """``init="auto"`` made definite: the feed-forward start where Magenta's networks are on this
    machine, else the photo (logged; the recipe then says ``content``). Nothing is fetched during a
    request: a server fetches them at start (calibration.warm_up), a user with ``fetch-magenta``.
    ``masked``: the photo, as a mask's kept region must stay it and its painted ones have styles of their own
    (kept faces alone do not count: the start puts them back from the photo, ``_with_kept_parts``)."""
    if config.init != "auto":
        return config
    if masked:
        return config.replace(init="content")
    if feedforward.available():
        try:
            feedforward.network(dtype)
            return config.replace(init="feedforward")
        except StyleTransferError as error:
            log.warning("starting from the photo: %s", one_line(error))
    else:
        log.warning("starting from the photo: Magenta's networks for the feed-forward start are not on this machine")
    return config.replace(init="content")
