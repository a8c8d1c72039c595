"""Images in and out: safe loading, orientation, modes, resizing, colour transfer."""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .errors import StyleTransferError, one_line
from .headers import check_structure

MIN_SIDE = 16  # VGG19 pools four times before block5; smaller maps vanish
MAX_ASPECT = 16.0
SAMPLED_PIXELS = 50_000  # colour statistics of a picture: a random sample of its pixels is plenty
# The formats an input may be in: those whose Pillow plugin reads only the header when opening, so
# the size limits are checked before any pixel is decoded. Left out on purpose: ICO/CUR and ICNS
# (Pillow decodes the icon, a PNG inside it included, while opening: an ICO whose directory says
# 256x256 can hold a 12000x12000 PNG), and every rarer format (less-used decoders, more to go wrong).
# JPEG covers MPO, the multi-picture JPEG some phones write.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
FORMAT_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image
# EXIF orientation -> the transposition that makes the picture upright (ImageOps.exif_transpose's table).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
TRANSPOSES_AXES = (5, 6, 7, 8)  # the orientations that swap width and height


def load_image(
    source: ImageSource, role: str = "image", max_megapixels: float = 40.0, max_bytes: int = 30_000_000
) -> Image.Image:
    """Open ``source`` as an upright RGB image, or raise StyleTransferError saying why not.

    The size limit is checked on the header, before any pixels are decoded, so a
    decompression bomb costs nothing. Animated images give their first frame.
    """
    return open_input(source, role, max_megapixels, max_bytes).decode()


@dataclass
class OpenedImage:
    """An input whose header has been read and checked: its bytes read once, no pixel decoded yet.

    ``size`` is the upright size, EXIF orientation included, and ``decode()`` gives exactly that
    size, so a plan made from the headers holds for the pixels.
    """

    role: str
    image: Image.Image  # the header (a PIL image given as input: the image itself)
    orientation: int  # EXIF orientation, as the header gives it (1: upright)
    data: bytes | None  # the file's bytes (None for a PIL image given as input)

    @property
    def size(self) -> tuple[int, int]:
        width, height = self.image.size
        return (height, width) if self.orientation in TRANSPOSES_AXES else (width, height)

    def decode(self) -> Image.Image:
        """The pixels, upright, as 8-bit RGB."""
        try:
            self.image.seek(0)
            self.image.load()
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
            raise StyleTransferError(f"{self.role} is damaged or truncated ({one_line(error, 120)})") from None
        upright = (
            self.image.transpose(ORIENTATIONS[self.orientation]) if self.orientation in ORIENTATIONS else self.image
        )
        return to_rgb(upright, exif=False)


def open_input(
    source: ImageSource, role: str = "image", max_megapixels: float = 40.0, max_bytes: int = 30_000_000
) -> OpenedImage:
    """``source`` (a path, bytes, a binary stream or a PIL image) read once and its header checked."""
    if isinstance(source, Image.Image):
        upright = ImageOps.exif_transpose(_checked(source, role, max_megapixels)) or source
        return OpenedImage(role, upright, 1, None)
    data = _read_bytes(source, role, max_bytes)
    header = open_header(data, role, max_megapixels)
    return OpenedImage(role, header, header_orientation(header), data)


def style_roles(count: int) -> list[str]:
    """How messages name ``count`` style images: "style image", or "style image 1", "style image 2", ..."""
    return ["style image"] if count == 1 else [f"style image {i + 1}" for i in range(count)]


def _read_bytes(source: str | os.PathLike | bytes | BinaryIO, role: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        data = _checked_file(source, role, max_bytes).read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if not data:
        raise StyleTransferError(f"{role} file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise StyleTransferError(f"{role} file is over {max_bytes:,} bytes; the limit is {max_bytes:,}")
    return data


def _checked_file(source: str | os.PathLike, role: str, max_bytes: int) -> Path:
    path = Path(source)
    if not path.is_file():
        raise StyleTransferError(f"{role} file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise StyleTransferError(f"{role} file is {size:,} bytes; the limit is {max_bytes:,}")
    if not size:
        raise StyleTransferError(f"{role} file is empty (0 bytes)")
    return path


def _checked(image: Image.Image, role: str, max_megapixels: float) -> Image.Image:
    width, height = image.size
    if width * height > max_megapixels * 1e6:
        raise StyleTransferError(
            f"{role} is {width}x{height} ({width * height / 1e6:.3g} megapixels); "
            f"the limit is {max_megapixels:g} megapixels"
        )
    if min(width, height) < 1 or max(width, height) / min(width, height) > MAX_ASPECT:
        raise StyleTransferError(
            f"{role} is {width}x{height}; its aspect ratio must be at most {MAX_ASPECT:g}:1 (crop it first)"
        )
    if min(width, height) < MIN_SIDE:
        raise StyleTransferError(
            f"{role} is {width}x{height} pixels; it must be at least {MIN_SIDE} pixels on each side"
        )
    return image


def open_header(data: bytes | Path, role: str = "image", max_megapixels: float = 40.0) -> Image.Image:
    """``data`` (bytes, or a file already checked) opened as an image of an accepted format, its
    size checked; no pixel decoded yet. Pillow reads a file only as far as the header needs.

    Every failure, including what Pillow's parsers raise on a hostile header (a zTXt chunk that
    inflates past Pillow's text limit raises ValueError), becomes a StyleTransferError.
    """
    check_structure(data, role)  # before Pillow walks the markers or chunks one by one
    try:
        with warnings.catch_warnings():
            # Pillow warns above ~89 MP; our own header check decides instead. Its hard refusal
            # above ~179 MP stays as a backstop (the settings cap the limit below it).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise StyleTransferError(
            f"{role} would decode to a huge number of pixels; the limit is {max_megapixels:g} megapixels"
        ) from None
    except UnidentifiedImageError:
        raise StyleTransferError(f"{role} is not an image file this app reads ({FORMAT_NAMES})") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise StyleTransferError(f"{role} is damaged or truncated ({one_line(error, 120)})") from None
    try:
        return _checked(opened, role, max_megapixels)
    except StyleTransferError:
        opened.close()
        raise


def upright_size(
    source: str | os.PathLike | bytes, role: str = "image", max_megapixels: float = 40.0, max_bytes: int = 30_000_000
) -> tuple[int, int]:
    """(w, h) of an image file as it will be shown, EXIF rotation included, from its header alone.

    The same checks as load_image (bytes, format, megapixels, sides) but no pixel is decoded
    and a file is not read beyond its header: cheap enough to run on every change of the app's
    controls. An orientation stored where only decoding would find it (a PNG's eXIf chunk after
    its pixels) counts as upright, here and when decoding.
    """
    data = _read_bytes(source, role, max_bytes) if isinstance(source, bytes) else _checked_file(source, role, max_bytes)
    with open_header(data, role, max_megapixels) as image:
        width, height = image.size
        transposed = header_orientation(image) in TRANSPOSES_AXES
    return (height, width) if transposed else (width, height)


def header_orientation(image: Image.Image) -> int:
    """The EXIF orientation the header gives (1: upright, also when the EXIF is unreadable)."""
    try:
        # Image.getexif, not the plugin's: PngImageFile.getexif() decodes the whole image to look
        # for an eXIf chunk after the pixels; the base method reads what the header gave.
        orientation = Image.Image.getexif(image).get(ExifTags.Base.Orientation, 1)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, TypeError, KeyError):
        return 1  # unreadable EXIF: not rotated
    return orientation if orientation in ORIENTATIONS else 1


def to_rgb(image: Image.Image, exif: bool = True) -> Image.Image:
    """8-bit RGB, alpha composited over white; ``exif``: the EXIF orientation applied first."""
    if exif:
        image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: Pillow's convert("L") clips instead of scaling.
        array = np.asarray(image, dtype=np.float64)
        # A 16-bit file's range is 0..65535 however dark the picture; 32-bit "I" is ambiguous.
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0, 0, 255).round().astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def to_array(image: Image.Image) -> np.ndarray:
    """(1, H, W, 3) float32 in [0, 1]."""
    return (np.asarray(image, dtype=np.float32) / 255.0)[None]


def to_pil(array: np.ndarray) -> Image.Image:
    """From (1, H, W, 3) or (H, W, 3) floats in [0, 1]."""
    pixels = np.asarray(array)
    pixels = pixels[0] if pixels.ndim == 4 else pixels
    return Image.fromarray(np.clip(pixels * 255.0, 0, 255).round().astype(np.uint8), "RGB")


# ITU-R BT.601 YIQ, as in Gatys et al., "Preserving Color in Neural Artistic Style Transfer" (2016).
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def luminance(image: Image.Image) -> Image.Image:
    """The image's luminance (Y) as a grey RGB image."""
    y = to_array(image)[0] @ _RGB_TO_YIQ[0]
    return to_pil(np.repeat(y[..., None], 3, axis=-1))


def with_luminance_of(stylised: np.ndarray, colour_source: Image.Image) -> np.ndarray:
    """Luminance of ``stylised`` with the chroma (I, Q) of ``colour_source``, (H, W, 3) floats."""
    pixels = np.asarray(stylised)
    pixels = pixels[0] if pixels.ndim == 4 else pixels
    height, width = pixels.shape[:2]
    colour = to_array(resize(colour_source, (width, height)))[0] @ _RGB_TO_YIQ.T
    yiq = np.concatenate([(pixels @ _RGB_TO_YIQ[0])[..., None], colour[..., 1:]], axis=-1)
    return np.clip(yiq @ _YIQ_TO_RGB.T, 0.0, 1.0)


def match_colours(style: Image.Image, content: Image.Image) -> Image.Image:
    """The style image recoloured with the content's per-channel colour histogram."""
    from skimage.exposure import match_histograms

    matched = match_histograms(np.asarray(style), np.asarray(content), channel_axis=-1)
    return Image.fromarray(np.clip(matched, 0, 255).round().astype(np.uint8), "RGB")


def palette_transfer(content: Image.Image, styles: list[Image.Image], blend: list[float]) -> Image.Image:
    """The content recoloured to the styles' palette (their pixels pooled by ``blend``).

    Two passes in RGB: the linear map that moves the content's colour mean and covariance onto the
    styles' with the least change (the Monge-Kantorovich solution between Gaussians, Pitie & Kokaram
    2007), then each of the styles' principal colour axes matched by histogram, which a mean and
    covariance cannot express: a two-tone print's two peaks, a palette's few strong hues.
    """
    photo = to_array(content)[0].reshape(-1, 3).astype(np.float64)
    palette = _sampled_pixels(styles, blend)
    linear = _gaussian_transport(photo, palette)
    _, axes = np.linalg.eigh(np.cov(palette, rowvar=False))
    matched = _match_quantiles(linear @ axes, palette @ axes) @ axes.T
    return to_pil(np.clip(matched, 0.0, 1.0).reshape(content.size[1], content.size[0], 3))


def _sampled_pixels(styles: list[Image.Image], blend: list[float], count: int = SAMPLED_PIXELS) -> np.ndarray:
    """About ``count`` pixels of the style images, each image's share of them its blend weight."""
    rng = np.random.default_rng(0)
    pooled = []
    for style, weight in zip(styles, blend):
        if weight <= 0:
            continue  # a style of weight 0 is not in the blend (the blend weights add up to 1)
        pixels = to_array(style)[0].reshape(-1, 3).astype(np.float64)
        wanted = max(1, round(count * weight))
        pooled.append(pixels[rng.choice(len(pixels), wanted, replace=len(pixels) < wanted)])
    return np.concatenate(pooled)


def _gaussian_transport(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (N, 3) mapped by the affine map that takes N(mean, cov) of source to target's:
    A = S^-1/2 (S^1/2 T S^1/2)^1/2 S^-1/2, the optimal-transport map between two Gaussians."""
    eps = np.eye(3) * 1e-4  # a grey or two-tone image has a singular colour covariance
    sample = source[np.random.default_rng(0).choice(len(source), min(len(source), SAMPLED_PIXELS), replace=False)]
    source_cov, target_cov = np.cov(sample, rowvar=False) + eps, np.cov(target, rowvar=False) + eps
    root = _sqrtm(source_cov)
    inverse_root = np.linalg.inv(root)
    transport = inverse_root @ _sqrtm(root @ target_cov @ root) @ inverse_root
    return (source - sample.mean(axis=0)) @ transport.T + target.mean(axis=0)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def _match_quantiles(source: np.ndarray, target: np.ndarray, count: int = 1025) -> np.ndarray:
    """Each column of ``source`` mapped so its histogram is ``target``'s column's, through ``count``
    quantiles. Not skimage.exposure.match_histograms: it sorts every value of both (0.58 s at 512x384
    under load here); the quantiles' piecewise-linear map is the same to within 1e-4 on average."""
    levels = np.linspace(0.0, 1.0, count)
    columns = [
        np.interp(column, np.quantile(column, levels), np.quantile(wanted, levels))
        for column, wanted in zip(source.T, target.T)
    ]
    return np.stack(columns, axis=1)
