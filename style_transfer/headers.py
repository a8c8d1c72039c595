"""An image file's structure walked before Pillow parses it: JPEG markers and PNG chunks counted.

Pillow walks a JPEG's markers (to the first scan) and a PNG's chunks (to the pixels when opening,
the rest when decoding) in Python, one loop turn per marker, chunk or stray byte, keeping what
each holds. A 30 MB file of millions of empty markers or chunks then cost seconds and hundreds of
MB before any size check (issue 19: 5.9 million APP5 markers took 4.5-7 s and up to 0.8 GB). The
same walk here jumps from length to length (``bytes.find`` for stray bytes), so it costs
microseconds per marker, and stops at a limit no photo comes near: a phone's JPEG has about ten
markers, an editor's with ICC and XMP a few dozen; a PNG a handful of metadata chunks and one
IDAT per 8-64 kB of pixels.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from .errors import StyleTransferError

MAX_METADATA_ITEMS = 1_000  # JPEG markers before the first scan; PNG chunks other than pixel data
MAX_METADATA_BYTES = 16 * 2**20  # their payloads: EXIF, ICC profiles, XMP, text
MAX_STRAY_BYTES = 4_096  # JPEG fill and junk bytes between markers (Pillow steps over each one)
MAX_PIXEL_CHUNKS = 65_536  # PNG IDAT/fdAT chunks: a 30 MB image in 8 kB chunks has ~3,700
PIXEL_CHUNKS = (b"IDAT", b"fdAT")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_NO_LENGTH = {0x01, *range(0xD0, 0xDA)}  # TEM, RSTn, SOI, EOI: markers without a length field
JPEG_START_OF_SCAN = 0xDA

Buffer = bytes | mmap.mmap


def check_structure(data: bytes | Path, role: str) -> None:
    """Refuse a JPEG or PNG whose markers or chunks exceed the limits above; other formats pass
    (their Pillow readers parse the header in C, or read a fixed-size one)."""
    if isinstance(data, bytes):
        _check_buffer(data, role)
        return
    with open(data, "rb") as file:
        if file.seek(0, 2) == 0:
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buffer:  # pages read only where walked
            _check_buffer(buffer, role)


def _check_buffer(data: Buffer, role: str) -> None:
    if data[:2] == b"\xff\xd8":
        _walk_jpeg(data, role)
    elif data[:8] == PNG_SIGNATURE:
        _walk_png(data, role)


class _Tally:
    """What a walk has met so far, refused as soon as one limit is passed."""

    def __init__(self, role: str, kind: str):
        self.role, self.kind = role, kind
        self.items = self.payload = self.stray = self.pixel_chunks = 0

    def item(self, length: int) -> None:
        self.items, self.payload = self.items + 1, self.payload + length
        self._refuse_over(self.items, MAX_METADATA_ITEMS, f"metadata {self.kind}s")
        self._refuse_over(self.payload, MAX_METADATA_BYTES, "bytes of metadata")

    def stray_bytes(self, count: int) -> None:
        self.stray += count
        self._refuse_over(self.stray, MAX_STRAY_BYTES, "stray bytes between its markers")

    def pixel_chunk(self) -> None:
        self.pixel_chunks += 1
        self._refuse_over(self.pixel_chunks, MAX_PIXEL_CHUNKS, "pixel-data chunks")

    def _refuse_over(self, count: int, limit: int, what: str) -> None:
        if count > limit:
            raise StyleTransferError(
                f"{self.role} has over {limit:,} {what}; this app reads at most {limit:,} "
                "(save it again from an image editor)"
            )


def _walk_jpeg(data: Buffer, role: str) -> None:
    """Markers from the start of the image to its first scan, as Pillow's JpegImageFile._open walks them."""
    tally, position, end = _Tally(role, "marker"), 2, len(data)
    while position < end:
        marker_at = data.find(b"\xff", position)
        if marker_at < 0:
            return  # no scan: Pillow refuses the file itself
        junk = marker_at - position
        position = marker_at + 1
        last = min(end, position + MAX_STRAY_BYTES + 1)  # a run of fill bytes is refused, not walked to its end
        while position < last and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        tally.stray_bytes(junk + position - marker_at - 1)
        if position >= end:
            return
        marker = data[position]
        position += 1
        if marker == 0x00:  # an escaped 0xFF outside a scan: junk Pillow steps over
            continue
        if marker in JPEG_NO_LENGTH:
            tally.item(0)
            continue
        if position + 2 > end:
            return
        (length,) = struct.unpack(">H", data[position : position + 2])
        tally.item(length)
        if marker == JPEG_START_OF_SCAN:
            return
        position += length


def _walk_png(data: Buffer, role: str) -> None:
    """Every chunk to IEND: Pillow reads those before the pixels when opening, the rest when decoding."""
    tally, position, end = _Tally(role, "chunk"), len(PNG_SIGNATURE), len(data)
    while position + 8 <= end:
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind in PIXEL_CHUNKS:
            tally.pixel_chunk()
        else:
            tally.item(length)
        if kind == b"IEND":
            return
        position += 12 + length  # length, type, payload, CRC
