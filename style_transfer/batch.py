"""Every photo with every style in one process: ``python -m style_transfer PHOTO... --style STYLE... --output-dir DIR``.

The network is loaded and its step traced once per process (the engine caches both), so
each pair costs only its own optimisation. Results are ``DIR/<photo>__<style>.png`` (recipe
in each) and ``DIR/contact_sheet.jpg``: a row per photo, a column per style, the photo and
style thumbnails along the edges. A bad input is reported once and its pairs skipped; the
rest still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from .config import StyleConfig
from .engine import Frame, stylize
from .errors import StyleTransferError, one_line
from .image import load_image
from .recipe import save_png
from .settings import OperatorSettings

CONTACT_SHEET = "contact_sheet.jpg"
THUMB = 192  # a contact sheet cell, px; its picture's long side is THUMB - 2 * PAD
PAD = 4
LABEL = 20  # the caption band under each cell, px
BACKGROUND, EMPTY, INK = (255, 255, 255), (225, 225, 225), (40, 40, 40)

Progress = Callable[[str, Frame | None], None]  # (pair's name, its latest frame or None when it is done)


@dataclass
class Batch:
    """The inputs of a batch after checking: usable images (with thumbnails) and one line per bad one."""

    photos: dict[Path, Image.Image] = field(default_factory=dict)
    styles: dict[Path, Image.Image] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    results: dict[tuple[Path, Path], Path] = field(default_factory=dict)

    def pairs(self) -> list[tuple[Path, Path]]:
        return [(photo, style) for photo in self.photos for style in self.styles]


def image_files(paths: Sequence[str]) -> Iterator[Path]:
    """Each path given, a folder standing for the image files in it (by name, those Pillow can open)."""
    extensions = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    for given in map(Path, paths):
        if given.is_dir():
            yield from sorted(p for p in given.iterdir() if p.is_file() and p.suffix.lower() in extensions)
        else:
            yield given


def output_name(photo: Path, style: Path) -> str:
    return f"{photo.stem}__{style.stem}.png"


def check_inputs(photos: Sequence[str], styles: Sequence[str], settings: OperatorSettings) -> Batch:
    """Each input opened once: a thumbnail of the good ones, a line for each bad one.

    Two inputs of one kind with the same name would write to the same file: refused at once.
    """
    batch = Batch()
    limits = settings.input_limits
    for role, paths, found in (("photo", photos, batch.photos), ("style", styles, batch.styles)):
        files = list(image_files(paths))
        if not files:
            batch.failures.append(f"no {role} images in {', '.join(paths)}")
        _refuse_name_clashes(files, role)
        for path in files:
            try:
                found[path] = _fitted(load_image(path, f"{role} {path}", **limits))
            except StyleTransferError as error:
                batch.failures.append(one_line(error, 2000))
    return batch


def _refuse_name_clashes(files: Sequence[Path], role: str) -> None:
    seen: dict[str, Path] = {}
    for path in files:
        if path.stem in seen and seen[path.stem] != path:
            raise StyleTransferError(f"two {role}s are named {path.stem} ({seen[path.stem]}, {path}): rename one")
        seen[path.stem] = path


def run_batch(
    batch: Batch, config: StyleConfig, settings: OperatorSettings, output_dir: Path, progress: Progress
) -> None:
    """Stylise every good photo with every good style into ``output_dir``; failures join ``batch.failures``."""
    for photo, style in batch.pairs():
        name = f"{photo.name} x {style.name}"
        try:
            final = _run_pair(photo, style, config, settings, partial(progress, name))
            output = output_dir / output_name(photo, style)
            assert final.image is not None and final.recipe is not None
            save_png(final.image, output, final.recipe)
            batch.results[photo, style] = output
        except StyleTransferError as error:
            batch.failures.append(f"{name}: {one_line(error, 2000)}")
        except OSError as error:  # the output could not be written: the next pair may fare no better, say so
            batch.failures.append(f"{name}: cannot write the result ({error.strerror or error})")
        progress(name, None)


def _run_pair(
    photo: Path, style: Path, config: StyleConfig, settings: OperatorSettings, on_frame: Callable[[Frame], None]
) -> Frame:
    frames = stylize(photo, [style], config, settings=settings)
    try:
        for frame in frames:
            on_frame(frame)
    finally:
        frames.close()
    return frame


def contact_sheet(batch: Batch) -> Image.Image:
    """Rows: photos; columns: styles; the first row and column show the inputs themselves."""
    photos, styles = list(batch.photos), list(batch.styles)
    cell = (THUMB, THUMB + LABEL)
    sheet = Image.new("RGB", (cell[0] * (len(styles) + 1), cell[1] * (len(photos) + 1)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for column, style in enumerate(styles, start=1):
        _paste(sheet, draw, font, (column * cell[0], 0), batch.styles[style], style.name)
    for row, photo in enumerate(photos, start=1):
        _paste(sheet, draw, font, (0, row * cell[1]), batch.photos[photo], photo.name)
        for column, style in enumerate(styles, start=1):
            result = batch.results.get((photo, style))
            thumb = _thumbnail(result) if result else None
            _paste(sheet, draw, font, (column * cell[0], row * cell[1]), thumb, "" if result else "failed")
    return sheet


def _thumbnail(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return _fitted(image.convert("RGB"))


def _fitted(image: Image.Image) -> Image.Image:
    return ImageOps.contain(image, (THUMB - 2 * PAD, THUMB - 2 * PAD))


def _paste(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    corner: tuple[int, int],
    thumb: Image.Image | None,
    caption: str,
) -> None:
    x, y = corner
    if thumb is None:
        draw.rectangle((x + PAD, y + PAD, x + THUMB - PAD - 1, y + THUMB - PAD - 1), fill=EMPTY)
    else:
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2))
    if caption:
        draw.text((x + THUMB // 2, y + THUMB + LABEL // 2), caption[:30], fill=INK, font=font, anchor="mm")
