"""Bad image files for the bad-input battery (issue 5), made in memory: no fixtures on disk."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def png_bytes(width: int, height: int, rows: bytes, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A PNG written by hand, so a test can make files Pillow would not write: a header that
    claims any size over a few rows of data (a decompression bomb), 16-bit RGB.
    ``rows`` is the raw scanline data, each row starting with its filter byte."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _noise(width: int, height: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


# Files no loader may accept, with a word the one-line message must contain. Every name ends in a
# plausible image extension: the loader must judge the bytes, not the name.
BAD_FILES: dict[str, str] = {
    "empty.jpg": "empty",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "text.jpg": "not an image",
    "document.jpg": "not an image",  # a PDF renamed
    "one_pixel.png": "at least",
    "two_pixels.png": "at least",
    "wide.png": "aspect ratio",  # 10000x8
    "tall.png": "aspect ratio",  # 8x10000
    "bomb.png": "megapixels",  # header claims 30000x30000
    "big_header.png": "megapixels",  # 8000x6000 = 48 MP: over the 40 MP default, under Pillow's own guard
}


def bad_file_bytes(name: str) -> bytes:
    jpeg, png = _encoded(_noise(64, 64), "JPEG", quality=90), _encoded(_noise(64, 64), "PNG")
    flat_row = lambda width: b"\x00" + bytes(3 * width)  # noqa: E731
    return {
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) * 6 // 10],
        "truncated.png": png[: len(png) * 6 // 10],
        "text.jpg": b"This is not a picture, just some notes.\n" * 20,
        "document.jpg": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n",
        "one_pixel.png": _encoded(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "two_pixels.png": _encoded(Image.new("RGB", (2, 2), (10, 20, 30)), "PNG"),
        "wide.png": png_bytes(10000, 8, flat_row(10000) * 8),
        "tall.png": png_bytes(8, 10000, flat_row(8) * 10000),
        "bomb.png": png_bytes(30000, 30000, flat_row(30000) * 4),
        "big_header.png": png_bytes(8000, 6000, flat_row(8000) * 4),
    }[name]
